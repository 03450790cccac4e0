/// <reference lib="deno.worker" />
/** examples/semaphore: runs two tasks at once; each holds one of the five permits while "connected". */
import type { Queue, Semaphore } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const remote = await connect<{
  connections: Semaphore;
  changes: Queue<{ task: string; open: boolean }>;
}>(self);

async function task(task: string): Promise<void> {
  using _permit = await remote.connections.hold(); // released at the end of this block
  await remote.changes.put({ task, open: true });
  await sleep(30); // talk to the server
  await remote.changes.put({ task, open: false }); // before the permit goes back
}

await Promise.all([task(`${self.name}/a`), task(`${self.name}/b`)]);
await remote.close();
self.postMessage({ finished: 2 });
self.close();
