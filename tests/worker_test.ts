/**
 * End-to-end tests of the cross-worker adapters (W-1..W-8) with real Workers
 * running `fixtures/agent_worker.ts`. Each test terminates every worker it
 * starts and closes every link in `finally`; every wait on a worker is
 * bounded by a generous deadline, so a broken adapter fails a test instead of
 * hanging the run. No test asserts a duration.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertStrictEquals, assertThrows } from "@std/assert";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  QueueEmpty,
  Semaphore,
} from "../mod.ts";
import { connect, type Endpoint, type Link, type Servable, serve } from "../src/worker/mod.ts";
import {
  Agent,
  COMMAND_DEADLINE,
  type ErrorInfo,
  errorOf,
  inspected,
  pause,
  recording,
  until,
  valueOf,
} from "./fixtures/agent.ts";

/** The workers and links of one test; all closed at the end, whatever happens. */
class Scope {
  readonly agents: Agent[] = [];
  readonly links: Link[] = [];

  agent(name = `agent-${this.agents.length}`): Agent {
    const agent = new Agent(name);
    this.agents.push(agent);
    return agent;
  }

  /** A new worker, served `primitives` and connected to them. */
  async connected(
    primitives: Record<string, Servable>,
    options: { name?: string; prefetch?: number } = {},
  ): Promise<Agent> {
    const agent = this.agent(options.name);
    this.serve(agent, primitives);
    await agent.connect(options.prefetch === undefined ? {} : { prefetch: options.prefetch });
    return agent;
  }

  serve(agent: Agent, primitives: Record<string, Servable>, onError?: (e: unknown) => void): Link {
    const link = serve(agent.worker, primitives, onError === undefined ? {} : { onError });
    this.links.push(link);
    return link;
  }

  close(): void {
    for (const link of this.links) link.close();
    for (const agent of this.agents) agent.terminate();
  }
}

async function withScope(fn: (scope: Scope) => Promise<void>): Promise<void> {
  const scope = new Scope();
  try {
    await fn(scope);
  } finally {
    scope.close();
  }
}

type Item = { p: string; i: number };

/** Every item exactly once, and each producer's items in order within each consumer. */
function assertExactlyOnce(consumed: Item[][], producers: Record<string, number>): void {
  const seen = new Set<string>();
  for (const items of consumed) {
    const last = new Map<string, number>();
    for (const { p, i } of items) {
      const key = `${p}:${i}`;
      assert(!seen.has(key), `${key} consumed twice`);
      seen.add(key);
      assert(
        (last.get(p) ?? -1) < i,
        `${p}'s items out of order within one consumer: ${
          JSON.stringify(items.map((item) => item.i))
        }`,
      );
      last.set(p, i);
    }
  }
  const expected = Object.values(producers).reduce((sum, count) => sum + count, 0);
  assertEquals(seen.size, expected, "every item consumed");
}

function assertError(info: ErrorInfo, name: string, ...classes: string[]): void {
  assertEquals(info.name, name, `error name (${info.message})`);
  for (const cls of classes) {
    assert(info.classes.includes(cls), `instanceof ${cls} in the worker: [${info.classes}]`);
  }
}

function shared(ints: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(ints * 4));
}

// ---- pipelines ----

Deno.test("a producer worker feeds consumer workers through an owner queue: every item once, per-producer order kept", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<Item>(32);
    const producer = scope.agent("producer");
    const consumers = [scope.agent("consumer-0"), scope.agent("consumer-1")];
    scope.serve(producer, { jobs });
    for (const consumer of consumers) scope.serve(consumer, { jobs });
    await producer.connect();
    await consumers[0]!.connect();
    await consumers[1]!.connect({ prefetch: 8 });
    const consuming = consumers.map((consumer) =>
      consumer.run<Item[]>("consume", { name: "jobs" })
    );
    assertEquals(await producer.run("produce", { name: "jobs", tag: "p", count: 300 }), 300);
    // Items still on their way on put credit are not lost by the shutdown.
    jobs.shutdown();
    const consumed = await Promise.all(consuming);
    assertExactlyOnce(consumed, { p: 300 });
    assertEquals(await jobs.join({ timeout: COMMAND_DEADLINE }), true);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("many producer and consumer workers with shutdown: nothing lost, nothing twice", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<Item>(8);
    const producers = [0, 1, 2].map((n) => scope.agent(`producer-${n}`));
    const consumers = [0, 1, 2].map((n) => scope.agent(`consumer-${n}`));
    for (const agent of [...producers, ...consumers]) scope.serve(agent, { jobs });
    await Promise.all(producers.map((agent) => agent.connect()));
    await consumers[0]!.connect({ prefetch: 0 });
    await consumers[1]!.connect({ prefetch: 4 });
    await consumers[2]!.connect();
    const consuming = consumers.map((agent) => agent.run<Item[]>("consume", { name: "jobs" }));
    // The owner consumes too, in its own thread.
    const local: Item[] = [];
    const localConsumer = (async () => {
      for await (const item of jobs) {
        local.push(item);
        jobs.taskDone();
      }
    })();
    await Promise.all(
      producers.map((agent, n) => agent.run("produce", { name: "jobs", tag: `p${n}`, count: 150 })),
    );
    jobs.shutdown();
    const consumed = [...await Promise.all(consuming)];
    await localConsumer;
    assertExactlyOnce([...consumed, local], { p0: 150, p1: 150, p2: 150 });
    assertEquals(await jobs.join({ timeout: COMMAND_DEADLINE }), true);
  });
});

Deno.test("join across workers: workers mark items done, the owner's join resolves; a worker's join waits for the owner", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<Item>();
    const workers = [scope.agent(), scope.agent()];
    for (const agent of workers) scope.serve(agent, { jobs });
    await workers[0]!.connect({ prefetch: 4 });
    await workers[1]!.connect({ prefetch: 0 });
    // A worker's join waits for the task the owner holds.
    jobs.putNowait({ p: "owner", i: -1 });
    assertEquals(await workers[0]!.op("jobs", "join", [], { timeout: 20 }), false);
    const joining = workers[0]!.op("jobs", "join", [], { timeout: COMMAND_DEADLINE });
    await until(() => inspected(jobs, "joiners") === 1, "the remote join");
    jobs.getNowait();
    jobs.taskDone();
    assertEquals(await joining, true);
    // The owner's join waits for the tasks the workers mark done.
    for (let i = 0; i < 40; i++) jobs.putNowait({ p: "owner", i });
    const consuming = workers.map((agent) => agent.run<Item[]>("consume", { name: "jobs" }));
    assertEquals(await jobs.join({ timeout: COMMAND_DEADLINE }), true);
    assertEquals(jobs.unfinishedTasks, 0);
    jobs.shutdown();
    assertExactlyOnce(await Promise.all(consuming), { owner: 40 });
  });
});

// ---- the other primitives across workers ----

Deno.test("Event: set in a worker wakes the owner's waiters; the owner's set wakes every waiting worker", async () => {
  await withScope(async (scope) => {
    const done = new Event();
    const workers = [scope.agent(), scope.agent()];
    for (const agent of workers) scope.serve(agent, { done });
    await Promise.all(workers.map((agent) => agent.connect()));
    const ownerWait = done.wait({ timeout: COMMAND_DEADLINE });
    await workers[0]!.op("done", "set");
    assertEquals(await ownerWait, true);
    assertEquals(await workers[1]!.op("done", "isSet"), true);
    done.clear();
    assertEquals(await workers[1]!.op("done", "wait", [], { timeout: 10 }), false);
    const waits = workers.map((agent) =>
      agent.op("done", "wait", [], { timeout: COMMAND_DEADLINE })
    );
    await until(() => inspected(done, "waiters") === 2, "both workers waiting");
    done.set();
    assertEquals(await Promise.all(waits), [true, true]);
  });
});

Deno.test("Semaphore(2) caps the work running at once across four workers, and the cap is reached", async () => {
  await withScope(async (scope) => {
    const slots = new Semaphore(2);
    const counters = shared(2); // [holding now, most at once]
    const workers = [0, 1, 2, 3].map((n) => scope.agent(`worker-${n}`));
    for (const agent of workers) scope.serve(agent, { slots });
    await Promise.all(workers.map((agent) => agent.connect()));
    await Promise.all(workers.map((agent) => agent.run("share", { sab: counters.buffer })));
    await Promise.all(
      workers.map((agent) => agent.run("semaphoreWork", { name: "slots", iterations: 5, cap: 2 })),
    );
    assertEquals(Atomics.load(counters, 1), 2, "the most holders at once is the cap");
    assertEquals(Atomics.load(counters, 0), 0);
    assertEquals(slots.value, 2, "every permit came back");
  });
});

Deno.test("Condition: notify wakes the worker that waited first; waitFor sees a flag the owner sets", async () => {
  await withScope(async (scope) => {
    const ready = new Condition();
    const [first, second] = [scope.agent("first"), scope.agent("second")];
    scope.serve(first, { ready });
    scope.serve(second, { ready });
    await first.connect();
    await second.connect();
    assertEquals(await first.op("ready", "acquire"), true);
    const firstWait = first.op("ready", "wait", [], { timeout: COMMAND_DEADLINE });
    // The second acquires once the first's wait has let go of the lock.
    assertEquals(await second.op("ready", "acquire"), true);
    const secondWait = second.op("ready", "wait", [], { timeout: COMMAND_DEADLINE });
    await until(() => inspected(ready, "waiters") === 2, "two waiting workers");
    await ready.acquire();
    ready.notify(1);
    ready.release();
    assertEquals(await firstWait, true);
    assertEquals(inspected(ready, "waiters"), 1, "the second still waits");
    await first.op("ready", "release");
    await ready.acquire();
    ready.notify(1);
    ready.release();
    assertEquals(await secondWait, true);
    await second.op("ready", "release");
    assertEquals(ready.locked(), false);

    const flag = shared(1);
    await first.run("share", { sab: flag.buffer });
    await second.run("share", { sab: flag.buffer });
    const waiting = [first, second].map((agent) =>
      agent.run("waitForFlag", { name: "ready", flag: 0 })
    );
    await until(() => inspected(ready, "waiters") === 2, "two workers in waitFor");
    await ready.acquire();
    Atomics.store(flag, 0, 1);
    ready.notifyAll();
    ready.release();
    assertEquals(await Promise.all(waiting), [true, true]);
    assertEquals(ready.locked(), false);
  });
});

// ---- W-1 ----

Deno.test("W-1: proxies have the primitives' method names, return promises for what crosses, and are never thenable", async () => {
  await withScope(async (scope) => {
    const primitives = {
      jobs: new Queue<number>(7),
      stack: new LifoQueue<number>(),
      ranked: new PriorityQueue<number>(3),
      lock: new Lock(),
      ready: new Condition(),
      done: new Event(),
      slots: new BoundedSemaphore(3),
      plain: new Semaphore(2),
      meet: new Barrier(2),
    };
    const agent = scope.agent();
    scope.serve(agent, primitives);
    assertEquals(await agent.connect(), Object.keys(primitives).sort());
    const shape = await agent.run<Record<string, Record<string, unknown>>>("shape");
    assertEquals(shape.remoteThenable, false, "what connect resolves to is not thenable");
    for (const [name, primitive] of Object.entries(primitives)) {
      const info = shape[name]!;
      assertEquals(info.thenable, false, `${name} is not thenable`);
      const methods = info.methods as Record<string, string>;
      for (const member of publicMembers(primitive)) {
        assert(member in methods, `${name} proxy lacks ${member}`);
      }
    }
    assertEquals(shape.jobs!.maxsize, 7);
    assertEquals(shape.jobs!.kind, "Queue");
    assertEquals(shape.stack!.kind, "LifoQueue");
    assertEquals(shape.ranked!.kind, "PriorityQueue");
    assertEquals(shape.ranked!.maxsize, 3);
    assertEquals(shape.slots!.initialValue, 3);
    assertEquals(shape.meet!.parties, 2);
    // Reads of changing state are promises.
    const promises = await agent.run<Record<string, boolean>>("promises");
    for (const [read, isPromise] of Object.entries(promises)) {
      assert(isPromise, `${read} is a promise`);
    }
  });
});

/** Public methods and getters of a primitive, as a user sees them (no `_` hooks, no symbols). */
/** The queue's protected storage hooks: subclass surface, not part of a proxy. */
const STORAGE_HOOKS = new Set(["storageInit", "storageSize", "storagePut", "storageGet"]);

function publicMembers(primitive: object): string[] {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(primitive);
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor" || STORAGE_HOOKS.has(name)) continue;
      // Condition.lock is the local Lock object itself: it cannot cross.
      if (primitive instanceof Condition && name === "lock") continue;
      names.add(name);
    }
  }
  return [...names];
}

Deno.test("W-1/Q-7: a queue owned by a worker, served over a MessagePort to a producer worker: FIFO, bounded, nothing lost", async () => {
  await withScope(async (scope) => {
    const consumer = scope.agent("consumer");
    const producer = scope.agent("producer");
    const { port1, port2 } = new MessageChannel();
    const owned = consumer.run<{ taken: number[]; largest: number; unfinished: number }>(
      "own",
      { port: port1, maxsize: 16 },
      [port1],
    );
    const produced = producer.run<number>(
      "produceTo",
      { port: port2, from: 0, to: 3000, shutdown: true },
      [port2],
    );
    assertEquals(await produced, 3000);
    const { taken, largest, unfinished } = await owned;
    assertEquals(taken, Array.from({ length: 3000 }, (_, i) => i));
    assert(largest <= 16, `qsize() stayed within maxsize (largest ${largest})`);
    assertEquals(unfinished, 0);
  });
});

Deno.test("W-1: one consumer function drains a local queue and a remote one alike", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>(4);
    const agent = await scope.connected({ jobs });
    const draining = agent.run<{ fromLocal: number[]; fromRemote: number[]; localJoined: boolean }>(
      "drainBoth",
      { name: "jobs", local: [1, 2, 3] },
    );
    for (let i = 10; i < 20; i++) await jobs.put(i, { timeout: COMMAND_DEADLINE });
    jobs.shutdown();
    const result = await draining;
    assertEquals(result.fromLocal, [1, 2, 3]);
    assertEquals(result.localJoined, true);
    assertEquals(result.fromRemote, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    assertEquals(await jobs.join({ timeout: COMMAND_DEADLINE }), true);
  });
});

// ---- W-2 ----

Deno.test("W-2: a remote get with a timeout rejects QueueEmpty; nothing is lost afterwards", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    const [prefetching, direct] = [scope.agent("prefetching"), scope.agent("direct")];
    scope.serve(prefetching, { jobs });
    await prefetching.connect();
    const info = await prefetching.fail("op", { name: "jobs", method: "get", timeout: 30 });
    assertError(info, "QueueEmpty", "QueueEmpty", "Error");
    jobs.putNowait(1); // stays in the owner's queue: the worker's next get has it
    assertEquals(await prefetching.op("jobs", "get", [], { timeout: COMMAND_DEADLINE }), 1);

    const other = new Queue<number>();
    scope.serve(direct, { other });
    await direct.connect({ prefetch: 0 });
    assertError(
      await direct.fail("op", { name: "other", method: "get", timeout: 30 }),
      "QueueEmpty",
      "QueueEmpty",
    );
    // The owner applied the timeout: its getter is gone and takes no later item.
    assertEquals(inspected(other, "waitingGetters"), 0);
    other.putNowait(2);
    assertEquals(other.qsize(), 1);
    assertEquals(await direct.op("other", "get"), 2);
  });
});

Deno.test("W-2: a prefetching remote get that timed out or was aborted leaves no get behind: the owner's getter has the next item (Q-5)", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    const agent = await scope.connected({ jobs });
    assertError(
      await agent.fail("op", { name: "jobs", method: "get", timeout: 30 }),
      "QueueEmpty",
      "QueueEmpty",
    );
    await until(() => inspected(jobs, "waitingGetters") === 0, "the worker to take its pull back");
    const local = jobs.get({ timeout: COMMAND_DEADLINE });
    jobs.putNowait(1);
    assertEquals(await local, 1);

    const aborted = agent.send("op", { name: "jobs", method: "get", abortKey: "g" });
    await until(() => inspected(jobs, "waitingGetters") === 1, "the worker's pull");
    await agent.run("abort", { key: "g" });
    assertEquals(errorOf(await aborted.reply).isReason, true);
    await until(() => inspected(jobs, "waitingGetters") === 0, "the worker to take its pull back");
    const second = jobs.get({ timeout: COMMAND_DEADLINE });
    jobs.putNowait(2);
    assertEquals(await second, 2);

    // The worker still gets what comes later, in order, each item once.
    jobs.putNowait(3);
    jobs.putNowait(4);
    assertEquals(await agent.op("jobs", "get"), 3);
    assertEquals(await agent.op("jobs", "get"), 4);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("W-2: a get aborted while a getNowait is answered cancels its pull; what was sent stays for the next get: each item once (Q-5)", async () => {
  const { port1, port2 } = new MessageChannel();
  const jobs = new Queue<string>();
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<string> }>(port2);
  try {
    const controller = new AbortController();
    jobs.putNowait("x");
    // Asked first: a getNowait waits for no one of its own side. It is answered
    // by the owner before the owner reads the unpull of the aborted get below.
    const direct = remote.jobs.getNowait();
    const aborted = remote.jobs.get({ signal: controller.signal });
    await until(() => inspected(jobs, "waitingGetters") === 1, "the pull to reach the owner");
    jobs.putNowait("y"); // to the standing get: on its way to the proxy
    controller.abort(new Error("gone"));
    await assertRejects(() => aborted, Error, "gone");
    assertEquals(await direct, "x");
    // The abort cancels what is left of the pull; "y" was sent already and stays with the
    // proxy (giving it back could reorder it for another consumer, W-2): the next get has it.
    assertEquals(await remote.jobs.get({ timeout: COMMAND_DEADLINE }), "y");
    assertEquals(jobs.qsize(), 0);
    // Nothing stayed behind in the proxy: each item once.
    await assertRejects(() => remote.jobs.getNowait(), QueueEmpty);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-2: a remote put with a timeout on a full queue rejects QueueFull and changes nothing", async () => {
  await withScope(async (scope) => {
    for (const make of [() => new Queue<number>(1), () => new PriorityQueue<number>(1)]) {
      const jobs = make();
      jobs.putNowait(0);
      const agent = await scope.connected({ jobs });
      const info = await agent.fail("op", { name: "jobs", method: "put", args: [1], timeout: 30 });
      assertError(info, "QueueFull", "QueueFull", "Error");
      assertError(
        await agent.fail("op", { name: "jobs", method: "putNowait", args: [2] }),
        "QueueFull",
        "QueueFull",
      );
      assertEquals(jobs.qsize(), 1);
      assertEquals(jobs.getNowait(), 0);
      assertEquals(jobs.unfinishedTasks, 1);
    }
  });
});

Deno.test("W-2: an abort in the worker rejects with the worker's own signal.reason and loses nothing", async () => {
  await withScope(async (scope) => {
    for (const prefetch of [0, 8]) {
      const jobs = new Queue<number>();
      const agent = await scope.connected({ jobs }, { name: `prefetch-${prefetch}`, prefetch });
      const getting = agent.send("op", { name: "jobs", method: "get", abortKey: "g" });
      await until(() => inspected(jobs, "waitingGetters") === 1, "the remote getter");
      await agent.run("abort", { key: "g" });
      const info = errorOf(await getting.reply);
      assert(info.isReason, "rejects with the very reason the worker aborted with");
      assertEquals(info.message, "aborted in the worker");
      jobs.putNowait(5);
      if (prefetch === 0) {
        await until(() => inspected(jobs, "waitingGetters") === 0, "the cancel");
        assertEquals(jobs.qsize(), 1, "the item stays in the queue");
      }
      assertEquals(await agent.op("jobs", "get", [], { timeout: COMMAND_DEADLINE }), 5);
      assertEquals(jobs.unfinishedTasks, 1);
    }
  });
});

Deno.test("W-2: an abort in the worker resolves with the item when the owner had already handed it out", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    const agent = scope.agent();
    const { endpoint, recorded } = recording(agent.worker);
    const link = serve(endpoint, { jobs });
    scope.links.push(link);
    await agent.connect({ prefetch: 0 });
    const gate = shared(1);
    await agent.run("share", { sab: gate.buffer });
    const getting = agent.send("op", { name: "jobs", method: "get", abortKey: "g" });
    await until(() => inspected(jobs, "waitingGetters") === 1, "the remote getter");
    // The worker blocks before it can read the answer, then aborts, then reads it.
    const blocked = agent.send("block", { index: 0, abortKey: "g" });
    const since = recorded.envelopes.length;
    jobs.putNowait(42);
    await recorded.posted("result", since);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    // "not-equal": the gate opened before the worker read the block command;
    // either way it aborted before it read the answer, which came after.
    assert(["ok", "not-equal"].includes(valueOf(await blocked.reply)));
    assertEquals(valueOf(await getting.reply), 42, "the abort came too late: the item is returned");
    assertEquals(jobs.qsize(), 0);
    assertEquals(jobs.unfinishedTasks, 1);
  });
});

Deno.test("W-2: an already-aborted signal in the worker rejects at once with its reason, even with an item there", async () => {
  await withScope(async (scope) => {
    for (const prefetch of [0, 4]) {
      const jobs = new Queue<number>();
      jobs.putNowait(1);
      const agent = await scope.connected({ jobs }, { name: `prefetch-${prefetch}`, prefetch });
      const info = await agent.fail("op", {
        name: "jobs",
        method: "get",
        abortKey: "pre",
        preAborted: true,
      });
      assert(info.isReason, `rejects with the worker's own reason: ${info.name} ${info.message}`);
      assertEquals(jobs.qsize(), 1, "the item stays in the queue");
      assertEquals(await agent.op("jobs", "get"), 1);
    }
  });
});

Deno.test("W-2: remote getters are served first come, first served, with the owner's own getters", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<string>();
    const [a, b] = [scope.agent("a"), scope.agent("b")];
    scope.serve(a, { jobs });
    scope.serve(b, { jobs });
    await a.connect({ prefetch: 0 });
    await b.connect({ prefetch: 0 });
    const a1 = a.op("jobs", "get");
    await until(() => inspected(jobs, "waitingGetters") === 1, "a's first get");
    const b1 = b.op("jobs", "get");
    await until(() => inspected(jobs, "waitingGetters") === 2, "b's get");
    const local = jobs.get();
    const a2 = a.op("jobs", "get");
    await until(() => inspected(jobs, "waitingGetters") === 4, "a's second get");
    for (const item of ["first", "second", "third", "fourth"]) jobs.putNowait(item);
    assertEquals(await a1, "first");
    assertEquals(await b1, "second");
    assertEquals(await local, "third");
    assertEquals(await a2, "fourth");
  });
});

Deno.test("W-2: remote putters waiting on a full queue are admitted first come, first served", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<string>(1);
    jobs.putNowait("owner");
    const [a, b] = [scope.agent("a"), scope.agent("b")];
    scope.serve(a, { jobs });
    scope.serve(b, { jobs });
    await a.connect();
    await b.connect();
    const fromA = a.op("jobs", "put", ["a"]);
    await until(() => inspected(jobs, "waitingPutters") === 1, "a's put");
    const fromB = b.op("jobs", "put", ["b"]);
    await until(() => inspected(jobs, "waitingPutters") === 2, "b's put");
    const local = jobs.put("local", { timeout: COMMAND_DEADLINE });
    const order: string[] = [];
    for (let n = 0; n < 4; n++) order.push(await jobs.get({ timeout: COMMAND_DEADLINE }));
    assertEquals(order, ["owner", "a", "b", "local"]);
    await Promise.all([fromA, fromB, local]);
  });
});

Deno.test("W-2: a bounded queue holds back a remote producer: never more than maxsize ahead, and it fills up to it", async () => {
  await withScope(async (scope) => {
    const maxsize = 3;
    const total = 12;
    const jobs = new Queue<Item>(maxsize);
    const counter = shared(1); // puts resolved in the worker
    const agent = await scope.connected({ jobs });
    await agent.run("share", { sab: counter.buffer });
    const producing = agent.run("produce", { name: "jobs", tag: "w", count: total, counter: 0 });
    for (let taken = 0; taken < total; taken++) {
      const ahead = Math.min(maxsize, total - taken);
      await until(() => Atomics.load(counter, 0) - taken >= ahead, `the producer ${ahead} ahead`);
      await pause(5); // room for a put that should not happen
      assert(Atomics.load(counter, 0) - taken <= maxsize, "a put resolved beyond maxsize");
      assert(jobs.qsize() <= maxsize);
      const item = await jobs.get({ timeout: COMMAND_DEADLINE });
      assertEquals(item.i, taken);
    }
    assertEquals(await producing, total);
  });
});

Deno.test("W-2: a remote producer's unused put credits do not hold the owner's put back", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>(4);
    const agent = await scope.connected({ jobs });
    await agent.op("jobs", "put", [1]);
    await until(() => jobs.qsize() === 1, "the remote item");
    // The worker is idle now: the three free slots are the owner's to use.
    for (let i = 2; i <= 4; i++) await jobs.put(i, { timeout: COMMAND_DEADLINE });
    assertEquals(jobs.qsize(), 4);
    assertEquals([1, 2, 3, 4].map(() => jobs.getNowait()), [1, 2, 3, 4]);
  });
});

Deno.test("W-2: a remote put that runs out of credit while more is on its way is not asked to give it back", async () => {
  // One thread: the owner's frames are recorded as it posts them.
  const { port1, port2 } = new MessageChannel();
  const frames: string[] = [];
  const endpoint: Endpoint = {
    postMessage(message: unknown, transfer: Transferable[]) {
      port1.postMessage(message, transfer);
      for (const frame of (message as { frames?: { type: string }[] }).frames ?? []) {
        frames.push(frame.type);
      }
    },
    addEventListener: (type, listener) => port1.addEventListener(type, listener),
    removeEventListener: (type, listener) => port1.removeEventListener(type, listener),
    start: () => port1.start(),
  };
  const jobs = new Queue<number>(8);
  const link = serve(endpoint, { jobs });
  const remote = await connect<{ jobs: Queue<number> }>(port2);
  try {
    for (let i = 0; i < 8; i++) await remote.jobs.put(i, { timeout: COMMAND_DEADLINE });
    await until(() => jobs.qsize() === 8, "the eight items");
    // Two slots free: the owner grants them at once. Before that credit arrives, the producer
    // runs out and asks, blocked: the credit on its way answers the ask.
    assertEquals([jobs.getNowait(), jobs.getNowait()], [0, 1]);
    const puts = [8, 9].map((i) => remote.jobs.put(i, { timeout: COMMAND_DEADLINE }));
    await Promise.all(puts);
    await until(() => jobs.qsize() === 8, "the two late items");
    await pause(5); // room for a reclaim that should not come
    assertEquals(frames.filter((type) => type === "reclaim"), []);
    assertEquals(Array.from({ length: 8 }, () => jobs.getNowait()), [2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

// ---- W-3 ----

Deno.test("W-3: an item that cannot be cloned rejects the worker's put with DataCloneError; the queue is unchanged", async () => {
  await withScope(async (scope) => {
    const queues = {
      jobs: new Queue<unknown>(10),
      stack: new LifoQueue<unknown>(),
      ranked: new PriorityQueue<unknown>({ compare: () => 0 }),
    };
    const agent = await scope.connected(queues);
    for (const [name, queue] of Object.entries(queues)) {
      for (const method of ["put", "putNowait"]) {
        for (const item of ["$fn", "$holder", "$symbol", "$url"]) {
          const info = await agent.fail("op", { name, method, args: [item] }).catch((e) => {
            throw new Error(`${name}.${method}(${item}): ${e.message}`);
          });
          assertError(info, "DataCloneError", "DOMException");
          assertEquals(queue.qsize(), 0, `${name}.${method}(${item})`);
          assertEquals(queue.unfinishedTasks, 0);
        }
      }
      // A good item still goes through, alone.
      await agent.op(name, "put", [{ ok: 1 }]);
      await agent.op(name, "put", ["$holder"]).catch(() => {});
      await until(() => queue.qsize() === 1, `${name}'s good item`);
      await pause(5);
      assertEquals(queue.qsize(), 1);
      assertEquals(queue.getNowait(), { ok: 1 });
    }
  });
});

Deno.test("W-3: an owner item that cannot be cloned makes the remote get reject DataCloneError and goes back to the head", async () => {
  await withScope(async (scope) => {
    const kinds = [() => ({ run: () => 1 }), () => new URL("https://example.com/")];
    for (const [prefetch, make] of [0, 4].flatMap((p) => kinds.map((k) => [p, k] as const))) {
      const jobs = new Queue<unknown>();
      const uncloneable = make();
      jobs.putNowait(uncloneable);
      jobs.putNowait("next");
      jobs.putNowait("last");
      const agent = await scope.connected({ jobs }, { name: `prefetch-${prefetch}`, prefetch });
      const info = await agent.fail("op", {
        name: "jobs",
        method: "get",
        timeout: COMMAND_DEADLINE,
      });
      assertError(info, "DataCloneError", "DOMException");
      await until(() => jobs.qsize() === 3, "every item back");
      assertStrictEquals(jobs.getNowait(), uncloneable, "the item is back at the head");
      assertEquals(jobs.unfinishedTasks, 3);
      assertEquals(await agent.op("jobs", "get", [], { timeout: COMMAND_DEADLINE }), "next");
      assertEquals(await agent.op("jobs", "get", [], { timeout: COMMAND_DEADLINE }), "last");
    }
  });
});

Deno.test("W-3: an uncloneable owner item inside a prefetched batch: items before it arrive, that get rejects, nothing overtakes it", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<unknown>();
    for (let i = 0; i < 30; i++) jobs.putNowait(i);
    const agent = await scope.connected({ jobs }, { prefetch: 64 });
    await agent.run("freezeClock"); // the prefetch window doubles at each wait
    const warmup = await agent.run<number[]>("consume", { name: "jobs", max: 30 });
    assertEquals(warmup.length, 30);
    // The worker asked for more than there is: the owner waits to send a batch.
    await until(() => inspected(jobs, "waitingGetters") === 1, "the prefetch to wait");
    const uncloneable = () => "cannot cross";
    for (const item of ["a", uncloneable, "b", "c"]) jobs.putNowait(item);
    assertEquals(await agent.op("jobs", "get", [], { timeout: COMMAND_DEADLINE }), "a");
    const info = await agent.fail("op", { name: "jobs", method: "get", timeout: COMMAND_DEADLINE });
    assertError(info, "DataCloneError", "DOMException");
    await until(() => jobs.qsize() === 3, "the items after it back in the queue");
    assertStrictEquals(jobs.getNowait(), uncloneable, "back at the head");
    // A prefetch request already on its way may have met the item at the head
    // too: such a get rejects DataCloneError as well. No item is taken by it.
    const rest: unknown[] = [];
    for (let attempts = 0; rest.length < 2 && attempts < 4; attempts++) {
      const reply = await agent.send("op", { name: "jobs", method: "get", timeout: 5_000 }).reply;
      if (reply.error === undefined) rest.push(reply.value);
      else assertError(reply.error, "DataCloneError", "DOMException");
    }
    assertEquals(rest, ["b", "c"], "nothing overtook the item that could not cross");
    assertEquals(jobs.qsize(), 0);
  });
});

// ---- W-4 ----

Deno.test("W-4: messages that are not baton's, either way on the worker endpoint, are ignored", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    const reported: unknown[] = [];
    const agent = scope.agent();
    scope.serve(agent, { jobs }, (error) => reported.push(error));
    // Owner -> worker: before and after connecting (the agent's commands are foreign too).
    for (const message of [null, "text", 7, { "@baton": 1, d: "c", f: [] }]) {
      agent.worker.postMessage(message);
    }
    await agent.connect();
    for (const message of [null, { "@baton": 2, d: "s", f: [] }, { t: "items", n: "jobs" }]) {
      agent.worker.postMessage(message);
    }
    // Worker -> owner.
    assertEquals(await agent.run("noise"), 11);
    await agent.op("jobs", "put", [1]);
    assertEquals(await jobs.get({ timeout: COMMAND_DEADLINE }), 1);
    jobs.putNowait(2);
    assertEquals(await agent.op("jobs", "get"), 2);
    // Malformed baton messages are reported, never fatal; foreign ones are silent.
    assertEquals(reported.length, 5, String(reported));
    for (const error of reported) assert(error instanceof TypeError);
    // The worker's side reports the malformed one the owner sent, and goes on.
    const workerReported = await agent.run<string[]>("reported");
    assertEquals(workerReported.length, 1, String(workerReported));
    assert(workerReported[0]!.startsWith("TypeError"));
    assertEquals(agent.errors, []);
  });
});

Deno.test("W-4: several serve calls share one worker endpoint; serving a name twice throws", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    const done = new Event();
    const agent = scope.agent();
    const first = scope.serve(agent, { jobs });
    const second = scope.serve(agent, { done });
    assertThrows(() => serve(agent.worker, { jobs: new Queue<number>() }), Error, "already served");
    assertThrows(() => serve(agent.worker, { done: new Event() }), Error, "already served");
    assertEquals(await agent.connect(), ["done", "jobs"]);
    await agent.op("jobs", "put", [1]);
    await agent.op("done", "set");
    assertEquals(await jobs.get({ timeout: COMMAND_DEADLINE }), 1);
    assertEquals(done.isSet(), true);
    // Closing one link leaves the other one serving.
    first.close();
    assertError(
      await agent.fail("op", { name: "jobs", method: "qsize" }),
      "LinkClosed",
      "LinkClosed",
    );
    done.clear();
    await agent.op("done", "set");
    assertEquals(done.isSet(), true);
    assertEquals(second.closed, false);
  });
});

// ---- W-6 ----

Deno.test("W-6: link.close() settles every pending operation on both sides; the worker's reject LinkClosed", async () => {
  await withScope(async (scope) => {
    const empty = new Queue<number>();
    const full = new Queue<number>(1);
    full.putNowait(0);
    const lock = new Lock();
    await lock.acquire();
    const done = new Event();
    const agent = scope.agent();
    const link = scope.serve(agent, { empty, full, lock, done });
    await agent.connect({ prefetch: 0 });
    const replies = [
      agent.send("op", { name: "empty", method: "get" }),
      agent.send("op", { name: "full", method: "put", args: [1] }),
      agent.send("op", { name: "lock", method: "acquire" }),
      agent.send("op", { name: "done", method: "wait" }),
    ];
    await until(
      () =>
        inspected(empty, "waitingGetters") === 1 && inspected(lock, "waiters") === 1 &&
        inspected(done, "waiters") === 1 && inspected(full, "waitingPutters") === 1,
      "every remote wait to reach the owner",
    );
    link.close();
    assertEquals(link.closed, true);
    for (const sent of replies) assertError(errorOf(await sent.reply), "LinkClosed", "LinkClosed");
    // The owner side holds nothing for the closed link.
    assertEquals(inspected(empty, "waitingGetters"), 0);
    assertEquals(inspected(full, "waitingPutters"), 0);
    assertEquals(inspected(lock, "waiters"), 0);
    assertEquals(inspected(done, "waiters"), 0);
    empty.putNowait(1);
    assertEquals(empty.qsize(), 1, "a wait held for a closed link never takes a later item");
    lock.release();
    assertEquals(lock.locked(), false);
    assertEquals(full.getNowait(), 0);
    full.putNowait(2);
    assertEquals(full.qsize(), 1);
    // Later operations on the worker's side reject LinkClosed at once.
    assertError(
      await agent.fail("op", { name: "empty", method: "get" }),
      "LinkClosed",
      "LinkClosed",
    );
  });
});

Deno.test("W-6: a remote Condition wait pending at link.close() leaves the owner's lock free", async () => {
  await withScope(async (scope) => {
    const ready = new Condition();
    const agent = scope.agent();
    const link = scope.serve(agent, { ready });
    await agent.connect();
    assertEquals(await agent.op("ready", "acquire"), true);
    const waiting = agent.send("op", { name: "ready", method: "wait" });
    await until(
      () => inspected(ready, "waiters") === 1 && !ready.locked(),
      "the remote wait to release the lock",
    );
    assertEquals(await ready.acquire({ timeout: 0 }), true);
    link.close(); // the wait must re-acquire before it settles: it queues for the lock
    ready.release();
    assertError(errorOf(await waiting.reply), "LinkClosed", "LinkClosed");
    await until(() => !ready.locked(), "the closed link's wait to give the lock back");
    assertEquals(await ready.acquire({ timeout: 0 }), true);
    ready.release();
  });
});

Deno.test("W-6: answers sent before link.close() arrive before it", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    const agent = scope.agent();
    const { endpoint, recorded } = recording(agent.worker);
    const link = serve(endpoint, { jobs });
    scope.links.push(link);
    await agent.connect({ prefetch: 0 });
    const getting = agent.send("op", { name: "jobs", method: "get" });
    await until(() => inspected(jobs, "waitingGetters") === 1, "the remote get");
    const since = recorded.envelopes.length;
    jobs.putNowait(9);
    for (let i = 0; i < 10; i++) await Promise.resolve(); // the answer is queued, not yet posted
    link.close();
    const frames = recorded.envelopes.slice(since).flat();
    assert(
      frames.includes("result") && frames.indexOf("result") < frames.indexOf("closed"),
      `${frames}`,
    );
    assertEquals(valueOf(await getting.reply), 9);
    // The owner cannot know whether the answer reached the worker's code, so
    // it may keep the item too (at least once): it is never lost.
    assert(jobs.qsize() <= 1);
    assertError(
      await agent.fail("op", { name: "jobs", method: "qsize" }),
      "LinkClosed",
      "LinkClosed",
    );
  });
});

Deno.test("W-6: a worker's uncaught error closes its link, returns its prefetched items and settles the owner's side", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    for (let i = 1; i <= 5; i++) jobs.putNowait(i);
    const done = new Event();
    const agent = scope.agent();
    agent.expectErrors = true;
    const link = scope.serve(agent, { jobs, done });
    await agent.connect({ prefetch: 3 });
    await agent.run("freezeClock"); // the prefetch window doubles at each wait
    assertEquals(await agent.run("consume", { name: "jobs", max: 1, taskDone: false }), [1]);
    assertEquals(await agent.run("consume", { name: "jobs", max: 1, taskDone: false }), [2]);
    // A round trip: the acknowledgements are in; what the owner lacks is prefetched.
    assert(await agent.op<number>("jobs", "qsize") < 3, "something is prefetched");
    agent.send("op", { name: "done", method: "wait" });
    await until(() => inspected(done, "waiters") === 1, "the remote wait");
    await agent.run("crash");
    await until(() => link.closed, "the link to close");
    assert(agent.errors.some((message) => message.includes("worker boom")), String(agent.errors));
    assertEquals(inspected(done, "waiters"), 0);
    assertEquals([3, 4, 5].map(() => jobs.getNowait()), [3, 4, 5]);
    assertEquals(jobs.unfinishedTasks, 5, "1 and 2 reached the worker's code, never marked done");
  });
});

Deno.test("W-6: the worker closing its side settles the owner's side and returns its prefetched items", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>(10);
    for (let i = 1; i <= 5; i++) jobs.putNowait(i);
    const lock = new Lock();
    await lock.acquire();
    const agent = scope.agent();
    const link = scope.serve(agent, { jobs, lock });
    await agent.connect();
    assertEquals(await agent.op("jobs", "get"), 1);
    assertEquals(await agent.op("jobs", "put", [6]), undefined); // takes put credits
    const acquiring = agent.send("op", { name: "lock", method: "acquire" });
    await until(() => inspected(lock, "waiters") === 1, "the remote acquire");
    assertEquals(await agent.run("closeRemote"), true);
    assertError(errorOf(await acquiring.reply), "LinkClosed", "LinkClosed");
    await until(() => link.closed, "the owner's link to close");
    assertEquals(inspected(lock, "waiters"), 0);
    lock.release();
    assertEquals(lock.locked(), false, "the lock is not handed to the closed link");
    assertEquals(jobs.qsize(), 5);
    assertEquals(inspected(jobs, "held"), 0, "credits and prefetch slots are given back");
    assertEquals([2, 3, 4, 5, 6].map(() => jobs.getNowait()), [2, 3, 4, 5, 6]);
  });
});

// ---- W-7 ----

Deno.test("W-7: errors from remote operations are baton's own classes in the worker", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>();
    const ranked = new PriorityQueue<number>();
    const meet = new Barrier(2);
    const agent = scope.agent();
    const link = scope.serve(agent, { jobs, ranked, meet });
    await agent.connect();
    const seen = await agent.run<Record<string, ErrorInfo>>("errors", { name: "jobs" });
    assertError(seen.getNowait!, "QueueEmpty", "QueueEmpty", "Error");
    assertError(seen.getTimeout!, "QueueEmpty", "QueueEmpty");
    assertError(seen.negativeTimeout!, "RangeError", "RangeError");
    assertError(seen.taskDone!, "RangeError", "RangeError", "Error");
    jobs.shutdown();
    ranked.shutdown();
    assertError(
      await agent.fail("op", { name: "jobs", method: "put", args: [1] }),
      "QueueShutDown",
      "QueueShutDown",
      "Error",
    );
    assertError(
      await agent.fail("op", { name: "ranked", method: "put", args: [1] }),
      "QueueShutDown",
      "QueueShutDown",
    );
    assertError(
      await agent.fail("op", { name: "jobs", method: "get" }),
      "QueueShutDown",
      "QueueShutDown",
    );
    meet.abort();
    assertError(
      await agent.fail("op", { name: "meet", method: "wait" }),
      "BrokenBarrierError",
      "BrokenBarrierError",
    );
    link.close();
    assertError(
      await agent.fail("op", { name: "jobs", method: "qsize" }),
      "LinkClosed",
      "LinkClosed",
    );
  });
});

// ---- W-8 ----

Deno.test("W-8: terminate and link.close() return the prefetched items to the head of the queue, in order", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>(20);
    for (let i = 0; i < 10; i++) jobs.putNowait(i);
    const agent = scope.agent();
    const link = scope.serve(agent, { jobs });
    await agent.connect({ prefetch: 16 });
    await agent.run("freezeClock"); // the prefetch window doubles at each wait
    const taken = await agent.run<number[]>("consume", { name: "jobs", max: 3 });
    assertEquals(taken, [0, 1, 2]);
    // A round trip: the acknowledgements are in before its answer, so what the
    // owner lacks now was prefetched and never reached the worker's code.
    const left = await agent.op<number>("jobs", "qsize");
    assert(left <= 5, `at least two items are prefetched (${7 - left})`);
    agent.terminate();
    link.close();
    assertEquals(jobs.qsize(), 7);
    assertEquals(inspected(jobs, "held"), 0);
    assertEquals(Array.from({ length: 7 }, () => jobs.getNowait()), [3, 4, 5, 6, 7, 8, 9]);
    assertEquals(jobs.unfinishedTasks, 7, "0..2 were marked done");
  });
});

Deno.test("W-8: leaving a for await loop early gives the prefetched items back to the head, in order", async () => {
  await withScope(async (scope) => {
    const jobs = new Queue<number>(20);
    for (let i = 0; i < 10; i++) jobs.putNowait(i);
    const agent = await scope.connected({ jobs }, { prefetch: 16 });
    await agent.run("freezeClock"); // the prefetch window doubles at each wait
    const taken = await agent.run<number[]>("consume", { name: "jobs", max: 3, leave: true });
    assertEquals(taken, [0, 1, 2]);
    // A round trip after the loop was left: the give-back is applied before its answer.
    assertEquals(await agent.op<number>("jobs", "qsize"), 7);
    assertEquals(inspected(jobs, "held"), 0);
    assertEquals(Array.from({ length: 7 }, () => jobs.getNowait()), [3, 4, 5, 6, 7, 8, 9]);
  });
});

Deno.test("W-8: a consumer worker terminated mid-stream loses no item; another worker consumes the rest", async () => {
  await withScope(async (scope) => {
    const total = 200;
    const jobs = new Queue<Item>(50);
    const record = shared(total + 1); // [count, items received by the first worker's code...]
    const first = scope.agent("first");
    const firstLink = scope.serve(first, { jobs });
    await first.connect({ prefetch: 16 });
    await first.run("share", { sab: record.buffer });
    const producing = (async () => {
      for (let i = 0; i < total; i++) {
        await jobs.put({ p: "owner", i }, { timeout: COMMAND_DEADLINE });
      }
    })();
    first.send("consume", { name: "jobs", record: 0, pause: 1 });
    await until(() => Atomics.load(record, 0) >= 30, "the first worker to be mid-stream");
    first.terminate();
    firstLink.close();
    const received = Array.from(record.subarray(1, 1 + Atomics.load(record, 0)));

    const second = scope.agent("second");
    scope.serve(second, { jobs });
    await second.connect();
    const consuming = second.run<Item[]>("consume", { name: "jobs" });
    await producing;
    jobs.shutdown();
    const rest = (await consuming).map((item) => item.i);
    assertEquals(new Set(rest).size, rest.length, "the second worker gets nothing twice");
    for (let n = 1; n < rest.length; n++) assert(rest[n - 1]! < rest[n]!, `in order: ${rest}`);
    for (let n = 1; n < received.length; n++) {
      assert(received[n - 1]! < received[n]!, `in order: ${received}`);
    }
    const all = new Set([...received, ...rest]);
    for (let i = 0; i < total; i++) assert(all.has(i), `item ${i} lost`);
    assert(received.length < total, "the first worker was stopped mid-stream");
  });
});
