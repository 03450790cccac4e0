/**
 * flow-control: a fast producer and a slow consumer on a bounded
 * `Queue(3)`, three ways.
 *
 * - Blocking `put`: the producer waits whenever the queue is full, so it
 *   goes at the consumer's pace and nothing is lost.
 * - `putNowait`: the producer never waits; when the queue is full it gets
 *   `QueueFull`, logs it and drops the item (which ones depends on timing).
 * - The consumer calls `get({ timeout })` in a loop and checks a `running`
 *   flag between tries, so it notices a stop request even while no item
 *   comes. The main thread clears the flag with a plain message.
 *
 * Python: `q.put(item)` vs `q.put(item, block=False)` with `except
 * queue.Full: log.warning(...)`, and `while running: try: q.get(timeout=...)
 * except queue.Empty: continue` (Python Cookbook 12.3).
 *
 * Run: deno task example:flow-control
 */
import { Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const MAXSIZE = 3;

interface ProducerReport {
  blocking: number;
  blockingMs: number;
  tried: number;
  accepted: number[];
  dropped: number[];
}

const jobs = new Queue<number>(MAXSIZE);
const producer = new Worker(new URL("./producer.ts", import.meta.url), { type: "module" });
const consumer = new Worker(new URL("./consumer.ts", import.meta.url), { type: "module" });
const links = [serve(producer, { jobs }), serve(consumer, { jobs })];
const consumerDone = finished<{ consumed: number[] }>(consumer);

const report = await finished<ProducerReport>(producer);
await jobs.join(); // the consumer has processed everything that got in
consumer.postMessage("stop"); // clears its running flag; baton ignores this message
const { consumed } = await consumerDone;
for (const link of links) link.close();

console.log(
  `blocking put: ${report.blocking} items in ${report.blockingMs} ms, at the consumer's pace; none lost`,
);
console.log(
  `putNowait:    ${report.tried} tried, ${report.accepted.length} accepted, ${report.dropped.length} dropped on QueueFull`,
);
console.log(
  `consumer:     took ${consumed.length} items, then saw its running flag cleared between two get({ timeout }) calls`,
);
console.log(
  `summary: blocking=${report.blocking} tried=${report.tried} accepted=${report.accepted.length} dropped=${report.dropped.length} consumed=${consumed.length}`,
);
