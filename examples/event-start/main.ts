/**
 * event-start: three workers wait on one `Event` and start together when
 * the main thread sets it. Each worker tells the main thread when it is
 * waiting and when it started, through a `Queue`; the main thread checks
 * that none started before `set()`.
 *
 * Python: `threading.Event` (or `multiprocessing.Event`) as a start signal:
 * workers call `event.wait()`, the main thread calls `event.set()`.
 *
 * Run: deno task example:event-start
 */
import { Event, Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const WORKERS = 3;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A time that compares across threads (each thread has its own `performance.now()` origin). */
const now = () => performance.timeOrigin + performance.now();

interface Report {
  name: string;
  state: "waiting" | "started";
  at: number;
}

const start = new Event();
const reports = new Queue<Report>();
const workers = Array.from({ length: WORKERS }, (_, i) => {
  const name = `worker-${i + 1}`;
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name });
  return { link: serve(worker, { start, reports }), done: finished<string>(worker) };
});

for (let i = 0; i < WORKERS; i++) await reports.get(); // all three are waiting
await sleep(50);
const early = reports.qsize(); // a "started" report here would mean one did not wait
const status = early === 0 ? "none has started" : `${early} started too early`;
console.log(`main: ${WORKERS} workers are waiting on one Event; 50 ms later ${status}`);
const setAt = now();
start.set();

const started: Report[] = [];
for (let i = 0; i < WORKERS; i++) started.push(await reports.get());
await Promise.all(workers.map((w) => w.done));
for (const { link } of workers) link.close();

started.sort((a, b) => a.name.localeCompare(b.name));
for (const report of started) {
  console.log(`${report.name}: started ${(report.at - setAt).toFixed(1)} ms after set()`);
}
const afterSet = started.filter((report) => report.at >= setAt).length;
console.log(
  `summary: waiting=${WORKERS} early=${early} started=${started.length} after_set=${afterSet}`,
);
