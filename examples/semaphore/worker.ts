/** examples/semaphore: one task; it holds one of the five permits while "connected". */
import { currentProcess, type RemoteQueue, type RemoteSemaphore } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a task tells the main thread when it opens or closes its connection. */
export interface Change {
  task: string;
  open: boolean;
}

export default async function showfun(
  connections: RemoteSemaphore,
  changes: RemoteQueue<Change>,
): Promise<void> {
  const task = currentProcess().name;
  using _permit = await connections.hold(); // released at the end of this function
  await changes.put({ task, open: true });
  await sleep(200); // talk to the server
  await changes.put({ task, open: false }); // before the permit goes back
}
