/**
 * W-10: the wire cannot corrupt the owner. Frames of baton's own shape that
 * do not fit the protocol are forged here by tampering with what a real
 * `connect` side posts (so the envelope's peer id and sequence number are
 * right and only the frame is wrong), or by replaying a real envelope. Each
 * must change no state and be reported through `onError`.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { type Lock, Queue } from "../mod.ts";
import { connect, type Remote, serve } from "../src/worker/mod.ts";

type Frame = Record<string, unknown> & { type: string };
type Envelope = { frames: Frame[]; seq: number; peer: string };

/** A served queue over a MessageChannel whose caller side's envelopes pass through `tamper`. */
async function withTampered<T extends Record<string, Queue<number> | Lock>>(
  primitives: T,
  body: (ctx: {
    remote: Remote<T>;
    reported: unknown[];
    tamper: (fn: ((envelope: Envelope) => Envelope | undefined) | undefined) => void;
    sent: Envelope[];
    post: (envelope: unknown, transfer?: Transferable[]) => void;
  }) => Promise<void>,
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const reported: unknown[] = [];
  const sent: Envelope[] = [];
  let tamperer: ((envelope: Envelope) => Envelope | undefined) | undefined;
  const original = port2.postMessage.bind(port2);
  port2.postMessage = ((message: unknown, transfer: Transferable[]) => {
    let envelope = message as Envelope;
    if (tamperer !== undefined && typeof envelope === "object" && envelope?.frames) {
      const changed = tamperer(structuredClone(envelope));
      if (changed === undefined) return;
      envelope = changed;
    }
    if (typeof envelope === "object" && envelope?.frames) sent.push(structuredClone(envelope));
    original(envelope, transfer);
  }) as typeof port2.postMessage;
  const link = serve(port1, primitives, { onError: (error) => reported.push(error) });
  const remote = await connect<T>(port2);
  try {
    await body({
      remote,
      reported,
      tamper: (fn) => tamperer = fn,
      sent,
      post: (envelope, transfer) => original(envelope, transfer ?? []),
    });
  } finally {
    tamperer = undefined;
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Rewrites every frame of `type` with `change`. */
function rewrite(type: string, change: (frame: Frame) => void) {
  return (envelope: Envelope): Envelope => {
    for (const frame of envelope.frames) if (frame.type === type) change(frame);
    return envelope;
  };
}

Deno.test("W-10: an ack with NaN, or of items never sent, is refused: maxsize still holds", async () => {
  const jobs = new Queue<number>(4);
  await withTampered({ jobs }, async ({ remote, reported, tamper }) => {
    jobs.putNowait(1);
    jobs.putNowait(2);
    tamper(rewrite("ack", (frame) => frame.seq = NaN));
    assertEquals(await remote.jobs.get(), 1);
    await turns();
    tamper(rewrite("ack", (frame) => frame.seq = 1_000));
    assertEquals(await remote.jobs.get(), 2);
    await turns();
    tamper(undefined);
    assert(reported.length >= 2, `reported: ${reported}`);
    // The two items sent keep their slots until acknowledged for real: no room beyond maxsize.
    for (let i = 0; i < 4; i++) {
      try {
        jobs.putNowait(10 + i);
      } catch {
        break;
      }
    }
    assert(jobs.qsize() <= 4, `qsize ${jobs.qsize()}`);
    assert(!(Deno.inspect(jobs).includes("NaN")), Deno.inspect(jobs));
  });
});

Deno.test("W-10: a done frame beyond the items taken changes no count", async () => {
  const jobs = new Queue<number>();
  await withTampered({ jobs }, async ({ remote, reported, tamper }) => {
    for (let i = 0; i < 5; i++) jobs.putNowait(i);
    assertEquals(await remote.jobs.get(), 0);
    tamper(rewrite("done", (frame) => frame.count = 5));
    await remote.jobs.taskDone(); // one taken: a done of 5 is refused
    await turns();
    tamper(undefined);
    assertEquals(jobs.unfinishedTasks, 5, "no count dropped while items are still queued");
    assert(reported.some((error) => String(error).includes("done")), String(reported));
  });
});

Deno.test("W-10/W-8: pipe ends in a return for items it does not give back are refused: reported, their ports closed", async () => {
  const jobs = new Queue<number>(100);
  await withTampered({ jobs }, async ({ remote, reported, post, sent, tamper }) => {
    jobs.putNowait(1);
    assertEquals(await remote.jobs.get(), 1);
    await turns();
    const last = sent[sent.length - 1]!;
    const { port1, port2 } = new MessageChannel();
    post({
      ...last,
      seq: last.seq + 1,
      frames: [{ type: "return", name: "jobs", seq: 1, ends: [[7, [port1, null]]] }],
    }, [port1]);
    tamper((envelope) => ({ ...envelope, seq: envelope.seq + 1 })); // keep the real ones in sequence
    await turns(10);
    assert(
      reported.some((error) => String(error).includes("pipe ends of items not given back")),
      String(reported),
    );
    jobs.putNowait(2);
    assertEquals(await remote.jobs.get({ timeout: 10_000 }), 2, "the stream goes on");
    tamper(undefined);
    port2.close();
  });
});

Deno.test("W-10/W-8: a return naming one item's pipe ends twice is reported, and both ports lists are closed", async () => {
  const jobs = new Queue<number>(100);
  await withTampered({ jobs }, async ({ remote, reported, post, sent, tamper }) => {
    jobs.putNowait(1);
    assertEquals(await remote.jobs.get(), 1);
    await turns();
    const last = sent[sent.length - 1]!;
    const first = new MessageChannel();
    const second = new MessageChannel();
    post({
      ...last,
      seq: last.seq + 1,
      frames: [{
        type: "return",
        name: "jobs",
        seq: 1,
        ends: [[7, [first.port1]], [7, [second.port1]]],
      }],
    }, [first.port1, second.port1]);
    tamper((envelope) => ({ ...envelope, seq: envelope.seq + 1 })); // keep the real ones in sequence
    await turns(10);
    assert(reported.some((error) => String(error).includes("twice")), String(reported));
    tamper(undefined);
    first.port2.close(); // the port1s, at the owner, were closed there (the sanitizer would see them)
    second.port2.close();
  });
});

Deno.test("W-10: a frame refused for its shape closes the ports it brought", async () => {
  const jobs = new Queue<number>(100);
  await withTampered({ jobs }, async ({ remote, reported, post, sent, tamper }) => {
    jobs.putNowait(1);
    assertEquals(await remote.jobs.get(), 1);
    await turns();
    const last = sent[sent.length - 1]!;
    const { port1, port2 } = new MessageChannel();
    post({
      ...last,
      seq: last.seq + 1,
      frames: [{ type: "return", name: "jobs", seq: 1, ends: [[1, [port1, "not a port"]]] }],
    }, [port1]);
    tamper((envelope) => ({ ...envelope, seq: envelope.seq + 1 })); // keep the real ones in sequence
    await turns(10);
    assert(reported.some((error) => String(error).includes("bad ends")), String(reported));
    tamper(undefined);
    port2.close(); // port1, at the owner, was closed there (the sanitizer would see it open)
  });
});

Deno.test("W-10: an uncredit beyond the credits granted revokes nothing", async () => {
  const jobs = new Queue<number>(100);
  await withTampered({ jobs }, async ({ remote, reported, tamper, post, sent }) => {
    await remote.jobs.put(1); // credits granted now
    await turns();
    const last = sent[sent.length - 1]!;
    // A huge uncredit in the next envelope of the real sequence.
    post({ ...last, seq: last.seq + 1, frames: [{ type: "uncredit", name: "jobs", count: 1e6 }] });
    tamper((envelope) => ({ ...envelope, seq: envelope.seq + 1 })); // keep the real ones in sequence
    for (let i = 2; i <= 50; i++) await remote.jobs.put(i);
    await turns(10);
    tamper(undefined);
    assertEquals(jobs.qsize(), 50, "every resolved put delivered");
    assert(reported.some((error) => String(error).includes("uncredit")), String(reported));
  });
});

Deno.test("W-10: a put frame beyond the granted window is refused whole; maxsize holds", async () => {
  const jobs = new Queue<number>(4);
  await withTampered({ jobs }, async ({ remote, reported, tamper }) => {
    tamper(rewrite("put", (frame) => {
      frame.items = Array.from({ length: 1_000 }, (_, i) => i);
    }));
    await remote.jobs.put(1);
    await turns();
    tamper(undefined);
    assert(jobs.qsize() <= 4, `qsize ${jobs.qsize()}`);
    assert(reported.some((error) => String(error).includes("credits")), String(reported));
  });
});

Deno.test("W-10: operation names from Object.prototype are not callable", async () => {
  const jobs = new Queue<number>();
  await withTampered({ jobs }, async ({ remote, tamper }) => {
    for (const op of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      tamper(rewrite("call", (frame) => frame.op = op));
      await assertRejects(() => remote.jobs.qsize(), TypeError, "no remote operation");
    }
    tamper(undefined);
    assertEquals(await remote.jobs.qsize(), 0);
  });
});

Deno.test("W-10: a replayed or duplicated envelope is refused whole: nothing twice", async () => {
  const jobs = new Queue<number>(1000);
  await withTampered({ jobs }, async ({ remote, reported, sent, post }) => {
    for (let i = 0; i < 100; i++) await remote.jobs.put(i);
    await turns();
    for (const envelope of [...sent]) post(envelope); // replay everything
    await turns();
    assertEquals(jobs.qsize(), 100);
    assertEquals(Array.from({ length: 100 }, () => jobs.getNowait()), [...Array(100).keys()]);
    assert(reported.length >= sent.length, `${reported.length} reports`);
    assert(reported.every((error) => error instanceof TypeError));
  });
});

Deno.test("W-10: unknown frames, bad counts and NaN timeouts are reported and change nothing", async () => {
  const jobs = new Queue<number>(2);
  await withTampered({ jobs }, async ({ remote, reported, sent, post }) => {
    await remote.jobs.put(1);
    await turns();
    const last = sent[sent.length - 1]!;
    const forged: Frame[] = [
      { type: "bogus" },
      { type: "pull", name: "jobs", count: -1 },
      { type: "pull", name: "jobs", count: 1.5 },
      { type: "want", name: "jobs", blocked: "yes" },
      { type: "call", id: 99, name: "jobs", op: "get", args: [], timeout: NaN },
      { type: "done", name: "jobs", count: Infinity },
      { type: "put", name: "nope", items: [1] },
    ];
    post({ ...last, seq: last.seq + 1, frames: forged });
    await turns();
    assertEquals(reported.length, forged.length, String(reported));
    assertEquals(jobs.qsize(), 1);
    assertEquals(jobs.unfinishedTasks, 1);
    assertEquals(Deno.inspect(jobs).includes("waitingGetters: 0"), true);
  });
});

Deno.test("W-10: a late put frame after close is held to the credits the link had", async () => {
  const jobs = new Queue<number>(8);
  const { port1, port2 } = new MessageChannel();
  const reported: unknown[] = [];
  const original = port2.postMessage.bind(port2);
  const sent: Envelope[] = [];
  port2.postMessage = ((message: Envelope, transfer: Transferable[]) => {
    sent.push(structuredClone(message));
    original(message, transfer);
  }) as typeof port2.postMessage;
  const link = serve(port1, { jobs }, { onError: (error) => reported.push(error) });
  const remote = await connect<{ jobs: Queue<number> }>(port2);
  try {
    await remote.jobs.put(1);
    await turns();
    link.close();
    const last = sent[sent.length - 1]!;
    const items = Array.from({ length: 1_000 }, (_, i) => i);
    original({ ...last, seq: last.seq + 1, frames: [{ type: "put", name: "jobs", items }] });
    await turns();
    assert(jobs.qsize() <= 8, `qsize ${jobs.qsize()}`);
    assert(reported.length >= 1, "reported");
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});
