/// <reference lib="deno.worker" />
/**
 * The worker side of bench/worker_bench.ts. A worker runs one command in
 * its life, in two steps: it sets itself up (connects, serves, listens) and
 * answers `ready`; the main thread then sends `go` to every agent of the
 * case, so start-up and handshakes stay outside the measured time. Each
 * agent answers with its `result`, times taken on the shared clock.
 *
 * A throughput command may carry a warm-up: before `ready`, its producers
 * move their share of the warm items through the same ports, link, queue
 * and functions as the measured items, untimed. Warm items have negative
 * ids (measured ones count from 0), so each consumer counts them apart,
 * in the same loop (or listener) that then takes the measured ones: that
 * loop is warm too, as in a program that has run for a while. Whichever
 * consumer takes the case's last warm item (a count the consumers share
 * over a SharedArrayBuffer) tells the main thread with `warmed`. The main
 * thread sends `go` only then, so no warm item is in flight in the
 * measured time.
 *
 * Baton rows use only the public API: `Queue` from mod.ts, `serve` and
 * `connect` from src/worker/mod.ts.
 *
 * @module
 */
import { Queue } from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";
import type { QueueLike } from "../src/worker/mod.ts";
import {
  CHECKSUM_MASK,
  type Control,
  idOf,
  isControl,
  item,
  type Kind,
  sharedClock,
} from "./_worker_common.ts";

/** How a consumer takes its items. */
export type Loop = "for-await" | "get";

/** A producer's share of the warm items: ids `first .. first + n - 1`, all negative. */
export interface WarmShare {
  first: number;
  n: number;
}

/** The warm-up of a case's consumers: `items` warm items in all, counted in `counter` (an Int32). */
export interface WarmUp {
  items: number;
  counter: SharedArrayBuffer;
}

/** What the main thread asks an agent to do. */
export type Command =
  /** Raw postMessage: `batch` items per message (1: the bare item), ids from `first`. */
  | {
    cmd: "raw-produce";
    port?: MessagePort;
    n: number;
    first: number;
    batch: number;
    kind: Kind;
    warm?: WarmShare | undefined;
  }
  /**
   * Raw postMessage, at most `window` items the consumer has not confirmed
   * (on `port`, else through the main thread, which relays both ways).
   */
  | {
    cmd: "raw-bounded-produce";
    port?: MessagePort;
    n: number;
    window: number;
    kind: Kind;
    warm?: WarmShare | undefined;
  }
  /**
   * Counts raw items until `n` arrived, or until `end` (no `n`); `credit`
   * confirms each message. With `loop` (and `n`), the messages' items are
   * taken one `await` at a time by that loop, as users take a queue's items:
   * the cost of the consumer's own loop, on raw messages (with `credit`, a
   * message is confirmed once the loop took its last item).
   */
  | {
    cmd: "raw-consume";
    port?: MessagePort;
    n?: number;
    credit?: boolean;
    loop?: Loop;
    warm?: WarmUp | undefined;
  }
  /** `await q.put(x)` through `connect` (on `port`, else `self`); with `shutdown`, then `shutdown()`. */
  | {
    cmd: "remote-produce";
    port?: MessagePort;
    n: number;
    first: number;
    kind: Kind;
    shutdown: boolean;
    warm?: WarmShare | undefined;
  }
  /** Takes from a served queue through `connect(self)`. */
  | { cmd: "remote-consume"; n?: number; loop: Loop; warm?: WarmUp | undefined }
  /** Owns a `Queue(maxsize)`, serves it on `port` and takes from it itself. */
  | {
    cmd: "own-consume";
    port: MessagePort;
    n: number;
    maxsize: number;
    loop: Loop;
    warm?: WarmUp | undefined;
  }
  /** Idle one-way latency, producer side: raw messages and remote puts, spaced. */
  | {
    cmd: "latency-produce";
    port: MessagePort;
    samples: number;
    gapMs: number;
    clock: SharedArrayBuffer;
  }
  /** Idle one-way latency, consumer side: owns and serves the queue, waits in `get`. */
  | { cmd: "latency-consume"; port: MessagePort; samples: number; clock: SharedArrayBuffer }
  /** Round trips to the main thread: raw ping/pong and remote `get()` with prefetch 0. */
  | { cmd: "round-trip"; samples: number };

/** A consumer's result: what it took and when its loop ended. */
export interface Consumed {
  count: number;
  sum: number;
  t1: number;
  /** Warm items this consumer took before the measured ones (0 without a warm-up). */
  warm: number;
  /** baton cases: messages this worker received on its endpoint (not the bench's own). */
  received?: number;
}

/** A producer's result: when it started producing. */
export interface Produced {
  t0: number;
  /** baton cases: messages this worker received on its endpoint while it produced. */
  received?: number;
}

/** Round-trip or one-way times in ms, raw and baton, sample by sample. */
export interface Timings {
  raw: number[];
  baton: number[];
  /** Idle one hop only: from the put to the arrival of the message that carried it. */
  arrival?: number[];
  /** Idle one hop only: from that message's arrival to the waiting get's return. */
  delivery?: number[];
}

const post = (message: Control) => self.postMessage(message);

self.addEventListener("message", (event: MessageEvent) => {
  const data = event.data;
  if (!isControl(data) || data.bench !== "command") return;
  let started!: () => void;
  const go = new Promise<void>((resolve) => started = resolve);
  const listener = (message: MessageEvent) => {
    if (isControl(message.data) && message.data.bench === "go") {
      self.removeEventListener("message", listener);
      started();
    }
  };
  self.addEventListener("message", listener);
  const ready = () => post({ bench: "ready" });
  run(data.command as Command, sharedClock(data.origin), ready, go).then(
    (value) => post({ bench: "result", value }),
    (error: unknown) => post({ bench: "error", message: String((error as Error)?.stack ?? error) }),
  );
});

function run(
  command: Command,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<unknown> {
  switch (command.cmd) {
    case "raw-produce":
      return rawProduce(command, now, ready, go);
    case "raw-bounded-produce":
      return rawBoundedProduce(command, now, ready, go);
    case "raw-consume":
      return rawConsume(command, now, ready);
    case "remote-produce":
      return remoteProduce(command, now, ready, go);
    case "remote-consume":
      return remoteConsume(command, now, ready, go);
    case "own-consume":
      return ownConsume(command, now, ready, go);
    case "latency-produce":
      return latencyProduce(command, now, ready, go);
    case "latency-consume":
      return latencyConsume(command, now, ready, go);
    case "round-trip":
      return roundTrip(command, ready, go);
  }
}

/**
 * Counts the messages an endpoint delivers, other than the bench's own: how
 * many envelopes baton needed, to set beside raw's one per 100 items.
 */
function countMessages(endpoint: MessagePort | typeof self): () => number {
  let count = 0;
  endpoint.addEventListener("message", (message: Event) => {
    if (!isControl((message as MessageEvent).data)) count++;
  });
  return () => count;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rawProduce(
  command: Extract<Command, { cmd: "raw-produce" }>,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<Produced> {
  const { n, first, batch, kind, warm } = command;
  // Without a port, the items go to the main thread, which forwards them.
  const port = command.port ?? self;
  if (warm) await postItems(port, warm.first, warm.n, batch, kind);
  ready();
  await go;
  const t0 = now();
  await postItems(port, first, n, batch, kind);
  return { t0 };
}

/** Posts the items with ids `first .. first + n - 1`, `batch` per message (1: the bare item). */
async function postItems(
  port: MessagePort | typeof self,
  first: number,
  n: number,
  batch: number,
  kind: Kind,
): Promise<void> {
  const end = first + n;
  for (let i = first; i < end;) {
    // Post in slices, yielding between them, as a real producer's loop would.
    const sliceEnd = Math.min(end, i + 50_000);
    while (i < sliceEnd) {
      if (batch === 1) {
        port.postMessage(item(kind, i++));
      } else {
        const chunk = new Array(Math.min(batch, end - i));
        for (let k = 0; k < chunk.length; k++) chunk[k] = item(kind, i++);
        port.postMessage(chunk);
      }
    }
    await sleep(0);
  }
}

async function rawBoundedProduce(
  command: Extract<Command, { cmd: "raw-bounded-produce" }>,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<Produced> {
  // The bound of a queue without the queue: at most `window` items unconfirmed,
  // a quarter of the window per message, room given back per message received.
  // The credits carry over from the warm items to the measured ones, as on one port they would.
  const { port, n, window, kind, warm } = command;
  const endpoint = port ?? self;
  let credits = window;
  let produce: (() => void) | undefined;
  // Through the main thread the bench's own control messages share the endpoint: counts only.
  endpoint.addEventListener(
    "message",
    ((message: MessageEvent) => {
      if (typeof message.data !== "number") return;
      credits += message.data;
      produce?.();
    }) as EventListener,
  );
  port?.start();
  const postItems = (first: number, count: number) =>
    new Promise<void>((resolve) => {
      const end = first + count;
      let i = first;
      produce = () => {
        while (credits > 0 && i < end) {
          const chunk = new Array(Math.min(window / 4, credits, end - i));
          for (let k = 0; k < chunk.length; k++) chunk[k] = item(kind, i++);
          credits -= chunk.length;
          endpoint.postMessage(chunk);
        }
        if (i === end) {
          produce = undefined;
          resolve();
        }
      };
      produce();
    });
  if (warm) await postItems(warm.first, warm.n);
  ready();
  await go;
  const t0 = now();
  await postItems(0, n);
  return { t0 };
}

/**
 * A consumer's count of warm items, and the count all consumers of the case
 * share: the one that takes the last warm item says `warmed`.
 */
class WarmCount {
  count = 0;
  readonly #shared: Int32Array;
  /** The case's warm items, all consumers together. */
  readonly items: number;

  constructor(warm: WarmUp) {
    this.#shared = new Int32Array(warm.counter);
    this.items = warm.items;
  }

  add(k: number): void {
    this.count += k;
    const taken = Atomics.add(this.#shared, 0, k) + k;
    if (taken > this.items) throw new Error(`${taken} warm items taken, of ${this.items}`);
    if (taken === this.items) post({ bench: "warmed" });
  }
}

/**
 * Raw messages' items, taken one `await` at a time: the least a queue's
 * consumer loop can cost on top of the messages (an array read and a settled
 * promise per item, no queue). It ends after `total` items.
 */
class AwaitedItems {
  #batches: unknown[][] = [];
  #index = 0;
  #left: number;
  #waiting: ((value: unknown) => void) | undefined;
  /** Called with a message's item count once the loop took its last item. */
  readonly #taken: ((count: number) => void) | undefined;

  constructor(total: number, taken?: (count: number) => void) {
    this.#left = total;
    this.#taken = taken;
  }

  /** A message's items arrive. */
  add(items: unknown[]): void {
    this.#batches.push(items);
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#waiting = undefined;
    waiting(this.#next());
  }

  #next(): unknown {
    const batch = this.#batches[0]!;
    const value = batch[this.#index++];
    if (this.#index === batch.length) {
      this.#batches.shift();
      this.#index = 0;
      this.#taken?.(batch.length);
    }
    this.#left--;
    return value;
  }

  get(): Promise<unknown> {
    if (this.#batches.length > 0) return Promise.resolve(this.#next());
    return new Promise((resolve) => this.#waiting = resolve);
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return {
      next: (): Promise<IteratorResult<unknown>> => {
        if (this.#left === 0) return Promise.resolve({ value: undefined, done: true });
        if (this.#batches.length > 0) return Promise.resolve({ value: this.#next(), done: false });
        return new Promise((resolve) => this.#waiting = (value) => resolve({ value, done: false }));
      },
    };
  }
}

/** Raw messages taken by a queue consumer's loop (`loop`): see {@linkcode AwaitedItems}. */
function rawAwaitConsume(
  command: Extract<Command, { cmd: "raw-consume" }>,
  loop: Loop,
  now: () => number,
  ready: () => void,
): Promise<Consumed> {
  const { port, n, credit } = command;
  if (n === undefined) throw new Error("a raw consumer's loop needs its item count");
  const source = port ?? self;
  const warm = command.warm && new WarmCount(command.warm);
  // Under a bound, a message's slots free once the loop took its items, as a queue's would.
  const confirm = credit ? (count: number) => source.postMessage(count) : undefined;
  const items = new AwaitedItems(n + (warm ? warm.items : 0), confirm);
  source.addEventListener(
    "message",
    ((message: MessageEvent) => {
      if (Array.isArray(message.data)) items.add(message.data);
    }) as EventListener,
  );
  port?.start();
  ready();
  return consume(items, loop, n, now, warm || undefined);
}

function rawConsume(
  command: Extract<Command, { cmd: "raw-consume" }>,
  now: () => number,
  ready: () => void,
): Promise<Consumed> {
  if (command.loop !== undefined) return rawAwaitConsume(command, command.loop, now, ready);
  const { port, n, credit } = command;
  const source = port ?? self;
  const warm = command.warm && new WarmCount(command.warm);
  let count = 0;
  let sum = 0;
  return new Promise((resolve) => {
    const finish = () => {
      source.removeEventListener("message", listener as EventListener);
      resolve({ count, sum, t1: now(), warm: warm ? warm.count : 0 });
    };
    // One listener takes the warm messages (negative ids, counted apart) and then the measured
    // ones, so the measured ones run through a listener already warm.
    const listener = (message: MessageEvent) => {
      const data = message.data;
      if (isControl(data)) {
        if (data.bench === "end") finish();
        return;
      }
      if (warm && idOf(Array.isArray(data) ? data[0] : data) < 0) {
        const k = Array.isArray(data) ? data.length : 1;
        if (credit) source.postMessage(k);
        warm.add(k);
        return;
      }
      if (Array.isArray(data)) {
        for (const value of data) sum = (sum + idOf(value)) & CHECKSUM_MASK;
        count += data.length;
        if (credit) source.postMessage(data.length);
      } else {
        sum = (sum + idOf(data)) & CHECKSUM_MASK;
        count++;
      }
      if (count === n) finish();
    };
    source.addEventListener("message", listener as EventListener);
    port?.start();
    ready();
  });
}

async function remoteProduce(
  command: Extract<Command, { cmd: "remote-produce" }>,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<Produced> {
  const { n, first, kind, warm } = command;
  const endpoint = command.port ?? self;
  const received = countMessages(endpoint);
  const remote = await connect<{ q: Queue<unknown> }>(endpoint);
  const queue = remote.q;
  if (warm) await putItems(queue, warm.first, warm.n, kind);
  ready();
  await go;
  const before = received();
  const t0 = now();
  await putItems(queue, first, n, kind);
  const after = received();
  if (command.shutdown) await queue.shutdown();
  await remote.close();
  return { t0, received: after - before };
}

/** What users write to put items: ids `first .. first + n - 1`. */
async function putItems(queue: QueueLike<unknown>, first: number, n: number, kind: Kind) {
  const end = first + n;
  for (let i = first; i < end; i++) await queue.put(item(kind, i));
}

/**
 * What users write to take items, in the two forms the bench compares. With
 * a warm-up, the same loop first takes the warm items (negative ids, counted
 * apart), so the measured items run through a loop that is already warm, as
 * in a program that has run for a while.
 */
async function consume(
  queue: Pick<QueueLike<unknown>, "get" | typeof Symbol.asyncIterator>,
  loop: Loop,
  n: number | undefined,
  now: () => number,
  warm?: WarmCount,
): Promise<Consumed> {
  let count = 0;
  let sum = 0;
  if (loop === "for-await") {
    for await (const value of queue) {
      const id = idOf(value);
      if (id < 0) {
        warm!.add(1);
        continue;
      }
      sum = (sum + id) & CHECKSUM_MASK;
      count++;
    }
  } else {
    if (n === undefined) throw new Error("a get loop needs its item count");
    // A get loop is the only consumer of its case: it takes every warm item.
    let left = n + (warm ? warm.items : 0);
    while (left--) {
      const id = idOf(await queue.get());
      if (id < 0) {
        warm!.add(1);
        continue;
      }
      sum = (sum + id) & CHECKSUM_MASK;
      count++;
    }
  }
  return { count, sum, t1: now(), warm: warm ? warm.count : 0 };
}

async function remoteConsume(
  command: Extract<Command, { cmd: "remote-consume" }>,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<Consumed> {
  const received = countMessages(self);
  const remote = await connect<{ q: Queue<unknown> }>(self); // default prefetch
  let before = received();
  // After a warm-up, only what arrives once the measured items start counts.
  if (command.warm) go.then(() => before = received());
  ready();
  const warm = command.warm && new WarmCount(command.warm);
  const result = await consume(remote.q, command.loop, command.n, now, warm || undefined);
  await remote.close();
  return { ...result, received: received() - before };
}

async function ownConsume(
  command: Extract<Command, { cmd: "own-consume" }>,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<Consumed> {
  // This worker owns the queue, serves it to the producer and drains it itself.
  // The link stays open: the producer may still be closing its side, and the
  // main thread terminates both workers once the results are in.
  const queue = new Queue<unknown>(command.maxsize);
  const received = countMessages(command.port); // includes the producer's connect handshake
  let before = 0;
  // After a warm-up, only what arrives once the measured items start counts.
  if (command.warm) go.then(() => before = received());
  serve(command.port, { q: queue });
  ready();
  const warm = command.warm && new WarmCount(command.warm);
  const result = await consume(queue, command.loop, command.n, now, warm || undefined);
  return { ...result, received: received() - before };
}

/**
 * Checks the shared clock between two workers over a SharedArrayBuffer:
 * the initiator stores its step, the responder answers with its time, and
 * the initiator takes the skew from the exchange with the shortest round
 * trip. Each side spins briefly, then sleeps in `Atomics.wait`, so a busy
 * machine widens the bound (printed) instead of burning the cores. The
 * check runs before and after the samples (`pass` 0 and 1), and the
 * tighter one counts.
 */
const CLOCK_EXCHANGES = 500;
const SPINS = 5_000;
const WAIT_LIMIT_MS = 5_000;

function store(flag: Int32Array, value: number): void {
  Atomics.store(flag, 0, value);
  Atomics.notify(flag, 0);
}

function awaitValue(flag: Int32Array, value: number, now: () => number): void {
  const start = now();
  for (let spins = 0;; spins++) {
    const seen = Atomics.load(flag, 0);
    if (seen === value) return;
    if (spins > SPINS) Atomics.wait(flag, 0, seen, 1);
    if (now() - start > WAIT_LIMIT_MS) throw new Error("clock check: no answer from the peer");
  }
}

function clockInitiator(
  buffer: SharedArrayBuffer,
  now: () => number,
  pass: number,
): [number, number] {
  const flag = new Int32Array(buffer, 0, 1);
  const time = new Float64Array(buffer, 8, 1);
  let best: [number, number] = [NaN, Infinity];
  for (let k = pass * CLOCK_EXCHANGES; k < (pass + 1) * CLOCK_EXCHANGES; k++) {
    const t1 = now();
    store(flag, 2 * k + 1);
    awaitValue(flag, 2 * k + 2, now);
    const t3 = now();
    const remote = time[0] as number;
    if (t3 - t1 < best[1]) best = [remote - (t1 + t3) / 2, t3 - t1];
  }
  return best;
}

function clockResponder(buffer: SharedArrayBuffer, now: () => number, pass: number): void {
  const flag = new Int32Array(buffer, 0, 1);
  const time = new Float64Array(buffer, 8, 1);
  for (let k = pass * CLOCK_EXCHANGES; k < (pass + 1) * CLOCK_EXCHANGES; k++) {
    awaitValue(flag, 2 * k + 1, now);
    time[0] = now();
    store(flag, 2 * k + 2);
  }
}

async function latencyProduce(
  command: Extract<Command, { cmd: "latency-produce" }>,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<{ skew: number; skewRoundTrip: number }> {
  const { port, samples, gapMs } = command;
  const remote = await connect<{ q: Queue<number> }>(port);
  const queue = remote.q;
  ready();
  await go;
  const before = clockInitiator(command.clock, now, 0);
  const rawSample = () => port.postMessage({ sent: now() });
  const batonSample = () => queue.put(now());
  for (let i = 0; i < samples; i++) {
    // Alternate which goes first, so neither always follows the other's traffic.
    if (i % 2 === 0) {
      rawSample();
      await sleep(gapMs);
      await batonSample();
    } else {
      await batonSample();
      await sleep(gapMs);
      rawSample();
    }
    await sleep(gapMs);
  }
  const after = clockInitiator(command.clock, now, 1);
  // The consumer answered the check with its thread; only now can it answer the close.
  await remote.close();
  const [skew, skewRoundTrip] = before[1] <= after[1] ? before : after;
  return { skew, skewRoundTrip };
}

async function latencyConsume(
  command: Extract<Command, { cmd: "latency-consume" }>,
  now: () => number,
  ready: () => void,
  go: Promise<void>,
): Promise<Timings> {
  const { port, samples } = command;
  const queue = new Queue<number>(1000);
  // Listening before `serve`, this sees the producer's messages before baton
  // does: the last one before a get resolves is the one that carried its item.
  let lastArrival = NaN;
  const raw: number[] = [];
  let rawDone!: () => void;
  const rawFinished = new Promise<void>((resolve) => rawDone = resolve);
  port.addEventListener("message", (message: MessageEvent) => {
    const data = message.data as { sent?: number };
    if (typeof data === "object" && data !== null && typeof data.sent === "number") {
      raw.push(now() - data.sent);
      if (raw.length === samples) rawDone();
    } else {
      lastArrival = now();
    }
  });
  serve(port, { q: queue });
  port.start();
  ready();
  await go;
  clockResponder(command.clock, now, 0);
  const baton: number[] = [];
  const arrival: number[] = [];
  const delivery: number[] = [];
  for (let i = 0; i < samples; i++) {
    const sent = await queue.get(); // waiting: the queue is idle between samples
    const received = now();
    baton.push(received - sent);
    arrival.push(lastArrival - sent);
    delivery.push(received - lastArrival);
  }
  await rawFinished;
  clockResponder(command.clock, now, 1);
  return { raw, baton, arrival, delivery };
}

async function roundTrip(
  command: Extract<Command, { cmd: "round-trip" }>,
  ready: () => void,
  go: Promise<void>,
): Promise<Timings> {
  // prefetch 0: every get is one round trip, served in the owner's thread.
  const remote = await connect<{ q: Queue<number> }>(self, { prefetch: 0 });
  const queue = remote.q;
  let answered: (() => void) | undefined;
  self.addEventListener("message", (message: MessageEvent) => {
    const data = message.data as { pong?: number };
    if (typeof data === "object" && data !== null && data.pong !== undefined) answered?.();
  });
  ready();
  await go;
  const raw: number[] = [];
  const baton: number[] = [];
  const ping = async (i: number) => {
    const start = performance.now();
    const pong = new Promise<void>((resolve) => answered = resolve);
    self.postMessage({ ping: i });
    await pong;
    raw.push(performance.now() - start);
  };
  const get = async () => {
    const start = performance.now();
    await queue.get();
    baton.push(performance.now() - start);
  };
  for (let i = 0; i < command.samples; i++) {
    // Alternate which goes first, as in the one-way case.
    if (i % 2 === 0) {
      await ping(i);
      await get();
    } else {
      await get();
      await ping(i);
    }
  }
  await remote.close();
  return { raw, baton };
}
