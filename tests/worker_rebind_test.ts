/**
 * Serving again on an endpoint whose last link closed: the calls of the old
 * connection settle (`LinkClosed`), never wait on an owner that is gone, and
 * a new `connect` on the same endpoint reaches what is served now (W-6,
 * W-13). Over real MessageChannels and Workers; every wait has a generous
 * deadline, none asserts a duration.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertNotStrictEquals } from "@std/assert";
import { Lock, Queue } from "../mod.ts";
import { connect, type Link, LinkClosed, serve } from "../src/worker/mod.ts";
import { track, type Tracked } from "./_helpers.ts";
import { until } from "./fixtures/agent.ts";
import { turns, withScope } from "./fixtures/scope.ts";

/** Waits (bounded) until `promise` settles; its rejection reason, or undefined if it resolved. */
async function rejection(
  promise: Promise<unknown> | Tracked<unknown>,
  what: string,
): Promise<unknown> {
  const tracked = promise instanceof Promise ? track(promise) : promise;
  await until(() => tracked.status !== "pending", what);
  return tracked.reason;
}

/** One MessageChannel, and everything a test served or connected on it, closed at the end. */
async function withChannel(
  fn: (
    ports: { port1: MessagePort; port2: MessagePort },
    keep: { links: Link[]; remotes: { close(): Promise<void> }[] },
  ) => Promise<void>,
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const keep = { links: [] as Link[], remotes: [] as { close(): Promise<void> }[] };
  try {
    await fn({ port1, port2 }, keep);
  } finally {
    for (const remote of keep.remotes) await remote.close();
    for (const link of keep.links) link.close();
    port1.close();
    port2.close();
  }
}

for (const when of ["in the same turn", "once the close was heard"] as const) {
  Deno.test(`W-6/W-13: a Lock served again on a MessageChannel after link.close() with an acquire pending (${when}): the old connection's calls reject LinkClosed, a new connect() works`, async () => {
    await withChannel(async ({ port1, port2 }, keep) => {
      const lock = new Lock();
      await lock.acquire();
      const reported: unknown[] = [];
      const link = serve(port1, { lock });
      keep.links.push(link);
      const remote = await connect<{ lock: Lock }>(port2, {
        timeout: 10_000,
        onError: (error) => reported.push(error),
      });
      keep.remotes.push(remote);
      const pending = track(remote.lock.acquire());
      await turns(3);
      link.close();
      if (when === "once the close was heard") await turns(5);
      const lock2 = new Lock();
      keep.links.push(serve(port1, { lock: lock2 }));
      assertInstanceOf(await rejection(pending, "the pending acquire to settle"), LinkClosed);
      // The old connection's proxy stood for the closed link: it never reaches lock2.
      const late = await rejection(remote.lock.acquire(), "the old remote's acquire to settle");
      assertInstanceOf(late, LinkClosed);
      assertEquals(lock2.locked(), false);
      const again = await connect<{ lock: Lock }>(port2, { timeout: 10_000 });
      keep.remotes.push(again);
      assertNotStrictEquals(again, remote);
      assertEquals(await again.lock.acquire(), true);
      assertEquals(lock2.locked(), true);
      await again.lock.release();
      assertEquals(lock2.locked(), false);
      assertEquals(lock.locked(), true); // the first lock was never the remote's
      assertEquals(reported, []);
    });
  });
}

Deno.test("W-6/W-13: a Queue served again in the turn its link closed with a get pending: the get rejects LinkClosed, a new connect() gets the new queue's items", async () => {
  await withChannel(async ({ port1, port2 }, keep) => {
    const jobs = new Queue<number>();
    const link = serve(port1, { jobs });
    keep.links.push(link);
    const remote = await connect<{ jobs: Queue<number> }>(port2, { timeout: 10_000 });
    keep.remotes.push(remote);
    const pending = track(remote.jobs.get());
    await turns(3);
    link.close(); // the queue's tail keeps the owner's side alive until the caller heard
    const jobs2 = new Queue<number>();
    jobs2.putNowait(7);
    keep.links.push(serve(port1, { jobs: jobs2 }));
    assertInstanceOf(await rejection(pending, "the pending get to settle"), LinkClosed);
    assertInstanceOf(
      await rejection(remote.jobs.get(), "the old remote's get to settle"),
      LinkClosed,
    );
    const again = await connect<{ jobs: Queue<number> }>(port2, { timeout: 10_000 });
    keep.remotes.push(again);
    assertEquals(await again.jobs.get(), 7);
    await again.jobs.put(8);
    assertEquals(await jobs2.get(), 8);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("W-13: once its last link closed, an endpoint may be served again with another onError", async () => {
  await withChannel(async ({ port1, port2 }, keep) => {
    const link = serve(port1, { jobs: new Queue<number>() }, { onError: () => {} });
    keep.links.push(link);
    const remote = await connect<{ jobs: Queue<number> }>(port2, { timeout: 10_000 });
    keep.remotes.push(remote);
    const pending = track(remote.jobs.get());
    await turns(3);
    link.close(); // in the same turn: the closed queue's tail is still being finished
    const reported: unknown[] = [];
    keep.links.push(serve(port1, { lock: new Lock() }, { onError: (e) => reported.push(e) }));
    assertInstanceOf(await rejection(pending, "the pending get to settle"), LinkClosed);
    const again = await connect<{ lock: Lock }>(port2, { timeout: 10_000 });
    keep.remotes.push(again);
    assertEquals(await again.lock.acquire(), true);
    await again.lock.release();
    assertEquals(reported, []);
  });
});

Deno.test("W-6/W-13: a worker's connection to a closed link ends; serving the worker again and connecting again works", async () => {
  await withScope(async (scope) => {
    const agent = scope.agent("rebind");
    const lock = new Lock();
    await lock.acquire();
    const link = scope.serve(agent, { lock });
    assertEquals(await agent.connect(), ["lock"]);
    const pending = agent.fail("op", { name: "lock", method: "acquire" });
    await turns(5);
    link.close();
    assertEquals((await pending).name, "LinkClosed");
    const lock2 = new Lock();
    scope.serve(agent, { lock: lock2 });
    assertEquals(await agent.connect(), ["lock"]);
    assertEquals(await agent.op("lock", "acquire"), true);
    assert(lock2.locked());
    await agent.op("lock", "release");
    assertEquals(lock2.locked(), false);
  });
});
