/**
 * The worker layer's one way into a {@linkcode Semaphore} beyond its public
 * API: an `acquire` that says, in the very step that hands the permit over,
 * that it was taken. A link counts what it holds (W-9) by it, so a permit
 * handed to the link's waiting acquire by the link's own `release` (both in
 * one envelope) is counted before that release gives it back, not a
 * microtask later. Internal: not exported from an entry point.
 *
 * @module
 */

import type { WaitOptions } from "./_waiters.ts";
import type { Semaphore } from "./semaphore.ts";

type Acquire = (
  semaphore: Semaphore,
  options: WaitOptions | undefined,
  onTaken: () => void,
) => Promise<boolean>;

/** Set once by `semaphore.ts` when `Semaphore` is defined: the only way in. */
const door: { acquire?: Acquire } = {};

/** Called once by `semaphore.ts`; returns `true`, kept in a static field of `Semaphore`. */
export function grantSemaphoreAccess(acquire: Acquire): true {
  // semaphore.ts calls it once, when `Semaphore` is defined: a guard only.
  // deno-coverage-ignore
  if (door.acquire !== undefined) throw new Error("semaphore access was granted twice");
  door.acquire = acquire;
  return true;
}

/**
 * As `semaphore.acquire(options)`, and calls `onTaken` synchronously when
 * the permit is taken (at once, or in the `release` that hands it over);
 * never on a timeout, an abort or a bad argument.
 */
export function acquireCounted(
  semaphore: Semaphore,
  options: WaitOptions | undefined,
  onTaken: () => void,
): Promise<boolean> {
  // Whoever holds a Semaphore has loaded semaphore.ts, which opens the door: a guard only.
  // deno-coverage-ignore
  if (door.acquire === undefined) throw new Error("semaphore.ts is not loaded");
  return door.acquire(semaphore, options, onTaken);
}
