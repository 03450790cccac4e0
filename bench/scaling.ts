/**
 * Cost per item as the number of items grows: 10^4, 10^5 and 10^6 items
 * through baton's queues, printing ns/item for each size and the ratio of
 * the largest size's cost to the smallest's. O(1) put/get means the
 * ratio stays near 1.
 *
 * Cases:
 * - producer/consumer through `Queue(1024)`, the two sides alternating;
 * - the same with a consumer one microtask turn slower, so the queue fills
 *   and then every `put` waits for room (the first ~2000 items, while it
 *   fills, are cheaper: a larger share of a 10^4 run than of a 10^6 one,
 *   hence the 1e6/1e5 column);
 * - unbounded `Queue`: `putNowait` all N items, then `getNowait` all N (the
 *   ring buffer grows to N).
 *
 * Each case first runs a warm-up of a few million items (V8 takes that long
 * to settle on its optimised code), then several rounds; each round runs
 * every size, 10^6 items each (100 runs of 10^4, 10 of 10^5, 1 of 10^6), so
 * drift on a shared machine hits every size alike, and a sample always
 * spans 10^6 items, so garbage collection weighs the same for each size.
 * The median over rounds is shown.
 *
 * Run: `deno run bench/scaling.ts` (or `deno task bench:scaling`).
 * `--check` exits 1 when a ratio exceeds 1.5.
 *
 * @module
 */

import { Queue } from "../mod.ts";
import { median, nowaitBatch, type Pace, producerConsumerLoop } from "./_workloads.ts";

const SIZES = [10_000, 100_000, 1_000_000];
const ROUNDS = 7;
const WARMUP_ITEMS = 3_000_000;
const FLAT_ENOUGH = 1.5;

interface Case {
  name: string;
  run: (count: number) => Promise<void> | void;
}

const alternating: Pace = {};
const slowConsumer: Pace = { consumerTurns: 1 };
const cases: Case[] = [
  {
    name: "Queue(1024) producer/consumer",
    run: (count) => producerConsumerLoop(new Queue<number>(1024), count, alternating),
  },
  {
    name: "Queue(1024) producer/consumer, queue full, every put waits",
    run: (count) => producerConsumerLoop(new Queue<number>(1024), count, slowConsumer),
  },
  {
    name: "Queue() putNowait x N, then getNowait x N",
    run: (count) => nowaitBatch(new Queue<number>(), count),
  },
];

async function nsPerItem(run: Case["run"], count: number): Promise<number> {
  const start = performance.now();
  await run(count);
  return ((performance.now() - start) * 1e6) / count;
}

console.log(
  `baton scaling: median ns/item; deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);

const rows: string[][] = [[
  "case",
  ...SIZES.map((size) => `${size.toExponential().replace("e+", "e")} items`),
  "ratio 1e6/1e4",
  "ratio 1e6/1e5",
]];
let notFlat = 0;
for (const { name, run } of cases) {
  for (let warm = 0; warm < WARMUP_ITEMS; warm += 100_000) await run(100_000);
  const samples = SIZES.map((): number[] => []);
  const largest = SIZES[SIZES.length - 1]!;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, size] of SIZES.entries()) {
      // One sample per size and round covers 10^6 items, so garbage
      // collection pauses weigh the same for every size.
      let total = 0;
      for (let items = 0; items < largest; items += size) total += await nsPerItem(run, size);
      samples[index]!.push(total / (largest / size));
    }
  }
  const medians = samples.map(median);
  const ratio = medians[2]! / medians[0]!;
  if (ratio > FLAT_ENOUGH) notFlat++;
  rows.push([
    name,
    ...medians.map((ns) => `${ns.toFixed(1)} ns`),
    ratio.toFixed(2),
    (medians[2]! / medians[1]!).toFixed(2),
  ]);
}

const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
for (const row of rows) {
  console.log(row.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd());
}
console.log(
  notFlat === 0
    ? `flat: every ratio <= ${FLAT_ENOUGH}`
    : `${notFlat} case(s) not flat (ratio > ${FLAT_ENOUGH})`,
);
if (notFlat > 0 && Deno.args.includes("--check")) Deno.exit(1);
