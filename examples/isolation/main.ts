/**
 * isolation: module-level state is not shared between processes. The main
 * thread and a `Process` both import `state.ts` and append to its `notes`
 * array, but each thread has its own copy of the module: neither sees the
 * other's entries. Data crosses only through a baton `Queue`.
 *
 * Python: a global changed in the target of a `multiprocessing.Process` is
 * unchanged in the parent after `p.join()`; pass data back through a
 * `multiprocessing.Queue` instead.
 *
 * Run: deno task example:isolation
 */
import { Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import { notes } from "./state.ts";
import type work from "./worker.ts";

interface Report {
  seenAtStart: number;
  notes: string[];
}

notes.push("written by main");

const mail = new Queue<string>();
const reports = new Queue<Report>();
const p = new Process<typeof work>(new URL("./worker.ts", import.meta.url), {
  args: [mail, reports],
});
p.start();
await p.join();

const report = reports.getNowait();
const received: string[] = [];
while (!mail.empty()) received.push(mail.getNowait());

console.log(
  `worker: found ${report.seenAtStart} notes at start, wrote ${report.notes.length}: ${
    report.notes.join(", ")
  }`,
);
console.log(`main:   its notes are unchanged: ${notes.join(", ")}`);
console.log(`main:   received through the queue: ${received.join(", ")}`);
console.log(
  `summary: worker_seen_at_start=${report.seenAtStart} worker_notes=${report.notes.length} main_notes=${notes.length} received=${received.length}`,
);
