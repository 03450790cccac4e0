/**
 * The acceptance suite of the issue "Across Workers, v2": one test per
 * measured defect, each through the public API (`serve`/`connect`, real
 * Workers running `fixtures/agent_worker.ts`, or a MessageChannel in one
 * thread where a second thread is not needed), named after the rule of
 * `API.md` it checks. Every worker and link a test starts is stopped in
 * `finally` (see `fixtures/scope.ts`); every wait is bounded by a generous
 * deadline; no test asserts a duration.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import {
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  Semaphore,
} from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";
import { COMMAND_DEADLINE, errorOf, pause, until, valueOf } from "./fixtures/agent.ts";
import {
  assertError,
  assertExactlyOnce,
  deep,
  type Item,
  shared,
  tally,
  turns,
  withScope,
} from "./fixtures/scope.ts";

type Mixed = { items: Item[]; stats: Record<string, number> };

/** How many items the two-worker pipelines of defects 1 and 2 carry (more under BATON_DEEP=1). */
const PIPELINE_ITEMS = deep() ? 60_000 : 12_000;

/**
 * One producer worker puts `count` items into `jobs` (owned here); one
 * consumer worker takes them with `consume` options; the owner shuts the
 * queue down once the producer is done. Returns what the consumer took.
 */
async function pipeline(
  jobs: Queue<Item>,
  consume: Record<string, unknown>,
  produce: Record<string, unknown> = {},
  count = PIPELINE_ITEMS,
): Promise<Mixed> {
  let result!: Mixed;
  await withScope(async (scope) => {
    const { agent: producer } = await scope.connected({ jobs }, { name: "producer" });
    const { agent: consumer } = await scope.connected({ jobs }, { name: "consumer" });
    const consuming = consumer.run<Mixed>("consumeMixed", { name: "jobs", ...consume });
    await producer.run("produceMixed", {
      name: "jobs",
      tag: "p",
      count,
      timeouts: [Infinity],
      ...produce,
    });
    await producer.run("closeRemote"); // what it put is flushed
    jobs.shutdown();
    result = await consuming;
  });
  return result;
}

function assertPipeline(jobs: Queue<Item>, result: Mixed, count: number, context: string): void {
  const queued: Item[] = [];
  while (jobs.qsize() > 0) queued.push(jobs.getNowait());
  assertExactlyOnce(
    [result.items],
    { p: count },
    queued,
    `${context} (${JSON.stringify(result.stats)}): `,
  );
  assertEquals(jobs.unfinishedTasks, queued.length, "every item taken was marked done");
}

// ---- defect 1: lost and duplicated items, no faults ----

Deno.test("W-2: get({ timeout }) alternating 0 and 1 ms on Queue(3): every item exactly once, in order", async () => {
  const jobs = new Queue<Item>(3);
  const result = await pipeline(jobs, { timeouts: [0, 1] });
  assertPipeline(jobs, result, PIPELINE_ITEMS, "Queue(3), timeouts 0/1");
});

Deno.test("W-2: get({ timeout }) alternating 0 and 1 ms on Queue(1000): every item exactly once, in order", async () => {
  const jobs = new Queue<Item>(1000);
  const result = await pipeline(jobs, { timeouts: [0, 1] });
  assertPipeline(jobs, result, PIPELINE_ITEMS, "Queue(1000), timeouts 0/1");
});

Deno.test("W-2: get({ timeout }) alternating 0 and 1 ms with random aborts: every item exactly once, in order", async () => {
  for (const maxsize of [3, 1000]) {
    const jobs = new Queue<Item>(maxsize);
    const seed = 1_234 + maxsize;
    const result = await pipeline(jobs, { timeouts: [0, 1], abortRate: 0.3, abortMax: 2, seed });
    assertPipeline(jobs, result, PIPELINE_ITEMS, `Queue(${maxsize}), aborts, seed ${seed}`);
  }
});

// ---- defect 2: FIFO for a single remote consumer with getNowait() and a get() fallback ----

Deno.test("W-2: a single remote consumer using getNowait() with a get() fallback takes the items in order", async () => {
  for (const maxsize of [3, 1000]) {
    const jobs = new Queue<Item>(maxsize);
    const result = await pipeline(jobs, { nowaitRate: 1 });
    assertPipeline(jobs, result, PIPELINE_ITEMS, `Queue(${maxsize}), getNowait + get`);
  }
});
