/**
 * The wire protocol of the worker adapters, without workers: envelope
 * validation (W-4), error (de)serialisation (W-7), the clone walk and the
 * outbox that batches frames and falls back frame by frame and item by item
 * when something cannot be cloned (W-3).
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertStrictEquals } from "@std/assert";
import {
  BrokenBarrierError,
  LinkClosed,
  PipeClosed,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
} from "../mod.ts";
import {
  dataCloneError,
  deserializeError,
  type Endpoint,
  findUncloneable,
  type Frame,
  isDataCloneError,
  isEnvelope,
  listen,
  Outbox,
  readEnvelope,
  serializeError,
  TAG,
  VERSION,
} from "../src/worker/protocol.ts";

// ---- envelopes (W-4) ----

const envelope = (d: unknown, f: unknown, version: unknown = VERSION) => ({ [TAG]: version, d, f });

Deno.test("W-4: isEnvelope tells baton's messages from anything else", () => {
  for (const foreign of [null, undefined, 1, "x", [], {}, { t: "items" }, { baton: 1 }]) {
    assertEquals(isEnvelope(foreign), false, Deno.inspect(foreign));
  }
  assertEquals(isEnvelope(envelope("c", [])), true);
  assertEquals(
    isEnvelope({ [TAG]: 99 }),
    true,
    "a baton message of another version is still baton's",
  );
});

Deno.test("W-4: readEnvelope returns the frames of a valid envelope from the expected side", () => {
  const frames = [
    { t: "hello" },
    { t: "call", id: 1, n: "jobs", op: "get", a: [], to: 5 },
    { t: "cancel", id: 1 },
    { t: "items", n: "jobs", v: [1, 2] },
    { t: "want", n: "jobs" },
    { t: "uncredit", n: "jobs", k: 3 },
    { t: "pull", n: "jobs", k: 4 },
    { t: "ack", n: "jobs", s: 2 },
    { t: "unpull", n: "jobs", s: 2 },
    { t: "done", n: "jobs", k: 3 },
    { t: "bye" },
  ];
  assertEquals(readEnvelope(envelope("c", frames), "c"), frames);
  const serverFrames = [
    { t: "manifest", e: { jobs: { k: "Queue", c: { maxsize: 0 } } } },
    { t: "ok", id: 1, v: 42 },
    { t: "err", id: 2, e: { name: "QueueEmpty", message: "empty" } },
    { t: "credit", n: "jobs", k: 10 },
    { t: "items", n: "jobs", v: [] },
    { t: "item-error", n: "jobs", e: { name: "DataCloneError", message: "no" } },
    { t: "end", n: "jobs" },
    { t: "unpulled", n: "jobs" },
    { t: "shutdown", n: "jobs", i: false },
    { t: "closed", names: ["jobs"] },
  ];
  assertEquals(readEnvelope(envelope("s", serverFrames), "s"), serverFrames);
});

Deno.test("W-4: readEnvelope ignores this side's own echo and explains what is malformed", () => {
  assertEquals(
    readEnvelope(envelope("s", [{ t: "hello" }]), "c"),
    "",
    "the other direction: silent",
  );
  const problems: [unknown, string][] = [
    [envelope("c", [], 2), "unsupported baton protocol version 2"],
    [envelope("c", "frames"), "without frames"],
    [envelope("c", [null]), "not an object"],
    [envelope("c", [7]), "not an object"],
    [envelope("c", [{ t: "steal" }]), "unknown baton frame type steal"],
    [envelope("c", [{ t: "manifest", e: {} }]), "unknown baton frame type manifest"],
  ];
  for (const [data, message] of problems) {
    const result = readEnvelope(data as Parameters<typeof readEnvelope>[0], "c");
    assert(
      typeof result === "string" && result.includes(message),
      `${Deno.inspect(data)}: ${result}`,
    );
  }
  const malformedClient: Record<string, unknown>[] = [
    { t: "call", id: -1, n: "jobs", op: "get", a: [] },
    { t: "call", id: 1.5, n: "jobs", op: "get", a: [] },
    { t: "call", id: 1, n: "", op: "get", a: [] },
    { t: "call", id: 1, n: "jobs", op: 3, a: [] },
    { t: "call", id: 1, n: "jobs", op: "get", a: "x" },
    { t: "call", id: 1, n: "jobs", op: "get", a: [], to: "5" },
    { t: "cancel", id: "1" },
    { t: "items", n: "jobs", v: 1 },
    { t: "items", n: 5, v: [] },
    { t: "want" },
    { t: "uncredit", n: "jobs", k: -1 },
    { t: "pull", n: "jobs", k: Infinity },
    { t: "ack", n: "jobs", s: "2" },
    { t: "unpull", n: "jobs" },
    { t: "done", n: "jobs", k: 1.5 },
  ];
  for (const frame of malformedClient) {
    const result = readEnvelope(envelope("c", [{ t: "hello" }, frame]), "c");
    assertEquals(result, `a malformed baton ${frame.t} frame`, Deno.inspect(frame));
  }
  const malformedServer: Record<string, unknown>[] = [
    { t: "manifest", e: null },
    { t: "ok", id: -2 },
    { t: "err", id: 1, e: { name: "X" } },
    { t: "err", id: 1, e: "boom" },
    { t: "credit", n: "jobs", k: 0.5 },
    { t: "items", n: "jobs" },
    { t: "item-error", n: "jobs", e: null },
    { t: "end", n: "" },
    { t: "unpulled" },
    { t: "shutdown", n: "jobs", i: 1 },
    { t: "closed", names: ["jobs", ""] },
    { t: "closed", names: "jobs" },
  ];
  for (const frame of malformedServer) {
    const result = readEnvelope(envelope("s", [frame]), "s");
    assertEquals(result, `a malformed baton ${frame.t} frame`, Deno.inspect(frame));
  }
});

// ---- errors (W-7) ----

Deno.test("W-7: baton's errors and the built-in ones are rebuilt as their own classes", () => {
  const errors: [Error, abstract new (...args: never[]) => Error][] = [
    [new QueueEmpty(), QueueEmpty],
    [new QueueFull("full!"), QueueFull],
    [new QueueShutDown(), QueueShutDown],
    [new BrokenBarrierError(), BrokenBarrierError],
    [new PipeClosed(), PipeClosed],
    [new LinkClosed(), LinkClosed],
    [new RangeError("bad"), RangeError],
    [new TypeError("worse"), TypeError],
    [new SyntaxError("s"), SyntaxError],
    [new ReferenceError("r"), ReferenceError],
    [new EvalError("e"), EvalError],
    [new URIError("u"), URIError],
    [new Error("plain"), Error],
  ];
  for (const [original, Class] of errors) {
    // The wire form must itself survive a structured clone.
    const wire = structuredClone(serializeError(original));
    const rebuilt = deserializeError(wire);
    assertInstanceOf(rebuilt, Class);
    assertEquals(rebuilt.name, original.name);
    assertEquals(rebuilt.message, original.message);
    assertEquals(rebuilt.stack, original.stack, "the stack of the thread that threw");
  }
});

Deno.test("W-7: DOMException names (DataCloneError, AbortError, TimeoutError) come back as DOMException", () => {
  for (const name of ["DataCloneError", "AbortError", "TimeoutError"]) {
    const rebuilt = deserializeError(serializeError(new DOMException(`a ${name}`, name)));
    assertInstanceOf(rebuilt, DOMException);
    assertEquals(rebuilt.name, name);
    assertEquals(rebuilt.message, `a ${name}`);
  }
  const clone = deserializeError(serializeError(dataCloneError("()=>1")));
  assert(isDataCloneError(clone));
  assertEquals(clone.message, "()=>1 could not be cloned.");
});

Deno.test("W-7: other names keep their name on an Error; thrown non-errors become Error messages", () => {
  class Custom extends Error {
    override name = "Custom";
  }
  const rebuilt = deserializeError(serializeError(new Custom("mine")));
  assertInstanceOf(rebuilt, Error);
  assertEquals(rebuilt.name, "Custom");
  assertEquals(rebuilt.message, "mine");
  assertEquals(serializeError("a string"), { name: "Error", message: "a string" });
  assertEquals(serializeError(42), { name: "Error", message: "42" });
  assertEquals(serializeError(undefined), { name: "Error", message: "undefined" });
  const noStack = deserializeError({ name: "QueueEmpty", message: "m" });
  assertInstanceOf(noStack, QueueEmpty);
});

// ---- the clone walk (W-3) ----

Deno.test("W-3: findUncloneable finds functions, symbols, promises and weak collections, however deep", () => {
  const fn = () => 1;
  const cases: unknown[] = [
    fn,
    Symbol("s"),
    { run: fn },
    { a: { b: { c: [1, 2, { d: fn }] } } },
    [1, 2, fn],
    new Map([["key", fn]]),
    new Map<unknown, unknown>([[fn, "value"]]),
    new Set([1, fn]),
    Promise.resolve(1),
    new WeakMap(),
    new WeakSet(),
    new WeakRef({}),
    { nested: Symbol("deep") },
    new URL("https://example.com/"),
    new Headers(),
    new Request("https://example.com/"),
  ];
  for (const value of cases) {
    const found = findUncloneable(value);
    assert(found !== undefined, `${Deno.inspect(value)} is not cloneable`);
    let cloneable = true;
    try {
      structuredClone(value);
    } catch {
      cloneable = false;
    }
    assertEquals(cloneable, false, `the platform agrees on ${Deno.inspect(value)}`);
  }
  assert(findUncloneable(fn)!.includes("=>"), "described by its source");
  const long = findUncloneable(function aFunctionWithAVeryLongBodyThatGoesOnAndOn() {
    return "and on and on and on and on";
  })!;
  assert(long.length <= 60 && long.endsWith("..."), long);
});

Deno.test("W-3: findUncloneable passes what structured clone accepts, cycles included", () => {
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const shared = { x: 1 };
  class Job {
    id = 1;
    run(): number {
      return this.id; // a method on the prototype: not cloned, not a problem
    }
  }
  const cases: unknown[] = [
    null,
    undefined,
    0,
    "text",
    10n,
    true,
    new Date(),
    /x/g,
    new Uint8Array(4),
    new ArrayBuffer(8),
    new SharedArrayBuffer(8),
    new Error("e"),
    new Map([[1, { y: [1, 2] }]]),
    new Set(["a"]),
    [shared, shared],
    cyclic,
    new Job(),
    new Blob(["b"]),
    new DOMException("d", "AbortError"),
    new File(["f"], "f.txt"),
    { link: new URL("https://example.com/") }, // nested, Deno clones it as a plain object
  ];
  for (const value of cases) {
    assertEquals(findUncloneable(value), undefined, Deno.inspect(value));
    structuredClone(value); // and the platform agrees
  }
});

// ---- the outbox ----

interface Posted {
  envelope: { [TAG]: number; d: string; f: Frame[] };
  transfer: Transferable[];
}

/** An endpoint that clones what is posted as a real one would, and records it. */
function fakeEndpoint(fail?: (message: unknown) => Error | undefined): {
  endpoint: Endpoint;
  posted: Posted[];
} {
  const posted: Posted[] = [];
  const endpoint: Endpoint = {
    postMessage(message: unknown, transfer: Transferable[]) {
      const failure = fail?.(message);
      if (failure !== undefined) throw failure;
      structuredClone(message); // throws DataCloneError like postMessage
      posted.push({ envelope: message as Posted["envelope"], transfer });
    },
    addEventListener() {},
    removeEventListener() {},
  };
  return { endpoint, posted };
}

/** Waits for the outbox's end-of-turn flush. */
async function afterFlush(posted: Posted[], count: number): Promise<void> {
  for (let i = 0; i < 100 && posted.length < count; i++) {
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("Outbox: the frames of one turn go out in one envelope, after the turn", async () => {
  const { endpoint, posted } = fakeEndpoint();
  const errors: unknown[] = [];
  const outbox = new Outbox(endpoint, "c", (error) => errors.push(error));
  const batch = outbox.batch;
  outbox.push({ t: "hello" });
  outbox.push({ t: "want", n: "jobs" });
  outbox.pushItem("jobs", 1);
  outbox.pushItem("jobs", 2);
  outbox.pushItem("other", 3);
  outbox.pushItem("jobs", 4);
  assertEquals(posted.length, 0, "nothing is posted within the turn");
  await afterFlush(posted, 1);
  assertEquals(posted.length, 1);
  const sent = posted[0]!.envelope;
  assertEquals(sent[TAG], VERSION);
  assertEquals(sent.d, "c");
  assertEquals(sent.f, [
    { t: "hello" },
    { t: "want", n: "jobs" },
    { t: "items", n: "jobs", v: [1, 2] },
    { t: "items", n: "other", v: [3] },
    { t: "items", n: "jobs", v: [4] },
  ]);
  assertEquals(outbox.batch, batch + 1);
  assertEquals(errors, []);
  outbox.close();
});

Deno.test("Outbox: items with different clone hooks are not merged; flush() posts at once", () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "s", () => {});
  const hookA = () => {};
  const hookB = () => {};
  outbox.pushItem("jobs", 1, hookA);
  outbox.pushItem("jobs", 2, hookB);
  outbox.pushItem("jobs", 3, hookB);
  outbox.flush();
  assertEquals(posted.length, 1);
  assertEquals(posted[0]!.envelope.f, [
    { t: "items", n: "jobs", v: [1] },
    { t: "items", n: "jobs", v: [2, 3] },
  ]);
  outbox.flush(); // nothing queued: nothing posted
  assertEquals(posted.length, 1);
  outbox.close();
});

Deno.test("Outbox: a large turn is flushed in batches as it grows, in order", async () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "c", () => {});
  for (let i = 0; i < 5000; i++) outbox.pushItem("jobs", i);
  const early = posted.length;
  assert(early >= 2, "flushed before the turn ended");
  await afterFlush(posted, early + 1); // the rest goes at the end of the turn
  assertEquals(posted.length, early + 1);
  const items = posted.flatMap((p) => p.envelope.f.flatMap((f) => (f as { v: number[] }).v));
  assertEquals(items, Array.from({ length: 5000 }, (_, i) => i));
  outbox.close();
});

Deno.test("Outbox: a beforeFlush hook runs once at the next flush and its frames go in that envelope", async () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "s", () => {});
  let calls = 0;
  outbox.beforeFlush(() => {
    calls++;
    outbox.push({ t: "credit", n: "jobs", k: 4 });
  });
  assertEquals(calls, 0, "not before the flush");
  outbox.push({ t: "hello" });
  await afterFlush(posted, 1); // the hook alone schedules the end-of-turn flush
  assertEquals(calls, 1);
  assertEquals(posted.length, 1);
  assertEquals(posted[0]!.envelope.f, [{ t: "hello" }, { t: "credit", n: "jobs", k: 4 }]);
  outbox.flush();
  assertEquals(calls, 1, "called once");
  outbox.beforeFlush(() => calls++);
  outbox.close();
  await afterFlush(posted, 2);
  assertEquals(calls, 1, "a closed outbox drops its hooks");
  assertEquals(posted.length, 1);
});

Deno.test("Outbox: a hook alone is enough to schedule a flush", async () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "s", () => {});
  outbox.beforeFlush(() => outbox.push({ t: "credit", n: "jobs", k: 1 }));
  await afterFlush(posted, 1);
  assertEquals(posted.map((p) => p.envelope.f), [[{ t: "credit", n: "jobs", k: 1 }]]);
  outbox.close();
});

Deno.test("Outbox: a flush asked for by a clone-error hook waits until the rest of the batch is posted", () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "s", () => {});
  outbox.push({ t: "hello" });
  outbox.push({ t: "call", id: 1, n: "jobs", op: "put", a: [() => 1] }, () => {
    outbox.push({ t: "credit", n: "jobs", k: 1 });
    outbox.flush(); // inside the frame-by-frame fallback
    assertEquals(posted.length, 1, "not in the middle of the batch");
  });
  outbox.push({ t: "bye" });
  outbox.flush();
  assertEquals(posted.map((p) => p.envelope.f.map((f) => f.t)), [["hello"], ["bye"], ["credit"]]);
  outbox.close();
});

Deno.test("Outbox: flush() then close() from a clone-error hook post the batch, then what was queued, then close", async () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "c", () => {});
  outbox.push({ t: "hello" });
  outbox.push({ t: "call", id: 1, n: "jobs", op: "put", a: [() => 1] }, () => {
    outbox.push({ t: "uncredit", n: "jobs", k: 3 }); // what a close sends on its way out
    outbox.flush();
    outbox.close();
  });
  outbox.push({ t: "bye" });
  outbox.flush();
  const types = () => posted.map((p) => p.envelope.f.map((f) => f.t));
  assertEquals(types(), [["hello"], ["bye"], ["uncredit"]]);
  outbox.push({ t: "want", n: "jobs" });
  outbox.flush();
  await afterFlush(posted, 4);
  assertEquals(types(), [["hello"], ["bye"], ["uncredit"]], "closed after that");
});

Deno.test("W-3: Outbox falls back frame by frame: only the frame that cannot be cloned fails, through its hook", () => {
  const { endpoint, posted } = fakeEndpoint();
  const errors: unknown[] = [];
  const outbox = new Outbox(endpoint, "c", (error) => errors.push(error));
  const failed: unknown[] = [];
  outbox.push({ t: "hello" });
  outbox.push(
    { t: "call", id: 1, n: "jobs", op: "put", a: [() => 1] },
    (error) => failed.push(error),
  );
  outbox.push({ t: "cancel", id: 1, extra: Symbol("no hook") } as unknown as Frame);
  outbox.push({ t: "bye" });
  outbox.flush();
  assertEquals(posted.map((p) => p.envelope.f.map((f) => f.t)), [["hello"], ["bye"]]);
  assertEquals(failed.length, 1);
  assert(isDataCloneError(failed[0]), "the hook gets the platform's DataCloneError");
  assertEquals(errors.length, 1, "a frame without a hook goes to onError");
  assert(isDataCloneError(errors[0]));
  outbox.close();
});

Deno.test("W-3: Outbox falls back item by item inside an items frame, keeping the order of the rest", () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "s", () => {});
  const failed: [unknown, unknown][] = [];
  const hook = (error: unknown, item?: unknown) => failed.push([error, item]);
  const bad = { run: () => 1 };
  for (const item of [1, bad, 3]) outbox.pushItem("jobs", item, hook);
  outbox.push({ t: "end", n: "jobs" });
  outbox.flush();
  assertEquals(posted.map((p) => p.envelope.f), [
    [{ t: "items", n: "jobs", v: [1] }],
    [{ t: "items", n: "jobs", v: [3] }],
    [{ t: "end", n: "jobs" }],
  ]);
  assertEquals(failed.length, 1);
  assert(isDataCloneError(failed[0]![0]));
  assertStrictEquals(failed[0]![1], bad, "the hook is told which item");
  outbox.close();
});

Deno.test("Outbox: a posting error that is not DataCloneError goes to onError; close() drops what is queued", async () => {
  let broken = true;
  const { endpoint, posted } = fakeEndpoint(() => broken ? new Error("port gone") : undefined);
  const errors: unknown[] = [];
  const outbox = new Outbox(endpoint, "c", (error) => errors.push(error));
  outbox.push({ t: "hello" });
  outbox.flush();
  assertEquals(errors.length, 1);
  assertEquals((errors[0] as Error).message, "port gone");
  broken = false;
  outbox.push({ t: "want", n: "jobs" });
  outbox.close();
  outbox.push({ t: "bye" });
  outbox.pushItem("jobs", 1);
  outbox.flush();
  await afterFlush(posted, 1);
  assertEquals(posted, [], "nothing after close");
});

Deno.test("Outbox: the transfer list travels with the envelope", () => {
  const { endpoint, posted } = fakeEndpoint();
  const outbox = new Outbox(endpoint, "s", () => {});
  const { port1, port2 } = new MessageChannel();
  try {
    outbox.push({ t: "manifest", e: {} }, undefined, [port2]);
    outbox.flush();
    assertEquals(posted.length, 1);
    assertEquals(posted[0]!.transfer, [port2]);
  } finally {
    outbox.close();
    port1.close();
    port2.close();
  }
});

Deno.test("listen() starts a MessagePort and its undo removes the listener", async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    const seen: unknown[] = [];
    const undo = listen(port1, (event) => seen.push(event.data));
    port2.postMessage("one");
    for (let i = 0; i < 100 && seen.length === 0; i++) {
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    assertEquals(seen, ["one"]);
    undo();
    port2.postMessage("two");
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
    assertEquals(seen, ["one"]);
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("W-3: when a batch falls back frame by frame, each frame moves its own ports", async () => {
  const { port1, port2 } = new MessageChannel();
  const moved = new MessageChannel();
  const received: unknown[] = [];
  const got = new Promise<void>((resolve) => {
    port2.onmessage = (event) => {
      received.push(event.data);
      resolve();
    };
  });
  try {
    const failures: unknown[] = [];
    const outbox = new Outbox(port1 as unknown as Endpoint, "s", () => {});
    outbox.push({ t: "ok", id: 1, v: () => 1 }, (error) => failures.push(error));
    outbox.push(
      { t: "manifest", e: { end: { k: "Connection", c: {}, p: moved.port1 } }, r: 1 },
      undefined,
      [
        moved.port1,
      ],
    );
    outbox.flush();
    await got;
    assertEquals(failures.length, 1);
    assert(isDataCloneError(failures[0]));
    const envelope = received[0] as { f: { t: string; e: { end: { p: unknown } } }[] };
    assertEquals(envelope.f[0]!.t, "manifest");
    assertInstanceOf(envelope.f[0]!.e.end.p, MessagePort);
    (envelope.f[0]!.e.end.p as MessagePort).close();
  } finally {
    port1.close();
    port2.close();
    moved.port1.close();
    moved.port2.close();
  }
});
