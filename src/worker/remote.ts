/**
 * The proxy types `connect` gives, one per kind of primitive, and the
 * options of `connect`.
 *
 * @module
 */

import type { WaitOptions } from "../_waiters.ts";
import type { Barrier } from "../barrier.ts";
import type { Condition } from "../condition.ts";
import type { Event } from "../event.ts";
import type { Lock } from "../lock.ts";
import type { PeriodicTimer } from "../periodic_timer.ts";
import type { Queue } from "../queue.ts";
import type { Semaphore } from "../semaphore.ts";
import type { Connection } from "./pipe.ts";
import type { Held } from "../_held.ts";

export type { Held } from "../_held.ts";

/**
 * Items a remote consumer of a FIFO `Queue` prefetches at most, by default.
 * The window starts at one item and grows only while the consumer drains
 * batches fast.
 *
 * @example
 * ```ts
 * import { DEFAULT_PREFETCH } from "@baton/baton/worker";
 *
 * console.log(DEFAULT_PREFETCH); // 1024
 * ```
 */
export const DEFAULT_PREFETCH = 1024;

/**
 * What a local {@linkcode Queue} and a {@linkcode RemoteQueue} have in
 * common, so one consumer (or producer) function can take either.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import type { QueueLike } from "@baton/baton/worker";
 *
 * async function drain(queue: QueueLike<number>): Promise<number> {
 *   let sum = 0;
 *   for await (const item of queue) {
 *     sum += item;
 *     await queue.taskDone();
 *   }
 *   return sum;
 * }
 * const local = new Queue<number>();
 * local.putNowait(1);
 * local.putNowait(2);
 * local.shutdown();
 * console.log(await drain(local)); // 3
 * ```
 */
export interface QueueLike<T> extends AsyncIterable<T> {
  /** Most items held at once; `<= 0` or `Infinity`: unbounded. */
  readonly maxsize: number;
  /** Puts an item, waiting while the queue is full. */
  put(item: T, options?: WaitOptions): Promise<void>;
  /** Takes the next item, waiting while the queue is empty. */
  get(options?: WaitOptions): Promise<T>;
  /** Marks one item taken as done. */
  taskDone(): void | Promise<void>;
  /** Waits until every item put is marked done. */
  join(options?: WaitOptions): Promise<boolean>;
  /** Shuts the queue down. */
  shutdown(immediate?: boolean): void | Promise<void>;
}

/**
 * A proxy for a queue served from another thread. Same method names as
 * {@linkcode Queue}; what cannot be synchronous across threads returns a
 * promise (the nowait variants, the sizes, `taskDone`, `shutdown`, and the
 * `isShutdown`/`unfinishedTasks` reads). `put` writes ahead on credits and
 * `get` takes from a prefetched batch, so items stream in batches while
 * `maxsize` backpressure stays exact.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { connect, type RemoteQueue, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { jobs: new Queue<string>(10) });
 * const remote = await connect<{ jobs: Queue<string> }>(port2);
 * const jobs: RemoteQueue<string> = remote.jobs;
 * await jobs.put("a");
 * console.log(await jobs.get(), await jobs.qsize()); // "a" 0
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteQueue<T> extends QueueLike<T> {
  /** The served queue's kind. */
  readonly kind: "Queue" | "LifoQueue" | "PriorityQueue";
  /** Puts an item without waiting; rejects `QueueFull` when full. */
  putNowait(item: T): Promise<void>;
  /** Takes the next item without waiting; rejects `QueueEmpty` when empty. */
  getNowait(): Promise<T>;
  /** The number of items queued in the owner's thread. */
  qsize(): Promise<number>;
  /** Whether the queue is empty in the owner's thread. */
  empty(): Promise<boolean>;
  /** Whether the queue is full. */
  full(): Promise<boolean>;
  /** Marks one item taken as done. */
  taskDone(): Promise<void>;
  /** Shuts the queue down for everyone. */
  shutdown(immediate?: boolean): Promise<void>;
  /** Whether the queue was shut down. */
  readonly isShutdown: Promise<boolean>;
  /** Items put and not yet marked done. */
  readonly unfinishedTasks: Promise<number>;
  /**
   * A `ReadableStream` that reads with `get()`, one item per read; it closes
   * once the queue is shut down and drained. Cancelling it takes nothing more
   * (an item handed to the read it cancels is kept for this side's next `get`);
   * the cancel resolves once that read settled, an answer from the owner's
   * thread at most. A read its reader gives up with `releaseLock()` is
   * treated the same way.
   */
  toReadableStream(): ReadableStream<T>;
  /** A `WritableStream` whose writes are `put()`s; `close()` → `shutdown()`, `abort()` → `shutdown(true)`. */
  toWritableStream(): WritableStream<T>;
}

/**
 * A proxy for a {@linkcode Lock} served from another thread.
 *
 * @example
 * ```ts
 * import { Lock } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { lock: new Lock() });
 * const remote = await connect<{ lock: Lock }>(port2);
 * console.log(await remote.lock.acquire()); // true
 * await remote.lock.release();
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteLock {
  /** Acquires the lock; `false` when the timeout ran out. */
  acquire(options?: WaitOptions): Promise<boolean>;
  /** Acquires the lock and returns a handle that releases it when disposed. */
  hold(options?: WaitOptions): Promise<Held>;
  /** Releases the lock. */
  release(): Promise<void>;
  /** Whether the lock is held. */
  locked(): Promise<boolean>;
}

/**
 * A proxy for a {@linkcode Condition} served from another thread. The
 * predicate of `waitFor` runs in this thread.
 *
 * @example
 * ```ts
 * import { Condition } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { ready: new Condition() });
 * const remote = await connect<{ ready: Condition }>(port2);
 * await remote.ready.acquire();
 * console.log(await remote.ready.wait({ timeout: 5 })); // false: nobody notified
 * await remote.ready.release();
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteCondition extends RemoteLock {
  /** Releases the lock, waits for a notify, re-acquires the lock. */
  wait(options?: WaitOptions): Promise<boolean>;
  /** Waits until `predicate` returns a truthy value; returns its last value. */
  waitFor<R>(predicate: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>>;
  /** Wakes the `n` oldest waiters. */
  notify(n?: number): Promise<void>;
  /** Wakes every waiter. */
  notifyAll(): Promise<void>;
}

/**
 * A proxy for an {@linkcode Event} served from another thread.
 *
 * @example
 * ```ts
 * import { Event } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const done = new Event();
 * const link = serve(port1, { done });
 * const remote = await connect<{ done: Event }>(port2);
 * await remote.done.set();
 * console.log(done.isSet()); // true
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteEvent {
  /** Sets the flag, waking every waiter. */
  set(): Promise<void>;
  /** Clears the flag. */
  clear(): Promise<void>;
  /** Whether the flag is set. */
  isSet(): Promise<boolean>;
  /** Waits until the flag is set; `false` when the timeout ran out. */
  wait(options?: WaitOptions): Promise<boolean>;
}

/**
 * A proxy for a {@linkcode Semaphore} or `BoundedSemaphore` served from
 * another thread.
 *
 * @example
 * ```ts
 * import { Semaphore } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { slots: new Semaphore(2) });
 * const remote = await connect<{ slots: Semaphore }>(port2);
 * {
 *   using _permit = await remote.slots.hold();
 *   console.log(await remote.slots.value); // 1
 * }
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteSemaphore {
  /** Takes a permit; `false` when the timeout ran out. */
  acquire(options?: WaitOptions): Promise<boolean>;
  /** Takes a permit and returns a handle that gives it back when disposed. */
  hold(options?: WaitOptions): Promise<Held>;
  /** Returns `n` permits. */
  release(n?: number): Promise<void>;
  /** The number of free permits. */
  readonly value: Promise<number>;
  /** How many `acquire` calls wait now. */
  readonly waiting: Promise<number>;
}

/**
 * A proxy for a {@linkcode Barrier} served from another thread. Its
 * `action` runs in the owner's thread.
 *
 * @example
 * ```ts
 * import { Barrier } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const barrier = new Barrier(2);
 * const link = serve(port1, { barrier });
 * const remote = await connect<{ barrier: Barrier }>(port2);
 * const [mine, theirs] = await Promise.all([barrier.wait(), remote.barrier.wait()]);
 * console.log(mine + theirs); // 1: indices 0 and 1
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteBarrier {
  /** How many parties must arrive. */
  readonly parties: number;
  /** Arrives and waits for the other parties; returns this party's index. */
  wait(options?: WaitOptions): Promise<number>;
  /** Returns the barrier to its initial state. */
  reset(): Promise<void>;
  /** Breaks the barrier. */
  abort(): Promise<void>;
  /** How many parties wait now. */
  readonly nWaiting: Promise<number>;
  /** Whether the barrier is broken. */
  readonly broken: Promise<boolean>;
}

/**
 * A proxy for a {@linkcode PeriodicTimer} served from another thread: the
 * timer ticks in the owner's thread; every waiter of a tick, in any thread,
 * is released by it.
 *
 * @example
 * ```ts
 * import { PeriodicTimer } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const timer = new PeriodicTimer(5);
 * const link = serve(port1, { timer });
 * const remote = await connect<{ timer: PeriodicTimer }>(port2);
 * await remote.timer.start();
 * for await (const tick of remote.timer) if (tick >= 2) break;
 * await remote.timer.stop();
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemotePeriodicTimer extends AsyncIterable<number> {
  /** The interval in milliseconds. */
  readonly intervalMs: number;
  /** Waits for the next tick; `false` when stopped or the timeout ran out. */
  waitForTick(options?: WaitOptions): Promise<boolean>;
  /** Starts ticking. */
  start(): Promise<void>;
  /** Stops ticking. */
  stop(): Promise<void>;
  /** The number of ticks fired so far. */
  readonly ticks: Promise<number>;
  /** Whether the timer is ticking. */
  readonly running: Promise<boolean>;
}

/**
 * The proxy type `connect` gives for a served primitive type.
 *
 * @typeParam P The primitive's type in the owner's thread.
 *
 * @example
 * ```ts
 * import type { Event, Queue } from "@baton/baton";
 * import type { RemoteEvent, RemoteOf, RemoteQueue } from "@baton/baton/worker";
 *
 * const check: RemoteOf<Queue<number>> extends RemoteQueue<number> ? true : false = true;
 * const check2: RemoteOf<Event> extends RemoteEvent ? true : false = true;
 * console.log(check && check2); // true
 * ```
 */
export type RemoteOf<P> = P extends Queue<infer T> ? RemoteQueue<T>
  : P extends Condition ? RemoteCondition
  : P extends Lock ? RemoteLock
  : P extends Event ? RemoteEvent
  : P extends Semaphore ? RemoteSemaphore
  : P extends Barrier ? RemoteBarrier
  : P extends PeriodicTimer ? RemotePeriodicTimer
  : P extends Connection<infer S, infer R> ? Connection<S, R>
  : never;

/**
 * What `connect` resolves to: a proxy for every served name, plus `close()`
 * (also `await using`).
 *
 * @typeParam T The served primitives by name, as typed in the owner's thread.
 *
 * @example
 * ```ts
 * import type { Event, Queue } from "@baton/baton";
 * import type { Remote } from "@baton/baton/worker";
 *
 * type Shared = { jobs: Queue<string>; done: Event };
 * async function work(remote: Remote<Shared>): Promise<void> {
 *   for await (const job of remote.jobs) console.log(job);
 *   await remote.done.set();
 *   await remote.close();
 * }
 * console.log(typeof work); // "function"
 * ```
 */
export type Remote<T> =
  & { readonly [K in keyof T]: RemoteOf<T[K]> }
  & {
    /**
     * Closes the connection: prefetched items go back to their queues,
     * unused put credits are returned, pending operations reject
     * `LinkClosed`, and every listener is removed.
     */
    close(): Promise<void>;
    /** Same as `close()`. */
    [Symbol.asyncDispose](): Promise<void>;
  };

/**
 * Options of {@linkcode connect}.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@baton/baton/worker";
 *
 * const options: ConnectOptions = { timeout: 5_000, prefetch: 256 };
 * console.log(options.prefetch); // 256
 * ```
 */
export interface ConnectOptions extends WaitOptions {
  /**
   * Items a remote FIFO `Queue` consumer fetches ahead (default
   * {@linkcode DEFAULT_PREFETCH}); 0 turns prefetch off, so every `get` is
   * served in the owner's thread in arrival order with the other getters.
   * `LifoQueue` and `PriorityQueue` proxies never prefetch (it would change
   * their order).
   */
  prefetch?: number;
  /** Told about problems no caller can be told of. Defaults to `console.error`. */
  onError?: (error: unknown) => void;
}
