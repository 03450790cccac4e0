/**
 * distributed: the crawler of examples/crawler across separate processes
 * through Redis. The main process puts URLs on a Redis queue; four fetcher
 * processes (`deno run fetcher.ts`) take them, "fetch" them (simulated, so
 * the example works offline) and put their lines on a Redis print queue,
 * which only the main process prints. A Redis semaphore tells the main
 * process when every fetcher is up; `join()` waits until every URL is done;
 * `shutdown()` ends the fetchers' loops.
 *
 * Uses the server in `REDIS_URL` when set; otherwise starts a throwaway
 * `redis-server` on a unix socket in a temp dir (and stops it at the end).
 *
 * Python: the threaded URL fetcher moved onto a distributed queue without
 * changing its structure: `put`, `get`, `task_done`, `join`, `shutdown`.
 *
 * Run: deno task example:distributed
 */
import { connectRedis } from "@baton/baton/redis";

const FETCHERS = 4;
const URLS = Array.from({ length: 12 }, (_, i) => `https://example.test/page/${i + 1}`);

/** A throwaway redis-server on a unix socket, or undefined when none is installed. */
async function startServer(): Promise<{ path: string; stop(): Promise<void> } | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "baton-distributed-" });
  const path = `${dir}/redis.sock`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: ["--port", "0", "--unixsocket", path, "--save", "", "--appendonly", "no", "--dir", dir],
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    await Deno.remove(dir, { recursive: true });
    return undefined;
  }
  const stop = async () => {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  for (let i = 0; i < 500; i++) {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      return { path, stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  await stop();
  throw new Error("redis-server did not start within 5 s");
}

const url = Deno.env.get("REDIS_URL");
const server = url === undefined ? await startServer() : undefined;
if (url === undefined && server === undefined) {
  console.error(
    "This example needs a Redis server (7.0 or later, or Valkey): set REDIS_URL=redis://host:port,\n" +
      "or install redis-server so the example can start its own (Debian/Ubuntu: apt-get install redis-server).",
  );
  Deno.exit(1);
}
const target = url ?? `unix:${server!.path}`;

// fresh names, so runs against a shared server never meet an old, shut-down queue
const run = crypto.randomUUID().slice(0, 8);
const redis = await connectRedis(url ?? { path: server!.path });
const urls = redis.queue<string>(`urls-${run}`);
const print = redis.queue<string>(`print-${run}`);

// The only place that prints while the fetchers run.
let printed = 0;
let fetched = 0;
const printer = (async () => {
  for await (const line of print) {
    const count = line.match(/: fetched=(\d+)$/);
    if (count !== null) fetched += Number(count[1]);
    else printed++;
    console.log(line);
    await print.taskDone();
  }
})();

const fetchers = Array.from({ length: FETCHERS }, (_, i) =>
  new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      new URL("./fetcher.ts", import.meta.url).pathname,
      target,
      `urls-${run}`,
      `print-${run}`,
      `fetcher-${i + 1}`,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn());

// every fetcher releases one permit once it is connected: start when all are
const ready = redis.semaphore(`urls-${run}:ready`, 0);
for (let i = 0; i < FETCHERS; i++) await ready.acquire();
for (const page of URLS) await urls.put(page);
await urls.join(); // every URL fetched and marked done, by whichever process
await urls.shutdown(); // the fetchers' loops end
const codes = (await Promise.all(fetchers.map((child) => child.status))).map((s) => s.code);
await print.shutdown(); // the printer prints what is left, then stops
await printer;
await redis.close();
await server?.stop();

const exited = codes.filter((code) => code === 0).length;
console.log(
  `summary: urls=${URLS.length} fetched=${fetched} printed=${printed} processes=${exited}`,
);
if (exited !== FETCHERS) Deno.exit(1);
