/// <reference lib="deno.worker" />
/** examples/flow-control: a slow consumer that checks a running flag between get({ timeout }) calls. */
import { type Queue, QueueEmpty } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let running = true;
self.addEventListener("message", (event: MessageEvent) => {
  if (event.data === "stop") running = false; // the main thread's own message, not baton's
});

const remote = await connect<{ jobs: Queue<number> }>(self);
const consumed: number[] = [];
while (running) {
  let item: number;
  try {
    item = await remote.jobs.get({ timeout: 50 });
  } catch (error) {
    if (!(error instanceof QueueEmpty)) throw error;
    continue; // nothing came: check the flag again
  }
  await sleep(10); // slow work
  consumed.push(item);
  await remote.jobs.taskDone();
}
await remote.close();
self.postMessage({ finished: { consumed } });
self.close();
