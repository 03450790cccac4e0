/// <reference lib="deno.worker" />
/** examples/flow-control: a fast producer, first with blocking put, then with putNowait. */
import { type Queue, QueueFull } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ jobs: Queue<number> }>(self);

// 1. Blocking put: waits for room, so it runs at the consumer's pace.
const started = performance.now();
for (let n = 1; n <= 8; n++) await remote.jobs.put(n);
const blockingMs = Math.round(performance.now() - started);
await remote.jobs.join(); // let the consumer catch up before the second part

// 2. putNowait: never waits; a full queue means the item is dropped.
const accepted: number[] = [];
const dropped: number[] = [];
for (let n = 9; n <= 14; n++) {
  try {
    await remote.jobs.putNowait(n);
    accepted.push(n);
  } catch (error) {
    if (!(error instanceof QueueFull)) throw error; // rebuilt as baton's own class in this worker
    console.log(`producer: queue full, dropped item ${n}`);
    dropped.push(n);
  }
}
await remote.close();
self.postMessage({ finished: { blocking: 8, blockingMs, tried: 6, accepted, dropped } });
self.close();
