/**
 * crawler: a pool of five worker threads takes URLs from a `Queue` and
 * "fetches" them (simulated with a random delay, so the example works
 * offline). Workers never print: they put their lines on a dedicated print
 * queue, and one printer task in the main thread prints them, so lines never
 * interleave. `join()` waits until every URL is done; then `shutdown()` ends
 * the workers' loops and, once they are gone, the printer's.
 *
 * Python: the threaded URL fetcher, `queue.Queue` of URLs, a fixed pool of
 * `threading.Thread` workers, `q.task_done()` / `q.join()`, and a print queue
 * (or print lock) so output lines stay whole.
 *
 * Run: deno task example:crawler
 */
import { Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const POOL = 5;
const URLS = Array.from({ length: 12 }, (_, i) => `https://example.test/page/${i + 1}`);

const urls = new Queue<string>();
const print = new Queue<string>();

// The only place that prints while the workers run.
let printed = 0;
const printer = (async () => {
  for await (const line of print) {
    console.log(line);
    printed++;
  }
})();

const pool = Array.from({ length: POOL }, (_, i) => {
  const name = `fetcher-${i + 1}`;
  const worker = new Worker(new URL("./fetcher.ts", import.meta.url), { type: "module", name });
  return { link: serve(worker, { urls, print }), done: finished<number>(worker) };
});

for (const url of URLS) await urls.put(url);
await urls.join(); // every URL fetched and marked done
urls.shutdown(); // the workers' loops end
const fetched = (await Promise.all(pool.map((w) => w.done))).reduce((a, b) => a + b, 0);
for (const { link } of pool) link.close();
print.shutdown(); // the printer prints what is left, then stops
await printer;

console.log(`summary: urls=${URLS.length} fetched=${fetched} printed=${printed} workers=${POOL}`);
