/**
 * The naive baseline the benchmarks compare baton against: a bounded async
 * queue written the way one first writes it. Items live in an array taken
 * with `shift()`, `put`/`get` are `async` methods, and waiters are bare
 * promise resolvers that are all woken in a loop and re-check their
 * condition. No timeout, no signal, no task counting, no shutdown.
 *
 * Not part of baton: it exists only to be measured against.
 *
 * @module
 */

/** A bounded FIFO queue built the naive way. */
export class NaiveQueue<T> {
  readonly maxsize: number;
  #items: T[] = [];
  #getters: (() => void)[] = [];
  #putters: (() => void)[] = [];

  constructor(maxsize = 0) {
    this.maxsize = maxsize > 0 ? maxsize : Infinity;
  }

  async put(item: T): Promise<void> {
    while (this.#items.length >= this.maxsize) {
      await new Promise<void>((resolve) => this.#putters.push(resolve));
    }
    this.#items.push(item);
    // Wake every waiting getter; each re-checks whether an item is left for it.
    const getters = this.#getters;
    this.#getters = [];
    for (const wake of getters) wake();
  }

  async get(): Promise<T> {
    while (this.#items.length === 0) {
      await new Promise<void>((resolve) => this.#getters.push(resolve));
    }
    const item = this.#items.shift() as T;
    const putters = this.#putters;
    this.#putters = [];
    for (const wake of putters) wake();
    return item;
  }
}
