/**
 * `Barrier`: Python's `threading.Barrier` for async tasks: a fixed number of
 * parties wait until all have arrived, then all go on together. Cyclic: it
 * can be used again right away.
 *
 * This module is browser compatible.
 *
 * @example Three tasks in lock step
 * ```ts
 * import { Barrier } from "@baton/baton/barrier";
 *
 * const barrier = new Barrier(3, { action: () => console.log("all arrived") });
 * const indices = await Promise.all([1, 2, 3].map(() => barrier.wait()));
 * console.log(indices.sort()); // [0, 1, 2]
 * ```
 *
 * @module
 */

import { checkWaitOptions, describe, type Waiter, WaitList, type WaitOptions } from "./_waiters.ts";
import { inspectView } from "./_inspect.ts";
import { BrokenBarrierError } from "./errors.ts";

export type { WaitOptions } from "./_waiters.ts";
export { BrokenBarrierError } from "./errors.ts";

/**
 * Options of {@linkcode Barrier}.
 *
 * @example
 * ```ts
 * import { Barrier, type BarrierOptions } from "@baton/baton";
 *
 * const options: BarrierOptions = { timeout: 5_000, action: () => console.log("go") };
 * console.log(new Barrier(2, options).parties); // 2
 * ```
 */
export interface BarrierOptions {
  /**
   * Runs once per trip, in the last party to arrive, before any party is
   * released. When it throws, the barrier breaks: that party rejects with
   * the error, the others with `BrokenBarrierError`. When it calls
   * `abort()` or `reset()`, every party of its trip rejects with
   * `BrokenBarrierError`, the last one included.
   *
   * It must not wait on its own barrier: a `wait()` called while it runs
   * (the synchronous part of an async action included) rejects with an
   * `Error` saying so and changes nothing, instead of tripping the barrier
   * again inside itself. The trip goes on unless the action passes that
   * error on (throws it, or returns or awaits the rejected wait), which
   * breaks the barrier as any failing action does. A `wait()` an async
   * action makes after its first `await` cannot be told from another
   * task's: it belongs to the next trip, which the parties of this trip
   * cannot join while they wait for the action, so it waits for parties
   * from elsewhere.
   *
   * It may be async: when it returns a promise (any thenable), the parties
   * are released only once it fulfils, and a rejection breaks the barrier
   * as a throw does. Meanwhile every party of the trip counts in
   * `nWaiting`; their timeouts and signals no longer apply (all have
   * arrived), but `abort()`, `reset()` or any other break of the barrier
   * releases them with `BrokenBarrierError` and the action's later outcome
   * is ignored. Parties that arrive meanwhile belong to the next trip.
   */
  action?: () => unknown;
  /** The default timeout (ms) of every `wait` that gives none. */
  timeout?: number;
}

/**
 * A cyclic barrier (Python's `threading.Barrier`). A timeout or abort in any
 * `wait`, `abort()`, `reset()` while parties wait, or a throwing (or
 * rejecting) `action` breaks it: the other waiters reject with
 * {@linkcode BrokenBarrierError}.
 *
 * @example
 * ```ts
 * import { Barrier, BrokenBarrierError } from "@baton/baton";
 *
 * const barrier = new Barrier(2);
 * try {
 *   await barrier.wait({ timeout: 10 }); // the second party never comes
 * } catch (error) {
 *   console.log(error instanceof BrokenBarrierError, barrier.broken); // true true
 * }
 * barrier.reset();
 * ```
 *
 * @example An async action, awaited before the parties go on
 * ```ts
 * import { Barrier } from "@baton/baton";
 *
 * const results: number[] = [];
 * const barrier = new Barrier(2, {
 *   action: async () => {
 *     await Promise.resolve(); // e.g. write a checkpoint
 *     results.push(results.length);
 *   },
 * });
 * await Promise.all([barrier.wait(), barrier.wait()]);
 * console.log(results); // [0]: the action finished before any party went on
 * ```
 */
export class Barrier {
  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(
    this,
    "Barrier",
    (barrier) => ({
      parties: barrier.#parties,
      waiting: barrier.nWaiting,
      broken: barrier.#broken,
    }),
  );
  #parties: number;
  #action: (() => unknown) | undefined;
  #timeout: number | undefined;
  #broken = false;
  /** Counts resets and breaks: an action that did either ends its own trip. */
  #generation = 0;
  #waiters: WaitList<number, number>;
  /**
   * The trips whose async action runs now, each with all its parties (the
   * last one included). More than one when a trip fills while an earlier
   * one's action still runs.
   */
  #trips = new Set<Trip>();
  /** Whether the action's synchronous part runs now: a `wait` then comes from the action itself. */
  #inAction = false;

  /**
   * Makes a barrier.
   *
   * @param parties How many parties must arrive: an integer `>= 1`.
   * @param options `action` and a default `timeout`.
   * @throws {RangeError} when `parties` is not an integer `>= 1`, or the
   *   timeout is negative or `NaN`.
   * @throws {TypeError} when `action` is not a function.
   */
  constructor(parties: number, options: BarrierOptions = {}) {
    if (typeof parties !== "number" || !Number.isInteger(parties) || parties < 1) {
      throw new RangeError(`parties must be an integer >= 1, received ${describe(parties)}`);
    }
    const { action, timeout } = options;
    if (action !== undefined && typeof action !== "function") {
      throw new TypeError(`action must be a function, received ${describe(action)}`);
    }
    const error = checkWaitOptions(timeout === undefined ? undefined : { timeout });
    if (error !== undefined) throw error;
    this.#parties = parties;
    this.#action = action;
    this.#timeout = timeout;
    this.#waiters = new WaitList<number, number>({
      onTimeout: () => {
        throw new BrokenBarrierError("the barrier broke: a wait timed out");
      },
      onCancel: () => this.#break(),
    });
  }

  /**
   * How many parties must arrive.
   *
   * @example
   * ```ts
   * import { Barrier } from "@baton/baton";
   *
   * console.log(new Barrier(4).parties); // 4
   * ```
   */
  get parties(): number {
    return this.#parties;
  }

  /**
   * How many parties wait now.
   *
   * @example
   * ```ts
   * import { Barrier } from "@baton/baton";
   *
   * const barrier = new Barrier(2);
   * const first = barrier.wait();
   * console.log(barrier.nWaiting); // 1
   * await Promise.all([first, barrier.wait()]);
   * ```
   */
  get nWaiting(): number {
    let waiting = this.#waiters.size;
    for (const trip of this.#trips) waiting += trip.length;
    return waiting;
  }

  /**
   * Whether the barrier is broken (until `reset()`).
   *
   * @example
   * ```ts
   * import { Barrier } from "@baton/baton";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * console.log(barrier.broken); // true
   * ```
   */
  get broken(): boolean {
    return this.#broken;
  }

  /**
   * Arrives at the barrier and waits for the other parties.
   *
   * @param options `timeout` in ms (default: the barrier's) and `signal`.
   * @returns This party's arrival index, distinct in `0..parties-1` (the
   *   first to arrive gets 0).
   * @throws {BrokenBarrierError} when the barrier is or becomes broken, or
   *   the timeout ran out (which breaks it).
   * @throws {RangeError} for a negative or `NaN` timeout.
   * @throws {Error} when called from the barrier's own action (nothing
   *   changes then).
   *
   * @example
   * ```ts
   * import { Barrier } from "@baton/baton";
   *
   * const barrier = new Barrier(1);
   * console.log(await barrier.wait()); // 0: a single party never waits
   * ```
   */
  wait(options?: WaitOptions): Promise<number> {
    // The action runs before its own trip's parties go on: a wait there could only trip the
    // barrier again inside itself (endless recursion) or wait for a trip that cannot come.
    if (this.#inAction) {
      return Promise.reject(
        new Error(
          "Barrier.wait() called from its own action: the action runs before the parties of its trip go on, so it cannot wait on the barrier",
        ),
      );
    }
    if (this.#broken) return Promise.reject(new BrokenBarrierError());
    const error = checkWaitOptions(options);
    if (error !== undefined) {
      // An already aborted signal is an abort of this wait (B-1): as with a timeout of 0, the
      // parties waiting must not go on waiting for a party that is gone.
      let signal: unknown;
      try {
        signal = options?.signal;
      } catch {
        // a getter that throws: its error is `error`, no abort
      }
      if (signal instanceof AbortSignal && signal.aborted && signal.reason === error) {
        this.#break();
      }
      return Promise.reject(error);
    }
    const index = this.#waiters.size;
    if (index < this.#parties - 1) {
      let timeout: number | undefined;
      let signal: AbortSignal | undefined;
      try {
        // Read again (the wait list checks what it is given): getters must not make wait throw.
        ({ timeout, signal } = options ?? {});
      } catch (readError) {
        return Promise.reject(readError);
      }
      timeout ??= this.#timeout;
      const waitOptions: WaitOptions = {};
      if (timeout !== undefined) waitOptions.timeout = timeout;
      if (signal !== undefined) waitOptions.signal = signal;
      return this.#waiters.wait(waitOptions, index);
    }
    // The last party trips the barrier: the action first, then everybody goes.
    let outcome: unknown;
    let thenable = false;
    if (this.#action !== undefined) {
      const generation = this.#generation;
      this.#inAction = true;
      try {
        outcome = this.#action();
        // Reading `then` runs a getter of the action's result: one that throws is the action's error.
        thenable = isThenable(outcome);
      } catch (actionError) {
        this.#break();
        return Promise.reject(actionError);
      } finally {
        this.#inAction = false;
      }
      // The action itself broke the barrier (abort()) or reset it, which rejected the other
      // parties of this trip: the last one does not go on alone.
      if (this.#generation !== generation) {
        return Promise.reject(
          this.#broken ? new BrokenBarrierError() : new BrokenBarrierError("the barrier was reset"),
        );
      }
    }
    if (thenable) return this.#tripAfter(outcome as PromiseLike<unknown>, index);
    for (let waiter = this.#waiters.shift(); waiter !== undefined; waiter = this.#waiters.shift()) {
      waiter.resolve(waiter.data);
    }
    return Promise.resolve(index);
  }

  /**
   * Trips once the async action settles. The waiting parties leave the wait
   * list first (their timers and abort listeners go with it), so the list
   * is free for the next trip and only a break can end this one early.
   */
  #tripAfter(outcome: PromiseLike<unknown>, index: number): Promise<number> {
    const parties: Waiter<number, number>[] = [];
    for (let waiter = this.#waiters.shift(); waiter !== undefined; waiter = this.#waiters.shift()) {
      parties.push(waiter);
    }
    return new Promise<number>((resolve, reject) => {
      const trip: Trip = [...parties, { data: index, resolve, reject }];
      this.#trips.add(trip);
      // Both handlers are attached here, so a rejection is always handled;
      // after a break (the trip is gone from #trips) the outcome is ignored.
      Promise.resolve(outcome).then(
        () => {
          if (!this.#trips.delete(trip)) return;
          for (const party of trip) party.resolve(party.data);
        },
        (actionError: unknown) => {
          if (!this.#trips.delete(trip)) return;
          this.#break();
          for (const party of trip) {
            party.reject(party.data === index ? actionError : new BrokenBarrierError());
          }
        },
      );
    });
  }

  /**
   * Returns the barrier to its initial state: parties waiting now reject
   * with `BrokenBarrierError`, and a broken barrier is whole again.
   *
   * @example
   * ```ts
   * import { Barrier } from "@baton/baton";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * barrier.reset();
   * console.log(barrier.broken); // false
   * ```
   */
  reset(): void {
    const error = new BrokenBarrierError("the barrier was reset");
    this.#generation++;
    this.#rejectTrips(error);
    this.#waiters.rejectAll(error);
    this.#broken = false;
  }

  /**
   * Breaks the barrier: parties waiting now, and every later `wait` until
   * `reset()`, reject with `BrokenBarrierError`.
   *
   * @example
   * ```ts
   * import { Barrier } from "@baton/baton";
   *
   * const barrier = new Barrier(3);
   * barrier.abort();
   * console.log(barrier.broken); // true
   * ```
   */
  abort(): void {
    this.#break();
  }

  #break(): void {
    this.#broken = true;
    this.#generation++;
    const error = new BrokenBarrierError();
    this.#rejectTrips(error);
    this.#waiters.rejectAll(error);
  }

  /** Ends the trips whose async action runs now, oldest first: their parties reject with `error`. */
  #rejectTrips(error: BrokenBarrierError): void {
    const trips = [...this.#trips];
    this.#trips.clear();
    for (const trip of trips) for (const party of trip) party.reject(error);
  }
}

/** A party of a trip whose async action runs: its index and how to settle it. */
interface TripParty {
  readonly data: number;
  resolve(index: number): void;
  reject(reason: unknown): void;
}

/** The parties of one trip, oldest first, while its async action runs. */
type Trip = readonly TripParty[];

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}
