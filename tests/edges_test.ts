/**
 * Corners the other test files do not reach (found by `deno task coverage`),
 * each named after the rule it checks: storage that throws under a reader,
 * remote calls after a shutdown notice, an owner item that cannot cross, a
 * link that closes during a Condition wait, and a few argument checks.
 * Remote cases run over a MessageChannel in this thread.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Condition, Event, Lock, PriorityQueue, Queue, QueueShutDown, Semaphore } from "../mod.ts";
import {
  connect,
  type ConnectOptions,
  type Link,
  LinkClosed,
  Pipe,
  type Remote,
  type Servable,
  serve,
} from "../src/worker/mod.ts";
import { Deque } from "../src/_deque.ts";
import { armedCompare, flush } from "./_helpers.ts";

async function withRemote<T extends Record<string, Servable>>(
  primitives: T,
  body: (remote: Remote<T>, link: Link) => Promise<void>,
  options: ConnectOptions = {},
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, primitives);
  const remote = await connect<T>(port2, options);
  try {
    await body(remote, link);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

/** A PriorityQueue whose compare throws while `refusing` is set. */
function touchy(): { queue: PriorityQueue<number>; refuse(on: boolean): void } {
  let refusing = false;
  const queue = new PriorityQueue<number>({
    compare: (a, b) => {
      if (refusing) throw new Error("refused");
      return a - b;
    },
  });
  return { queue, refuse: (on) => void (refusing = on) };
}

Deno.test("Q-2: a compare that throws under for await or a readable stream fails the reader, not silently", async () => {
  const { queue, refuse } = touchy();
  for (const n of [3, 1, 2]) queue.putNowait(n);
  refuse(true);
  await assertRejects(
    async () => {
      for await (const _ of queue) { /* the first take throws */ }
    },
    Error,
    "refused",
  );
  await assertRejects(() => queue.toReadableStream().getReader().read(), Error, "refused");
  refuse(false);
  assertEquals(queue.qsize(), 3);
  assertEquals(queue.getNowait(), 1);
});

Deno.test("S-1: a semaphore value that is not a number throws TypeError", () => {
  assertThrows(() => new Semaphore("3" as unknown as number), TypeError, "must be a number");
});

Deno.test("W-5: poll takes a signal: an abort rejects with its reason", async () => {
  const [left, right] = Pipe();
  try {
    const controller = new AbortController();
    const polling = left.poll(60_000, { signal: controller.signal });
    controller.abort(new Error("stop polling"));
    await assertRejects(() => polling, Error, "stop polling");
    assertEquals(await left.poll(0, { signal: new AbortController().signal }), false);
  } finally {
    left.close();
    right.close();
  }
});

Deno.test("W-6: a link that served a pipe end closes cleanly before anyone connected; the other end receives nothing", async () => {
  const [left, right] = Pipe<string, string>();
  const { port1, port2 } = new MessageChannel();
  try {
    const link = serve(port1, { results: left }); // the end's port moved into the link
    link.close(); // nobody will read the moved port: the link closes it
    await flush();
    assertEquals(await right.poll(0), false);
  } finally {
    right.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-9: a lock taken with a remote hold() is released at the end of the using block", async () => {
  const lock = new Lock();
  await withRemote({ lock }, async (remote) => {
    {
      using _held = await remote.lock.hold({ timeout: 1_000 });
      assert(await remote.lock.locked());
    }
    await remote.lock.locked(); // a round trip: the release went out first
    assert(!lock.locked());
  });
});

Deno.test("Q-9/W-12: after the owner's shutdown notice, a remote put rejects QueueShutDown at once", async () => {
  const jobs = new Queue<number>(4);
  await withRemote({ jobs }, async (remote) => {
    await remote.jobs.put(1);
    jobs.shutdown();
    await remote.jobs.qsize(); // the notice arrived
    await assertRejects(() => remote.jobs.put(2), QueueShutDown);
    await assertRejects(() => remote.jobs.putNowait(2), QueueShutDown);
    assertEquals(await remote.jobs.get(), 1);
    await assertRejects(() => remote.jobs.get(), QueueShutDown);
  });
});

Deno.test("W-12: shutdown(true) discards what a remote consumer prefetched: its next get rejects QueueShutDown", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    for (let i = 0; i < 20; i++) jobs.putNowait(i);
    assertEquals(await remote.jobs.get(), 0); // more are prefetched now
    await flush();
    jobs.shutdown(true);
    await remote.jobs.qsize(); // the notice arrived
    await assertRejects(() => remote.jobs.get(), QueueShutDown);
    await assertRejects(() => remote.jobs.getNowait(), QueueShutDown);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("W-12/W-10: shutdown(true) while a remote consumer holds an item sent ahead and has pulls out reports nothing on either side", async () => {
  const jobs = new Queue<number>();
  const { port1, port2 } = new MessageChannel();
  const ownerReports: unknown[] = [];
  const callerReports: unknown[] = [];
  const link = serve(port1, { jobs }, { onError: (error) => ownerReports.push(error) });
  const remote = await connect<{ jobs: Queue<number> }>(port2, {
    prefetch: 4,
    onError: (error) => callerReports.push(error),
  });
  try {
    // gets that drain at once widen the consumer's window: it pulls ahead after each take
    for (let i = 0; i < 8; i++) {
      await jobs.put(i);
      assertEquals(await remote.jobs.get(), i);
    }
    await jobs.put(8); // sent ahead at once, and pulls are left over at the owner
    await remote.jobs.qsize(); // it arrived
    jobs.shutdown(true); // the consumer gives back item 8; taking it back drains the queue
    await remote.jobs.qsize(); // the notice, the give-back and the owner's answers went round
    await flush();
    // Before the fix, the owner's end (the queue drained as it took item 8 back) went out before
    // its answer to the give-back, which dropped pulls the end had already cleared ("had 2 too
    // few pulls").
    assertEquals(callerReports.map(String), []);
    assertEquals(ownerReports.map(String), []);
    await assertRejects(() => remote.jobs.get(), QueueShutDown);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

for (const prefetch of [0, 1024]) {
  Deno.test(`W-3: an owner item that cannot be cloned rejects the remote get with DataCloneError and stays at the head (prefetch ${prefetch})`, async () => {
    const jobs = new Queue<unknown>();
    await withRemote({ jobs }, async (remote) => {
      const fn = () => "not cloneable";
      jobs.putNowait(fn);
      const error = await assertRejects(() => remote.jobs.get());
      assert(error instanceof DOMException && error.name === "DataCloneError", String(error));
      assertEquals(jobs.qsize(), 1);
      assert(jobs.getNowait() === fn);
      jobs.putNowait("ok");
      assertEquals(await remote.jobs.get(), "ok");
    }, { prefetch });
  });
}

Deno.test("W-9: a link that closes while its Condition wait is pending gives the lock back", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote, link) => {
    assertEquals(await remote.condition.acquire(), true);
    const waiting = remote.condition.wait().then(() => "resolved", (error: Error) => error.name);
    await flush();
    link.close();
    assertEquals(await waiting, "LinkClosed");
    await flush();
    assert(!condition.locked(), "the lock the closed link held is free");
  });
});

Deno.test("Q-6/W-2: two remote taskDone calls in one turn travel as one frame and count twice", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    jobs.putNowait(1);
    jobs.putNowait(2);
    assertEquals([await remote.jobs.get(), await remote.jobs.get()], [1, 2]);
    const first = remote.jobs.taskDone();
    const second = remote.jobs.taskDone();
    await Promise.all([first, second]);
    assertEquals(await remote.jobs.join({ timeout: 1_000 }), true);
    assertEquals(jobs.unfinishedTasks, 0);
  });
});

Deno.test("C-4: a remote notify(n) wakes n of the owner's waiters", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote) => {
    const woken: number[] = [];
    const waiters = [1, 2, 3].map(async (id) => {
      await condition.acquire();
      if (await condition.wait({ timeout: 200 })) woken.push(id);
      condition.release();
    });
    await flush();
    assertEquals(await remote.condition.acquire(), true);
    await remote.condition.notify(2);
    await remote.condition.release();
    await Promise.all(waiters);
    assertEquals(woken, [1, 2]);
  });
});

Deno.test("W-3: the DataCloneError for a long function shows its start, not all of it", async () => {
  const jobs = new Queue<unknown>();
  await withRemote({ jobs }, async (remote) => {
    const long = () =>
      "a function whose source text is much longer than sixty characters, on purpose";
    const error = await assertRejects(() => remote.jobs.put({ long }));
    assert(error instanceof DOMException && error.name === "DataCloneError", String(error));
    assert(error.message.includes("...") && error.message.length < 120, error.message);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("W-6: the worker's side leaving settles its pending calls with LinkClosed", async () => {
  const go = new Event();
  await withRemote({ go }, async (remote) => {
    const waiting = remote.go.wait();
    await flush();
    await remote.close(); // leaves with a call pending
    await assertRejects(() => waiting, LinkClosed);
    assert(!go.isSet());
  });
});

Deno.test("W-6: the owner closing the link settles the worker's pending calls with LinkClosed", async () => {
  const go = new Event();
  await withRemote({ go }, async (remote, link) => {
    const waiting = remote.go.wait();
    await flush();
    link.close(); // closes with a call pending
    await assertRejects(() => waiting, LinkClosed);
  });
});

Deno.test("W-6: after a link closed, freed space, a shutdown and a late item touch nothing of it", async () => {
  const jobs = new Queue<number>(1);
  const other = new Queue<number>();
  const reported: unknown[] = [];
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { jobs, other }, { onError: (error) => reported.push(error) });
  const remote = await connect<{ jobs: Queue<number>; other: Queue<number> }>(port2);
  try {
    jobs.putNowait(0); // full: the remote producer has to wait for room
    const putting = remote.jobs.put(1).then(() => "put", (error: Error) => error.name);
    const getting = remote.other.get().then(() => "got", (error: Error) => error.name);
    await flush();
    link.close();
    assertEquals(await putting, "LinkClosed");
    assertEquals(await getting, "LinkClosed");
    assertEquals(jobs.getNowait(), 0); // room frees after the close
    jobs.shutdown();
    other.putNowait(5);
    other.shutdown();
    await flush();
    assertEquals(jobs.qsize(), 0);
    assertEquals(other.qsize(), 1);
    assertEquals(reported, []);
  } finally {
    await remote.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: an endpoint whose postMessage throws reports it through onError instead of throwing", async () => {
  const reported: unknown[] = [];
  const listeners: unknown[] = [];
  const broken = {
    postMessage() {
      throw new Error("the endpoint is gone");
    },
    addEventListener(_type: string, listener: unknown) {
      listeners.push(listener);
    },
    removeEventListener() {},
  };
  const link = serve(broken as unknown as MessagePort, { go: new Event() }, {
    onError: (error) => reported.push(error),
  });
  await flush();
  link.close();
  assert(
    reported.some((error) => (error as Error).message === "the endpoint is gone"),
    String(reported),
  );
});

Deno.test("W-3: an array with trailing holes crosses with its length and its holes", async () => {
  const jobs = new Queue<unknown[]>();
  await withRemote({ jobs }, async (remote) => {
    // deno-lint-ignore no-sparse-arrays
    await remote.jobs.put([1, ,]);
    await remote.jobs.qsize(); // a round trip: the put arrived
    const got = jobs.getNowait();
    assertEquals(got.length, 2);
    assert(!(1 in got), "the hole stays a hole");
    assertEquals(got[0], 1);
  });
});

Deno.test("Q-9: a local readable stream's waiting read ends when the queue shuts down empty", async () => {
  const queue = new Queue<number>();
  const reader = queue.toReadableStream().getReader();
  const read = reader.read();
  await flush();
  queue.shutdown();
  assertEquals(await read, { value: undefined, done: true });
});

Deno.test("Q-8: a deque made for more items than its first ring starts larger and keeps both ends in order", () => {
  const deque = new Deque<number>(100);
  for (let i = 0; i < 100; i++) deque.push(i);
  assertEquals(deque.length, 100);
  assertEquals(deque.shift(), 0);
  assertEquals(deque.pop(), 99);
});

/** A FIFO queue whose own storage refuses to give an item while `failing` is set. */
class FailingStore extends Queue<number> {
  failing = false;
  declare private items: Deque<number>;
  protected override storageInit(): void {
    this.items = new Deque<number>();
  }
  protected override storageSize(): number {
    return this.items.length;
  }
  protected override storagePut(item: number): void {
    this.items.push(item);
  }
  protected override storageGet(): number {
    if (this.failing) throw new Error("storage failed");
    return this.items.shift()!;
  }
}

Deno.test("Q-2/W-7: a compare or storage hook that throws while the owner takes an item for a remote get rejects that get with its error; the queue keeps its items", async () => {
  const { compare, armed } = armedCompare();
  const byPriority = new PriorityQueue<number>({ compare });
  const fifo = new FailingStore();
  for (const item of [3, 1, 2]) {
    byPriority.putNowait(item);
    fifo.putNowait(item);
  }
  // The priority queue's gets are calls; the FIFO queue's are streamed to the consumer.
  await withRemote({ byPriority, fifo }, async (remote) => {
    armed.on = fifo.failing = true;
    const errors = [
      await assertRejects(() => remote.byPriority.get()),
      await assertRejects(() => remote.fifo.get()),
    ];
    assertEquals(errors.map((error) => (error as Error).message), [
      "compare failed",
      "storage failed",
    ]);
    armed.on = fifo.failing = false;
    assertEquals([byPriority.qsize(), fifo.qsize()], [3, 3]);
    for (
      const [queue, order] of [[remote.byPriority, [1, 2, 3]], [remote.fifo, [3, 1, 2]]] as const
    ) {
      assertEquals([await queue.get(), await queue.get(), await queue.get()], order);
    }
    assertEquals([byPriority.qsize(), fifo.qsize()], [0, 0]);
  });
});
