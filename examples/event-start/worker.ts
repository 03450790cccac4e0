/// <reference lib="deno.worker" />
/** examples/event-start: says it is waiting, waits for the start Event, says when it started. */
import type { Event, Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

interface Report {
  name: string;
  state: "waiting" | "started";
  at: number;
}
const now = () => performance.timeOrigin + performance.now();

const remote = await connect<{ start: Event; reports: Queue<Report> }>(self);
await remote.reports.put({ name: self.name, state: "waiting", at: now() });
await remote.start.wait();
await remote.reports.put({ name: self.name, state: "started", at: now() });
await remote.close();
self.postMessage({ finished: self.name });
self.close();
