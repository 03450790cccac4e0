/// <reference lib="deno.worker" />
/** examples/crawler: one worker of the pool; "fetches" URLs until the URL queue is shut down. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

/** A pretend fetch: waits 10-50 ms and returns a page size derived from the URL. */
async function simulatedFetch(url: string): Promise<{ bytes: number; ms: number }> {
  const ms = 10 + Math.floor(Math.random() * 40);
  await new Promise((resolve) => setTimeout(resolve, ms));
  let hash = 2166136261; // FNV-1a, so the same URL always has the same size
  for (const char of url) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return { bytes: 1000 + (hash % 9000), ms };
}

// prefetch: 0, so a URL goes to a worker only when it asks: slow jobs spread over the pool.
const remote = await connect<{ urls: Queue<string>; print: Queue<string> }>(self, { prefetch: 0 });
let fetched = 0;
for await (const url of remote.urls) {
  const page = await simulatedFetch(url);
  await remote.print.put(`${self.name}: ${url} (${page.bytes} bytes, ${page.ms} ms)`);
  fetched++;
  await remote.urls.taskDone();
}
await remote.close();
self.postMessage({ finished: fetched });
self.close();
