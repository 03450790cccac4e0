/**
 * The worker layer's one read of a {@linkcode Lock}'s state beyond its public
 * API: how many times it was taken. A link that took a lock and finds the
 * count changed when it closes knows its hold ended (someone released it, a
 * Lock has no owner), so it does not release the new holder's (W-9).
 * Internal: not exported from an entry point.
 *
 * @module
 */

import type { Lock } from "./lock.ts";

type Reader = (lock: Lock) => number;

/** Set once by `lock.ts` when `Lock` is defined: the only way in. */
const door: { read?: Reader } = {};

/** Called once by `lock.ts`; returns `true`, kept in a static field of `Lock`. */
export function grantLockAccess(read: Reader): true {
  // lock.ts calls it once, when `Lock` is defined: a guard only.
  // deno-coverage-ignore
  if (door.read !== undefined) throw new Error("lock access was granted twice");
  door.read = read;
  return true;
}

/** How many times `lock` was taken so far (each `acquire` that got it, each hand-off). */
export function lockTakes(lock: Lock): number {
  // Whoever holds a Lock has loaded lock.ts, which opens the door: a guard only.
  // deno-coverage-ignore
  if (door.read === undefined) throw new Error("lock.ts is not loaded");
  return door.read(lock);
}
