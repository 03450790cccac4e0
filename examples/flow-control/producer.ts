/** examples/flow-control: a fast producer, first with blocking put, then with putNowait. */
import { QueueFull } from "@baton/baton";
import type { RemoteQueue } from "@baton/baton/worker";

/** What the producer tells the main thread at the end. */
export interface ProducerReport {
  blocking: number;
  blockingMs: number;
  tried: number;
  accepted: number[];
  dropped: number[];
}

export default async function producer(
  jobs: RemoteQueue<number>,
  reports: RemoteQueue<ProducerReport>,
): Promise<void> {
  // 1. Blocking put: waits for room, so it runs at the consumer's pace.
  const started = performance.now();
  for (let n = 1; n <= 8; n++) await jobs.put(n);
  const blockingMs = Math.round(performance.now() - started);
  await jobs.join(); // let the consumer catch up before the second part

  // 2. putNowait: never waits; a full queue means the item is dropped.
  const accepted: number[] = [];
  const dropped: number[] = [];
  for (let n = 9; n <= 14; n++) {
    try {
      await jobs.putNowait(n);
      accepted.push(n);
    } catch (error) {
      if (!(error instanceof QueueFull)) throw error; // rebuilt as baton's own class here
      console.log(`producer: queue full, dropped item ${n}`);
      dropped.push(n);
    }
  }
  await reports.put({ blocking: 8, blockingMs, tried: 6, accepted, dropped });
}
