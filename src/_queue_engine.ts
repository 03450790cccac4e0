/**
 * The engine of `Queue`: its waiting, counting and shutdown logic, the
 * bound checks of the ledger of held slots, and the door the worker layer
 * opens (`_queue_access.ts`). `Queue` (`queue.ts`) is its documented face
 * and keeps the storage behind four hooks; the engine reaches storage only
 * through them. Internal.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { checkWaitOptions, describe, WaitList, type WaitOptions } from "./_waiters.ts";
import {
  AccountingError,
  discards,
  publicPuts,
  type QueueAccess,
  type QueueWait,
  type SlotHold,
  type Taken,
} from "./_queue_access.ts";
import { QueueLedger } from "./_queue_ledger.ts";
import { QueueEmpty, QueueFull, QueueShutDown } from "./errors.ts";

/**
 * The storage hooks of a queue: `Queue`'s protected methods, called on the
 * queue itself (a direct method call, as before the engine was split off).
 */
export interface Storage<T> {
  storageSize(): number;
  storagePut(item: T): void;
  storageGet(): T;
}

/** `maxsize` from a number or an options object. */
export function parseMaxsize(options: unknown): number {
  const maxsize = typeof options === "object" && options !== null
    ? (options as { maxsize?: unknown }).maxsize
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

/** One queue's state and logic; see the module doc. */
export class QueueEngine<T> {
  readonly #storage: Storage<T>;
  readonly #maxsize: number;
  readonly #bound: number;
  /**
   * Slots held for the worker layer (`stored + held <= bound` always holds),
   * items given back to the head, and the worker layer's watchers.
   */
  readonly ledger: QueueLedger<T> = new QueueLedger<T>();
  #unfinished = 0;
  #isShutdown = false;
  #discarding = false;
  readonly #getters: WaitList<T, HeldGet | undefined>;
  readonly #putters: WaitList<void, T | Reservation>;
  readonly #joiners: WaitList<boolean, undefined>;

  constructor(maxsize: number, storage: Storage<T>) {
    this.#storage = storage;
    this.#maxsize = maxsize;
    this.#bound = maxsize > 0 ? maxsize : Infinity;
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
  }

  // ---- sizes ----

  /** Items stored: in storage, and given back to the head. */
  stored(): number {
    const returned = this.ledger.returned;
    const size = this.#storage.storageSize();
    return returned === undefined ? size : size + returned.length;
  }

  full(): boolean {
    return this.#putters.size !== 0 || this.stored() + this.ledger.held >= this.#bound;
  }

  get unfinished(): number {
    return this.#unfinished;
  }

  get isShutdown(): boolean {
    return this.#isShutdown;
  }

  // ---- put ----

  put(item: T, options?: WaitOptions): Promise<void> {
    publicPuts.watch?.(item);
    if (this.#isShutdown) return rejected(new QueueShutDown());
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return rejected(error);
    }
    if (this.#putters.size === 0 && this.stored() + this.ledger.held < this.#bound) {
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

  putNowait(item: T): void {
    publicPuts.watch?.(item);
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
    this.#storage.storagePut(item); // may throw (a compare function): nothing counted yet
    this.#unfinished++;
    this.#fireReady();
  }

  /** Calls, once each, the ready watchers, when a `get` would not wait now. */
  #fireReady(): void {
    if (!this.ledger.watchingReady) return;
    if (this.stored() > 0 || this.drained()) this.ledger.fireReady();
  }

  /** An item handed to a held getter: its slot moves to the holder, with the next stamp. */
  #holdTaken(held: HeldGet): void {
    this.#hold(held.hold, 1);
    held.stamp = this.ledger.stamp();
  }

  // ---- get ----

  get(options?: WaitOptions): Promise<T> {
    if (options !== undefined) {
      if (this.drained()) return rejected(new QueueShutDown());
      const error = checkWaitOptions(options);
      if (error !== undefined) return rejected(error);
    }
    if (this.stored() > 0) {
      let item: T;
      try {
        item = this.#take();
      } catch (error) {
        return rejected(error);
      }
      return Promise.resolve(item);
    }
    if (this.drained()) return rejected(new QueueShutDown());
    return this.#getters.wait(options, undefined);
  }

  getNowait(): T {
    if (this.stored() === 0) throw this.drained() ? new QueueShutDown() : new QueueEmpty();
    return this.#take();
  }

  /** Removes the next stored item (given-back items first); may throw (a compare function). */
  #takeStored(): T {
    if (this.ledger.returned !== undefined) return this.ledger.takeReturned();
    return this.#storage.storageGet();
  }

  /** Removes the next stored item for a local getter, freeing its slot. */
  #take(): T {
    const item = this.#takeStored();
    this.#admitPutters();
    return item;
  }

  #admitPutters(): void {
    while (this.#putters.size !== 0 && this.stored() + this.ledger.held < this.#bound) {
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
    const least = this.ledger.spaceLeast;
    if (least !== Infinity && this.#free() >= least) {
      this.ledger.fireSpace(this.#free, this.#blocked);
    }
  }

  /** Free slots, counting held ones as used. */
  #free = (): number => this.#bound - this.stored() - this.ledger.held;
  /** No slot may go to a holder now: shut down, or putters wait for room first. */
  #blocked = (): boolean => this.#isShutdown || this.#putters.size !== 0;

  #putterWaits(): void {
    if (this.#putters.size !== 0) this.ledger.firePutterWaits();
  }

  /** Serves waiting getters from storage (after items came back to it). */
  #serveGetters(): void {
    while (this.#getters.size !== 0 && this.stored() > 0) {
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

  taskDone(): void {
    if (this.#unfinished <= 0) {
      throw new RangeError("taskDone() called more times than items were put");
    }
    this.#unfinished--;
    if (this.#unfinished === 0) this.#joiners.resolveAll(true);
  }

  join(options?: WaitOptions): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) return rejected(error);
    if (this.#unfinished === 0) return Promise.resolve(true);
    return this.#joiners.wait(options, undefined);
  }

  // ---- shutdown ----

  shutdown(immediate: boolean): void {
    this.#isShutdown = true;
    try {
      if (immediate) this.#discardStored();
    } finally {
      // Also when a storage hook threw while discarding (the error goes on to the caller): the
      // shutdown itself happened, so no putter may go on waiting, nor a getter of a drained queue.
      this.#putters.rejectAll(new QueueShutDown());
      this.#rejectIfDrained();
      this.ledger.fireShutdown(immediate);
    }
  }

  /** Discards every stored item for `shutdown(true)`, lowering the unfinished-task count. */
  #discardStored(): void {
    this.#discarding = true;
    for (const taken of this.ledger.returned ?? []) discards.watch?.(taken.item);
    let discarded = this.ledger.dropReturned();
    try {
      // Through the hooks, as Python does, so a subclass's own storage empties too.
      while (this.#storage.storageSize() > 0) {
        const item = this.#storage.storageGet(); // may throw (a compare function): the rest stays
        discarded++;
        discards.watch?.(item);
      }
    } finally {
      this.#discard(discarded);
    }
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
  drained(): boolean {
    return this.#isShutdown && this.stored() === 0 && this.ledger.held === 0;
  }

  #rejectIfDrained(): void {
    if (!this.drained()) return;
    this.#getters.rejectAll(new QueueShutDown());
    this.ledger.fireDrained();
    this.#fireReady();
  }

  // ---- the ledger's bounds ----

  #hold(hold: SlotHold, n: number): void {
    this.ledger.hold(hold, n);
    // An invariant: every caller checked the room first; this fires only on a bug in baton.
    // deno-coverage-ignore
    if (this.stored() + this.ledger.held > this.#bound) {
      throw new AccountingError(
        `${this.stored()} stored + ${this.ledger.held} held exceed maxsize ${this.#maxsize}`,
      );
    }
  }

  /** Throws when the ledger's invariants do not hold. */
  #check(): void {
    this.ledger.check();
    // Invariants no public call can break: they fire only on a bug in baton.
    // deno-coverage-ignore
    if (this.stored() + this.ledger.held > this.#bound) {
      throw new AccountingError(
        `${this.stored()} stored + ${this.ledger.held} held exceed ${this.#bound}`,
      );
    }
    // deno-coverage-ignore
    if (this.#unfinished < 0) throw new AccountingError(`${this.#unfinished} unfinished tasks`);
  }

  /** The inspect view, but for the stored items (the queue knows its storage). */
  view(): Record<string, unknown> {
    const watching = this.ledger.watching();
    return {
      size: this.stored(),
      maxsize: this.#maxsize,
      unfinishedTasks: this.#unfinished,
      waitingGetters: this.#getters.size,
      waitingPutters: this.#putters.size,
      held: this.ledger.held,
      holds: this.ledger.holdsView(),
      watchingSpace: watching.space,
      watchingReady: watching.ready,
      joiners: this.#joiners.size,
      isShutdown: this.#isShutdown,
    };
  }

  // ---- the worker layer's door ----

  /** What the worker layer may do with this queue (`_queue_access.ts`). */
  access(): QueueAccess<T> {
    // deno-lint-ignore no-this-alias
    const engine = this;
    return {
      newHold: (label) => this.ledger.newHold(label),
      dropHold: (hold) => this.ledger.dropHold(hold),
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
        if (this.#putters.size === 0 && this.stored() + this.ledger.held < this.#bound) {
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
        const refused: unknown[] = [];
        if (this.#discarding) this.ledger.unhold(hold, items.length);
        else {
          for (const item of items) {
            // One slot at a time, from the hold to the item: a getter handed the item may free
            // its slot at once (a readable stream's read), and the putters then admitted must
            // not find the slots of this batch's later items free.
            this.ledger.unhold(hold, 1);
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
        this.ledger.unhold(hold, n);
        this.#admitPutters();
        this.#rejectIfDrained();
      },
      takeHeld: (hold) => this.#takeHeld(hold),
      waitTake: (hold, got, failed, options) => {
        if (this.stored() > 0) {
          let taken: Taken<T>;
          try {
            taken = this.#takeHeld(hold)!;
          } catch (error) {
            failed(error);
            return SETTLED;
          }
          got(taken);
          return SETTLED;
        }
        if (this.drained()) {
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
        this.ledger.unhold(hold, items.length);
        if (this.#discarding) {
          // An immediate shutdown discards what comes back, as it discarded what was queued.
          for (const taken of items) discards.watch?.(taken.item);
          this.#discard(items.length);
          this.#rejectIfDrained();
          return;
        }
        if (!this.#storeBack(items)) this.ledger.giveBack(items);
        this.#serveGetters();
        this.#fireReady(); // what no getter took is stored now
        this.#rejectIfDrained();
      },
      watchSpace: (least, watcher) => this.ledger.watchSpace(least, watcher),
      watchWaiting: (watcher) => this.ledger.watchWaiting(watcher),
      watchDrained: (watcher) => {
        if (!this.drained()) return this.ledger.watchDrained(watcher);
        watcher();
        return () => {};
      },
      watchReady: (watcher) => {
        if (this.stored() === 0 && !this.drained()) return this.ledger.watchReady(watcher);
        watcher();
        return () => {};
      },
      watchShutdown: (watcher) => this.ledger.watchShutdown(watcher),
      get discarding() {
        return engine.#discarding;
      },
      get drained() {
        return engine.drained();
      },
      check: () => this.#check(),
    };
  }

  /**
   * Stores one item that came back into storage, when nothing is stored,
   * nothing else is held and no getter waits (one would take it at once):
   * it is the head then for every variant, and the
   * variant's own order places later items around it (a smaller one goes
   * ahead of it in a `PriorityQueue`, a newer one in a `LifoQueue`), which the
   * list of given-back items, always served first, cannot do. False when it
   * does not apply, or the hook threw (a compare function): give it back.
   */
  #storeBack(items: readonly Taken<T>[]): boolean {
    if (
      items.length !== 1 || this.stored() !== 0 || this.ledger.held !== 0 ||
      this.#getters.size !== 0
    ) return false;
    try {
      this.#storage.storagePut(items[0]!.item);
    } catch {
      return false;
    }
    return true;
  }

  /** Takes the next stored item for `hold`; `undefined` when none is stored. */
  #takeHeld(hold: SlotHold): Taken<T> | undefined {
    if (this.stored() === 0) return undefined;
    const item = this.#takeStored();
    const held: HeldGet = { hold, stamp: 0 };
    this.#holdTaken(held);
    return { item, stamp: held.stamp };
  }
}
