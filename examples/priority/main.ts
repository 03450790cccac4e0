/**
 * priority: three producer workers feed one `PriorityQueue` with
 * `[priority, task]` pairs; the main thread then takes the tasks out,
 * smallest priority first. Tasks of equal priority come out in the order
 * they were put (the queue is stable), so each producer's tasks of one
 * priority keep their order; between producers, that order is the order in
 * which their puts arrived.
 *
 * Python: `queue.PriorityQueue` with `(priority, item)` tuples (and the
 * `(priority, index, item)` trick for stability, which baton does not need).
 *
 * Run: deno task example:priority
 */
import { PriorityQueue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

type Task = [priority: number, name: string];

const tasks = new PriorityQueue<Task>(); // compares arrays element by element, like tuples
const producers = ["A", "B", "C"].map((name) => {
  const worker = new Worker(new URL("./producer.ts", import.meta.url), { type: "module", name });
  return { link: serve(worker, { tasks }), done: finished<number>(worker) };
});
const produced = (await Promise.all(producers.map((p) => p.done))).reduce((a, b) => a + b, 0);
for (const { link } of producers) link.close();

const byPriority = new Map<number, string[]>();
let taken = 0;
while (!tasks.empty()) {
  const [priority, name] = tasks.getNowait();
  byPriority.set(priority, [...(byPriority.get(priority) ?? []), name]);
  taken++;
}
for (const [priority, names] of byPriority) console.log(`priority ${priority}: ${names.join(" ")}`);
console.log(
  `summary: produced=${produced} taken=${taken} priorities=${[...byPriority.keys()].join(",")}`,
);
