/**
 * `Process` (P-1..P-6) with real worker threads: targets that return, throw,
 * fail to load, end themselves, are terminated; arguments holding primitives
 * at any depth; holds released when a process ends; daemon and non-daemon
 * processes in a program run as a subprocess. No test asserts a duration.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { Event, Lock, Queue, Semaphore } from "../mod.ts";
import {
  Connection,
  currentProcess,
  Pipe,
  PipeClosed,
  Process,
  type ProcessOptions,
  release,
  wait,
} from "@baton/baton/worker";

/**
 * The platform's own `MessageChannel`, kept before a process loads `node:worker_threads` (Deno then
 * replaces the global with one whose ports report a closed peer): ports that tell nothing.
 */
const WebMessageChannel = globalThis.MessageChannel;

const TARGETS = new URL("./fixtures/process/targets.ts", import.meta.url);
const PRODUCER = new URL("./fixtures/process/producer.ts", import.meta.url);

/** Silences the child's report of a failure on stderr while `run` runs. */
async function quietly<T>(run: () => Promise<T>): Promise<T> {
  return await run();
}

Deno.test("P-1/P-3: a target that puts 1,000 items and returns: all present after join, 20 times", async () => {
  for (let round = 0; round < 20; round++) {
    const jobs = new Queue<number>();
    const producer = new Process<typeof import("./fixtures/process/producer.ts").default>(
      PRODUCER,
      { args: [jobs, 1_000] },
    );
    producer.start();
    assertEquals(await producer.join(), 0);
    assertEquals(producer.exitCode, 0);
    assertEquals(jobs.qsize(), 1_000, `round ${round}`);
    for (let i = 0; i < 1_000; i++) assertEquals(jobs.getNowait(), i);
  }
});

Deno.test("P-1/P-3: a producer process through a bounded queue, consumed while it runs", async () => {
  const jobs = new Queue<number>(10);
  const producer = new Process(PRODUCER, { args: [jobs, 500], name: "producer" });
  producer.start();
  assert(producer.isAlive());
  const got: number[] = [];
  for (let i = 0; i < 500; i++) got.push(await jobs.get());
  assertEquals(await producer.join(), 0);
  assertEquals(got, Array.from({ length: 500 }, (_, i) => i));
  assertEquals(producer.isAlive(), false);
  assertEquals(jobs.qsize(), 0);
});

Deno.test("P-2: exitCode is null before start and while running; 0 when the target returned", async () => {
  const started = new Event();
  const child = new Process(TARGETS, { args: ["forever", started] });
  assertEquals(child.exitCode, null);
  child.start();
  await started.wait();
  assertEquals(child.exitCode, null);
  assertEquals(await child.join({ timeout: 0 }), null);
  child.terminate();
  assertEquals(await child.join(), -15);
  const ok = new Process(TARGETS, { args: ["return"] });
  ok.start();
  assertEquals(await ok.join(), 0);
  assertEquals(ok.error, undefined);
});

for (
  const [mode, Class, text] of [
    ["throw", RangeError, "target failed on purpose"],
    ["reject", TypeError, "target rejected on purpose"],
    ["uncaught", SyntaxError, "uncaught on purpose"],
    ["unhandled", EvalError, "unhandled on purpose"],
  ] as const
) {
  Deno.test(`P-2/P-6: a target that ends by "${mode}" gives exit code 1 and the error, rebuilt`, async () => {
    const child = new Process(TARGETS, { args: [mode] });
    child.start();
    assertEquals(await quietly(() => child.join()), 1);
    assertEquals(child.exitCode, 1);
    const error = child.error;
    assert(error instanceof Class, String(error));
    assertEquals(error?.message, text);
  });
}

Deno.test("P-2/P-6: a module that fails to load, or has no default-exported function, gives 1", async () => {
  const broken = new Process(new URL("./fixtures/process/broken.ts", import.meta.url));
  broken.start();
  assertEquals(await broken.join(), 1);
  assertInstanceOf(broken.error, URIError);
  const missing = new Process(new URL("./fixtures/process/missing.ts", import.meta.url));
  missing.start();
  assertEquals(await missing.join(), 1);
  assertInstanceOf(missing.error, Error);
  const noDefault = new Process(new URL("./fixtures/process/no_default.ts", import.meta.url));
  noDefault.start();
  assertEquals(await noDefault.join(), 1);
  const error = noDefault.error;
  assert(error instanceof TypeError, String(error));
  assert(error?.message.includes("no default-exported function"), error?.message);
});

Deno.test("P-6: a child that closes itself before its target settled gives 1 with an error", async () => {
  const child = new Process(TARGETS, { args: ["close-self"] });
  child.start();
  assertEquals(await child.join(), 1);
  assert(child.error?.message.includes("ended before its target settled"), child.error?.message);
});

Deno.test("P-5/W-9: terminate() mid-put gives -15, the queue keeps a prefix in order, slots exact", async () => {
  const jobs = new Queue<number>(4);
  const child = new Process(TARGETS, { args: ["put-forever", jobs] });
  child.start();
  const got: number[] = [];
  for (let i = 0; i < 50; i++) got.push(await jobs.get());
  child.terminate();
  assertEquals(await child.join(), -15);
  assertEquals(child.exitCode, -15);
  assertEquals(child.isAlive(), false);
  while (!jobs.empty()) got.push(jobs.getNowait());
  assertEquals(got, Array.from({ length: got.length }, (_, i) => i));
  // every slot is free again: nothing is held for the dead process
  for (let i = 0; i < 4; i++) jobs.putNowait(-1);
  assertEquals(jobs.full(), true);
});

for (const end of ["returns", "is terminated"]) {
  Deno.test(`P-3/W-9: a process that ${end} holding a Lock and permits passed to it: both are released when join resolves`, async () => {
    const lock = new Lock();
    const permits = new Semaphore(2);
    const acquired = new Event();
    const errors: unknown[] = [];
    const child = new Process(TARGETS, {
      args: ["hold", lock, permits, acquired],
      onError: (error) => errors.push(error),
    });
    child.start();
    await acquired.wait();
    assertEquals(lock.locked(), true);
    assertEquals(permits.value, 1);
    if (end === "is terminated") child.terminate();
    assertEquals(await child.join(), end === "returns" ? 0 : -15);
    // No turn in between: released by the time join resolved.
    assertEquals([lock.locked(), permits.value], [false, 2]);
    assert(errors.length >= 1, "the releases are reported");
  });
}

Deno.test("P-1: primitives at any depth of args (arrays, objects, Maps) arrive as working proxies", async () => {
  const event = new Event();
  const out = new Queue<string>();
  const child = new Process(TARGETS, {
    args: ["nested", { box: [event, new Map([["out", out]])] }],
  });
  child.start();
  assertEquals(await child.join(), 0);
  assertEquals(event.isSet(), true);
  assertEquals(out.getNowait(), "from the child");
});

Deno.test("P-1: other values are structured-cloned; an uncloneable argument makes start() throw DataCloneError", async () => {
  const out = new Queue<unknown>();
  const value = { when: new Date(0), list: [1, 2n, "x"], map: new Map([[1, { deep: true }]]) };
  const child = new Process(TARGETS, { args: ["data", out, value] });
  child.start();
  assertEquals(await child.join(), 0);
  assertEquals(out.getNowait(), value);
  const bad = new Process(TARGETS, { args: ["data", out, () => 1] });
  const error = assertThrows(() => bad.start());
  assertInstanceOf(error, DOMException);
  assertEquals(error.name, "DataCloneError");
  assertEquals(bad.isAlive(), false);
});

Deno.test("P-6: a pipe end in args moves to the child; the parent reads what it sent", async () => {
  const [receiver, sender] = Pipe<never, number>({ duplex: false });
  const child = new Process(TARGETS, { args: ["pipe", sender, 5] });
  child.start();
  assertEquals(sender.closed, true, "the parent's copy is closed");
  const got: number[] = [];
  for (let i = 0; i < 5; i++) got.push(await receiver.recv({ timeout: 20_000 }));
  assertEquals(got, [0, 1, 2, 3, 4]);
  assertEquals(await child.join(), 0);
  receiver.close();
});

Deno.test("P-4: name defaults to Process-N, daemon to false; currentProcess() in the child and here", async () => {
  const names = new Queue<string>();
  const a = new Process(TARGETS, { args: ["name", names] });
  const b = new Process(TARGETS, { args: ["name", names], name: "worker-b", daemon: true });
  assert(/^Process-\d+$/.test(a.name), a.name);
  assertEquals(a.daemon, false);
  assertEquals(b.daemon, true);
  a.start();
  b.start();
  assertEquals(await a.join(), 0);
  assertEquals(await b.join(), 0);
  assertEquals(
    new Set([names.getNowait(), names.getNowait()]),
    new Set([`${a.name} false`, "worker-b true"]),
  );
  assertEquals(currentProcess().name, "MainProcess");
  assertThrows(() => (a.daemon = true), Error);
});

Deno.test("P-6: start() twice and join() or terminate() before start() throw Error", async () => {
  const child = new Process(TARGETS, { args: ["return"] });
  assertThrows(() => child.join(), Error, "not started");
  assertThrows(() => child.terminate(), Error, "not started");
  child.start();
  assertThrows(() => child.start(), Error, "already started");
  assertEquals(await child.join(), 0);
  assertThrows(() => new Process(42 as unknown as string), TypeError);
  assertThrows(() => new Process(TARGETS, { args: "x" as unknown as [] }), TypeError);
});

Deno.test("P-6: join takes WaitOptions: negative timeout RangeError, abort rejects with the reason, also once the process ended", async () => {
  const started = new Event();
  const child = new Process(TARGETS, { args: ["forever", started] });
  child.start();
  await started.wait();
  await assertRejects(() => child.join({ timeout: -1 }), RangeError);
  await assertRejects(() => child.join({ timeout: NaN }), RangeError);
  const controller = new AbortController();
  const joined = child.join({ signal: controller.signal });
  controller.abort(new Error("stop waiting"));
  await assertRejects(() => joined, Error, "stop waiting");
  const already = AbortSignal.abort(new Error("already"));
  await assertRejects(() => child.join({ signal: already }), Error, "already");
  assertEquals(await child.join({ timeout: 1 }), null);
  child.terminate();
  assertEquals(await child.join(), -15);
  child.terminate(); // does nothing once ended
  // Ended, so join could resolve at once: an already aborted signal still rejects (Conventions).
  const late = AbortSignal.abort(new Error("aborted before the join"));
  await assertRejects(() => child.join({ signal: late }), Error, "aborted before the join");
  assertEquals(await child.join({ signal: new AbortController().signal }), -15);
});

Deno.test("P-5: await using terminates a live process and waits for it", async () => {
  const started = new Event();
  let child: Process | undefined;
  {
    await using running = new Process(TARGETS, { args: ["forever", started] });
    child = running;
    running.start();
    await started.wait();
  }
  assertEquals(child.exitCode, -15);
  assertEquals(child.isAlive(), false);
});

async function runProgram(
  mode: "daemon" | "non-daemon",
): Promise<{ exited: boolean; out: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./fixtures/process/daemon_program.ts", import.meta.url).pathname,
      mode,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const child = command.spawn();
  const reader = child.stdout.getReader();
  let out = "";
  const decoder = new TextDecoder();
  while (!out.includes("started")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value);
  }
  // Give the program time to exit by itself; a daemon's does at once, a non-daemon's never.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    child.status,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), mode === "daemon" ? 20_000 : 1_500);
    }),
  ]);
  clearTimeout(timer);
  const exited = status !== undefined;
  if (!exited) child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  return { exited, out };
}

Deno.test("P-4: a daemon process looping forever does not keep its program alive", async () => {
  const { exited, out } = await runProgram("daemon");
  assert(out.includes("started"), out);
  assert(exited, "the program exited by itself");
});

Deno.test("P-4: a non-daemon process keeps its program alive until it ends", async () => {
  const { exited, out } = await runProgram("non-daemon");
  assert(out.includes("started"), out);
  assertEquals(exited, false, "the program waited for its process");
});

Deno.test("P-1: args are typed from the target: a wrong argument is a type error", () => {
  type Target = typeof import("./fixtures/process/producer.ts").default;
  const right: ProcessOptions<Target> = { args: [new Queue<number>(), 1] };
  // @ts-expect-error the target takes a queue of numbers and a count
  const wrong: ProcessOptions<Target> = { args: [new Queue<number>(), "many"] };
  // @ts-expect-error an Event where the target takes a queue
  const wrongKind: ProcessOptions<Target> = { args: [new Event(), 1] };
  assertEquals([right.args?.length, wrong.args?.length, wrongKind.args?.length], [2, 2, 2]);
});

Deno.test("M-1/M-2: wait() over processes resolves with those that ended, by identity; [] on timeout", async () => {
  const started = new Event();
  const forever = new Process(TARGETS, { args: ["forever", started] });
  const quick = new Process(TARGETS, { args: ["return"] });
  forever.start();
  quick.start();
  await started.wait();
  const ready = await wait([forever, quick]);
  assertEquals(ready, [quick]);
  assertEquals(await wait([forever], { timeout: 0 }), []);
  assertEquals(forever.isAlive(), true);
  forever.terminate();
  assertEquals(await wait([forever, quick]), [forever, quick]);
  const notStarted = new Process(TARGETS, { args: ["return"] });
  await assertRejects(() => wait([notStarted]), Error, "not started");
});

Deno.test("P-1/P-6: a module given as a URL string; bad names and onError throw TypeError", async () => {
  const child = new Process(TARGETS.href, { args: ["return"] });
  child.start();
  assertEquals(await child.join(), 0);
  assertThrows(() => new Process(TARGETS, { name: 7 as unknown as string }), TypeError);
  assertThrows(
    () => new Process(TARGETS, { onError: "log" as unknown as (error: unknown) => void }),
    TypeError,
  );
});

Deno.test("P-5: terminate() right after start(), before the worker exists, gives -15", async () => {
  const child = new Process(TARGETS, { args: ["return"] });
  child.start();
  child.terminate();
  assertEquals(await child.join(), -15);
  assertEquals(child.isAlive(), false);
  await assertRejects(
    () => child.join({ signal: AbortSignal.abort(new Error("aborted before")) }),
    Error,
    "aborted before",
  );
});

Deno.test("P-1: one primitive at several places of args, shared objects, Sets and null-prototype objects keep their shape", async () => {
  const event = new Event();
  const out = new Queue<string>();
  const shared = { event };
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { out });
  const child = new Process(TARGETS, {
    args: [
      "nested",
      { box: [event, new Map([["out", out]])] },
      shared,
      shared,
      new Set([event]),
      bare,
    ],
  });
  child.start();
  assertEquals(await child.join(), 0, String(child.error));
  assertEquals(event.isSet(), true);
  assertEquals(out.getNowait(), "from the child");
});

Deno.test("P-4/P-5: daemon can be set before start; await using a process never started does nothing", async () => {
  const child = new Process(TARGETS, { args: ["return"] });
  child.daemon = true;
  assertEquals(child.daemon, true);
  {
    await using unused = new Process(TARGETS, { args: ["return"] });
    assertEquals(unused.exitCode, null);
  }
  child.start();
  assertEquals(await child.join(), 0);
  assertEquals(await child.join({ signal: new AbortController().signal }), 0, "ended: at once");
});

Deno.test("P-1: plain data shaped like baton's own argument token arrives as the data it is", async () => {
  const out = new Queue<unknown>();
  class Box {
    "@baton:arg" = "a0";
  }
  const values: [unknown, unknown][] = [
    [{ "@baton:arg": "a0" }, { "@baton:arg": "a0" }], // the name `out` is served under
    [{ "@baton:arg": "a9" }, { "@baton:arg": "a9" }], // a name nothing is served under
    [[{ "@baton:arg": "a0" }, out], [{ "@baton:arg": "a0" }, "a proxy"]],
    [new Map([["k", { "@baton:arg": "a0" }]]), new Map([["k", { "@baton:arg": "a0" }]])],
    [{ inside: new Box() }, { inside: { "@baton:arg": "a0" } }], // a class instance arrives plain
  ];
  for (const [value, expected] of values) {
    const child = new Process(TARGETS, { args: ["data", out, value] });
    child.start();
    assertEquals(await child.join(), 0, String(child.error));
    const got = out.getNowait();
    if (Array.isArray(expected) && expected[1] === "a proxy") {
      const [data, proxy] = got as [unknown, unknown];
      assertEquals(data, expected[0]);
      assert(typeof proxy === "object" && proxy !== null && "put" in proxy, "the queue's proxy");
      await release(proxy);
    } else {
      assertEquals(got, expected);
    }
  }
});

Deno.test("P-5/P-6: terminate() before the worker exists closes the pipe end it took: its peer's recv rejects PipeClosed", async () => {
  const [receiver, sender] = Pipe<never, number>({ duplex: false });
  const child = new Process(TARGETS, { args: ["pipe", sender, 3] });
  child.start();
  assertEquals(sender.closed, true, "the parent's copy moved at start()");
  child.terminate();
  assertEquals(await child.join(), -15);
  await assertRejects(() => receiver.recv({ timeout: 20_000 }), PipeClosed);
  receiver.close();
});

Deno.test("P-6: a target that returns without closing its pipe end: the parent reads what it sent, then PipeClosed", async () => {
  // Ports that do not report a closed peer: the process's end must say it closed.
  const { port1, port2 } = new WebMessageChannel();
  const receiver = Connection.fromPort<never, number>(port1, { writable: false });
  const sender = Connection.fromPort<number, never>(port2, { readable: false });
  const child = new Process(TARGETS, { args: ["pipe-open", sender, 3] });
  child.start();
  assertEquals(await child.join(), 0, String(child.error));
  const got: number[] = [];
  for (let i = 0; i < 3; i++) got.push(await receiver.recv({ timeout: 20_000 }));
  assertEquals(got, [0, 1, 2]);
  await assertRejects(() => receiver.recv({ timeout: 20_000 }), PipeClosed);
  receiver.close();
});

Deno.test("P-6: a pipe end that reached a process inside an item closes when its target returns", async () => {
  const { port1, port2 } = new WebMessageChannel();
  const receiver = Connection.fromPort<never, number>(port1, { writable: false });
  const sender = Connection.fromPort<number, never>(port2, { readable: false });
  const jobs = new Queue<[Connection<number, never>]>();
  jobs.putNowait([sender]);
  const child = new Process(TARGETS, { args: ["pipe-item", jobs, 3] });
  child.start();
  assertEquals(await child.join(), 0, String(child.error));
  assertEquals(sender.closed, true, "the end moved with the item");
  const got: number[] = [];
  for (let i = 0; i < 3; i++) got.push(await receiver.recv({ timeout: 20_000 }));
  assertEquals(got, [0, 1, 2]);
  await assertRejects(() => receiver.recv({ timeout: 20_000 }), PipeClosed);
  receiver.close();
});
