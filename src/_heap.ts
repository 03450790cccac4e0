/**
 * A stable binary min-heap. Internal: `PriorityQueue` stands on it.
 *
 * Stable: items that compare equal come out in insertion order (each entry
 * carries a sequence number that breaks ties). Exception safe: every
 * comparison of a push or pop is made before anything moves, so a compare
 * function that throws leaves the heap exactly as it was.
 *
 * Why not `@std/data-structures`' `BinaryHeap`: it gives neither guarantee
 * (equal items come out in no set order, and a compare that throws during a
 * push leaves the item inside), and `PriorityQueue` promises both; it also has no
 * `pushFront` for items given back to the head. And the package would depend
 * on JSR, which this project's CI cannot reach (see `_deque.ts`).
 *
 * @module
 */

/** Orders two items: negative when `a` comes first, positive when `b` does. */
export type Compare<T> = (a: T, b: T) => number;

/** Binary min-heap with stable ordering and exception-safe updates. */
export class Heap<T> {
  #items: T[] = [];
  #seqs: number[] = [];
  #nextSeq = 0;
  #frontSeq = 0;
  #compare: Compare<T>;
  // Reused across pops: the indices a sift-down will move, so no allocation per pop.
  #path: number[] = [];

  constructor(compare: Compare<T>) {
    this.#compare = compare;
  }

  /** Number of items held. */
  get length(): number {
    return this.#items.length;
  }

  /** The smallest item without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Removes every item. */
  clear(): void {
    this.#items = [];
    this.#seqs = [];
  }

  #less(a: T, aSeq: number, b: T, bSeq: number): boolean {
    const order = this.#compare(a, b);
    if (typeof order !== "number" || Number.isNaN(order)) {
      throw new TypeError(`compare must return a number, received ${String(order)}`);
    }
    return order < 0 || (order === 0 && aSeq < bSeq);
  }

  /** Adds an item; throws (and changes nothing) when `compare` throws. */
  push(item: T): void {
    this.#insert(item, this.#nextSeq);
    this.#nextSeq++;
  }

  /** Adds an item ahead of every equal item already held. */
  pushFront(item: T): void {
    // Sequence numbers below every one handed out so far make it first among equals.
    this.#insert(item, --this.#frontSeq);
  }

  #insert(item: T, seq: number): void {
    const items = this.#items;
    const seqs = this.#seqs;
    // Find the final slot first (comparisons only), then move.
    let index = items.length;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#less(item, seq, items[parent] as T, seqs[parent] as number)) break;
      index = parent;
    }
    let hole = items.length;
    items.push(item);
    seqs.push(seq);
    while (hole > index) {
      const parent = (hole - 1) >> 1;
      items[hole] = items[parent] as T;
      seqs[hole] = seqs[parent] as number;
      hole = parent;
    }
    items[index] = item;
    seqs[index] = seq;
  }

  /** Removes and returns the smallest item; throws (and changes nothing) when `compare` throws. */
  pop(): T | undefined {
    const items = this.#items;
    const seqs = this.#seqs;
    const size = items.length;
    if (size === 0) return undefined;
    const top = items[0] as T;
    if (size === 1) {
      items.pop();
      seqs.pop();
      return top;
    }
    // The last item will sink from the root; find its path without moving anything.
    const last = items[size - 1] as T;
    const lastSeq = seqs[size - 1] as number;
    const limit = size - 1;
    const path = this.#path;
    path.length = 0;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= limit) break;
      const right = left + 1;
      let child = left;
      if (
        right < limit &&
        this.#less(items[right] as T, seqs[right] as number, items[left] as T, seqs[left] as number)
      ) {
        child = right;
      }
      if (!this.#less(items[child] as T, seqs[child] as number, last, lastSeq)) break;
      path.push(child);
      index = child;
    }
    items.pop();
    seqs.pop();
    let hole = 0;
    for (const child of path) {
      items[hole] = items[child] as T;
      seqs[hole] = seqs[child] as number;
      hole = child;
    }
    items[hole] = last;
    seqs[hole] = lastSeq;
    return top;
  }

  /**
   * The first `limit` items in the order `pop` would return them, without
   * changing the heap (for the inspect view). Walks the heap from the root,
   * always taking the smallest of the nodes whose parent was taken: about
   * `limit²` comparisons, meant for a small `limit`. Throws what `compare`
   * throws; the heap is unchanged either way.
   */
  firstInOrder(limit: number): T[] {
    const items = this.#items;
    const seqs = this.#seqs;
    const first: T[] = [];
    const frontier: number[] = items.length > 0 ? [0] : [];
    while (first.length < limit && frontier.length > 0) {
      let best = 0;
      for (let i = 1; i < frontier.length; i++) {
        const a = frontier[i] as number;
        const b = frontier[best] as number;
        if (this.#less(items[a] as T, seqs[a] as number, items[b] as T, seqs[b] as number)) {
          best = i;
        }
      }
      const index = frontier[best] as number;
      frontier[best] = frontier[frontier.length - 1] as number;
      frontier.pop();
      first.push(items[index] as T);
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (child < items.length) frontier.push(child);
      }
    }
    return first;
  }

  /** Items in heap order (not sorted). */
  [Symbol.iterator](): IterableIterator<T> {
    return this.#items[Symbol.iterator]();
  }
}
