/**
 * `LifoQueue`: Python's `queue.LifoQueue`, a {@linkcode Queue} whose storage
 * hooks keep a stack.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { Deque } from "./_deque.ts";
import { inspectView } from "./_inspect.ts";
import { Queue, type QueueOptions } from "./queue.ts";

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
  /** Keeps the base class's inspect view, under this name. */
  static #inspect = /* @__PURE__ */ inspectView(this, "LifoQueue");
  // Set by storageInit, which the base constructor calls before field initialisers
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
  protected override storageInit(): void {
    this.stack = new Deque<T>();
  }
  /** Storage hook: the number of items stored. */
  protected override storageSize(): number {
    return this.stack.length;
  }
  /** Storage hook: pushes an item. */
  protected override storagePut(item: T): void {
    this.stack.push(item);
  }
  /** Storage hook: pops the newest item. */
  protected override storageGet(): T {
    return this.stack.pop() as T;
  }
}
