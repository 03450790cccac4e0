/**
 * Cross-worker throughput and latency, measured in one run, printed as a
 * table: `deno task bench:worker` (`deno run --allow-read --allow-env bench/worker_bench.ts`).
 *
 * - baton, one hop: the consumer worker owns a `Queue(1000)`, serves it on a
 *   `MessagePort` and drains it with `for await`; the producer worker puts
 *   into it through `connect` and shuts it down at the end. Every item is
 *   counted against `maxsize`: at most 1000 are put and not yet taken.
 * - baton, two hops: the `Queue(1000)` lives in the main thread, served to
 *   both workers; the consumer worker iterates its proxy with `for await`.
 * - raw: the same two workers joined directly by a `MessageChannel`, one
 *   item per message and 100 per message (no bookkeeping, no bound); 100 per
 *   message forwarded by the main thread (two hops, like the second baton
 *   case); and under the bound of a `Queue(1000)` with no queue: 250 per
 *   message, at most 1000 items the consumer has not confirmed, which is the
 *   ceiling for any queue that keeps `maxsize` exact across threads.
 * - latency: a remote `get()` (prefetch 0: one round trip served by the
 *   owner) beside a raw `postMessage` ping/pong round trip.
 *
 * Each case runs `ROUNDS` times; the table shows the median.
 */
import { Queue } from "../mod.ts";
import { serve } from "../src/worker/mod.ts";
import { median } from "./_workloads.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 5);
const ITEMS = Number(Deno.env.get("ITEMS") ?? 500_000);
const PINGS = 2_000;
const AGENT = new URL("./_worker_agent.ts", import.meta.url);

type Kind = "numbers" | "objects";

function spawn(): Worker {
  return new Worker(AGENT, { type: "module" });
}

/** The next plain (non-baton) message from `worker` that has `key`. */
function reply<T>(worker: Worker, key: string): Promise<T> {
  return new Promise((resolve) => {
    const listener = (event: MessageEvent) => {
      if (typeof event.data === "object" && event.data !== null && key in event.data) {
        worker.removeEventListener("message", listener);
        resolve(event.data as T);
      }
    };
    worker.addEventListener("message", listener);
  });
}

/** Starts a producer and a consumer worker, measures with them, and terminates both. */
async function withPair(
  measure: (producer: Worker, consumer: Worker) => Promise<number>,
): Promise<number> {
  const producer = spawn();
  const consumer = spawn();
  try {
    return await measure(producer, consumer);
  } finally {
    producer.terminate();
    consumer.terminate();
  }
}

/** Items per second since `start`, once every item is known to have arrived. */
function rate(count: number, start: number): number {
  if (count !== ITEMS) throw new Error(`consumed ${count} of ${ITEMS}`);
  return count / ((performance.now() - start) / 1000);
}

function raw(kind: Kind, batch: number, viaMain = false): Promise<number> {
  return withPair(async (producer, consumer) => {
    const { port1, port2 } = new MessageChannel();
    try {
      const done = reply<{ count: number }>(consumer, "count");
      consumer.postMessage({ cmd: "raw-consume", port: port2, n: ITEMS }, [port2]);
      const start = performance.now();
      if (viaMain) {
        // Two hops, like baton's queue in the main thread: forward what the producer posts.
        producer.addEventListener("message", (event) => {
          if (typeof event.data === "object" && event.data !== null && "done" in event.data) return;
          port1.postMessage(event.data);
        });
        producer.postMessage({ cmd: "raw-produce", n: ITEMS, batch, kind });
      } else {
        producer.postMessage({ cmd: "raw-produce", port: port1, n: ITEMS, batch, kind }, [port1]);
      }
      return rate((await done).count, start);
    } finally {
      if (viaMain) port1.close();
    }
  });
}

/** Raw postMessage under the same bound as a Queue(1000): the ceiling for any bounded queue. */
function rawBounded(kind: Kind): Promise<number> {
  return withPair(async (producer, consumer) => {
    const { port1, port2 } = new MessageChannel();
    const done = reply<{ count: number }>(consumer, "count");
    consumer.postMessage({ cmd: "raw-consume", port: port2, n: ITEMS, credit: true }, [port2]);
    const start = performance.now();
    producer.postMessage(
      { cmd: "raw-bounded-produce", port: port1, n: ITEMS, window: 1000, kind },
      [port1],
    );
    return rate((await done).count, start);
  });
}

/** The queue lives in the main thread, served to both workers: two hops. */
function baton(kind: Kind): Promise<number> {
  return withPair(async (producer, consumer) => {
    const queue = new Queue<unknown>(1000);
    const links = [serve(producer, { q: queue }), serve(consumer, { q: queue })];
    try {
      const produced = reply<{ done: boolean }>(producer, "done");
      const consumed = reply<{ count: number }>(consumer, "count");
      const start = performance.now();
      consumer.postMessage({ cmd: "baton-consume" });
      producer.postMessage({ cmd: "baton-produce", n: ITEMS, kind });
      await produced;
      queue.shutdown();
      return rate((await consumed).count, start);
    } finally {
      for (const link of links) link.close();
    }
  });
}

/** The queue lives in the consumer worker and is served to the producer over a port: one hop. */
function batonInConsumer(kind: Kind): Promise<number> {
  return withPair(async (producer, consumer) => {
    const { port1, port2 } = new MessageChannel();
    const produced = reply<{ done: boolean }>(producer, "done");
    const consumed = reply<{ count: number }>(consumer, "count");
    const start = performance.now();
    consumer.postMessage({ cmd: "own-consume", port: port1 }, [port1]);
    producer.postMessage({ cmd: "port-produce", port: port2, n: ITEMS, kind }, [port2]);
    const { count } = await consumed;
    await produced;
    return rate(count, start);
  });
}

async function rawRoundTrip(): Promise<number> {
  const worker = spawn();
  try {
    worker.addEventListener("message", (event) => {
      const ping = (event.data as { ping?: number }).ping;
      if (ping !== undefined) worker.postMessage({ pong: ping });
    });
    const result = reply<{ times: number[] }>(worker, "times");
    worker.postMessage({ cmd: "raw-ping", n: PINGS });
    return median((await result).times.slice(PINGS / 10)) * 1000;
  } finally {
    worker.terminate();
  }
}

async function remoteGet(): Promise<number> {
  const queue = new Queue<number>();
  for (let i = 0; i < PINGS; i++) queue.putNowait(i);
  const worker = spawn();
  const link = serve(worker, { q: queue });
  try {
    const result = reply<{ times: number[] }>(worker, "times");
    worker.postMessage({ cmd: "remote-get", n: PINGS });
    return median((await result).times.slice(PINGS / 10)) * 1000;
  } finally {
    link.close();
    worker.terminate();
  }
}

async function rounds(run: () => Promise<number>): Promise<number> {
  await run(); // warm-up: worker start-up and type checking
  const results: number[] = [];
  for (let i = 0; i < ROUNDS; i++) results.push(await run());
  return median(results);
}

const fmt = (value: number) => Math.round(value).toLocaleString("en-US");
const pct = (value: number, of: number) => `${(value / of * 100).toFixed(0)}%`;
const rows: string[][] = [];
for (const kind of ["numbers", "objects"] as const) {
  const one = await rounds(() => raw(kind, 1));
  const hundred = await rounds(() => raw(kind, 100));
  const forwarded = await rounds(() => raw(kind, 100, true));
  const bounded = await rounds(() => rawBounded(kind));
  const owned = await rounds(() => batonInConsumer(kind));
  const queued = await rounds(() => baton(kind));
  rows.push(
    [`${kind}: raw postMessage worker -> worker, 1 per message`, fmt(one), ""],
    [`${kind}: raw postMessage worker -> worker, 100 per message`, fmt(hundred), ""],
    [`${kind}: raw postMessage worker -> main -> worker, 100 per message`, fmt(forwarded), ""],
    [
      `${kind}: raw postMessage worker -> worker, at most 1000 unconsumed (250 per message)`,
      fmt(bounded),
      `${pct(bounded, hundred)} of direct batched`,
    ],
    [
      `${kind}: baton Queue(1000) in the consumer worker, producer worker -> it over a port`,
      fmt(owned),
      `${pct(owned, hundred)} of direct batched, ${pct(owned, bounded)} of bounded raw`,
    ],
    [
      `${kind}: baton Queue(1000) in main, producer worker -> consumer worker`,
      fmt(queued),
      `${pct(queued, hundred)} of direct batched, ${pct(queued, forwarded)} of forwarded batched`,
    ],
  );
}
const rtt = await rounds(rawRoundTrip);
const get = await rounds(remoteGet);

console.log(`items per run: ${fmt(ITEMS)}, rounds: ${ROUNDS} (median), deno ${Deno.version.deno}`);
console.log("| case | items/s | |\n|---|---:|---|");
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
console.log("\n| latency (median) | µs | |\n|---|---:|---|");
console.log(`| raw postMessage round trip | ${rtt.toFixed(1)} | |`);
console.log(`| remote get() round trip | ${get.toFixed(1)} | ${(get / rtt).toFixed(2)}x raw |`);
