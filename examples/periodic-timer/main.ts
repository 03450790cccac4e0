/**
 * periodic-timer: a countdown worker and a countup worker kept in step by
 * one `PeriodicTimer` in the main thread. On every tick the main thread
 * wakes both workers with `notifyAll()` on a served `Condition`, the way
 * Python's PeriodicTimer recipe is built; each worker holds the Condition's
 * lock except while it waits, so neither can miss a tick. The main thread
 * collects one line from each worker per tick and prints them together.
 *
 * Python: the `PeriodicTimer` class built on `threading.Condition` with
 * `countdown` and `countup` threads calling `wait_for_tick()` (Python
 * Cookbook 12.2).
 *
 * Run: deno task example:periodic-timer
 */
import { Condition, PeriodicTimer, Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const TICKS = 5;

interface Line {
  who: "countdown" | "countup";
  value: number;
}

const tick = new Condition();
const lines = new Queue<Line>();
const counters = ["countdown", "countup"].map((name) => {
  const worker = new Worker(new URL(`./${name}.ts`, import.meta.url), { type: "module", name });
  return { link: serve(worker, { tick, lines }), done: finished<number>(worker) };
});

for (const _ of counters) await lines.get(); // both hold the lock and are about to wait
const timer = new PeriodicTimer(40);
timer.start();
const values: Record<Line["who"], number[]> = { countdown: [], countup: [] };
for (let n = 1; n <= TICKS; n++) {
  await timer.waitForTick();
  await tick.acquire(); // free only while both workers wait
  tick.notifyAll();
  tick.release();
  const got = [await lines.get(), await lines.get()].sort((a, b) => a.who.localeCompare(b.who));
  for (const line of got) values[line.who].push(line.value);
  console.log(`tick ${n}: ${got.map((line) => `${line.who} ${line.value}`).join(", ")}`);
}
timer.stop();
await Promise.all(counters.map((c) => c.done));
for (const { link } of counters) link.close();
console.log(
  `summary: ticks=${TICKS} countdown=${values.countdown.join(",")} countup=${
    values.countup.join(",")
  }`,
);
