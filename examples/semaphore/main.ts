/**
 * semaphore: eight tasks, two in each of four workers, share a
 * `Semaphore(5)` that lives in the main thread: at most five "connections"
 * are open at once, and the others wait their turn. Each task reports when
 * it opens and closes its connection through a `Queue`, and the main thread
 * prints the live count as it changes.
 *
 * Python: `threading.Semaphore(5)` (or `BoundedSemaphore`) limiting
 * concurrent connections, `with sem: ...` around the work.
 *
 * Run: deno task example:semaphore
 */
import { Queue, Semaphore } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const WORKERS = 4;
const TASKS_PER_WORKER = 2;
const LIMIT = 5;

interface Change {
  task: string;
  open: boolean;
}

const connections = new Semaphore(LIMIT);
const changes = new Queue<Change>();
const workers = Array.from({ length: WORKERS }, (_, i) => {
  const name = `worker-${i + 1}`;
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name });
  return { link: serve(worker, { connections, changes }), done: finished<number>(worker) };
});

const tasks = WORKERS * TASKS_PER_WORKER;
let live = 0;
let maxLive = 0;
const counts: number[] = [];
for (let i = 0; i < 2 * tasks; i++) { // every task opens and closes once
  const change = await changes.get();
  live += change.open ? 1 : -1;
  maxLive = Math.max(maxLive, live);
  counts.push(live);
}
const ran = (await Promise.all(workers.map((w) => w.done))).reduce((a, b) => a + b, 0);
for (const { link } of workers) link.close();

console.log(`${tasks} tasks on ${WORKERS} workers, at most ${LIMIT} connections at once`);
console.log(`live connections: ${counts.join(" ")}`);
console.log(
  `summary: tasks=${ran} max_live=${maxLive} limit=${LIMIT} free_at_end=${connections.value}`,
);
