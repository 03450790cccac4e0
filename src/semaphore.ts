/**
 * `Semaphore` and `BoundedSemaphore`: Python's `threading.Semaphore` and
 * `threading.BoundedSemaphore` for async tasks: a counter of permits, handed
 * to waiters first come, first served.
 *
 * This module is browser compatible.
 *
 * @example At most two downloads at once
 * ```ts
 * import { Semaphore } from "@baton/baton/semaphore";
 *
 * const connections = new Semaphore(2);
 * let open = 0;
 * let most = 0;
 * await Promise.all([1, 2, 3, 4, 5].map(async () => {
 *   using _permit = await connections.hold();
 *   most = Math.max(most, ++open);
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   open--;
 * }));
 * console.log(most); // 2
 * ```
 *
 * @module
 */

import { checkWaitOptions, describe, WaitList, type WaitOptions } from "./_waiters.ts";
import { inspectView } from "./_inspect.ts";
import { type Held, held, holdTimeout } from "./_held.ts";
import { grantSemaphoreAccess } from "./_semaphore_access.ts";

export type { WaitOptions } from "./_waiters.ts";
export type { Held } from "./_held.ts";

// Counts are exact only up to Number.MAX_SAFE_INTEGER: above it, a release could add nothing.
const MAX = Number.MAX_SAFE_INTEGER;

function checkValue(value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`semaphore value must be a number, received ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`semaphore value must be a non-negative integer, received ${value}`);
  }
  if (value > MAX) {
    throw new RangeError(
      `semaphore value must be at most Number.MAX_SAFE_INTEGER (${MAX}), received ${value}`,
    );
  }
  return value;
}

function checkCount(n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new RangeError(`release(n) takes an integer n >= 1, received ${describe(n)}`);
  }
  if (n > MAX) {
    throw new RangeError(
      `release(n) takes n up to Number.MAX_SAFE_INTEGER (${MAX}), received ${n}`,
    );
  }
  return n;
}

/**
 * A counting semaphore (Python's `threading.Semaphore`). `acquire` takes a
 * permit, waiting while none is free; `release(n)` returns permits and may
 * raise the value above its initial one.
 *
 * @example
 * ```ts
 * import { Semaphore } from "@baton/baton";
 *
 * const semaphore = new Semaphore(1);
 * console.log(await semaphore.acquire({ timeout: 0 })); // true
 * console.log(await semaphore.acquire({ timeout: 0 })); // false: none left
 * semaphore.release();
 * ```
 */
export class Semaphore {
  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(
    this,
    "Semaphore",
    (semaphore) => ({ value: semaphore.#value, waiters: semaphore.#waiters.size }),
  );
  #value: number;
  #waiters = new WaitList<boolean>({ onTimeout: () => false });

  /** The worker layer's door; a pure field, not a static block, so bundlers can drop an unused Semaphore. */
  static #door = /* @__PURE__ */ grantSemaphoreAccess((semaphore, options, onTaken) =>
    semaphore.#acquireCounted(options, onTaken)
  );

  /**
   * Makes a semaphore.
   *
   * @param value The initial number of permits.
   * @throws {RangeError} when `value` is negative, not an integer, or above
   *   `Number.MAX_SAFE_INTEGER` (where counts stop being exact).
   */
  constructor(value = 1) {
    this.#value = checkValue(value);
  }

  /**
   * The number of free permits.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@baton/baton";
   *
   * console.log(new Semaphore(3).value); // 3
   * ```
   */
  get value(): number {
    return this.#value;
  }

  /**
   * Takes a permit, waiting while none is free.
   *
   * @param options `timeout` in ms (0: the non-blocking try) and `signal`.
   * @returns `true` once a permit is taken, `false` when the timeout ran out.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@baton/baton";
   *
   * const semaphore = new Semaphore(0);
   * setTimeout(() => semaphore.release(), 1);
   * console.log(await semaphore.acquire()); // true
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return Promise.reject(error);
    }
    // Permits go straight to waiters, so a free permit means nobody waits.
    if (this.#value > 0) {
      this.#value--;
      return Promise.resolve(true);
    }
    return this.#waiters.wait(options, undefined);
  }

  /**
   * `acquire`, calling `onTaken` in the step that takes the permit (see
   * `_semaphore_access.ts`); kept apart so the public one stays as lean.
   */
  #acquireCounted(options: WaitOptions | undefined, onTaken: () => void): Promise<boolean> {
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return Promise.reject(error);
    }
    if (this.#value > 0) {
      this.#value--;
      onTaken();
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve, reject) => {
      this.#waiters.enqueue(options, undefined, (taken) => {
        if (taken) onTaken(); // handed over by a release, not a timeout's false
        resolve(taken);
      }, reject);
    });
  }

  /**
   * Takes a permit and returns a handle that gives it back when disposed
   * (`using permit = await semaphore.hold()`).
   *
   * @param options `timeout` in ms and `signal`.
   * @returns The held permit.
   * @throws {DOMException} named `"TimeoutError"` when the timeout ran out.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@baton/baton";
   *
   * const semaphore = new Semaphore(1);
   * {
   *   using _permit = await semaphore.hold();
   *   console.log(semaphore.value); // 0
   * }
   * console.log(semaphore.value); // 1
   * ```
   */
  async hold(options?: WaitOptions): Promise<Held> {
    if (!(await this.acquire(options))) throw holdTimeout("semaphore permit", options?.timeout);
    return held(() => this.release());
  }

  /**
   * Returns `n` permits, waking up to `n` waiters, oldest first.
   *
   * @param n How many permits: an integer `>= 1`.
   * @throws {RangeError} when `n` is not an integer `>= 1`, or when the
   *   permits left after the waiters are served would raise the value above
   *   `Number.MAX_SAFE_INTEGER`; nothing changes then.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@baton/baton";
   *
   * const semaphore = new Semaphore(0);
   * semaphore.release(3);
   * console.log(semaphore.value); // 3
   * ```
   */
  release(n = 1): void {
    this.#release(checkCount(n));
  }

  /** Hands `n` checked permits to waiters, then keeps the rest. */
  #release(n: number): void {
    // Checked before anything moves, so a refused release wakes nobody. Permits handed to
    // waiters do not raise the value: only the rest must fit.
    if (n - this.#waiters.size > MAX - this.#value) {
      throw new RangeError(
        `release(${n}) would raise the semaphore's value above Number.MAX_SAFE_INTEGER (${MAX}): value ${this.#value}, ${this.#waiters.size} waiting`,
      );
    }
    while (n > 0 && this.#waiters.resolveNext(true)) n--;
    this.#value += n;
  }

  /**
   * The number of tasks waiting for a permit.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@baton/baton";
   *
   * console.log(new Semaphore().waiting); // 0
   * ```
   */
  get waiting(): number {
    return this.#waiters.size;
  }
}

/**
 * A semaphore that refuses to be released beyond its initial value (Python's
 * `threading.BoundedSemaphore`): such a `release` throws `RangeError` and
 * changes nothing, which catches a permit given back twice.
 *
 * @example
 * ```ts
 * import { BoundedSemaphore } from "@baton/baton";
 * import { assertThrows } from "@std/assert";
 *
 * const semaphore = new BoundedSemaphore(1);
 * assertThrows(() => semaphore.release(), RangeError);
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /** Keeps the base class's inspect view, under this name. */
  static #inspect = /* @__PURE__ */ inspectView(this, "BoundedSemaphore");
  /** The initial value: the most permits there can be. */
  readonly initialValue: number;

  /**
   * Makes a bounded semaphore.
   *
   * @param value The initial, and largest, number of permits.
   * @throws {RangeError} when `value` is negative, not an integer, or above
   *   `Number.MAX_SAFE_INTEGER`.
   */
  constructor(value = 1) {
    super(value);
    this.initialValue = value;
  }

  /**
   * Returns `n` permits, waking up to `n` waiters, oldest first.
   *
   * @param n How many permits: an integer `>= 1`.
   * @throws {RangeError} when `n` is not an integer `>= 1`, or when more
   *   permits would be returned than are held; nothing changes then.
   *
   * @example
   * ```ts
   * import { BoundedSemaphore } from "@baton/baton";
   *
   * const semaphore = new BoundedSemaphore(2);
   * await semaphore.acquire();
   * semaphore.release();
   * console.log(semaphore.value); // 2
   * ```
   */
  override release(n = 1): void {
    checkCount(n);
    const held = this.initialValue - this.value;
    if (n > held) {
      throw new RangeError(
        `BoundedSemaphore released too many times: ${n} released, ${held} held (initial value ${this.initialValue})`,
      );
    }
    super.release(n); // checks n once more: cheap, and keeps the hand-off private
  }
}
