/**
 * Disposable handles for held locks and permits. Internal, but `Held` is
 * re-exported as a public type.
 *
 * @module
 */

/**
 * Makes the error that `hold()` rejects with when its timeout runs out: a
 * `DOMException` named `"TimeoutError"`, as `AbortSignal.timeout` uses.
 */
export function holdTimeout(what: string, timeout: number | undefined): DOMException {
  return new DOMException(`${what} not acquired within ${timeout} ms`, "TimeoutError");
}

/**
 * A held lock or permit; disposing of it (`using`) releases it once.
 *
 * @example
 * ```ts
 * import { Lock } from "@baton/baton";
 *
 * const lock = new Lock();
 * {
 *   using _held = await lock.hold();
 *   console.log(lock.locked()); // true
 * }
 * console.log(lock.locked()); // false
 * ```
 */
export interface Held extends Disposable {
  /** Releases what is held; later calls do nothing. */
  release(): void;
}

/** Makes a {@linkcode Held} that calls `release` once. */
export function held(release: () => void): Held {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    release();
  };
  return { release: once, [Symbol.dispose]: once };
}
