/**
 * handshake: the producer sends (data, Event) pairs and waits for each
 * item's Event, so it knows when the consumer has processed that item.
 *
 * An Event cannot travel inside a message (it would arrive as a plain
 * object), so the main thread serves one Event per item by name
 * (`processed-1`, ...) and each item carries the name of its Event.
 *
 * Python: "pair the data with an Event" from the Python Cookbook (12.3),
 * `q.put((data, evt)); evt.wait()` in the producer and `evt.set()` in the
 * consumer.
 *
 * Run: deno task example:handshake
 */
import { Event, Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { ITEMS, type Job } from "./shared.ts";
import { finished } from "../_finished.ts";

const shared = {
  jobs: new Queue<Job>(1),
  ...Object.fromEntries(
    Array.from({ length: ITEMS }, (_, i) => [`processed-${i + 1}`, new Event()]),
  ),
};
const producer = new Worker(new URL("./producer.ts", import.meta.url), { type: "module" });
const consumer = new Worker(new URL("./consumer.ts", import.meta.url), { type: "module" });
const links = [serve(producer, shared), serve(consumer, shared)];
const [confirmed, processed] = await Promise.all([
  finished<number[]>(producer),
  finished<number[]>(consumer),
]);
for (const link of links) link.close();

const inOrder = confirmed.join() === processed.join();
console.log(
  `summary: sent=${ITEMS} processed=${processed.length} confirmed=${confirmed.length} in_order=${inOrder}`,
);
