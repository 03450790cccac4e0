/**
 * `Queue`: Python's `queue.Queue` for async code. It holds the waiting,
 * counting and shutdown logic of the whole family once; `LifoQueue` and
 * `PriorityQueue` (their own modules) only swap the storage behind its four
 * storage hooks. Published as `@baton/baton/queue` through `queues.ts`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { Deque } from "./_deque.ts";
import { Heap } from "./_heap.ts";
import { checkWaitOptions, describe, WaitList, type WaitOptions } from "./_waiters.ts";
import {
  AccountingError,
  grantQueueAccess,
  type QueueAccess,
  type QueueWait,
  type SlotHold,
  type Taken,
} from "./_queue_access.ts";
import { QueueLedger } from "./_queue_ledger.ts";
import { QueueEmpty, QueueFull, QueueShutDown } from "./errors.ts";
import { inspectView } from "./_inspect.ts";
import { QueueIterator, readableOfQueue } from "./_streams.ts";

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

/** A getter that takes for a holder: the item's slot moves to `hold`. */
interface HeldGet {
  readonly hold: SlotHold;
  /** Set at the hand-off. */
  stamp: number;
}

/** A putter that waits in line for a slot for a holder rather than to store an item. */
class Reservation {
  constructor(readonly hold: SlotHold) {}
}

/** What `waitReserve`/`waitTake` return when they settled at once. */
const SETTLED: QueueWait = { cancel: () => false };

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
  #bound: number;
  /**
   * Slots held for the worker layer (`stored + held <= bound` always holds),
   * items given back to the head, and the worker layer's watchers.
   */
  readonly #ledger = new QueueLedger<T>();
  #unfinished = 0;
  #isShutdown = false;
  #discarding = false;
  #getters: WaitList<T, HeldGet | undefined>;
  #putters: WaitList<void, T | Reservation>;
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
    this.#getters = new WaitList<T, HeldGet | undefined>({
      onTimeout: () => {
        throw this.#isShutdown ? new QueueShutDown() : new QueueEmpty();
      },
    });
    this.#putters = new WaitList<void, T | Reservation>({
      onTimeout: () => {
        // Shutdown rejects every waiting putter at once and no put waits after it, so a putter
        // times out only before a shutdown: the QueueShutDown side is a guard.
        // deno-coverage-ignore
        throw this.#isShutdown ? new QueueShutDown() : new QueueFull();
      },
    });
    this.#joiners = new WaitList<boolean>({ onTimeout: () => false });
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
    return this.#stored();
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
    return this.#stored() === 0;
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
    return this.#putters.size !== 0 || this.#stored() + this.#ledger.held >= this.#bound;
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
    if (this.#putters.size === 0 && this.#stored() + this.#ledger.held < this.#bound) {
      try {
        this.#add(item);
      } catch (error) {
        return rejected(error);
      }
      return Promise.resolve();
    }
    const waiting = this.#putters.wait(options, item) as Promise<void>;
    this.#putterWaits();
    return waiting;
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
    if (this.full()) throw new QueueFull();
    this.#add(item);
  }

  /** Adds an item that has room: to the oldest waiting getter, else to storage. */
  #add(item: T): void {
    const getter = this.#getters.shift();
    if (getter !== undefined) {
      // Waiting getters mean nothing is stored: the item goes straight to the oldest.
      this.#unfinished++;
      const held = getter.data;
      if (held !== undefined) this.#holdTaken(held);
      getter.resolve(item);
      return;
    }
    this.storagePut(item); // may throw (a compare function): nothing counted yet
    this.#unfinished++;
    if (this.#ledger.watchingReady) this.#fireReady();
  }

  /** Calls, once each, the ready watchers, when a `get` would not wait now. */
  #fireReady(): void {
    if (this.#stored() > 0 || this.#drained()) this.#ledger.fireReady();
  }

  /** An item handed to a held getter: its slot moves to the holder, with the next stamp. */
  #holdTaken(held: HeldGet): void {
    this.#hold(held.hold, 1);
    held.stamp = this.#ledger.stamp();
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
    if (options !== undefined) {
      if (this.#drained()) return rejected(new QueueShutDown());
      const error = checkWaitOptions(options);
      if (error !== undefined) return rejected(error);
    }
    if (this.#stored() > 0) {
      let item: T;
      try {
        item = this.#take();
      } catch (error) {
        return rejected(error);
      }
      return Promise.resolve(item);
    }
    if (this.#drained()) return rejected(new QueueShutDown());
    return this.#getters.wait(options, undefined);
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
    if (this.#stored() === 0) throw this.#drained() ? new QueueShutDown() : new QueueEmpty();
    return this.#take();
  }

  /** Items stored: in storage, and given back to the head. */
  #stored(): number {
    const returned = this.#ledger.returned;
    return returned === undefined ? this.storageSize() : this.storageSize() + returned.length;
  }

  /** Removes the next stored item (given-back items first); may throw (a compare function). */
  #takeStored(): T {
    if (this.#ledger.returned !== undefined) return this.#ledger.takeReturned();
    return this.storageGet();
  }

  /** Removes the next stored item for a local getter, freeing its slot. */
  #take(): T {
    const item = this.#takeStored();
    this.#admitPutters();
    return item;
  }

  #admitPutters(): void {
    while (this.#putters.size !== 0 && this.#stored() + this.#ledger.held < this.#bound) {
      const putter = this.#putters.shift()!;
      const data = putter.data;
      if (data instanceof Reservation) {
        this.#hold(data.hold, 1);
        putter.resolve(); // synchronously: the holder knows at once
        continue;
      }
      try {
        // To a waiting getter first: with slots held for items in flight,
        // getters can wait on an empty store while putters wait for room.
        this.#add(data);
      } catch (error) {
        putter.reject(error); // that put fails alone; the next putter may fit
        continue;
      }
      putter.resolve();
    }
    const least = this.#ledger.spaceLeast;
    if (least !== Infinity && this.#bound - this.#stored() - this.#ledger.held >= least) {
      this.#ledger.fireSpace(this.#free, this.#blocked);
    }
  }

  /** Free slots, counting held ones as used. */
  #free = (): number => this.#bound - this.#stored() - this.#ledger.held;
  /** No slot may go to a holder now: shut down, or putters wait for room first. */
  #blocked = (): boolean => this.#isShutdown || this.#putters.size !== 0;

  #putterWaits(): void {
    if (this.#putters.size !== 0) this.#ledger.firePutterWaits();
  }

  /** Serves waiting getters from storage (after items came back to it). */
  #serveGetters(): void {
    while (this.#getters.size !== 0 && this.#stored() > 0) {
      const getter = this.#getters.shift()!;
      // Getters wait only while storage is empty, so what serves them here came
      // back through requeue: the returned list, which no compare function touches.
      const item = this.#takeStored();
      const held = getter.data;
      if (held !== undefined) this.#holdTaken(held);
      getter.resolve(item);
    }
    this.#admitPutters();
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
      let discarded = this.#ledger.dropReturned();
      // Through the hooks, as Python does, so a subclass's own storage empties too.
      while (this.storageSize() > 0) {
        this.storageGet();
        discarded++;
      }
      this.#discard(discarded);
    }
    this.#putters.rejectAll(new QueueShutDown());
    this.#rejectIfDrained();
    this.#ledger.fireShutdown(immediate);
  }

  /**
   * Lowers the unfinished-task count for discarded items. Python's rule: by
   * one per item while above 0, since `taskDone` may already have been
   * called for items still queued.
   */
  #discard(count: number): void {
    this.#unfinished = this.#unfinished > count ? this.#unfinished - count : 0;
    if (this.#unfinished === 0) this.#joiners.resolveAll(true);
  }

  /**
   * The one meaning of "drained": shut down, nothing stored, and no slot
   * held, so no item is on its way in and none can come back.
   */
  #drained(): boolean {
    return this.#isShutdown && this.#stored() === 0 && this.#ledger.held === 0;
  }

  #rejectIfDrained(): void {
    if (!this.#drained()) return;
    this.#getters.rejectAll(new QueueShutDown());
    this.#ledger.fireDrained();
    this.#fireReady();
  }

  // ---- the ledger of held slots ----

  #hold(hold: SlotHold, n: number): void {
    this.#ledger.hold(hold, n);
    // An invariant: every caller checked the room first; this fires only on a bug in baton.
    // deno-coverage-ignore
    if (this.#stored() + this.#ledger.held > this.#bound) {
      throw new AccountingError(
        `${this.#stored()} stored + ${this.#ledger.held} held exceed maxsize ${this.maxsize}`,
      );
    }
  }

  /** Throws when the ledger's invariants do not hold. */
  #check(): void {
    this.#ledger.check();
    // Invariants no public call can break: they fire only on a bug in baton.
    // deno-coverage-ignore
    if (this.#stored() + this.#ledger.held > this.#bound) {
      throw new AccountingError(
        `${this.#stored()} stored + ${this.#ledger.held} held exceed ${this.#bound}`,
      );
    }
    // deno-coverage-ignore
    if (this.#unfinished < 0) throw new AccountingError(`${this.#unfinished} unfinished tasks`);
  }

  #view(): object {
    const watching = this.#ledger.watching();
    return {
      size: this.#stored(),
      maxsize: this.maxsize,
      unfinishedTasks: this.#unfinished,
      waitingGetters: this.#getters.size,
      waitingPutters: this.#putters.size,
      held: this.#ledger.held,
      holds: this.#ledger.holdsView(),
      watchingSpace: watching.space,
      watchingReady: watching.ready,
      joiners: this.#joiners.size,
      isShutdown: this.#isShutdown,
      items: [
        ...(this.#ledger.returned ?? []).map((taken) => taken.item),
        ...storedItems(this, this.#fifo),
      ].slice(0, 10),
    };
  }

  /** The worker layer's door; a pure field, not a static block, so bundlers can drop an unused Queue. */
  static #door = /* @__PURE__ */ grantQueueAccess(<T>(queue: object): QueueAccess<T> => {
    if (!(queue instanceof Queue)) throw new TypeError("not a baton Queue");
    return (queue as Queue<T>).#access();
  });

  #access(): QueueAccess<T> {
    // deno-lint-ignore no-this-alias
    const queue = this;
    return {
      newHold: (label) => this.#ledger.newHold(label),
      dropHold: (hold) => this.#ledger.dropHold(hold),
      free: () => this.#blocked() ? 0 : this.#free(),
      reserve: (hold, max, least) => {
        if (this.#blocked()) return 0;
        const free = this.#free();
        if (free < least || free <= 0) return 0;
        const granted = Math.min(max, free);
        this.#hold(hold, granted);
        return granted;
      },
      waitReserve: (hold, admitted, failed, options) => {
        if (this.#isShutdown) {
          failed(new QueueShutDown());
          return SETTLED;
        }
        if (this.#putters.size === 0 && this.#stored() + this.#ledger.held < this.#bound) {
          this.#hold(hold, 1);
          admitted();
          return SETTLED;
        }
        const waiter = this.#putters.enqueue(options, new Reservation(hold), admitted, failed);
        if (waiter === undefined) return SETTLED;
        this.#putterWaits();
        return { cancel: () => this.#putters.cancel(waiter) };
      },
      putHeld: (hold, items) => {
        this.#ledger.unhold(hold, items.length);
        const refused: unknown[] = [];
        if (!this.#discarding) {
          for (const item of items) {
            try {
              this.#add(item);
            } catch (error) {
              refused.push(error); // storage refused it (a compare function): its slot is free
            }
          }
        }
        // Items handed straight to getters (or refused) left their slots free: the
        // oldest waiting putters may have them.
        this.#admitPutters();
        this.#rejectIfDrained();
        return refused;
      },
      release: (hold, n) => {
        this.#ledger.unhold(hold, n);
        this.#admitPutters();
        this.#rejectIfDrained();
      },
      takeHeld: (hold) => {
        if (this.#stored() === 0) return undefined;
        const item = this.#takeStored();
        const held: HeldGet = { hold, stamp: 0 };
        this.#holdTaken(held);
        return { item, stamp: held.stamp };
      },
      waitTake: (hold, got, failed, options) => {
        if (this.#stored() > 0) {
          let taken: Taken<T>;
          try {
            taken = queue.#access().takeHeld(hold)!;
          } catch (error) {
            failed(error);
            return SETTLED;
          }
          got(taken);
          return SETTLED;
        }
        if (this.#drained()) {
          failed(new QueueShutDown());
          return SETTLED;
        }
        const held: HeldGet = { hold, stamp: 0 };
        const waiter = this.#getters.enqueue(
          options,
          held,
          (item) => got({ item, stamp: held.stamp }),
          failed,
        );
        return waiter === undefined ? SETTLED : { cancel: () => this.#getters.cancel(waiter) };
      },
      requeue: (hold, items) => {
        this.#ledger.unhold(hold, items.length);
        if (this.#discarding) {
          // An immediate shutdown discards what comes back, as it discarded what was queued.
          this.#discard(items.length);
          this.#rejectIfDrained();
          return;
        }
        this.#ledger.giveBack(items);
        this.#serveGetters();
        this.#fireReady(); // what no getter took is stored now
        this.#rejectIfDrained();
      },
      watchSpace: (least, watcher) => this.#ledger.watchSpace(least, watcher),
      watchWaiting: (watcher) => this.#ledger.watchWaiting(watcher),
      watchDrained: (watcher) => {
        if (!this.#drained()) return this.#ledger.watchDrained(watcher);
        watcher();
        return () => {};
      },
      watchReady: (watcher) => {
        if (this.#stored() === 0 && !this.#drained()) return this.#ledger.watchReady(watcher);
        watcher();
        return () => {};
      },
      watchShutdown: (watcher) => this.#ledger.watchShutdown(watcher),
      get discarding() {
        return queue.#discarding;
      },
      get drained() {
        return queue.#drained();
      },
      check: () => this.#check(),
    };
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
   * A `ReadableStream` of the items, as `get()` takes them: it pulls one item
   * per read (nothing is taken ahead of a reader) and closes once the queue
   * is shut down and drained. Cancelling it takes nothing more: a read
   * waiting then gives up, and an item it was handed in that same turn goes
   * back to the head of the queue. Items read are not marked done: call
   * `taskDone` when you use `join`.
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
    return readableOfQueue(this.#access());
  }

  /**
   * A `WritableStream` whose writes are `put()`s: a write waits while the
   * queue is full (backpressure). Closing the stream shuts the queue down
   * (`shutdown()`); aborting it discards what is queued (`shutdown(true)`).
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
    return new WritableStream<T>({
      write: (item) => this.put(item),
      close: () => this.shutdown(),
      abort: () => this.shutdown(true),
    });
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

/**
 * The stored items of the built-in variants, for the inspect view (a
 * subclass with storage of its own shows its size only).
 */
function storedItems<T>(queue: Queue<T>, fifo: Deque<T> | undefined): Iterable<T> {
  // The variants' storage fields are TypeScript-private, read here for the view
  // only, by shape: their modules import this one, so this one cannot import them.
  const variant = queue as unknown as { stack?: unknown; heap?: unknown };
  if (variant.stack instanceof Deque) return [...(variant.stack as Deque<T>)].reverse();
  if (variant.heap instanceof Heap) return variant.heap as Heap<T>;
  return fifo ?? [];
}
