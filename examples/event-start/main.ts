/**
 * event-start: three processes wait on one `Event` and start together when
 * the main thread sets it. Each process tells the main thread when it is
 * waiting and when it started, through a `Queue`; the main thread checks
 * that none started before `set()`.
 *
 * Python: `threading.Event` (or `multiprocessing.Event`) as a start signal:
 * three threads named `thread-i` get the Event as an argument and call
 * `signal.wait()`, the main thread sleeps, then calls `signal.set()`.
 *
 * Run: deno task example:event-start
 */
import { Event, Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import { now, type Report } from "./worker.ts";
import type worker from "./worker.ts";

const WORKERS = 3;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const signal = new Event();
const reports = new Queue<Report>();
const workers = Array.from(
  { length: WORKERS },
  (_, i) =>
    new Process<typeof worker>(new URL("./worker.ts", import.meta.url), {
      args: [signal, reports],
      name: `worker-${i + 1}`,
    }),
);
for (const w of workers) w.start();

for (let i = 0; i < WORKERS; i++) await reports.get(); // all three are waiting
await sleep(50);
const early = reports.qsize(); // a "started" report here would mean one did not wait
const status = early === 0 ? "none has started" : `${early} started too early`;
console.log(`main: ${WORKERS} workers are waiting on one Event; 50 ms later ${status}`);
const setAt = now();
signal.set();

const started: Report[] = [];
for (let i = 0; i < WORKERS; i++) started.push(await reports.get());
for (const w of workers) await w.join();

started.sort((a, b) => a.name.localeCompare(b.name));
for (const report of started) {
  console.log(`${report.name}: started ${(report.at - setAt).toFixed(1)} ms after set()`);
}
const afterSet = started.filter((report) => report.at >= setAt).length;
console.log(
  `summary: waiting=${WORKERS} early=${early} started=${started.length} after_set=${afterSet}`,
);
