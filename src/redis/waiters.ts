/**
 * The local waiters of a Redis queue (a `get` or `put` waiting in this
 * client, with its timeout and signal), and a priority queue's default
 * priority. Internal.
 *
 * @module
 */

import type { Deque } from "../_deque.ts";
import type { WaitOptions } from "../_waiters.ts";

/** A `get` or `put` waiting in this client. */
export interface Waiter<V> {
  readonly resolve: (value: V) => void;
  readonly reject: (reason: unknown) => void;
  readonly nowait: boolean;
  settled: boolean;
  cleanup(): void;
}

/** A waiting `put`, with its encoded item. */
export interface Putter extends Waiter<void> {
  readonly text: string;
}

/** Largest delay `setTimeout` takes; a longer one would fire at once. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Calls `fire` once `ms` milliseconds have passed, never earlier: a delay
 * beyond what `setTimeout` takes re-arms, and so does a timer that fired a
 * little before its deadline. Returns the function that cancels it.
 */
export function startTimer(ms: number, fire: () => void): () => void {
  const deadline = performance.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const remaining = deadline - performance.now();
      if (remaining > 0) arm(remaining);
      else fire();
    }, Math.min(delay, MAX_TIMER_DELAY));
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * How long after its timeout ran out, or its signal aborted, a wait that
 * needs the server still waits for it: a server that stalls does not hold
 * the wait longer. In time, the wait ends as it would have, the server's
 * state up to date.
 */
export const SERVER_GRACE_MS = 1_000;

/**
 * Runs `work` (which takes the same timeout and signal and ends itself when
 * they do) and settles with it, or at the latest {@linkcode SERVER_GRACE_MS}
 * after the timeout ran out (with `timedOut`) or the signal aborted (with
 * its reason), when the server does not answer. The work then goes on, and
 * `late` gets what it comes to, to give back what it took. An already
 * aborted signal rejects at once, starting nothing.
 */
export function settleBy<T>(
  options: WaitOptions | undefined,
  timedOut: T,
  work: () => Promise<T>,
  late: (value: T) => void = () => {},
): Promise<T> {
  const timeout = options?.timeout;
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const timed = timeout !== undefined && timeout !== Infinity;
  if (!timed && signal === undefined) return work();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let stopTimer: (() => void) | undefined;
    let stopGrace: (() => void) | undefined;
    const finish = (settle: () => void): boolean => {
      if (settled) return false;
      settled = true;
      stopTimer?.();
      stopGrace?.();
      signal?.removeEventListener("abort", onAbort);
      settle();
      return true;
    };
    const grace = (settle: () => void) => {
      stopGrace ??= startTimer(SERVER_GRACE_MS, () => finish(settle));
    };
    const onAbort = () => grace(() => reject(signal!.reason));
    if (timed) stopTimer = startTimer(timeout, () => grace(() => resolve(timedOut)));
    signal?.addEventListener("abort", onAbort, { once: true });
    work().then(
      (value) => {
        if (!finish(() => resolve(value))) late(value);
      },
      (error) => {
        finish(() => reject(error));
      },
    );
  });
}

/** A waiter in `queue` that leaves it on timeout or abort (calling `onLeave` once the line is empty). */
export function makeWaiter<V>(
  queue: Deque<Waiter<V>>,
  options: WaitOptions | undefined,
  resolve: (value: V) => void,
  reject: (reason: unknown) => void,
  timedOut: () => Error,
  onLeave: () => void,
  extra: object,
): Waiter<V> {
  const timeout = options?.timeout;
  const signal = options?.signal;
  let stopTimer: (() => void) | undefined;
  const leave = (reason: unknown) => {
    if (waiter.settled) return;
    queue.deleteLast(waiter);
    settle(waiter, reason);
    if (queue.length === 0) onLeave();
  };
  const onAbort = () => leave(signal!.reason);
  const waiter: Waiter<V> = Object.assign(extra, {
    resolve,
    reject,
    nowait: timeout === 0,
    settled: false,
    cleanup: () => {
      stopTimer?.();
      signal?.removeEventListener("abort", onAbort);
    },
  });
  if (timeout !== undefined && timeout !== 0 && timeout !== Infinity) {
    stopTimer = startTimer(timeout, () => leave(timedOut()));
  }
  signal?.addEventListener("abort", onAbort, { once: true });
  return waiter;
}

/** Rejects a waiter once, clearing its timer and listener. */
export function settle(waiter: Waiter<never> | Waiter<unknown>, reason: unknown): void {
  if (waiter.settled) return;
  waiter.settled = true;
  waiter.cleanup();
  waiter.reject(reason);
}

/** Rejects every waiter of a line, first to last, emptying it. */
export function settleAll<W extends Waiter<never>>(queue: Deque<W>, reason: unknown): void {
  while (queue.length > 0) settle(queue.shift()!, reason);
}

/** Resolves a waiter, clearing its timer and listener. */
export function resolveWaiter<V>(waiter: Waiter<V>, value: V): void {
  waiter.settled = true;
  waiter.cleanup();
  waiter.resolve(value);
}

/**
 * The default priority of a priority queue's item: a number is its own
 * priority, an array's first element is (`[priority, item]`, as in Python).
 */
export function defaultPriority(item: unknown): number {
  if (typeof item === "number") return item;
  if (Array.isArray(item) && typeof item[0] === "number") return item[0];
  throw new TypeError(
    "a priority queue needs numbers or [priority, item] arrays, or a priority function",
  );
}
