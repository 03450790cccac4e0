/**
 * An adversarial user's review of the one-thread primitives against API.md:
 * the rule combinations and edges the other test files do not reach. Each
 * test was written failing first, through the public API.
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import {
  Barrier,
  BrokenBarrierError,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PeriodicTimer,
  PriorityQueue,
  Queue,
  QueueShutDown,
  Semaphore,
  type WaitOptions,
} from "../mod.ts";
import { connectRedis } from "../src/redis/mod.ts";
import { withRedisServer } from "./fixtures/redis_server.ts";
import { armedCompare, flush, track, withRemote } from "./_helpers.ts";
import { ArrayStack } from "./fixtures/array_stack.ts";

/**
 * Whether `promise` fulfils within a generous real time: a hang fails the
 * test instead of hanging it, and a slow machine does not. Leaves no timer.
 */
async function settles(promise: Promise<unknown>, ms = 10_000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), hung]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- Web Streams

Deno.test("Q-9: toWritableStream abort() while a write waits for room shuts the queue down at once", async () => {
  const queue = new Queue<number>(1);
  const writer = queue.toWritableStream().getWriter();
  await writer.write(1);
  const waiting = track(writer.write(2)); // full, and nobody takes: waits for room
  await flush();
  assertEquals(waiting.status, "pending");
  const reason = new Error("stop");
  const aborting = track(writer.abort(reason));
  await flush();
  assertEquals(aborting.status, "fulfilled", "abort() settles: it does not wait for room");
  assertEquals(waiting.status, "rejected");
  assert(queue.isShutdown, "abort() is shutdown(true)");
  assertEquals(queue.qsize(), 0, "what was queued is discarded, the waiting write added nothing");
  assertEquals(queue.unfinishedTasks, 0);
  assertEquals(Deno.inspect(queue).includes("waitingPutters: 0"), true, Deno.inspect(queue));
});

Deno.test("Q-9: a remote queue's toWritableStream abort() while a write waits for room shuts the queue down", async () => {
  // The same stream code serves remote (and Redis) queues, through their put().
  const jobs = new Queue<number>(1);
  await withRemote({ jobs }, async (remote) => {
    const writer = remote.jobs.toWritableStream().getWriter();
    await writer.write(1);
    const waiting = track(writer.write(2)); // full: waits for room
    await flush();
    assertEquals(waiting.status, "pending");
    const aborting = track(writer.abort(new Error("stop")));
    assertEquals(
      await settles(aborting.promise),
      true,
      "abort() settles: it does not wait for room",
    );
    assertEquals(waiting.status, "rejected");
    assert(jobs.isShutdown, "abort() is shutdown(true)");
    assertEquals(jobs.qsize(), 0);
    assertEquals(jobs.unfinishedTasks, 0);
  });
});

Deno.test("Q-9: a Redis queue's toWritableStream abort() while a write waits for room shuts the queue down", async () => {
  await withRedisServer(async (path) => {
    const redis = await connectRedis({ path });
    try {
      const jobs = redis.queue<number>("abort-while-full", { maxsize: 1 });
      const writer = jobs.toWritableStream().getWriter();
      await writer.write(1);
      const waiting = track(writer.write(2)); // full: waits for room
      await new Promise((resolve) => setTimeout(resolve, 20)); // its put waits at the server
      assertEquals(waiting.status, "pending");
      const aborting = track(writer.abort(new Error("stop")));
      assertEquals(
        await settles(aborting.promise),
        true,
        "abort() settles: it does not wait for room",
      );
      assertEquals(waiting.status, "rejected");
      assert(await jobs.isShutdown, "abort() is shutdown(true)");
      assertEquals(await jobs.qsize(), 0);
    } finally {
      await redis.close();
    }
  });
});

Deno.test("Q-5: toReadableStream piped with preventCancel and stopped by a signal: the pipe's pending read takes nothing", async () => {
  const queue = new Queue<number>();
  const stream = queue.toReadableStream();
  const stop = new AbortController();
  const written: number[] = [];
  const piping = stream.pipeTo(new WritableStream({ write: (item) => void written.push(item) }), {
    signal: stop.signal,
    preventCancel: true, // the stream stays usable after the pipe stops
  }).catch((error) => error);
  await flush(); // the pipe's read waits in line for an item
  stop.abort();
  assertInstanceOf(await piping, DOMException);
  assertEquals(stream.locked, false, "the pipe let go of the stream");
  queue.putNowait(1);
  await flush();
  assertEquals(queue.qsize(), 1, "nothing was taken into the stream's buffer, ahead of any reader");
  await stream.cancel(); // a cancel loses nothing
  assertEquals(queue.getNowait(), 1);
  assertEquals(written, []);
  assertEquals(queue.unfinishedTasks, 1);
});

Deno.test("Q-2: an item given back by a stopped pipe's read keeps its variant's order among later puts", async () => {
  const cases: [Queue<number>, number[]][] = [
    [new Queue<number>(), [5, 1, 6]],
    [new LifoQueue<number>(), [6, 1, 5]],
    [new PriorityQueue<number>(), [1, 5, 6]],
  ];
  for (const [queue, expected] of cases) {
    const stream = queue.toReadableStream();
    const stop = new AbortController();
    const piping = stream.pipeTo(new WritableStream(), { signal: stop.signal, preventCancel: true })
      .catch(() => {});
    await flush();
    stop.abort();
    await piping;
    queue.putNowait(5); // handed to the pipe's read, which no reader waits for any more
    queue.putNowait(1);
    queue.putNowait(6);
    const order = [queue.getNowait(), queue.getNowait(), queue.getNowait()];
    assertEquals(order, expected, queue.constructor.name);
    await stream.cancel();
  }
});

Deno.test("Q-5: an item given back by a stopped pipe's read that its storage refuses then stays at the head, never lost", async () => {
  class Refusing extends Queue<number> {
    refuse = false;
    protected override storagePut(item: number): void {
      if (this.refuse) throw new RangeError("this storage refuses it now");
      super.storagePut(item);
    }
  }
  const queue = new Refusing();
  const stream = queue.toReadableStream();
  const stop = new AbortController();
  const piping = stream.pipeTo(new WritableStream(), { signal: stop.signal, preventCancel: true })
    .catch(() => {});
  await flush();
  stop.abort();
  await piping;
  queue.refuse = true;
  queue.putNowait(5); // handed to the pipe's read, never stored; coming back, the storage refuses it
  queue.refuse = false;
  queue.putNowait(1);
  assertEquals(queue.qsize(), 2);
  assertEquals([queue.getNowait(), queue.getNowait()], [5, 1]);
  await stream.cancel();
});

Deno.test("Q-5: a remote queue's readable piped with preventCancel and stopped: a cancel after it loses nothing", async () => {
  // The same stream code serves remote (and Redis) queues, through their get().
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    const stream = remote.jobs.toReadableStream();
    const stop = new AbortController();
    const piping = stream.pipeTo(new WritableStream(), { signal: stop.signal, preventCancel: true })
      .catch(() => {});
    await flush();
    stop.abort();
    await piping;
    jobs.putNowait(1);
    jobs.putNowait(2);
    await flush();
    await stream.cancel(); // discards the stream's own buffer
    const wait = { timeout: 10_000 }; // a lost item fails the test rather than hanging it
    assertEquals([await remote.jobs.get(wait), await remote.jobs.get(wait)], [1, 2]);
  });
});

// ---------------------------------------------------------------- a storage hook that throws

Deno.test("Q-9: shutdown(true) whose storage hook throws still releases the waiting putters", async () => {
  const { compare, armed } = armedCompare();
  const queue = new PriorityQueue<number>({ maxsize: 3, compare });
  for (const item of [1, 2, 3]) queue.putNowait(item);
  const putter = track(queue.put(4)); // full: waits for room
  await flush();
  armed.on = true;
  let thrown: unknown;
  try {
    queue.shutdown(true);
  } catch (error) {
    thrown = error;
  }
  assertInstanceOf(thrown, Error, "the hook's error reaches the caller of shutdown");
  await flush();
  assert(queue.isShutdown);
  assertEquals(putter.status, "rejected", "a waiting put never hangs after shutdown");
  assertInstanceOf(putter.reason, QueueShutDown);
  assertEquals(Deno.inspect(queue).includes("waitingPutters: 0"), true, Deno.inspect(queue));
});

Deno.test("Q-2: the async iterator's next() rejects with a compare's error, never throws synchronously", async () => {
  const { compare, armed } = armedCompare();
  const queue = new PriorityQueue<number>({ compare });
  for (const item of [1, 2, 3]) queue.putNowait(item);
  armed.on = true;
  const iterator = queue[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<number>> | undefined;
  try {
    next = iterator.next();
  } catch (error) {
    throw new Error(`next() threw synchronously: ${error}`);
  }
  const outcome = await next.then(() => undefined, (error) => error);
  assertInstanceOf(outcome, Error);
  assertEquals(outcome.message, "compare failed");
  assertEquals(queue.qsize(), 3, "the queue is unchanged");
});

// ---------------------------------------------------------------- Barrier

Deno.test("B-1: reset() inside the action releases no party of that trip, sync or async", async () => {
  for (const asAsync of [false, true]) {
    const barrier: Barrier = new Barrier(3, {
      action: () => {
        barrier.reset();
        return asAsync ? Promise.resolve() : undefined;
      },
    });
    const parties = [track(barrier.wait()), track(barrier.wait()), track(barrier.wait())];
    await flush();
    for (const party of parties) {
      assertEquals(party.status, "rejected", `async: ${asAsync}`);
      assertInstanceOf(party.reason, BrokenBarrierError);
    }
    assertEquals(barrier.broken, false, "reset() leaves the barrier whole");
    assertEquals(barrier.nWaiting, 0);
  }
});

// ---------------------------------------------------------------- Deno.inspect

Deno.test("Q-2: Deno.inspect of a subclass with storage of its own shows its size, never a made-up item list", () => {
  /** Storage of its own beside the base class's, which it never fills. */
  class SetQueue extends Queue<string> {
    #set = new Set<string>();
    protected override storageSize(): number {
      return this.#set.size;
    }
    protected override storagePut(item: string): void {
      this.#set.add(item);
    }
    protected override storageGet(): string {
      const [first] = this.#set;
      this.#set.delete(first!);
      return first!;
    }
  }
  const stack = new ArrayStack<number>();
  stack.putNowait(1);
  stack.putNowait(2);
  const set = new SetQueue();
  set.putNowait("a");
  for (const queue of [stack, set]) {
    const view = Deno.inspect(queue);
    assert(view.includes(`size: ${queue.qsize()}`), view);
    assert(
      !view.includes("items: []"),
      `a view that lists no items for a queue that has some: ${view}`,
    );
  }
  const plain = new (class extends Queue<number> {})(); // the built-in storage: items shown
  plain.putNowait(7);
  assert(Deno.inspect(plain).includes("items: [ 7 ]"), Deno.inspect(plain));
});

// ---------------------------------------------------------------- WaitOptions read once

/** Calls `op` and gives what it returned, or `undefined` when it threw synchronously. */
function call(op: () => Promise<unknown>): Promise<unknown> | undefined {
  try {
    return op();
  } catch {
    return undefined;
  }
}

Deno.test("Conventions: options whose getter throws make every wait reject with that error, never throw, and change nothing", async () => {
  const boom = new Error("getter threw");
  const options = {
    get timeout(): number {
      throw boom;
    },
  } as WaitOptions;
  const empty = new Queue<number>();
  const full = new Queue<number>(1);
  full.putNowait(1);
  const locked = new Lock();
  await locked.acquire();
  const condition = new Condition();
  await condition.acquire();
  const ops: [string, () => Promise<unknown>][] = [
    ["Queue.get", () => empty.get(options)],
    ["Queue.put", () => full.put(2, options)],
    ["Queue.join", () => full.join(options)],
    ["Lock.acquire", () => locked.acquire(options)],
    ["Semaphore.acquire", () => new Semaphore(0).acquire(options)],
    ["Event.wait", () => new Event().wait(options)],
    ["Barrier.wait", () => new Barrier(2).wait(options)],
    ["PeriodicTimer.waitForTick", () => new PeriodicTimer(10).waitForTick(options)],
    ["Condition.wait", () => condition.wait(options)],
  ];
  for (const [name, op] of ops) {
    const promise = call(op);
    if (promise === undefined) throw new Error(`${name} threw synchronously instead of rejecting`);
    const error = await promise.then(() => undefined, (error: unknown) => error);
    assert(error === boom, `${name} settled with ${String(error)}, not the getter's error`);
  }
  assertEquals(full.qsize(), 1);
  assertEquals(condition.locked(), true);
  empty.putNowait(5);
  assertEquals(empty.getNowait(), 5); // no getter was left waiting to swallow it
});

Deno.test("Q-5: options read as checked: a signal getter that changes between reads loses no item", async () => {
  let reads = 0;
  const options = {
    get signal(): AbortSignal | undefined {
      // Valid when checked, something else when used.
      return reads++ === 0 ? undefined : ({} as AbortSignal);
    },
  } as WaitOptions;
  const queue = new Queue<number>();
  const promise = call(() => queue.get(options));
  await promise?.catch(() => {});
  queue.putNowait(1);
  if (promise !== undefined) await flush();
  // Either that get took the item (and resolved with it) or the item is still queued.
  const got = promise === undefined ? undefined : await promise.catch(() => undefined);
  assert(
    got === 1 || queue.qsize() === 1,
    `the item went to a wait nobody holds (get gave ${got}, ${queue.qsize()} queued)`,
  );
});

/** Options whose `timeout` reads 50 the first time and throws `boom` from then on. */
function secondReadThrows(boom: Error): WaitOptions {
  let reads = 0;
  return {
    get timeout(): number {
      if (reads++ > 0) throw boom;
      return 50;
    },
  } as WaitOptions;
}

Deno.test("Conventions: options whose getter passes the check and throws when the wait reads it again: the wait rejects with that error, is never queued, and changes nothing", async () => {
  const boom = new Error("getter threw on its second read");
  const held = new Lock();
  await held.acquire();
  const empty = new Queue<number>();
  const full = new Queue<number>(1);
  full.putNowait(1);
  const ops: [string, (options: WaitOptions) => Promise<unknown>][] = [
    ["Lock.acquire", (options) => held.acquire(options)],
    ["Queue.get", (options) => empty.get(options)],
    ["Queue.put", (options) => full.put(2, options)],
    ["Semaphore.acquire", (options) => new Semaphore(0).acquire(options)],
    ["Event.wait", (options) => new Event().wait(options)],
    ["Barrier.wait", (options) => new Barrier(2).wait(options)],
  ];
  for (const [name, op] of ops) {
    const promise = call(() => op(secondReadThrows(boom)));
    if (promise === undefined) throw new Error(`${name} threw synchronously instead of rejecting`);
    const error = await promise.then(() => undefined, (error: unknown) => error);
    assert(error === boom, `${name} settled with ${String(error)}, not the getter's error`);
  }
  // Nobody was left in a line: the lock is free once released, the item goes to no one.
  held.release();
  assertEquals(held.locked(), false);
  empty.putNowait(5);
  assertEquals(empty.getNowait(), 5);
  assertEquals(full.qsize(), 1);
});

Deno.test("B-1: options whose timeout and signal getters both throw: the wait rejects with the first error, and that is no abort (the barrier is not broken)", async () => {
  const boom = new Error("timeout getter threw");
  const barrier = new Barrier(2);
  const options = {
    get timeout(): number {
      throw boom;
    },
    get signal(): AbortSignal {
      throw new Error("signal getter threw");
    },
  } as WaitOptions;
  const error = await barrier.wait(options).then(() => undefined, (error: unknown) => error);
  assert(error === boom, `the wait settled with ${String(error)}`);
  assertEquals(barrier.broken, false);
  // The barrier still works: two parties pass it.
  const indices = await Promise.all([barrier.wait(), barrier.wait()]);
  assertEquals(indices.sort(), [0, 1]);
});
