/**
 * examples/crawler: one fetcher of the pool. Its loop is `crawl` of
 * examples/distributed, which takes any `QueueLike`: here the queues are
 * the main thread's, reached through proxies.
 */
import { currentProcess, type RemoteQueue } from "@baton/baton/worker";
import { crawl } from "../distributed/crawl.ts";

export default async function fetcher(
  urls: RemoteQueue<string>,
  print: RemoteQueue<string>,
  fetched: RemoteQueue<number>,
): Promise<void> {
  // Takes URLs until the queue is shut down; puts one line per page on the print queue.
  const count = await crawl(currentProcess().name, urls, print);
  await fetched.put(count); // for the summary
}
