/**
 * `Condition`: Python's `threading.Condition` for async tasks. Tasks wait
 * (releasing the lock) until another task that holds the lock notifies them.
 *
 * This module is browser compatible.
 *
 * @example A bounded buffer guarded by one condition
 * ```ts
 * import { Condition } from "@baton/baton/condition";
 *
 * const ready = new Condition();
 * const items: number[] = [];
 * const consumer = (async () => {
 *   await ready.acquire();
 *   try {
 *     await ready.waitFor(() => items.length > 0);
 *     return items.shift();
 *   } finally {
 *     ready.release();
 *   }
 * })();
 * await ready.acquire();
 * items.push(42);
 * ready.notify();
 * ready.release();
 * console.log(await consumer); // 42
 * ```
 *
 * @module
 */

import { checkWaitOptions, describe, WaitList, type WaitOptions } from "./_waiters.ts";
import type { Held } from "./_held.ts";
import { Lock } from "./lock.ts";
import { inspectView } from "./_inspect.ts";

export type { WaitOptions } from "./_waiters.ts";

/**
 * A condition variable (Python's `threading.Condition`) bound to a
 * {@linkcode Lock}. `wait`, `waitFor`, `notify` and `notifyAll` must be
 * called while the lock is held. Waiters are woken oldest first; a waiter
 * whose timeout or abort fired is gone and never swallows a notify.
 *
 * @example
 * ```ts
 * import { Condition } from "@baton/baton";
 *
 * const condition = new Condition();
 * await condition.acquire();
 * console.log(await condition.wait({ timeout: 10 })); // false: nobody notified
 * condition.release();
 * ```
 */
export class Condition {
  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(
    this,
    "Condition",
    (condition) => ({ locked: condition.#lock.locked(), waiters: condition.#waiters.size }),
  );
  #lock: Lock;
  #waiters = new WaitList<boolean>({ onTimeout: () => false });

  /**
   * Makes a condition.
   *
   * @param lock The lock to use; a new {@linkcode Lock} when omitted.
   * @throws {TypeError} when `lock` is not a `Lock`.
   */
  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError("Condition takes a Lock from baton, or nothing");
    }
    this.#lock = lock ?? new Lock();
  }

  /**
   * The lock this condition uses.
   *
   * @example
   * ```ts
   * import { Condition, Lock } from "@baton/baton";
   *
   * const lock = new Lock();
   * console.log(new Condition(lock).lock === lock); // true
   * ```
   */
  get lock(): Lock {
    return this.#lock;
  }

  /**
   * Acquires the lock (see {@linkcode Lock.acquire}).
   *
   * @param options `timeout` in ms and `signal`.
   * @returns `true` once acquired, `false` when the timeout ran out.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * console.log(await condition.acquire()); // true
   * condition.release();
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /**
   * Acquires the lock and returns a handle that releases it when disposed.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns The held lock.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * {
   *   using _held = await condition.hold();
   *   condition.notifyAll();
   * }
   * ```
   */
  hold(options?: WaitOptions): Promise<Held> {
    return this.#lock.hold(options);
  }

  /**
   * Releases the lock.
   *
   * @throws {Error} when the lock is not locked.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * await condition.acquire();
   * condition.release();
   * ```
   */
  release(): void {
    this.#lock.release();
  }

  /**
   * Whether the lock is held.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * console.log(new Condition().locked()); // false
   * ```
   */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Releases the lock, waits for a notify (or the timeout, or an abort),
   * then re-acquires the lock before it settles, whatever the outcome.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns `true` when notified, `false` when the timeout ran out.
   * @throws {Error} when the lock is not held.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * await condition.acquire();
   * setTimeout(async () => {
   *   await condition.acquire();
   *   condition.notify();
   *   condition.release();
   * }, 1);
   * console.log(await condition.wait()); // true
   * condition.release();
   * ```
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    if (!this.#lock.locked()) {
      throw new Error("wait() called without holding the Condition's lock");
    }
    const error = checkWaitOptions(options);
    if (error !== undefined) throw error;
    const waiting = this.#waiters.wait(options, undefined);
    this.#lock.release();
    let notified = false;
    let failed = false;
    let failure: unknown;
    try {
      notified = await waiting;
    } catch (reason) {
      failed = true;
      failure = reason;
    }
    await this.#lock.acquire();
    if (failed) throw failure;
    return notified;
  }

  /**
   * Waits until `predicate` returns a truthy value, checking it first and
   * after every notify, all against one deadline.
   *
   * A predicate may be async: when it returns a promise (any thenable),
   * `waitFor` awaits it and uses the awaited value, still holding the lock.
   * The time it takes counts against the deadline; a check that ends after
   * the deadline is the last one.
   *
   * @param predicate Called with the lock held; may return a promise.
   * @param options `timeout` in ms and `signal`.
   * @returns The predicate's last (awaited) value: truthy when it became
   *   true, falsy when the timeout ran out first.
   * @throws {Error} when the lock is not held.
   * @throws {TypeError} when `predicate` is not a function.
   * @throws {RangeError} for a negative or `NaN` timeout.
   * @throws whatever the predicate throws or rejects with, the lock held.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * let count = 0;
   * await condition.acquire();
   * console.log(await condition.waitFor(() => count > 0, { timeout: 10 })); // false
   * condition.release();
   * ```
   *
   * @example An async predicate
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * const stock = new Map<string, number>();
   * const lookUp = async (item: string) => stock.get(item) ?? 0; // e.g. a database read
   * const buyer = (async () => {
   *   await condition.acquire();
   *   try {
   *     return await condition.waitFor(() => lookUp("apples")); // awaited after each notify
   *   } finally {
   *     condition.release();
   *   }
   * })();
   * await condition.acquire();
   * stock.set("apples", 3);
   * condition.notify();
   * condition.release();
   * console.log(await buyer); // 3
   * ```
   */
  async waitFor<R>(predicate: () => R | PromiseLike<R>, options?: WaitOptions): Promise<R> {
    if (!this.#lock.locked()) {
      throw new Error("waitFor() called without holding the Condition's lock");
    }
    if (typeof predicate !== "function") {
      throw new TypeError("waitFor() takes a predicate function");
    }
    const error = checkWaitOptions(options);
    if (error !== undefined) throw error;
    const timeout = options?.timeout ?? Infinity;
    const deadline = performance.now() + timeout;
    const signal = options?.signal;
    // await: a promise (any thenable) is truthy, but it is its value that counts.
    let result = await predicate();
    while (!result) {
      const remaining = timeout === Infinity ? Infinity : Math.max(0, deadline - performance.now());
      // Out of time (at once for timeout 0): do not wait, and do not let go of the lock.
      if (remaining === 0) break;
      const waitOptions: WaitOptions = signal === undefined
        ? { timeout: remaining }
        : { timeout: remaining, signal };
      await this.wait(waitOptions);
      result = await predicate();
    }
    return result;
  }

  /**
   * Wakes the `n` oldest waiters (fewer when fewer wait).
   *
   * @param n How many to wake: a non-negative integer; 0 does nothing.
   * @throws {Error} when the lock is not held.
   * @throws {RangeError} when `n` is not a non-negative integer.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * await condition.acquire();
   * condition.notify(2); // nobody waits: a notify is not remembered
   * condition.release();
   * ```
   */
  notify(n = 1): void {
    if (!this.#lock.locked()) {
      throw new Error("notify() called without holding the Condition's lock");
    }
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`notify(n) takes a non-negative integer, received ${describe(n)}`);
    }
    for (let i = 0; i < n && this.#waiters.resolveNext(true); i++);
  }

  /**
   * Wakes every waiter.
   *
   * @throws {Error} when the lock is not held.
   *
   * @example
   * ```ts
   * import { Condition } from "@baton/baton";
   *
   * const condition = new Condition();
   * await condition.acquire();
   * condition.notifyAll();
   * condition.release();
   * ```
   */
  notifyAll(): void {
    if (!this.#lock.locked()) {
      throw new Error("notifyAll() called without holding the Condition's lock");
    }
    this.#waiters.resolveAll(true);
  }
}
