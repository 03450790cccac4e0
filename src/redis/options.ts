/**
 * The options of `connectRedis` and of the primitives a Redis client makes,
 * and the default lease.
 *
 * @module
 */

import type { Codec } from "./codec.ts";

/**
 * Default lease of a client, in milliseconds: a client that has not
 * refreshed its lease for this long is dead for the others.
 *
 * @example
 * ```ts
 * import { DEFAULT_LEASE_MS } from "@baton/baton/redis";
 *
 * console.log(DEFAULT_LEASE_MS); // 10000
 * ```
 */
export const DEFAULT_LEASE_MS = 10_000;

/**
 * Where the Redis server is: a `redis://` or `rediss://` URL, a unix socket
 * `{ path }`, or any ioredis options.
 *
 * @example
 * ```ts
 * import type { RedisTarget } from "@baton/baton/redis";
 *
 * const targets: RedisTarget[] = ["redis://127.0.0.1:6379", { path: "/tmp/redis.sock" }];
 * console.log(targets.length); // 2
 * ```
 */
export type RedisTarget = string | RedisConnectionOptions;

/**
 * Where and how to connect, passed on to ioredis (which takes more options
 * than these: they are passed on as given).
 *
 * @example
 * ```ts
 * import type { RedisConnectionOptions } from "@baton/baton/redis";
 *
 * const options: RedisConnectionOptions = { host: "127.0.0.1", port: 6379, db: 2 };
 * console.log(options.port); // 6379
 * ```
 */
export interface RedisConnectionOptions {
  /** A unix socket to connect to, instead of host and port. */
  path?: string;
  /** The host (default `"localhost"`). */
  host?: string;
  /** The port (default 6379). */
  port?: number;
  /** The ACL user name. */
  username?: string;
  /** The password. */
  password?: string;
  /** The database number (default 0). */
  db?: number;
  /** TLS options; `{}` for TLS with the defaults. */
  tls?: Record<string, unknown>;
  /** Any other ioredis option. */
  [option: string]: unknown;
}

/**
 * Options of {@linkcode connectRedis}.
 *
 * @example
 * ```ts
 * import type { RedisClientOptions } from "@baton/baton/redis";
 *
 * const options: RedisClientOptions = { leaseMs: 5_000, timeout: 2_000 };
 * console.log(options.leaseMs); // 5000
 * ```
 */
export interface RedisClientOptions {
  /**
   * How long this client counts as alive without refreshing its lease, in
   * milliseconds (default 10,000). It refreshes every third of it; once it
   * runs out, any other client returns what this one held.
   */
  leaseMs?: number;
  /** How items become strings, unless a queue names its own (default JSON). */
  codec?: Codec<unknown>;
  /** Prefix of every key this client uses (default `"baton"`). */
  prefix?: string;
  /**
   * How long the connect may take, in milliseconds, from the call until the
   * connection is ready and the client's script is loaded. Omitted or
   * `Infinity`: as long as it takes; `0`: do not wait (it rejects at once,
   * opening nothing); negative or `NaN`: `RangeError`. When it runs out,
   * `connectRedis` closes what it opened and rejects with a `DOMException`
   * named `TimeoutError`.
   */
  timeout?: number;
  /**
   * Aborting it ends the connect: `connectRedis` closes what it opened and
   * rejects with `signal.reason`. Already aborted: it rejects at once,
   * opening nothing. Only the connect listens to it; the client it returned
   * does not.
   */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode RedisClient.queue} and its LIFO variant.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import type { RedisQueueOptions } from "@baton/baton/redis";
 *
 * const options: RedisQueueOptions<number> = { maxsize: 100 };
 * console.log(options.maxsize); // 100
 * ```
 */
export interface RedisQueueOptions<T> {
  /** Most items held at once; `0` or omitted: unbounded. Every client must agree. */
  maxsize?: number;
  /** How items become strings (default: the client's codec). */
  codec?: Codec<T>;
  /**
   * Most items this client's consumers fetch ahead of their gets; the
   * window starts at one and grows while they keep up. Default: a quarter of
   * `maxsize`, at most 512. `0` (or `1`): no fetching ahead, each get takes
   * one item when it needs it, so slow consumers share the work evenly.
   */
  prefetch?: number;
}

/**
 * Options of {@linkcode RedisClient.priorityQueue}.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import type { RedisPriorityQueueOptions } from "@baton/baton/redis";
 *
 * const options: RedisPriorityQueueOptions<{ due: number }> = { priority: (job) => job.due };
 * console.log(options.priority!({ due: 3 })); // 3
 * ```
 */
export interface RedisPriorityQueueOptions<T> extends RedisQueueOptions<T> {
  /**
   * An item's priority, a finite number; smaller comes first, equal
   * priorities in insertion order. Default: a number is its own priority,
   * an array's first element is (`[priority, item]`).
   */
  priority?: (item: T) => number;
}
