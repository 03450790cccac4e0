/**
 * isolation: module-level state is not shared between workers. The main
 * thread and a worker both import `state.ts` and append to its `notes`
 * array, but each thread has its own copy of the module: neither sees the
 * other's entries. Data crosses only through a baton `Queue`.
 *
 * Python: a global list changed in a `multiprocessing.Process` is unchanged
 * in the parent; pass data back through a `multiprocessing.Queue` instead.
 *
 * Run: deno task example:isolation
 */
import { Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { notes } from "./state.ts";
import { finished } from "../_finished.ts";

notes.push("written by main");

const mail = new Queue<string>();
const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const link = serve(worker, { mail });
const report = await finished<{ seenAtStart: number; notes: string[] }>(worker);
link.close();

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
