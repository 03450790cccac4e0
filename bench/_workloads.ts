/**
 * Workloads shared by `queue_bench.ts`, `compare.ts` and `scaling.ts`, so
 * every figure measures the same code (and the `median` every bench script
 * reports). Each one moves `count` items through
 * a queue and resolves once the consumer has seen all of them; it throws if
 * an item is lost or duplicated (count and checksum), so a broken queue
 * cannot look fast.
 *
 * @module
 */

import type { Queue } from "../mod.ts";
import type { NaiveQueue } from "./_naive.ts";

/**
 * Checksums stay below 2^30 so they remain small integers: a sum growing past
 * that would become a heap-allocated number in an async function, an
 * allocation per item that only the large runs would pay.
 */
const CHECKSUM_MASK = 0x3fffffff;

function check(seen: number, count: number, sum: number): void {
  const expected = ((count * (count - 1)) / 2) % (CHECKSUM_MASK + 1);
  if (seen !== count || sum !== expected) {
    throw new Error(
      `lost or duplicated items: saw ${seen} of ${count}, sum ${sum} (want ${expected})`,
    );
  }
}

/**
 * How many extra microtask turns each side spends per item, standing in for
 * work. With none, producer and consumer alternate and neither ever waits;
 * a slower consumer makes every `put` wait for room (the putter path), a
 * slower producer makes every `get` wait for an item (the hand-off path).
 */
export interface Pace {
  producerTurns?: number;
  consumerTurns?: number;
}

/**
 * One producer awaiting `put`, one consumer in an explicit
 * `while (...) await q.get()` loop, for baton's queues.
 *
 * {@linkcode naiveProducerConsumerLoop} is the same code for the naive
 * queue. Two copies on purpose: V8 keeps type feedback per function, so one
 * shared loop would see both classes at its `put`/`get` call sites and slow
 * whichever dispatches worse; a real program's consumer sees one queue
 * class. Keep the two bodies identical.
 */
export async function producerConsumerLoop(
  queue: Queue<number>,
  count: number,
  pace: Pace = {},
): Promise<void> {
  const { producerTurns = 0, consumerTurns = 0 } = pace;
  const producer = (async () => {
    for (let i = 0; i < count; i++) {
      for (let turn = 0; turn < producerTurns; turn++) await null;
      await queue.put(i);
    }
  })();
  let seen = 0;
  let sum = 0;
  while (seen < count) {
    for (let turn = 0; turn < consumerTurns; turn++) await null;
    sum = (sum + await queue.get()) & CHECKSUM_MASK;
    seen++;
  }
  await producer;
  check(seen, count, sum);
}

/** {@linkcode producerConsumerLoop} for the naive queue: the same body. */
export async function naiveProducerConsumerLoop(
  queue: NaiveQueue<number>,
  count: number,
  pace: Pace = {},
): Promise<void> {
  const { producerTurns = 0, consumerTurns = 0 } = pace;
  const producer = (async () => {
    for (let i = 0; i < count; i++) {
      for (let turn = 0; turn < producerTurns; turn++) await null;
      await queue.put(i);
    }
  })();
  let seen = 0;
  let sum = 0;
  while (seen < count) {
    for (let turn = 0; turn < consumerTurns; turn++) await null;
    sum = (sum + await queue.get()) & CHECKSUM_MASK;
    seen++;
  }
  await producer;
  check(seen, count, sum);
}

/**
 * One producer awaiting `put` and then calling `shutdown()`, one consumer in
 * `for await (const x of queue)`, which ends when the queue is drained.
 */
export async function producerConsumerForAwait(
  queue: Queue<number>,
  count: number,
  pace: Pace = {},
): Promise<void> {
  const { producerTurns = 0, consumerTurns = 0 } = pace;
  const producer = (async () => {
    for (let i = 0; i < count; i++) {
      for (let turn = 0; turn < producerTurns; turn++) await null;
      await queue.put(i);
    }
    queue.shutdown();
  })();
  let seen = 0;
  let sum = 0;
  for await (const item of queue) {
    for (let turn = 0; turn < consumerTurns; turn++) await null;
    sum = (sum + item) & CHECKSUM_MASK;
    seen++;
  }
  await producer;
  check(seen, count, sum);
}

/** `putNowait` then `getNowait` of `count` items through an unbounded queue. */
export function nowaitBatch(queue: Queue<number>, count: number): void {
  for (let i = 0; i < count; i++) queue.putNowait(i);
  let sum = 0;
  for (let i = 0; i < count; i++) sum = (sum + queue.getNowait()) & CHECKSUM_MASK;
  check(count, count, sum);
}

/** The middle of `values` (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid] as number
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
