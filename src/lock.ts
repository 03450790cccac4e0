/**
 * `Lock`: Python's `threading.Lock` for async tasks: a mutual-exclusion lock
 * handed to waiters first come, first served, with `timeout` and `signal` on
 * `acquire` and a `using`-friendly `hold()`.
 *
 * This module is browser compatible.
 *
 * @example
 * ```ts
 * import { Lock } from "@baton/baton/lock";
 *
 * const lock = new Lock();
 * let inside = 0;
 * await Promise.all([1, 2, 3].map(async () => {
 *   using _held = await lock.hold();
 *   inside++;
 *   if (inside > 1) throw new Error("two tasks inside");
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   inside--;
 * }));
 * ```
 *
 * @module
 */

import { checkWaitOptions, WaitList, type WaitOptions } from "./_waiters.ts";
import { inspectView } from "./_inspect.ts";
import { type Held, held, holdTimeout } from "./_held.ts";
import { grantLockAccess } from "./_lock_access.ts";

export type { WaitOptions } from "./_waiters.ts";
export type { Held } from "./_held.ts";

/**
 * A mutual-exclusion lock (Python's `threading.Lock`). It has no owner: any
 * task may release it. `release` passes the lock straight to the oldest
 * waiter, so waiters are served first come, first served.
 *
 * @example
 * ```ts
 * import { Lock } from "@baton/baton";
 *
 * const lock = new Lock();
 * await lock.acquire();
 * console.log(await lock.acquire({ timeout: 0 })); // false: already held
 * lock.release();
 * ```
 */
export class Lock {
  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(
    this,
    "Lock",
    (lock) => ({ locked: lock.#locked, waiters: lock.#waiters.size }),
  );
  #locked = false;
  /** How many times the lock was taken: the worker layer tells holds apart by it (W-9). */
  #takes = 0;
  #waiters = new WaitList<boolean>({ onTimeout: () => false });

  /** The worker layer's door; a pure field, not a static block, so bundlers can drop an unused Lock. */
  static #door = /* @__PURE__ */ grantLockAccess((lock: Lock) => lock.#takes);

  /**
   * Acquires the lock, waiting while another task holds it.
   *
   * @param options `timeout` in ms (0: try once) and `signal`.
   * @returns `true` once acquired, `false` when the timeout ran out.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Lock } from "@baton/baton";
   *
   * const lock = new Lock();
   * if (await lock.acquire({ timeout: 100 })) {
   *   try {
   *     // critical section
   *   } finally {
   *     lock.release();
   *   }
   * }
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return Promise.reject(error);
    }
    if (!this.#locked) {
      this.#locked = true;
      this.#takes++;
      return Promise.resolve(true);
    }
    return this.#waiters.wait(options, undefined);
  }

  /**
   * Acquires the lock and returns a handle that releases it when disposed
   * (`using held = await lock.hold()`).
   *
   * @param options `timeout` in ms and `signal`.
   * @returns The held lock.
   * @throws {DOMException} named `"TimeoutError"` when the timeout ran out.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Lock } from "@baton/baton";
   *
   * const lock = new Lock();
   * {
   *   using _held = await lock.hold({ timeout: 1000 });
   *   // critical section: released at the end of the block, even on throw
   * }
   * ```
   */
  async hold(options?: WaitOptions): Promise<Held> {
    if (!(await this.acquire(options))) throw holdTimeout("lock", options?.timeout);
    return held(() => this.release());
  }

  /**
   * Releases the lock, handing it to the oldest waiter if there is one.
   *
   * @throws {Error} when the lock is not locked.
   *
   * @example
   * ```ts
   * import { Lock } from "@baton/baton";
   *
   * const lock = new Lock();
   * await lock.acquire();
   * lock.release();
   * console.log(lock.locked()); // false
   * ```
   */
  release(): void {
    if (!this.#locked) throw new Error("release() called on a Lock that is not locked");
    // Hand-off: the lock stays locked and now belongs to the oldest waiter.
    if (this.#waiters.resolveNext(true)) this.#takes++;
    else this.#locked = false;
  }

  /**
   * Whether the lock is held.
   *
   * @example
   * ```ts
   * import { Lock } from "@baton/baton";
   *
   * console.log(new Lock().locked()); // false
   * ```
   */
  locked(): boolean {
    return this.#locked;
  }
}
