/** examples/odd-even: puts the numbers 1 to `n`. */
import type { RemoteQueue } from "@baton/baton/worker";

export default async function producer(numbers: RemoteQueue<number>, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await numbers.put(i);
}
