/**
 * priority: three producer processes feed one `PriorityQueue` with
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
import { PriorityQueue, Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type producer from "./producer.ts";

type Task = [priority: number, name: string];

const PRIORITIES: Record<string, number[]> = { A: [2, 1, 2, 3], B: [1, 3, 1, 2], C: [3, 2, 1, 1] };

const tasks = new PriorityQueue<Task>(); // compares arrays element by element, like tuples
const produced = new Queue<string>(); // what the producers report, for the summary
const producers = Object.entries(PRIORITIES).map(([name, priorities]) =>
  new Process<typeof producer>(new URL("./producer.ts", import.meta.url), {
    args: [tasks, priorities, produced],
    name,
  })
);
for (const p of producers) p.start();
for (const p of producers) await p.join();

const byPriority = new Map<number, string[]>();
let taken = 0;
while (!tasks.empty()) {
  const [priority, name] = tasks.getNowait();
  byPriority.set(priority, [...(byPriority.get(priority) ?? []), name]);
  taken++;
}
for (const [priority, names] of byPriority) console.log(`priority ${priority}: ${names.join(" ")}`);
console.log(
  `summary: produced=${produced.qsize()} taken=${taken} priorities=${
    [...byPriority.keys()].join(",")
  }`,
);
