/**
 * `Event`: Python's `threading.Event` for async tasks: a flag that tasks wait
 * on until another task sets it.
 *
 * This module is browser compatible.
 *
 * @example
 * ```ts
 * import { Event } from "@baton/baton/event";
 *
 * const ready = new Event();
 * const starters = [1, 2, 3].map(async (id) => {
 *   await ready.wait();
 *   return id;
 * });
 * ready.set(); // releases all three at once
 * console.log(await Promise.all(starters)); // [1, 2, 3]
 * ```
 *
 * @module
 */

import { checkWaitOptions, WaitList, type WaitOptions } from "./_waiters.ts";
import { inspectView } from "./_inspect.ts";

export type { WaitOptions } from "./_waiters.ts";

/**
 * A flag with waiters (Python's `threading.Event`). `set` wakes every waiter;
 * a waiter released by `set` resolves `true` even if `clear` runs before it
 * resumes.
 *
 * @example
 * ```ts
 * import { Event } from "@baton/baton";
 *
 * const done = new Event();
 * setTimeout(() => done.set(), 1);
 * console.log(await done.wait({ timeout: 1000 })); // true
 * ```
 */
export class Event {
  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(
    this,
    "Event",
    (event) => ({ set: event.#flag, waiters: event.#waiters.size }),
  );
  #flag = false;
  #waiters = new WaitList<boolean>({ onTimeout: () => false });

  /**
   * Sets the flag and wakes every waiter.
   *
   * @example
   * ```ts
   * import { Event } from "@baton/baton";
   *
   * const event = new Event();
   * event.set();
   * console.log(event.isSet()); // true
   * ```
   */
  set(): void {
    this.#flag = true;
    this.#waiters.resolveAll(true);
  }

  /**
   * Clears the flag.
   *
   * @example
   * ```ts
   * import { Event } from "@baton/baton";
   *
   * const event = new Event();
   * event.set();
   * event.clear();
   * console.log(event.isSet()); // false
   * ```
   */
  clear(): void {
    this.#flag = false;
  }

  /**
   * Whether the flag is set.
   *
   * @example
   * ```ts
   * import { Event } from "@baton/baton";
   *
   * console.log(new Event().isSet()); // false
   * ```
   */
  isSet(): boolean {
    return this.#flag;
  }

  /**
   * Waits until the flag is set.
   *
   * @param options `timeout` in ms (0: just look) and `signal`.
   * @returns `true` when set (at once if already set), `false` when the
   *   timeout ran out.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Event } from "@baton/baton";
   *
   * console.log(await new Event().wait({ timeout: 0 })); // false
   * ```
   */
  wait(options?: WaitOptions): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    if (this.#flag) return Promise.resolve(true);
    return this.#waiters.wait(options, undefined);
  }
}
