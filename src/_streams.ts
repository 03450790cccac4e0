/**
 * Web Streams over a queue that is not in this thread (a worker's proxy, a
 * Redis queue): a readable stream that reads with `get` and a writable one
 * that writes with `put`. Internal; the local `Queue` has its own, exact to
 * the slot.
 *
 * @module
 */

import type { WaitOptions } from "./_waiters.ts";
import { QueueShutDown } from "./errors.ts";

/** The reason a read's `get` is aborted with when its stream is cancelled. */
const CANCELLED = new Error("the stream was cancelled");

/**
 * A `ReadableStream` that takes one item per read with `get` (nothing ahead
 * of a reader) and closes on `QueueShutDown`. Cancelling it aborts the read
 * waiting; an item that read was handed before the abort took effect is
 * given to `keep` (the queue's next `get` returns it), never lost.
 */
export function readableOf<T>(
  get: (options: WaitOptions) => Promise<T>,
  keep: (item: T) => void,
): ReadableStream<T> {
  let reading: AbortController | undefined;
  let cancelled = false;
  return new ReadableStream<T>({
    pull: async (controller) => {
      const abort = new AbortController();
      reading = abort;
      try {
        const item = await get({ signal: abort.signal });
        if (cancelled) keep(item);
        else controller.enqueue(item);
      } catch (error) {
        if (cancelled) return;
        if (error instanceof QueueShutDown) controller.close();
        else controller.error(error);
      } finally {
        if (reading === abort) reading = undefined;
      }
    },
    cancel: () => {
      cancelled = true;
      reading?.abort(CANCELLED);
    },
  }, { highWaterMark: 0 });
}

/** A `WritableStream` whose writes are `put`s; `close` and `abort` shut the queue down. */
export function writableOf<T>(
  put: (item: T) => Promise<void>,
  shutdown: (immediate: boolean) => unknown,
): WritableStream<T> {
  return new WritableStream<T>({
    write: (item) => put(item),
    close: async () => void await shutdown(false),
    abort: async () => void await shutdown(true),
  });
}
