/// <reference lib="deno.worker" />
/** examples/sentinel: puts ten numbers; producer-1 puts 101..110, producer-2 201..210. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const base = Number(self.name.split("-")[1]) * 100;
const remote = await connect<{ jobs: Queue<number | null> }>(self);
const produced: number[] = [];
for (let n = base + 1; n <= base + 10; n++) {
  await remote.jobs.put(n);
  produced.push(n);
}
await remote.close();
self.postMessage({ finished: produced });
self.close();
