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
import { recordEnvelopes, track, type Tracked } from "./_helpers.ts";
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

Deno.test("W-10: a gone with last that answers no close of the last link is reported and changes nothing: a second peer is still refused", async () => {
  await withChannel(async ({ port1, port2 }, keep) => {
    const jobs = new Queue<number>(10);
    const reported: unknown[] = [];
    keep.links.push(serve(port1, { jobs }, { onError: (error) => reported.push(error) }));
    const { sent, original } = recordEnvelopes(port2);
    const remote = await connect<{ jobs: Queue<number> }>(port2, { timeout: 10_000 });
    keep.remotes.push(remote);
    await remote.jobs.put(1);
    await turns(5);
    const last = sent[sent.length - 1]!;
    // The caller's next envelope says its connection ended, though the owner closed nothing.
    original({ ...last, seq: last.seq + 1, frames: [{ type: "gone", names: [], last: true }] });
    await until(() => reported.length === 1, "the unasked gone to be reported");
    original({ "@baton": 2, peer: "second", seq: 0, frames: [] });
    await until(() => reported.length === 2, "the second peer to be refused");
    assert(String(reported[0]).includes("gone"), String(reported[0]));
    assert(String(reported[1]).includes("second peer"), String(reported[1]));
    assertEquals(jobs.qsize(), 1);
  });
});

Deno.test("W-10/W-13: on an endpoint used both ways, the owner's last link closing leaves the other direction as it was: a second peer is still refused", async () => {
  await withChannel(async ({ port1, port2 }, keep) => {
    const jobs = new Queue<number>();
    const results = new Queue<number>();
    const mainErrors: unknown[] = [];
    const mainLink = serve(port1, { jobs }, { onError: (error) => mainErrors.push(error) });
    keep.links.push(mainLink, serve(port2, { results }));
    const worker = await connect<{ jobs: Queue<number> }>(port2, { timeout: 10_000 });
    const main = await connect<{ results: Queue<number> }>(port1, {
      timeout: 10_000,
      onError: (error) => mainErrors.push(error),
    });
    keep.remotes.push(worker, main);
    await worker.jobs.put(1);
    await main.results.put(2);
    assertEquals([await jobs.get(), await results.get()], [1, 2]);
    mainLink.close(); // main's last owner link on port1; its connection to results stays
    assertInstanceOf(await rejection(worker.jobs.get(), "the ended connection's get"), LinkClosed);
    await main.results.put(3);
    assertEquals(await results.get(), 3);
    port2.postMessage({ "@baton": 2, peer: "intruder", seq: 0, frames: [] }); // heard by port1
    await until(
      () => mainErrors.some((e) => String(e).includes("second peer")),
      "the intruder refused",
    );
    assertEquals(await main.results.qsize(), 0); // still answered
    await main.results.put(4);
    assertEquals(await results.get(), 4);
  });
});

Deno.test("W-13: a connect waiting for its first manifest outlives a link closed before it was announced, and gets what is served next", async () => {
  await withChannel(async ({ port1, port2 }, keep) => {
    const connecting = track(connect<{ b: Lock }>(port2, { timeout: 10_000 }));
    await turns(3); // its hello found nothing served
    const a = serve(port1, { a: new Lock() });
    a.close(); // before its announcement left: the caller never heard of "a"
    const b = new Lock();
    keep.links.push(serve(port1, { b }));
    await until(() => connecting.status !== "pending", "the connect to settle");
    assertEquals(connecting.status, "fulfilled", String(connecting.reason));
    const remote = connecting.value!;
    keep.remotes.push(remote);
    assertEquals(Object.keys(remote), ["b"]);
    assertEquals(await remote.b.acquire(), true);
    assertEquals(b.locked(), true);
    await remote.b.release();
  });
});
