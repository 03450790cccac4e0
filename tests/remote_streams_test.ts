/**
 * Web Streams over queues that are not in this thread: a worker's proxy
 * (served over a MessageChannel in this thread) and a Redis queue. Cancelling
 * a readable stream takes nothing more and loses nothing; an error other than
 * shutdown errors the stream; aborting a writable one is `shutdown(true)`.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { LifoQueue, Queue, QueueShutDown } from "../mod.ts";
import { connect, LinkClosed, type Remote, type Servable, serve } from "../src/worker/mod.ts";
import { connectRedis, type RedisClient } from "../src/redis/mod.ts";
import { withRedisServer } from "./fixtures/redis_server.ts";
import { flush } from "./_helpers.ts";

/** Serves `primitives` on one end of a MessageChannel, connects the other, runs `body`, closes all. */
async function withRemote<T extends Record<string, Servable>>(
  primitives: T,
  body: (remote: Remote<T>, close: () => void) => Promise<void>,
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, primitives);
  const remote = await connect<T>(port2);
  try {
    await body(remote, () => link.close());
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

/**
 * Reads `queue` through a fresh readable stream 16 times, cancelling the
 * read after 0, 1, 2, ... microtasks: before its get, while it waits, as it
 * is handed an item (which then stays for the next get), and after it got
 * one. Returns what the reads delivered, with what `after` took after each
 * cancel.
 */
async function readCancelledAtEveryStep(
  queue: { toReadableStream(): ReadableStream<number> },
  after?: () => Promise<number>,
): Promise<number[]> {
  const seen: number[] = [];
  for (let ticks = 0; ticks < 16; ticks++) {
    const reader = queue.toReadableStream().getReader();
    const read = reader.read();
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    await reader.cancel();
    const result = await read;
    if (!result.done) seen.push(result.value);
    if (after !== undefined) seen.push(await after());
  }
  return seen;
}

/** Runs `fn` with a client of a fresh throwaway Redis server; closes both. */
async function withRedis(fn: (redis: RedisClient) => Promise<void>): Promise<void> {
  await withRedisServer(async (path) => {
    const redis = await connectRedis({ path });
    try {
      await fn(redis);
    } finally {
      await redis.close();
    }
  });
}

Deno.test("W-2/Q-5: cancelling a remote readable stream while its read waits loses nothing", async () => {
  const jobs = new Queue<string>();
  await withRemote({ jobs }, async (remote) => {
    const reader = remote.jobs.toReadableStream().getReader();
    const read = reader.read();
    await flush();
    await reader.cancel();
    assertEquals(await read, { value: undefined, done: true });
    jobs.putNowait("a");
    await flush();
    // The item may already be prefetched for this side (W-2): the next get returns it, nothing lost.
    assertEquals(await remote.jobs.get(), "a");
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("W-2/Q-5: a remote readable cancelled at any step of a read takes nothing it does not deliver: every item once, in order", async () => {
  const jobs = new Queue<number>();
  const count = 40;
  for (let i = 0; i < count; i++) jobs.putNowait(i);
  await withRemote({ jobs }, async (remote) => {
    const seen: number[] = [await remote.jobs.get()]; // items are prefetched from now on
    seen.push(...await readCancelledAtEveryStep(remote.jobs));
    jobs.shutdown();
    for await (const item of remote.jobs) seen.push(item);
    assertEquals(seen, Array.from({ length: count }, (_, i) => i));
  });
});

Deno.test("W-2/Q-5: a remote LifoQueue's readable (direct gets) cancelled at any step of a read: the next get takes the item that read was handed, in LIFO order", async () => {
  const jobs = new LifoQueue<number>();
  const count = 40;
  for (let i = 0; i < count; i++) jobs.putNowait(i);
  await withRemote({ jobs }, async (remote) => {
    // Right after each cancel, a get: the item the cancelled read was handed comes first.
    const seen = await readCancelledAtEveryStep(remote.jobs, () => remote.jobs.get());
    jobs.shutdown();
    for await (const item of remote.jobs) seen.push(item);
    assertEquals(seen, Array.from({ length: count }, (_, i) => count - 1 - i));
  });
});

Deno.test("W-2/Q-5: a remote readable's read left waiting by releaseLock() takes nothing into the stream's buffer; a cancel after it loses nothing", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    const stream = remote.jobs.toReadableStream();
    const reader = stream.getReader();
    const waiting = reader.read().then(() => "read", (error) => error);
    await flush();
    reader.releaseLock();
    assertInstanceOf(await waiting, TypeError);
    jobs.putNowait(1);
    jobs.putNowait(2);
    await flush();
    await stream.cancel();
    // Whatever reached this side is kept for its next gets: 1, then 2, once each.
    const wait = { timeout: 10_000 }; // a lost item would fail the test, not hang it
    assertEquals([await remote.jobs.get(wait), await remote.jobs.get(wait)], [1, 2]);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("W-2/Q-5: cancelling a remote readable stream in the turn its read was handed an item keeps it for the next get", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    for (let i = 0; i < 8; i++) jobs.putNowait(i);
    assertEquals(await remote.jobs.get(), 0); // the consumer now has items prefetched
    await flush();
    const all: number[] = []; // what each read and get returned, in order
    for (const take of [() => remote.jobs.get(), () => remote.jobs.getNowait()]) {
      const reader = remote.jobs.toReadableStream().getReader();
      await flush(); // the stream has started: a read now pulls at once
      const read = reader.read(); // its get is handed a prefetched item...
      await reader.cancel(); // ...and the stream is cancelled before the read could enqueue it
      const first = await read;
      if (!first.done) all.push(first.value);
      all.push(await take()); // the kept item is the next get's
    }
    jobs.shutdown();
    for await (const n of remote.jobs) all.push(n);
    // Nothing is lost or reordered.
    assertEquals(all, [1, 2, 3, 4, 5, 6, 7]);
  });
});

Deno.test("W-6: a remote readable stream errors with LinkClosed when its link closes", async () => {
  const jobs = new Queue<string>();
  await withRemote({ jobs }, async (remote, closeLink) => {
    const reader = remote.jobs.toReadableStream().getReader();
    const read = reader.read();
    await flush();
    closeLink();
    await assertRejects(() => read, LinkClosed);
  });
});

Deno.test("W-1: aborting a remote queue's writable stream is shutdown(true): the queued items are discarded", async () => {
  const jobs = new Queue<string>();
  await withRemote({ jobs }, async (remote) => {
    const writer = remote.jobs.toWritableStream().getWriter();
    await writer.write("a");
    await writer.write("b");
    await remote.jobs.join({ timeout: 0 }); // a round trip: both puts reached the owner
    assertEquals(jobs.qsize(), 2);
    await writer.abort(new Error("stop"));
    assert(jobs.isShutdown);
    assertEquals(jobs.qsize(), 0);
    await assertRejects(() => jobs.get(), QueueShutDown);
  });
});

Deno.test("R-1: a Redis queue is a Web Stream both ways: pipeTo fills it, a readable drains it, abort discards", async () => {
  await withRedis(async (redis) => {
    const jobs = redis.queue<number>("streamed", { maxsize: 2 });
    const writing = ReadableStream.from([1, 2, 3, 4]).pipeTo(jobs.toWritableStream());
    const reading = Array.fromAsync(jobs.toReadableStream());
    await writing; // closing the stream shut the queue down
    assertEquals(await reading, [1, 2, 3, 4]);
    assert(await jobs.isShutdown);

    const other = redis.queue<string>("aborted");
    const writer = other.toWritableStream().getWriter();
    await writer.write("x");
    await writer.abort(new Error("stop"));
    assert(await other.isShutdown);
    await assertRejects(() => other.get(), QueueShutDown);

    const idle = redis.queue<string>("idle");
    const reader = idle.toReadableStream().getReader();
    const read = reader.read();
    await reader.cancel();
    assertEquals(await read, { value: undefined, done: true });
    await idle.put("kept");
    assertEquals(await idle.get(), "kept");
  });
});

Deno.test("R-5: a Redis queue's readable cancelled at any step of a read takes nothing it does not deliver: every item once, in order", async () => {
  await withRedis(async (redis) => {
    const jobs = redis.queue<number>("cancelled-read");
    const count = 40;
    for (let i = 0; i < count; i++) await jobs.put(i);
    const seen: number[] = [await jobs.get()]; // its fetch window brought more
    seen.push(...await readCancelledAtEveryStep(jobs));
    await jobs.shutdown();
    for await (const item of jobs) seen.push(item);
    assertEquals(seen, Array.from({ length: count }, (_, i) => i));
  });
});

Deno.test("R-5: a Redis readable's read left waiting by releaseLock() takes nothing into the stream's buffer; a cancel after it loses nothing", async () => {
  await withRedis(async (redis) => {
    const jobs = redis.queue<number>("released-read");
    const stream = jobs.toReadableStream();
    const reader = stream.getReader();
    const waiting = reader.read().then(() => "read", (error) => error);
    await new Promise((resolve) => setTimeout(resolve, 20)); // its get waits at the server
    reader.releaseLock();
    assertInstanceOf(await waiting, TypeError);
    await jobs.put(1);
    await jobs.put(2);
    await redis.flush();
    await stream.cancel();
    const wait = { timeout: 10_000 }; // a lost item would fail the test, not hang it
    assertEquals([await jobs.get(wait), await jobs.get(wait)], [1, 2]);
    assertEquals(await jobs.qsize(), 0);
  });
});

/** A queue of any kind, as an iterator's tests need it. */
interface Iterated {
  [Symbol.asyncIterator](): AsyncIterator<number>;
  get(options?: { timeout?: number }): Promise<number>;
}

/**
 * Gives up (`return()`) on a queue iterator whose `next()` waits, after 0, 1,
 * 2, ... microtasks, with an item put in the same turn as the `return()`, before
 * or after it: the waiting `next()` either delivers the item or ends done and
 * leaves it for the next get, and a `next()` after `return()` is done.
 * Returns every item delivered, in order.
 */
async function iterateReturnedAtEveryStep(
  queue: Iterated,
  put: (item: number) => unknown,
): Promise<number[]> {
  const seen: number[] = [];
  const wait = { timeout: 10_000 }; // a lost item fails the test, it does not hang it
  let item = 0;
  for (let ticks = 0; ticks < 12; ticks++) {
    for (const putFirst of [true, false]) {
      const iterator = queue[Symbol.asyncIterator]();
      const step = iterator.next();
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      if (putFirst) await put(item);
      const returned = iterator.return!();
      if (!putFirst) await put(item);
      assertEquals(await returned, { value: undefined, done: true });
      const result = await step;
      seen.push(result.done ? await queue.get(wait) : result.value);
      assertEquals(await iterator.next(), { value: undefined, done: true }, "done after return()");
      item++;
    }
  }
  return seen;
}

Deno.test("Q-5: return() on a local queue's iterator while its next() waits loses no item, and the iterator is done after it", async () => {
  const jobs = new Queue<number>();
  const seen = await iterateReturnedAtEveryStep(jobs, (item) => jobs.putNowait(item));
  assertEquals(seen, Array.from({ length: 24 }, (_, i) => i));
  assertEquals(jobs.qsize(), 0);
});

Deno.test("W-2/Q-5: return() on a remote queue's iterator while its next() waits loses no item, and the iterator is done after it", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    const seen = await iterateReturnedAtEveryStep(remote.jobs, (item) => jobs.putNowait(item));
    assertEquals(seen, Array.from({ length: 24 }, (_, i) => i));
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("R-5/Q-5: return() on a Redis queue's iterator while its next() waits loses no item, and the iterator is done after it", async () => {
  await withRedis(async (redis) => {
    const jobs = redis.queue<number>("iterated");
    const seen = await iterateReturnedAtEveryStep(jobs, (item) => jobs.put(item));
    assertEquals(seen, Array.from({ length: 24 }, (_, i) => i));
    assertEquals(await jobs.qsize(), 0);
  });
});

/**
 * Gives up on a queue iterator whose `next()` waits on an empty queue: the
 * `return()` settles without an item coming, the waiting `next()` ends done,
 * and an item put afterwards is the next get's.
 */
async function returnWhileEmpty(queue: Iterated, put: (item: number) => unknown): Promise<void> {
  const iterator = queue[Symbol.asyncIterator]();
  const step = iterator.next();
  await flush();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<string>((resolve) => timer = setTimeout(() => resolve("hung"), 10_000));
  try {
    assertEquals(await Promise.race([iterator.return!(), hung]), { value: undefined, done: true });
    assertEquals(await Promise.race([step, hung]), { value: undefined, done: true });
  } finally {
    clearTimeout(timer);
  }
  await put(7);
  assertEquals(await queue.get({ timeout: 10_000 }), 7);
}

Deno.test("Q-5: return() on a local queue's iterator waiting on an empty queue settles at once, and its next() ends done", async () => {
  const jobs = new Queue<number>();
  await returnWhileEmpty(jobs, (item) => jobs.putNowait(item));
});

Deno.test("W-2/Q-5: return() on a remote queue's iterator waiting on an empty queue settles at once, and its next() ends done", async () => {
  const jobs = new Queue<number>();
  await withRemote(
    { jobs },
    (remote) => returnWhileEmpty(remote.jobs, (item) => jobs.putNowait(item)),
  );
});

Deno.test("R-5/Q-5: return() on a Redis queue's iterator waiting on an empty queue settles at once, and its next() ends done", async () => {
  await withRedis(async (redis) => {
    const jobs = redis.queue<number>("iterated-empty");
    await returnWhileEmpty(jobs, (item) => jobs.put(item));
  });
});
