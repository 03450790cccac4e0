/**
 * `connectRedis` and the client it returns: one connection for ordered,
 * pipelined calls, a pool of connections for blocked waits (see
 * `_client_pool.ts`), and the lease that tells other clients this one is
 * alive.
 *
 * @module
 */

import type { Redis, RedisOptions } from "ioredis";
import { LinkClosed, StateLost } from "../errors.ts";
import { BlockingPool } from "./_client_pool.ts";
import { type Codec, jsonCodec } from "./codec.ts";
import { type Core, cutConnection, type Part, quit, reconnectNow } from "./core.ts";
import {
  DEFAULT_LEASE_MS,
  type RedisClientOptions,
  type RedisPriorityQueueOptions,
  type RedisQueueOptions,
  type RedisTarget,
} from "./options.ts";
import { SCRIPT } from "./script.ts";
import { open } from "./_connect.ts";
import { RedisQueue } from "./queue.ts";
import { RedisBoundedSemaphore, RedisEvent, RedisLock, RedisSemaphore } from "./sync.ts";

/**
 * How long `close()` waits for a cancelled blocked call before it cuts its
 * connection, and for a server that answers nothing before it cuts them all.
 */
const CLOSE_GRACE_MS = 2_000;

/** Script operations no public method waits for: a lost setup they find is reported later. */
const BACKGROUND = new Set(["touch", "batch", "close", "unreserve", "unreturn"]);

/**
 * A connection to a Redis server that hands out baton primitives kept in
 * it. Get one with {@linkcode connectRedis}; `close()` it when done.
 *
 * @example
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis("redis://127.0.0.1:6379");
 * const jobs = redis.queue<string>("jobs", { maxsize: 100 });
 * await jobs.put("hello");
 * console.log(await jobs.get()); // "hello"
 * await jobs.taskDone();
 * await redis.close();
 * ```
 */
export class RedisClient implements AsyncDisposable {
  readonly #lifecycle: { closing: boolean };
  readonly #main: Redis;
  readonly #sha: string;
  readonly #codec: Codec<unknown>;
  readonly #core: Core;
  readonly #parts = new Map<string, Part>();
  readonly #pool: BlockingPool;
  readonly #dirty = new Set<Part>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #leaseTimer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** The number of this client's latest script call (the script runs each once, see script.ts). */
  #calls = 0;
  /** The highest call number whose reply came (replies come in order). */
  #acked = 0;

  /** Internal: use {@linkcode connectRedis}. */
  constructor(
    options: RedisOptions,
    main: Redis,
    sha: string,
    clientOptions: RedisClientOptions,
    lifecycle: { closing: boolean } = { closing: false },
  ) {
    this.#lifecycle = lifecycle;
    this.#main = main;
    this.#sha = sha;
    this.#codec = clientOptions.codec ?? jsonCodec;
    this.leaseMs = clientOptions.leaseMs ?? DEFAULT_LEASE_MS;
    this.id = crypto.randomUUID();
    this.#pool = new BlockingPool(options, main, this.id);
    const prefix = clientOptions.prefix ?? "baton";
    // deno-lint-ignore no-this-alias
    const client = this;
    this.#core = {
      id: this.id,
      leaseMs: this.leaseMs,
      prefix,
      get closed() {
        return client.#closed || client.#closing !== undefined;
      },
      main,
      call: (meta, base, op, ...args) => this.#eval(meta, base, op, args),
      block: (run, options) => this.#pool.block(run, options),
      schedule: (part) => this.#schedule(part),
      epochs: new Map(),
      onLost: new Map(),
    };
    this.#leaseTimer = setInterval(() => this.#touchAll(), Math.max(1, this.leaseMs / 3));
    // back from an outage: refresh at once (the refreshes due meanwhile were not made)
    main.on("ready", () => this.#touchAll());
  }

  /** This client's id, under which its lease and holds are kept. */
  readonly id: string;
  /** This client's lease in milliseconds. */
  readonly leaseMs: number;

  /**
   * A FIFO queue kept in Redis, shared by every client that names it.
   *
   * @typeParam T The type of the items.
   * @param name The queue's name.
   * @param options `maxsize` (every client must give the same) and `codec`.
   * @returns The queue; the same object for the same name on this client.
   * @throws {RangeError} When `maxsize` is not a non-negative integer.
   * @throws {Error} When the client is closed, or the name is in use by another kind.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * const jobs = redis.queue<number>("jobs", { maxsize: 10 });
   * await jobs.put(1);
   * console.log(await jobs.qsize()); // 1
   * await redis.close();
   * ```
   */
  queue<T>(name: string, options: RedisQueueOptions<T> = {}): RedisQueue<T> {
    return this.#queue("fifo", name, options);
  }

  /**
   * A LIFO queue kept in Redis: the last item put is the first one got.
   *
   * @typeParam T The type of the items.
   * @param name The queue's name.
   * @param options `maxsize` (every client must give the same) and `codec`.
   * @returns The queue.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * const stack = redis.lifoQueue<number>("stack");
   * await stack.put(1);
   * await stack.put(2);
   * console.log(await stack.get()); // 2
   * await redis.close();
   * ```
   */
  lifoQueue<T>(name: string, options: RedisQueueOptions<T> = {}): RedisQueue<T> {
    return this.#queue("lifo", name, options);
  }

  /**
   * A priority queue kept in Redis (a sorted set): the item with the smallest
   * priority first, equal priorities in insertion order. A consumer takes
   * one item at a time (no prefetch), so a more urgent item put later is
   * never stuck behind one a consumer holds.
   *
   * @typeParam T The type of the items.
   * @param name The queue's name.
   * @param options `maxsize`, `codec` and `priority`.
   * @returns The queue.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * const urgent = redis.priorityQueue<[number, string]>("urgent");
   * await urgent.put([2, "later"]);
   * await urgent.put([1, "first"]);
   * console.log(await urgent.get()); // [1, "first"]
   * await redis.close();
   * ```
   */
  priorityQueue<T>(name: string, options: RedisPriorityQueueOptions<T> = {}): RedisQueue<T> {
    return this.#queue("pq", name, options);
  }

  /**
   * An event kept in Redis: `set` wakes every waiter on every client.
   *
   * @param name The event's name.
   * @returns The event.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * const go = redis.event("go");
   * await go.set();
   * console.log(await go.wait()); // true
   * await redis.close();
   * ```
   */
  event(name: string): RedisEvent {
    return this.#part("event", name, () => new RedisEvent(this.#core, this.#base("e", name)));
  }

  /**
   * A semaphore kept in Redis. Permits a client holds when its lease runs out
   * go back.
   *
   * @param name The semaphore's name.
   * @param value The initial number of permits (every client must agree).
   * @returns The semaphore.
   * @throws {RangeError} When `value` is not a non-negative integer, or is
   *   above `Number.MAX_SAFE_INTEGER`.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * const slots = redis.semaphore("slots", 2);
   * console.log(await slots.acquire()); // true
   * await slots.release();
   * await redis.close();
   * ```
   */
  semaphore(name: string, value = 1): RedisSemaphore {
    checkPermits(value);
    return this.#part(
      "sem",
      name,
      () => new RedisSemaphore(this.#core, this.#base("s", name), value),
    );
  }

  /**
   * A bounded semaphore kept in Redis: releasing beyond the initial value
   * rejects `RangeError`.
   *
   * @param name The semaphore's name.
   * @param value The initial (and largest) number of permits.
   * @returns The semaphore.
   * @throws {RangeError} When `value` is not a non-negative integer, or is
   *   above `Number.MAX_SAFE_INTEGER`.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * const slots = redis.boundedSemaphore("slots", 1);
   * await slots.release().catch((error) => console.log(error.name)); // RangeError
   * await redis.close();
   * ```
   */
  boundedSemaphore(name: string, value = 1): RedisBoundedSemaphore {
    checkPermits(value);
    return this.#part(
      "bsem",
      name,
      () => new RedisBoundedSemaphore(this.#core, this.#base("b", name), value),
    );
  }

  /**
   * A lock kept in Redis, with a fencing token: after each successful
   * `acquire`, `lock.token` is greater than every token given out before.
   *
   * @param name The lock's name.
   * @returns The lock.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * const lock = redis.lock("ledger");
   * await lock.acquire();
   * console.log(typeof lock.token); // number
   * await lock.release();
   * await redis.close();
   * ```
   */
  lock(name: string): RedisLock {
    return this.#part("lock", name, () => new RedisLock(this.#core, this.#base("l", name)));
  }

  /**
   * Sends every batched put, `taskDone` and acknowledgement now and waits
   * until the server has them.
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * await redis.queue<number>("jobs").put(1); // may still be on its way
   * await redis.flush(); // now it is in Redis
   * await redis.close();
   * ```
   */
  async flush(): Promise<void> {
    await Promise.all([...this.#parts.values()].map((part) => part.flush()));
  }

  /**
   * Flushes, settles every pending wait of this client (they reject
   * `LinkClosed`), gives back what it holds (prefetched items go back to the
   * head of their queue, reserved slots, permits and locks are released),
   * ends its lease and closes its connections. Idempotent. A connection
   * waiting to reconnect tries at once rather than wait out its retry delay,
   * and one the server does not answer is cut after a grace period, so
   * `close()` settles and leaves nothing open, whether or not the server is
   * there.
   *
   * @throws {AggregateError} When what was batched (puts that resolved,
   *   taskDones) may not have reached the server (it was gone): those may be
   *   lost. Also, with the server there, when giving back what the
   *   client holds failed (with it gone, that comes back when the lease runs
   *   out, R-3).
   *
   * @example
   * ```ts ignore
   * import { connectRedis } from "@baton/baton/redis";
   *
   * const redis = await connectRedis({ path: "/tmp/redis.sock" });
   * await redis.close();
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@linkcode RedisClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    // from now on a lost connection ends instead of reconnecting, failing what it had pending
    this.#lifecycle.closing = true;
    // a connection waiting to reconnect does not wait out its retry delay: what the close sends
    // goes as soon as the server is there, or fails at once when it is gone
    reconnectNow(this.#main);
    this.#pool.reconnectNow();
    clearInterval(this.#leaseTimer);
    this.#leaseTimer = undefined;
    const errors: unknown[] = [];
    /** Why what a part batched may not have reached the server: always reported. */
    const unsent: unknown[] = [];
    // each part cancels its blocked calls, then gives back what it holds; wait until the
    // cancels have landed, and cut the connections of any still blocked after a grace period
    // All at once: one held up by a call it must cut does not keep the others' holds back.
    const closing = (async () => {
      await Promise.all(
        [...this.#parts.values()].map((part) =>
          part.close().then(
            (failed) => failed !== undefined && unsent.push(failed),
            (error) => errors.push(error),
          )
        ),
      );
      await this.#pool.drained();
    })();
    // Each grace period the close is not done in: blocked calls still there are cut, and when
    // the server answered none of the calls waiting on it meanwhile (it stalls), the client's
    // own connection too, failing them: what the close could not give back then comes back
    // when the lease runs out.
    let done = false;
    const settled = closing.then(() => done = true);
    let acked = this.#acked;
    while (!done) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS));
      await Promise.race([settled, grace]);
      clearTimeout(timer);
      if (done) break;
      this.#pool.cut(new LinkClosed("the Redis client is closed"));
      if (this.#acked === acked && this.#calls > this.#acked) cutConnection(this.#main);
      acked = this.#acked;
    }
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#closed = true;
    await this.#pool.close(CLOSE_GRACE_MS);
    // with the connection lost, what it could not give back comes back when its lease runs out
    const lostConnection = this.#main.status !== "ready";
    await quit(this.#main, CLOSE_GRACE_MS);
    // Puts that resolved and may be lost are reported even then: only a killed client loses
    // them without a word.
    if (unsent.length > 0) {
      throw new AggregateError(
        [...unsent, ...errors],
        "closing the Redis client failed: what it batched may not have reached the server",
      );
    }
    if (errors.length > 0 && !lostConnection) {
      throw new AggregateError(errors, "closing the Redis client failed");
    }
  }

  async #eval(
    meta: string,
    base: string,
    op: string,
    args: (string | number)[],
  ): Promise<unknown> {
    const epoch = this.#core.epochs.get(base) ?? "";
    try {
      return await this.#evalLoaded(meta, base, op, [...args, epoch]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("LOST ")) throw error;
      // the server lost the primitive's setup (see EPOCH in script.ts): it sets up again, unless
      // it did since this call was sent
      const lost = new StateLost(error.message.slice(5));
      if (epoch !== "" && this.#core.epochs.get(base) === epoch) {
        this.#core.epochs.delete(base);
        this.#core.onLost.get(base)?.(lost, !BACKGROUND.has(op));
      }
      throw lost;
    }
  }

  async #evalLoaded(
    meta: string,
    base: string,
    op: string,
    args: (string | number)[],
  ): Promise<unknown> {
    try {
      return await this.#evalOnce(meta, base, op, args);
    } catch (error) {
      // the closing client ended its connection (one it could not get back): the call ends with it
      if (this.#lifecycle.closing && this.#main.status === "end") {
        throw new LinkClosed("the Redis client is closed");
      }
      // A restarted server has forgotten the script: load it again, once (the call did not run).
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      await this.#main.script("LOAD", SCRIPT);
      return await this.#evalOnce(meta, base, op, args);
    }
  }

  /**
   * One script call, numbered: should the connection send it again after a
   * cut (its reply lost), the script answers without running it twice.
   */
  async #evalOnce(
    meta: string,
    base: string,
    op: string,
    args: (string | number)[],
  ): Promise<unknown> {
    const seq = ++this.#calls;
    try {
      return await this.#main.evalsha(
        this.#sha,
        1,
        meta,
        base,
        this.id,
        op,
        ...args,
        seq,
        this.#acked,
      );
    } finally {
      // replied, or failed for good (never sent again): the server may drop its reply
      if (seq > this.#acked) this.#acked = seq;
    }
  }

  #base(tag: string, name: string): string {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`a name must be a non-empty string, received ${String(name)}`);
    }
    return `${this.#core.prefix}:{${tag}:${name}}`;
  }

  #queue<T>(
    kind: "fifo" | "lifo" | "pq",
    name: string,
    options: RedisPriorityQueueOptions<T>,
  ): RedisQueue<T> {
    const maxsize = options.maxsize ?? 0;
    checkCount("maxsize", maxsize);
    if (options.prefetch !== undefined) checkCount("prefetch", options.prefetch);
    const codec = (options.codec ?? this.#codec) as Codec<T>;
    const tag = kind === "fifo" ? "q" : kind === "lifo" ? "lq" : "pq";
    const queue = this.#part(
      kind,
      name,
      () =>
        new RedisQueue<T>(
          this.#core,
          this.#base(tag, name),
          kind,
          maxsize,
          codec,
          options,
        ),
    );
    if (queue.maxsize !== maxsize) {
      throw new Error(`queue ${name} is open on this client with maxsize ${queue.maxsize}`);
    }
    return queue;
  }

  #part<P extends Part>(kind: string, name: string, make: () => P): P {
    if (this.#core.closed) throw new LinkClosed("the Redis client is closed");
    const key = `${kind}:${name}`;
    const have = this.#parts.get(key);
    if (have !== undefined) return have as unknown as P;
    const part = make();
    this.#parts.set(key, part);
    return part;
  }

  #schedule(part: Part): void {
    this.#dirty.add(part);
    if (this.#flushTimer !== undefined || this.#closed) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const each of dirty) each.flush().catch(() => {});
    }, 0);
  }

  #touchAll(): void {
    // Away from the server, a refresh would wait to be sent, one more each time: the one made
    // as the connection is back refreshes the lease.
    if (this.#main.status !== "ready" || this.#closing !== undefined) return;
    for (const part of this.#parts.values()) part.touch().catch(() => {});
  }
}

function checkCount(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, received ${value}`);
  }
}

/** A semaphore's value, as locally (S-1): counts are exact only up to `Number.MAX_SAFE_INTEGER`. */
function checkPermits(value: number): void {
  checkCount("value", value);
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `value must be at most Number.MAX_SAFE_INTEGER (${Number.MAX_SAFE_INTEGER}), received ${value}`,
    );
  }
}

/**
 * Connects to a Redis server (7.0 or later, or Valkey) and returns a client
 * that hands out baton primitives kept in it.
 *
 * @param target A `redis://` URL, a unix socket `{ path }`, or ioredis options. A call
 *   waits for the server through any number of reconnects (ioredis's
 *   `maxRetriesPerRequest` is `null` unless given), so what a live client did
 *   is not dropped during an outage; `close()` ends the wait.
 * @param options The lease (`leaseMs`, default 10,000), the default codec and the key prefix;
 *   `timeout`/`signal` for the connect itself (until the connection is ready and the client's
 *   script is loaded), as for every wait.
 * @returns The client, once it is connected and has loaded its script.
 * @throws {RangeError} When `leaseMs` is not a positive finite number, or `timeout` is
 *   negative or `NaN`.
 * @throws {DOMException} `TimeoutError` when no server answered in time; what the connect
 *   opened is closed first.
 * @throws {unknown} `signal.reason` when the signal aborts (or was aborted already: then
 *   nothing is opened); what the connect opened is closed first.
 *
 * @example
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis("redis://127.0.0.1:6379", { leaseMs: 5_000 });
 * const jobs = redis.queue<string>("jobs");
 * await jobs.put("hello");
 * await redis.close();
 * ```
 *
 * @example Give up on a server that does not answer
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * try {
 *   const redis = await connectRedis("redis://10.0.0.7:6379", { timeout: 5_000 });
 *   await redis.close();
 * } catch (error) {
 *   // nothing is left open: no socket, no timer, no reconnect
 *   console.log((error as DOMException).name); // TimeoutError
 * }
 * ```
 */
export async function connectRedis(
  target: RedisTarget,
  options: RedisClientOptions = {},
): Promise<RedisClient> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(typeof leaseMs === "number" && leaseMs > 0 && Number.isFinite(leaseMs))) {
    throw new RangeError(`leaseMs must be a positive number of milliseconds, received ${leaseMs}`);
  }
  const { redisOptions, main, sha, lifecycle } = await open(target, options);
  return new RedisClient(redisOptions, main, sha, options, lifecycle);
}
