/**
 * odd-even: two consumer workers, one for odd and one for even numbers, fed
 * by one producer worker, done two ways.
 *
 * 1. Naive: both consumers read one shared queue and put back every number
 *    that is not theirs. It works, but wastes gets and puts, scrambles the
 *    order, and needs care: when each consumer keeps getting back the number
 *    it just put back, neither makes progress (a livelock), so they back off
 *    a random moment after each put-back. The shared queue must also be
 *    unbounded: two consumers putting back into a full queue would wait
 *    forever.
 * 2. Routed: the main thread reads the producer's queue and puts each
 *    number into the queue of its consumer. No number is put back, and each
 *    consumer sees its numbers in order.
 *
 * Python: the `multiprocessing` "odd/even consumers" exercise: requeueing
 * items that belong to another consumer vs one queue per consumer.
 *
 * Run: deno task example:odd-even
 */
import { Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

interface Taken {
  taken: number[];
  putBack: number;
}

const start = (module: string, name: string) =>
  new Worker(new URL(module, import.meta.url), { type: "module", name });

/** 1. One shared queue; each consumer puts back what is not its own. */
async function naive() {
  const numbers = new Queue<number>(); // unbounded: see the header
  const producer = start("./producer.ts", "producer");
  const links = [serve(producer, { numbers })];
  const consumers = ["odd", "even"].map((parity) => {
    const worker = start("./consumer_naive.ts", parity);
    links.push(serve(worker, { numbers }));
    return finished<Taken>(worker);
  });
  await finished(producer);
  await numbers.join(); // every number reached its consumer (put-backs count as new tasks)
  numbers.shutdown();
  const [odd, even] = await Promise.all(consumers) as [Taken, Taken];
  for (const link of links) link.close();
  return { odd, even };
}

/** 2. The main thread routes each number into its consumer's queue. */
async function routed() {
  const numbers = new Queue<number>(5);
  const odd = new Queue<number>(5);
  const even = new Queue<number>(5);
  const producer = start("./producer.ts", "producer");
  const links = [serve(producer, { numbers })];
  const consumers = ([["odd", odd], ["even", even]] as const).map(([parity, mine]) => {
    const worker = start("./consumer_routed.ts", parity);
    links.push(serve(worker, { mine }));
    return finished<Taken>(worker);
  });
  const router = (async () => {
    for await (const n of numbers) {
      await (n % 2 === 1 ? odd : even).put(n);
      numbers.taskDone();
    }
    odd.shutdown(); // the producer is done and everything is routed
    even.shutdown();
  })();
  await finished(producer);
  numbers.shutdown(); // ends the router's loop once it has routed the rest
  await router;
  const [oddTaken, evenTaken] = await Promise.all(consumers) as [Taken, Taken];
  for (const link of links) link.close();
  return { odd: oddTaken, even: evenTaken };
}

const ascending = (items: number[]) => items.every((n, i) => i === 0 || items[i - 1]! < n);
for (const [part, result] of [["naive", await naive()], ["routed", await routed()]] as const) {
  const { odd, even } = result;
  const consumed = odd.taken.length + even.taken.length;
  const putBack = odd.putBack + even.putBack;
  const correct = odd.taken.every((n) => n % 2 === 1) && even.taken.every((n) => n % 2 === 0);
  const ordered = ascending(odd.taken) && ascending(even.taken);
  console.log(
    `${part.padEnd(6)}: odd took ${odd.taken.length}, even took ${even.taken.length}; ` +
      `${putBack} put back; each in order: ${ordered ? "yes" : "no"}`,
  );
  console.log(
    `summary: part=${part} consumed=${consumed} odd=${odd.taken.length} even=${even.taken.length} correct=${correct} putback=${putBack} ordered=${ordered}`,
  );
}
