/**
 * The worker entry's arguments and the remote operations of Condition,
 * Barrier and PeriodicTimer, over a MessageChannel in this thread.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Barrier, BrokenBarrierError, Condition, Event, PeriodicTimer } from "../mod.ts";
import { connect, type Endpoint, Pipe, type Servable, serve } from "../src/worker/mod.ts";
import { flush, withRemote } from "./_helpers.ts";

Deno.test("Conventions: serve() refuses what it cannot use, saying what was wrong", () => {
  const { port1, port2 } = new MessageChannel();
  try {
    const bad = null as unknown as Endpoint;
    assertThrows(() => serve(bad, {}), TypeError, "endpoint");
    assertThrows(() => serve({} as Endpoint, {}), TypeError, "endpoint");
    assertThrows(
      () => serve(port1, null as unknown as Record<string, Servable>),
      TypeError,
      "object of primitives",
    );
    assertThrows(
      () => serve(port1, {}, { onError: "log" as unknown as () => void }),
      TypeError,
      "onError",
    );
    assertThrows(
      () => serve(port1, { jobs: [] as unknown as Servable }),
      TypeError,
      "baton primitives",
    );
    assertThrows(() => serve(port1, { close: new Event() }), Error, "cannot be a served name");
    assertThrows(() => serve(port1, { then: new Event() }), Error, "cannot be a served name");
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("W-5: serve() throws for a pipe end given twice or one that cannot move, and serves nothing", () => {
  const { port1, port2 } = new MessageChannel();
  const [left, right] = Pipe();
  try {
    assertThrows(() => serve(port1, { a: left, b: left }), Error, "served twice");
    right.close();
    assertThrows(() => serve(port1, { a: left, b: right }), Error, "cannot move");
  } finally {
    left.close();
    right.close();
    port1.close();
    port2.close();
  }
});

Deno.test("Conventions: connect() rejects bad arguments, saying what was wrong", async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    await assertRejects(() => connect(null as unknown as Endpoint), TypeError, "endpoint");
    await assertRejects(() => connect(port2, { prefetch: -1 }), RangeError, "prefetch");
    await assertRejects(() => connect(port2, { prefetch: 1.5 }), RangeError, "prefetch");
    await assertRejects(
      () => connect(port2, { onError: 1 as unknown as () => void }),
      TypeError,
      "onError",
    );
    await assertRejects(() => connect(port2, { timeout: -1 }), RangeError);
    const reason = new Error("gave up");
    await assertRejects(
      () => connect(port2, { signal: AbortSignal.abort(reason) }),
      Error,
      "gave up",
    );
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("C-1/C-4: a remote notify and notifyAll need the lock through this link, and wake the owner's waiters", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote) => {
    await condition.acquire(); // held here, not through the link
    await assertRejects(() => remote.condition.notify(), Error, "without holding");
    await assertRejects(() => remote.condition.notifyAll(), Error, "without holding");
    const woken: boolean[] = [];
    const waiting = [
      condition.wait(),
      (async () => {
        await condition.acquire();
        woken.push(await condition.wait());
        condition.release();
      })(),
    ];
    await flush();
    assertEquals(await remote.condition.acquire(), true);
    await remote.condition.notify();
    await remote.condition.notifyAll();
    await remote.condition.release();
    assertEquals(await waiting[0], true);
    condition.release();
    await waiting[1];
    assertEquals(woken, [true]);
  });
});

Deno.test("C-3: a remote waitFor checks its predicate, its options, and waits with the caller's signal", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote) => {
    assertEquals(await remote.condition.acquire(), true);
    await assertRejects(
      () => remote.condition.waitFor("ready" as unknown as () => boolean),
      TypeError,
      "predicate",
    );
    await assertRejects(() => remote.condition.waitFor(() => true, { timeout: -1 }), RangeError);
    const signal = new AbortController().signal;
    assertEquals(await remote.condition.waitFor(() => 0, { timeout: 5, signal }), 0);
    let ready = false;
    const waiting = remote.condition.waitFor(() => ready, { signal });
    await flush(4);
    await condition.acquire(); // the remote wait let go of the lock
    ready = true;
    condition.notify();
    condition.release();
    assertEquals(await waiting, true);
    await remote.condition.release();
  });
});

Deno.test("B-1: a remote abort breaks the barrier for the owner's waiters", async () => {
  const barrier = new Barrier(2);
  await withRemote({ barrier }, async (remote) => {
    const waiting = barrier.wait().then(() => undefined, (error: unknown) => error);
    await remote.barrier.abort();
    assert(await waiting instanceof BrokenBarrierError);
    assert(await remote.barrier.broken);
    await remote.barrier.reset();
    assertEquals(await remote.barrier.broken, false);
  });
});

Deno.test("T-4/T-5: a remote timer iterates its ticks, reads running, and ends when stopped", async () => {
  const timer = new PeriodicTimer(2);
  try {
    await withRemote({ timer }, async (remote) => {
      assertEquals(await remote.timer.running, false);
      await remote.timer.start();
      assertEquals(await remote.timer.running, true);
      const ticks: number[] = [];
      for await (const tick of remote.timer) {
        ticks.push(tick);
        if (ticks.length === 2) break;
      }
      assert(ticks[1]! > ticks[0]!);
      const iterator = remote.timer[Symbol.asyncIterator]();
      await remote.timer.stop();
      assertEquals(await iterator.next(), { value: undefined, done: true });
      assertEquals(await remote.timer.running, false);
    });
  } finally {
    timer.stop();
  }
});
