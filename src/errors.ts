/**
 * The error classes baton throws. Each extends `Error` and has `name` equal to
 * its class name, so it survives logging and can be rebuilt by name after it
 * crossed a `postMessage` boundary.
 *
 * This module is browser compatible.
 *
 * @example Telling a timeout from a shutdown
 * ```ts
 * import { Queue, QueueEmpty, QueueShutDown } from "@baton/baton";
 *
 * const queue = new Queue<string>();
 * try {
 *   await queue.get({ timeout: 0 });
 * } catch (error) {
 *   if (error instanceof QueueEmpty) console.log("nothing yet");
 *   else if (error instanceof QueueShutDown) console.log("closed");
 *   else throw error;
 * }
 * ```
 *
 * @module
 */

/**
 * Thrown by `getNowait()`, and by `get()` when its timeout runs out, on an
 * empty queue (Python's `queue.Empty`).
 *
 * @example
 * ```ts
 * import { Queue, QueueEmpty } from "@baton/baton";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => new Queue<number>().getNowait(), QueueEmpty);
 * ```
 */
export class QueueEmpty extends Error {
  /** Makes an error; the default message says the queue is empty. */
  constructor(message = "the queue is empty", options?: ErrorOptions) {
    super(message, options);
    this.name = "QueueEmpty";
  }
}

/**
 * Thrown by `putNowait()`, and by `put()` when its timeout runs out, on a
 * full queue (Python's `queue.Full`).
 *
 * @example
 * ```ts
 * import { Queue, QueueFull } from "@baton/baton";
 * import { assertThrows } from "@std/assert";
 *
 * const queue = new Queue<number>(1);
 * queue.putNowait(1);
 * assertThrows(() => queue.putNowait(2), QueueFull);
 * ```
 */
export class QueueFull extends Error {
  /** Makes an error; the default message says the queue is full. */
  constructor(message = "the queue is full", options?: ErrorOptions) {
    super(message, options);
    this.name = "QueueFull";
  }
}

/**
 * Thrown by `put` after `shutdown()`, and by `get` once a shut-down queue is
 * empty (Python's `queue.ShutDown`).
 *
 * @example
 * ```ts
 * import { Queue, QueueShutDown } from "@baton/baton";
 * import { assertRejects } from "@std/assert";
 *
 * const queue = new Queue<number>();
 * queue.shutdown();
 * await assertRejects(() => queue.put(1), QueueShutDown);
 * ```
 */
export class QueueShutDown extends Error {
  /** Makes an error; the default message says the queue is shut down. */
  constructor(message = "the queue is shut down", options?: ErrorOptions) {
    super(message, options);
    this.name = "QueueShutDown";
  }
}

/**
 * Thrown by `Barrier.wait()` when the barrier is broken or reset while, or
 * before, the caller waits (Python's `threading.BrokenBarrierError`).
 *
 * @example
 * ```ts
 * import { Barrier, BrokenBarrierError } from "@baton/baton";
 * import { assertRejects } from "@std/assert";
 *
 * const barrier = new Barrier(2);
 * barrier.abort();
 * await assertRejects(() => barrier.wait(), BrokenBarrierError);
 * ```
 */
export class BrokenBarrierError extends Error {
  /** Makes an error; the default message says the barrier is broken. */
  constructor(message = "the barrier is broken", options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokenBarrierError";
  }
}

/**
 * Thrown by `recv()` on a pipe connection once the other end is closed and
 * nothing is left to read (Python's `EOFError` on a `Connection`), and by
 * `send()` on a closed connection.
 *
 * @example
 * ```ts
 * import { PipeClosed } from "@baton/baton/worker";
 *
 * const error = new PipeClosed();
 * console.log(error.name); // "PipeClosed"
 * ```
 */
export class PipeClosed extends Error {
  /** Makes an error; the default message says the pipe is closed. */
  constructor(message = "the pipe is closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "PipeClosed";
  }
}

/**
 * Rejects every pending operation of a cross-worker link when the link is
 * closed, its worker terminated or its endpoint goes away.
 *
 * @example
 * ```ts
 * import { LinkClosed } from "@baton/baton/worker";
 *
 * const error = new LinkClosed();
 * console.log(error.name); // "LinkClosed"
 * ```
 */
export class LinkClosed extends Error {
  /** Makes an error; the default message says the link is closed. */
  constructor(message = "the link is closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "LinkClosed";
  }
}

/**
 * Thrown by a Redis primitive whose state the server lost while its client
 * lived: the server restarted without persistence, or its keys were deleted
 * (`FLUSHALL`, `FLUSHDB`). What was kept there is gone (a queue's items and
 * task counts, its shutdown, permits held, a lock's hold), as with any Redis
 * data. The primitive is set up again as its program declared it (a queue's
 * `maxsize`, a semaphore's initial value); the first call that finds out
 * rejects with this error, as do waits on what vanished (a `join`, a blocked
 * `acquire`), and the calls after it work on the new state.
 *
 * @example
 * ```ts
 * import { StateLost } from "@baton/baton/errors";
 *
 * const error = new StateLost();
 * console.log(error.name); // "StateLost"
 * ```
 */
export class StateLost extends Error {
  /** Makes an error; the default message says the server lost the state. */
  constructor(
    message = "the Redis server lost this primitive's state",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StateLost";
  }
}
