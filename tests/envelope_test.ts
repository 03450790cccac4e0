/**
 * When an envelope leaves (PROTOCOL.md, "Envelopes"): what a caller waits
 * for is posted without waiting for the program to go idle. Over a
 * MessageChannel in this thread, with both ends' posts watched.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { Queue } from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";

type Frame = Record<string, unknown> & { type: string };
type Envelope = { frames: Frame[]; seq: number; peer: string };

/** A queue of `items` served on one port, connected with prefetch 0 on the other; posts watched. */
async function withWatched(
  items: number[],
  body: (ctx: {
    remote: { q: { get(): Promise<number> } };
    /** Envelopes posted by the owner's side, in order. */
    ownerPosts: Envelope[];
    /** Envelopes posted by the caller's side, in order. */
    callerPosts: Envelope[];
    /** While set, the caller's envelopes are kept here instead of posted. */
    hold: (held: Envelope[] | undefined) => void;
    port1: MessagePort;
  }) => Promise<void>,
): Promise<void> {
  const q = new Queue<number>();
  for (const item of items) q.putNowait(item);
  const { port1, port2 } = new MessageChannel();
  const ownerPosts: Envelope[] = [];
  const callerPosts: Envelope[] = [];
  let held: Envelope[] | undefined;
  const post1 = port1.postMessage.bind(port1);
  port1.postMessage = ((message: Envelope, transfer: Transferable[]) => {
    if (message?.frames !== undefined) ownerPosts.push(structuredClone(message));
    post1(message, transfer);
  }) as typeof port1.postMessage;
  const post2 = port2.postMessage.bind(port2);
  port2.postMessage = ((message: Envelope, transfer: Transferable[]) => {
    if (message?.frames !== undefined) {
      callerPosts.push(structuredClone(message));
      if (held !== undefined) {
        held.push(message);
        return;
      }
    }
    post2(message, transfer);
  }) as typeof port2.postMessage;
  const link = serve(port1, { q });
  const remote = await connect<{ q: Queue<number> }>(port2, { prefetch: 0 });
  try {
    await body({
      remote: remote as unknown as { q: { get(): Promise<number> } },
      ownerPosts,
      callerPosts,
      hold: (next) => held = next,
      port1,
    });
  } finally {
    held = undefined;
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert(condition(), "the condition never held");
}

Deno.test("Envelopes: a call the owner answers at once is answered when the owner finishes reading its envelope", async () => {
  await withWatched([1, 2], async ({ remote, ownerPosts, hold, port1 }) => {
    assertEquals(await remote.q.get(), 1);
    const held: Envelope[] = [];
    hold(held);
    const second = remote.q.get();
    second.catch(() => {}); // awaited below; a failed assertion must not leave it unhandled
    await until(() => held.some((envelope) => envelope.frames.some((f) => f.type === "call")));
    hold(undefined);
    const before = ownerPosts.length;
    // Read here, synchronously: the answer is posted before this returns, not a microtask later.
    for (const envelope of held) {
      port1.dispatchEvent(new MessageEvent("message", { data: envelope }));
    }
    const answers = ownerPosts.slice(before).flatMap((envelope) => envelope.frames)
      .filter((frame) => frame.type === "result");
    assertEquals(answers.map((frame) => frame.value), [2]);
    assertEquals(await second, 2);
  });
});

Deno.test("Envelopes: a remote get that waits for the owner leaves after the step that called it", async () => {
  await withWatched([1, 2], async ({ remote, callerPosts }) => {
    assertEquals(await remote.q.get(), 1);
    // The owner's answer was just heard and an ack waits to ride along: the link is busy, yet
    // the get is the caller's last word until its answer comes.
    const before = callerPosts.length;
    const second = remote.q.get();
    second.catch(() => {}); // awaited below; a failed assertion must not leave it unhandled
    await Promise.resolve();
    const calls = callerPosts.slice(before).flatMap((envelope) => envelope.frames)
      .filter((frame) => frame.type === "call" && frame.op === "get");
    assertEquals(calls.length, 1);
    assertEquals(await second, 2);
  });
});
