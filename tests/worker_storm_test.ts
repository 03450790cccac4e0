/**
 * A storm on one owner queue (W-2): several producer and consumer workers,
 * and a producer and a consumer in the owner's own thread, each choosing at
 * random (seeded) between `put`/`get` with timeouts of 0-2 ms or none,
 * aborts after 0-2 ms, and `putNowait`/`getNowait` with a fallback, on
 * `Queue(1..4)` and `Queue(1000)`. At the end: every item exactly once (or
 * still queued), each producer's items in order within each consumer, and
 * `qsize`/`unfinishedTasks` exact. Bounded for CI; `BATON_DEEP=1` runs more
 * cases and more items. A failing case prints its seed; every seed that ever
 * failed stays in `REGRESSION_SEEDS`.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { Queue, QueueEmpty, QueueFull, QueueShutDown } from "../mod.ts";
import { COMMAND_DEADLINE } from "./fixtures/agent.ts";
import { assertExactlyOnce, deep, type Item, seeded, withScope } from "./fixtures/scope.ts";

/**
 * Seeds kept as fixed cases. 2 and 4 (Queue(2)) lost their order against the
 * worker layer as it was when this suite was written (seed 104 on Queue(4)
 * below also lost and duplicated an item); 1 and 3 passed then.
 */
const REGRESSION_SEEDS = [1, 2, 3, 4];

const ITEMS_PER_PRODUCER = deep() ? 6_000 : 800;
const RANDOM_CASES = deep() ? 16 : 0;

const LOCAL_ABORT = new Error("aborted by the storm's local side");

/** Runs `call` with a timeout and maybe an abort after 0-2 ms, as the workers do. */
async function mixed<T>(
  next: () => number,
  call: (options: { timeout?: number; signal?: AbortSignal }) => Promise<T>,
): Promise<T> {
  const options: { timeout?: number; signal?: AbortSignal } = {};
  const pick = next();
  if (pick < 0.75) options.timeout = Math.floor(next() * 3); // 0, 1 or 2 ms
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (next() < 0.2) {
    const controller = new AbortController();
    options.signal = controller.signal;
    timer = setTimeout(() => controller.abort(LOCAL_ABORT), next() * 2);
  }
  try {
    return await call(options);
  } finally {
    clearTimeout(timer);
  }
}

/** The owner thread's own producer: puts `{ p: tag, i }` in order, retrying a cancelled put. */
async function localProduce(jobs: Queue<Item>, tag: string, count: number, seed: number) {
  const next = seeded(seed);
  for (let i = 0; i < count; i++) {
    const item = { p: tag, i };
    for (;;) {
      try {
        if (next() < 0.2) {
          try {
            jobs.putNowait(item);
          } catch (error) {
            if (!(error instanceof QueueFull)) throw error;
            await jobs.put(item);
          }
        } else {
          await mixed(next, (options) => jobs.put(item, options));
        }
        break;
      } catch (error) {
        if (error instanceof QueueFull || error === LOCAL_ABORT) continue;
        throw error;
      }
    }
  }
}

/** The owner thread's own consumer: takes items until the queue is shut down and drained. */
async function localConsume(jobs: Queue<Item>, seed: number): Promise<Item[]> {
  const next = seeded(seed);
  const items: Item[] = [];
  for (;;) {
    let item: Item;
    try {
      if (next() < 0.2) {
        try {
          item = jobs.getNowait();
        } catch (error) {
          if (!(error instanceof QueueEmpty)) throw error;
          item = await jobs.get();
        }
      } else {
        item = await mixed(next, (options) => jobs.get(options));
      }
    } catch (error) {
      if (error instanceof QueueShutDown) return items;
      if (error instanceof QueueEmpty || error === LOCAL_ABORT) continue;
      throw error;
    }
    items.push(item);
    jobs.taskDone();
  }
}

interface Case {
  seed: number;
  maxsize: number;
  /** Whether the owner's thread puts and gets too, beside the workers. */
  local: boolean;
}

function caseOf(seed: number): Case {
  const next = seeded(seed);
  // One case in four on a roomy queue, the rest on a tiny one.
  const maxsize = next() < 0.25 ? 1000 : 1 + Math.floor(next() * 4);
  return { seed, maxsize, local: next() < 0.75 };
}

async function storm({ seed, maxsize, local }: Case): Promise<void> {
  const context = `seed ${seed}, Queue(${maxsize}), ${local ? "with" : "without"} local sides: `;
  await withScope(async (scope) => {
    const jobs = new Queue<Item>(maxsize);
    const producers = await Promise.all(
      [0, 1].map((n) => scope.connected({ jobs }, { name: `producer-${n}` })),
    );
    const prefetches = [0, 8, undefined];
    const consumers = await Promise.all(prefetches.map((prefetch, n) =>
      scope.connected(
        { jobs },
        prefetch === undefined ? { name: `consumer-${n}` } : { name: `consumer-${n}`, prefetch },
      )
    ));
    const consuming = consumers.map(({ agent }, n) =>
      agent.run<{ items: Item[] }>("consumeMixed", {
        name: "jobs",
        seed: seed * 31 + n,
        timeouts: [0, 1, 2, Infinity],
        random: true,
        nowaitRate: 0.2,
        abortRate: 0.2,
        abortMax: 2,
      })
    );
    const localConsuming = local ? localConsume(jobs, seed * 37) : Promise.resolve([]);
    const producing: Promise<void>[] = producers.map(async ({ agent }, n) => {
      await agent.run("produceMixed", {
        name: "jobs",
        tag: `w${n}`,
        count: ITEMS_PER_PRODUCER,
        seed: seed * 41 + n,
        timeouts: [0, 1, 2, Infinity],
        nowaitRate: 0.2,
        abortRate: 0.2,
        abortMax: 2,
      });
      await agent.run("closeRemote"); // what it put is flushed before the shutdown below
    });
    if (local) producing.push(localProduce(jobs, "local", ITEMS_PER_PRODUCER, seed * 43));
    await Promise.all(producing);
    jobs.shutdown();
    const consumed = [
      ...(await Promise.all(consuming)).map((result) => result.items),
      await localConsuming,
    ];
    const queued: Item[] = [];
    while (jobs.qsize() > 0) queued.push(jobs.getNowait());
    const expected: Record<string, number> = { w0: ITEMS_PER_PRODUCER, w1: ITEMS_PER_PRODUCER };
    if (local) expected.local = ITEMS_PER_PRODUCER;
    assertExactlyOnce(consumed, expected, queued, context);
    assertEquals(queued.length, 0, `${context}a shut-down queue is drained by its consumers`);
    assertEquals(
      await jobs.join({ timeout: COMMAND_DEADLINE }),
      true,
      `${context}every taken item was marked done (unfinishedTasks ${jobs.unfinishedTasks})`,
    );
    assertEquals(jobs.unfinishedTasks, 0, context);
    assertEquals(jobs.qsize(), 0, context);
  });
}

/** The fixed cases: the regression seeds, and each queue size at least once. */
const FIXED_CASES: Case[] = [
  ...REGRESSION_SEEDS.map(caseOf),
  { seed: 101, maxsize: 1, local: true },
  { seed: 104, maxsize: 4, local: true },
  { seed: 1000, maxsize: 1000, local: true },
  { seed: 203, maxsize: 3, local: false },
  { seed: 2000, maxsize: 1000, local: false },
];

for (const at of FIXED_CASES) {
  Deno.test(`W-2: storm of worker${at.local ? " and local" : ""} producers and consumers, seed ${at.seed}, Queue(${at.maxsize}): exactly once, in order`, async () => {
    await storm(at);
  });
}

Deno.test({
  name: "W-2: storms with fresh seeds (BATON_DEEP=1): exactly once, in order",
  ignore: RANDOM_CASES === 0,
  async fn() {
    for (let n = 0; n < RANDOM_CASES; n++) {
      const seed = (Date.now() + n * 7919) % 2_147_483_647;
      await storm(caseOf(seed)).catch((error) => {
        console.error(`storm failed with seed ${seed}: keep it in REGRESSION_SEEDS`);
        throw error;
      });
    }
  },
});
