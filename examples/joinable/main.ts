/**
 * joinable: three producer workers and two consumer workers share one
 * `Queue`. Consumers call `taskDone()` after each item; each producer calls
 * `join()` after its last `put`, which returns once every item put so far has
 * been processed. When all producers have returned from `join()`, every item
 * is done, and the main thread stops the consumers, which never stop by
 * themselves, with `terminate()`.
 *
 * Python: `queue.Queue.task_done()` / `join()` (or
 * `multiprocessing.JoinableQueue`) with daemon consumer threads, which are
 * killed when the main thread ends.
 *
 * Run: deno task example:joinable
 */
import { Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const PRODUCERS = 3;
const CONSUMERS = 2;

interface Processed {
  item: string;
  by: string;
}

const jobs = new Queue<string>();
const processed = new Queue<Processed>();
const start = (module: string, name: string) =>
  new Worker(new URL(module, import.meta.url), { type: "module", name });

const consumers = Array.from({ length: CONSUMERS }, (_, i) => {
  const worker = start("./consumer.ts", `consumer-${i + 1}`);
  return { worker, link: serve(worker, { jobs, processed }) };
});
const producers = Array.from({ length: PRODUCERS }, (_, i) => {
  const worker = start("./producer.ts", `producer-${i + 1}`);
  return { link: serve(worker, { jobs }), done: finished<string[]>(worker) };
});

// Each producer returns from join() only when its items (and all before them) are done.
const produced = (await Promise.all(producers.map((p) => p.done))).flat();
for (const { link } of producers) link.close();

// Every item is processed: stop the daemon consumers, idle in their loops. Terminate
// first: closing the link first would make their pending get reject LinkClosed.
for (const { worker, link } of consumers) {
  worker.terminate();
  link.close();
}

const perConsumer = new Map<string, number>();
let count = 0;
while (!processed.empty()) {
  const { by } = processed.getNowait();
  perConsumer.set(by, (perConsumer.get(by) ?? 0) + 1);
  count++;
}
const shares = [...perConsumer].sort().map(([name, n]) => `${name} ${n}`).join(", ");
console.log(`producers: ${PRODUCERS} workers put ${produced.length} items, each waited in join()`);
console.log(`consumers: processed ${count} items (${shares})`);
console.log(`main:      all done; stopped the ${CONSUMERS} daemon consumers with terminate()`);
console.log(
  `summary: produced=${produced.length} processed=${count} unfinished=${jobs.unfinishedTasks}`,
);
