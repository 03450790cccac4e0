/**
 * Messages of baton's shape that do not fit (W-10), and errors of any shape
 * crossing the boundary (W-7), over a MessageChannel in this thread.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { Barrier, Condition, Queue } from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";
import { recordEnvelopes, withWire } from "./_helpers.ts";
import { until } from "./fixtures/agent.ts";

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("W-10: envelopes without a sequence number or frames, frames that are not objects or whose type is not a string, a second peer and frames for a role this side does not have are reported and change nothing", async () => {
  const jobs = new Queue<number>(2);
  await withWire({ jobs }, async (remote, { sent, original, reported }) => {
    await remote.jobs.put(1);
    await turns();
    const last = sent[sent.length - 1]!;
    const forged: unknown[] = [
      { ...last, seq: "next" },
      { ...last, seq: last.seq + 1, frames: "none" },
      { ...last, seq: last.seq + 1, frames: [null, 7, { type: 7, name: "jobs" }] },
      { ...last, peer: "someone else", seq: 0, frames: [] },
      { ...last, seq: last.seq + 2, frames: [{ type: "end", name: "jobs" }] },
    ];
    for (const envelope of forged) original(envelope);
    await turns();
    const messages = reported.map((error) => (error as Error).message);
    assertEquals(messages.length, 7, messages.join("\n"));
    assert(messages[0]!.includes("without a sequence number"));
    assert(messages[1]!.includes("without frames"));
    assert(messages[2]!.includes("not an object") && messages[3]!.includes("not an object"));
    assert(messages[4]!.includes('an unknown frame type "7"'), messages[4]);
    assert(messages[5]!.includes("second peer"));
    assert(messages[6]!.includes("no such role here"));
    assertEquals(jobs.qsize(), 1);
    assertEquals(jobs.unfinishedTasks, 1);
  });
});

/** An error class baton does not know, with a name that does not end in "Error". */
class Fault extends Error {
  override name = "Fault";
}

Deno.test("W-7: errors of any shape cross: a thrown string arrives as an Error, an unknown name keeps its name", async () => {
  const thrown: unknown[] = ["a plain string", new Fault("custom")];
  let next = 0;
  const barrier = new Barrier(1, {
    action: () => {
      throw thrown[next++];
    },
  });
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { barrier });
  const remote = await connect<{ barrier: Barrier }>(port2);
  try {
    const first = await assertRejects(() => remote.barrier.wait());
    assertInstanceOf(first, Error);
    assertEquals([first.name, first.message], ["Error", "a plain string"]);
    await remote.barrier.reset();
    const second = await assertRejects(() => remote.barrier.wait());
    assertInstanceOf(second, Error);
    assertEquals([second.name, second.message], ["Fault", "custom"]);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: on the worker's side, items unasked or twice, cancels beyond the pulls and a returned notice for no return are reported; unasked items are kept, not lost", async () => {
  const jobs = new Queue<number>();
  const { port1, port2 } = new MessageChannel();
  const { sent, original } = recordEnvelopes(port1);
  const reported: unknown[] = [];
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<number> }>(port2, {
    onError: (error) => {
      reported.push(error);
      throw new Error("a hook that throws breaks nothing");
    },
  });
  try {
    await turns();
    const last = sent[sent.length - 1]!;
    const frames = [
      { type: "items", name: "jobs", seq: 1_000, items: [7] },
      { type: "items", name: "jobs", seq: 1_000, items: [7] },
      { type: "unpulled", name: "jobs", cancelled: 3 },
      { type: "returned", name: "jobs", cancelled: 0 },
    ];
    original({ ...last, seq: last.seq + 1, frames });
    await turns();
    const messages = reported.map((error) => (error as Error).message);
    assertEquals(messages.length, 5, messages.join("\n"));
    assert(messages[0]!.includes("1 items unasked"));
    assert(messages[1]!.includes("1 items unasked"));
    assert(messages[2]!.includes("arrived twice"));
    assert(messages[3]!.includes("too few pulls"));
    assert(messages[4]!.includes("no return"), messages[4]);
    assertEquals(await remote.jobs.get(), 7); // it exists: kept once
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: a call frame reusing a pending call's id is reported; an onError that throws breaks nothing", async () => {
  const jobs = new Queue<number>();
  const { port1, port2 } = new MessageChannel();
  const { sent, original } = recordEnvelopes(port2);
  const reported: unknown[] = [];
  const link = serve(port1, { jobs }, {
    onError: (error) => {
      reported.push(error);
      throw new Error("a hook that throws");
    },
  });
  const remote = await connect<{ jobs: Queue<number> }>(port2, { prefetch: 0 });
  try {
    await remote.jobs.put(1);
    await turns();
    const last = sent[sent.length - 1]!;
    const call = { type: "call", id: 9_999, name: "jobs", op: "join", args: [] };
    original({ ...last, seq: last.seq + 1, frames: [call, call] });
    await turns();
    assertEquals(reported.length, 1);
    assert((reported[0] as Error).message.includes("already pending"));
    assertEquals(jobs.qsize(), 1);
  } finally {
    link.close(); // settles the forged pending call
    await remote.close();
    port1.close();
    port2.close();
  }
});

Deno.test("C-4/W-10: a notify call frame without its count notifies one waiter", async () => {
  const condition = new Condition();
  const { port1, port2 } = new MessageChannel();
  const { sent, original } = recordEnvelopes(port2);
  const reported: Error[] = [];
  const link = serve(port1, { condition }, { onError: (error) => reported.push(error as Error) });
  const remote = await connect<{ condition: Condition }>(port2);
  try {
    const woken: number[] = [];
    const waiters = [1, 2].map(async (id) => {
      await condition.acquire();
      if (await condition.wait({ timeout: 200 })) woken.push(id);
      condition.release();
    });
    await turns();
    assertEquals(await remote.condition.acquire(), true); // held through the link
    await turns();
    const last = sent[sent.length - 1]!;
    const call = { type: "call", id: 9_000, name: "condition", op: "notify", args: [] };
    // The worker's side keeps posting (acks): post at the number the owner's side expects next.
    let seq = last.seq + 1;
    for (let attempt = 0; attempt < 5; attempt++) {
      original({ ...last, seq, frames: [call] });
      await turns();
      const outOfOrder = reported.at(-1)?.message.match(/expected #(\d+)/);
      if (outOfOrder === undefined || outOfOrder === null) break;
      reported.pop();
      seq = Number(outOfOrder[1]);
    }
    assertEquals(reported, []);
    // The forged message took the number the worker's side would use next: that side's next
    // envelope is refused whole (and reported). Closing the link gives back the lock it holds
    // (W-9), whatever it says next.
    link.close();
    await Promise.all(waiters);
    assertEquals(woken, [1]);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: a side's own envelopes echoed back to it (before the other side spoke, and after) are refused and reported; it still connects and works", async () => {
  const jobs = new Queue<number>();
  const { port1, port2 } = new MessageChannel();
  // The other end echoes every message it hears, baton's too (a ping handler, a naive relay).
  const echo = (event: MessageEvent) => port1.postMessage(event.data);
  port1.addEventListener("message", echo);
  port1.start();
  const reported: unknown[] = [];
  const connecting = connect<{ jobs: Queue<number> }>(port2, {
    timeout: 10_000,
    onError: (error) => reported.push(error),
  });
  let link: ReturnType<typeof serve> | undefined;
  try {
    await until(() => reported.length > 0, "the echo of the hello"); // nothing served yet
    link = serve(port1, { jobs });
    const remote = await connecting;
    await remote.jobs.put(1);
    assertEquals(await jobs.get(), 1);
    const messages = reported.map((error) => (error as Error).message);
    assert(messages.length >= 2, messages.join("\n")); // the hello, and the hello answering the manifest
    for (const message of messages) assert(message.includes("reflection"), message);
  } finally {
    port1.removeEventListener("message", echo);
    await connecting.then((r) => r.close(), () => {}); // settled: the connect times out at worst
    link?.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: an envelope forged with the peer id and next number it observed is applied; the genuine envelope it displaced is refused whole and reported, and the link goes on", async () => {
  // Only code that sees what this side posts (here: a wrapper of its postMessage) can forge
  // one: the peer id is random and never leaves the two ends of the endpoint.
  const jobs = new Queue<number>(10);
  await withWire({ jobs }, async (remote, { sent, original, reported }) => {
    await remote.jobs.put(1);
    assertEquals(await jobs.get(), 1);
    await turns();
    const last = sent[sent.length - 1]!;
    original({ ...last, seq: last.seq + 1, frames: [] }); // takes the next number
    await turns();
    assertEquals(reported, []); // it fits the protocol: nothing tells it from the genuine one
    await remote.jobs.put(2); // resolves on credit; its envelope has the number already used
    await until(() => reported.length > 0, "the refusal of the displaced envelope");
    await remote.jobs.put(3);
    assertEquals(await jobs.get(), 3); // the stream goes on with the next number
    const messages = reported.map((error) => (error as Error).message);
    assertEquals(messages.length, 1, messages.join("\n"));
    assert(messages[0]!.includes(`replayed or out-of-order message (#${last.seq + 1}`));
    // What the refused envelope carried (item 2) is not applied, and the owner was told.
    assertEquals(jobs.qsize(), 0);
  });
});
