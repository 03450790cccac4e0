/**
 * One-way throughput worker → worker over a `Pipe`, beside raw
 * `postMessage` on the same route and Python's `multiprocessing.Pipe`
 * between two processes, measured in one run: `deno task bench:pipe`.
 *
 * - baton: `Pipe({ duplex: false })`, the sending end transferred to a
 *   producer worker (`send` in a loop, then `close`), the receiving end to a
 *   consumer worker (`await recv()` per item).
 * - raw, one per message: the same two workers joined by a `MessageChannel`,
 *   `postMessage(item)` per item, counted in `onmessage`.
 * - raw, 100 per message: the same, arrays of 100 items.
 * - Python: `bench/pipe_bench.py` (a `Process` sending on a
 *   `Pipe(duplex=False)`, another receiving), run by this script.
 *
 * Both workers start and take their ends first; the clock runs from "go" to
 * the consumer's last item (Python: both processes start first too). Shapes:
 * numbers (`i`) and small objects (`{ id: i, v: "x" }`), `ITEMS` each
 * (default 200,000), `ROUNDS` rounds (default 5) after one warm-up; each
 * round runs every case back to back, Python included, so a slow spell of
 * a shared host hits all of them alike. The tables give the median rate and
 * the median of the per-round ratios. It also prints what `snapshot` (the
 * check that lets `send` batch) costs per value beside `structuredClone`
 * and one `postMessage`.
 *
 * This file is also the workers' module: loaded in a worker, it serves
 * the commands below.
 *
 * @module
 */

import { Connection, Pipe } from "../src/worker/pipe.ts";
import { snapshot } from "../src/worker/clone.ts";
import { median } from "./_workloads.ts";

type Shape = "numbers" | "objects";
type Route = "baton Pipe" | "raw, 1 per message" | "raw, 100 per message";

const ROUTES: Route[] = ["baton Pipe", "raw, 1 per message", "raw, 100 per message"];
const SHAPES: Shape[] = ["numbers", "objects"];

function make(shape: Shape, i: number): unknown {
  return shape === "numbers" ? i : { id: i, v: "x" };
}

/** Whether `value` is the item `i` of `shape`: the consumer checks the last one. */
function isItem(shape: Shape, i: number, value: unknown): boolean {
  if (shape === "numbers") return value === i;
  const item = value as { id?: unknown; v?: unknown };
  return item.id === i && item.v === "x";
}

// ---- the workers ----

interface Setup {
  role: "producer" | "consumer";
  route: Route;
  shape: Shape;
  items: number;
  port: MessagePort;
}

/** The producer's sending loop for one route. */
function produce({ route, shape, items, port }: Setup): void {
  if (route === "baton Pipe") {
    const sender = Connection.fromPort(port, { readable: false });
    for (let i = 0; i < items; i++) sender.send(make(shape, i));
    sender.close();
    return;
  }
  if (route === "raw, 1 per message") {
    for (let i = 0; i < items; i++) port.postMessage(make(shape, i));
  } else {
    for (let i = 0; i < items; i += 100) {
      const batch: unknown[] = [];
      for (let j = i; j < Math.min(i + 100, items); j++) batch.push(make(shape, j));
      port.postMessage(batch);
    }
  }
  // Closing at once would drop what is still queued: the consumer closes.
}

/** The consumer's loop; resolves once the last item arrived, true if it is intact. */
function consume({ route, shape, items, port }: Setup): Promise<boolean> {
  if (route === "baton Pipe") {
    const receiver = Connection.fromPort(port, { writable: false });
    return (async () => {
      let last: unknown;
      for (let i = 0; i < items; i++) last = await receiver.recv();
      receiver.close();
      return isItem(shape, items - 1, last);
    })();
  }
  return new Promise((resolve) => {
    let seen = 0;
    let last: unknown;
    port.onmessage = (event: MessageEvent) => {
      if (route === "raw, 1 per message") {
        seen++;
        last = event.data;
      } else {
        const batch = event.data as unknown[];
        seen += batch.length;
        last = batch[batch.length - 1];
      }
      if (seen === items) {
        port.onmessage = null;
        port.close();
        resolve(isItem(shape, items - 1, last));
      }
    };
  });
}

function serveWorker(): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
  };
  let setup: Setup | undefined;
  let consuming: Promise<boolean> | undefined;
  scope.onmessage = async (event: MessageEvent) => {
    const message = event.data as { setup?: Setup; go?: true };
    if (message.setup !== undefined) {
      setup = message.setup;
      // The consumer listens before "go", so no message waits on a port nobody reads.
      consuming = setup.role === "consumer" ? consume(setup) : undefined;
      scope.postMessage({ ready: true });
    } else if (message.go === true && setup !== undefined) {
      if (setup.role === "producer") {
        produce(setup);
      } else {
        scope.postMessage({ done: await consuming });
      }
    }
  };
}

// ---- the main thread ----

/** The next message from `worker` that has `key`. */
function next<T>(worker: Worker, key: string): Promise<T> {
  return new Promise((resolve) => {
    const listener = (event: MessageEvent) => {
      const data = event.data as Record<string, unknown> | null;
      if (typeof data === "object" && data !== null && key in data) {
        worker.removeEventListener("message", listener);
        resolve(data as T);
      }
    };
    worker.addEventListener("message", listener);
  });
}

/** One round of one route: items per second. */
async function round(
  producer: Worker,
  consumer: Worker,
  route: Route,
  shape: Shape,
  items: number,
): Promise<number> {
  let sending: MessagePort;
  let receiving: MessagePort;
  if (route === "baton Pipe") {
    const [receiver, sender] = Pipe({ duplex: false });
    sending = sender.transfer();
    receiving = receiver.transfer();
  } else {
    const channel = new MessageChannel();
    sending = channel.port1;
    receiving = channel.port2;
  }
  const ready = Promise.all([next(producer, "ready"), next(consumer, "ready")]);
  producer.postMessage({ setup: { role: "producer", route, shape, items, port: sending } }, [
    sending,
  ]);
  consumer.postMessage({ setup: { role: "consumer", route, shape, items, port: receiving } }, [
    receiving,
  ]);
  await ready;
  const done = next<{ done: boolean }>(consumer, "done");
  const start = performance.now();
  consumer.postMessage({ go: true });
  producer.postMessage({ go: true });
  const { done: intact } = await done;
  const seconds = (performance.now() - start) / 1000;
  if (!intact) throw new Error(`${route}, ${shape}: the last item did not arrive intact`);
  return items / seconds;
}

/** Nanoseconds per call of `fn` over `values`, median of 5 runs. */
function nsPerOp(values: unknown[], fn: (value: unknown) => unknown, calls: number): number {
  const runs: number[] = [];
  let sink = 0;
  for (let run = 0; run < 6; run++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) if (fn(values[i % values.length]) === sink) sink++;
    if (run > 0) runs.push(((performance.now() - start) * 1e6) / calls); // run 0 warms up
  }
  return median(runs);
}

function costs(): string[] {
  const shapes: [string, (i: number) => unknown][] = [
    ["number", (i) => i],
    ['{ id, v: "x" }', (i) => ({ id: i, v: "x" })],
    ["nested object", (i) => ({ id: i, tags: ["a", "b"], at: { x: i, y: -i }, ok: true })],
    ["array of 10 numbers", (i) => Array.from({ length: 10 }, (_, j) => i + j)],
  ];
  const { port1, port2 } = new MessageChannel();
  const lines = [
    "| value | snapshot ns/op | structuredClone ns/op | postMessage ns/op |",
    "| --- | ---: | ---: | ---: |",
  ];
  try {
    for (const [name, makeOne] of shapes) {
      const values = Array.from({ length: 1024 }, (_, i) => makeOne(i));
      const cheap = nsPerOp(values, snapshot, 1_000_000);
      const clone = nsPerOp(values, structuredClone, 100_000);
      // Posting to a port nobody reads: the serialisation and the enqueue.
      const post = nsPerOp(values, (value) => port1.postMessage(value), 50_000);
      lines.push(`| ${name} | ${cheap.toFixed(0)} | ${clone.toFixed(0)} | ${post.toFixed(0)} |`);
    }
  } finally {
    port1.close();
    port2.close();
  }
  return lines;
}

interface PythonResult {
  python: string;
  start_method: string;
  results: Record<Shape, number[]>;
}

/** One round of Python's baseline for `shape`, in its own interpreter. */
async function python(items: number, shape: Shape): Promise<PythonResult> {
  const script = new URL("./pipe_bench.py", import.meta.url).pathname;
  const output = await new Deno.Command("python3", {
    args: [script, String(items), "1", shape],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`python3 ${script} failed (${output.code})`);
  return JSON.parse(new TextDecoder().decode(output.stdout)) as PythonResult;
}

/** A rate for the table: 1.23M or 456k. */
function format(perSecond: number): string {
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)}M` : `${(perSecond / 1e3).toFixed(0)}k`;
}

async function main(): Promise<void> {
  const items = Number(Deno.env.get("ITEMS") ?? 200_000);
  const rounds = Number(Deno.env.get("ROUNDS") ?? 5);
  console.log(`Pipe, one way, worker → worker: ${items} items, median of ${rounds} rounds`);
  console.log(
    `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${navigator.hardwareConcurrency} cores\n`,
  );

  console.log("What send's check costs per value (median of 5 runs):\n");
  for (const line of costs()) console.log(line);
  console.log();

  const PYTHON = "Python mp.Pipe";
  const measured = new Map<string, number[]>();
  let pythonVersion = "";
  const producer = new Worker(import.meta.url, { type: "module", name: "producer" });
  const consumer = new Worker(import.meta.url, { type: "module", name: "consumer" });
  try {
    for (let r = 0; r < rounds + 1; r++) {
      for (const shape of SHAPES) {
        const rates = new Map<string, number>();
        for (const route of ROUTES) {
          rates.set(route, await round(producer, consumer, route, shape, items));
        }
        const py = await python(items, shape);
        pythonVersion = `Python ${py.python} (${py.start_method})`;
        rates.set(PYTHON, py.results[shape][0]!);
        if (r === 0) continue; // warm-up
        for (const [route, rate] of rates) {
          const key = `${route}|${shape}`;
          measured.set(key, [...(measured.get(key) ?? []), rate]);
        }
      }
    }
  } finally {
    producer.terminate();
    consumer.terminate();
  }

  console.log(`| route | shape | items/s (median) | range |`);
  console.log(`| --- | --- | ---: | ---: |`);
  for (const shape of SHAPES) {
    for (const route of [...ROUTES, PYTHON]) {
      const values = measured.get(`${route}|${shape}`)!;
      const sorted = [...values].sort((a, b) => a - b);
      const name = route === PYTHON ? `${PYTHON}, ${pythonVersion}` : route;
      console.log(
        `| ${name} | ${shape} | ${format(median(values))} | ${format(sorted[0]!)} – ${
          format(sorted.at(-1)!)
        } |`,
      );
    }
  }
  /** The median over rounds of baton's rate divided by `route`'s in the same round. */
  const ratio = (shape: Shape, route: string) => {
    const baton = measured.get(`baton Pipe|${shape}`)!;
    const other = measured.get(`${route}|${shape}`)!;
    return median(baton.map((rate, i) => rate / other[i]!)).toFixed(2);
  };
  console.log();
  console.log(
    `| shape | baton / Python | baton / raw 1 per message | baton / raw 100 per message |`,
  );
  console.log(`| --- | ---: | ---: | ---: |`);
  for (const shape of SHAPES) {
    console.log(
      `| ${shape} | ${ratio(shape, PYTHON)}× | ${ratio(shape, "raw, 1 per message")}× | ${
        ratio(shape, "raw, 100 per message")
      }× |`,
    );
  }
  console.log("\ntarget: baton / Python >= 3×");
}

if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  serveWorker();
} else if (import.meta.main) {
  await main();
}
