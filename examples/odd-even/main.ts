/**
 * odd-even: two consumer processes, one for odd and one for even numbers,
 * fed by one producer process, done two ways.
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
 * Python: the odd/even consumers exercise (an odd and an even consumer
 * thread on one `queue.Queue`, each putting back the numbers that are not
 * its own, joined by the main program) vs one queue per consumer.
 *
 * Run: deno task example:odd-even
 */
import { Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type { default as consumerNaive, Taken } from "./consumer_naive.ts";
import type consumerRouted from "./consumer_routed.ts";
import type producer from "./producer.ts";

const NUMBERS = 20;

const startProducer = (numbers: Queue<number>) => {
  const p = new Process<typeof producer>(new URL("./producer.ts", import.meta.url), {
    args: [numbers, NUMBERS],
    name: "producer",
  });
  p.start();
  return p;
};

/** 1. One shared queue; each consumer puts back what is not its own. */
async function naive() {
  const numbers = new Queue<number>(); // unbounded: see the header
  const reports = { odd: new Queue<Taken>(), even: new Queue<Taken>() };
  const producer = startProducer(numbers);
  const consumers = (["odd", "even"] as const).map((parity) => {
    const c = new Process<typeof consumerNaive>(
      new URL("./consumer_naive.ts", import.meta.url),
      { args: [numbers, parity, reports[parity]], name: parity },
    );
    c.start();
    return c;
  });
  await producer.join();
  await numbers.join(); // every number reached its consumer (put-backs count as new tasks)
  numbers.shutdown();
  for (const c of consumers) await c.join();
  return { odd: reports.odd.getNowait(), even: reports.even.getNowait() };
}

/** 2. The main thread routes each number into its consumer's queue. */
async function routed() {
  const numbers = new Queue<number>(5);
  const queues = { odd: new Queue<number>(5), even: new Queue<number>(5) };
  const reports = { odd: new Queue<Taken>(), even: new Queue<Taken>() };
  const producer = startProducer(numbers);
  const consumers = (["odd", "even"] as const).map((parity) => {
    const c = new Process<typeof consumerRouted>(
      new URL("./consumer_routed.ts", import.meta.url),
      { args: [queues[parity], reports[parity]], name: parity },
    );
    c.start();
    return c;
  });
  const router = (async () => {
    for await (const n of numbers) {
      await (n % 2 === 1 ? queues.odd : queues.even).put(n);
      numbers.taskDone();
    }
    queues.odd.shutdown(); // the producer is done and everything is routed
    queues.even.shutdown();
  })();
  await producer.join();
  numbers.shutdown(); // ends the router's loop once it has routed the rest
  await router;
  for (const c of consumers) await c.join();
  return { odd: reports.odd.getNowait(), even: reports.even.getNowait() };
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
