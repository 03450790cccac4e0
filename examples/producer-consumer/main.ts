/**
 * producer-consumer: one producer worker and one consumer worker exchange
 * numbers through a bounded `Queue` that lives in the main thread. The
 * producer's `put` waits while the queue is full, so it runs at the pace of
 * the slower consumer; after its last item it calls `shutdown()`, and the
 * consumer's `for await` loop ends once the queue is empty.
 *
 * Python: a `queue.Queue(maxsize=5)` shared by a producer and a consumer
 * thread (or `multiprocessing.Queue` between two processes).
 *
 * Run: deno task example:producer-consumer
 */
import { Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const MAXSIZE = 5;

const items = new Queue<number>(MAXSIZE);
const producer = new Worker(new URL("./producer.ts", import.meta.url), { type: "module" });
const consumer = new Worker(new URL("./consumer.ts", import.meta.url), { type: "module" });
const links = [serve(producer, { items }), serve(consumer, { items })];

const [produced, consumed] = await Promise.all([
  finished<number[]>(producer),
  finished<number[]>(consumer),
]);
for (const link of links) link.close();

const ordered = consumed.length === produced.length &&
  consumed.every((item, index) => item === produced[index]);
console.log(`producer: put ${produced.length} items into a Queue(${MAXSIZE}), then shutdown()`);
console.log(`consumer: took ${consumed.length} items in order; its loop ended at shutdown`);
console.log(`summary: produced=${produced.length} consumed=${consumed.length} ordered=${ordered}`);
