/**
 * The module-private door into a `Queue` for the worker layer: named holds
 * of slots, held takes and puts, returns to the head. Nothing here is part of
 * the published API; `queue.ts` grants the door once, when its class is
 * defined, and only modules inside `src/` import this one.
 *
 * Capacity is modelled like a semaphore of slots: every slot of a bounded
 * queue is either free, used by a stored item, or held by a named
 * {@linkcode SlotHold} (credits granted to a remote producer, items sent to
 * a remote consumer and not yet taken by its code). Every release names its
 * hold; a release beyond what a hold has throws {@linkcode AccountingError}
 * instead of being floored away.
 *
 * @module
 */

import type { WaitOptions } from "./_waiters.ts";

/** An accounting invariant broke: a bug in baton, never a user error. */
export class AccountingError extends Error {
  /** Makes an error saying which invariant broke. */
  constructor(message: string) {
    super(`baton accounting error: ${message}`);
    this.name = "AccountingError";
  }
}

/**
 * Told of each item code puts with a queue's own `put` or `putNowait`, set
 * once by the worker layer: a value from the wire that code here puts has
 * been held by that code (`travel.ts`, values in transit).
 */
export const publicPuts: { watch: ((item: unknown) => void) | undefined } = { watch: undefined };

/**
 * Told of each item an immediate shutdown discards (stored, given back, or
 * coming back), set once by the worker layer: what an item from the wire
 * held is released with it (`transit.ts`).
 */
export const discards: { watch: ((item: unknown) => void) | undefined } = { watch: undefined };

/** Slots of one queue held by one holder; only the queue changes `count`. */
export class SlotHold {
  /** Slots held now. */
  count = 0;
  /** Says who holds: `credits of link 3 for "jobs"`. */
  readonly label: string;
  constructor(label: string) {
    this.label = label;
  }
}

/** An item taken for a holder: its place in the order items left the queue. */
export interface Taken<T> {
  readonly item: T;
  /** Increases with every held take: returned items go back in this order. */
  readonly stamp: number;
}

/** A cancellable wait in the queue's line (of getters or of putters). */
export interface QueueWait {
  /** Leaves the line; false when it was already served or settled. */
  cancel(): boolean;
}

/** What the worker layer may do with a queue. */
export interface QueueAccess<T> {
  /** A new hold, counted in the queue's ledger until `dropHold`. */
  newHold(label: string): SlotHold;
  /** Forgets a hold that holds nothing. */
  dropHold(hold: SlotHold): void;
  /** Slots a new credit could take now: 0 while shut down or putters wait. */
  free(): number;
  /** Holds up to `max` free slots for `hold` when at least `least` are free; returns how many. */
  reserve(hold: SlotHold, max: number, least: number): number;
  /**
   * Waits in line with the putters for one slot for `hold`: `admitted` runs
   * synchronously the moment it is held; `failed` on shutdown, timeout or
   * abort (never both).
   */
  waitReserve(
    hold: SlotHold,
    admitted: () => void,
    failed: (error: unknown) => void,
    options?: WaitOptions,
  ): QueueWait;
  /**
   * Items arrive in slots `hold` held, in order: each stored or handed to a
   * getter; discarded after `shutdown(true)`. Returns what storage threw for
   * the items it refused (their slots are free).
   */
  putHeld(hold: SlotHold, items: readonly T[]): unknown[];
  /** Frees `n` slots of `hold` (unused credits; items their consumer took). */
  release(hold: SlotHold, n: number): void;
  /** Takes the next item now, its slot moving to `hold`; `undefined` when none is stored. */
  takeHeld(hold: SlotHold): Taken<T> | undefined;
  /**
   * Waits in line with the getters for the next item, its slot moving to
   * `hold`; `got` runs synchronously at the hand-off.
   */
  waitTake(
    hold: SlotHold,
    got: (taken: Taken<T>) => void,
    failed: (error: unknown) => void,
    options?: WaitOptions,
  ): QueueWait;
  /**
   * Items taken for `hold` come back, not handed to anyone: to the head of
   * the queue in the order they first left it (whatever came back before),
   * or discarded and uncounted after `shutdown(true)`.
   */
  requeue(hold: SlotHold, items: readonly Taken<T>[]): void;
  /** Calls `watcher` once, inside the call that frees them, when `least` slots are free. */
  watchSpace(least: number, watcher: () => void): () => void;
  /** Calls `watcher` whenever a putter starts to wait for room (a holder may give some back). */
  watchWaiting(watcher: () => void): () => void;
  /** Calls `watcher` once, when the queue first becomes drained (final: nothing more can come). */
  watchDrained(watcher: () => void): () => void;
  /**
   * Calls `watcher` once, inside the call that makes it so, when a `get`
   * would not wait: an item is stored, or the queue is drained (at once when
   * that holds now). Nothing is taken. Returns the undo.
   */
  watchReady(watcher: () => void): () => void;
  /** Calls `watcher` after every `shutdown` call. */
  watchShutdown(watcher: (immediate: boolean) => void): () => void;
  /** Shut down, nothing stored and no slot held: `get` rejects `QueueShutDown`. */
  readonly drained: boolean;
  /** Whether `shutdown` discarded the queue (`shutdown(true)`). */
  readonly discarding: boolean;
  /** Throws {@linkcode AccountingError} when an invariant of the ledger does not hold. */
  check(): void;
}

type Opener = <T>(queue: object) => QueueAccess<T>;

/** Set once by `queue.ts` when `Queue` is defined: the only way in. */
const door: { open?: Opener } = {};
const opened = new WeakMap<object, QueueAccess<unknown>>();

/** Called once by `queue.ts`; returns `true`, kept in a static field of `Queue`. */
export function grantQueueAccess(open: Opener): true {
  if (door.open !== undefined) throw new Error("queue access was granted twice");
  door.open = open;
  return true;
}

/** The worker layer's door into `queue` (made once per queue). */
export function queueAccess<T>(queue: object): QueueAccess<T> {
  let access = opened.get(queue);
  if (access === undefined) {
    // Whoever holds a queue has loaded queue.ts, which opens the door: a guard only.
    // deno-coverage-ignore
    if (door.open === undefined) throw new Error("queue.ts is not loaded");
    access = door.open(queue);
    opened.set(queue, access);
  }
  return access as QueueAccess<T>;
}
