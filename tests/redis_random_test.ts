/**
 * Randomised runs of a Redis queue shared by three clients:
 * every client puts its own numbered items and gets with random timeouts,
 * aborts and nowait calls, all at once. Afterwards every item whose put
 * resolved was got exactly once, no item whose put rejected shows up, the
 * items of one producer reach each consumer in order, `qsize()` never passed
 * `maxsize`, and the unfinished-task count is exact.
 *
 * Seeds: a few in CI, many more with `BATON_DEEP=1`; every seed that ever
 * failed stays in `REGRESSIONS`.
 */

import { assert, assertEquals } from "@std/assert";
import { QueueEmpty, QueueFull } from "@baton/baton";
import { connectRedis, type RedisClient, type RedisQueue } from "@baton/baton/redis";
import { withRedisServer } from "./fixtures/redis_server.ts";
import { seeded as random } from "./fixtures/seeded.ts";

const DEEP = Deno.env.get("BATON_DEEP") === "1";
const SEEDS = DEEP ? 40 : 3;
/** Seeds that once failed; they run every time. */
const REGRESSIONS: number[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits with one of the cancellable shapes: a timeout, an abort, or none at all. */
function options(rand: () => number): { timeout?: number; signal?: AbortSignal; abort?: number } {
  const kind = Math.floor(rand() * 3);
  if (kind === 0) return { timeout: 0 };
  if (kind === 1) return { timeout: Math.floor(rand() * 15) };
  return { abort: Math.floor(rand() * 15) };
}

async function attempt<V>(
  rand: () => number,
  op: (options: { timeout?: number; signal?: AbortSignal }) => Promise<V>,
): Promise<{ ok: true; value: V } | { ok: false; error: unknown }> {
  const { abort, ...rest } = options(rand);
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (abort !== undefined) {
    const controller = new AbortController();
    timer = setTimeout(() => controller.abort(new Error("aborted")), abort);
    rest.signal = controller.signal;
  }
  try {
    return { ok: true, value: await op(rest) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

function isCancel(error: unknown): boolean {
  return error instanceof QueueEmpty || error instanceof QueueFull ||
    (error instanceof Error && error.message === "aborted");
}

async function scenario(seed: number): Promise<void> {
  const rand = random(seed);
  const maxsize = [0, 1, 2, 5, 8][seed % 5]!;
  const perClient = 40 + Math.floor(rand() * 40);
  await withRedisServer(async (path) => {
    const clients: RedisClient[] = [];
    try {
      for (let i = 0; i < 4; i++) clients.push(await connectRedis({ path }));
      const queues = clients.map((client) => client.queue<number>("random", { maxsize }));
      const watcher = queues[3]!;
      const accepted: number[][] = [[], [], []];
      const received: number[][] = [[], [], []];
      let maxSeen = 0;
      let running = true;
      const watching = (async () => {
        while (running) maxSeen = Math.max(maxSeen, await watcher.qsize());
      })();
      const producers = [0, 1, 2].map(async (c) => {
        const r = random(seed * 7 + c);
        for (let i = 0; i < perClient; i++) {
          const item = c * 1_000 + i;
          const result = await attempt(r, (o) => queues[c]!.put(item, o));
          if (result.ok) accepted[c]!.push(item);
          else assert(isCancel(result.error), `put: ${result.error}`);
          if (r() < 0.2) await sleep(Math.floor(r() * 3));
        }
      });
      const consumers = [0, 1, 2].map(async (c) => {
        const r = random(seed * 13 + c);
        for (let i = 0; i < perClient * 2; i++) {
          const queue: RedisQueue<number> = queues[c]!;
          const result = await attempt(r, (o) => queue.get(o));
          if (result.ok) {
            received[c]!.push(result.value);
            await queue.taskDone();
          } else {
            assert(isCancel(result.error), `get: ${result.error}`);
          }
        }
      });
      await Promise.all([...producers, ...consumers]);
      running = false;
      await watching;
      // the consumers' prefetched items go back to the head when they close
      for (const client of clients.slice(0, 3)) await client.close();
      const rest: number[] = [];
      while (true) {
        try {
          rest.push(await watcher.getNowait());
          await watcher.taskDone();
        } catch (error) {
          assert(error instanceof QueueEmpty);
          break;
        }
      }
      const put = accepted.flat().sort((a, b) => a - b);
      const got = [...received.flat(), ...rest].sort((a, b) => a - b);
      assertEquals(got, put, `seed ${seed}: every accepted item exactly once`);
      for (const items of received) {
        for (let c = 0; c < 3; c++) {
          const mine = items.filter((item) => Math.floor(item / 1_000) === c);
          for (let i = 1; i < mine.length; i++) {
            assert(mine[i - 1]! < mine[i]!, `seed ${seed}: producer ${c} out of order`);
          }
        }
      }
      if (maxsize > 0) assert(maxSeen <= maxsize, `seed ${seed}: qsize ${maxSeen} > ${maxsize}`);
      assertEquals(await watcher.unfinishedTasks, 0, `seed ${seed}: unfinished`);
      assert(await watcher.join({ timeout: 0 }));
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
}

Deno.test("R-2, R-5: random gets, puts, timeouts and aborts on three clients lose nothing", async () => {
  const base = DEEP ? Date.now() % 100_000 : 1;
  for (const seed of [...REGRESSIONS, ...Array.from({ length: SEEDS }, (_, i) => base + i)]) {
    await scenario(seed);
  }
});
