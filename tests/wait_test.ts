/**
 * `wait` (M-1, M-2): local queues, pipe connections, remote queue proxies
 * (over a MessageChannel and a real Worker), and objects made waitable
 * through the internal registry. Each test checks the outcome and that
 * nothing was taken; the sanitizers check that nothing was left running.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertStrictEquals } from "@std/assert";
import { Event, LifoQueue, PriorityQueue, Queue, QueueShutDown } from "../mod.ts";
import { connect, Pipe, serve, wait } from "../src/worker/mod.ts";
import { type Readiness, waitable } from "../src/worker/wait.ts";
import { queueAccess } from "../src/_queue_access.ts";
import {
  abortedSignal,
  flush,
  track,
  watchListeners,
  withFakeTime,
  withRemote,
} from "./_helpers.ts";
import { Agent, inspected, until } from "./fixtures/agent.ts";

/** Ready watchers a queue holds for `wait` (its inspect view). */
function watching(queue: object): number {
  return inspected(queue, "watchingReady");
}

// ---- local queues ----

Deno.test("M-1: a local queue with an item is ready, an empty one is not; nothing is taken", async () => {
  const full = new Queue<number>();
  const empty = new Queue<number>();
  full.putNowait(1);
  const ready = await wait([empty, full]);
  assertEquals(ready.length, 1);
  assertStrictEquals(ready[0], full);
  assertEquals(full.qsize(), 1);
  assertEquals(await full.get(), 1);
  assertEquals([watching(full), watching(empty)], [0, 0]);
});

Deno.test("M-1: an item put later wakes the wait; the other queue's watcher is removed", async () => {
  const a = new Queue<string>();
  const b = new Queue<string>();
  const waiting = track(wait([a, b]));
  await flush();
  assertEquals(waiting.status, "pending");
  assertEquals([watching(a), watching(b)], [1, 1]);
  b.putNowait("x");
  const ready = await waiting.promise;
  assertEquals(ready.length, 1);
  assertStrictEquals(ready[0], b);
  assertEquals(b.qsize(), 1);
  assertEquals([watching(a), watching(b)], [0, 0]);
});

Deno.test("M-1: an item handed to a waiting getter does not make the queue ready", async () => {
  const jobs = new Queue<number>();
  const getting = jobs.get();
  const waiting = track(wait([jobs], { timeout: 30 }));
  jobs.putNowait(1); // straight to the getter: a new get would still wait
  assertEquals(await getting, 1);
  assertEquals(await waiting.promise, []);
  assertEquals(watching(jobs), 0);
});

Deno.test("M-2: a shut-down drained queue counts as ready; a shut-down queue with items too", async () => {
  const drained = new Queue<number>();
  const waiting = track(wait([drained]));
  await flush();
  assertEquals(waiting.status, "pending");
  drained.shutdown();
  assertEquals(await waiting.promise, [drained]);
  await assertRejects(() => drained.get(), QueueShutDown);

  const left = new Queue<number>();
  left.putNowait(5);
  left.shutdown();
  assertEquals(await wait([left], { timeout: 0 }), [left]);
  assertEquals(left.qsize(), 1);
});

Deno.test("M-2: LifoQueue and PriorityQueue are waitable as queues", async () => {
  const lifo = new LifoQueue<number>();
  const priority = new PriorityQueue<number>();
  const waiting = track(wait([lifo, priority]));
  await flush();
  priority.putNowait(3);
  lifo.putNowait(1);
  const ready = await waiting.promise;
  assertEquals(new Set(ready), new Set([lifo, priority]), "both put in the same turn");
  assertEquals([lifo.qsize(), priority.qsize()], [1, 1]);
});

Deno.test("M-2: several ready at once come back by identity, each once, in the order given", async () => {
  const a = new Queue<number>();
  const b = new Queue<number>();
  const c = new Queue<number>();
  a.putNowait(1);
  c.putNowait(3);
  const ready = await wait([c, b, a, c, a]);
  assertEquals(ready.length, 2);
  assertStrictEquals(ready[0], c);
  assertStrictEquals(ready[1], a);
  assertEquals([a.qsize(), b.qsize(), c.qsize()], [1, 0, 1]);
});

Deno.test("M-2: items given back to the head wake a wait; so does the last held slot freed after shutdown", async () => {
  // What a remote consumer's link does with items sent ahead: held, then given back or taken.
  const jobs = new Queue<number>();
  const access = queueAccess<number>(jobs);
  const link = access.newHold("items sent on a test link");
  jobs.putNowait(1);
  jobs.putNowait(2);
  const first = access.takeHeld(link)!;
  const second = access.takeHeld(link)!;
  const waiting = track(wait([jobs]));
  await flush();
  assertEquals(waiting.status, "pending", "held items are not stored: a get would wait");
  access.requeue(link, [first]);
  assertEquals(await waiting.promise, [jobs]);
  assertEquals(jobs.getNowait(), 1);

  jobs.shutdown(); // one item still held: not drained, a get would wait for it
  const closing = track(wait([jobs]));
  await flush();
  assertEquals(closing.status, "pending");
  access.release(link, 1); // the consumer took it: drained now
  assertEquals(second.item, 2);
  assertEquals(await closing.promise, [jobs]);
  access.dropHold(link);
  access.check();
});

// ---- timeout, abort, arguments ----

Deno.test("M-1: a timeout that runs out resolves []; nothing is left watching", async () => {
  const a = new Queue<number>();
  const [left, right] = Pipe();
  try {
    assertEquals(await wait([a, left], { timeout: 20 }), []);
    assertEquals(watching(a), 0);
    assertEquals(await wait([], { timeout: 5 }), []);
  } finally {
    left.close();
    right.close();
  }
});

Deno.test("M-1: timeout 0 checks each object and returns at once", async () => {
  const a = new Queue<number>();
  const b = new Queue<number>();
  assertEquals(await wait([a, b], { timeout: 0 }), []);
  b.putNowait(1);
  assertEquals(await wait([a, b], { timeout: 0 }), [b]);
  assertEquals(await wait([], { timeout: 0 }), []);
  assertEquals([watching(a), watching(b)], [0, 0]);
});

Deno.test("M-1: an abort rejects with the signal's reason and removes every watcher and listener", async () => {
  const a = new Queue<number>();
  const controller = new AbortController();
  const listeners = watchListeners(controller.signal);
  const waiting = track(wait([a], { signal: controller.signal, timeout: 60_000 }));
  await flush();
  assertEquals(waiting.status, "pending");
  const reason = new Error("stop waiting");
  controller.abort(reason);
  await flush();
  assertEquals(waiting.status, "rejected");
  assertStrictEquals(waiting.reason, reason);
  assertEquals(watching(a), 0);
  assertEquals(listeners.active, 0);
  a.putNowait(1);
  assertEquals(a.qsize(), 1);
});

Deno.test("M-1: an already-aborted signal rejects at once, even when an object is ready", async () => {
  const a = new Queue<number>();
  a.putNowait(1);
  const { signal, reason } = abortedSignal();
  const error = await wait([a], { signal }).catch((e) => e);
  assertStrictEquals(error, reason);
  assertEquals([a.qsize(), watching(a)], [1, 0]);
});

Deno.test("M-1: a negative or NaN timeout rejects RangeError, even when an object is ready", async () => {
  const a = new Queue<number>();
  a.putNowait(1);
  await assertRejects(() => wait([a], { timeout: -1 }), RangeError, "-1");
  await assertRejects(() => wait([a], { timeout: NaN }), RangeError, "NaN");
  assertEquals(a.qsize(), 1);
});

Deno.test("M-1: an object wait cannot wait on rejects TypeError naming it", async () => {
  const a = new Queue<number>();
  await assertRejects(() => wait([a, new Event()]), TypeError, "cannot wait on a Event");
  await assertRejects(() => wait([a, {}]), TypeError, "cannot wait on an object");
  await assertRejects(() => wait([a, 42 as unknown as object]), TypeError, "cannot wait on 42");
  const [receiver, sender] = Pipe({ duplex: false });
  try {
    await assertRejects(() => wait([receiver, sender]), TypeError, "send-only pipe end");
  } finally {
    receiver.close();
    sender.close();
  }
  await assertRejects(
    () => wait(7 as unknown as Queue<number>[]),
    TypeError,
    "takes an iterable",
  );
  assertEquals(watching(a), 0, "nothing started before the check");
});

// ---- pipe connections ----

Deno.test("M-1: a pipe connection with data is ready; nothing is received", async () => {
  const [left, right] = Pipe<string, string>();
  try {
    const waiting = track(wait([right]));
    await flush();
    assertEquals(waiting.status, "pending");
    left.send("hello");
    assertEquals(await waiting.promise, [right]);
    assertEquals(await right.recv(), "hello");
  } finally {
    left.close();
    right.close();
  }
});

Deno.test("M-2: a connection whose other end closed, or itself closed, counts as ready", async () => {
  const [left, right] = Pipe();
  const waiting = track(wait([right]));
  await flush();
  left.close();
  assertEquals(await waiting.promise, [right]);

  const [own, peer] = Pipe();
  const closing = track(wait([own]));
  await flush();
  own.close(); // recv would reject PipeClosed at once
  assertEquals(await closing.promise, [own]);
  assertEquals(await wait([own], { timeout: 0 }), [own]);
  right.close();
  peer.close();
});

Deno.test("M-1: a queue and a pipe end at once: whichever is ready", async () => {
  const jobs = new Queue<number>();
  const [control, sender] = Pipe<never, string>({ duplex: false });
  try {
    sender.send("stop");
    jobs.putNowait(1);
    assert(await control.poll(10_000)); // the message arrived (poll takes nothing)
    const ready = await wait<object>([jobs, control]);
    assertEquals(ready.length, 2);
    assertStrictEquals(ready[0], jobs);
    assertStrictEquals(ready[1], control);
  } finally {
    sender.close();
    control.close();
  }
});

// ---- the registry (processes register themselves) ----

/** A stand-in for a process: ready once `end()` is called. */
class FakeProcess {
  readonly #ended = new Event();
  readonly signals: AbortSignal[] = [];

  constructor() {
    const ready: Readiness = async (options) => {
      if (options.signal !== undefined) this.signals.push(options.signal);
      return await this.#ended.wait(options);
    };
    waitable(this, ready);
  }

  end(): void {
    this.#ended.set();
  }
}

Deno.test("M-1: an object made waitable is waited on through its readiness", async () => {
  const first = new FakeProcess();
  const second = new FakeProcess();
  const waiting = track(wait([first, second]));
  await flush();
  assertEquals(waiting.status, "pending");
  second.end();
  assertEquals(await waiting.promise, [second]);
  // The loser's check was cancelled when wait settled.
  assert(first.signals.length === 1 && first.signals[0]!.aborted);
  assertEquals(await wait([first, second], { timeout: 0 }), [second]);
});

Deno.test("M-1: a readiness that fails rejects the wait and cancels the others", async () => {
  const failure = new Error("the check failed");
  const broken = {};
  waitable(broken, () => Promise.reject(failure));
  const other = new Queue<number>();
  const error = await wait<object>([other, broken]).catch((e) => e);
  assertStrictEquals(error, failure);
  assertEquals(watching(other), 0);
});

// ---- remote queues over a MessageChannel ----

Deno.test("M-1: a remote queue is ready when its owner has an item; nothing is taken", async () => {
  const jobs = new Queue<number>();
  const other = new Queue<number>();
  await withRemote({ jobs, other }, async (remote) => {
    const waiting = track(wait([remote.other, remote.jobs]));
    await until(() => watching(jobs) === 1 && watching(other) === 1, "the owner's watchers");
    assertEquals(waiting.status, "pending");
    jobs.putNowait(7);
    const ready = await waiting.promise;
    assertEquals(ready.length, 1);
    assertStrictEquals(ready[0], remote.jobs);
    assertEquals(jobs.qsize(), 1);
    // The loser's call was cancelled at its owner.
    await until(() => watching(other) === 0, "the cancelled check");
    assertEquals(await remote.jobs.get(), 7);
    assertEquals(await wait([remote.jobs, remote.other], { timeout: 0 }), []);
  });
});

Deno.test("M-1: a remote queue with an item already stored: timeout 0 says so", async () => {
  const jobs = new Queue<number>();
  jobs.putNowait(1);
  await withRemote({ jobs }, async (remote) => {
    assertEquals(await wait([remote.jobs], { timeout: 0 }), [remote.jobs]);
    assertEquals(jobs.qsize(), 1);
  });
});

Deno.test("M-2: a remote queue shut down and drained counts as ready", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    const waiting = track(wait([remote.jobs]));
    await until(() => watching(jobs) === 1, "the owner's watcher");
    jobs.shutdown();
    assertEquals(await waiting.promise, [remote.jobs]);
    await assertRejects(() => remote.jobs.get(), QueueShutDown);
    assertEquals(await wait([remote.jobs], { timeout: 0 }), [remote.jobs]);
  });
});

Deno.test("M-1: remote timeout and abort: [] or the reason, and the owner keeps no watcher", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    assertEquals(await wait([remote.jobs], { timeout: 20 }), []);
    await until(() => watching(jobs) === 0, "the timed-out check");
    const controller = new AbortController();
    const waiting = track(wait([remote.jobs], { signal: controller.signal }));
    await until(() => watching(jobs) === 1, "the owner's watcher");
    const reason = new Error("enough");
    controller.abort(reason);
    await flush();
    assertEquals(waiting.status, "rejected");
    assertStrictEquals(waiting.reason, reason);
    await until(() => watching(jobs) === 0, "the aborted check");
    jobs.putNowait(1);
    assertEquals(jobs.qsize(), 1);
  });
});

Deno.test("M-1: a remote queue whose link closed counts as ready (get rejects at once)", async () => {
  const jobs = new Queue<number>();
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<number> }>(port2);
  try {
    const waiting = track(wait([remote.jobs]));
    await until(() => watching(jobs) === 1, "the owner's watcher");
    link.close();
    assertEquals(await waiting.promise, [remote.jobs]);
    assertEquals(watching(jobs), 0);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("M-1: local, remote and pipe objects in one wait", async () => {
  const local = new Queue<number>();
  const served = new Queue<number>();
  const [receiver, sender] = Pipe<never, number>({ duplex: false });
  try {
    await withRemote({ served }, async (remote) => {
      const waiting = track(wait<object>([local, remote.served, receiver]));
      await until(() => watching(served) === 1, "the owner's watcher");
      served.putNowait(1);
      const ready = await waiting.promise;
      assertEquals(ready.length, 1);
      assertStrictEquals(ready[0], remote.served);
      assertEquals(watching(local), 0);
      sender.send(2);
      assert(await receiver.poll(10_000)); // the value arrived (poll takes nothing)
      // Timeout 0 waits for every answer: the owner's too.
      const both = await wait<object>([local, remote.served, receiver], { timeout: 0 });
      assertEquals(both.length, 2);
      assertStrictEquals(both[0], remote.served);
      assertStrictEquals(both[1], receiver);
      assertEquals([served.qsize(), await receiver.recv()], [1, 2]);
    });
  } finally {
    receiver.close();
    sender.close();
  }
});

// ---- a real worker ----

Deno.test("M-1: wait in a worker on remote queues: the one its owner fills comes back", async () => {
  const jobs = new Queue<number>();
  const other = new Queue<number>();
  const agent = new Agent("wait");
  const link = serve(agent.worker, { jobs, other });
  try {
    await agent.connect();
    assertEquals(await agent.run("wait", { names: ["jobs", "other"], timeout: 0 }), []);
    const waiting = agent.run<string[]>("wait", { names: ["jobs", "other"] });
    await until(() => watching(jobs) === 1 && watching(other) === 1, "the owner's watchers");
    jobs.putNowait(42);
    assertEquals(await waiting, ["jobs"]);
    assertEquals(jobs.qsize(), 1);
    await until(() => watching(other) === 0, "the cancelled check");
    assertEquals(await agent.op("jobs", "get"), 42);
    other.shutdown();
    assertEquals(await agent.run("wait", { names: ["jobs", "other"] }), ["other"]);
  } finally {
    link.close();
    agent.terminate();
  }
});

Deno.test("M-1: a readiness that throws at once rejects the wait as one that fails", async () => {
  const failure = new Error("the check threw");
  const broken = {};
  waitable(broken, () => {
    throw failure;
  });
  const other = new Queue<number>();
  const error = await wait<object>([other, broken]).catch((e) => e);
  assertStrictEquals(error, failure);
  assertEquals(watching(other), 0);
});

Deno.test("M-1: a check that answers ready after wait settled changes nothing and starts no timer", async () => {
  await withFakeTime(async (clock) => {
    const first = {};
    const late = {};
    let answerLate: ((ready: boolean) => void) | undefined;
    waitable(first, () => Promise.resolve(true));
    // A readiness that ignores the abort wait sends when it settles, and answers later anyway.
    waitable(late, () => new Promise<boolean>((resolve) => answerLate = resolve));
    const waiting = track(wait<object>([first, late]));
    await flush();
    clock.tick(0); // the turn in which those ready together are gathered
    assertEquals(await waiting.promise, [first]);
    answerLate!(true);
    await flush();
    assertEquals(clock.countTimers(), 0, "the late answer started a gathering turn");
  });
});
