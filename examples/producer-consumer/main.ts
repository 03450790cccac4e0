/**
 * producer-consumer: one producer process and one consumer process exchange
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
import { Process } from "@baton/baton/worker";
import type consumer from "./consumer.ts";
import type producer from "./producer.ts";

const MAXSIZE = 5;
const ITEMS = 20;

const items = new Queue<number>(MAXSIZE);
const produced = new Queue<number>(); // what each side reports, for the summary
const consumed = new Queue<number>();
const p = new Process<typeof producer>(new URL("./producer.ts", import.meta.url), {
  args: [items, ITEMS, produced],
});
const c = new Process<typeof consumer>(new URL("./consumer.ts", import.meta.url), {
  args: [items, consumed],
});
p.start();
c.start();
await p.join();
await c.join();

const drain = (queue: Queue<number>) =>
  Array.from({ length: queue.qsize() }, () => queue.getNowait());
const [sent, taken] = [drain(produced), drain(consumed)];
const ordered = taken.length === sent.length && taken.every((item, index) => item === sent[index]);
console.log(`producer: put ${sent.length} items into a Queue(${MAXSIZE}), then shutdown()`);
console.log(`consumer: took ${taken.length} items in order; its loop ended at shutdown`);
console.log(`summary: produced=${sent.length} consumed=${taken.length} ordered=${ordered}`);
