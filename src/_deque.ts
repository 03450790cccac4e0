/**
 * A growable ring buffer: O(1) push and pop at both ends, no
 * `Array.prototype.shift`. Internal: the FIFO and LIFO queues and the wait
 * list stand on it.
 *
 * Why not `@std/data-structures`' `Deque` (the same ring buffer): the
 * published package would then depend on `jsr:@std/data-structures`, which
 * this project's machines and CI cannot reach to test (JSR is unreachable
 * here; `@std` is mapped to npm's `deno-std` mirror for the tests only, and
 * the package must not depend on that mirror). The one-thread core keeps no
 * dependency for a hundred lines; switch when CI can resolve JSR.
 *
 * @module
 */

const INITIAL_CAPACITY = 16;

/** Double-ended queue over a power-of-two ring buffer. */
export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  #mask: number;

  constructor(capacity = INITIAL_CAPACITY) {
    let size = INITIAL_CAPACITY;
    while (size < capacity) size *= 2;
    this.#items = new Array(size);
    this.#mask = size - 1;
  }

  /** Number of items held. */
  get length(): number {
    return this.#length;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Adds an item at the front. */
  unshift(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Removes and returns the front item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined; // let the item be collected
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes and returns the back item; `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const index = (this.#head + this.#length) & this.#mask;
    const item = this.#items[index];
    this.#items[index] = undefined;
    return item;
  }

  /** The front item without removing it. */
  peekFront(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** The back item without removing it. */
  peekBack(): T | undefined {
    return this.#length === 0
      ? undefined
      : this.#items[(this.#head + this.#length - 1) & this.#mask];
  }

  /** Removes the last occurrence of `item` (O(n); for rare paths). Returns whether it was found. */
  deleteLast(item: T): boolean {
    for (let i = this.#length - 1; i >= 0; i--) {
      if (this.#items[(this.#head + i) & this.#mask] !== item) continue;
      for (let j = i; j < this.#length - 1; j++) {
        this.#items[(this.#head + j) & this.#mask] = this.#items[(this.#head + j + 1) & this.#mask];
      }
      this.#length--;
      this.#items[(this.#head + this.#length) & this.#mask] = undefined;
      return true;
    }
    return false;
  }

  /** Removes every item. */
  clear(): void {
    this.#items = new Array(INITIAL_CAPACITY);
    this.#mask = INITIAL_CAPACITY - 1;
    this.#head = 0;
    this.#length = 0;
  }

  /** Items front to back. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) {
      yield this.#items[(this.#head + i) & this.#mask] as T;
    }
  }

  #grow(): void {
    const size = this.#items.length;
    const items = new Array<T | undefined>(size * 2);
    for (let i = 0; i < this.#length; i++) items[i] = this.#items[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = size * 2 - 1;
  }
}
