/**
 * Credits through a shared counter (`PROTOCOL.md`, "Shared credits"): on an
 * endpoint of the platform's own, a remote producer that runs out of credit
 * offers one and the owner grants there while the producer runs; a credit
 * frame only answers a producer that said it waits. Any other endpoint
 * keeps credit frames. Both deliver every item once, in order (W-2); a bad
 * counter is refused (W-10).
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { Queue } from "../mod.ts";
import { connect, type Endpoint, serve } from "../src/worker/mod.ts";
import { type Envelope, recordEnvelopes, withWire } from "./_helpers.ts";

type AnyFrame = { type: string; name?: string; blocked?: boolean; shared?: unknown };

const framesOf = (sent: Envelope[]): AnyFrame[] =>
  sent.flatMap((envelope) => envelope.frames as AnyFrame[]);

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A producer puts `count` numbers through `endpoint` into `Queue(maxsize)`
 * owned on `port1`, while a local consumer takes them, with `pauses` a timer
 * turn apart every 97 items (so the producer also waits longer).
 */
async function stream(
  port1: MessagePort,
  endpoint: Endpoint,
  count: number,
  maxsize: number,
  pauses: boolean,
): Promise<number[]> {
  const jobs = new Queue<number>(maxsize);
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<number> }>(endpoint);
  try {
    const producing = (async () => {
      for (let i = 0; i < count; i++) await remote.jobs.put(i);
    })();
    const taken: number[] = [];
    while (taken.length < count) {
      taken.push(await jobs.get());
      if (pauses && taken.length % 97 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await producing;
    return taken;
  } finally {
    await remote.close();
    link.close();
  }
}

/**
 * A producer on a MessagePort streams 3000 items through `Queue(50)`: it
 * offers the counter once, with a blocked ask, and from then on the owner
 * sends credit frames only to answer a producer that waits.
 */
async function counterCarriesGrants(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  // Both sides' envelopes, in the order they were posted.
  const posted: { from: "owner" | "producer"; frames: AnyFrame[] }[] = [];
  for (const [from, port] of [["owner", port1], ["producer", port2]] as const) {
    const original = port.postMessage.bind(port) as (
      message: unknown,
      transfer: Transferable[],
    ) => void;
    port.postMessage = ((message: Envelope, transfer: Transferable[]) => {
      posted.push({ from, frames: message.frames as AnyFrame[] });
      original(message, transfer);
    }) as typeof port.postMessage;
  }
  try {
    const taken = await stream(port1, port2, 3000, 50, false);
    assertEquals(taken, Array.from({ length: 3000 }, (_, i) => i));
    const fromProducer = posted.filter((envelope) => envelope.from === "producer");
    const wants = fromProducer.flatMap((envelope) => envelope.frames)
      .filter((frame) => frame.type === "want");
    const offers = wants.filter((frame) => frame.shared !== undefined);
    assertEquals(offers.length, 1, "the counter is offered once");
    assertInstanceOf(offers[0]!.shared, SharedArrayBuffer);
    // Not with the first ask (before any credit), but once the producer streams and runs out.
    assert(wants.indexOf(offers[0]!) > 0 && offers[0]!.blocked === true, "with a blocked ask");
    // From the offer on, a credit frame only answers a blocked ask (the owner may send a grant
    // or two ahead before it reads the offer), though 3000 items through 50 slots took at least
    // 60 grants.
    const after = posted.slice(
      posted.findIndex((envelope) => envelope.frames.includes(offers[0]!)),
    );
    const framesAfter = (from: string, type: string) =>
      after.filter((envelope) => envelope.from === from).flatMap((envelope) => envelope.frames)
        .filter((frame) => frame.type === type);
    const blocked = framesAfter("producer", "want").filter((frame) => frame.blocked).length;
    const credits = framesAfter("owner", "credit").length;
    assert(credits <= blocked + 2, `${credits} credit frames for ${blocked} blocked asks`);
    assert(
      credits < 30,
      `${credits} credit frames after the offer: the counter carried few grants`,
    );
  } finally {
    port1.close();
    port2.close();
  }
}

Deno.test("W-2: a producer on a MessagePort that runs out of credit offers a shared credit counter; the owner sends credit frames only to answer a producer that waits, and every item arrives once, in order", async () => {
  await counterCarriesGrants();
});

Deno.test("W-2: the owner notifies the shared counter after each grant it adds there, so a put that sleeps on it wakes then, not at the end of its watch", async () => {
  const atomics = Atomics as unknown as Record<"add" | "notify", (...args: unknown[]) => number>;
  const { add, notify } = atomics;
  // Grants and notifications on a counter of one Int32 of shared memory: the offered counter.
  const calls: string[] = [];
  const onCounter = (array: unknown) =>
    array instanceof Int32Array && array.length === 1 &&
    array.buffer instanceof SharedArrayBuffer;
  atomics.add = (...args) => {
    if (onCounter(args[0])) calls.push("add");
    return add.apply(Atomics, args);
  };
  atomics.notify = (...args) => {
    if (onCounter(args[0])) calls.push("notify");
    return notify.apply(Atomics, args);
  };
  try {
    await counterCarriesGrants();
  } finally {
    atomics.add = add;
    atomics.notify = notify;
  }
  assert(calls.length > 0, "grants went through the counter");
  for (let i = 0; i < calls.length; i += 2) {
    assertEquals([calls[i], calls[i + 1]], ["add", "notify"], `call ${i} of ${calls.length}`);
  }
});

Deno.test("W-2: where the platform has no Atomics.waitAsync, a put out of credit polls the shared counter instead, with the same grants and every item once, in order", async () => {
  const atomics = Atomics as { waitAsync?: unknown };
  const waitAsync = atomics.waitAsync;
  assert(typeof waitAsync === "function", "Deno has Atomics.waitAsync");
  delete atomics.waitAsync;
  try {
    await counterCarriesGrants();
  } finally {
    atomics.waitAsync = waitAsync;
  }
});

Deno.test("W-2: an endpoint that is not the platform's own (a relay object) is offered no shared counter; credits come in frames, every item once, in order", async () => {
  const { port1, port2 } = new MessageChannel();
  const fromOwner = recordEnvelopes(port1);
  const offered: unknown[] = [];
  // What a relay or a socket adapter looks like to baton: postMessage and listeners, nothing more.
  const relay: Endpoint = {
    postMessage(message: unknown, transfer?: Transferable[]) {
      for (const frame of (message as Envelope).frames as AnyFrame[]) {
        if (frame.shared !== undefined) offered.push(frame.shared);
      }
      port2.postMessage(message, transfer ?? []);
    },
    addEventListener: (type: string, listener: (event: Event) => void) =>
      port2.addEventListener(type, listener),
    removeEventListener: (type: string, listener: (event: Event) => void) =>
      port2.removeEventListener(type, listener),
    start: () => port2.start(),
  };
  try {
    const taken = await stream(port1, relay, 2000, 50, true);
    assertEquals(taken, Array.from({ length: 2000 }, (_, i) => i));
    assertEquals(offered, []);
    const credits = framesOf(fromOwner.sent).filter((frame) => frame.type === "credit").length;
    assert(
      credits >= 2000 / 50 - 1,
      `only ${credits} credit frames for 2000 items through 50 slots`,
    );
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: a want frame whose shared counter is not one Int32 of shared memory, or a second counter, is refused whole and reported; the stream goes on", async () => {
  const jobs = new Queue<number>(2);
  await withWire({ jobs }, async (remote, { sent, original, reported }) => {
    // Puts that run out of credit, answered soon: one of their asks offers the genuine counter.
    const offered = () =>
      sent.flatMap((envelope) => envelope.frames as AnyFrame[])
        .filter((frame) => frame.type === "want" && frame.shared !== undefined).length;
    for (let round = 0; round < 50 && offered() === 0; round++) {
      const puts = [1, 2, 3].map((item) => remote.jobs.put(item));
      assertEquals([await jobs.get(), await jobs.get(), await jobs.get()], [1, 2, 3]);
      await Promise.all(puts);
    }
    assertEquals(offered(), 1);
    await remote.jobs.put(4);
    await turns();
    const last = sent[sent.length - 1]!;
    const want = (shared: unknown) => ({ type: "want", name: "jobs", blocked: false, shared });
    const forged = [
      want(new ArrayBuffer(4)),
      want(new SharedArrayBuffer(8)),
      want({ byteLength: 4 }),
      want(new SharedArrayBuffer(4)), // well formed, but a second one
    ];
    forged.forEach((frame, k) => original({ ...last, seq: last.seq + 1 + k, frames: [frame] }));
    await turns();
    const messages = reported.map((error) => (error as Error).message);
    assertEquals(messages.length, 4, messages.join("\n"));
    for (const message of messages.slice(0, 3)) assert(message.includes("bad shared"), message);
    assert(messages[3]!.includes("a second shared credit counter"), messages[3]);
    // Nothing changed at the owner: the item put before the forgeries is there, once.
    assertEquals(jobs.qsize(), 1);
    assertEquals(await jobs.get(), 4);
  });
});
