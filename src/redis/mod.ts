/**
 * baton beyond one machine: the same queue and primitives, kept in a Redis
 * server (7.0 or later, or Valkey) so that producers and consumers in
 * different processes and on different machines share them. The client is
 * ioredis; this entry point is the only part of baton that depends on it.
 *
 * Delivery is **at least once**: items a client took and had not marked done
 * go back to the head of the queue when its lease runs out, so a
 * consumer that dies after its side effect and before `taskDone` has its item
 * run again.
 *
 * @example Producer and consumer
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis("redis://127.0.0.1:6379"); // or { path: socket }
 * const jobs = redis.queue<{ url: string }>("jobs", { maxsize: 1000 });
 * await jobs.put({ url: "https://example.com" });
 * await jobs.shutdown();
 * for await (const job of jobs) {
 *   console.log(job.url);
 *   await jobs.taskDone();
 * }
 * await redis.close();
 * ```
 *
 * @module
 */

export { connectRedis, RedisClient } from "./client.ts";
export { DEFAULT_LEASE_MS } from "./options.ts";
export { StateLost } from "../errors.ts";
export type {
  RedisClientOptions,
  RedisConnectionOptions,
  RedisPriorityQueueOptions,
  RedisQueueOptions,
  RedisTarget,
} from "./options.ts";
export { type Codec, jsonCodec } from "./codec.ts";
export { RedisQueue } from "./queue.ts";
export { RedisBoundedSemaphore, RedisEvent, RedisLock, RedisSemaphore } from "./sync.ts";
export type { WaitOptions } from "../_waiters.ts";
export type { Held } from "../_held.ts";
export type { QueueLike } from "../worker/mod.ts";
