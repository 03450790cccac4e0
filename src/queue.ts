/**
 * `Queue`, `LifoQueue` and `PriorityQueue`: Python's `queue` module for async
 * code, with `maxsize` backpressure, timeouts and `AbortSignal` on every wait,
 * first-come-first-served waiters, `taskDone`/`join` and `shutdown`.
 *
 * One class holds the waiting, counting and shutdown logic; the variants only
 * swap the storage behind four small hooks (`_qsize`, `_put`, `_get`,
 * `_putFront`), as in Python's `Lib/queue.py`.
 *
 * This module is browser compatible.
 *
 * @example A producer, a consumer and a clean stop
 * ```ts
 * import { Queue } from "@baton/baton/queue";
 *
 * const queue = new Queue<number>(2);
 * const consumer = (async () => {
 *   const seen: number[] = [];
 *   for await (const item of queue) seen.push(item); // ends after shutdown, once drained
 *   return seen;
 * })();
 * for (let i = 0; i < 5; i++) await queue.put(i); // waits while 2 items are queued
 * queue.shutdown();
 * console.log(await consumer); // [0, 1, 2, 3, 4]
 * ```
 *
 * @module
 */

import { Deque } from "./_deque.ts";
import { type Compare, Heap } from "./_heap.ts";
import { checkWaitOptions, describe, WaitList, type WaitOptions } from "./_waiters.ts";
import { QueueEmpty, QueueFull, QueueShutDown } from "./errors.ts";

export type { WaitOptions } from "./_waiters.ts";
export { QueueEmpty, QueueFull, QueueShutDown } from "./errors.ts";

/**
 * Options of the queue constructors.
 *
 * @example
 * ```ts
 * import { Queue, type QueueOptions } from "@baton/baton/queue";
 *
 * const options: QueueOptions = { maxsize: 100 };
 * console.log(new Queue<string>(options).maxsize); // 100
 * ```
 */
export interface QueueOptions {
  /** Most items the queue holds; `<= 0`, `Infinity` or omitted: unbounded. */
  maxsize?: number;
}

/**
 * Options of `PriorityQueue`.
 *
 * @example
 * ```ts
 * import { PriorityQueue, type PriorityQueueOptions } from "@baton/baton/queue";
 *
 * type Job = { priority: number; name: string };
 * const options: PriorityQueueOptions<Job> = { maxsize: 10, compare: (a, b) => a.priority - b.priority };
 * const jobs = new PriorityQueue<Job>(options);
 * jobs.putNowait({ priority: 2, name: "later" });
 * jobs.putNowait({ priority: 1, name: "first" });
 * console.log(jobs.getNowait().name); // "first"
 * ```
 */
export interface PriorityQueueOptions<T> extends QueueOptions {
  /**
   * Orders items: negative when `a` comes first. Defaults to
   * {@linkcode defaultCompare}.
   */
  compare?: (a: T, b: T) => number;
}

function parseMaxsize(options: unknown): number {
  const maxsize = typeof options === "object" && options !== null
    ? (options as QueueOptions).maxsize
    : options;
  if (maxsize === undefined) return 0;
  if (typeof maxsize !== "number") {
    throw new TypeError(`maxsize must be a number, received ${describe(maxsize)}`);
  }
  if (maxsize !== Infinity && !Number.isInteger(maxsize)) {
    throw new RangeError(`maxsize must be an integer or Infinity, received ${maxsize}`);
  }
  return maxsize;
}

/** A rejected promise for errors that must not throw synchronously from an async method. */
function rejected<T>(error: unknown): Promise<T> {
  return Promise.reject(error);
}

const CUSTOM_INSPECT = Symbol.for("Deno.customInspect");

/**
 * Marks a putter that waits for a reserved slot rather than to store an item;
 * `admitted` is called the moment the slot is reserved for it, in line.
 */
class Reservation {
  constructor(readonly admitted: (() => void) | undefined) {}
}

/**
 * A first-in, first-out queue (Python's `queue.Queue`) for async tasks.
 *
 * - `put` waits while the queue is full, `get` while it is empty; both take
 *   `{ timeout, signal }` and serve waiters first come, first served.
 * - A cancelled wait never loses, duplicates or reorders an item.
 * - `taskDone`/`join` track items put and not yet marked done.
 * - `shutdown()` stops puts and lets getters drain; `shutdown(true)`
 *   discards what is left.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 *
 * const queue = new Queue<string>({ maxsize: 10 });
 * await queue.put("a");
 * queue.putNowait("b");
 * console.log(await queue.get(), queue.getNowait()); // "a" "b"
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  /** Most items held at once; `<= 0` or `Infinity` means unbounded. */
  readonly maxsize: number;
  #bound: number;
  /** Slots promised to items still on their way (the worker adapters' put credits). */
  #reserved = 0;
  #unfinished = 0;
  #isShutdown = false;
  #discarding = false;
  #shutdownWatchers: Set<(immediate: boolean) => void> | undefined;
  /** One-shot callbacks waiting for free slots (the worker adapters' credit top-ups). */
  #spaceWatchers: Map<() => void, number> | undefined;
  /** The fewest free slots any space watcher waits for (`Infinity` when none does). */
  #spaceLeast = Infinity;
  #getters: WaitList<T, boolean>;
  #putters: WaitList<void, T>;
  #joiners: WaitList<boolean, undefined>;
  #fifo: Deque<T> | undefined;

  /**
   * Makes a queue.
   *
   * @param options `maxsize` as a number or in an options object; `<= 0`,
   *   `Infinity` or omitted: unbounded.
   * @throws {RangeError} when `maxsize` is not an integer (nor `Infinity`).
   * @throws {TypeError} when `maxsize` is not a number.
   */
  constructor(options?: number | QueueOptions) {
    this.maxsize = parseMaxsize(options);
    this.#bound = this.maxsize > 0 ? this.maxsize : Infinity;
    this.#getters = new WaitList<T, boolean>({
      onTimeout: () => {
        throw this.#isShutdown ? new QueueShutDown() : new QueueEmpty();
      },
    });
    this.#putters = new WaitList<void, T>({
      onTimeout: () => {
        throw this.#isShutdown ? new QueueShutDown() : new QueueFull();
      },
    });
    this.#joiners = new WaitList<boolean>({ onTimeout: () => false });
    this._init();
  }

  // ---- storage hooks: the variants override these and nothing else ----

  /**
   * Storage hook: sets up the storage. Called once by the constructor;
   * subclasses that override it must not rely on their own fields.
   */
  protected _init(): void {
    this.#fifo = new Deque<T>();
  }

  /** Storage hook: the number of items stored. */
  protected _qsize(): number {
    return this.#fifo!.length;
  }

  /** Storage hook: stores one item. May throw; the queue is then unchanged. */
  protected _put(item: T): void {
    this.#fifo!.push(item);
  }

  /** Storage hook: removes and returns the next item; only called when `_qsize() > 0`. May throw. */
  protected _get(): T {
    return this.#fifo!.shift() as T;
  }

  /** Storage hook: puts an item back so that it is the next one `_get` returns. */
  protected _putFront(item: T): void {
    this.#fifo!.unshift(item);
  }

  /** Storage hook: removes every item, returning how many there were. */
  protected _clear(): number {
    const count = this.#fifo!.length;
    this.#fifo!.clear();
    return count;
  }

  /** Storage hook: the stored items, next first where the storage knows the order. */
  protected _items(): Iterable<T> {
    return this.#fifo!;
  }

  // ---- sizes ----

  /**
   * The number of items queued (exact: one thread).
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(1);
   * console.log(queue.qsize()); // 1
   * ```
   */
  qsize(): number {
    return this._qsize();
  }

  /**
   * Whether no item is queued.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * console.log(new Queue<number>().empty()); // true
   * ```
   */
  empty(): boolean {
    return this._qsize() === 0;
  }

  /**
   * Whether the queue holds `maxsize` items; always false when unbounded.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>(1);
   * queue.putNowait(1);
   * console.log(queue.full()); // true
   * ```
   */
  full(): boolean {
    return this._qsize() + this.#reserved >= this.#bound;
  }

  /**
   * The number of items put and not yet marked done with `taskDone`.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(1);
   * queue.getNowait();
   * console.log(queue.unfinishedTasks); // 1: taken, not yet done
   * ```
   */
  get unfinishedTasks(): number {
    return this.#unfinished;
  }

  /**
   * True once `shutdown` was called.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * queue.shutdown();
   * console.log(queue.isShutdown); // true
   * ```
   */
  get isShutdown(): boolean {
    return this.#isShutdown;
  }

  // ---- put ----

  /**
   * Puts an item, waiting while the queue is full. Hands the item straight
   * to the oldest waiting `get` when there is one.
   *
   * @param item The item.
   * @param options `timeout` in ms (0: do not wait) and `signal`.
   * @returns A promise that resolves once the item is queued or handed over.
   * @throws {QueueShutDown} after `shutdown`, also for a waiting `put`.
   * @throws {QueueFull} when the timeout ran out first; nothing was queued.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Queue, QueueFull } from "@baton/baton";
   * import { assertRejects } from "@std/assert";
   *
   * const queue = new Queue<number>(1);
   * await queue.put(1);
   * await assertRejects(() => queue.put(2, { timeout: 10 }), QueueFull);
   * ```
   */
  put(item: T, options?: WaitOptions): Promise<void> {
    if (this.#isShutdown) return rejected(new QueueShutDown());
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return rejected(error);
    }
    if (this.#putters.size === 0 && this._qsize() + this.#reserved < this.#bound) {
      try {
        this.#add(item);
      } catch (error) {
        return rejected(error);
      }
      return Promise.resolve();
    }
    return this.#putters.wait(options, item);
  }

  /**
   * Puts an item without waiting.
   *
   * @param item The item.
   * @throws {QueueShutDown} after `shutdown` (wins over `QueueFull`).
   * @throws {QueueFull} when the queue is full.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<string>();
   * queue.putNowait("job");
   * console.log(queue.qsize()); // 1
   * ```
   */
  putNowait(item: T): void {
    if (this.#isShutdown) throw new QueueShutDown();
    if (this.#putters.size !== 0 || this._qsize() + this.#reserved >= this.#bound) {
      throw new QueueFull();
    }
    this.#add(item);
  }

  /** Adds an item that has room: to a waiting getter, else to storage. */
  #add(item: T): void {
    const getter = this.#getters.shift();
    if (getter !== undefined) {
      // Waiting getters mean an empty store: the item goes straight to the oldest.
      this.#unfinished++;
      if (getter.data) this.#reserved++; // a held get keeps the item's slot
      getter.resolve(item);
      return;
    }
    this._put(item); // may throw (a compare function): nothing counted yet
    this.#unfinished++;
  }

  // ---- get ----

  /**
   * Takes the next item, waiting while the queue is empty.
   *
   * @param options `timeout` in ms (0: do not wait) and `signal`.
   * @returns The item.
   * @throws {QueueShutDown} once shut down and empty, also for a waiting `get`.
   * @throws {QueueEmpty} when the timeout ran out first.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * setTimeout(() => queue.putNowait(42), 10);
   * console.log(await queue.get({ timeout: 1000 })); // 42
   * ```
   */
  get(options?: WaitOptions): Promise<T> {
    if (options !== undefined) {
      if (this.#drained()) return rejected(new QueueShutDown());
      const error = checkWaitOptions(options);
      if (error !== undefined) return rejected(error);
    }
    if (this._qsize() > 0) {
      let item: T;
      try {
        item = this.#take();
      } catch (error) {
        return rejected(error);
      }
      return Promise.resolve(item);
    }
    if (this.#drained()) return rejected(new QueueShutDown());
    return this.#getters.wait(options, false);
  }

  /**
   * Takes the next item without waiting.
   *
   * @returns The item.
   * @throws {QueueShutDown} when shut down and empty.
   * @throws {QueueEmpty} when empty.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(7);
   * console.log(queue.getNowait()); // 7
   * ```
   */
  getNowait(): T {
    if (this._qsize() === 0) throw this.#isShutdown ? new QueueShutDown() : new QueueEmpty();
    return this.#take();
  }

  /** Removes the next stored item and lets the oldest waiting putters in. */
  #take(): T {
    const item = this._get();
    this.#admitPutters();
    return item;
  }

  #admitPutters(): void {
    while (this.#putters.size !== 0 && this._qsize() + this.#reserved < this.#bound) {
      const putter = this.#putters.shift()!;
      if (putter.data instanceof Reservation) {
        this.#reserved++;
        putter.data.admitted?.();
        putter.resolve();
        continue;
      }
      try {
        // To a waiting getter first: with slots reserved for items in flight,
        // getters can wait on an empty store while putters wait for room, and an
        // item stored past them would be overtaken by the next put.
        this.#add(putter.data);
      } catch (error) {
        putter.reject(error); // that put fails alone; the next putter may fit
        continue;
      }
      putter.resolve();
    }
    if (
      this.#spaceLeast !== Infinity &&
      this.#bound - this._qsize() - this.#reserved >= this.#spaceLeast
    ) {
      this.#fireSpace();
    }
  }

  /** Calls, once each, the space watchers whose number of slots is free now. */
  #fireSpace(): void {
    const watchers = this.#spaceWatchers!;
    try {
      for (const [watcher, least] of watchers) {
        if (this.#isShutdown || this.#putters.size !== 0) break;
        if (this.#bound - this._qsize() - this.#reserved < least) continue;
        watchers.delete(watcher);
        watcher(); // must not throw: it runs inside the get that freed the slots
      }
    } finally {
      this.#spaceLeast = Infinity;
      for (const least of watchers.values()) this.#spaceLeast = Math.min(this.#spaceLeast, least);
    }
  }

  // ---- tasks ----

  /**
   * Marks one item taken from the queue as done.
   *
   * @throws {RangeError} when called more times than items were put; the
   *   count is left unchanged.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<string>();
   * queue.putNowait("job");
   * queue.getNowait();
   * queue.taskDone();
   * console.log(await queue.join()); // true
   * ```
   */
  taskDone(): void {
    if (this.#unfinished <= 0) {
      throw new RangeError("taskDone() called more times than items were put");
    }
    this.#unfinished--;
    if (this.#unfinished === 0) this.#joiners.resolveAll(true);
  }

  /**
   * Waits until every item put has been marked done (at once when none is
   * pending).
   *
   * @param options `timeout` in ms and `signal`.
   * @returns `true` when all tasks are done, `false` when the timeout ran out.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(1);
   * console.log(await queue.join({ timeout: 0 })); // false: one task open
   * ```
   */
  join(options?: WaitOptions): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) return rejected(error);
    if (this.#unfinished === 0) return Promise.resolve(true);
    return this.#joiners.wait(options, undefined);
  }

  // ---- shutdown ----

  /**
   * Shuts the queue down. Afterwards `put` and `putNowait` fail with
   * `QueueShutDown`, and so do waiting putters; `get` returns the items left,
   * then fails with `QueueShutDown`, as do waiting getters. With
   * `immediate`, the items left are discarded and the unfinished-task count
   * is lowered by their number (never below 0), releasing `join` once the
   * items already taken are marked done. Calling it again is harmless;
   * `shutdown(true)` after `shutdown()` still discards.
   *
   * @param immediate Discard the items still queued.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(1);
   * queue.shutdown();
   * console.log(queue.getNowait()); // 1: still drained after a soft shutdown
   * ```
   */
  shutdown(immediate = false): void {
    this.#isShutdown = true;
    if (immediate) {
      this.#discarding = true;
      const discarded = this._clear();
      this.#unfinished = Math.max(0, this.#unfinished - discarded);
      if (this.#unfinished === 0) this.#joiners.resolveAll(true);
    }
    this.#putters.rejectAll(new QueueShutDown());
    if (this.#drained()) this.#getters.rejectAll(new QueueShutDown());
    if (this.#shutdownWatchers !== undefined) {
      for (const watcher of [...this.#shutdownWatchers]) watcher(immediate);
    }
  }

  /**
   * Calls `watcher` after every `shutdown` call (the worker adapters tell
   * remote proxies). Returns the function that stops watching.
   */
  protected _watchShutdown(watcher: (immediate: boolean) => void): () => void {
    this.#shutdownWatchers ??= new Set();
    this.#shutdownWatchers.add(watcher);
    return () => this.#shutdownWatchers?.delete(watcher);
  }

  /** Shut down, empty, and no promised item still on its way. */
  #drained(): boolean {
    return this.#isShutdown && this._qsize() === 0 && this.#reserved === 0;
  }

  // ---- reservations: the worker adapters' put credits ----

  /**
   * Reserves up to `max` free slots for items that will arrive later through
   * `_putReserved`, when no putter waits (they come first) and at least
   * `least` slots are free. Returns how many were reserved. Reserved slots
   * count towards `full()`.
   */
  protected _reserve(max: number, least = 1): number {
    if (this.#isShutdown || this.#putters.size !== 0) return 0;
    const free = this.#bound - this._qsize() - this.#reserved;
    if (free < least) return 0;
    const granted = Math.max(0, Math.min(max, free));
    this.#reserved += granted;
    return granted;
  }

  /** Free slots a reservation could take now: 0 while shut down or putters wait. */
  protected _free(): number {
    if (this.#isShutdown || this.#putters.size !== 0) return 0;
    return Math.max(0, this.#bound - this._qsize() - this.#reserved);
  }

  /**
   * Waits in line with the putters until one slot is free and reserves it.
   * Rejects like `put`: `QueueShutDown`, `QueueFull` on timeout, the
   * signal's reason on abort. `admitted` is called synchronously when the
   * slot is reserved (where a waiting put would be admitted), before the
   * promise settles: a shutdown in the same turn comes after it.
   */
  protected _waitReserve(options?: WaitOptions, admitted?: () => void): Promise<void> {
    if (this.#isShutdown) return rejected(new QueueShutDown());
    if (this._reserve(1) === 1) {
      admitted?.();
      return Promise.resolve();
    }
    return this.#putters.wait(options, new Reservation(admitted) as T);
  }

  /**
   * Takes the next item but keeps its slot reserved until `_unreserve` (the
   * item was handed to its user) or `_requeue` (it came back): items
   * prefetched for a worker still count towards `maxsize`.
   *
   * @throws {QueueShutDown} when shut down and drained; {QueueEmpty} when empty.
   */
  protected _takeHeld(): T {
    if (this._qsize() === 0) throw this.#drained() ? new QueueShutDown() : new QueueEmpty();
    const item = this._get();
    this.#reserved++;
    return item;
  }

  /** Like `get`, but the item keeps its slot as with `_takeHeld`. */
  protected _getHeld(options?: WaitOptions): Promise<T> {
    if (this._qsize() > 0) {
      try {
        return Promise.resolve(this._takeHeld());
      } catch (error) {
        return rejected(error);
      }
    }
    if (this.#drained()) return rejected(new QueueShutDown());
    return this.#getters.wait(options, true);
  }

  /**
   * Calls `watcher` once, the first time at least `least` slots are free
   * while no putter waits (checked whenever slots are freed), unless the
   * returned function is called first. Watchers are called in the order
   * they started watching, synchronously inside the call that freed the
   * slots, so a watcher must not throw. A worker adapter uses it to grant put credits as
   * soon as a batch of them is free, not only when its producer asks.
   */
  protected _watchSpace(least: number, watcher: () => void): () => void {
    this.#spaceWatchers ??= new Map();
    this.#spaceWatchers.set(watcher, least);
    this.#spaceLeast = Math.min(this.#spaceLeast, least);
    return () => {
      // A stale minimum only costs one look at the watchers.
      this.#spaceWatchers?.delete(watcher);
    };
  }

  /** Gives back `n` reserved slots that will not be used. */
  protected _unreserve(n: number): void {
    this.#reserved = Math.max(0, this.#reserved - n);
    this.#admitPutters();
    if (this.#drained()) this.#getters.rejectAll(new QueueShutDown());
  }

  /**
   * Adds an item into a reserved slot: to the oldest waiting getter, else to
   * storage. After `shutdown(true)` the item is discarded instead. Throws
   * only when storage throws (a `PriorityQueue` compare); the slot is then
   * given back.
   */
  protected _putReserved(item: T): void {
    this.#reserved = Math.max(0, this.#reserved - 1);
    if (this.#discarding) {
      if (this.#drained()) this.#getters.rejectAll(new QueueShutDown());
      return;
    }
    try {
      this.#add(item);
    } finally {
      // Handed straight to a getter (or refused by storage), the item left its
      // slot free: the oldest waiting putter may have it.
      this.#admitPutters();
      if (this.#drained()) this.#getters.rejectAll(new QueueShutDown());
    }
  }

  // ---- iteration ----

  /**
   * Iterates over items as `get()` would take them, ending once the queue is
   * shut down and drained. Items taken are not marked done: call `taskDone`
   * when you use `join`.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>();
   * queue.putNowait(1);
   * queue.putNowait(2);
   * queue.shutdown();
   * for await (const item of queue) console.log(item); // 1, then 2
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return new QueueIterator(this);
  }

  /**
   * Returns items taken from a queue but not handed to their user back to
   * the head of the queue, in order, as if they had never been taken. Used
   * by the worker adapters for prefetched items; the unfinished-task count
   * is unchanged (the items were counted when they were put).
   */
  protected _requeue(items: readonly T[]): void {
    this.#reserved = Math.max(0, this.#reserved - items.length);
    if (this.#discarding) {
      // An immediate shutdown discards what comes back, as it discarded what was queued.
      this.#unfinished = Math.max(0, this.#unfinished - items.length);
      if (this.#unfinished === 0) this.#joiners.resolveAll(true);
      if (this.#drained()) this.#getters.rejectAll(new QueueShutDown());
      return;
    }
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i] as T;
      const getter = this.#getters.shift();
      if (getter === undefined) this._putFront(item);
      else {
        if (getter.data) this.#reserved++;
        getter.resolve(item);
      }
    }
    this.#admitPutters();
    // Shut down while these were out: handed to getters, they may leave it drained.
    if (this.#drained()) this.#getters.rejectAll(new QueueShutDown());
  }

  /**
   * A readable view for `console.log` and `Deno.inspect`.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>(4);
   * queue.putNowait(1);
   * console.log(Deno.inspect(queue)); // Queue { size: 1, maxsize: 4, ... }
   * ```
   */
  [CUSTOM_INSPECT](
    inspect: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    const state = {
      size: this._qsize(),
      maxsize: this.maxsize,
      unfinishedTasks: this.#unfinished,
      waitingGetters: this.#getters.size,
      waitingPutters: this.#putters.size,
      reserved: this.#reserved,
      watchingSpace: this.#spaceWatchers?.size ?? 0,
      joiners: this.#joiners.size,
      isShutdown: this.#isShutdown,
      items: [...this._items()].slice(0, 10),
    };
    return `${this.constructor.name} ${inspect(state, options)}`;
  }
}

/** The queue iterator: a plain object, not an async generator, so each step costs one `get`. */
class QueueIterator<T> implements AsyncIterator<T> {
  #queue: Queue<T>;
  constructor(queue: Queue<T>) {
    this.#queue = queue;
  }
  next(): Promise<IteratorResult<T>> {
    const queue = this.#queue;
    if (!queue.empty()) {
      return Promise.resolve({ value: queue.getNowait(), done: false });
    }
    return queue.get().then(wrapItem<T>, endOnShutdown<T>);
  }
  return(): Promise<IteratorResult<T>> {
    return Promise.resolve({ value: undefined, done: true });
  }
}

function wrapItem<T>(value: T): IteratorResult<T> {
  return { value, done: false };
}

function endOnShutdown<T>(error: unknown): IteratorResult<T> {
  if (error instanceof QueueShutDown) return { value: undefined, done: true };
  throw error;
}

/**
 * A last-in, first-out queue (Python's `queue.LifoQueue`): the item put last
 * is taken first. Everything else is as in {@linkcode Queue}.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { LifoQueue } from "@baton/baton";
 *
 * const stack = new LifoQueue<number>();
 * stack.putNowait(1);
 * stack.putNowait(2);
 * console.log(stack.getNowait()); // 2
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  // Set by _init, which the base constructor calls before field initialisers
  // of this class would run: no initialiser here.
  declare private stack: Deque<T>;

  /**
   * Makes a LIFO queue.
   *
   * @param options `maxsize` as a number or in an options object.
   * @throws {RangeError} when `maxsize` is not an integer (nor `Infinity`).
   */
  constructor(options?: number | QueueOptions) {
    super(options);
  }

  /** Storage hook: a stack. */
  protected override _init(): void {
    this.stack = new Deque<T>();
  }
  /** Storage hook: the number of items stored. */
  protected override _qsize(): number {
    return this.stack.length;
  }
  /** Storage hook: pushes an item. */
  protected override _put(item: T): void {
    this.stack.push(item);
  }
  /** Storage hook: pops the newest item. */
  protected override _get(): T {
    return this.stack.pop() as T;
  }
  /** Storage hook: puts an item back on top. */
  protected override _putFront(item: T): void {
    this.stack.push(item);
  }
  /** Storage hook: removes every item. */
  protected override _clear(): number {
    const count = this.stack.length;
    this.stack.clear();
    return count;
  }
  /** Storage hook: the items, the next one first. */
  protected override _items(): Iterable<T> {
    return [...this.stack].reverse();
  }
}

/**
 * The default order of {@linkcode PriorityQueue}: numbers and bigints by
 * value, strings by code unit, booleans false first, arrays element by
 * element and then by length (like Python tuples, so `[priority, item]`
 * works). Anything else, or two values of kinds that do not compare (a
 * string against a number), throws `TypeError`.
 *
 * @param a An item.
 * @param b Another item.
 * @returns Negative when `a` comes first, positive when `b` does, 0 when equal.
 * @throws {TypeError} for values it cannot order.
 *
 * @example
 * ```ts
 * import { defaultCompare } from "@baton/baton";
 *
 * console.log(defaultCompare([1, "b"], [1, "c"]) < 0); // true
 * ```
 */
export function defaultCompare(a: unknown, b: unknown): number {
  const kindA = typeof a;
  const kindB = typeof b;
  if ((kindA === "number" || kindA === "bigint") && (kindB === "number" || kindB === "bigint")) {
    if (Number.isNaN(a) || Number.isNaN(b)) {
      throw new TypeError("cannot order NaN in a PriorityQueue");
    }
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (kindA === "string" && kindB === "string") {
    return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  }
  if (kindA === "boolean" && kindB === "boolean") return Number(a) - Number(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.min(a.length, b.length);
    for (let i = 0; i < length; i++) {
      const order = defaultCompare(a[i], b[i]);
      if (order !== 0) return order;
    }
    return a.length - b.length;
  }
  throw new TypeError(
    `cannot order ${describe(a)} against ${describe(b)}: give the PriorityQueue a compare function`,
  );
}

/**
 * A priority queue (Python's `queue.PriorityQueue`): the smallest item by
 * `compare` comes first; equal items come out in the order they were put.
 * When `compare` throws, that `put` or `get` throws and the queue is
 * unchanged. Everything else is as in {@linkcode Queue}.
 *
 * @typeParam T The type of the items.
 *
 * @example Python-style `[priority, item]` pairs
 * ```ts
 * import { PriorityQueue } from "@baton/baton";
 *
 * const queue = new PriorityQueue<[number, string]>();
 * queue.putNowait([2, "write docs"]);
 * queue.putNowait([1, "fix bug"]);
 * queue.putNowait([2, "review"]);
 * console.log(queue.getNowait()); // [1, "fix bug"]
 * console.log(queue.getNowait()); // [2, "review"]: a tie compares the next element, as in tuples
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  declare private heap: Heap<T>;

  /**
   * Makes a priority queue.
   *
   * @param options `maxsize` as a number, or an object with `maxsize` and `compare`.
   * @throws {RangeError} when `maxsize` is not an integer (nor `Infinity`).
   * @throws {TypeError} when `compare` is not a function.
   */
  constructor(options?: number | PriorityQueueOptions<T>) {
    const compare = typeof options === "object" && options !== null ? options.compare : undefined;
    if (compare !== undefined && typeof compare !== "function") {
      throw new TypeError(`compare must be a function, received ${describe(compare)}`);
    }
    super(options);
    this.heap = new Heap<T>(compare ?? (defaultCompare as Compare<T>));
  }

  /** Storage hook: the heap is made by the constructor, which knows `compare`. */
  protected override _init(): void {}
  /** Storage hook: the number of items stored. */
  protected override _qsize(): number {
    return this.heap.length;
  }
  /** Storage hook: pushes onto the heap. */
  protected override _put(item: T): void {
    this.heap.push(item);
  }
  /** Storage hook: pops the smallest item. */
  protected override _get(): T {
    return this.heap.pop() as T;
  }
  /** Storage hook: puts an item back ahead of the items equal to it. */
  protected override _putFront(item: T): void {
    this.heap.pushFront(item);
  }
  /** Storage hook: removes every item. */
  protected override _clear(): number {
    const count = this.heap.length;
    this.heap.clear();
    return count;
  }
  /** Storage hook: the items in heap order. */
  protected override _items(): Iterable<T> {
    return this.heap;
  }
}
