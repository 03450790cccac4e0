/**
 * crawler: a pool of five fetcher processes takes URLs from a `Queue` and
 * "fetches" them (simulated with a random delay, so the example works
 * offline). Fetchers never print: they put their lines on a dedicated print
 * queue, and one printer task in the main thread prints them, so lines never
 * interleave. `join()` on the URL queue waits until every URL is done; then
 * `shutdown()` ends the fetchers' loops, the main thread joins them, and
 * shuts the print queue down to end the printer's loop.
 *
 * Python: the threaded URL fetcher, `queue.Queue` of URLs, a fixed pool of
 * `threading.Thread` workers, `q.task_done()` / `q.join()`, and a print queue
 * (or print lock) so output lines stay whole.
 *
 * Run: deno task example:crawler
 */
import { Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type fetcher from "./fetcher.ts";

const POOL = 5;
const URLS = Array.from({ length: 12 }, (_, i) => `https://example.test/page/${i + 1}`);

const urls = new Queue<string>();
const print = new Queue<string>();
const fetched = new Queue<number>(); // each fetcher's count, for the summary

// The only place that prints while the fetchers run.
let printed = 0;
const printer = (async () => {
  for await (const line of print) {
    console.log(line);
    printed++;
  }
})();

const pool = Array.from(
  { length: POOL },
  (_, i) =>
    new Process<typeof fetcher>(new URL("./fetcher.ts", import.meta.url), {
      args: [urls, print, fetched],
      name: `fetcher-${i + 1}`,
    }),
);
for (const p of pool) p.start();

for (const url of URLS) await urls.put(url);
await urls.join(); // every URL fetched and marked done
urls.shutdown(); // the fetchers' loops end
for (const p of pool) await p.join();
print.shutdown(); // the printer prints what is left, then stops
await printer;
let total = 0;
while (!fetched.empty()) total += fetched.getNowait();

console.log(`summary: urls=${URLS.length} fetched=${total} printed=${printed} workers=${POOL}`);
