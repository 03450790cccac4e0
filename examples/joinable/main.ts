/**
 * joinable: three producer processes and two daemon consumer processes share
 * one `Queue`. Consumers call `taskDone()` after each item; each producer
 * calls `join()` on the queue after its last `put`, which returns once every
 * item put so far has been processed. The main thread joins the producers
 * and ends: the daemon consumers, which never stop by themselves, end with it.
 *
 * Python: `multiprocessing.JoinableQueue` with `Process(..., daemon=True)`
 * consumers, which are killed when the main program ends.
 *
 * Run: deno task example:joinable
 */
import { Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type consumer from "./consumer.ts";
import type producer from "./producer.ts";

const PRODUCERS = 3;
const CONSUMERS = 2;

interface Processed {
  item: string;
  by: string;
}

const jobs = new Queue<string>();
const processed = new Queue<Processed>();

for (let i = 1; i <= CONSUMERS; i++) {
  new Process<typeof consumer>(new URL("./consumer.ts", import.meta.url), {
    args: [jobs, processed],
    name: `consumer-${i}`,
    daemon: true,
  }).start();
}
const producers = Array.from(
  { length: PRODUCERS },
  (_, i) =>
    new Process<typeof producer>(new URL("./producer.ts", import.meta.url), {
      args: [jobs, 5],
      name: `producer-${i + 1}`,
    }),
);
for (const p of producers) p.start();
// Each producer returns from jobs.join() only when its items (and all before them) are done.
const codes = await Promise.all(producers.map((p) => p.join()));

const perConsumer = new Map<string, number>();
let count = 0;
while (!processed.empty()) {
  const { by } = processed.getNowait();
  perConsumer.set(by, (perConsumer.get(by) ?? 0) + 1);
  count++;
}
const shares = [...perConsumer].sort().map(([name, n]) => `${name} ${n}`).join(", ");
const produced = PRODUCERS * 5;
console.log(
  `producers: ${PRODUCERS} processes put ${produced} items, each waited in join() (exit codes ${
    codes.join(", ")
  })`,
);
console.log(`consumers: processed ${count} items (${shares})`);
console.log(`main:      all done; the ${CONSUMERS} daemon consumers end with the program`);
console.log(`summary: produced=${produced} processed=${count} unfinished=${jobs.unfinishedTasks}`);
