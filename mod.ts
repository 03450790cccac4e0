/**
 * baton: Python's communication and synchronisation primitives (`queue`,
 * `threading`, `multiprocessing`) for TypeScript, with timeouts and
 * `AbortSignal` on every wait, first-come-first-served waiters and nothing
 * lost when a wait is cancelled.
 *
 * This entry holds the one-thread primitives and their errors. What crosses
 * threads is `@baton/baton/worker` (`serve`, `connect`, `Pipe`); what crosses
 * machines is `@baton/baton/redis`.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 *
 * const queue = new Queue<string>(10);
 * await queue.put("hello");
 * console.log(await queue.get()); // "hello"
 * ```
 *
 * @module
 */

// Named, not `export *`: each symbol comes from the one module that declares
// it (the subpath modules re-export their errors and option types too), and
// the worker layer's errors (`PipeClosed`, `LinkClosed`) stay in
// `@baton/baton/worker`.
export { BrokenBarrierError, QueueEmpty, QueueFull, QueueShutDown } from "./src/errors.ts";
export type { WaitOptions } from "./src/_waiters.ts";
export type { Held } from "./src/_held.ts";
export { Queue, type QueueOptions } from "./src/queue.ts";
export { LifoQueue } from "./src/lifo_queue.ts";
export { defaultCompare, PriorityQueue, type PriorityQueueOptions } from "./src/priority_queue.ts";
export { Lock } from "./src/lock.ts";
export { Condition } from "./src/condition.ts";
export { Event } from "./src/event.ts";
export { BoundedSemaphore, Semaphore } from "./src/semaphore.ts";
export { Barrier, type BarrierOptions } from "./src/barrier.ts";
export { PeriodicTimer } from "./src/periodic_timer.ts";
