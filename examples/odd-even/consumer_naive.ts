/** examples/odd-even, naive: takes from the shared queue and puts back what is not its own. */
import type { RemoteQueue } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a consumer tells the main thread at the end. */
export interface Taken {
  taken: number[];
  putBack: number;
}

export default async function consumer(
  numbers: RemoteQueue<number>,
  parity: "odd" | "even",
  report: RemoteQueue<Taken>,
): Promise<void> {
  const wanted = parity === "odd" ? 1 : 0;
  const taken: number[] = [];
  let putBack = 0;
  for await (const n of numbers) {
    if (n % 2 !== wanted) {
      await numbers.put(n); // not mine: back to the end of the line
      putBack++;
      // Back off a random moment: without it, each consumer can keep getting back the
      // number it just put back while the other does the same (a livelock).
      await sleep(Math.random() * 3);
    } else {
      taken.push(n);
    }
    await numbers.taskDone();
  }
  await report.put({ taken, putBack });
}
