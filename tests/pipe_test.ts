/**
 * `Pipe` and `Connection` (W-5): in one thread, and with a real worker at the
 * other end (served, or transferred by hand). Every test closes both ends it
 * made (their `MessagePort`s) and terminates its workers in `finally`.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import fc from "fast-check";
import { Connection, Pipe, PipeClosed, serve } from "../src/worker/mod.ts";
import { abortedSignal, track } from "./_helpers.ts";
import { Agent, COMMAND_DEADLINE, type ErrorInfo } from "./fixtures/agent.ts";

/** Random cases per property; more under `deno task test:deep` (`BATON_DEEP=1`). */
const NUM_RUNS = Deno.env.get("BATON_DEEP") === "1" ? 1_000 : 60;

/** Makes a pipe and closes both ends after `fn`, whatever happens. */
async function withPipe<A, B>(
  fn: (a: Connection<A, B>, b: Connection<B, A>) => Promise<void> | void,
  options?: { duplex?: boolean },
): Promise<void> {
  const [a, b] = Pipe<A, B>(options);
  try {
    await fn(a, b);
  } finally {
    a.close();
    b.close();
  }
}

/** Lets the other end's messages arrive (a real turn: ports deliver asynchronously). */
function turn(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}

// ---- one thread ----

Deno.test("W-5: values arrive in the order they were sent, both ways", async () => {
  await withPipe<number, string>(async (a, b) => {
    for (let i = 0; i < 100; i++) a.send(i);
    b.send("x");
    b.send("y");
    const got: number[] = [];
    for (let i = 0; i < 100; i++) got.push(await b.recv());
    assertEquals(got, Array.from({ length: 100 }, (_, i) => i));
    assertEquals([await a.recv(), await a.recv()], ["x", "y"]);
  });
});

Deno.test("W-5: structured clone: values are copies; Map, Date and nested objects survive", async () => {
  await withPipe<unknown, unknown>(async (a, b) => {
    const sent = { map: new Map([[1, "one"]]), when: new Date(0), nested: { list: [1, [2]] } };
    a.send(sent);
    const got = await b.recv() as typeof sent;
    assertEquals(got, sent);
    assert(got !== sent);
    assertInstanceOf(got.map, Map);
  });
});

Deno.test("W-5: waiting recv calls are served first come, first served", async () => {
  await withPipe<string, string>(async (a, b) => {
    const first = b.recv();
    const second = b.recv();
    const third = b.recv();
    a.send("1");
    a.send("2");
    a.send("3");
    assertEquals(await Promise.all([first, second, third]), ["1", "2", "3"]);
  });
});

Deno.test("W-5: recv after the peer closed returns what was sent, then rejects PipeClosed", async () => {
  await withPipe<string, string>(async (a, b) => {
    a.send("last words");
    a.send("really last");
    a.close();
    assertEquals(await b.recv(), "last words");
    assertEquals(await b.recv(), "really last");
    await assertRejects(() => b.recv(), PipeClosed);
    await assertRejects(() => b.recv(), PipeClosed, "nothing is left");
    assertEquals(await b.poll(), true, "poll is true: recv would not wait");
    assertThrows(() => b.send("anyone?"), PipeClosed);
  });
});

Deno.test("W-5: a pending recv rejects PipeClosed when the peer closes", async () => {
  await withPipe<string, string>(async (a, b) => {
    const waiting = b.recv();
    a.close();
    await assertRejects(() => waiting, PipeClosed);
  });
});

Deno.test("W-5: close() rejects this end's pending recv and resolves pending polls false; later calls fail", async () => {
  await withPipe<string, string>(async (_a, b) => {
    const receiving = track(b.recv());
    const polling = b.poll(COMMAND_DEADLINE);
    b.close();
    b.close(); // idempotent
    assertEquals(await polling, false);
    await assertRejects(() => receiving.promise, PipeClosed);
    assertEquals(b.closed, true);
    await assertRejects(() => b.recv(), PipeClosed);
    await assertRejects(() => b.poll(), PipeClosed);
    assertThrows(() => b.send("x"), PipeClosed);
  });
});

Deno.test("W-5: poll looks without waiting, waits up to its timeout, and wakes when a value arrives", async () => {
  await withPipe<string, string>(async (a, b) => {
    assertEquals(await b.poll(), false);
    assertEquals(await b.poll(10), false);
    const polling = b.poll(COMMAND_DEADLINE);
    a.send("x");
    assertEquals(await polling, true);
    assertEquals(await b.poll(), true, "a value is buffered");
    assertEquals(await b.recv(), "x");
    assertEquals(await b.poll(), false);
    await assertRejects(() => b.poll(-1), RangeError);
    await assertRejects(() => b.poll(Number.NaN), RangeError);
  });
});

Deno.test("W-5: recv takes the WaitOptions: timeout, abort, bad timeout", async () => {
  await withPipe<string, string>(async (a, b) => {
    const error = await assertRejects(() => b.recv({ timeout: 10 }));
    assertInstanceOf(error, DOMException);
    assertEquals(error.name, "TimeoutError");
    await assertRejects(() => b.recv({ timeout: -1 }), RangeError);
    const { signal, reason } = abortedSignal();
    assertStrictEquals(await b.recv({ signal }).catch((e) => e), reason);
    const controller = new AbortController();
    const aborted = b.recv({ signal: controller.signal });
    const ownReason = new Error("stop");
    controller.abort(ownReason);
    assertStrictEquals(await aborted.catch((e) => e), ownReason);
    // Cancelled waits took nothing: the next value goes to the next recv.
    a.send("kept");
    assertEquals(await b.recv({ timeout: COMMAND_DEADLINE }), "kept");
  });
});

Deno.test("W-5: a value that cannot be cloned throws DataCloneError from send, and nothing is sent", async () => {
  await withPipe<unknown, unknown>(async (a, b) => {
    for (const value of [() => 1, { run: () => 1 }, Symbol("s")]) {
      const error = assertThrows(() => a.send(value));
      assertInstanceOf(error, DOMException);
      assertEquals(error.name, "DataCloneError");
    }
    a.send("fine");
    assertEquals(await b.recv(), "fine");
    await turn();
    assertEquals(await b.poll(), false, "nothing else arrived");
  });
});

Deno.test("W-5: Pipe({ duplex: false }) gives a receive-only end and a send-only end", async () => {
  await withPipe<string, string>(async (receiver, sender) => {
    assertEquals([receiver.readable, receiver.writable], [true, false]);
    assertEquals([sender.readable, sender.writable], [false, true]);
    assertThrows(() => receiver.send("x"), TypeError);
    await assertRejects(() => sender.recv(), TypeError);
    await assertRejects(() => sender.poll(), TypeError);
    sender.send("one way");
    assertEquals(await receiver.recv(), "one way");
  }, { duplex: false });
});

Deno.test("W-5: transfer() detaches an end that fromPort() rebuilds; an end that started receiving cannot move", async () => {
  const [a, b] = Pipe<number, number>();
  let again: Connection<number, number> | undefined;
  try {
    const port = b.transfer();
    assertInstanceOf(port, MessagePort);
    assertEquals(b.closed, true);
    assertThrows(() => b.transfer(), Error, "cannot be transferred");
    again = Connection.fromPort<number, number>(port);
    a.send(1);
    assertEquals(await again.recv(), 1);
    again.send(2);
    assertEquals(await a.recv(), 2);
    assertThrows(() => again!.transfer(), Error, "started receiving");
    assertThrows(() => new Connection({} as MessagePort), TypeError);
  } finally {
    a.close();
    b.close();
    again?.close();
  }
});

Deno.test("W-5: a Connection is disposable and shows its state", async () => {
  const [a, b] = Pipe<string, string>();
  try {
    {
      using end = a;
      end.send("x");
      assert(Deno.inspect(end).startsWith("Connection {"));
    }
    assertEquals(a.closed, true);
    assertEquals(await b.recv(), "x");
    await assertRejects(() => b.recv(), PipeClosed);
    assert(Deno.inspect(b).includes("peerClosed: true"));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("W-5: messages on the port that are not the pipe's are ignored", async () => {
  const { port1, port2 } = new MessageChannel();
  const end = Connection.fromPort<string, string>(port2);
  try {
    port1.postMessage("foreign");
    port1.postMessage({ "@baton": 1, d: "s", f: [] });
    port1.postMessage(null);
    const receiving = end.recv({ timeout: COMMAND_DEADLINE });
    const other = new Connection<string, string>(port1);
    other.send("ours");
    assertEquals(await receiving, "ours");
    other.close();
    await assertRejects(() => end.recv(), PipeClosed);
  } finally {
    port1.close();
    end.close();
  }
});

// ---- with a worker ----

Deno.test("W-5: a served pipe end works both ways with a worker; the worker's recv rejects PipeClosed after the close", async () => {
  const agent = new Agent();
  const [mine, theirs] = Pipe<number, number>();
  const link = serve(agent.worker, { conn: theirs });
  try {
    const names = await agent.connect();
    assertEquals(names, ["conn"]);
    const shape = await agent.run<Record<string, { connection?: boolean }>>("shape");
    assertEquals(shape.conn!.connection, true, "the worker got a Connection");
    const echoing = agent.run<ErrorInfo>("echo", { name: "conn", count: 50 });
    for (let i = 0; i < 50; i++) mine.send(i);
    const got: number[] = [];
    for (let i = 0; i < 50; i++) got.push(await mine.recv({ timeout: COMMAND_DEADLINE }));
    assertEquals(got, Array.from({ length: 50 }, (_, i) => i * 2));
    mine.close();
    const info = await echoing;
    assertEquals(info.name, "PipeClosed");
    assert(info.classes.includes("PipeClosed"), "instanceof PipeClosed in the worker");
  } finally {
    mine.close();
    theirs.close();
    link.close();
    agent.terminate();
  }
});

Deno.test("W-5: a pipe end transferred by hand: the worker sends, closes, and the owner reads all then PipeClosed", async () => {
  const agent = new Agent();
  const [mine, theirs] = Pipe<number, number>({ duplex: false });
  try {
    await agent.ready;
    const port = theirs.transfer();
    assertEquals(await agent.run("sendAll", { port, count: 100 }, [port]), 100);
    const got: number[] = [];
    for (;;) {
      try {
        got.push(await mine.recv({ timeout: COMMAND_DEADLINE }));
      } catch (error) {
        assertInstanceOf(error, PipeClosed);
        break;
      }
    }
    assertEquals(got, Array.from({ length: 100 }, (_, i) => i));
  } finally {
    mine.close();
    theirs.close();
    agent.terminate();
  }
});

Deno.test("W-5: a pipe end whose worker is terminated: the owner's recv can be bounded and the end closed", async () => {
  const agent = new Agent();
  const [mine, theirs] = Pipe<number, number>();
  try {
    await agent.ready;
    const port = theirs.transfer();
    // The worker takes the end, echoes one value, then is terminated mid-conversation.
    const echoing = agent.send("echo", { port, count: 5 }, [port]);
    mine.send(21);
    assertEquals(await mine.recv({ timeout: COMMAND_DEADLINE }), 42);
    agent.terminate();
    await assertRejects(() => echoing.reply);
    const error = await assertRejects(() => mine.recv({ timeout: 20 }));
    assert(error instanceof DOMException || error instanceof PipeClosed, String(error));
  } finally {
    mine.close();
    theirs.close();
    agent.terminate();
  }
});

// ---- batching (one message per turn) ----

/**
 * Kinds of value `send` must refuse, at once, each its own way (`error`: the
 * very error expected, else `DataCloneError`), and how to free what they hold.
 */
function uncloneables(): {
  cases: { name: string; value: unknown; error?: unknown }[];
  dispose: () => void;
} {
  const { port1, port2 } = new MessageChannel();
  const boom = new RangeError("getter failed");
  class Holder {
    constructor(readonly inside: unknown) {}
  }
  const cases = [
    { name: "function", value: () => 1 },
    { name: "symbol", value: Symbol("s") },
    { name: "object with a method", value: { ok: 1, run() {} } },
    { name: "symbol deep in plain data", value: { list: [1, { deep: Symbol("d") }] } },
    { name: "array with a function", value: [1, 2, () => 3] },
    { name: "class instance holding a function", value: new Holder(() => 1) },
    { name: "Map holding a function", value: new Map([[1, () => 1]]) },
    { name: "MessagePort not transferred", value: { port: port1 } },
    { name: "ReadableStream", value: [new ReadableStream()] },
    {
      name: "getter that throws",
      value: {
        get bad(): never {
          throw boom;
        },
      },
      error: boom,
    },
  ];
  return {
    cases,
    dispose: () => {
      port1.close();
      port2.close();
    },
  };
}

Deno.test("W-3: send throws DataCloneError at once for each uncloneable kind; what was sent before still arrives, in order", async () => {
  const { cases, dispose } = uncloneables();
  try {
    await withPipe<unknown, unknown>(async (a, b) => {
      const expected: unknown[] = [];
      let n = 0;
      for (const { name, value, error } of cases) {
        // Plain values waiting in this turn's batch, and one judged by the platform.
        a.send(n);
        a.send({ n });
        a.send(new Date(n));
        expected.push(n, { n }, new Date(n));
        n++;
        const thrown = assertThrows(() => a.send(value), undefined, undefined, name);
        if (error !== undefined) {
          assertStrictEquals(thrown, error, name);
        } else {
          assertInstanceOf(thrown, DOMException, name);
          assertEquals(thrown.name, "DataCloneError", name);
        }
        a.send(`after ${name}`);
        expected.push(`after ${name}`);
      }
      const got: unknown[] = [];
      for (let i = 0; i < expected.length; i++) {
        got.push(await b.recv({ timeout: COMMAND_DEADLINE }));
      }
      assertEquals(got, expected);
      await turn();
      assertEquals(await b.poll(), false, "nothing of the refused values arrived");
    });
  } finally {
    dispose();
  }
});

Deno.test("W-3: a value nested too deep for the platform: send throws the platform's own error; earlier values arrive", async () => {
  await withPipe<unknown, unknown>(async (a, b) => {
    let deep: unknown = { end: true };
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    a.send("before");
    assertThrows(() => a.send(deep), RangeError);
    a.send("after");
    assertEquals([await b.recv(), await b.recv()], ["before", "after"]);
    await turn();
    assertEquals(await b.poll(), false);
  });
});

Deno.test("W-5: values arrive in order across batches, the batch cap, and values posted alone", async () => {
  await withPipe<unknown, unknown>(async (a, b) => {
    const expected: unknown[] = [];
    for (let round = 0; round < 3; round++) {
      // 700 values in one turn: over the cap of one batch twice, with platform
      // values (posted alone, at once) in between.
      for (let i = 0; i < 700; i++) {
        const value = i % 97 === 0 ? new Map([[round, i]]) : { round, i };
        a.send(value);
        expected.push(value);
      }
      await turn();
    }
    const got: unknown[] = [];
    for (let i = 0; i < expected.length; i++) got.push(await b.recv({ timeout: COMMAND_DEADLINE }));
    assertEquals(got, expected);
  });
});

Deno.test("W-5: send copies the value when it is called: later changes in the same turn do not travel", async () => {
  await withPipe<unknown, unknown>(async (a, b) => {
    const item = { v: 1, list: [1] };
    a.send(item);
    item.v = 2;
    item.list.push(2);
    let reads = 0;
    a.send({
      get once() {
        return ++reads;
      },
    });
    assertEquals(reads, 1, "the getter ran once, in send");
    assertEquals(await b.recv(), { v: 1, list: [1] });
    assertEquals(await b.recv(), { once: 1 });
    assertEquals(reads, 1, "and never again");
  });
});

Deno.test("W-5: a getter that closes or moves the sending end while send copies the value: send throws PipeClosed, nothing of it is sent", async () => {
  for (const extra of [1, new Date(0)]) { // plain data (batched), or posted alone
    await withPipe<unknown, unknown>(async (a, b) => {
      a.send("before");
      const value = {
        get closing() {
          a.close();
          return "x";
        },
        extra,
      };
      assertThrows(() => a.send(value), PipeClosed);
      assertEquals(await b.recv({ timeout: COMMAND_DEADLINE }), "before");
      await assertRejects(() => b.recv({ timeout: COMMAND_DEADLINE }), PipeClosed);
    });
    await withPipe<unknown, unknown>(async (a, b) => {
      a.send("before");
      const moved: { end?: Connection<unknown, unknown> } = {};
      const value = {
        get moving() {
          moved.end ??= Connection.fromPort(a.transfer());
          return "x";
        },
        extra,
      };
      try {
        assertThrows(() => a.send(value), PipeClosed);
        const end = moved.end;
        if (end === undefined) throw new Error("the getter did not move the end");
        end.send("after");
        assertEquals(await b.recv({ timeout: COMMAND_DEADLINE }), "before");
        assertEquals(await b.recv({ timeout: COMMAND_DEADLINE }), "after");
      } finally {
        moved.end?.close();
      }
    });
  }
});

Deno.test("W-5: close() posts what was sent in the same turn first; the peer reads it all, then PipeClosed", async () => {
  await withPipe<unknown, unknown>(async (a, b) => {
    const expected: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const value = i === 150 ? new Set([i]) : { i };
      a.send(value);
      expected.push(value);
    }
    a.close();
    const got: unknown[] = [];
    for (let i = 0; i < expected.length; i++) got.push(await b.recv({ timeout: COMMAND_DEADLINE }));
    assertEquals(got, expected);
    await assertRejects(() => b.recv(), PipeClosed);
  });
});

Deno.test("W-5: transfer() posts what was sent first, then the port moves", async () => {
  const [a, b] = Pipe<number, number>();
  let moved: Connection<number, number> | undefined;
  try {
    a.send(1);
    a.send(2);
    moved = Connection.fromPort<number, number>(a.transfer());
    moved.send(3);
    assertEquals([await b.recv(), await b.recv(), await b.recv()], [1, 2, 3]);
  } finally {
    a.close();
    b.close();
    moved?.close();
  }
});

Deno.test("W-5: recv waiters are served first come, first served from one batch; the rest is buffered", async () => {
  await withPipe<number, number>(async (a, b) => {
    const waiting = [b.recv(), b.recv(), b.recv()];
    const polling = b.poll(COMMAND_DEADLINE);
    for (let i = 0; i < 6; i++) a.send(i);
    assertEquals(await Promise.all(waiting), [0, 1, 2]);
    assertEquals(await polling, true);
    assertEquals([await b.recv(), await b.recv(), await b.recv()], [3, 4, 5]);
    assertEquals(await b.poll(), false);
  });
});

Deno.test("W-5: a malformed pipe message is ignored", async () => {
  const { port1, port2 } = new MessageChannel();
  const end = Connection.fromPort<string, string>(port2);
  try {
    const receiving = end.recv({ timeout: COMMAND_DEADLINE });
    port1.postMessage({ "@baton-pipe": 1 });
    port1.postMessage({ "@baton-pipe": 1, b: "not a batch" });
    port1.postMessage({ "@baton-pipe": 1, b: ["ok"] });
    assertEquals(await receiving, "ok");
    await turn();
    assertEquals(await end.poll(), false);
  } finally {
    port1.close();
    end.close();
  }
});

Deno.test("W-5: the sends of one turn travel in one message, at most 256 values each", async () => {
  const { port1, port2 } = new MessageChannel();
  const sender = Connection.fromPort<number, number>(port1);
  const receiver = Connection.fromPort<number, number>(port2);
  const sizes: number[] = [];
  const count = (event: MessageEvent) =>
    sizes.push((event.data as { b?: unknown[] }).b?.length ?? -1);
  port2.addEventListener("message", count);
  try {
    for (let i = 0; i < 600; i++) sender.send(i);
    for (let i = 0; i < 600; i++) {
      assertEquals(await receiver.recv({ timeout: COMMAND_DEADLINE }), i);
    }
    sender.send(600);
    assertEquals(await receiver.recv({ timeout: COMMAND_DEADLINE }), 600);
    assertEquals(sizes, [256, 256, 88, 1]);
  } finally {
    port2.removeEventListener("message", count);
    sender.close();
    receiver.close();
  }
});

/**
 * A channel of `node:worker_threads`, whose ports fire `close` when the other
 * side is gone (Deno's web ports do not). Importing that module swaps the
 * global `MessageChannel` for its own: it is put back, so the other tests
 * keep web ports.
 */
async function nodeMessageChannel(): Promise<MessageChannel> {
  const webChannel = globalThis.MessageChannel;
  const { MessageChannel: NodeMessageChannel } = await import("node:worker_threads");
  globalThis.MessageChannel = webChannel;
  return new NodeMessageChannel() as unknown as MessageChannel;
}

Deno.test("W-5: a port that reports its terminated peer (Deno: node:worker_threads ports) makes recv reject PipeClosed after what arrived", async () => {
  const { port1, port2 } = await nodeMessageChannel();
  const mine = Connection.fromPort<number, number>(port1);
  const agent = new Agent();
  try {
    await agent.ready;
    const echoing = agent.send("echo", { port: port2, count: 5 }, [port2]);
    mine.send(21);
    assertEquals(await mine.recv({ timeout: COMMAND_DEADLINE }), 42);
    // The worker echoes both in one turn: one message, both buffered here.
    mine.send(1);
    mine.send(2);
    assertEquals(await mine.poll(COMMAND_DEADLINE), true);
    const waiting = mine.recv({ timeout: COMMAND_DEADLINE });
    assertEquals(await waiting, 2);
    agent.terminate();
    await assertRejects(() => echoing.reply);
    assertEquals(await mine.recv({ timeout: COMMAND_DEADLINE }), 4, "what arrived is still read");
    const error = await mine.recv({ timeout: COMMAND_DEADLINE }).catch((e) => e);
    assertInstanceOf(error, PipeClosed, "the pending recv learns the peer is gone");
    await assertRejects(() => mine.recv(), PipeClosed);
    assertEquals(await mine.poll(), true);
    assertThrows(() => mine.send(3), PipeClosed);
  } finally {
    mine.close();
    port2.close();
    agent.terminate();
  }
});

Deno.test("W-5: over ports that fire close, the other end still reads everything sent before the close", async () => {
  const { port1, port2 } = await nodeMessageChannel();
  const sender = Connection.fromPort<unknown, unknown>(port1);
  const receiver = Connection.fromPort<unknown, unknown>(port2);
  try {
    const first = receiver.recv({ timeout: COMMAND_DEADLINE });
    const expected: unknown[] = [];
    for (let i = 0; i < 600; i++) {
      const value = i === 300 ? new Date(i) : { i };
      sender.send(value);
      expected.push(value);
    }
    sender.close();
    const got: unknown[] = [await first];
    for (let i = 1; i < expected.length; i++) {
      got.push(await receiver.recv({ timeout: COMMAND_DEADLINE }));
    }
    assertEquals(got, expected);
    await assertRejects(() => receiver.recv({ timeout: COMMAND_DEADLINE }), PipeClosed);
  } finally {
    sender.close();
    receiver.close();
  }
});

Deno.test("W-3/W-5: random sends, refusals and turns: exactly the accepted values arrive, in order, then PipeClosed", async () => {
  const { port1, port2 } = new MessageChannel();
  const boom = new Error("getter failed");
  type Step =
    | "plain"
    | "nested"
    | "platform"
    | "function"
    | "uncloneable for the platform"
    | "getter throws"
    | "turn";
  const step = fc.oneof(
    { weight: 12, arbitrary: fc.constant<Step>("plain") },
    { weight: 3, arbitrary: fc.constant<Step>("nested") },
    { weight: 2, arbitrary: fc.constant<Step>("platform") },
    { weight: 1, arbitrary: fc.constant<Step>("function") },
    { weight: 1, arbitrary: fc.constant<Step>("uncloneable for the platform") },
    { weight: 1, arbitrary: fc.constant<Step>("getter throws") },
    { weight: 1, arbitrary: fc.constant<Step>("turn") },
  );
  // Runs of the same step make long batches (over the cap of 256).
  const steps = fc.array(fc.tuple(step, fc.integer({ min: 1, max: 300 })), { maxLength: 12 });
  try {
    await fc.assert(
      fc.asyncProperty(steps, fc.boolean(), async (plan, closeAtEnd) => {
        const [a, b] = Pipe<unknown, unknown>();
        try {
          const expected: unknown[] = [];
          let n = 0;
          for (const [kind, times] of plan) {
            for (let t = 0; t < (kind === "turn" ? 1 : times); t++) {
              n++;
              if (kind === "turn") {
                await turn();
              } else if (kind === "plain" || kind === "nested" || kind === "platform") {
                const value = kind === "plain"
                  ? n
                  : kind === "nested"
                  ? { n, list: [n, { deep: `${n}` }] }
                  : new Map([[n, [n]]]);
                a.send(value);
                expected.push(value);
              } else if (kind === "getter throws") {
                const value = {
                  n,
                  get bad(): never {
                    throw boom;
                  },
                };
                assertStrictEquals(assertThrows(() => a.send([value])), boom);
              } else {
                const value = kind === "function" ? { n, f: () => n } : new Map([[n, port1]]);
                const error = assertThrows(() => a.send(value));
                assertEquals((error as DOMException).name, "DataCloneError", kind);
              }
            }
          }
          if (closeAtEnd) a.close();
          const got: unknown[] = [];
          for (let i = 0; i < expected.length; i++) {
            got.push(await b.recv({ timeout: COMMAND_DEADLINE }));
          }
          assertEquals(got, expected);
          if (closeAtEnd) {
            await assertRejects(() => b.recv({ timeout: COMMAND_DEADLINE }), PipeClosed);
          } else {
            await turn();
            assertEquals(await b.poll(), false, "nothing more arrived");
          }
        } finally {
          a.close();
          b.close();
        }
      }),
      { numRuns: NUM_RUNS },
    );
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("W-3/W-5: an end sent through its own other end is refused with DataCloneError; both ends keep working", async () => {
  await withPipe<unknown, unknown>(async (a, b) => {
    const error = assertThrows(() => a.send({ b }));
    assertInstanceOf(error, DOMException);
    assertEquals(error.name, "DataCloneError");
    assertEquals(b.closed, false, "b stays here");
    a.send("after");
    assertEquals(await b.recv(), "after");
    b.send("back");
    assertEquals(await a.recv(), "back");
  });
});
