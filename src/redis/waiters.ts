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
