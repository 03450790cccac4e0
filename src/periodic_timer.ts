/**
 * `PeriodicTimer`: the Condition-based periodic timer of Python programs
 * (a thread that notifies all waiters every interval), as a small object:
 * tasks `await timer.waitForTick()` or iterate over ticks.
 *
 * Ticks are scheduled from the start time, so drift does not accumulate, and
 * ticks missed while the event loop was busy are coalesced into one.
 *
 * This module is browser compatible.
 *
 * @example
 * ```ts
 * import { PeriodicTimer } from "@baton/baton/periodic-timer";
 *
 * using timer = new PeriodicTimer(10);
 * timer.start();
 * for await (const tick of timer) {
 *   console.log("tick", tick);
 *   if (tick >= 3) break;
 * }
 * ```
 *
 * @module
 */

import { checkWaitOptions, describe, WaitList, type WaitOptions } from "./_waiters.ts";
import { inspectView } from "./_inspect.ts";

export type { WaitOptions } from "./_waiters.ts";

/** Largest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days); longer waits re-arm. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

type State = "idle" | "running" | "stopped";

/**
 * A timer that ticks every `intervalMs` and releases every waiter of each
 * tick. `stop()` (or `using`) releases pending waits with `false`, ends
 * iterators and leaves no timer running.
 *
 * @example
 * ```ts
 * import { PeriodicTimer } from "@baton/baton";
 *
 * const timer = new PeriodicTimer(5);
 * timer.start();
 * console.log(await timer.waitForTick()); // true
 * timer.stop();
 * console.log(await timer.waitForTick()); // false: stopped
 * ```
 */
export class PeriodicTimer implements Disposable, AsyncIterable<number> {
  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(
    this,
    "PeriodicTimer",
    (timer) => ({
      intervalMs: timer.#interval,
      state: timer.#state,
      ticks: timer.#ticks,
      waiters: timer.#waiters.size,
    }),
  );
  #interval: number;
  #state: State = "idle";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #startedAt = 0;
  #nextIndex = 1;
  #ticks = 0;
  #waiters = new WaitList<boolean>({ onTimeout: () => false });

  /**
   * Makes a timer; it ticks only after `start()`.
   *
   * @param intervalMs The interval in milliseconds: a positive finite number.
   *   Intervals longer than `setTimeout` allows (2^31 - 1 ms, about 24.8
   *   days) are fine: the timer waits in steps and ticks on time.
   * @throws {RangeError} when `intervalMs` is not a positive finite number.
   */
  constructor(intervalMs: number) {
    if (typeof intervalMs !== "number" || !Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(
        `intervalMs must be a positive finite number of milliseconds, received ${
          describe(intervalMs)
        }`,
      );
    }
    this.#interval = intervalMs;
  }

  /**
   * The interval in milliseconds.
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * console.log(new PeriodicTimer(250).intervalMs); // 250
   * ```
   */
  get intervalMs(): number {
    return this.#interval;
  }

  /**
   * The number of ticks fired so far (coalesced ticks count once).
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * console.log(new PeriodicTimer(10).ticks); // 0
   * ```
   */
  get ticks(): number {
    return this.#ticks;
  }

  /**
   * Whether the timer is ticking.
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * using timer = new PeriodicTimer(10);
   * timer.start();
   * console.log(timer.running); // true
   * ```
   */
  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Starts ticking, the first tick one interval from now. Does nothing
   * while running; after `stop()` it starts again.
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * using timer = new PeriodicTimer(10);
   * timer.start();
   * ```
   */
  start(): void {
    if (this.#state === "running") return;
    this.#state = "running";
    this.#startedAt = performance.now();
    this.#nextIndex = 1;
    this.#schedule();
  }

  /**
   * Stops ticking: pending and later `waitForTick` calls resolve `false`,
   * iterators end, and no timer is left running.
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * const timer = new PeriodicTimer(10);
   * timer.start();
   * timer.stop();
   * console.log(timer.running); // false
   * ```
   */
  stop(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#state = "stopped";
    this.#waiters.resolveAll(false);
  }

  /**
   * Stops the timer (`using timer = new PeriodicTimer(ms)`).
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * {
   *   using timer = new PeriodicTimer(10);
   *   timer.start();
   * } // stopped here
   * ```
   */
  [Symbol.dispose](): void {
    this.stop();
  }

  /**
   * Waits for the next tick. Before `start()` it waits for the first one.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns `true` on the tick, `false` when stopped or when the timeout
   *   ran out first.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * using timer = new PeriodicTimer(5);
   * timer.start();
   * await timer.waitForTick();
   * console.log(timer.ticks >= 1); // true
   * ```
   */
  waitForTick(options?: WaitOptions): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    if (this.#state === "stopped") return Promise.resolve(false);
    return this.#waiters.wait(options, undefined);
  }

  /**
   * Yields the tick count after each tick until the timer stops. A consumer
   * slower than the timer gets the latest count at once rather than a
   * backlog.
   *
   * @example
   * ```ts
   * import { PeriodicTimer } from "@baton/baton";
   *
   * using timer = new PeriodicTimer(5);
   * timer.start();
   * for await (const tick of timer) if (tick === 2) break;
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<number> {
    let seen = -1;
    const next = async (): Promise<IteratorResult<number>> => {
      if (this.#state === "stopped") return { value: undefined, done: true };
      if (seen < 0 || this.#ticks === seen) {
        if (!(await this.waitForTick())) return { value: undefined, done: true };
      }
      seen = this.#ticks;
      return { value: seen, done: false };
    };
    return {
      next,
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  #schedule(): void {
    this.#arm(this.#startedAt + this.#nextIndex * this.#interval);
  }

  /**
   * Sets the timer towards `due`. setTimeout turns a delay above
   * MAX_TIMER_DELAY into 1 ms (with a warning each time), so a longer wait
   * takes several timers; a due time already past gives delay 0.
   */
  #arm(due: number): void {
    const delay = due - performance.now();
    this.#timer = setTimeout(
      () => this.#fire(due),
      delay > MAX_TIMER_DELAY ? MAX_TIMER_DELAY : delay > 0 ? delay : 0,
    );
  }

  #fire(due: number): void {
    this.#timer = undefined;
    const now = performance.now();
    if (now < due) {
      this.#arm(due); // fired early, or a capped timer ran out: not yet
      return;
    }
    this.#ticks++;
    // Ticks missed while the loop was blocked are coalesced into this one. At
    // least one index further: float rounding of (now - start) / interval
    // can land just below the index that fired and schedule it twice.
    this.#nextIndex = Math.max(
      this.#nextIndex + 1,
      Math.floor((now - this.#startedAt) / this.#interval) + 1,
    );
    if (!Number.isFinite(this.#nextIndex * this.#interval)) {
      // An interval so small that the index overflowed: the schedule counts from this tick on
      // (at such an interval every turn of the loop is a tick, so no drift can show).
      this.#startedAt = now;
      this.#nextIndex = 1;
    }
    this.#schedule();
    this.#waiters.resolveAll(true);
  }
}
