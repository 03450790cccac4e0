/**
 * Workers terminated at random (seeded) moments, then `link.close()`: in the
 * middle of a batch of puts, holding prefetched items, holding a Lock or
 * Semaphore permits, waiting on a Condition. Nothing but what the worker's
 * code had received and not marked done is lost (W-8), an awaited put is lost
 * only when it was not yet posted (W-11), holds are released (W-9), and the
 * owner's counts (`qsize`, `unfinishedTasks`, free slots) are exact. Every
 * wait is bounded by a generous deadline; no test asserts a duration.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { Condition, Lock, Queue, QueueFull, Semaphore } from "../mod.ts";
import { until } from "./fixtures/agent.ts";
import { deep, type Item, seeded, shared, turns, withScope } from "./fixtures/scope.ts";

const SEEDS = deep() ? Array.from({ length: 12 }, (_, n) => n + 1) : [1, 2, 3];

/** A bounded queue gives exactly its free slots to the owner: nothing is left reserved. */
function assertFreeSlots(queue: Queue<unknown>, context: string): void {
  const free = queue.maxsize - queue.qsize();
  for (let n = 0; n < free; n++) {
    assertEquals(
      queue.full(),
      false,
      `${context}: full() with ${queue.qsize()} of ${queue.maxsize}`,
    );
    queue.putNowait(`fill${n}`);
  }
  assertEquals(queue.full(), true, context);
  assertThrows(() => queue.putNowait("over"), QueueFull);
}

// ---- producers ----

for (const seed of SEEDS) {
  Deno.test(`W-8/W-11: a producer worker terminated mid-batch of puts, seed ${seed}: what arrived is a prefix, once, in order; counts exact`, async () => {
    const next = seeded(seed);
    for (const maxsize of [8, 1000]) {
      await withScope(async (scope) => {
        const total = 600;
        const stopAt = 1 + Math.floor(next() * (total - 2));
        const context = `seed ${seed}, Queue(${maxsize}), stopped after ${stopAt} resolved puts`;
        const jobs = new Queue<Item>(maxsize);
        const counter = shared(1);
        const { agent, link } = await scope.connected({ jobs });
        await agent.run("share", { sab: counter.buffer });
        // The owner takes items now and then, so a small queue keeps moving.
        const taken: Item[] = [];
        let consuming = true;
        const consumer = (async () => {
          while (consuming) {
            if (next() < 0.5) { while (jobs.qsize() > 0) taken.push(jobs.getNowait()); }
            await turns(1);
          }
        })();
        agent.send("produce", { name: "jobs", tag: "w", count: total, counter: 0 });
        await until(() => Atomics.load(counter, 0) >= stopAt, context);
        agent.terminate();
        link.close();
        consuming = false;
        await consumer;
        await turns(5);
        while (jobs.qsize() > 0) taken.push(jobs.getNowait());
        const resolved = Atomics.load(counter, 0);
        assertEquals(
          taken.map((item) => item.i),
          Array.from({ length: taken.length }, (_, i) => i),
          `${context}: a prefix of the producer's items, each once, in order`,
        );
        assert(
          taken.length <= resolved + 1,
          `${context}: ${taken.length} arrived, ${resolved} resolved`,
        );
        assertEquals(jobs.unfinishedTasks, taken.length, context);
        await turns(5);
        assertEquals(jobs.qsize(), 0, `${context}: nothing arrives after the close`);
        assertFreeSlots(jobs as Queue<unknown>, context);
      });
    }
  });
}

// ---- consumers ----

for (const seed of SEEDS) {
  Deno.test(`W-8: a consumer worker terminated while holding prefetched items, seed ${seed}: the rest is back at the head, in order`, async () => {
    const next = seeded(seed);
    for (const prefetch of [4, 64]) {
      await withScope(async (scope) => {
        const total = 300;
        const stopAt = 1 + Math.floor(next() * (total / 2));
        const context = `seed ${seed}, prefetch ${prefetch}, stopped after ${stopAt} taken`;
        const jobs = new Queue<Item>(total);
        for (let i = 0; i < total; i++) jobs.putNowait({ p: "o", i });
        const record = shared(total + 1);
        const { agent, link } = await scope.connected({ jobs }, { prefetch });
        await agent.run("share", { sab: record.buffer });
        agent.send("consume", { name: "jobs", record: 0, pause: 1, taskDone: false });
        await until(() => Atomics.load(record, 0) >= stopAt, context);
        agent.terminate();
        link.close();
        await turns(5);
        const received = Array.from(record.subarray(1, 1 + Atomics.load(record, 0)));
        assertEquals(received, Array.from({ length: received.length }, (_, i) => i), context);
        const left: number[] = [];
        while (jobs.qsize() > 0) left.push(jobs.getNowait().i);
        const first = left[0] ?? total;
        assertEquals(
          left,
          Array.from({ length: total - first }, (_, n) => first + n),
          `${context}: what is left is the rest, in order`,
        );
        // At most the one item between the worker's get and its record is lost.
        assert(
          first <= received.length + 1,
          `${context}: items ${received.length}..${first - 1} lost`,
        );
        assertEquals(
          jobs.unfinishedTasks,
          total,
          `${context}: nothing was marked done or discarded`,
        );
        assertFreeSlots(jobs as Queue<unknown>, context);
      });
    }
  });
}

// ---- holds ----

type HoldKind = "Lock" | "Semaphore" | "Condition";

for (const kind of ["Lock", "Semaphore", "Condition"] as HoldKind[]) {
  for (const seed of SEEDS.slice(0, deep() ? SEEDS.length : 2)) {
    Deno.test(`W-9: a worker terminated while it holds a ${kind}, seed ${seed}: the owner gets it back`, async () => {
      const next = seeded(seed * 97);
      await withScope(async (scope) => {
        const primitive = kind === "Lock"
          ? new Lock()
          : kind === "Semaphore"
          ? new Semaphore(2)
          : new Condition();
        const stopAt = 1 + Math.floor(next() * 30);
        const context = `seed ${seed}, ${kind}, stopped at acquisition ${stopAt}`;
        const state = shared(2); // [acquisitions, holding now]
        const workers = await Promise.all(
          [0, 1].map((n) =>
            scope.connected({ held: primitive }, { name: `holder-${n}`, onError: () => {} })
          ),
        );
        const [victim, other] = workers as [typeof workers[0], typeof workers[0]];
        await victim.agent.run("share", { sab: state.buffer });
        const otherState = shared(2);
        await other.agent.run("share", { sab: otherState.buffer });
        victim.agent.send("holdLoop", { name: "held", iterations: 1_000, seed, counter: 0 });
        const otherDone = other.agent.run("holdLoop", {
          name: "held",
          iterations: 40,
          seed: seed + 1,
          counter: 0,
        });
        await until(
          () => Atomics.load(state, 0) >= stopAt && Atomics.load(state, 1) === 1,
          `${context}: the worker to hold it`,
        );
        victim.agent.terminate();
        victim.link.close();
        // The other worker goes on and finishes: the hold did not outlive its link.
        let finished = false;
        otherDone.then(() => finished = true, () => {});
        await until(() => finished, `${context}: the other worker to finish`, 10_000)
          .catch(() => {});
        assert(finished, `${context}: the other worker is still blocked`);
        assertEquals(await otherDone, 40, context);
        if (primitive instanceof Semaphore) {
          await until(() => primitive.value === 2, `${context}: both permits back`, 10_000)
            .catch(() => {});
          assertEquals(primitive.value, 2, context);
        } else {
          assertEquals(await primitive.acquire({ timeout: 10_000 }), true, context);
          primitive.release();
          assertEquals(primitive.locked(), false, context);
        }
      });
    });
  }
}

for (const seed of SEEDS) {
  Deno.test(`W-9/C-4: a worker terminated while it waits on a Condition, seed ${seed}: the lock is free and no notify is swallowed`, async () => {
    const next = seeded(seed * 131);
    await withScope(async (scope) => {
      const ready = new Condition();
      const flag = shared(1);
      const { agent, link } = await scope.connected({ ready }, { onError: () => {} });
      await agent.run("share", { sab: flag.buffer });
      agent.send("condWait", { name: "ready", flag: 0 });
      await until(() => Atomics.load(flag, 0) === 1, "the worker to wait");
      await until(() => !ready.locked(), "the wait to release the lock");
      const moment = Math.floor(next() * 3);
      const context = `seed ${seed}, moment ${moment}`;
      if (moment >= 1) {
        assertEquals(await ready.acquire({ timeout: 10_000 }), true);
        ready.notify();
        if (moment === 2) {
          ready.release();
          await turns(Math.floor(next() * 4));
        }
      }
      agent.terminate();
      link.close();
      if (moment === 1) ready.release();
      assertEquals(await ready.acquire({ timeout: 10_000 }), true, `${context}: the lock is free`);
      // A local waiter: the closed link's waiter is gone and takes none of its notifies.
      const waiting = ready.wait({ timeout: 10_000 }); // releases the lock while it waits
      assertEquals(await ready.acquire({ timeout: 10_000 }), true, context);
      ready.notify();
      ready.release();
      assertEquals(await waiting, true, `${context}: the local waiter was notified`);
      ready.release();
      assertEquals(ready.locked(), false);
    });
  });
}
