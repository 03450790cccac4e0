/** examples/event-start: says it is waiting, waits for the start Event, says when it started. */
import { currentProcess, type RemoteEvent, type RemoteQueue } from "@baton/baton/worker";

/** What a worker tells the main thread. */
export interface Report {
  name: string;
  state: "waiting" | "started";
  at: number;
}

/** A time that compares across threads (each thread has its own `performance.now()` origin). */
export const now = () => performance.timeOrigin + performance.now();

export default async function worker(
  signal: RemoteEvent,
  reports: RemoteQueue<Report>,
): Promise<void> {
  const name = currentProcess().name;
  await reports.put({ name, state: "waiting", at: now() });
  await signal.wait();
  await reports.put({ name, state: "started", at: now() });
}
