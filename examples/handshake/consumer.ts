/// <reference lib="deno.worker" />
/** examples/handshake: processes each item, then sets the item's Event. */
import { connect } from "@baton/baton/worker";
import type { Shared } from "./shared.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const remote = await connect<Shared>(self);
const processed: number[] = [];
for await (const job of remote.jobs) {
  await sleep(20); // the work
  console.log(`consumer: processed item ${job.n} (${job.data}), setting its Event`);
  processed.push(job.n);
  await remote[job.processed]!.set(); // the Event the producer waits on
  await remote.jobs.taskDone();
}
await remote.close();
self.postMessage({ finished: processed });
self.close();
