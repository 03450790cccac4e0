/**
 * baton across Deno Workers: `serve` exposes primitives that live in one
 * thread through any `postMessage` endpoint (a `Worker`, a `MessagePort`, a
 * worker's `self`), `connect` gives the other thread typed proxies with the
 * same method names, `Pipe` makes two connected ends over a
 * `MessageChannel` (Python's `multiprocessing.Pipe`), and `wait` waits for
 * the first of several queues, pipe ends or processes to be ready (Python's
 * `multiprocessing.connection.wait`).
 *
 * @example Main thread and worker
 * ```ts ignore
 * // main.ts
 * import { Queue } from "@baton/baton";
 * import { serve } from "@baton/baton/worker";
 *
 * const jobs = new Queue<number>(100);
 * const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
 * const link = serve(worker, { jobs });
 * for (let i = 0; i < 10; i++) await jobs.put(i);
 * jobs.shutdown();
 * await jobs.join();
 * link.close();
 * worker.terminate();
 *
 * // worker.ts
 * import type { Queue } from "@baton/baton";
 * import { connect } from "@baton/baton/worker";
 *
 * const remote = await connect<{ jobs: Queue<number> }>(self);
 * for await (const job of remote.jobs) {
 *   console.log("working on", job);
 *   await remote.jobs.taskDone();
 * }
 * await remote.close();
 * ```
 *
 * @module
 */

export { serve } from "./serve.ts";
export type { Link, PipeEnd, Servable, ServeOptions } from "./serve.ts";
export { connect } from "./connect.ts";
export { release } from "./travel_proxy.ts";
export { DEFAULT_PREFETCH } from "./remote.ts";
export type {
  ConnectOptions,
  Held,
  QueueLike,
  Remote,
  RemoteBarrier,
  RemoteCondition,
  RemoteEvent,
  RemoteLock,
  RemoteOf,
  RemotePeriodicTimer,
  RemoteQueue,
  RemoteSemaphore,
} from "./remote.ts";
export { Connection, Pipe } from "./pipe.ts";
export { currentProcess, Process } from "./process.ts";
export type { LocalOf, ProcessInfo, ProcessOptions } from "./process.ts";
export type { ConnectionOptions, PipeOptions } from "./pipe.ts";
export { wait } from "./wait.ts";
export type { Endpoint } from "./wire.ts";
export { LinkClosed, PipeClosed } from "../errors.ts";
