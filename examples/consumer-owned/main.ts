/**
 * consumer-owned: the queue lives in the consumer worker, not in the main
 * thread. The main thread only hands each worker one end of a
 * `MessageChannel`; the consumer serves its `Queue(1000)` on its end and
 * drains it with a local `for await`, the producer connects to it over the
 * other end and streams into it. Every item makes one hop (producer →
 * consumer) instead of two through the main thread, and `maxsize` still
 * holds across both threads.
 *
 * This is the one example that manages its workers by hand, for users who
 * do: plain `new Worker`, `serve`/`connect` on a `MessagePort`, a
 * home-made "finished" message, and each worker closing its own link and
 * port before it closes itself. Everywhere else, `Process` does all of that.
 *
 * Python: a `multiprocessing.Queue` between a writer and a reader process;
 * here the reader's thread holds the items, so nothing passes through a third.
 *
 * Run: deno task example:consumer-owned
 */
/**
 * Resolves with the report `worker` posts when it is done: each worker here
 * posts a plain `{ finished: report }` message last (baton ignores messages
 * that are not its own).
 */
function finished<T>(worker: Worker): Promise<T> {
  return new Promise((resolve) => {
    worker.addEventListener("message", function onMessage(event: MessageEvent) {
      if (event.data?.finished === undefined) return;
      worker.removeEventListener("message", onMessage);
      resolve(event.data.finished);
    });
  });
}

const ITEMS = 200_000;
const MAXSIZE = 1000;

const consumer = new Worker(new URL("./consumer.ts", import.meta.url), { type: "module" });
const producer = new Worker(new URL("./producer.ts", import.meta.url), { type: "module" });
const { port1, port2 } = new MessageChannel();

const started = performance.now();
consumer.postMessage({ port: port1, maxsize: MAXSIZE }, [port1]);
producer.postMessage({ port: port2, items: ITEMS }, [port2]);
const [produced, report] = await Promise.all([
  finished<number>(producer),
  finished<{ count: number; ordered: boolean; largest: number }>(consumer),
]);
const seconds = (performance.now() - started) / 1000;

console.log(
  `producer: put ${produced} numbers into the consumer's Queue(${MAXSIZE}), then shutdown()`,
);
console.log(
  `consumer: took ${report.count} in order, at most ${report.largest} queued at once ` +
    `(about ${Math.round(report.count / seconds).toLocaleString("en-US")} items/s)`,
);
console.log(
  `summary: produced=${produced} consumed=${report.count} ordered=${report.ordered} ` +
    `bounded=${report.largest <= MAXSIZE}`,
);
