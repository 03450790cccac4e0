/**
 * `PriorityQueue`: Python's `queue.PriorityQueue`, a {@linkcode Queue} whose
 * storage hooks keep a stable heap, and its default order.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type Compare, Heap } from "./_heap.ts";
import { describe } from "./_waiters.ts";
import { inspectView } from "./_inspect.ts";
import { Queue, type QueueOptions } from "./queue.ts";

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
  /** Keeps the base class's inspect view, under this name. */
  static #inspect = /* @__PURE__ */ inspectView(this, "PriorityQueue");
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
  protected override storageInit(): void {}
  /** Storage hook: the number of items stored. */
  protected override storageSize(): number {
    return this.heap.length;
  }
  /** Storage hook: pushes onto the heap. */
  protected override storagePut(item: T): void {
    this.heap.push(item);
  }
  /** Storage hook: pops the smallest item. */
  protected override storageGet(): T {
    return this.heap.pop() as T;
  }
}
