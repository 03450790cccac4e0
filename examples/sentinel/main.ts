/**
 * sentinel: several producers and consumers, and three ways to tell the
 * consumers that the work is over.
 *
 * 1. One sentinel (`null`) per consumer: the main thread must know how many
 *    consumers there are.
 * 2. One sentinel that each consumer puts back before it stops, so the next
 *    consumer sees it too; one sentinel is left in the queue at the end.
 * 3. `shutdown()`: no sentinel, no count; every consumer's `for await` loop
 *    ends once the queue is empty. That is why baton (like Python 3.13) has it.
 *
 * Python: the `None` sentinel idiom for `queue.Queue` / `multiprocessing.Queue`
 * ("put one sentinel per worker", or "put the sentinel back so the others
 * stop too", Python Cookbook 12.3), and `Queue.shutdown()` from Python 3.13.
 *
 * Run: deno task example:sentinel
 */
import { Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type consumerPutBack from "./consumer_put_back.ts";
import type consumerSentinel from "./consumer_sentinel.ts";
import type consumerShutdown from "./consumer_shutdown.ts";
import type producer from "./producer.ts";

const PRODUCERS = 2;
const CONSUMERS = 3;

type Consumer = typeof consumerSentinel | typeof consumerPutBack | typeof consumerShutdown;

interface Outcome {
  produced: number;
  consumed: number;
  /** Every item produced was consumed exactly once. */
  matched: boolean;
  left: number;
}

/** Runs the producers and the given consumers on one queue; `stop` ends the consumers. */
async function run(
  consumerModule: string,
  stop: (jobs: Queue<number | null>) => void | Promise<void>,
): Promise<Outcome> {
  const jobs = new Queue<number | null>(10);
  const produced = new Queue<number>(); // what each side reports, for the summary
  const consumed = new Queue<number>();
  const producers = Array.from(
    { length: PRODUCERS },
    (_, i) =>
      new Process<typeof producer>(new URL("./producer.ts", import.meta.url), {
        args: [jobs, (i + 1) * 100, produced], // producer-1 puts 101..110, producer-2 201..210
        name: `producer-${i + 1}`,
      }),
  );
  const consumers = Array.from(
    { length: CONSUMERS },
    (_, i) =>
      new Process<Consumer>(new URL(consumerModule, import.meta.url), {
        args: [jobs, consumed],
        name: `consumer-${i + 1}`,
      }),
  );
  for (const p of [...producers, ...consumers]) p.start();

  for (const p of producers) await p.join();
  await stop(jobs); // every producer is done: tell the consumers
  for (const c of consumers) await c.join();

  const drain = (queue: Queue<number>) =>
    Array.from({ length: queue.qsize() }, () => queue.getNowait()).sort((a, b) => a - b);
  const [sent, taken] = [drain(produced), drain(consumed)];
  return {
    produced: sent.length,
    consumed: taken.length,
    matched: sent.join() === taken.join(),
    left: jobs.qsize(),
  };
}

const perConsumer = await run("./consumer_sentinel.ts", async (jobs) => {
  for (let i = 0; i < CONSUMERS; i++) await jobs.put(null); // one each: we must know how many
});
const putBack = await run("./consumer_put_back.ts", async (jobs) => {
  await jobs.put(null); // one for all: each consumer puts it back for the next
});
const shutdown = await run("./consumer_shutdown.ts", (jobs) => {
  jobs.shutdown(); // nothing to count
});

const describe = (o: Outcome) =>
  `${PRODUCERS} producers put ${o.produced}, ${CONSUMERS} consumers took ${o.consumed}`;
console.log(
  `1. one sentinel per consumer: ${describe(perConsumer)}; ${CONSUMERS} sentinels needed`,
);
console.log(`2. sentinel put back:         ${describe(putBack)}; 1 sentinel, left in the queue`);
console.log(`3. shutdown():                ${describe(shutdown)}; no sentinel, no count`);
const summary = (part: string, o: Outcome, sentinels: number) =>
  console.log(
    `summary: part=${part} produced=${o.produced} consumed=${o.consumed} matched=${o.matched} sentinels=${sentinels} left=${o.left}`,
  );
summary("one-per-consumer", perConsumer, CONSUMERS);
summary("put-back", putBack, 1);
summary("shutdown", shutdown, 0);
