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
 *   comes. The flag is an `Event` passed to the consumer process; the main
 *   thread sets it to stop the consumer.
 *
 * Python: `q.put(item)` vs `q.put(item, block=False)` with `except
 * queue.Full: log.warning(...)`, and `while running: try: q.get(timeout=...)
 * except queue.Empty: continue` (Python Cookbook 12.3); between
 * `multiprocessing.Process`es the shared flag is a `multiprocessing.Event`,
 * as here.
 *
 * Run: deno task example:flow-control
 */
import { Event, Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type consumer from "./consumer.ts";
import type { default as producer, ProducerReport } from "./producer.ts";

const MAXSIZE = 3;

const jobs = new Queue<number>(MAXSIZE);
const stop = new Event(); // the consumer runs while it is not set
const reports = new Queue<ProducerReport>(); // what each side reports, for the summary
const taken = new Queue<number>();
const p = new Process<typeof producer>(new URL("./producer.ts", import.meta.url), {
  args: [jobs, reports],
});
const c = new Process<typeof consumer>(new URL("./consumer.ts", import.meta.url), {
  args: [jobs, stop, taken],
});
p.start();
c.start();

await p.join();
await jobs.join(); // the consumer has processed everything that got in
stop.set(); // the consumer sees it between two get({ timeout }) calls
await c.join();

const report = reports.getNowait();
const consumed = Array.from({ length: taken.qsize() }, () => taken.getNowait());

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
