/**
 * The producer side of a Redis queue: puts, the slots this client reserves
 * ahead to write them on, puts waiting in this client while the queue
 * is full (and the blocked wait for a slot they share), and the reserved
 * slots given back once the producer goes idle. Internal: `RedisQueue` owns
 * one.
 *
 * @module
 */

import { Deque } from "../_deque.ts";
import type { WaitOptions } from "../_waiters.ts";
import { LinkClosed, QueueFull, QueueShutDown } from "../errors.ts";
import type { Batch } from "./batch.ts";
import type { Codec } from "./codec.ts";
import type { Core, SideHooks } from "./core.ts";
import { MARK } from "./script.ts";
import { makeWaiter, type Putter, resolveWaiter, settle, settleAll } from "./waiters.ts";

/** Unused reserved slots go back after the producer was idle this long. */
const IDLE_MS = 50;

/** What the producer side needs from its queue. */
export interface ProducerHooks extends SideHooks {
  /** Slots reserved at once, at most. */
  readonly maxWindow: number;
  /** Whether the server has answered the queue's `init`. */
  initialized(): boolean;
}

/** The puts of one queue in one client, and the slots it holds for them. */
export class Producer<T> {
  readonly #hooks: ProducerHooks;
  readonly #core: Core;
  readonly #batch: Batch;
  readonly #maxsize: number;
  readonly #codec: Codec<T>;
  readonly #priority: ((item: T) => number) | undefined;
  #reserved = 0;
  readonly #putters = new Deque<Putter>();
  #reserving: Promise<void> | undefined;
  #putWindow = 1;
  #putActivity = 0;
  /**
   * The ways in (`ready` and `check`) of the puts between their call and
   * their place in line (see #put); a closing queue waits for them (see
   * `entering`).
   */
  readonly #entering = new Set<Promise<void>>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The blocked wait for a slot, cancelled when no put waits any more. */
  #putBlock: AbortController | undefined;

  constructor(
    hooks: ProducerHooks,
    maxsize: number,
    codec: Codec<T>,
    priority: ((item: T) => number) | undefined,
  ) {
    this.#hooks = hooks;
    this.#core = hooks.core;
    this.#batch = hooks.batch;
    this.#maxsize = maxsize;
    this.#codec = codec;
    this.#priority = priority;
  }

  /** Slots reserved and not yet used. */
  get reserved(): number {
    return this.#reserved;
  }

  /** Puts waiting in this client for a slot. */
  get waiting(): number {
    return this.#putters.length;
  }

  /** The reservation in flight, if any. */
  get inFlight(): Promise<void> | undefined {
    return this.#reserving;
  }

  /**
   * Settles once every put called so far is past its way in and batched,
   * waiting or rejected: a closing queue waits for this before it sends its
   * last batch, so that a put called before the close is not left out of it.
   * (A put goes on from its way in without another await, before this
   * settles; puts called once the close began reject in `ready`.)
   */
  async entering(): Promise<void> {
    while (this.#entering.size > 0) await Promise.allSettled([...this.#entering]);
  }

  /** `RedisQueue.put`. */
  put(item: T, options?: WaitOptions): Promise<void> {
    return this.#fastPut(item, options === undefined) ?? this.#put(item, options);
  }

  /** `RedisQueue.putNowait`. */
  putNowait(item: T): Promise<void> {
    return this.#fastPut(item, true) ?? this.#put(item, { timeout: 0 });
  }

  /** The common case without a wait: encode, take a reserved slot, batch it. */
  #fastPut(item: T, plain: boolean): Promise<void> | undefined {
    if (
      plain && this.#hooks.initialized() && this.#hooks.shut() === 0 && !this.#core.closed &&
      this.#entering.size === 0 && this.#putters.length === 0 &&
      (this.#maxsize === 0 || this.#reserved > 0)
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
    if (this.#maxsize === 0) {
      this.#batch.add("p", text);
      return;
    }
    this.#reserved--;
    this.#batch.add("p", text);
    this.#reserveAhead();
  }

  async #put(item: T, options?: WaitOptions): Promise<void> {
    // while a put is on its way here, later puts take this path too: they keep their order
    const entering = (async () => {
      await this.#hooks.ready();
      await this.#hooks.check(options, true);
    })();
    this.#entering.add(entering);
    try {
      await entering;
    } finally {
      this.#entering.delete(entering);
    }
    const text = this.#encode(item);
    if (this.#maxsize === 0 || (this.#putters.length === 0 && this.#reserved > 0)) {
      this.#putNow(text);
      return;
    }
    // aborted while it was on its way in: a waiter would never hear of it
    if (options?.signal?.aborted) throw options.signal.reason;
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
      this.pump();
    });
  }

  /** Gives waiting puts the slots reserved, and asks for more while some still wait. */
  pump(): void {
    if (this.#core.closed) {
      // Puts still waiting once the client is closing (on their way in, or left waiting while
      // the close is held up by another primitive): no reservation can come any more (a loop
      // asking for one would end at once and start again, for ever).
      settleAll(this.#putters, new LinkClosed("the Redis client is closed"));
      return;
    }
    while (this.#putters.length > 0 && this.#reserved > 0 && this.#hooks.shut() === 0) {
      const putter = this.#putters.shift()!;
      this.#reserved--;
      this.#batch.add("p", putter.text);
      resolveWaiter(putter, undefined);
    }
    if (this.#hooks.shut() > 0) {
      while (this.#putters.length > 0) settle(this.#putters.shift()!, new QueueShutDown());
      if (this.#reserved > 0 && this.#reserving === undefined) this.#unreserve();
      return;
    }
    if (this.#putters.length > 0 && this.#reserving === undefined) {
      this.#reserving = this.#reserveLoop().catch((error) => settleAll(this.#putters, error))
        .finally(() => {
          this.#reserving = undefined;
          this.pump();
        });
    } else if (this.#putters.length === 0 && this.#reserved > 0 && this.#reserving === undefined) {
      // slots that came for puts which gave up meanwhile: they go back once the producer idles
      this.#armIdle();
    }
  }

  /** The batch was sent: reserved slots left unused go back once the producer is idle. */
  onSent(): void {
    if (this.#reserved > 0 && this.#putters.length === 0) this.#armIdle();
  }

  /**
   * This client was reaped: the server took its reserved slots back. Or the
   * server lost the queue (`lost`): a blocked put waits on slots of a setup
   * that is gone, so its wait ends and it asks the new one again.
   */
  reset(lost = false): void {
    this.#reserved = 0;
    this.#putWindow = 1;
    if (lost) this.#putBlock?.abort();
  }

  /** The client is closing: waiting puts reject `reason`, the idle timer stops. */
  abandon(reason: unknown): void {
    settleAll(this.#putters, reason);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Writes ahead: asks for more slots before the reserved ones run out. */
  #reserveAhead(): void {
    if (this.#reserving !== undefined || this.#hooks.shut() > 0) return;
    if (this.#reserved * 2 >= this.#putWindow) return;
    this.#reserving = this.#reserveOnce().then(() => {}, (error) => {
      this.#batch.fail(error);
    }).finally(() => {
      this.#reserving = undefined;
      this.pump();
    });
  }

  /**
   * Reserves up to the window. With `block`, a reply of 0 slots (a bounded
   * queue, full) also means the server counts this client as blocked on the
   * slots until a batched `u` ends it: the caller blocks or ends it.
   */
  async #reserveOnce(block = false): Promise<number> {
    const want = this.#putWindow;
    const flag = block ? 1 : 0;
    let got = Number(await this.#hooks.call("reserve", want, flag));
    if (got === -2) {
      await this.#hooks.revive();
      got = Number(await this.#hooks.call("reserve", want, flag));
    }
    if (got < 0) {
      this.#hooks.onShut(1);
      return -1;
    }
    this.#reserved += got;
    if (got === want) this.#putWindow = Math.min(this.#hooks.maxWindow, want * 2);
    return got;
  }

  async #reserveLoop(): Promise<void> {
    while (this.#putters.length > 0 && this.#hooks.shut() === 0 && !this.#core.closed) {
      const got = await this.#reserveOnce(true);
      if (got !== 0) {
        if (got > 0) this.#pumpSync();
        if (this.#hooks.shut() > 0) return;
        continue;
      }
      // counted as blocked on the slots: every way out of this wait ends the count once
      try {
        if (this.#hooks.shut() > 0) return;
        while (this.#putters.length > 0 && this.#putters.peekFront()!.nowait) {
          settle(this.#putters.shift()!, new QueueFull());
        }
        if (this.#putters.length === 0) return;
        const control = new AbortController();
        this.#putBlock = control;
        const slots = `${this.#hooks.base}:slots`;
        const resv = `${this.#hooks.base}:resv:${this.#core.id}`;
        const { value, lost } = await this.#core.block(
          (redis) => redis.blmove(slots, resv, "LEFT", "RIGHT", 0),
          { signal: AbortSignal.any([control.signal, this.#hooks.closing]) },
        );
        this.#putBlock = undefined;
        if (lost) {
          // The move may have run, its reply lost: the server says what this client reserved
          // (a closing client's close gives it back).
          if (this.#core.closed) return;
          // puts may take reserved slots meanwhile (their batch goes after this call)
          const known = this.#reserved;
          const [reserved, marked] = await this.#hooks.call("resv") as [number, number];
          this.#reserved += reserved - known;
          if (marked === 1) {
            this.#hooks.onShut(1);
            return;
          }
          this.#pumpSync();
        } else if (value === MARK) {
          this.#batch.add("M");
          this.#hooks.onShut(1);
          return;
        }
        if (value !== null) {
          this.#reserved++;
          this.#pumpSync();
        }
      } finally {
        // a closing client's count goes with its close
        if (!this.#hooks.closing.aborted) this.#batch.add("u");
      }
    }
  }

  /** The assigning half of `pump`, without starting a new loop. */
  #pumpSync(): void {
    while (this.#putters.length > 0 && this.#reserved > 0) {
      const putter = this.#putters.shift()!;
      this.#reserved--;
      this.#batch.add("p", putter.text);
      resolveWaiter(putter, undefined);
    }
  }

  #armIdle(): void {
    // A closing queue arms nothing: abandon() cleared the timer and must leave none behind.
    if (this.#idleTimer !== undefined || this.#hooks.closing.aborted) return;
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
    this.#batch.track(this.#hooks.call("unreserve", count));
  }
}
