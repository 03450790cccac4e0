/**
 * Remote proxies over a MessageChannel in one thread: rules whose outcome
 * does not depend on a second thread.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Condition, Queue, QueueEmpty, QueueFull, QueueShutDown } from "../mod.ts";
import {
  connect,
  type ConnectOptions,
  type Link,
  LinkClosed,
  type Remote,
  type Servable,
  serve,
  type ServeOptions,
} from "../src/worker/mod.ts";
import { inspected } from "./fixtures/agent.ts";

/** Serves `primitives` on one end of a MessageChannel, connects the other, runs `body`, closes all. */
async function withRemote<T extends Record<string, Servable>>(
  primitives: T,
  body: (remote: Remote<T>, link: Link) => Promise<void>,
  options: { serve?: ServeOptions; connect?: ConnectOptions } = {},
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, primitives, options.serve);
  const remote = await connect<T>(port2, options.connect);
  try {
    await body(remote, link);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

Deno.test("Q-3: a remote putNowait does not overtake the same side's waiting put; it is QueueFull", async () => {
  const jobs = new Queue<string>(1);
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote) => {
    jobs.putNowait("first");
    const waiting = remote.jobs.put("second"); // full: waits for room
    await assertRejects(() => remote.jobs.putNowait("third"), QueueFull);
    await assertRejects(() => remote.jobs.put("third", { timeout: 0 }), QueueFull);
    assertEquals(await jobs.get(), "first");
    await waiting;
    assertEquals(await jobs.get(), "second");
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("C-1: a remote waitFor without the lock rejects Error, even when the predicate holds", async () => {
  await withRemote<{ ready: Condition }>({ ready: new Condition() }, async (remote) => {
    await assertRejects(() => remote.ready.waitFor(() => true), Error, "without holding");
    await remote.ready.acquire();
    assertEquals(await remote.ready.waitFor(() => 42), 42);
    assertEquals(await remote.ready.waitFor(() => 0, { timeout: 0 }), 0);
    await remote.ready.release();
  });
});

Deno.test("W-6: items a worker put before it heard of link.close() still reach the queue", async () => {
  const jobs = new Queue<number>(100);
  await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote, link) => {
    await remote.jobs.put(0); // the first put waits for credit; the next ones use it at once
    for (let i = 1; i <= 10; i++) await remote.jobs.put(i);
    link.close(); // the items above are still in the other side's outbox
    for (let turn = 0; turn < 1000 && jobs.qsize() < 11; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assertEquals(Array.from({ length: jobs.qsize() }, () => jobs.getNowait()), [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
    ]);
    await assertRejects(() => remote.jobs.put(11), Error);
  });
});

Deno.test("Q-9: shutdown(true) does not discard an item a remote getNowait is handing out; unfinishedTasks keeps it", async () => {
  const jobs = new Queue<string>();
  const reported: unknown[] = [];
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote) => {
    jobs.putNowait("a");
    // Both calls go out in one batch, so the answer of the first and the
    // shutdown notice of the second arrive together.
    const getting = remote.jobs.getNowait();
    const stopping = remote.jobs.shutdown(true);
    assertEquals(await getting, "a");
    await stopping;
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(jobs.unfinishedTasks, 1, "the item handed out is not discarded");
    await remote.jobs.taskDone();
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(jobs.unfinishedTasks, 0);
    assertEquals(await jobs.join({ timeout: 0 }), true);
    assertEquals(reported, []);
  }, { serve: { onError: (error) => reported.push(error) }, connect: { prefetch: 0 } });
});

Deno.test("Q-6: a remote taskDone sent before the worker heard of link.close() still counts", async () => {
  const jobs = new Queue<string>();
  const reported: unknown[] = [];
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  };
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote, link) => {
    jobs.putNowait("a");
    assertEquals(await remote.jobs.get(), "a");
    await turns(5); // the owner heard that the item was handed to the worker's code
    await remote.jobs.taskDone(); // resolves at once; the count travels in the next batch
    link.close(); // before that batch arrives
    await turns(5);
    assertEquals(jobs.qsize(), 0, "the item was acknowledged: it does not come again");
    assertEquals(jobs.unfinishedTasks, 0);
    assertEquals(await jobs.join({ timeout: 0 }), true);
    assertEquals(reported, [], "frames sent before the worker heard of the close are no error");
  }, { serve: { onError: (error) => reported.push(error) }, connect: { prefetch: 0 } });
});

Deno.test("W-6: a remote get answered just before link.close() sends nothing more for the closed name", async () => {
  const jobs = new Queue<string>();
  const reported: unknown[] = [];
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  };
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote, link) => {
    const getting = remote.jobs.get();
    await turns(3); // the get waits in the owner's queue
    jobs.putNowait("a");
    for (let i = 0; i < 5; i++) await Promise.resolve(); // its answer is queued...
    link.close(); // ...and goes out just before the close
    assertEquals(await getting, "a", "answers sent before the close arrive before it");
    await turns(5);
    // The worker's code took it before it heard of the close: it stays taken (exactly once).
    assertEquals(jobs.qsize(), 0, "delivered once: not back in the queue");
    assertEquals(reported, [], "no frame for the closed name after the worker heard of the close");
  }, { serve: { onError: (error) => reported.push(error) }, connect: { prefetch: 0 } });
});

Deno.test("Q-9: after shutdown, an item held for a remote get that comes back to an earlier getter releases the later ones", async () => {
  const jobs = new Queue<string>();
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  };
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote) => {
    const remoteGet = remote.jobs.get().catch((error) => error);
    await turns(3); // the remote get waits in the owner's queue
    const first = jobs.get(); // waits behind it
    const second = jobs.get().catch((error) => error);
    await remote.close(); // its bye is on its way...
    jobs.putNowait("a"); // ...when "a" is held for the remote get
    jobs.shutdown(); // not drained yet: "a" may come back
    assertEquals(await first, "a", "the close gave it back, to the oldest getter");
    assert((await second) instanceof QueueShutDown, "shut down and drained");
    assert((await remoteGet) instanceof LinkClosed);
  }, { connect: { prefetch: 0 } });
});

Deno.test("Q-3: a remote getNowait does not overtake the same side's waiting get; it is QueueEmpty", async () => {
  const jobs = new Queue<string>();
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote) => {
    const waiting = remote.jobs.get(); // prefetching: waits on this side
    await assertRejects(() => remote.jobs.getNowait(), QueueEmpty);
    await assertRejects(() => remote.jobs.get({ timeout: 0 }), QueueEmpty);
    jobs.putNowait("first");
    assertEquals(await waiting, "first");
  });
});

Deno.test("W-2: a remote getNowait still on its way takes the item sent ahead before its answer; a later get takes the answer", async () => {
  const jobs = new Queue<string>();
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote) => {
    jobs.putNowait("a");
    assertEquals(await remote.jobs.getNowait(), "a"); // then it pulls one item ahead
    await settle(() => inspected(jobs, "waitingGetters") === 1); // the pull waits at the owner
    const direct = remote.jobs.getNowait(); // nothing here: asks the owner
    jobs.putNowait("b"); // sent ahead at once, before the owner reads the getNowait
    jobs.putNowait("c"); // the getNowait's answer
    const later = remote.jobs.get({ timeout: 60_000 }); // waits here: "b" has not arrived
    // "b" arrives while the getNowait, called first, is unanswered: it is the getNowait's.
    assertEquals(await direct, "b");
    assertEquals(await later, "c");
    assertEquals(jobs.qsize(), 0);
  }, { connect: { prefetch: 1 } });
});

Deno.test("W-2: an item sent ahead while a remote getNowait is on its way goes to the later get when the getNowait finds the queue empty", async () => {
  const jobs = new Queue<string>();
  await withRemote<{ jobs: Queue<string> }>({ jobs }, async (remote) => {
    jobs.putNowait("a");
    assertEquals(await remote.jobs.getNowait(), "a"); // then it pulls one item ahead
    await settle(() => inspected(jobs, "waitingGetters") === 1); // the pull waits at the owner
    const direct = remote.jobs.getNowait(); // nothing here: asks the owner
    jobs.putNowait("b"); // sent ahead at once: the owner then finds nothing for the getNowait
    const later = remote.jobs.get({ timeout: 60_000 }); // waits here: "b" has not arrived
    await assertRejects(() => direct, QueueEmpty);
    assertEquals(await later, "b");
    assertEquals(jobs.qsize(), 0);
  }, { connect: { prefetch: 1 } });
});

/** Lets messages between the two ends of a channel in this thread go through. */
async function settle(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !condition(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert(condition(), "settled");
}

/** Fills a Queue(8) from the remote side and leaves one more remote put waiting for room. */
async function fillWithWaitingPut(
  jobs: Queue<number>,
  remote: Remote<{ jobs: Queue<number> }>,
): Promise<{ waiting: Promise<void> }> {
  for (let i = 0; i < 8; i++) await remote.jobs.put(i);
  const waiting = remote.jobs.put(8); // full: waits, and asks the owner for credit
  waiting.catch(() => {}); // a failed assertion closes the link: not an unhandled rejection
  await settle(() => jobs.qsize() === 8 && inspected(jobs, "waitingPutters") === 1);
  return { waiting }; // wrapped: an async function would wait for a promise it returns
}

Deno.test("W-2: while a remote producer streams, a batch of freed slots is granted to it the moment it is free", async () => {
  const jobs = new Queue<number>(8); // a batch of credits: maxsize / 4 = 2 slots
  await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote) => {
    const { waiting } = await fillWithWaitingPut(jobs, remote);
    assertEquals(jobs.getNowait(), 0);
    assertEquals(inspected(jobs, "held"), 1, "the waiting put's slot, in line");
    assertEquals(jobs.getNowait(), 1);
    assertEquals(inspected(jobs, "held"), 1, "one more free slot is less than a batch");
    assertEquals(jobs.getNowait(), 2);
    assertEquals(inspected(jobs, "held"), 3, "a batch free: reserved in the same turn");
    assert(jobs.full(), "slots granted as credit count towards full()");
    assertThrows(() => jobs.putNowait(99), QueueFull);
    jobs.getNowait();
    jobs.getNowait();
    assertEquals(inspected(jobs, "held"), 5, "and the next batch, without being asked again");
    await waiting;
    for (let i = 9; i <= 12; i++) await remote.jobs.put(i); // on the credit already granted
    await settle(() => jobs.qsize() === 8);
    assertEquals(Array.from({ length: 8 }, () => jobs.getNowait()), [5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

Deno.test("Q-3/W-2: freed slots go to the putters waiting in line, remote and local, before credits ahead of need", async () => {
  const jobs = new Queue<number>(8);
  await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote) => {
    const { waiting } = await fillWithWaitingPut(jobs, remote);
    const local = jobs.put(100); // waits behind the remote put
    jobs.getNowait();
    assertEquals(
      inspected(jobs, "held"),
      1,
      "the first freed slot: the remote put, first in line",
    );
    jobs.getNowait();
    await local;
    assertEquals(jobs.qsize(), 7, "the second: the local put");
    jobs.getNowait();
    assertEquals(inspected(jobs, "held"), 1, "one free slot: less than a batch");
    jobs.getNowait();
    assertEquals(inspected(jobs, "held"), 3, "then a batch for the remote producer");
    await waiting;
    await settle(() => jobs.qsize() === 6);
    assertEquals(Array.from({ length: 6 }, () => jobs.getNowait()), [4, 5, 6, 7, 100, 8]);
  });
});

Deno.test("W-2: a remote producer that stopped putting keeps no freed slot, even with no credit left", async () => {
  const jobs = new Queue<number>(8);
  await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote) => {
    for (let i = 0; i < 8; i++) await remote.jobs.put(i); // every credit used, then idle
    await settle(() => jobs.qsize() === 8 && inspected(jobs, "watchingSpace") === 0);
    jobs.getNowait();
    jobs.getNowait();
    assertEquals(inspected(jobs, "held"), 0);
    jobs.putNowait(8);
    jobs.putNowait(9);
    assertEquals(jobs.qsize(), 8);
  });
});

Deno.test("Q-9/W-2: a shutdown stops the owner watching for free slots to grant a remote producer", async () => {
  const jobs = new Queue<number>(8);
  await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote) => {
    const { waiting } = await fillWithWaitingPut(jobs, remote);
    assertEquals(inspected(jobs, "watchingSpace"), 1, "the streaming producer's ask");
    jobs.shutdown();
    assertEquals(inspected(jobs, "watchingSpace"), 0);
    await assertRejects(() => waiting, QueueShutDown);
    assertEquals(inspected(jobs, "held"), 0);
  });
});

Deno.test("Q-9/W-2: a remote put given its slot in line before a shutdown resolves, as a local put would", async () => {
  for (const immediate of [false, true]) {
    const jobs = new Queue<number>(8);
    await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote) => {
      for (let i = 0; i < 8; i++) jobs.putNowait(i);
      const waiting = remote.jobs.put(8);
      await settle(() => inspected(jobs, "waitingPutters") === 1);
      jobs.getNowait(); // the remote put's slot, in line
      jobs.shutdown(immediate); // in the same turn

      await waiting;
      if (immediate) {
        assertEquals(jobs.qsize(), 0, "shutdown(true) discards the item that arrives after it");
      } else {
        await settle(() => jobs.qsize() === 8);
        assertEquals(Array.from({ length: 8 }, () => jobs.getNowait()), [1, 2, 3, 4, 5, 6, 7, 8]);
      }
      await assertRejects(() => jobs.get(), QueueShutDown);
      assertEquals(inspected(jobs, "held"), 0);
    });
  }
});

/**
 * Serves `jobs` on two MessageChannels and connects one remote to each;
 * `fn` runs with both remotes, then `jobs` is shut down (discarding) and
 * everything is closed.
 */
async function withTwoLinks(
  jobs: Queue<number>,
  fn: (remotes: Remote<{ jobs: Queue<number> }>[]) => Promise<void>,
): Promise<void> {
  const first = new MessageChannel();
  const second = new MessageChannel();
  const links = [serve(first.port1, { jobs }), serve(second.port1, { jobs })];
  const remotes = [
    await connect<{ jobs: Queue<number> }>(first.port2),
    await connect<{ jobs: Queue<number> }>(second.port2),
  ];
  try {
    await fn(remotes);
  } finally {
    jobs.shutdown(true);
    for (const remote of remotes) await remote.close();
    for (const link of links) link.close();
    for (const port of [first.port1, first.port2, second.port1, second.port2]) port.close();
  }
}

Deno.test("W-2: two remote producers blocked on one queue get a like share of the freed slots", async () => {
  const jobs = new Queue<number>(100);
  await withTwoLinks(jobs, async (remotes) => {
    let running = true;
    const producers = remotes.map(async (remote, index) => {
      while (running) {
        try {
          await remote.jobs.put(index);
        } catch {
          return; // shut down
        }
      }
    });
    try {
      const counts = [0, 0];
      for (let round = 0; round < 100; round++) {
        for (let k = 0; k < 10; k++) counts[await jobs.get()]! += 1; // bursts smaller than a batch
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const [a, b] = counts as [number, number];
      assert(Math.min(a, b) >= 0.25 * (a + b), `each producer's share of 1000 items: ${a} / ${b}`);
    } finally {
      running = false;
      jobs.shutdown(true);
      await Promise.all(producers);
    }
  });
});

Deno.test("W-2: a remote put admitted in line while fewer than a batch of slots is free is granted the free slots with its own, not one slot alone", async () => {
  const jobs = new Queue<number>(100); // a batch of credits: 25 slots
  await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote) => {
    for (let i = 0; i < 100; i++) jobs.putNowait(i);
    const waiting = remote.jobs.put(100); // full: waits in line at the owner
    await settle(() => inspected(jobs, "waitingPutters") === 1);
    for (let i = 0; i < 10; i++) jobs.getNowait(); // the first slot admits it, nine more are free
    assertEquals(inspected(jobs, "held"), 1, "its slot, in line");
    await waiting;
    await settle(() => jobs.qsize() === 91);
    assertEquals(inspected(jobs, "held"), 9, "the nine free slots went with its credit");
    assert(jobs.full());
    for (let i = 101; i < 110; i++) await remote.jobs.put(i); // on that credit
    await settle(() => jobs.qsize() === 100);
    assertEquals(inspected(jobs, "held"), 0);
  });
});

Deno.test("W-2: remote puts on two links admitted in line in one step share the free slots", async () => {
  const jobs = new Queue<number>(100);
  await withTwoLinks(jobs, async (remotes) => {
    for (let i = 0; i < 100; i++) jobs.putNowait(i);
    const waiting = remotes.map((remote, index) => remote.jobs.put(100 + index));
    await settle(() => inspected(jobs, "waitingPutters") === 2);
    for (let i = 0; i < 12; i++) jobs.getNowait(); // one slot each in line, then ten free
    await Promise.all(waiting);
    await settle(() => jobs.qsize() === 90);
    const view = Deno.inspect(jobs, { depth: 2 });
    const credits = [...view.matchAll(/credits of [^:]*: (\d+)/g)].map((match) => Number(match[1]));
    assertEquals(credits, [5, 5], `each link's credits: ${view}`);
  });
});

Deno.test("Q-9/W-2: a side that connects after the queue was shut down and drained ends its loop, and its put rejects QueueShutDown", async () => {
  const jobs = new Queue<number>(4);
  jobs.shutdown(); // drained at once: nothing was put
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { jobs });
  // The owner's end and shutdown notices may leave before this side has its proxy.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const remote = await connect<{ jobs: Queue<number> }>(port2);
  try {
    const taken: number[] = [];
    for await (const item of remote.jobs) taken.push(item);
    assertEquals(taken, []);
    await assertRejects(() => remote.jobs.put(1), QueueShutDown);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-1: a remote queue is a Web Stream both ways, as the local one", async () => {
  const jobs = new Queue<number>(2);
  await withRemote<{ jobs: Queue<number> }>({ jobs }, async (remote) => {
    const writing = ReadableStream.from([1, 2, 3, 4]).pipeTo(remote.jobs.toWritableStream());
    const reading = Array.fromAsync(jobs); // the owner drains while the writes wait for room
    await writing; // closing the stream shut the queue down
    assertEquals(await reading, [1, 2, 3, 4]);
    assert(jobs.isShutdown);
  });
  const more = new Queue<string>();
  more.putNowait("a");
  more.putNowait("b");
  more.shutdown();
  await withRemote<{ more: Queue<string> }>({ more }, async (remote) => {
    assertEquals(await Array.fromAsync(remote.more.toReadableStream()), ["a", "b"]);
  });
});
