/**
 * Web Streams and iteration over the queues. Over a queue that is not in
 * this thread (a worker's proxy, a Redis queue): a readable stream that reads
 * with `get` and a writable one that writes with `put`. Over the local
 * `Queue`: a readable stream exact to the slot, through the queue's
 * module-private access, and its async iterator. Internal.
 *
 * @module
 */

import type { WaitOptions } from "./_waiters.ts";
import type { QueueAccess, QueueWait, SlotHold } from "./_queue_access.ts";
import type { Queue } from "./queue.ts";
import { QueueShutDown } from "./errors.ts";

/** The reason a read's `get` is aborted with when its stream is cancelled. */
const CANCELLED = new Error("the stream was cancelled");
/** The reason a read's `get` is aborted with when its reader released its lock. */
const RELEASED = new Error("the reader released its lock");

/**
 * A `ReadableStream` that takes one item per read with `get` (nothing ahead
 * of a reader) and closes on `QueueShutDown`. Cancelling it aborts the read
 * waiting; an item that read was handed before the abort took effect is
 * given to `keep` (the queue's next `get` returns it), never lost. The
 * cancel resolves once that read has settled, so whatever the program does
 * after `await cancel()` finds the kept item first (W-2, R-5). A read its
 * reader gave up by `releaseLock()` is aborted the same way: its item, if
 * it had one, is kept, never left in the stream's own buffer.
 */
export function readableOf<T>(
  get: (options: WaitOptions) => Promise<T>,
  keep: (item: T) => void,
): ReadableStream<T> {
  let reading:
    | { abort: AbortController; settled: Promise<void>; released: boolean }
    | undefined;
  let cancelled = false;
  const stream = new ReadableStream<T>({
    pull: async (controller) => {
      const abort = new AbortController();
      let settle!: () => void;
      const current = {
        abort,
        settled: new Promise<void>((resolve) => settle = resolve),
        released: false,
      };
      reading = current;
      try {
        const item = await get({ signal: abort.signal });
        // Unlocked: its reader was released without our releaseLock (a pipe that stopped with
        // preventCancel), so no read waits for the item. Kept, not left in the stream's buffer.
        if (cancelled || current.released || !stream.locked) keep(item);
        else controller.enqueue(item);
      } catch (error) {
        if (cancelled || current.released) return;
        if (error instanceof QueueShutDown) controller.close();
        else controller.error(error);
      } finally {
        if (reading === current) reading = undefined;
        settle();
      }
    },
    cancel: () => {
      cancelled = true;
      const current = reading;
      if (current === undefined) return;
      current.abort.abort(CANCELLED);
      return current.settled;
    },
  }, { highWaterMark: 0 });
  return onReaderRelease(stream, () => {
    const current = reading;
    if (current === undefined || current.released) return;
    current.released = true;
    current.abort.abort(RELEASED);
  });
}

/**
 * Calls `released` when a reader of `stream` (one `getReader()` gave) is
 * about to release its lock, while its read, if any, is still waiting: the
 * platform then rejects that read, and an item handed to it later would
 * stay in the stream's own buffer, which a cancel discards. The stream's
 * own iteration and pipes take their readers without `getReader()` and
 * release them only between reads.
 */
function onReaderRelease<T>(stream: ReadableStream<T>, released: () => void): ReadableStream<T> {
  const getReader = stream.getReader;
  Object.defineProperty(stream, "getReader", {
    configurable: true,
    writable: true,
    value: function (this: unknown, ...args: unknown[]) {
      const reader = (getReader as (...args: unknown[]) => ReadableStreamDefaultReader<T>)
        .apply(stream, args);
      const releaseLock = reader.releaseLock;
      Object.defineProperty(reader, "releaseLock", {
        configurable: true,
        writable: true,
        value: () => {
          released();
          releaseLock.call(reader);
        },
      });
      return reader;
    },
  });
  return stream;
}

/** A `WritableStream` whose writes are `put`s; `close` and `abort` shut the queue down. */
export function writableOf<T>(
  put: (item: T) => Promise<void>,
  shutdown: (immediate: boolean) => unknown,
): WritableStream<T> {
  return new WritableStream<T>({
    // `signal` is missing from some platforms' types (Node's) and, on old ones, at run time.
    write: (item, controller) =>
      abortable(put(item), (controller as { signal?: AbortSignal }).signal),
    close: async () => void await shutdown(false),
    abort: async () => void await shutdown(true),
  });
}

/**
 * Settles as `putting`, or rejects with the reason once `signal` aborts:
 * the stream aborts that signal at once on `abort()`, which otherwise waits
 * for the write in flight, so a put waiting for room would hold the abort
 * (the `shutdown(true)` that ends that put) back for good. The put left
 * behind is settled by that shutdown; its outcome is ignored.
 */
function abortable(putting: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  // A platform without the controller's signal (older ones): the plain put.
  // deno-coverage-ignore
  if (signal === undefined) return putting;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      putting.catch(() => {});
      reject(signal.reason);
    };
    // A stream calls `write` only while it is writable, so its signal is not aborted yet: a guard.
    // deno-coverage-ignore
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    putting.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The local queue's `ReadableStream`: one item per read, taken through a
 * hold so that an item handed to a read cancelled in that same turn goes
 * back to the head of the queue; see `Queue#toReadableStream`.
 */
export function readableOfQueue<T>(access: QueueAccess<T>): ReadableStream<T> {
  /** The read waiting in line, with the hold its item's slot moves to until it is enqueued. */
  let pending: { wait: QueueWait | undefined; hold: SlotHold; done: () => void } | undefined;
  let cancelled = false;
  /** Leaves the line if the read still waits there: nothing is taken for it. */
  const giveUp = () => {
    const read = pending;
    if (read?.wait?.cancel()) {
      pending = undefined;
      access.dropHold(read.hold);
      read.done();
    }
  };
  const stream = new ReadableStream<T>({
    pull: (controller) =>
      new Promise<void>((resolve) => {
        const hold = access.newHold("a readable stream's read");
        const read = { wait: undefined as QueueWait | undefined, hold, done: resolve };
        let settled = false;
        const settle = () => {
          settled = true;
          pending = undefined;
          access.dropHold(hold);
          resolve();
        };
        const wait = access.waitTake(hold, (taken) => {
          // Handed as it was cancelled, or when no reader holds the stream (a pipe that stopped
          // with preventCancel let go of it without our releaseLock): back to the head.
          if (cancelled || !stream.locked) access.requeue(hold, [taken]);
          else {
            access.release(hold, 1); // read: it leaves the queue as a get's item would
            controller.enqueue(taken.item);
          }
          settle();
        }, (error) => {
          if (error instanceof QueueShutDown) controller.close();
          else controller.error(error);
          settle();
        });
        if (!settled) {
          read.wait = wait;
          pending = read;
        }
      }),
    cancel: () => {
      cancelled = true;
      giveUp();
    },
  }, { highWaterMark: 0 });
  // A read given up by its reader's releaseLock() leaves the line too: an item handed to it
  // later would wait in the stream's own buffer, which a cancel discards.
  return onReaderRelease(stream, giveUp);
}

/** The reason a waiting step's `get` is aborted with when its iterator's `return()` is called. */
const RETURNED = new Error("the iterator was given up");

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true });

/**
 * An async iterator over what `get` returns, done at `QueueShutDown`. Its
 * `return()` gives up the steps that wait: their gets are aborted, each ends
 * done, and an item one was handed as it was given up goes to `keep` (the
 * queue's next get returns it), never lost. `return()` resolves once they
 * settled, then runs `left` (if given); every later `next()` is done.
 * `atHand` (if given) takes an item that needs no wait, the common step,
 * or returns `NOTHING`.
 */
export function iteratorOf<T>(
  get: (options: WaitOptions) => Promise<T>,
  keep: (item: T) => void,
  atHand?: () => T | typeof NOTHING,
  left?: () => void,
): AsyncIterator<T> {
  let finished = false;
  const waiting = new Set<{ abort: AbortController; settled: Promise<unknown> }>();
  return {
    next: (): Promise<IteratorResult<T>> => {
      if (finished) return Promise.resolve(DONE);
      if (atHand !== undefined) {
        const item = atHand();
        if (item !== NOTHING) return Promise.resolve({ value: item, done: false });
      }
      const abort = new AbortController();
      const step = get({ signal: abort.signal }).then(
        (item): IteratorResult<T> => {
          if (!finished) return { value: item, done: false };
          keep(item); // handed as the loop was given up: the next get's
          return DONE;
        },
        (error): IteratorResult<T> => {
          if (error === RETURNED || error instanceof QueueShutDown) return DONE;
          throw error;
        },
      );
      const current = { abort, settled: step.then(noop, noop) };
      waiting.add(current);
      void current.settled.then(() => waiting.delete(current));
      return step;
    },
    return: async (): Promise<IteratorResult<T>> => {
      finished = true;
      const steps = [...waiting];
      for (const step of steps) step.abort.abort(RETURNED);
      await Promise.all(steps.map((step) => step.settled));
      left?.();
      return DONE;
    },
  };
}

/** What `atHand` returns when nothing is at hand. */
export const NOTHING: unique symbol = Symbol("nothing at hand");

function noop(): void {}

/**
 * The local queue's iterator: a plain object, not an async generator, so each
 * step with an item at hand costs one `getNowait`. A step that waits stands in
 * the queue's line through a hold, so that `return()` can take it out of the
 * line, or give the item it was handed in that same step back to the head of
 * the queue; after `return()` every `next()` is done.
 */
export class QueueIterator<T> implements AsyncIterator<T> {
  #queue: Queue<T>;
  #makeAccess: () => QueueAccess<T>;
  #madeAccess: QueueAccess<T> | undefined;
  #finished = false;
  /** The steps waiting in line, each with the hold its item's slot moves to. */
  #waiting = new Set<{ wait: QueueWait | undefined; hold: SlotHold; end: () => void }>();
  constructor(queue: Queue<T>, access: () => QueueAccess<T>) {
    this.#queue = queue;
    this.#makeAccess = access;
  }
  /** The queue's access, made when a step first waits (a loop that keeps up never needs it). */
  #access(): QueueAccess<T> {
    return this.#madeAccess ??= this.#makeAccess();
  }
  next(): Promise<IteratorResult<T>> {
    if (this.#finished) return Promise.resolve(DONE);
    const queue = this.#queue;
    if (!queue.empty()) {
      try {
        return Promise.resolve({ value: queue.getNowait(), done: false });
      } catch (error) {
        return Promise.reject(error); // a compare that throws: next() rejects, as get() would
      }
    }
    const access = this.#access();
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      const hold = access.newHold("a queue iterator's step");
      const step = { wait: undefined as QueueWait | undefined, hold, end: () => resolve(DONE) };
      let settled = false;
      const settle = () => {
        settled = true;
        this.#waiting.delete(step);
        access.dropHold(hold);
      };
      const wait = access.waitTake(hold, (taken) => {
        access.release(hold, 1); // taken: it leaves the queue as a get's item would
        settle();
        resolve({ value: taken.item, done: false });
      }, (error) => {
        settle();
        if (error instanceof QueueShutDown) resolve(DONE);
        else reject(error);
      });
      if (!settled) {
        step.wait = wait;
        this.#waiting.add(step);
      }
    });
  }
  return(): Promise<IteratorResult<T>> {
    this.#finished = true;
    for (const step of this.#waiting) {
      // Still in line (nothing was handed to it: a hand-off settles the step in its own step).
      if (step.wait?.cancel()) {
        this.#waiting.delete(step);
        this.#access().dropHold(step.hold);
        step.end();
      }
    }
    return Promise.resolve(DONE);
  }
}
