/** examples/sentinel: puts ten numbers, `base + 1` to `base + 10`. */
import type { RemoteQueue } from "@baton/baton/worker";

export default async function producer(
  jobs: RemoteQueue<number | null>,
  base: number,
  produced: RemoteQueue<number>,
): Promise<void> {
  for (let n = base + 1; n <= base + 10; n++) {
    await jobs.put(n);
    await produced.put(n); // for the summary
  }
}
