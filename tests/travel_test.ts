/**
 * W-14: primitives travel. A baton primitive, a remote proxy of one, or a
 * pipe end anywhere in an item put into a served queue, returned by a remote
 * get, sent through a Pipe, or passed to a Process arrives as a working
 * proxy of the same primitive; dropped proxies release their ports.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  Barrier,
  Condition,
  Event,
  Lock,
  PriorityQueue,
  Queue,
  QueueShutDown,
  Semaphore,
} from "../mod.ts";
import {
  connect,
  LinkClosed,
  Pipe,
  PipeClosed,
  Process,
  release,
  type RemoteBarrier,
  type RemoteCondition,
  type RemoteEvent,
  type RemoteLock,
  type RemoteQueue,
  type RemoteSemaphore,
  serve,
  wait,
} from "@baton/baton/worker";
import { liveTravelled } from "../src/worker/travel_proxy.ts";
import { liveTravelLinks } from "../src/worker/owner_side.ts";
import { until } from "./fixtures/agent.ts";

/** A queue served over a MessageChannel, its remote proxy, and a cleanup. */
async function servedQueue<T>() {
  const { port1, port2 } = new MessageChannel();
  const queue = new Queue<T>();
  const link = serve(port1, { queue });
  const remote = await connect<{ queue: Queue<T> }>(port2);
  return {
    queue,
    proxy: remote.queue,
    async close() {
      await remote.close();
      // The owner reads the goodbye (and the acks before it) first: closing its link before
      // that would give back, as unacknowledged, what the remote code took (W-8).
      await until(() => link.closed);
      link.close();
      port1.close();
      port2.close();
    },
  };
}

/** Waits until every travelled proxy and travel link of this thread is closed. */
async function settled(): Promise<void> {
  for (let i = 0; i < 2_000 && (liveTravelled() > 0 || liveTravelLinks() > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assertEquals([liveTravelled(), liveTravelLinks()], [0, 0], "nothing left open");
}

Deno.test("W-14: an Event inside an item put through a served queue arrives as a working proxy, at any depth", async () => {
  const served = await servedQueue<unknown>();
  const done = new Event();
  const set = new Set<unknown>([done]);
  await served.proxy.put([1, done, { deep: new Map([["e", done]]), set }]);
  const [n, proxy, { deep, set: arrived }] = await served.proxy.get() as [
    number,
    RemoteEvent,
    { deep: Map<string, RemoteEvent>; set: Set<RemoteEvent> },
  ];
  assertEquals(n, 1);
  assert(proxy === deep.get("e") && arrived.has(proxy), "one primitive, one proxy");
  assertEquals(await proxy.isSet(), false);
  await proxy.set();
  assertEquals(done.isSet(), true);
  await release(proxy);
  await assertRejects(() => proxy.isSet(), LinkClosed);
  await served.close();
  await settled();
});

Deno.test("W-14: a Queue, Lock, Semaphore and Condition travel and work through their proxies", async () => {
  const served = await servedQueue<unknown>();
  const inner = new Queue<string>(2);
  const lock = new Lock();
  const permits = new Semaphore(2);
  const cond = new Condition();
  await served.proxy.put({ inner, lock, permits, cond });
  const got = await served.proxy.get() as {
    inner: RemoteQueue<string>;
    lock: RemoteLock;
    permits: RemoteSemaphore;
    cond: RemoteCondition;
  };
  assertEquals(got.inner.maxsize, 2);
  await got.inner.put("through the travelled queue");
  assertEquals(await inner.get({ timeout: 10_000 }), "through the travelled queue");
  await inner.put("back", { timeout: 10_000 }); // the proxy holds put credits: a local put waits for them
  assertEquals(await got.inner.get(), "back");
  assertEquals(await got.lock.acquire(), true);
  assertEquals(lock.locked(), true);
  await got.lock.release();
  assertEquals(lock.locked(), false);
  assertEquals(await got.permits.acquire(), true);
  assertEquals(permits.value, 1);
  await got.permits.release();
  await got.cond.acquire();
  assertEquals(cond.locked(), true);
  await got.cond.release();
  for (const proxy of Object.values(got)) await release(proxy);
  await served.close();
  await settled();
});

Deno.test("W-14/W-9: a travelled Lock proxy released while it holds the lock: the owner releases it", async () => {
  const served = await servedQueue<unknown>();
  const lock = new Lock();
  await served.proxy.put([lock]);
  const [proxy] = await served.proxy.get() as [RemoteLock];
  await proxy.acquire();
  assertEquals(lock.locked(), true);
  await release(proxy);
  assertEquals(await lock.acquire({ timeout: 5_000 }), true, "the next acquire gets it");
  lock.release();
  await served.close();
  await settled();
});

Deno.test("W-14/P-6: a used proxy passed on is a copy: both work and talk to the owner", async () => {
  const served = await servedQueue<unknown>();
  const done = new Event();
  await served.proxy.put([done]);
  const [first] = await served.proxy.get() as [RemoteEvent];
  assertEquals(await first.isSet(), false); // used: connected
  await served.proxy.put([first]);
  const [second] = await served.proxy.get() as [RemoteEvent];
  await second.set();
  assertEquals(done.isSet(), true);
  assertEquals(await first.isSet(), true, "the sender's proxy keeps working");
  await release(first);
  await release(second);
  await served.close();
  await settled();
});

Deno.test("W-14/P-6: a proxy passed on before it was used here is a copy: the sender's keeps working, the receiver's outlives it", async () => {
  const served = await servedQueue<unknown>();
  const done = new Event();
  await served.proxy.put([done]);
  const [first] = await served.proxy.get() as [RemoteEvent];
  await served.proxy.put([first]); // never used here
  const [second] = await served.proxy.get() as [RemoteEvent];
  assertEquals(await within(first.isSet(), 20_000), false, "the sender's proxy keeps working");
  await release(first);
  await within(second.set(), 20_000);
  assertEquals(done.isSet(), true);
  await release(second);
  await served.close();
  await settled();
});

Deno.test("W-8/W-14: an item holding a proxy, sent ahead to a consumer that gives it back, works for the next taker", async () => {
  for (const next of ["remote", "local"] as const) {
    const served = await servedQueue<unknown>();
    const done = new Event();
    const second = await aheadWith(served, [done]);
    await second.ahead.close(); // gives it back
    await until(() => second.link.closed);
    second.link.close();
    await until(() => served.queue.qsize() === 1);
    const [proxy] =
      (next === "remote" ? await within(served.proxy.get(), 20_000) : served.queue.getNowait()) as [
        RemoteEvent,
      ];
    await within(proxy.set(), 20_000);
    assertEquals(done.isSet(), true, `taken ${next}ly`);
    await release(proxy);
    second.close();
    await served.close();
    await settled();
  }
});

Deno.test("W-14: a queue that only passes items with proxies on keeps none of them open once the takers' code took them", async () => {
  const served = await servedQueue<unknown>();
  const events = Array.from({ length: 50 }, () => new Event());
  for (const event of events) await served.proxy.put([event]);
  await until(() => served.queue.qsize() === events.length);
  assertEquals(liveTravelled(), events.length, "the queue's, one per item, while they wait");
  const taken: RemoteEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    taken.push(...await within(served.proxy.get(), 20_000) as [RemoteEvent]);
  }
  // The acks reach the owner: only the takers' proxies are left.
  await until(() => liveTravelled() === events.length);
  assertEquals(served.queue.qsize(), 0);
  for (const proxy of taken) await within(proxy.set(), 20_000);
  assert(events.every((event) => event.isSet()));
  for (const proxy of taken) await release(proxy);
  assertEquals(liveTravelled(), 0);
  await served.close();
  await settled();
});

Deno.test("W-14/P-6: an item with a proxy taken here and put back goes on as a copy: the proxy taken here keeps working", async () => {
  const served = await servedQueue<unknown>();
  const done = new Event();
  await served.proxy.put([done]);
  await until(() => served.queue.qsize() === 1);
  const item = served.queue.getNowait() as [RemoteEvent];
  served.queue.putNowait(item); // the same item, back in the queue, from code here
  const [second] = await within(served.proxy.get(), 20_000) as [RemoteEvent];
  await within(second.set(), 20_000);
  assertEquals(done.isSet(), true);
  assertEquals(await within(item[0].isSet(), 20_000), true, "the proxy taken here keeps working");
  await release(item[0]);
  await release(second);
  await served.close();
  await settled();
});

Deno.test("W-14: a Lock inside a Pipe message, and a pipe end inside a queue item", async () => {
  const [a, b] = Pipe<unknown, unknown>();
  const lock = new Lock();
  a.send({ lock, n: 1 });
  const message = await b.recv() as { lock: RemoteLock; n: number };
  assertEquals(await message.lock.acquire(), true);
  assertEquals(lock.locked(), true);
  await message.lock.release();
  await release(message.lock);
  a.close();
  b.close();

  const served = await servedQueue<unknown>();
  const [receiver, sender] = Pipe<never, string>({ duplex: false });
  await served.proxy.put({ sender });
  const { sender: moved } = await served.proxy.get() as { sender: typeof sender };
  assertEquals(sender.closed, true, "the pipe end moved once the item was sent");
  moved.send("through the moved end");
  assertEquals(await receiver.recv({ timeout: 10_000 }), "through the moved end");
  moved.close();
  receiver.close();
  await served.close();
  await settled();
});

Deno.test("W-14/W-3: an item with a primitive and something uncloneable rejects its put; nothing is left open", async () => {
  const served = await servedQueue<unknown>();
  await assertRejects(
    () => served.proxy.put([new Event(), () => 1]),
    DOMException,
  );
  const channel = new MessageChannel();
  await assertRejects(() => served.proxy.put({ event: new Event(), port: channel.port1 }));
  channel.port1.close();
  channel.port2.close();
  assertEquals(served.queue.qsize(), 0);
  await served.close();
  await settled();
});

Deno.test("W-14: the Cookbook handshake across processes: q.put([data, evt]) then await evt.wait()", async () => {
  const jobs = new Queue<[number, Event]>();
  const log = new Queue<string>();
  const producer = new Process(
    new URL("./fixtures/travel/handshake_producer.ts", import.meta.url),
    {
      args: [jobs, 3, log],
    },
  );
  const consumer = new Process(
    new URL("./fixtures/travel/handshake_consumer.ts", import.meta.url),
    {
      args: [jobs, 3, log],
    },
  );
  producer.start();
  consumer.start();
  assertEquals(await producer.join(), 0, String(producer.error));
  assertEquals(await consumer.join(), 0, String(consumer.error));
  const lines: string[] = [];
  while (!log.empty()) lines.push(log.getNowait());
  // Each side's own lines arrive in its order (one link each); the producer returned, so every
  // evt.wait() returned, and only the consumer, holding the travelled Event, could set it.
  const mine = (prefix: string) => lines.filter((line) => line.startsWith(prefix));
  assertEquals(mine("processed"), ["processed 1", "processed 2", "processed 3"]);
  const producerLines = lines.filter((line) => !line.startsWith("processed"));
  assertEquals(producerLines, [
    "sent 1",
    "confirmed 1",
    "sent 2",
    "confirmed 2",
    "sent 3",
    "confirmed 3",
  ]);
});

Deno.test("W-14: travelled Events dropped without release are collected: proxies, links and heap stay flat", async () => {
  // A run of 100,000 with the program itself is recorded in bench/RESULTS.md.
  const total = Deno.env.get("BATON_DEEP") === "1" ? 20_000 : 5_000;
  const every = total / 5;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./fixtures/travel/leak_program.ts", import.meta.url).pathname,
      String(total),
      String(every),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(output.code, 0);
  const samples = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    n: number;
    proxies: number;
    links: number;
    heap: number;
  }[];
  assertEquals(samples.length, 5);
  for (const sample of samples) {
    assert(sample.proxies <= 10, `proxies left open at ${sample.n}: ${sample.proxies}`);
    assert(sample.links <= 10, `links left open at ${sample.n}: ${sample.links}`);
  }
  const growth = samples.at(-1)!.heap - samples[1]!.heap;
  assert(
    growth < 8 * 1024 * 1024,
    `heap grew by ${growth} bytes from ${samples[1]!.n} to ${total}`,
  );
});

Deno.test("W-14/P-6: a remote proxy in a Process's args is a copy: the child's talks to the owner, the sender's keeps working", async () => {
  const { port1, port2 } = new MessageChannel();
  const done = new Event();
  const link = serve(port1, { done });
  const remote = await connect<{ done: Event }>(port2);
  const child = new Process(new URL("./fixtures/process/targets.ts", import.meta.url), {
    args: ["set", remote.done],
  });
  child.start();
  assertEquals(await child.join(), 0, String(child.error));
  assertEquals(done.isSet(), true);
  assertEquals(await remote.done.isSet(), true, "the sender's proxy keeps working");
  await remote.close();
  link.close();
  port1.close();
  port2.close();
  await settled();
});

Deno.test("W-14: a travelled queue iterates with for await (given up before its first step, it takes nothing), reads as a stream, and wait() sees it ready (M-1)", async () => {
  const served = await servedQueue<unknown>();
  const inner = new Queue<number>();
  await served.proxy.put({ inner });
  const { inner: proxy } = await served.proxy.get() as { inner: RemoteQueue<number> };
  assertEquals(await wait([proxy], { timeout: 0 }), []);
  inner.putNowait(1);
  assertEquals(await wait([proxy], { timeout: 10_000 }), [proxy]);
  inner.putNowait(2);
  inner.putNowait(3);
  inner.shutdown();
  // An iteration given up before its first step takes nothing.
  const early = proxy[Symbol.asyncIterator]();
  assertEquals(await early.return!(), { done: true, value: undefined });
  assertEquals(inner.qsize(), 3);
  const seen: number[] = [];
  for await (const n of proxy) {
    seen.push(n);
    if (n === 2) break;
  }
  const rest: number[] = [];
  for await (const n of proxy.toReadableStream()) rest.push(n);
  assertEquals([seen, rest], [[1, 2], [3]]);
  await release(proxy);
  await served.close();
  await settled();
});

Deno.test("W-14: a Barrier travels: its proxy's constants and state, and both sides pass together", async () => {
  const served = await servedQueue<unknown>();
  const barrier = new Barrier(2);
  await served.proxy.put([barrier]);
  const [proxy] = await served.proxy.get() as [RemoteBarrier];
  assertEquals(proxy.parties, 2);
  assertEquals(await proxy.broken, false);
  const [theirs, ours] = await Promise.all([proxy.wait(), barrier.wait()]);
  assertEquals([theirs, ours].sort(), [0, 1]);
  await release(proxy);
  await served.close();
  await settled();
});

Deno.test("W-14: primitives in a Map, a Set and beside a Date travel; shared parts stay shared; deep data stays whole", async () => {
  const served = await servedQueue<unknown>();
  const event = new Event();
  const shared = { event };
  let deep: unknown = "bottom";
  for (let i = 0; i < 600; i++) deep = [deep];
  const when = new Date(0);
  await served.proxy.put(new Map([["e", event]]));
  await served.proxy.put(new Set([event]));
  await served.proxy.put([when, shared, shared, deep, event]);
  const map = await served.proxy.get() as Map<string, RemoteEvent>;
  const set = await served.proxy.get() as Set<RemoteEvent>;
  const [date, a, b, nested, direct] = await served.proxy.get() as [
    Date,
    { event: RemoteEvent },
    { event: RemoteEvent },
    unknown,
    RemoteEvent,
  ];
  assertEquals(date.getTime(), 0);
  assert(a === b && a.event === direct, "one shared object, one proxy");
  let depth = 0;
  for (let part = nested; Array.isArray(part); part = part[0]) depth++;
  assertEquals(depth, 600);
  await map.get("e")!.set();
  assertEquals(event.isSet(), true);
  assertEquals(await [...set][0]!.isSet(), true);
  for (const proxy of [map.get("e"), [...set][0], direct]) await release(proxy);
  await served.close();
  await settled();
});

Deno.test("W-14: an Event travels into a PriorityQueue (puts by call) and back through a direct getNowait answer", async () => {
  const { port1, port2 } = new MessageChannel();
  const queue = new PriorityQueue<[number, Event]>();
  const link = serve(port1, { queue });
  const remote = await connect<{ queue: PriorityQueue<[number, Event]> }>(port2);
  const event = new Event();
  await remote.queue.put([1, event]);
  const [priority, proxy] = await remote.queue.getNowait() as unknown as [number, RemoteEvent];
  assertEquals(priority, 1);
  await proxy.set();
  assertEquals(event.isSet(), true);
  await release(proxy);
  await remote.close();
  link.close();
  port1.close();
  port2.close();
  await settled();
});

Deno.test("W-14: an Event travels into a PriorityQueue by putNowait, in one envelope with another call: both apply, in order", async () => {
  const { port1, port2 } = new MessageChannel();
  const queue = new PriorityQueue<[number, Event]>();
  const link = serve(port1, { queue });
  const remote = await connect<{ queue: PriorityQueue<[number, Event]> }>(port2);
  const event = new Event();
  // Called in one turn: the two calls leave together, the envelope marked as carrying a primitive.
  const put = remote.queue.putNowait([1, event]);
  const size = remote.queue.qsize();
  await put;
  assertEquals(await size, 1); // asked after the put, answered after it
  const [priority, proxy] = queue.getNowait() as unknown as [number, RemoteEvent];
  assertEquals(priority, 1);
  await proxy.set();
  assertEquals(event.isSet(), true);
  await release(proxy);
  await remote.close();
  link.close();
  port1.close();
  port2.close();
  await settled();
});

Deno.test("W-14: a proxy released here and then passed on arrives broken: its calls reject LinkClosed", async () => {
  const served = await servedQueue<unknown>();
  const event = new Event();
  await served.proxy.put([event]);
  const [first] = await served.proxy.get() as [RemoteEvent];
  assertEquals(await first.isSet(), false);
  await release(first);
  await served.proxy.put([first]);
  const [second] = await served.proxy.get() as [RemoteEvent];
  await assertRejects(() => second.isSet(), LinkClosed);
  await release(second);
  await release(42);
  await release({});
  await served.close();
  await settled();
});

Deno.test("W-14: a primitive inside a null-prototype object travels (the object arrives as an ordinary one)", async () => {
  const served = await servedQueue<unknown>();
  const event = new Event();
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { event, n: 1 });
  await served.proxy.put(bare);
  const got = await served.proxy.get() as { event: RemoteEvent; n: number };
  assertEquals(got.n, 1);
  await got.event.set();
  assertEquals(event.isSet(), true);
  await release(got.event);
  await served.close();
  await settled();
});

Deno.test("W-14/P-6: a proxy whose connection was closed, passed on, arrives broken: its calls reject LinkClosed", async () => {
  const served = await servedQueue<unknown>();
  const { port1, port2 } = new MessageChannel();
  const event = new Event();
  const link = serve(port1, { event });
  const remote = await connect<{ event: Event }>(port2);
  const stale = remote.event;
  await remote.close();
  await served.proxy.put([stale]);
  const [proxy] = await served.proxy.get() as [RemoteEvent];
  await assertRejects(() => proxy.set(), LinkClosed);
  assertEquals(event.isSet(), false);
  await release(proxy);
  link.close();
  port1.close();
  port2.close();
  await served.close();
  await settled();
});

Deno.test("W-10/W-14: an attach frame for a name not served here is refused and reported; its port is closed", async () => {
  const { port1, port2 } = new MessageChannel();
  const errors: unknown[] = [];
  const link = serve(port1, { event: new Event() }, { onError: (error) => errors.push(error) });
  const extra = new MessageChannel();
  port2.postMessage(
    {
      "@baton": 2,
      peer: "forged",
      seq: 0,
      frames: [{ type: "attach", name: "nope", port: extra.port1 }],
    },
    [extra.port1],
  );
  for (let i = 0; i < 200 && errors.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assertEquals(errors.length, 1);
  assert(String(errors[0]).includes("cannot travel from here"), String(errors[0]));
  link.close();
  port1.close();
  port2.close();
  extra.port2.close();
});

Deno.test("W-15: an endpoint with postMessage but neither addEventListener nor on/off is refused with TypeError", () => {
  const endpoint = { postMessage() {} } as unknown as MessagePort;
  assertThrows(() => serve(endpoint, {}), TypeError, "addEventListener");
});

Deno.test("W-10/W-14: a travel envelope with a token that does not fit, or a frame that is not an object, is reported", async () => {
  const { port1, port2 } = new MessageChannel();
  const errors: unknown[] = [];
  const queue = new Queue<unknown>();
  const link = serve(port1, { queue }, { onError: (error) => errors.push(error) });
  port2.postMessage({
    "@baton": 2,
    peer: "forged",
    seq: 0,
    travel: true,
    frames: [7, {
      type: "put",
      name: "queue",
      items: [{ "@baton:travel": 1, kind: "Nope", port: 1 }],
    }],
  });
  for (let i = 0; i < 200 && errors.length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert(errors.some((error) => String(error).includes("does not fit")), errors.join("; "));
  assertEquals(queue.qsize(), 0, "a put without credit changes nothing");
  link.close();
  port1.close();
  port2.close();
});

Deno.test("P-2/P-1: an exit report of another shape, and an argument token that is not a name, are not taken for baton's", async () => {
  const { readExitReport } = await import("../src/worker/_process_wire.ts");
  const { decodeArgs } = await import("../src/worker/_process_args.ts");
  assertEquals(readExitReport({ "@baton:exit": 2 }), undefined);
  assertEquals(readExitReport(null), undefined);
  assertEquals(readExitReport({ "@baton:exit": 0 }), { "@baton:exit": 0 });
  const odd = { "@baton:arg:k": 5 };
  assertEquals(decodeArgs([odd], {}, "@baton:arg:k"), [odd]);
  assertThrows(
    () => decodeArgs([{ "@baton:arg:k": "a9" }], {}, "@baton:arg:k"),
    Error,
    "did not arrive",
  );
});

Deno.test("M-1: a queue's readiness refuses a negative timeout with RangeError", async () => {
  const { queueReady } = await import("../src/worker/wait.ts");
  await assertRejects(() => queueReady(new Queue<unknown>(), { timeout: -1 }), RangeError);
});

/** `promise`, or a `TimeoutError` rejection after `ms` (a bound on a failure, never a measure). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DOMException("no answer", "TimeoutError")), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("W-14: a proxy whose name closed (other links stay) passed on: its receiver's calls reject LinkClosed, the owner reports nothing", async () => {
  const served = await servedQueue<unknown>();
  const { port1, port2 } = new MessageChannel();
  const errors: unknown[] = [];
  const event = new Event();
  const onError = (error: unknown) => errors.push(error);
  const eventLink = serve(port1, { event }, { onError });
  const otherLink = serve(port1, { other: new Event() }, { onError });
  const remote = await connect<{ event: Event; other: Event }>(port2);
  assertEquals(await remote.event.isSet(), false);
  eventLink.close();
  await assertRejects(() => remote.event.isSet(), LinkClosed);
  assertEquals(await remote.other.isSet(), false, "the other link still works");
  await served.proxy.put([remote.event]);
  const [proxy] = await served.proxy.get() as [RemoteEvent];
  await assertRejects(() => within(proxy.set(), 20_000), LinkClosed);
  assertEquals(await remote.other.isSet(), false, "a round trip after the attach");
  assertEquals(errors.map(String), []);
  await release(proxy);
  await remote.close();
  otherLink.close();
  port1.close();
  port2.close();
  await served.close();
  await settled();
});

Deno.test("W-14: cycles: an item that holds itself and a primitive arrives with the same shape, one proxy", async () => {
  const served = await servedQueue<unknown>();
  const event = new Event();
  const item: Record<string, unknown> = { event };
  item.self = item;
  item.list = [item, event];
  await served.proxy.put(item);
  const got = await served.proxy.get() as { event: RemoteEvent; self: unknown; list: unknown[] };
  assert(got.self === got && got.list[0] === got && got.list[1] === got.event, "the shape");
  await got.event.set();
  assertEquals(event.isSet(), true);
  const [a, b] = Pipe<unknown, unknown>();
  a.send(item);
  const sent = await b.recv() as typeof got;
  assert(sent.self === sent && sent.list[1] === sent.event, "the shape through a pipe");
  assertEquals(await sent.event.isSet(), true);
  await release(got.event);
  await release(sent.event);
  a.close();
  b.close();
  await served.close();
  await settled();
});

Deno.test("W-3/W-14: a pipe end that has received and whose other end then closed cannot move: put, send and transfer() refuse it, nothing else is lost", async () => {
  const served = await servedQueue<unknown>();
  const [a, b] = Pipe<number, number>();
  a.send(1);
  assertEquals(await b.recv(), 1); // b has started receiving
  a.close();
  await assertRejects(() => b.recv(), PipeClosed); // and heard the close
  await served.proxy.put("before");
  const refused = await served.proxy.put([b]).then(() => "resolved", (error) => error);
  assert(refused instanceof DOMException && refused.name === "DataCloneError", String(refused));
  await served.proxy.put("after");
  assertEquals(await within(served.proxy.get(), 20_000), "before");
  assertEquals(await within(served.proxy.get(), 20_000), "after");
  const [c, d] = Pipe<unknown, unknown>();
  assertThrows(() => c.send({ b }), DOMException);
  assertThrows(() => b.transfer(), Error, "started receiving");
  b.close();
  c.close();
  d.close();
  await served.close();
  await settled();
});

Deno.test("W-14: a pipe end that arrived with its other end gone travels on as such: the item arrives", async () => {
  const served = await servedQueue<unknown>();
  const [receiver, sender] = Pipe<never, string>({ duplex: false });
  await Promise.all([served.proxy.put(["first", sender]), served.proxy.put(["second", sender])]);
  const [, moved] = await within(served.proxy.get(), 20_000) as [string, typeof sender];
  const [label, gone] = await within(served.proxy.get(), 20_000) as [string, typeof sender];
  assertEquals(label, "second");
  await served.proxy.put(["again", gone]); // passed on once more
  const [again, end] = await within(served.proxy.get(), 20_000) as [string, typeof sender];
  assertEquals(again, "again");
  assertEquals(gone.closed, true, "it moved on");
  assertThrows(() => end.send("x"), PipeClosed);
  for (const each of [moved, gone, end, receiver]) each.close();
  await served.close();
  await settled();
});

Deno.test("W-14/W-12: shutdown(true) releases at once what a discarded item from the wire held: its proxies and pipe ends", async () => {
  const served = await servedQueue<unknown>();
  const [receiver, sender] = Pipe<never, string>({ duplex: false });
  await served.proxy.put([new Event(), sender]);
  await until(() => served.queue.qsize() === 1);
  assertEquals(liveTravelled(), 1, "the queue's proxy, with its item");
  served.queue.shutdown(true);
  assertEquals(liveTravelled(), 0, "released with the item it was in");
  // The end in the item closed: its other end hears it.
  await assertRejects(() => receiver.recv({ timeout: 10_000 }), PipeClosed);
  receiver.close();
  await served.close();
  await settled();
});

Deno.test("W-12/W-14: shutdown(true) with an item sent ahead: the consumer gives it back, and its pipe end closes with it", async () => {
  const served = await servedQueue<unknown>();
  const [receiver, sender] = Pipe<never, string>({ duplex: false });
  const second = await aheadWith(served, { sender });
  served.queue.shutdown(true); // reaches the consumer: what it was sent ahead comes back, discarded
  await assertRejects(() => receiver.recv({ timeout: 10_000 }), PipeClosed);
  await assertRejects(() => second.ahead.queue.get({ timeout: 10_000 }), QueueShutDown);
  assertEquals(served.queue.qsize(), 0);
  receiver.close();
  await second.ahead.close();
  await until(() => second.link.closed);
  second.link.close();
  second.close();
  await served.close();
  await settled();
});

/** A second consumer of `served`'s queue, which took `first` (as `took`) and was sent `item` ahead. */
async function aheadWith(
  served: Awaited<ReturnType<typeof servedQueue<unknown>>>,
  item: unknown,
  first: unknown = "first",
) {
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { queue: served.queue });
  const ahead = await connect<{ queue: Queue<unknown> }>(port2, { prefetch: 1 });
  await Promise.all([served.proxy.put(first), served.proxy.put(item)]); // in one turn
  await until(() => served.queue.qsize() === 2);
  const took = await within(ahead.queue.getNowait(), 20_000); // then it pulls one ahead
  if (typeof first === "string") assertEquals(took, first);
  await until(() => served.queue.qsize() === 0); // the item went ahead, untaken
  return {
    link,
    ahead,
    took,
    close() {
      port1.close();
      port2.close();
    },
  };
}

Deno.test("W-8/W-14: an item holding a pipe end, sent ahead to a consumer that gives it back, goes on whole", async () => {
  const served = await servedQueue<unknown>();
  const [receiver, sender] = Pipe<never, string>({ duplex: false });
  const second = await aheadWith(served, { sender });
  await second.ahead.close(); // gives it back
  await until(() => second.link.closed);
  second.link.close();
  await until(() => served.queue.qsize() === 1);
  const { sender: end } = await within(served.proxy.get(), 20_000) as { sender: typeof sender };
  end.send("through the end that came back");
  assertEquals(await receiver.recv({ timeout: 10_000 }), "through the end that came back");
  end.close();
  receiver.close();
  second.close();
  await served.close();
  await settled();
});

Deno.test("W-8/W-14: an item holding an end whose other end is gone, given back, comes back as such and is delivered", async () => {
  const served = await servedQueue<unknown>();
  const [receiver, sender] = Pipe<never, string>({ duplex: false });
  // One end in two items of one turn: the first takes it, the second holds an end whose other
  // end is gone, which cannot move back.
  const second = await aheadWith(served, ["second", sender], ["first", sender]);
  await second.ahead.close(); // gives it back
  await until(() => second.link.closed);
  second.link.close();
  await until(() => served.queue.qsize() === 1);
  const [label, gone] = await within(served.proxy.get(), 20_000) as [string, typeof sender];
  assertEquals(label, "second");
  assertThrows(() => gone.send("x"), PipeClosed);
  const [, moved] = second.took as [string, typeof sender];
  moved.send("through the end the first item took");
  assertEquals(await receiver.recv({ timeout: 10_000 }), "through the end the first item took");
  for (const end of [gone, moved, receiver]) end.close();
  second.close();
  await served.close();
  await settled();
});

Deno.test("W-8/W-3: an item whose pipe end went ahead to a consumer that is gone goes on, its end gone, and the queue with it", async () => {
  const served = await servedQueue<unknown>();
  const [receiver, sender] = Pipe<never, string>({ duplex: false });
  const second = await aheadWith(served, { sender });
  second.link.close(); // as when its worker is terminated: nothing comes back from it
  await until(() => served.queue.qsize() === 1);
  await served.proxy.put("after");
  const { sender: end } = await within(served.proxy.get(), 20_000) as { sender: typeof sender };
  assertThrows(() => end.send("x"), PipeClosed);
  assertEquals(await within(served.proxy.get(), 20_000), "after");
  end.close();
  receiver.close();
  await second.ahead.close();
  second.close();
  await served.close();
  await settled();
});

Deno.test("W-14/P-6: a used proxy passed on is a copy: the receiver's works after the sender released its own", async () => {
  const served = await servedQueue<unknown>();
  const event = new Event();
  await served.proxy.put([event]);
  const [first] = await served.proxy.get() as [RemoteEvent];
  assertEquals(await first.isSet(), false); // used: connected
  await served.proxy.put([first]);
  const [second] = await served.proxy.get() as [RemoteEvent];
  await release(first); // or collected: the copy passed on does not depend on it
  await within(second.set(), 20_000);
  assertEquals(event.isSet(), true);
  await release(second);
  await served.close();
  await settled();
});

Deno.test("W-14/P-6: a proxy a process got in its args and passed on inside an item still works after the process ended", async () => {
  const out = new Queue<unknown>();
  const event = new Event();
  const child = new Process(new URL("./fixtures/process/targets.ts", import.meta.url), {
    args: ["relay", out, event],
  });
  child.start();
  assertEquals(await child.join(), 0, String(child.error));
  const [proxy] = out.getNowait() as [RemoteEvent];
  await within(proxy.set(), 20_000);
  assertEquals(event.isSet(), true);
  await release(proxy);
  await settled();
});

Deno.test("M-2/W-14: a travelled queue proxy that was released counts as ready, as a proxy whose link closed does", async () => {
  const served = await servedQueue<unknown>();
  const inner = new Queue<number>();
  const other = new Queue<number>();
  await served.proxy.put({ inner });
  await served.proxy.put({ inner });
  const { inner: unused } = await served.proxy.get() as { inner: RemoteQueue<number> };
  const { inner: used } = await served.proxy.get() as { inner: RemoteQueue<number> };
  assertEquals(await used.qsize(), 0); // connected
  await release(unused);
  await release(used);
  await assertRejects(() => unused.get(), LinkClosed); // its get would not wait
  assertEquals(await wait([other, unused, used], { timeout: 0 }), [unused, used]);
  assertEquals(await within(wait([other, used]), 20_000), [used]);
  await served.close();
  await settled();
});
