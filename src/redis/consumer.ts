/**
 * The consumer side of a Redis queue: gets, the window of items this client
 * prefetches, gets waiting in this client while the queue is empty (and
 * the blocked wait for an item they share), and the count of items taken and
 * not yet marked done that `taskDone` batches against. Internal:
 * `RedisQueue` owns one.
 *
 * @module
 */

import { Deque } from "../_deque.ts";
import type { WaitOptions } from "../_waiters.ts";
import { LinkClosed, QueueEmpty, QueueShutDown, StateLost } from "../errors.ts";
import type { Batch } from "./batch.ts";
import type { Codec } from "./codec.ts";
import type { Core, SideHooks } from "./core.ts";
import { MARK } from "./script.ts";
import { makeWaiter, resolveWaiter, settle, settleAll, type Waiter } from "./waiters.ts";

/** What the consumer side needs from its queue. */
export interface ConsumerHooks extends SideHooks {
  /** Items fetched at once, at most. */
  readonly maxWindow: number;
  /** The script's reply to a batch. */
  onBatch(reply: [number, number, number?]): void;
}

/** The gets of one queue in one client, and the items it prefetched for them. */
export class Consumer<T> {
  readonly #hooks: ConsumerHooks;
  readonly #core: Core;
  readonly #batch: Batch;
  readonly #codec: Codec<T>;
  readonly #kind: "fifo" | "lifo" | "pq";
  readonly #lifo: boolean;
  /** The list a blocked get waits on. */
  readonly #blockKey: string;
  readonly #buffer = new Deque<string>();
  /** Items a cancelled stream's read was handed: the next gets return them first. */
  readonly #leftover: T[] = [];
  readonly #getters = new Deque<Waiter<T>>();
  #fetching: Promise<void> | undefined;
  #getWindow = 1;
  #takenNotDone = 0;
  /** taskDone calls still owed for items handed out before this client was reaped. */
  #staleDone = 0;
  /** Gets between their call and their place in line (see #get). */
  #getsEntering = 0;
  /** The blocked wait for an item, cancelled when no get waits any more. */
  #getBlock: AbortController | undefined;

  constructor(hooks: ConsumerHooks, kind: "fifo" | "lifo" | "pq", codec: Codec<T>) {
    this.#hooks = hooks;
    this.#core = hooks.core;
    this.#batch = hooks.batch;
    this.#codec = codec;
    this.#kind = kind;
    this.#lifo = kind === "lifo";
    this.#blockKey = kind === "pq" ? `${hooks.base}:bell` : `${hooks.base}:items`;
  }

  /** Items prefetched and not yet handed out. */
  get prefetched(): number {
    return this.#buffer.length;
  }

  /** Gets waiting in this client for an item. */
  get waiting(): number {
    return this.#getters.length;
  }

  /** Items this client handed out and has not marked done. */
  get takenNotDone(): number {
    return this.#takenNotDone;
  }

  /** The fetch in flight, if any. */
  get inFlight(): Promise<void> | undefined {
    return this.#fetching;
  }

  /** `RedisQueue.get`. */
  get(options?: WaitOptions): Promise<T> {
    if (this.#leftover.length > 0 && !this.#core.closed) {
      return Promise.resolve(this.#leftover.shift()!);
    }
    return this.#fastGet(options === undefined) ?? this.#get(options);
  }

  /** `RedisQueue.getNowait`. */
  getNowait(): Promise<T> {
    if (this.#leftover.length > 0 && !this.#core.closed) {
      return Promise.resolve(this.#leftover.shift()!);
    }
    return this.#fastGet(true) ?? this.#get({ timeout: 0 });
  }

  /** Keeps an item a cancelled stream's read was handed for the next get. */
  keep(item: T): void {
    this.#leftover.push(item);
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
      await this.#hooks.ready();
      await this.#hooks.check(options, false);
    } finally {
      this.#getsEntering--;
    }
    if (this.#getters.length === 0 && this.#buffer.length > 0) return this.#take();
    // aborted while it was on its way in: a waiter would never hear of it
    if (options?.signal?.aborted) throw options.signal.reason;
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
      this.pump();
    });
  }

  /** `RedisQueue.taskDone`. */
  taskDone(): Promise<void> {
    if (this.#staleDone === 0 && this.#takenNotDone > 0 && !this.#core.closed) {
      this.#takenNotDone--;
      this.#batch.add("d");
      return Promise.resolve();
    }
    return this.#taskDone();
  }

  async #taskDone(): Promise<void> {
    await this.#hooks.ready();
    if (this.#staleDone > 0) {
      this.#staleDone--;
      return;
    }
    if (this.#takenNotDone > 0) {
      this.#takenNotDone--;
      this.#batch.add("d");
      return;
    }
    const reply = await this.#hooks.call("batch", "D", 1) as [number, number];
    this.#hooks.onBatch(reply);
    if (reply[1] > 0) {
      throw new RangeError("taskDone() called more times than items were put");
    }
  }

  /** Drops the prefetched items (the server discarded or requeued them). */
  dropPrefetched(): void {
    this.#buffer.clear();
  }

  /**
   * The client is closing: the items kept for the next get were handed out on
   * the server, yet nobody saw them. Returns how many, so the close can give
   * them back to the head of the queue with the prefetched ones.
   */
  takeBackKept(): number {
    const kept = this.#leftover.length;
    this.#leftover.length = 0;
    this.#takenNotDone -= Math.min(kept, this.#takenNotDone);
    return kept;
  }

  /**
   * The server lost the queue, and `n` of the items counted stale by
   * `reset` came from the queue set up again (a blocked get moved them
   * there): their taskDones count again.
   */
  restore(n: number): void {
    const k = Math.min(n, this.#staleDone);
    this.#staleDone -= k;
    this.#takenNotDone += k;
  }

  /** This client was reaped: others requeued what it held. */
  reset(): void {
    // items kept for the next get were handed out before: requeued too, so stale here
    this.#leftover.length = 0;
    this.#buffer.clear();
    // the next taskDone calls are for items handed out before: those were requeued
    this.#staleDone += this.#takenNotDone;
    this.#takenNotDone = 0;
    this.#getWindow = 1;
  }

  /** The client is closing: waiting gets reject `reason`. */
  abandon(reason: unknown): void {
    settleAll(this.#getters, reason);
  }

  /** Serves waiting gets from the prefetched items, and fetches while some still wait. */
  pump(): void {
    if (this.#core.closed) {
      // Gets that joined the line once the client was closing (on their way in when it began,
      // the queue's init still in flight): no fetch can come any more.
      settleAll(this.#getters, new LinkClosed("the Redis client is closed"));
      return;
    }
    this.#serve();
    if (this.#getters.length === 0 || this.#fetching !== undefined) return;
    this.#fetching = this.#fetchLoop().catch((error) => settleAll(this.#getters, error))
      .finally(() => {
        this.#fetching = undefined;
        if (this.#getters.length > 0 && !this.#core.closed) this.pump();
      });
  }

  /** Hands the next buffered item to the caller; its slot goes back in the next batch. */
  #take(): T {
    const text = this.#buffer.shift()!;
    this.#takenNotDone++;
    this.#batch.add("r");
    if (this.#hooks.maxWindow > 1 && this.#buffer.length * 2 < this.#getWindow) this.#prefetch();
    // fifo and lifo keep 'v...', a priority queue 'score|seq v...'
    return this.#codec.decode(text.slice(text.indexOf("v") + 1));
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
    if (this.#buffer.length === 0 && this.#hooks.shut() === 2) {
      while (this.#getters.length > 0) settle(this.#getters.shift()!, new QueueShutDown());
    }
  }

  #prefetch(): void {
    if (this.#fetching !== undefined || this.#hooks.shut() > 0 || this.#core.closed) return;
    this.#fetching = this.#fetchOnce().then(() => {}, (error) => {
      this.#batch.fail(error);
    }).finally(() => {
      this.#fetching = undefined;
      if (this.#getters.length > 0 && !this.#core.closed) this.pump();
    });
  }

  /**
   * Fetches up to a window of items. Returns how many came and whether the
   * queue was shut down when the server answered: that answer, not the
   * client's latest news, tells an empty fetch from a drained queue (a
   * shutdown's reply can be read before the fetch's caller resumes, while a
   * put made after the fetch left waits in the list).
   *
   * The server answers a fetch sent again from the items it took (see ONCE
   * in `script.ts`), which needs: one fetch or claim (`W`) in flight at a
   * time (`#fetching`; the claims run inside the fetch loop), and the
   * batched ops sent before each (`hooks.call` sends the batch first).
   */
  async #fetchOnce(): Promise<{ got: number; shut: number }> {
    const want = this.#getWindow;
    let reply = await this.#hooks.call("fetch", want) as (number | string)[];
    if (reply[1] === 1) {
      await this.#hooks.revive();
      reply = await this.#hooks.call("fetch", want) as (number | string)[];
    }
    // [shutdown, reaped, ...items]
    const got = reply.length - 2;
    const shut = Number(reply[0]);
    for (let i = 2; i < reply.length; i++) this.#buffer.push(reply[i] as string);
    if (got === want) this.#getWindow = Math.min(this.#hooks.maxWindow, want * 2);
    this.#hooks.onShut(shut);
    this.#serve();
    return { got, shut };
  }

  /** Makes every item in this client's wait list prefetched (`W -1`), in order. */
  async #claimWaiting(): Promise<void> {
    let reply: (number | string)[];
    try {
      reply = await this.#hooks.call("batch", "W", -1) as (number | string)[];
    } catch (error) {
      // the server lost the queue (StateLost, reported by the queue's next call): the wait list
      // went with it; the get waits on the queue set up again
      if (error instanceof StateLost) return;
      throw error;
    }
    this.#hooks.onBatch(reply as [number, number]);
    // [shutdown, failed, reaped, ...moved]
    for (let i = 3; i < reply.length; i++) this.#buffer.push(reply[i] as string);
    this.#serve();
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
      const wait = `${this.#hooks.base}:wait:${this.#core.id}`;
      const lifo = this.#lifo;
      const { value, lost } = await this.#core.block(
        (redis) =>
          lifo
            ? redis.blmove(items, wait, "RIGHT", "RIGHT", 0)
            : redis.blmove(items, wait, "LEFT", "RIGHT", 0),
        { signal: AbortSignal.any([control.signal, this.#hooks.closing]) },
      );
      this.#getBlock = undefined;
      if (lost) {
        // The move may have run, its reply lost: whatever is in this client's wait list becomes
        // prefetched, and the server says which (a closing client's close gives it back).
        if (!this.#core.closed) await this.#claimWaiting();
      } else if (value === MARK) {
        this.#batch.add("m");
        this.#hooks.onShut(1);
      } else if (value !== null && this.#kind === "pq") {
        // the value is a token: the item is still in the sorted set; claim the smallest
        const reply = await this.#hooks.call("batch", "W", 1) as (number | string)[];
        this.#hooks.onBatch(reply as [number, number]);
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
