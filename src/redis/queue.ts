/**
 * A FIFO, LIFO or priority queue kept in Redis, with the shape of a remote
 * queue: the public class, its initialisation, shutdown, join, state reads
 * and close. Its producer side (puts and reserved slots) lives in
 * `producer.ts`, its consumer side (gets, prefetched items, taskDone) in
 * `consumer.ts`; both reach the queue through the hooks it hands them.
 *
 * @module
 */

import { checkWaitOptions, type WaitOptions } from "../_waiters.ts";
import { LinkClosed, QueueShutDown, StateLost } from "../errors.ts";
import type { QueueLike } from "../worker/mod.ts";
import type { Codec } from "./codec.ts";
import { blockAgain, type Core } from "./core.ts";
import { iteratorOf, readableOf, writableOf } from "../_streams.ts";
import { inspectView } from "../_inspect.ts";
import { Batch } from "./batch.ts";
import { Consumer, type ConsumerHooks } from "./consumer.ts";
import { Producer, type ProducerHooks } from "./producer.ts";
import { defaultPriority, settleBy } from "./waiters.ts";

/** Items and slots fetched or reserved at once, at most. */
const MAX_WINDOW = 512;

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
    prefetched: queue.#consumer.prefetched,
    reservedSlots: queue.#producer.reserved,
    waitingGetters: queue.#consumer.waiting,
    waitingPutters: queue.#producer.waiting,
    takenNotDone: queue.#consumer.takenNotDone,
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
  readonly #kind: "fifo" | "lifo" | "pq";
  #init: Promise<void> | undefined;
  #initialized = false;
  #shut = 0;
  /** Batched work and the calls in flight. */
  readonly #batch: Batch;
  /** Puts and the slots reserved for them. */
  readonly #producer: Producer<T>;
  /** Gets, prefetched items and taskDones. */
  readonly #consumer: Consumer<T>;
  /** Cancels the blocked server calls on close. */
  readonly #closeSignal = new AbortController();
  /** Cancels the waits on what the server lost (joins), once it lost this queue's setup. */
  #lostSignal = new AbortController();
  /** The loss no public call has reported yet: the next one rejects with it. */
  #unreported: StateLost | undefined;

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
      call: (ops) => this.#sendBatch(ops),
      onReply: (reply) => this.#onBatch(reply as [number, number]),
      onSent: () => this.#producer.onSent(),
      schedule: () => core.schedule(this),
    });
    this.#kind = kind;
    this.kind = kind === "fifo" ? "Queue" : kind === "lifo" ? "LifoQueue" : "PriorityQueue";
    this.maxsize = maxsize;
    const hooks: ProducerHooks & ConsumerHooks = {
      core,
      base,
      batch: this.#batch,
      closing: this.#closeSignal.signal,
      // a LIFO or priority consumer must not sit on items a newer or more urgent one should overtake
      maxWindow: kind !== "fifo"
        ? 1
        : options.prefetch !== undefined
        ? Math.max(1, options.prefetch)
        : maxsize > 0
        ? Math.max(1, Math.min(MAX_WINDOW, Math.floor(maxsize / 4)))
        : MAX_WINDOW,
      initialized: () => this.#initialized,
      shut: () => this.#shut,
      ready: () => this.#ready(),
      check: (options, put) => this.#check(options, put),
      call: (op, ...args) => this.#call(op, ...args),
      revive: () => this.#revive(),
      onShut: (shut) => this.#onShut(shut),
      onBatch: (reply) => this.#onBatch(reply),
    };
    const priority = kind === "pq" ? (options.priority ?? defaultPriority) : undefined;
    this.#producer = new Producer(hooks, maxsize, codec, priority);
    this.#consumer = new Consumer(hooks, kind, codec);
    core.onLost.set(base, (error, reported) => this.#lost(error, reported));
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
    return this.#producer.put(item, options);
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
    return this.#producer.putNowait(item);
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
    return this.#consumer.get(options);
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
    return this.#consumer.getNowait();
  }

  /**
   * A `ReadableStream` that reads with `get()`, one item per read; it closes
   * once the queue is shut down and drained. Cancelling it takes nothing
   * more: an item handed to the read it cancels is kept for the next `get`,
   * and the cancel resolves once that read settled. A read its reader gives
   * up with `releaseLock()` is treated the same way.
   *
   * @returns The stream.
   *
   * @example
   * ```ts ignore
   * for await (const job of jobs.toReadableStream()) console.log(job);
   * ```
   */
  toReadableStream(): ReadableStream<T> {
    return readableOf((options) => this.get(options), (item) => this.#consumer.keep(item));
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
    return this.#consumer.taskDone();
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
    return await settleBy(options, false, () => this.#join(options));
  }

  async #join(options: WaitOptions | undefined): Promise<boolean> {
    await this.#ready();
    await this.flush();
    const zero = `${this.#base}:zero`;
    const epoch = this.#core.epochs.get(this.#base);
    const signals = [this.#closeSignal.signal, this.#lostSignal.signal];
    if (options?.signal !== undefined) signals.push(options.signal);
    try {
      const done = options?.timeout === 0 ? await this.#core.main.llen(zero) > 0 : await blockAgain(
        this.#core,
        (redis) => redis.blmove(zero, zero, "LEFT", "RIGHT", 0),
        AbortSignal.any(signals),
        options?.timeout,
      );
      // no task left on a setup made anew (by any client) after the server lost the ones counted
      if (done && await this.#core.main.hget(this.#meta, "epoch") !== epoch) {
        const lost = new StateLost(`the Redis server lost ${this.#base} while join() waited`);
        this.#lost(lost, true);
        throw lost;
      }
      return done;
    } catch (error) {
      // a join that rejects with the loss (one a lease refresh found, say) reports it
      if (error instanceof StateLost) this.#unreported = undefined;
      throw error;
    }
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
    return this.#producer.waiting > 0 || (this.#producer.reserved === 0 && info.free === 0);
  }

  /**
   * Yields items as `get()` would; ends once the queue is shut down and drained.
   *
   * @example
   * ```ts ignore
   * for await (const job of jobs) await jobs.taskDone();
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    // `return()` ends a step that waits, and an item it was handed as it was given up is
    // this client's next get's.
    return iteratorOf((options) => this.get(options), (item) => this.#consumer.keep(item));
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
    if (!this.#initialized || this.#init === undefined || this.#core.closed) return;
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
    this.#consumer.reset();
    this.#batch.forgetHandedOut();
    this.#producer.reset();
    await this.#call("revive", this.#core.leaseMs);
  }

  /**
   * Internal: part of `RedisClient.close()`. Resolves with why what this
   * queue batched may not have reached the server, if so (see `Part.close`).
   */
  async close(): Promise<unknown> {
    const closed = new LinkClosed("the Redis client is closed");
    this.#closeSignal.abort(closed);
    this.#producer.abandon(closed);
    this.#consumer.abandon(closed);
    // puts called before the close and still on their way in (the queue's init, a check) join
    // the last batch, also on a queue whose init was still in flight
    await this.#producer.entering();
    await Promise.allSettled([this.#consumer.inFlight, this.#producer.inFlight]);
    if (!this.#initialized) return undefined;
    this.#consumer.dropPrefetched();
    const kept = this.#consumer.takeBackKept();
    // A batch that failed (not reported to a flush() yet) may have held puts that resolved: the
    // close reports it, whatever else fails after it.
    let unsent: unknown = undefined;
    await this.flush().catch((error) => unsent = error);
    try {
      // items kept for the next get count as prefetched again, so the close requeues them
      if (kept > 0) await this.#core.call(this.#meta, this.#base, "unreturn", kept);
      await this.#core.call(this.#meta, this.#base, "close");
    } catch (error) {
      if (unsent === undefined) throw error;
    }
    if (unsent === undefined) return undefined;
    return new Error(
      `what ${this.#base} batched (puts, taskDones) may not have reached the server`,
      { cause: unsent },
    );
  }

  // ---- internals ----

  #ready(): Promise<void> {
    if (this.#core.closed) return Promise.reject(new LinkClosed("the Redis client is closed"));
    const lost = this.#unreported;
    if (lost !== undefined) {
      this.#unreported = undefined;
      return Promise.reject(lost);
    }
    return this.#setup();
  }

  /** Sets the queue up on the server as declared, unless it is; once per setup. */
  #setup(): Promise<void> {
    this.#init ??= this.#core.call(
      this.#meta,
      this.#base,
      "init",
      this.#kind,
      this.maxsize,
      this.#core.leaseMs,
    ).then(
      (reply) => {
        const [shut, epoch] = reply as [number, string];
        this.#core.epochs.set(this.#base, String(epoch));
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
    if (this.#shut > 0 && (put || this.#consumer.prefetched === 0)) {
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

  /**
   * The server lost this queue's setup (see `StateLost`): what this client
   * held or counted there (taken and prefetched items, reserved slots, taskDones
   * owed, the shutdown) is gone. The next call sets it up again as declared;
   * joins reject, and the loss is reported by the next call unless the call
   * that found it reports it.
   */
  #lost(error: StateLost, reported: boolean): void {
    if (this.#init === undefined) return;
    this.#init = undefined;
    this.#core.epochs.delete(this.#base);
    this.#consumer.reset();
    this.#batch.forgetHandedOut();
    this.#producer.reset(true);
    this.#shut = 0;
    if (!reported) this.#unreported = error;
    const waits = this.#lostSignal;
    this.#lostSignal = new AbortController();
    waits.abort(error);
  }

  /**
   * Sends batched ops (see `Batch.send` for their order). When the server
   * lost the queue's setup, what can be about the setup made anew goes to it:
   * the puts (they never reached the server: a put that resolved is not
   * dropped, R-9), and the items a blocked get moved (`W`, by a `BLMOVE`
   * that needs no setup: the only items of the new setup this client can
   * have before it learnt of the loss) with at most as many hand-outs and
   * taskDones. The rest was about lost items.
   */
  async #sendBatch(ops: (string | number)[]): Promise<unknown> {
    try {
      return await this.#core.call(this.#meta, this.#base, "batch", ...ops);
    } catch (error) {
      if (!(error instanceof StateLost)) throw error;
      const count = (op: string) => {
        const at = ops.indexOf(op);
        return at < 0 ? 0 : Number(ops[at + 1]);
      };
      const moved = count("W");
      const handed = Math.min(count("R"), moved);
      const done = Math.min(count("D"), handed);
      const again: (string | number)[] = [];
      if (moved > 0) again.push("W", moved);
      const at = ops.indexOf("P");
      if (at >= 0) again.push(...ops.slice(at, at + 2 + count("P")));
      if (handed > 0) again.push("R", handed);
      if (done > 0) again.push("D", done);
      // reset() counted the moved items handed out and not done as stale
      this.#consumer.restore(handed - done);
      if (again.length === 0) return [0, 0, 0];
      await this.#setup();
      return await this.#core.call(this.#meta, this.#base, "batch", ...again);
    }
  }

  /** Calls the script after sending the batch, so the call sees this client's own ops. */
  async #call(op: string, ...args: (string | number)[]): Promise<unknown> {
    // Set up again first once the server lost the queue (see #lost), and wait for a setup another
    // step started: a call sent before its epoch is known would find the loss again (StateLost).
    if (!this.#core.epochs.has(this.#base)) await this.#setup();
    this.#batch.send();
    return await this.#core.call(this.#meta, this.#base, op, ...args);
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
    if (shut === 2) this.#consumer.dropPrefetched();
    this.#producer.pump();
    this.#consumer.pump();
  }
}
