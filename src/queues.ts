/**
 * `Queue`, `LifoQueue` and `PriorityQueue`: Python's `queue` module for async
 * code, with `maxsize` backpressure, timeouts and `AbortSignal` on every wait,
 * first-come-first-served waiters, `taskDone`/`join` and `shutdown`.
 *
 * One class holds the waiting, counting and shutdown logic; the variants only
 * swap the storage behind four small protected hooks (`storageInit`,
 * `storageSize`, `storagePut`, `storageGet`), as Python's `Lib/queue.py` does
 * with `_init`, `_qsize`, `_put` and `_get`.
 *
 * This module is browser compatible.
 *
 * @example A producer, a consumer and a clean stop
 * ```ts
 * import { Queue } from "@baton/baton/queue";
 *
 * const queue = new Queue<number>(2);
 * const consumer = (async () => {
 *   const seen: number[] = [];
 *   for await (const item of queue) seen.push(item); // ends after shutdown, once drained
 *   return seen;
 * })();
 * for (let i = 0; i < 5; i++) await queue.put(i); // waits while 2 items are queued
 * queue.shutdown();
 * console.log(await consumer); // [0, 1, 2, 3, 4]
 * ```
 *
 * @module
 */

export { Queue, type QueueOptions } from "./queue.ts";
export { LifoQueue } from "./lifo_queue.ts";
export { defaultCompare, PriorityQueue, type PriorityQueueOptions } from "./priority_queue.ts";
export { QueueEmpty, QueueFull, QueueShutDown } from "./errors.ts";
export type { WaitOptions } from "./_waiters.ts";
