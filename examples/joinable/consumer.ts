/// <reference lib="deno.worker" />
/** examples/joinable: a daemon consumer. It never stops by itself; the main thread terminates it. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// prefetch: 0, so each slow job goes to whichever consumer asks first.
const remote = await connect<
  { jobs: Queue<string>; processed: Queue<{ item: string; by: string }> }
>(
  self,
  { prefetch: 0 },
);
for await (const item of remote.jobs) {
  await sleep(5); // the work
  await remote.processed.put({ item, by: self.name });
  await remote.jobs.taskDone(); // after the result is out: join() then means "results are in"
}
