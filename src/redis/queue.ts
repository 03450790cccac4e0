/**
 * A FIFO or LIFO queue kept in Redis, with the shape of a remote queue.
 *
 * @module
 */

import { Deque } from "../_deque.ts";
import { checkWaitOptions, type WaitOptions } from "../_waiters.ts";
import { LinkClosed, QueueEmpty, QueueFull, QueueShutDown } from "../errors.ts";
import type { QueueLike } from "../worker/mod.ts";
import type { Codec } from "./codec.ts";
import { type Core, TIMED_OUT } from "./core.ts";
import { readableOf, writableOf } from "../_streams.ts";
import { inspectView } from "../_inspect.ts";
import { Batch } from "./batch.ts";
import {
  defaultPriority,
  makeWaiter,
  type Putter,
  resolveWaiter,
  settle,
  type Waiter,
} from "./waiters.ts";

/** The marker a shut-down queue keeps in its lists (see script.ts). */
const MARK = "s";
/** Items and slots fetched or reserved at once, at most. */
const MAX_WINDOW = 512;
/** Unused reserved slots go back after the producer was idle this long. */
const IDLE_MS = 50;

/**
 * A queue kept in Redis: the method names, `WaitOptions` and errors of
 * a remote queue, so a function typed {@linkcode QueueLike} takes it.
 * State reads and the nowait calls return promises.
 *
 * Puts are written ahead on slots the client reserved, and a consumer
 * prefetches a window of items: `put` may resolve before the item
 * reached Redis (it does within 100 ms of the client going idle, at once on
 * `flush()` or `close()`), and prefetched items count in `qsize()` and hold
 * their slots until a `get` returns them. Items a client took and had not
 * marked done go back to the head of the queue when its lease runs out:
 * delivery is at least once.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis({ path: "/tmp/redis.sock" });
 * const jobs = redis.queue<number>("jobs", { maxsize: 100 });
 * await jobs.put(1);
 * await jobs.shutdown();
 * for await (const job of jobs) {
 *   console.log(job); // 1
 *   await jobs.taskDone();
 * }
 * await redis.close();
 * ```
 */
export class RedisQueue<T> implements QueueLike<T> {
  /**
   * The view `console.log` and Node's `util.inspect` show: what this client
   * holds of the queue (the server's figures need an `await`: `qsize()`,
   * `unfinishedTasks`).
   */
  static #inspect = /* @__PURE__ */ inspectView(this, "RedisQueue", (queue) => ({
    name: queue.#base,
    maxsize: queue.maxsize,
    prefetched: queue.#buffer.length,
    reservedSlots: queue.#reserved,
    waitingGetters: queue.#getters.length,
    waitingPutters: queue.#putters.length,
    takenNotDone: queue.#takenNotDone,
    batched: queue.#batch.size,
    isShutdown: queue.#shut > 0,
  }));
  /** `"Queue"` (FIFO), `"LifoQueue"` or `"PriorityQueue"`. */
  readonly kind: "Queue" | "LifoQueue" | "PriorityQueue";
  /** Most items held at once; `0`: unbounded. */
  readonly maxsize: number;
  readonly #core: Core;
  readonly #base: string;
  readonly #meta: string;
  readonly #codec: Codec<T>;
  readonly #kind: "fifo" | "lifo" | "pq";
  readonly #lifo: boolean;
  readonly #priority: ((item: T) => number) | undefined;
  /** The list a blocked get waits on. */
  readonly #blockKey: string;
  readonly #maxWindow: number;
  #init: Promise<void> | undefined;
  #initialized = false;
  #shut = 0;
  /** Batched work and the calls in flight. */
  readonly #batch: Batch;
  // producer side
  #reserved = 0;
  readonly #putters = new Deque<Putter>();
  #reserving: Promise<void> | undefined;
  #putWindow = 1;
  #putActivity = 0;
  /** Puts and gets between their call and their place in line (see put and get). */
  #putsEntering = 0;
  #getsEntering = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  // consumer side
  readonly #buffer = new Deque<string>();
  /** Items a cancelled stream's read was handed: the next gets return them first. */
  readonly #leftover: T[] = [];
  readonly #getters = new Deque<Waiter<T>>();
  #fetching: Promise<void> | undefined;
  #getWindow = 1;
  #takenNotDone = 0;
  /** taskDone calls still owed for items handed out before this client was reaped. */
  #staleDone = 0;
  // blocked server calls, cancelled when nobody waits any more or on close
  #getBlock: AbortController | undefined;
  #putBlock: AbortController | undefined;
  readonly #closeSignal = new AbortController();

  /** Internal: use `RedisClient.queue`, `lifoQueue` or `priorityQueue`. */
  constructor(
    core: Core,
    base: string,
    kind: "fifo" | "lifo" | "pq",
    maxsize: number,
    codec: Codec<T>,
    options: { priority?: (item: T) => number; prefetch?: number } = {},
  ) {
    this.#core = core;
    this.#base = base;
    this.#meta = `${base}:meta`;
    this.#batch = new Batch({
      call: (ops) => core.call(this.#meta, this.#base, "batch", ...ops),
      onReply: (reply) => this.#onBatch(reply as [number, number]),
      onSent: () => {
        if (this.#reserved > 0 && this.#putters.length === 0) this.#armIdle();
      },
      schedule: () => core.schedule(this),
    });
    this.#codec = codec;
    this.#kind = kind;
    this.#lifo = kind === "lifo";
    this.#priority = kind === "pq" ? (options.priority ?? defaultPriority) : undefined;
    this.#blockKey = kind === "pq" ? `${base}:bell` : `${base}:items`;
    this.kind = kind === "fifo" ? "Queue" : kind === "lifo" ? "LifoQueue" : "PriorityQueue";
    this.maxsize = maxsize;
    // a LIFO or priority consumer must not sit on items a newer or more urgent one should overtake
    this.#maxWindow = kind !== "fifo"
      ? 1
      : options.prefetch !== undefined
      ? Math.max(1, options.prefetch)
      : maxsize > 0
      ? Math.max(1, Math.min(MAX_WINDOW, Math.floor(maxsize / 4)))
      : MAX_WINDOW;
  }

  /**
   * Puts an item, waiting while the queue is full. Resolves once the item is
   * on its way on a reserved slot.
   *
   * @param item The item; the codec must be able to encode it.
   * @param options `timeout` in ms (rejects `QueueFull` when it runs out) and `signal`.
   * @returns A promise that resolves once the item is queued.
   * @throws {QueueShutDown} When the queue is shut down.
   * @throws {QueueFull} When the timeout ran out first.
   * @throws {RangeError} For a negative or `NaN` timeout.
   *
   * @example
   * ```ts ignore
   * await jobs.put({ url: "https://example.com" }, { timeout: 1000 });
   * ```
   */
  put(item: T, options?: WaitOptions): Promise<void> {
    return this.#fastPut(item, options === undefined) ?? this.#put(item, options);
  }

  /** The common case without a wait: encode, take a reserved slot, batch it. */
  #fastPut(item: T, plain: boolean): Promise<void> | undefined {
    if (
      plain && this.#initialized && this.#shut === 0 && !this.#core.closed &&
      this.#putsEntering === 0 && this.#putters.length === 0 &&
      (this.maxsize === 0 || this.#reserved > 0)
    ) {
      try {
        this.#putNow(this.#encode(item));
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return undefined;
  }

  /** Encodes an item as stored: `v...`, or `score|v...` for a priority queue. */
  #encode(item: T): string {
    const encoded: unknown = this.#codec.encode(item);
    if (typeof encoded !== "string") {
      throw new TypeError(`the codec returned ${typeof encoded}, not a string`);
    }
    const text = `v${encoded}`;
    if (this.#priority === undefined) return text;
    const score: unknown = this.#priority(item);
    if (typeof score !== "number" || !Number.isFinite(score)) {
      throw new TypeError(`an item's priority must be a finite number, received ${score}`);
    }
    return `${score}|${text}`;
  }

  /** Batches an encoded item on a reserved slot (or on an unbounded queue). */
  #putNow(text: string): void {
    this.#putActivity++;
    if (this.maxsize === 0) {
      this.#batch.add("p", text);
      return;
    }
    this.#reserved--;
    this.#batch.add("p", text);
    this.#reserveAhead();
  }

  async #put(item: T, options?: WaitOptions): Promise<void> {
    // while a put is on its way here, later puts take this path too: they keep their order
    this.#putsEntering++;
    try {
      await this.#ready();
      await this.#check(options, true);
    } finally {
      this.#putsEntering--;
    }
    const text = this.#encode(item);
    if (this.maxsize === 0 || (this.#putters.length === 0 && this.#reserved > 0)) {
      this.#putNow(text);
      return;
    }
    const nowait = options?.timeout === 0;
    if (nowait && this.#putters.length > 0) throw new QueueFull();
    return new Promise<void>((resolve, reject) => {
      const putter = makeWaiter<void>(
        this.#putters,
        options,
        resolve,
        reject,
        () => new QueueFull(`put timed out after ${options?.timeout} ms`),
        () => this.#putBlock?.abort(),
        { text },
      ) as Putter;
      this.#putters.push(putter);
      this.#pumpPuts();
    });
  }

  /**
   * Puts an item without waiting.
   *
   * @param item The item.
   * @returns A promise that resolves once the item is queued.
   * @throws {QueueFull} When there is no free slot.
   * @throws {QueueShutDown} When the queue is shut down.
   *
   * @example
   * ```ts ignore
   * await jobs.putNowait(1).catch((error) => console.log(error.name)); // "QueueFull" when full
   * ```
   */
  putNowait(item: T): Promise<void> {
    return this.#fastPut(item, true) ?? this.#put(item, { timeout: 0 });
  }

  /**
   * Takes the next item, waiting while the queue is empty. Blocked getters
   * of all clients are served in the order they reached Redis; a
   * cancelled get never loses its item.
   *
   * @param options `timeout` in ms (rejects `QueueEmpty` when it runs out) and `signal`.
   * @returns The item.
   * @throws {QueueShutDown} When the queue is shut down and empty.
   * @throws {QueueEmpty} When the timeout ran out first.
   * @throws {RangeError} For a negative or `NaN` timeout.
   *
   * @example
   * ```ts ignore
   * const job = await jobs.get({ timeout: 1000 });
   * ```
   */
  get(options?: WaitOptions): Promise<T> {
    if (this.#leftover.length > 0 && !this.#core.closed) {
      return Promise.resolve(this.#leftover.shift()!);
    }
    return this.#fastGet(options === undefined) ?? this.#get(options);
  }

  /** The common case without a wait: the next prefetched item. */
  #fastGet(plain: boolean): Promise<T> | undefined {
    if (
      plain && this.#getsEntering === 0 && this.#getters.length === 0 &&
      this.#buffer.length > 0 && !this.#core.closed
    ) {
      try {
        return Promise.resolve(this.#take());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return undefined;
  }

  async #get(options?: WaitOptions): Promise<T> {
    this.#getsEntering++;
    try {
      await this.#ready();
      await this.#check(options, false);
    } finally {
      this.#getsEntering--;
    }
    if (this.#getters.length === 0 && this.#buffer.length > 0) return this.#take();
    const nowait = options?.timeout === 0;
    if (nowait && this.#getters.length > 0) throw new QueueEmpty();
    return new Promise<T>((resolve, reject) => {
      const getter = makeWaiter<T>(
        this.#getters,
        options,
        resolve,
        reject,
        () => new QueueEmpty(`get timed out after ${options?.timeout} ms`),
        () => this.#getBlock?.abort(),
        {},
      );
      this.#getters.push(getter);
      this.#pumpGets();
    });
  }

  /**
   * Takes the next item without waiting.
   *
   * @returns The item.
   * @throws {QueueEmpty} When the queue is empty.
   * @throws {QueueShutDown} When the queue is shut down and empty.
   *
   * @example
   * ```ts ignore
   * const job = await jobs.getNowait();
   * ```
   */
  getNowait(): Promise<T> {
    if (this.#leftover.length > 0 && !this.#core.closed) {
      return Promise.resolve(this.#leftover.shift()!);
    }
    return this.#fastGet(true) ?? this.#get({ timeout: 0 });
  }

  /**
   * A `ReadableStream` that reads with `get()`, one item per read; it closes
   * once the queue is shut down and drained. Cancelling it takes nothing
   * more: an item handed to the read it cancels is kept for the next `get`.
   *
   * @returns The stream.
   *
   * @example
   * ```ts ignore
   * for await (const job of jobs.toReadableStream()) console.log(job);
   * ```
   */
  toReadableStream(): ReadableStream<T> {
    return readableOf((options) => this.get(options), (item) => this.#leftover.push(item));
  }

  /**
   * A `WritableStream` whose writes are `put()`s (a write waits while the
   * queue is full); `close()` shuts the queue down, `abort()` with `shutdown(true)`.
   *
   * @returns The stream.
   *
   * @example
   * ```ts ignore
   * await ReadableStream.from(jobsToDo).pipeTo(jobs.toWritableStream());
   * ```
   */
  toWritableStream(): WritableStream<T> {
    return writableOf<T>((item) => this.put(item), (immediate) => this.shutdown(immediate));
  }

  /**
   * Marks one item taken as done. Batched when this client took
   * an item not yet marked done; otherwise it asks the server first.
   *
   * @returns A promise that resolves once the mark is on its way.
   * @throws {RangeError} When called more times than items were put.
   *
   * @example
   * ```ts ignore
   * const job = await jobs.get();
   * await jobs.taskDone();
   * ```
   */
  taskDone(): Promise<void> {
    if (this.#staleDone === 0 && this.#takenNotDone > 0 && !this.#core.closed) {
      this.#takenNotDone--;
      this.#batch.add("d");
      return Promise.resolve();
    }
    return this.#taskDone();
  }

  async #taskDone(): Promise<void> {
    await this.#ready();
    if (this.#staleDone > 0) {
      this.#staleDone--;
      return;
    }
    if (this.#takenNotDone > 0) {
      this.#takenNotDone--;
      this.#batch.add("d");
      return;
    }
    const reply = await this.#call("batch", "D", 1) as [number, number];
    this.#onBatch(reply);
    if (reply[1] > 0) {
      throw new RangeError("taskDone() called more times than items were put");
    }
  }

  /**
   * Waits until every item put (by any client) is marked done.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns `true` once the count of unfinished tasks is 0, `false` on timeout.
   * @throws {RangeError} For a negative or `NaN` timeout.
   *
   * @example
   * ```ts ignore
   * console.log(await jobs.join({ timeout: 5000 }));
   * ```
   */
  async join(options?: WaitOptions): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) throw error;
    await this.#ready();
    await this.flush();
    const zero = `${this.#base}:zero`;
    if (options?.timeout === 0) return await this.#core.main.llen(zero) > 0;
    const { value, cancelled } = await this.#core.block(
      (redis) => redis.blmove(zero, zero, "LEFT", "RIGHT", 0),
      this.#withClose(options),
    );
    if (value !== null) return true;
    if (cancelled === TIMED_OUT) return false;
    throw cancelled;
  }

  /**
   * Shuts the queue down for every client: puts reject
   * `QueueShutDown`; gets return what is left, then reject. With
   * `immediate`, queued and prefetched items are discarded and their tasks
   * counted done.
   *
   * @param immediate Discard what is queued.
   * @returns A promise that resolves once the server has shut the queue down.
   *
   * @example
   * ```ts ignore
   * await jobs.shutdown();
   * ```
   */
  async shutdown(immediate = false): Promise<void> {
    await this.#ready();
    const shut = await this.#call("shutdown", immediate ? 1 : 0) as number;
    this.#onShut(shut);
  }

  /** Whether the queue was shut down (by any client). */
  get isShutdown(): Promise<boolean> {
    return this.#info().then((info) => info.shut > 0);
  }

  /** Items put and not yet marked done, over all clients. */
  get unfinishedTasks(): Promise<number> {
    return this.#info().then((info) => info.unfinished);
  }

  /**
   * The number of items queued, prefetched ones included.
   *
   * @returns The size.
   *
   * @example
   * ```ts ignore
   * console.log(await jobs.qsize());
   * ```
   */
  async qsize(): Promise<number> {
    const info = await this.#info();
    return info.items;
  }

  /**
   * Whether the queue holds no item.
   *
   * @returns `true` when `qsize()` is 0.
   *
   * @example
   * ```ts ignore
   * console.log(await jobs.empty());
   * ```
   */
  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  /**
   * Whether `putNowait` from this client would reject `QueueFull` now.
   * Slots reserved by other producers count as taken.
   *
   * @returns `true` when full.
   *
   * @example
   * ```ts ignore
   * console.log(await jobs.full());
   * ```
   */
  async full(): Promise<boolean> {
    if (this.maxsize === 0) return false;
    const info = await this.#info();
    return this.#putters.length > 0 || (this.#reserved === 0 && info.free === 0);
  }

  /**
   * Yields items as `get()` would; ends once the queue is shut down and drained.
   *
   * @example
   * ```ts ignore
   * for await (const job of jobs) await jobs.taskDone();
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      try {
        yield await this.get();
      } catch (error) {
        if (error instanceof QueueShutDown) return;
        throw error;
      }
    }
  }

  /**
   * Sends what this queue batched and waits until Redis has it.
   *
   * @example
   * ```ts ignore
   * await jobs.put(1);
   * await jobs.flush();
   * ```
   */
  flush(): Promise<void> {
    return this.#batch.flush();
  }

  /** Internal: refreshes the lease and reaps dead clients. */
  async touch(): Promise<void> {
    if (!this.#initialized || this.#core.closed) return;
    const [reaped] = await this.#core.call(
      this.#meta,
      this.#base,
      "touch",
      this.#core.leaseMs,
    ) as number[];
    if (reaped === 1) await this.#revive();
  }

  /**
   * This client's lease ran out while it was alive (frozen, cut off): others
   * have requeued what it held. Drop the local copies and the batched
   * acknowledgements about them, then take part again.
   */
  async #revive(): Promise<void> {
    this.#buffer.clear();
    // the next taskDone calls are for items handed out before: those were requeued
    this.#staleDone += this.#takenNotDone;
    this.#takenNotDone = 0;
    this.#batch.forgetHandedOut();
    this.#reserved = 0;
    this.#putWindow = 1;
    this.#getWindow = 1;
    await this.#call("revive", this.#core.leaseMs);
  }

  /** Internal: part of `RedisClient.close()`. */
  async close(): Promise<void> {
    const closed = new LinkClosed("the Redis client is closed");
    this.#closeSignal.abort(closed);
    for (const queue of [this.#putters, this.#getters] as Deque<Waiter<unknown>>[]) {
      while (queue.length > 0) settle(queue.shift()!, closed);
    }
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    await Promise.allSettled([this.#fetching, this.#reserving]);
    if (!this.#initialized) return;
    this.#buffer.clear();
    await this.flush().catch(() => {});
    await this.#core.call(this.#meta, this.#base, "close");
  }

  // ---- internals ----

  #ready(): Promise<void> {
    if (this.#core.closed) return Promise.reject(new LinkClosed("the Redis client is closed"));
    this.#init ??= this.#core.call(
      this.#meta,
      this.#base,
      "init",
      this.#kind,
      this.maxsize,
      this.#core.leaseMs,
    ).then(
      (shut) => {
        this.#initialized = true;
        this.#onShut(Number(shut));
      },
      (error: Error) => {
        throw new Error(error.message);
      },
    );
    return this.#init;
  }

  /** Rejects in the contract's order: QueueShutDown, then a bad option. */
  async #check(options: WaitOptions | undefined, put: boolean): Promise<void> {
    const error = checkWaitOptions(options);
    if (this.#shut > 0 && (put || this.#buffer.length === 0)) {
      if (put || (await this.#info()).items === 0) throw new QueueShutDown();
    }
    if (error === undefined) return;
    if (!(error instanceof TypeError)) {
      const info = await this.#info();
      if (info.shut > 0 && (put || info.items === 0)) throw new QueueShutDown();
    }
    throw error;
  }

  async #info(): Promise<
    { items: number; prefetched: number; unfinished: number; shut: number; free: number }
  > {
    await this.#ready();
    const [queued, prefetched, unfinished, shut, free] = await this.#call("info") as number[];
    this.#onShut(shut!);
    return {
      items: queued! + prefetched!,
      prefetched: prefetched!,
      unfinished: unfinished!,
      shut: shut!,
      free: free!,
    };
  }

  /** Calls the script after sending the batch, so the call sees this client's own ops. */
  #call(op: string, ...args: (string | number)[]): Promise<unknown> {
    this.#batch.send();
    return this.#core.call(this.#meta, this.#base, op, ...args);
  }

  #onBatch(reply: [number, number, number?]): void {
    this.#onShut(reply[0]);
    // the batch came from before this client learnt it was reaped; touch() revives it
    if (reply[2] === 1 && !this.#core.closed) this.touch().catch(() => {});
  }

  #onShut(shut: number): void {
    if (shut <= this.#shut) return;
    this.#shut = shut;
    // shutdown(true) discarded this client's prefetched items on the server
    if (shut === 2) this.#buffer.clear();
    this.#pumpPuts();
    this.#pumpGets();
  }

  /** Hands the next buffered item to the caller; its slot goes back in the next batch. */
  #take(): T {
    const text = this.#buffer.shift()!;
    this.#takenNotDone++;
    this.#batch.add("r");
    if (this.#maxWindow > 1 && this.#buffer.length * 2 < this.#getWindow) this.#prefetch();
    // fifo and lifo keep 'v...', a priority queue 'score|seq v...'
    return this.#codec.decode(text.slice(text.indexOf("v") + 1));
  }

  #withClose(options: WaitOptions | undefined): WaitOptions {
    const signals = [this.#closeSignal.signal];
    if (options?.signal !== undefined) signals.push(options.signal);
    const merged: WaitOptions = { signal: AbortSignal.any(signals) };
    if (options?.timeout !== undefined) merged.timeout = options.timeout;
    return merged;
  }

  /** A server call failed (connection lost, server error): the waiters it served learn why. */
  #fail(queue: Deque<Waiter<never>> | Deque<Waiter<T>> | Deque<Putter>, error: unknown): void {
    while (queue.length > 0) settle(queue.shift()!, error);
  }

  // ---- producer ----

  #pumpPuts(): void {
    if (this.#closeSignal.signal.aborted) {
      // Puts that were on their way in when the client closed: no reservation can come any
      // more (a loop asking for one would end at once and start again, for ever).
      const closed = new LinkClosed("the Redis client is closed");
      while (this.#putters.length > 0) settle(this.#putters.shift()!, closed);
      return;
    }
    while (this.#putters.length > 0 && this.#reserved > 0 && this.#shut === 0) {
      const putter = this.#putters.shift()!;
      this.#reserved--;
      this.#batch.add("p", putter.text);
      resolveWaiter(putter, undefined);
    }
    if (this.#shut > 0) {
      while (this.#putters.length > 0) settle(this.#putters.shift()!, new QueueShutDown());
      if (this.#reserved > 0 && this.#reserving === undefined) this.#unreserve();
      return;
    }
    if (this.#putters.length > 0 && this.#reserving === undefined) {
      this.#reserving = this.#reserveLoop().catch((error) => this.#fail(this.#putters, error))
        .finally(() => {
          this.#reserving = undefined;
          this.#pumpPuts();
        });
    }
  }

  /** Writes ahead: asks for more slots before the reserved ones run out. */
  #reserveAhead(): void {
    if (this.#reserving !== undefined || this.#shut > 0) return;
    if (this.#reserved * 2 >= this.#putWindow) return;
    this.#reserving = this.#reserveOnce().then(() => {}, (error) => {
      this.#batch.fail(error);
    }).finally(() => {
      this.#reserving = undefined;
      this.#pumpPuts();
    });
  }

  async #reserveOnce(): Promise<number> {
    const want = this.#putWindow;
    let got = Number(await this.#call("reserve", want));
    if (got === -2) {
      await this.#revive();
      got = Number(await this.#call("reserve", want));
    }
    if (got < 0) {
      this.#onShut(1);
      return 0;
    }
    this.#reserved += got;
    if (got === want) this.#putWindow = Math.min(this.#maxWindow, want * 2);
    return got;
  }

  async #reserveLoop(): Promise<void> {
    while (this.#putters.length > 0 && this.#shut === 0 && !this.#core.closed) {
      const got = await this.#reserveOnce();
      if (this.#shut > 0) return;
      if (got > 0) {
        this.#pumpPutsSync();
        continue;
      }
      while (this.#putters.length > 0 && this.#putters.peekFront()!.nowait) {
        settle(this.#putters.shift()!, new QueueFull());
      }
      if (this.#putters.length === 0) return;
      const control = new AbortController();
      this.#putBlock = control;
      const slots = `${this.#base}:slots`;
      const resv = `${this.#base}:resv:${this.#core.id}`;
      const { value } = await this.#core.block(
        (redis) => redis.blmove(slots, resv, "LEFT", "RIGHT", 0),
        { signal: AbortSignal.any([control.signal, this.#closeSignal.signal]) },
      );
      this.#putBlock = undefined;
      if (value === MARK) {
        this.#batch.add("M");
        this.#onShut(1);
        return;
      }
      if (value !== null) {
        this.#reserved++;
        this.#pumpPutsSync();
      }
    }
  }

  /** The assigning half of `#pumpPuts`, without starting a new loop. */
  #pumpPutsSync(): void {
    while (this.#putters.length > 0 && this.#reserved > 0) {
      const putter = this.#putters.shift()!;
      this.#reserved--;
      this.#batch.add("p", putter.text);
      resolveWaiter(putter, undefined);
    }
  }

  #armIdle(): void {
    // A closing queue arms nothing: close() cleared the timer and must leave none behind.
    if (this.#idleTimer !== undefined || this.#closeSignal.signal.aborted) return;
    const activity = this.#putActivity;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#putActivity !== activity) {
        if (this.#reserved > 0) this.#armIdle();
        return;
      }
      if (this.#reserving === undefined && this.#putters.length === 0) this.#unreserve();
    }, IDLE_MS);
  }

  #unreserve(): void {
    const count = this.#reserved;
    if (count === 0) return;
    this.#reserved = 0;
    this.#putWindow = 1;
    this.#batch.track(this.#call("unreserve", count));
  }

  // ---- consumer ----

  #pumpGets(): void {
    this.#serve();
    if (this.#getters.length === 0 || this.#fetching !== undefined) return;
    this.#fetching = this.#fetchLoop().catch((error) => this.#fail(this.#getters, error))
      .finally(() => {
        this.#fetching = undefined;
        if (this.#getters.length > 0 && !this.#core.closed) this.#pumpGets();
      });
  }

  #serve(): void {
    while (this.#getters.length > 0 && this.#buffer.length > 0) {
      const getter = this.#getters.shift()!;
      try {
        resolveWaiter(getter, this.#take());
      } catch (error) {
        settle(getter, error);
      }
    }
    if (this.#buffer.length === 0 && this.#shut === 2) {
      while (this.#getters.length > 0) settle(this.#getters.shift()!, new QueueShutDown());
    }
  }

  #prefetch(): void {
    if (this.#fetching !== undefined || this.#shut > 0 || this.#core.closed) return;
    this.#fetching = this.#fetchOnce().then(() => {}, (error) => {
      this.#batch.fail(error);
    }).finally(() => {
      this.#fetching = undefined;
      if (this.#getters.length > 0 && !this.#core.closed) this.#pumpGets();
    });
  }

  /**
   * Fetches up to a window of items. Returns how many came and whether the
   * queue was shut down when the server answered: that answer, not the
   * client's latest news, tells an empty fetch from a drained queue (a
   * shutdown's reply can be read before the fetch's caller resumes, while a
   * put made after the fetch left waits in the list).
   */
  async #fetchOnce(): Promise<{ got: number; shut: number }> {
    const want = this.#getWindow;
    let reply = await this.#call("fetch", want) as (number | string)[];
    if (reply[1] === 1) {
      await this.#revive();
      reply = await this.#call("fetch", want) as (number | string)[];
    }
    // [shutdown, reaped, ...items]
    const got = reply.length - 2;
    const shut = Number(reply[0]);
    for (let i = 2; i < reply.length; i++) this.#buffer.push(reply[i] as string);
    if (got === want) this.#getWindow = Math.min(this.#maxWindow, want * 2);
    this.#onShut(shut);
    this.#serve();
    return { got, shut };
  }

  async #fetchLoop(): Promise<void> {
    while (this.#getters.length > 0 && !this.#core.closed) {
      const { got, shut } = await this.#fetchOnce();
      if (got > 0 || this.#getters.length === 0) continue;
      if (shut > 0) {
        while (this.#getters.length > 0) settle(this.#getters.shift()!, new QueueShutDown());
        return;
      }
      while (this.#getters.length > 0 && this.#getters.peekFront()!.nowait) {
        settle(this.#getters.shift()!, new QueueEmpty());
      }
      if (this.#getters.length === 0) return;
      const control = new AbortController();
      this.#getBlock = control;
      const items = this.#blockKey;
      const wait = `${this.#base}:wait:${this.#core.id}`;
      const lifo = this.#lifo;
      const { value } = await this.#core.block(
        (redis) =>
          lifo
            ? redis.blmove(items, wait, "RIGHT", "RIGHT", 0)
            : redis.blmove(items, wait, "LEFT", "RIGHT", 0),
        { signal: AbortSignal.any([control.signal, this.#closeSignal.signal]) },
      );
      this.#getBlock = undefined;
      if (value === MARK) {
        this.#batch.add("m");
        this.#onShut(1);
      } else if (value !== null && this.#kind === "pq") {
        // the value is a token: the item is still in the sorted set; claim the smallest
        const reply = await this.#call("batch", "W", 1) as (number | string)[];
        this.#onBatch(reply as [number, number]);
        // [shutdown, failed, reaped, ...moved]
        for (let i = 3; i < reply.length; i++) this.#buffer.push(reply[i] as string);
        this.#serve();
      } else if (value !== null) {
        // now a prefetched item of this client, served in order below
        this.#batch.add("w");
        this.#buffer.push(value);
        this.#serve();
      }
    }
  }
}
