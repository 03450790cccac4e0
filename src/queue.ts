/**
 * `Queue`: Python's `queue.Queue` for async code, the documented face of
 * the whole family. Its waiting, counting and shutdown logic is held once,
 * in its engine (`_queue_engine.ts`), which reaches storage only through the
 * four storage hooks here; `LifoQueue` and `PriorityQueue` (their own
 * modules) only swap the storage behind them. Published as
 * `@baton/baton/queue` through `queues.ts`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { Deque } from "./_deque.ts";
import { Heap } from "./_heap.ts";
import type { WaitOptions } from "./_waiters.ts";
import { grantQueueAccess, type QueueAccess } from "./_queue_access.ts";
import { parseMaxsize, QueueEngine, type Storage } from "./_queue_engine.ts";
import { inspectView } from "./_inspect.ts";
import { QueueIterator, readableOfQueue, writableOf } from "./_streams.ts";

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
export class Queue<T> implements AsyncIterable<T>, Disposable {
  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(this, "Queue", (queue) => queue.#view());
  /** Most items held at once; `<= 0` or `Infinity` means unbounded. */
  readonly maxsize: number;
  /** The waiting, counting and shutdown logic; storage stays behind this class's hooks. */
  readonly #engine: QueueEngine<T>;
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
    // The engine calls the storage hooks on the queue itself: subclasses override them.
    this.#engine = new QueueEngine<T>(this.maxsize, this as unknown as Storage<T>);
    this.storageInit();
  }

  // ---- storage hooks: the variants override these four and nothing else ----

  /**
   * Storage hook (Python's `_init`): sets up the storage. Called once by the
   * constructor; subclasses that override it must not rely on their own fields.
   */
  protected storageInit(): void {
    this.#fifo = new Deque<T>();
  }

  /** Storage hook (Python's `_qsize`): the number of items stored. */
  protected storageSize(): number {
    return this.#fifo!.length;
  }

  /** Storage hook (Python's `_put`): stores one item. May throw; the queue is then unchanged. */
  protected storagePut(item: T): void {
    this.#fifo!.push(item);
  }

  /**
   * Storage hook (Python's `_get`): removes and returns the next item; only
   * called when `storageSize() > 0`. May throw.
   */
  protected storageGet(): T {
    return this.#fifo!.shift() as T;
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
    return this.#engine.stored();
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
    return this.#engine.stored() === 0;
  }

  /**
   * Whether `putNowait` would throw `QueueFull` now: the stored items and
   * the slots held for remote producers and consumers fill `maxsize`, or
   * putters are waiting for room. Always false when unbounded.
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
    return this.#engine.full();
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
    return this.#engine.unfinished;
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
    return this.#engine.isShutdown;
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
    return this.#engine.put(item, options);
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
    this.#engine.putNowait(item);
  }

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
    return this.#engine.get(options);
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
    return this.#engine.getNowait();
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
    this.#engine.taskDone();
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
    return this.#engine.join(options);
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
   * @throws what a storage hook (a `PriorityQueue`'s `compare`) throws while
   *   discarding; the queue is shut down all the same, waiting putters are
   *   released, and the items it could not discard stay queued.
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
    this.#engine.shutdown(immediate);
  }

  // ---- the inspect view and the worker layer's door ----

  #view(): object {
    const view = this.#engine.view();
    // Items given back are served first, then storage: the first ones `get()` would return.
    const returned = (this.#engine.ledger.returned ?? []).map((taken) => taken.item);
    const stored = storedItems(this, this.#fifo, this.storageSize(), VIEW_ITEMS - returned.length);
    // Storage of a subclass's own: its items are unknown here, so the view shows its size only.
    if (stored === undefined) return view;
    return { ...view, items: [...returned, ...stored].slice(0, VIEW_ITEMS) };
  }

  /** The worker layer's door; a pure field, not a static block, so bundlers can drop an unused Queue. */
  static #door = /* @__PURE__ */ grantQueueAccess(<T>(queue: object): QueueAccess<T> => {
    if (!(queue instanceof Queue)) throw new TypeError("not a baton Queue");
    return (queue as Queue<T>).#engine.access();
  });

  // ---- iteration ----

  /**
   * Iterates over items as `get()` would take them, ending once the queue is
   * shut down and drained. Items taken are not marked done: call `taskDone`
   * when you use `join`. Leaving the loop (`break`, or the iterator's
   * `return()`) ends a step still waiting for an item: it takes nothing, and
   * every later step is done.
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
    return new QueueIterator(this, () => this.#engine.access());
  }

  /**
   * A `ReadableStream` of the items, as `get()` takes them: it pulls one item
   * per read (nothing is taken ahead of a reader) and closes once the queue
   * is shut down and drained. Cancelling it takes nothing more: a read
   * waiting then gives up, and an item it was handed in that same turn goes
   * back to the head of the queue. Items read are not marked done: call
   * `taskDone` when you use `join`. A read its reader gives up with
   * `releaseLock()` takes nothing either.
   *
   * @returns The stream.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<string>();
   * queue.putNowait("a");
   * queue.putNowait("b");
   * queue.shutdown();
   * console.log(await Array.fromAsync(queue.toReadableStream())); // ["a", "b"]
   * ```
   */
  toReadableStream(): ReadableStream<T> {
    return readableOfQueue(this.#engine.access());
  }

  /**
   * A `WritableStream` whose writes are `put()`s: a write waits while the
   * queue is full (backpressure). Closing the stream shuts the queue down
   * (`shutdown()`) once the writes before it are in; aborting it discards
   * what is queued (`shutdown(true)`) at once: a write still waiting for
   * room then rejects and adds nothing.
   *
   * @returns The stream.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * const queue = new Queue<number>(10);
   * await ReadableStream.from([1, 2, 3]).pipeTo(queue.toWritableStream());
   * console.log(queue.isShutdown, queue.qsize()); // true 3
   * ```
   */
  toWritableStream(): WritableStream<T> {
    // A write waiting for room gives up on abort(), which would otherwise wait for it (and the
    // shutdown(true) that ends it) for good; see writableOf.
    return writableOf<T>((item) => this.put(item), (immediate) => this.shutdown(immediate));
  }

  /**
   * Shuts the queue down (`shutdown()`), for `using queue = new Queue()`.
   *
   * @example
   * ```ts
   * import { Queue } from "@baton/baton";
   *
   * let kept: Queue<number>;
   * {
   *   using queue = new Queue<number>();
   *   kept = queue;
   * }
   * console.log(kept.isShutdown); // true
   * ```
   */
  [Symbol.dispose](): void {
    this.shutdown();
  }
}

/** How many items the inspect view lists, the first ones `get()` would return. */
const VIEW_ITEMS = 10;

/**
 * The stored items of the built-in variants, for the inspect view, in the
 * order `get()` takes them (of a heap, the first `limit` only); `undefined`
 * for a subclass with storage of its own (the built-in storage is missing,
 * or does not hold the `size` items its hooks report), and for a heap whose
 * `compare` throws now.
 */
function storedItems<T>(
  queue: Queue<T>,
  fifo: Deque<T> | undefined,
  size: number,
  limit: number,
): Iterable<T> | undefined {
  // The variants' storage fields are TypeScript-private, read here for the view
  // only, by shape: their modules import this one, so this one cannot import them.
  const variant = queue as unknown as { stack?: unknown; heap?: unknown };
  if (variant.stack instanceof Deque) {
    const stack = variant.stack as Deque<T>;
    return stack.length === size ? [...stack].reverse() : undefined;
  }
  if (variant.heap instanceof Heap) {
    const heap = variant.heap as Heap<T>;
    if (heap.length !== size) return undefined;
    // In the order get() pops them, not the heap's array order; a view must not throw, so a
    // compare that throws now leaves the view with the size only.
    try {
      return heap.firstInOrder(limit);
    } catch {
      return undefined;
    }
  }
  return fifo !== undefined && fifo.length === size ? fifo : undefined;
}
