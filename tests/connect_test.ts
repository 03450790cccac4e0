/**
 * The worker's side of a link: connecting twice, giving up, calls after the
 * close, and a manifest it cannot use (W-6, W-10, W-13), over a
 * MessageChannel in this thread.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { Event, Queue } from "../mod.ts";
import { connect, LinkClosed, serve } from "../src/worker/mod.ts";

type Envelope = { frames: unknown[]; seq: number; peer: string };

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("W-13: a second connect on a connected endpoint resolves with the same working proxies", async () => {
  const go = new Event();
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { go });
  try {
    const first = await connect<{ go: Event }>(port2);
    const second = await connect<{ go: Event }>(port2);
    assert(first === second);
    await second.go.set();
    assert(go.isSet());
    await first.close();
  } finally {
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-6: an aborted connect rejects LinkClosed; after close, calls reject LinkClosed and close again is harmless", async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    const controller = new AbortController();
    const connecting = connect(port2, { signal: controller.signal }); // nobody serves yet
    controller.abort(new Error("stop waiting"));
    await assertRejects(() => connecting, Error, "stop waiting"); // the signal's reason
    const jobs = new Queue<number>();
    const go = new Event();
    const link = serve(port1, { jobs, go });
    const remote = await connect<{ jobs: Queue<number>; go: Event }>(port2);
    await remote.close();
    await remote.close();
    await assertRejects(() => remote.go.set(), LinkClosed);
    await assertRejects(() => remote.go.wait({ timeout: 0 }), LinkClosed);
    await assertRejects(() => remote.jobs.get(), LinkClosed);
    assert(!go.isSet());
    link.close();
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: a manifest entry of an unknown kind is reported; one named close or a pipe end without its port is left out", async () => {
  const go = new Event();
  const { port1, port2 } = new MessageChannel();
  // What the owner's side posted, as the worker's side receives it: its peer id.
  const sent: Envelope[] = [];
  const original = port1.postMessage.bind(port1);
  port2.addEventListener("message", ({ data }) => {
    if (typeof data === "object" && data !== null && "frames" in data) sent.push(data);
  });
  const reported: unknown[] = [];
  const link = serve(port1, { go });
  const remote = await connect<Record<string, unknown>>(port2, {
    onError: (error) => reported.push(error),
  });
  try {
    await turns();
    const last = sent[sent.length - 1]!;
    const manifest = {
      type: "manifest",
      reply: true,
      entries: {
        strange: { kind: "Teapot", constants: {} },
        end: { kind: "Connection", constants: {} },
        close: { kind: "Event", constants: {} },
      },
    };
    // The owner's side keeps posting on this live channel: post at the number the worker's side
    // says it expects next, until it takes the forged message.
    let seq = last.seq + 1;
    for (let attempt = 0; attempt < 5; attempt++) {
      original({ ...last, seq, frames: [manifest] });
      await turns();
      const outOfOrder = (reported.at(-1) as Error | undefined)?.message.match(/expected #(\d+)/);
      if (outOfOrder === undefined || outOfOrder === null) break;
      reported.pop();
      seq = Number(outOfOrder[1]);
    }
    assertEquals(reported.length, 1, String(reported));
    assert((reported[0] as Error).message.includes("unknown kind Teapot"), String(reported[0]));
    assertEquals(Object.keys(remote).sort(), ["go"]);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});
