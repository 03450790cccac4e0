/** examples/joinable: puts `n` items, then waits in join() until they are processed. */
import { currentProcess, type RemoteQueue } from "@baton/baton/worker";

export default async function producer(jobs: RemoteQueue<string>, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await jobs.put(`${currentProcess().name}/${i}`);
  await jobs.join(); // returns once every item put so far is marked done
}
