/// <reference lib="deno.worker" />
/** examples/handshake: sends each item with its Event's name, then waits for that Event. */
import { connect } from "@baton/baton/worker";
import { ITEMS, type Shared } from "./shared.ts";

const remote = await connect<Shared>(self);
const confirmed: number[] = [];
for (let n = 1; n <= ITEMS; n++) {
  const processed = `processed-${n}` as const;
  console.log(`producer: sent item ${n}, waiting for its Event`);
  await remote.jobs.put({ n, data: `payload ${n}`, processed });
  await remote[processed]!.wait(); // returns once the consumer has set it (main serves one per item)
  console.log(`producer: item ${n} was processed`);
  confirmed.push(n);
}
await remote.jobs.shutdown(); // ends the consumer's loop
await remote.close();
self.postMessage({ finished: confirmed });
self.close();
