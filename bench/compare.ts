/**
 * The throughput targets baton must meet, measured in one run against the
 * naive baseline in `_naive.ts` (an array with `shift()`, `async` methods,
 * promise waiters all woken in a loop):
 *
 * - producer/consumer through `Queue(1000)` and `Queue(1)`, with an explicit
 *   `while (...) await q.get()` loop: at least 1.3x the naive queue's ops/s;
 * - the same through `for await (const x of q)`: at least 0.8x the explicit loop.
 *
 * baton's `Queue` is used as published (imported from `mod.ts`): the real
 * `put`/`get` with their checks, wait list, task counting and shutdown; the
 * workloads check that every item arrived exactly once.
 *
 * Each round runs the three cases back to back; a ratio is taken within each
 * round (so drift on a shared machine cancels out) and the table shows the
 * median over rounds, after warm-up rounds. Exits 1 when a target is missed.
 *
 * `--mixed` first runs `LifoQueue` and `PriorityQueue` through the same
 * workloads, as a program using several queue kinds would: `Queue`'s shared
 * methods then see three classes (polymorphic call sites in V8), which costs
 * some throughput; the targets are defined for the plain case.
 *
 * Run: `deno run bench/compare.ts` (or `deno task bench:compare`).
 * Options: `--items=N` per run (default 200000), `--rounds=N` (default 11),
 * `--mixed`.
 *
 * @module
 */

import { LifoQueue, PriorityQueue, Queue } from "../mod.ts";
import { NaiveQueue } from "./_naive.ts";
import {
  median,
  naiveProducerConsumerLoop,
  producerConsumerForAwait,
  producerConsumerLoop,
} from "./_workloads.ts";

function intArg(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`--${name} takes a positive integer, received ${arg}`);
  }
  return value;
}

const ITEMS = intArg("items", 200_000);
const ROUNDS = intArg("rounds", 11);
const WARMUP_ROUNDS = 2;
const MIXED = Deno.args.includes("--mixed");
const SIZES = [1000, 1];
const LOOP_VS_NAIVE = 1.3;
const FOR_AWAIT_VS_LOOP = 0.8;

/** Items per second of one run. */
async function measure(run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return ITEMS / ((performance.now() - start) / 1000);
}

const fmt = (opsPerSec: number) => `${(opsPerSec / 1e6).toFixed(2)}M`;

console.log(
  `baton compare: ${ITEMS} items per run, ${ROUNDS} rounds after ${WARMUP_ROUNDS} warm-up rounds` +
    (MIXED ? ", LifoQueue and PriorityQueue used too" : "") +
    `; deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);

if (MIXED) {
  for (const maxsize of SIZES) {
    const makers = [() => new LifoQueue<number>(maxsize), () => new PriorityQueue<number>(maxsize)];
    for (const make of makers) {
      await producerConsumerLoop(make(), ITEMS);
      await producerConsumerForAwait(make(), ITEMS);
    }
  }
}

let missed = 0;
const rows: string[][] = [
  ["queue", "case", "ops/s (median)", "min..max", "ratio (median)", "target", ""],
];
for (const maxsize of SIZES) {
  const naive: number[] = [];
  const loop: number[] = [];
  const forAwait: number[] = [];
  const loopRatios: number[] = [];
  const forAwaitRatios: number[] = [];
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const n = await measure(() =>
      naiveProducerConsumerLoop(new NaiveQueue<number>(maxsize), ITEMS)
    );
    const l = await measure(() => producerConsumerLoop(new Queue<number>(maxsize), ITEMS));
    const f = await measure(() => producerConsumerForAwait(new Queue<number>(maxsize), ITEMS));
    if (round < WARMUP_ROUNDS) continue;
    naive.push(n);
    loop.push(l);
    forAwait.push(f);
    loopRatios.push(l / n);
    forAwaitRatios.push(f / l);
  }
  const loopRatio = median(loopRatios);
  const forAwaitRatio = median(forAwaitRatios);
  const loopOk = loopRatio >= LOOP_VS_NAIVE;
  const forAwaitOk = forAwaitRatio >= FOR_AWAIT_VS_LOOP;
  if (!loopOk) missed++;
  if (!forAwaitOk) missed++;
  const queue = `Queue(${maxsize})`;
  const range = (samples: number[]) => `${fmt(Math.min(...samples))}..${fmt(Math.max(...samples))}`;
  rows.push([queue, "naive loop", fmt(median(naive)), range(naive), "", "", ""]);
  rows.push([
    queue,
    "baton loop",
    fmt(median(loop)),
    range(loop),
    `${loopRatio.toFixed(2)} x naive`,
    `>= ${LOOP_VS_NAIVE}`,
    loopOk ? "ok" : "MISSED",
  ]);
  rows.push([
    queue,
    "baton for-await",
    fmt(median(forAwait)),
    range(forAwait),
    `${forAwaitRatio.toFixed(2)} x loop`,
    `>= ${FOR_AWAIT_VS_LOOP}`,
    forAwaitOk ? "ok" : "MISSED",
  ]);
}

const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
for (const row of rows) {
  console.log(row.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd());
}

if (missed > 0) {
  console.error(`${missed} target(s) missed`);
  Deno.exit(1);
}
console.log("all targets met");
