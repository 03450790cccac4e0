/**
 * `deno task bench:redis`: items per second through a Redis queue between
 * separate processes, beside Python's `multiprocessing.Queue(1000)` and
 * BullMQ on the same machine in the same run.
 *
 * - baton 1×1: one producer process and one consumer process, 200,000 small
 *   items through `queue("bench", { maxsize: 1000 })`; the consumer calls
 *   `get` and `taskDone` for each item.
 * - baton 4×4: four producers (50,000 items each) and four consumers on the
 *   same kind of queue; the consumers stop on `shutdown`.
 * - Python: `multiprocessing.Queue(1000)`, one producer and one consumer
 *   process, 200,000 ints (bench/redis_mp_baseline.py).
 * - BullMQ: one producer process (`addBulk` in chunks of 1,000) and one
 *   Worker process (concurrency 1), 20,000 jobs (fewer: it is slow).
 *
 * Starts its own throwaway `redis-server` on a unix socket. Each figure is
 * the time from a shared "go" (a Redis event, or Python's `mp.Event`) to
 * the last item got, so process start-up is not counted.
 *
 * @module
 */

import { connectRedis } from "@baton/baton/redis";
import { haveRedisServer, startRedisServer } from "../tests/fixtures/redis_server.ts";

const AGENT = new URL("./redis_agent.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const BASELINE = new URL("./redis_mp_baseline.py", import.meta.url).pathname;
const ITEMS = Number(Deno.env.get("BATON_BENCH_ITEMS") ?? 200_000);
const BULL_ITEMS = Number(Deno.env.get("BATON_BENCH_BULL_ITEMS") ?? 20_000);

/** A process of bench/redis_agent.ts whose stdout lines we follow. */
class Agent {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #reading: Promise<void>;

  constructor(role: string, path: string, count: number, name: string) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--config",
        CONFIG,
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env",
        "--allow-sys",
        AGENT,
        role,
        path,
        String(count),
        name,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#child = child;
    this.#reading = (async () => {
      let rest = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        this.#lines.push(...parts);
      }
    })();
  }

  async line(prefix: string): Promise<string> {
    while (true) {
      const found = this.#lines.find((line) => line.startsWith(prefix));
      if (found !== undefined) return found;
      const status = await Promise.race([
        this.#child.status,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 5)),
      ]);
      if (status !== null && !this.#lines.some((line) => line.startsWith(prefix))) {
        await this.#reading;
        if (this.#lines.some((line) => line.startsWith(prefix))) continue;
        throw new Error(`an agent ended (code ${status.code}) before printing "${prefix}"`);
      }
    }
  }

  async end(): Promise<void> {
    const status = await this.#child.status;
    await this.#reading;
    if (!status.success) throw new Error(`an agent failed with code ${status.code}`);
  }
}

/** Runs producers and consumers from one "go"; returns items per second. */
async function run(
  path: string,
  name: string,
  producers: number,
  consumers: number,
  total: number,
  bull: boolean,
): Promise<number> {
  const perProducer = total / producers;
  // a consumer of several stops on shutdown; a single one after `total` items
  const perConsumer = consumers === 1 ? total : Number.MAX_SAFE_INTEGER;
  const prefix = bull ? "bull-" : "";
  const consuming = Array.from(
    { length: consumers },
    () => new Agent(`${prefix}consume`, path, perConsumer, name),
  );
  const producing = Array.from(
    { length: producers },
    () => new Agent(`${prefix}produce`, path, perProducer, name),
  );
  for (const agent of [...consuming, ...producing]) await agent.line("ready");
  const redis = await connectRedis({ path });
  try {
    const start = performance.now();
    await redis.event(`${name}:go`).set();
    if (consumers > 1) {
      for (const agent of producing) await agent.line("end");
      await redis.queue(name, { maxsize: 1000 }).shutdown();
    }
    let got = 0;
    for (const agent of consuming) got += Number((await agent.line("end")).slice(4));
    const seconds = (performance.now() - start) / 1000;
    if (got !== total) throw new Error(`${name}: consumers got ${got} of ${total} items`);
    await Promise.all([...consuming, ...producing].map((agent) => agent.end()));
    return total / seconds;
  } finally {
    await redis.close();
  }
}

async function python(): Promise<number | undefined> {
  try {
    const output = await new Deno.Command("python3", {
      args: [BASELINE, String(ITEMS)],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!output.success) return undefined;
    return JSON.parse(new TextDecoder().decode(output.stdout)).per_second;
  } catch {
    return undefined;
  }
}

if (!(await haveRedisServer())) {
  console.error(
    "redis-server is not on the PATH: install it (Debian: apt-get install redis-server)",
  );
  Deno.exit(1);
}

const server = await startRedisServer();
const rows: [string, number, number | undefined][] = [];
try {
  const one = await run(server.path, "bench1", 1, 1, ITEMS, false);
  rows.push(["baton Redis queue, 1 producer × 1 consumer", ITEMS, one]);
  const four = await run(server.path, "bench4", 4, 4, ITEMS, false);
  rows.push(["baton Redis queue, 4 producers × 4 consumers", ITEMS, four]);
  rows.push(["Python multiprocessing.Queue(1000), 1 × 1", ITEMS, await python()]);
  const bull = await run(server.path, "bull", 1, 1, BULL_ITEMS, true);
  rows.push(["BullMQ (addBulk, Worker concurrency 1), 1 × 1", BULL_ITEMS, bull]);
} finally {
  await server.stop();
}

const format = (n: number | undefined) =>
  n === undefined ? "n/a" : Math.round(n).toLocaleString("en-US");
console.log("| run | items | items/s |");
console.log("|---|---:|---:|");
for (const [what, items, perSecond] of rows) {
  console.log(`| ${what} | ${items.toLocaleString("en-US")} | ${format(perSecond)} |`);
}
const baton = rows[0]![2]!;
const py = rows[2]![2];
const bullRate = rows[3]![2]!;
console.log();
if (py !== undefined) {
  console.log(`baton 1×1 / Python: ${(baton / py).toFixed(2)}× (target ≥ 1.0×)`);
}
console.log(`baton 1×1 / BullMQ: ${(baton / bullRate).toFixed(1)}× (target ≥ 20×)`);
