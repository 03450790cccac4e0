/**
 * THE wait list every baton primitive stands on: waiters served first come,
 * first served, each with an optional timeout and `AbortSignal`.
 *
 * The cancellation race is solved here, once. Handing a value to a waiter
 * (`shift` then `resolve`) removes it from the list, clears its timer and
 * detaches its abort listener in the same synchronous step. A timeout or abort
 * that fires later finds the waiter already gone and does nothing, so the
 * value travels with the promise and is never lost; a waiter whose timeout or
 * abort fired first is no longer in the list, so it can never swallow a
 * hand-off meant for the next one.
 *
 * @module
 */

/**
 * Options of every operation that can wait.
 *
 * @example
 * ```ts
 * import { Queue, type WaitOptions } from "@baton/baton";
 *
 * const options: WaitOptions = { timeout: 50, signal: AbortSignal.timeout(1000) };
 * const queue = new Queue<number>();
 * queue.putNowait(1);
 * console.log(await queue.get(options)); // 1
 * ```
 */
export interface WaitOptions {
  /**
   * How long to wait, in milliseconds. Omitted or `Infinity`: as long as
   * needed; `0`: do not wait. Negative or `NaN` makes the operation reject
   * with `RangeError`.
   */
  timeout?: number;
  /** Aborting it makes a pending wait reject with `signal.reason`. */
  signal?: AbortSignal;
}

/** Largest delay `setTimeout` takes; longer waits re-arm. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Whether a wait must hold the event loop itself while only its signal can
 * end it. Node runs `AbortSignal.timeout()` on an unref'd timer, so a wait
 * whose only deadline is such a signal would let Node exit with the wait
 * pending ("unsettled top-level await", exit code 13) instead of rejecting
 * with the signal's reason. Deno and Bun keep the process alive for that
 * timer themselves, and a browser page has no process to end, so only Node
 * needs it (and Deno's sanitizers see nothing new).
 */
const SIGNAL_WAITS_HOLD_LOOP: boolean = (() => {
  const scope = globalThis as {
    Deno?: unknown;
    Bun?: unknown;
    process?: { versions?: { node?: unknown } };
  };
  return scope.Deno === undefined && scope.Bun === undefined &&
    typeof scope.process?.versions?.node === "string";
})();

/** The real timers for that hold, kept at load: a test's fake time must not stand in for them. */
const holdTimer = globalThis.setTimeout;
const releaseTimer = globalThis.clearTimeout;

/**
 * Checks `options` in the contract's order: a bad timeout (`RangeError`,
 * `TypeError` for a non-number) before an already-aborted signal (its
 * reason). Returns the error to reject with, or `undefined`.
 */
export function checkWaitOptions(options: WaitOptions | undefined): unknown {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") {
    return new TypeError(`options must be an object, received ${describe(options)}`);
  }
  let timeout: unknown;
  let signal: unknown;
  try {
    ({ timeout, signal } = options);
  } catch (error) {
    return error; // a getter that throws: the operation rejects with its error
  }
  return checkWaitValues(timeout, signal);
}

/** `checkWaitOptions` on values already read from the options. */
function checkWaitValues(timeout: unknown, signal: unknown): unknown {
  if (timeout !== undefined) {
    if (typeof timeout !== "number") {
      return new TypeError(
        `timeout must be a number of milliseconds, received ${describe(timeout)}`,
      );
    }
    if (!(timeout >= 0)) {
      return new RangeError(
        `timeout must be a non-negative number of milliseconds, received ${timeout}`,
      );
    }
  }
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) {
      return new TypeError(`signal must be an AbortSignal, received ${describe(signal)}`);
    }
    if (signal.aborted) return signal.reason;
  }
  return undefined;
}

/** A short description of a received value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object" && typeof value !== "function") {
    return String(value);
  }
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/** One pending wait. Internal to the primitives. */
export class Waiter<T, D> {
  prev: Waiter<T, D> | null = null;
  next: Waiter<T, D> | null = null;
  /** Whether it is still in its list. */
  queued = true;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** On Node, holds the event loop while only the signal can end the wait. */
  hold: ReturnType<typeof setTimeout> | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  deadline = 0;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  constructor(readonly data: D) {}
}

/** How a list settles waits that end without a hand-off. */
export interface WaitListHooks<T, D> {
  /**
   * Gives the outcome of a wait whose timeout ran out (or of a `timeout: 0`
   * wait that could not be served at once): return a value to resolve with,
   * or throw to reject.
   */
  onTimeout(data: D): T;
  /** Runs after a waiter left the list through its timeout or abort. */
  onCancel?(data: D, reason: "timeout" | "abort"): void;
}

/**
 * A FIFO list of waiters (an intrusive doubly linked list, so a cancelled
 * waiter leaves in O(1)).
 */
export class WaitList<T, D = undefined> {
  #head: Waiter<T, D> | null = null;
  #tail: Waiter<T, D> | null = null;
  #size = 0;
  #hooks: WaitListHooks<T, D>;

  constructor(hooks: WaitListHooks<T, D>) {
    this.#hooks = hooks;
  }

  /** Number of waiters. */
  get size(): number {
    return this.#size;
  }

  /** The oldest waiter's data, without removing it. */
  peek(): D | undefined {
    return this.#head?.data;
  }

  /** Each waiter's data, oldest first. */
  *data(): IterableIterator<D> {
    for (let w = this.#head; w !== null; w = w.next) yield w.data;
  }

  /**
   * Waits at the back of the list. `options` must already have passed
   * `checkWaitOptions`. A timeout of 0 settles at once through `onTimeout`.
   */
  wait(options: WaitOptions | undefined, data: D): Promise<T> {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    this.enqueue(options, data, resolve, reject);
    return promise;
  }

  /**
   * Waits at the back of the list with callbacks instead of a promise: the
   * hand-off calls `resolve` synchronously, in the step that removes the
   * waiter. A timeout of 0 settles at once (through `onTimeout`) and returns
   * `undefined`; else the waiter, which `cancel` removes.
   */
  enqueue(
    options: WaitOptions | undefined,
    data: D,
    resolve: (value: T) => void,
    reject: (reason: unknown) => void,
  ): Waiter<T, D> | undefined {
    let timeout: number | undefined;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      // Read once, and the values read checked again: an options object with getters could give
      // other values now than when the operation checked it, and a wait must never be queued on
      // values that fail (a waiter queued and then thrown past would swallow a hand-off).
      try {
        ({ timeout, signal } = options);
      } catch (error) {
        reject(error);
        return undefined;
      }
      const error = checkWaitValues(timeout, signal);
      if (error !== undefined) {
        reject(error);
        return undefined;
      }
    }
    if (timeout === 0) {
      this.#hooks.onCancel?.(data, "timeout");
      let value: T;
      try {
        value = this.#hooks.onTimeout(data);
      } catch (error) {
        reject(error);
        return undefined;
      }
      resolve(value);
      return undefined;
    }
    const waiter = new Waiter<T, D>(data);
    waiter.resolve = resolve;
    waiter.reject = reject;
    this.#append(waiter);
    if (timeout !== undefined && timeout !== Infinity) {
      waiter.deadline = performance.now() + timeout;
      this.#arm(waiter, timeout);
    }
    if (signal !== undefined) {
      const aborting = signal;
      waiter.signal = aborting;
      waiter.onAbort = () => {
        // #remove detaches this listener whenever the waiter leaves the list, so an abort never
        // reaches a waiter that left: a guard in case a platform dispatches a removed listener.
        // deno-coverage-ignore
        if (!waiter.queued) return;
        this.#remove(waiter);
        this.#hooks.onCancel?.(waiter.data, "abort");
        waiter.reject(aborting.reason);
      };
      aborting.addEventListener("abort", waiter.onAbort, { once: true });
      if (SIGNAL_WAITS_HOLD_LOOP && waiter.timer === undefined) this.#holdLoop(waiter);
    }
    return waiter;
  }

  /** Removes `waiter` without settling it; false when it already left the list. */
  cancel(waiter: Waiter<T, D>): boolean {
    if (!waiter.queued) return false;
    this.#remove(waiter);
    return true;
  }

  /** A ref'd timer that does nothing but keep the process alive; cleared with the waiter. */
  #holdLoop(waiter: Waiter<T, D>): void {
    waiter.hold = holdTimer(() => this.#holdLoop(waiter), MAX_TIMER_DELAY);
  }

  #arm(waiter: Waiter<T, D>, delay: number): void {
    waiter.timer = setTimeout(() => {
      waiter.timer = undefined;
      // #remove clears this timer whenever the waiter leaves the list: a guard only.
      // deno-coverage-ignore
      if (!waiter.queued) return;
      // Timers may fire a little early by performance.now(): never time out before the deadline.
      const remaining = waiter.deadline - performance.now();
      if (remaining > 0) {
        this.#arm(waiter, remaining);
        return;
      }
      this.#remove(waiter);
      this.#hooks.onCancel?.(waiter.data, "timeout");
      let value: T;
      try {
        value = this.#hooks.onTimeout(waiter.data);
      } catch (error) {
        waiter.reject(error);
        return;
      }
      waiter.resolve(value);
    }, Math.min(delay, MAX_TIMER_DELAY));
  }

  /**
   * Removes the oldest waiter, with its timer cleared and its abort listener
   * detached, so the caller can settle it. `undefined` when empty.
   */
  shift(): Waiter<T, D> | undefined {
    const waiter = this.#head;
    if (waiter === null) return undefined;
    this.#remove(waiter);
    return waiter;
  }

  /** Resolves the oldest waiter with `value`; false when there is none. */
  resolveNext(value: T): boolean {
    const waiter = this.shift();
    if (waiter === undefined) return false;
    waiter.resolve(value);
    return true;
  }

  /** Resolves every waiter with `value`, oldest first. */
  resolveAll(value: T): void {
    for (let waiter = this.shift(); waiter !== undefined; waiter = this.shift()) {
      waiter.resolve(value);
    }
  }

  /** Rejects every waiter with `error`, oldest first. */
  rejectAll(error: unknown): void {
    for (let waiter = this.shift(); waiter !== undefined; waiter = this.shift()) {
      waiter.reject(error);
    }
  }

  #append(waiter: Waiter<T, D>): void {
    waiter.prev = this.#tail;
    if (this.#tail === null) this.#head = waiter;
    else this.#tail.next = waiter;
    this.#tail = waiter;
    this.#size++;
  }

  #remove(waiter: Waiter<T, D>): void {
    waiter.queued = false;
    if (waiter.prev === null) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === null) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = waiter.next = null;
    this.#size--;
    if (waiter.timer !== undefined) {
      clearTimeout(waiter.timer);
      waiter.timer = undefined;
    }
    if (waiter.hold !== undefined) {
      releaseTimer(waiter.hold);
      waiter.hold = undefined;
    }
    if (waiter.onAbort !== undefined) {
      waiter.signal!.removeEventListener("abort", waiter.onAbort);
      waiter.onAbort = undefined;
      waiter.signal = undefined;
    }
  }
}
