/**
 * handshake: the producer sends (data, Event) pairs and waits for each
 * item's Event, so it knows when the consumer has processed that item. The
 * Event travels inside the item and arrives in the consumer as a working
 * proxy of the producer's Event (W-14).
 *
 * Python: "pair the data with an Event" from the Python Cookbook (12.3),
 * `q.put((data, evt)); evt.wait()` in the producer and `evt.set()` in the
 * consumer.
 *
 * Run: deno task example:handshake
 */
import { Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type consumer from "./consumer.ts";
import type producer from "./producer.ts";

const ITEMS = 3;

const jobs = new Queue<unknown>(1);
const confirmed = new Queue<number>(); // what each side reports, for the summary
const processed = new Queue<number>();
const p = new Process<typeof producer>(new URL("./producer.ts", import.meta.url), {
  args: [jobs, ITEMS, confirmed],
});
const c = new Process<typeof consumer>(new URL("./consumer.ts", import.meta.url), {
  args: [jobs, processed],
});
p.start();
c.start();
await p.join();
await c.join();

const drain = (queue: Queue<number>) =>
  Array.from({ length: queue.qsize() }, () => queue.getNowait());
const [sent, done] = [drain(confirmed), drain(processed)];
const inOrder = sent.join() === done.join();
console.log(
  `summary: sent=${ITEMS} processed=${done.length} confirmed=${sent.length} in_order=${inOrder}`,
);
