/**
 * What a `Queue` keeps for the worker layer, apart from its own waiting and
 * counting: the ledger of named slot holds, the items given back to its
 * head (in the order they first left it), and the one-shot watchers the
 * worker layer registers through the queue's door (`_queue_access.ts`).
 * Internal: the queue's engine (`_queue_engine.ts`) owns one per queue and
 * checks every bound; the ledger only counts and calls.
 *
 * @module
 */

import { AccountingError, SlotHold, type Taken } from "./_queue_access.ts";

/** Inserts `taken` into `list`, kept in stamp order (a short list). */
function insertByStamp<T>(list: Taken<T>[], taken: Taken<T>): void {
  let index = list.length;
  while (index > 0 && list[index - 1]!.stamp > taken.stamp) index--;
  list.splice(index, 0, taken);
}

/** One queue's holds, given-back items and watchers. */
export class QueueLedger<T> {
  /**
   * Slots held by named holders (the worker layer's put credits and items
   * sent to remote consumers); the queue keeps `stored + held <= bound`.
   */
  held = 0;
  #holds: Set<SlotHold> | undefined;
  /** Items taken for a holder and given back, oldest first: served before storage. */
  returned: Taken<T>[] | undefined;
  /** Numbers held takes, so returned items go back in the order they left. */
  #nextStamp = 0;
  #shutdownWatchers: Set<(immediate: boolean) => void> | undefined;
  /** One-shot callbacks waiting for free slots (the worker layer's credit top-ups). */
  #spaceWatchers: Map<() => void, number> | undefined;
  /** The fewest free slots any space watcher waits for (`Infinity` when none does). */
  spaceLeast = Infinity;
  /** Told once when the queue is drained (the worker layer ends remote consumers). */
  #drainWatchers: Set<() => void> | undefined;
  /** Told when a putter starts to wait (the worker layer reclaims idle credits). */
  #waitWatchers: Set<() => void> | undefined;
  /** Told once when a `get` would not wait: an item is stored, or the queue is drained (`wait`). */
  #readyWatchers: Set<() => void> | undefined;

  // ---- holds ----

  newHold(label: string): SlotHold {
    const hold = new SlotHold(label);
    (this.#holds ??= new Set()).add(hold);
    return hold;
  }

  dropHold(hold: SlotHold): void {
    if (hold.count !== 0) throw new AccountingError(`${hold.label} dropped holding ${hold.count}`);
    this.#holds?.delete(hold);
  }

  /** Counts `n` more slots to `hold`; the queue checked the room first. */
  hold(hold: SlotHold, n: number): void {
    if (!this.#holds?.has(hold)) {
      throw new AccountingError(`${hold.label} is not a hold of this queue`);
    }
    hold.count += n;
    this.held += n;
  }

  unhold(hold: SlotHold, n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > hold.count) {
      throw new AccountingError(`${hold.label} releases ${n} of the ${hold.count} slots it holds`);
    }
    hold.count -= n;
    this.held -= n;
  }

  /** The next stamp of a held take. */
  stamp(): number {
    return this.#nextStamp++;
  }

  /** Throws when a hold is negative or the holds do not add up to `held`. */
  check(): void {
    let sum = 0;
    for (const hold of this.#holds ?? []) {
      if (!(hold.count >= 0)) throw new AccountingError(`${hold.label} holds ${hold.count}`);
      sum += hold.count;
    }
    if (sum !== this.held) {
      throw new AccountingError(`the holds add up to ${sum}, the queue counts ${this.held}`);
    }
  }

  /** The holds that hold something, by label, for the inspect view. */
  holdsView(): Record<string, number> {
    const holds: Record<string, number> = {};
    for (const hold of this.#holds ?? []) if (hold.count > 0) holds[hold.label] = hold.count;
    return holds;
  }

  // ---- items given back ----

  /** Items given back go to the head, in the order they first left the queue. */
  giveBack(items: readonly Taken<T>[]): void {
    if (items.length === 0) return;
    const returned = this.returned ??= [];
    for (const taken of items) insertByStamp(returned, taken);
  }

  /** Removes the oldest item given back; only called when there is one. */
  takeReturned(): T {
    const returned = this.returned!;
    const taken = returned.shift()!; // a short list, only after a give-back
    if (returned.length === 0) this.returned = undefined;
    return taken.item;
  }

  /** Drops every item given back (an immediate shutdown); returns how many. */
  dropReturned(): number {
    const count = this.returned?.length ?? 0;
    this.returned = undefined;
    return count;
  }

  // ---- watchers ----

  watchSpace(least: number, watcher: () => void): () => void {
    const watchers = this.#spaceWatchers ??= new Map();
    watchers.set(watcher, least);
    this.spaceLeast = Math.min(this.spaceLeast, least);
    // A stale minimum only costs one look at the watchers.
    return () => void watchers.delete(watcher);
  }

  /**
   * Calls, once each, the space watchers whose number of slots is free now,
   * while `blocked()` is false (putters wait, or the queue is shut down).
   */
  fireSpace(free: () => number, blocked: () => boolean): void {
    const watchers = this.#spaceWatchers!;
    try {
      for (const [watcher, least] of watchers) {
        if (blocked()) break;
        if (free() < least) continue;
        watchers.delete(watcher);
        watcher(); // must not throw: it runs inside the call that freed the slots
      }
    } finally {
      this.spaceLeast = Infinity;
      for (const least of watchers.values()) this.spaceLeast = Math.min(this.spaceLeast, least);
    }
  }

  watchWaiting(watcher: () => void): () => void {
    const watchers = this.#waitWatchers ??= new Set();
    watchers.add(watcher);
    return () => void watchers.delete(watcher);
  }

  /** A putter started to wait: every wait watcher hears it. */
  firePutterWaits(): void {
    if (this.#waitWatchers === undefined) return;
    for (const watcher of [...this.#waitWatchers]) watcher();
  }

  /** Registers a drain watcher; the queue calls it at once instead when drained now. */
  watchDrained(watcher: () => void): () => void {
    const watchers = this.#drainWatchers ??= new Set();
    watchers.add(watcher);
    return () => void this.#drainWatchers?.delete(watcher);
  }

  /** The queue is drained: each drain watcher, once. */
  fireDrained(): void {
    const watchers = this.#drainWatchers;
    if (watchers === undefined) return;
    this.#drainWatchers = undefined;
    for (const watcher of watchers) watcher();
  }

  /** Registers a ready watcher; the queue calls it at once instead when ready now. */
  watchReady(watcher: () => void): () => void {
    const watchers = this.#readyWatchers ??= new Set();
    watchers.add(watcher);
    return () => void this.#readyWatchers?.delete(watcher);
  }

  /** Whether a ready watcher waits: the queue then checks whether a get would wait. */
  get watchingReady(): boolean {
    return this.#readyWatchers !== undefined;
  }

  /** A `get` would not wait now: each ready watcher, once. */
  fireReady(): void {
    const watchers = this.#readyWatchers;
    if (watchers === undefined) return;
    this.#readyWatchers = undefined;
    for (const watcher of watchers) watcher(); // must not throw: it runs inside a put
  }

  watchShutdown(watcher: (immediate: boolean) => void): () => void {
    const watchers = this.#shutdownWatchers ??= new Set();
    watchers.add(watcher);
    return () => void watchers.delete(watcher);
  }

  fireShutdown(immediate: boolean): void {
    if (this.#shutdownWatchers === undefined) return;
    for (const watcher of [...this.#shutdownWatchers]) watcher(immediate);
  }

  /** Counts of watchers, for the inspect view. */
  watching(): { space: number; ready: number } {
    return { space: this.#spaceWatchers?.size ?? 0, ready: this.#readyWatchers?.size ?? 0 };
  }
}
