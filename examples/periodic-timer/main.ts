/**
 * periodic-timer: a countdown process and a countup process kept in step
 * by one `PeriodicTimer` in the main thread. On every tick the main thread
 * wakes both with `notifyAll()` on a `Condition` passed to them in `args`,
 * the way Python's PeriodicTimer recipe is built; each process holds the
 * Condition's lock except while it waits, so neither can miss a tick. The
 * main thread collects one line from each per tick and prints them together.
 *
 * Python: the `PeriodicTimer` class built on `threading.Condition` with
 * `countdown(nticks)` and `countup(last)` threads calling `wait_for_tick()`
 * (Python Cookbook 12.2).
 *
 * Run: deno task example:periodic-timer
 */
import { Condition, PeriodicTimer, Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type { default as countdown, Line } from "./countdown.ts";
import type countup from "./countup.ts";

const TICKS = 5;

const tick = new Condition();
const lines = new Queue<Line>();
const counters = [
  new Process<typeof countdown>(new URL("./countdown.ts", import.meta.url), {
    args: [tick, lines, TICKS],
    name: "countdown",
  }),
  new Process<typeof countup>(new URL("./countup.ts", import.meta.url), {
    args: [tick, lines, TICKS],
    name: "countup",
  }),
];
for (const c of counters) c.start();

for (const _ of counters) await lines.get(); // both hold the lock and are about to wait
const timer = new PeriodicTimer(40);
timer.start();
const values: Record<Line["who"], number[]> = { countdown: [], countup: [] };
for (let n = 1; n <= TICKS; n++) {
  await timer.waitForTick();
  await tick.acquire(); // free only while both processes wait
  tick.notifyAll();
  tick.release();
  const got = [await lines.get(), await lines.get()].sort((a, b) => a.who.localeCompare(b.who));
  for (const line of got) values[line.who].push(line.value);
  console.log(`tick ${n}: ${got.map((line) => `${line.who} ${line.value}`).join(", ")}`);
}
timer.stop();
for (const c of counters) await c.join();
console.log(
  `summary: ticks=${TICKS} countdown=${values.countdown.join(",")} countup=${
    values.countup.join(",")
  }`,
);
