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

export * from "./src/errors.ts";
export * from "./src/queue.ts";
export * from "./src/lock.ts";
export * from "./src/condition.ts";
export * from "./src/event.ts";
export * from "./src/semaphore.ts";
export * from "./src/barrier.ts";
export * from "./src/periodic_timer.ts";
