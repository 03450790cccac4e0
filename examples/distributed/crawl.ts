/**
 * examples/distributed: the crawler's worker loop. It takes any `QueueLike`,
 * so the same function runs on a local `Queue`, a worker proxy or a Redis
 * queue: only the construction of the queues differs.
 */
import type { QueueLike } from "@baton/baton/redis";

/** A pretend fetch: waits 10-50 ms and returns a page size derived from the URL. */
async function simulatedFetch(url: string): Promise<{ bytes: number; ms: number }> {
  const ms = 10 + Math.floor(Math.random() * 40);
  await new Promise((resolve) => setTimeout(resolve, ms));
  let hash = 2166136261; // FNV-1a, so the same URL always has the same size
  for (const char of url) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return { bytes: 1000 + (hash % 9000), ms };
}

/** Fetches URLs until the queue is shut down; prints through the print queue. Returns the count. */
export async function crawl(
  name: string,
  urls: QueueLike<string>,
  print: QueueLike<string>,
): Promise<number> {
  let fetched = 0;
  for await (const url of urls) {
    const page = await simulatedFetch(url);
    await print.put(`${name}: ${url} (${page.bytes} bytes, ${page.ms} ms)`);
    fetched++;
    await urls.taskDone();
  }
  return fetched;
}
