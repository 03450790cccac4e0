/// <reference lib="deno.worker" />
/** examples/consumer-owned: connects to the consumer's queue over its port and fills it. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

self.onmessage = async (event: MessageEvent<{ port: MessagePort; items: number }>) => {
  const { port, items } = event.data;
  const remote = await connect<{ numbers: Queue<number> }>(port);
  for (let n = 0; n < items; n++) await remote.numbers.put(n); // waits while 1000 are queued
  await remote.numbers.shutdown();
  await remote.close();
  port.close();
  self.postMessage({ finished: items });
  self.close();
};
