/**
 * A user's review of the cross-worker layer against API.md: rule
 * combinations the other worker tests do not reach, each through the public
 * API (serve/connect over a MessageChannel in this thread, or real workers).
 *
 * @module
 */

import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { BoundedSemaphore, Condition, Event, Lock, Queue, Semaphore } from "../mod.ts";
import {
  connect,
  Connection,
  LinkClosed,
  Pipe,
  PipeClosed,
  Process,
  release,
  type RemoteLock,
  type RemoteQueue,
  serve,
} from "../src/worker/mod.ts";
import { flush, withRemote } from "./_helpers.ts";

const TARGETS = new URL("./fixtures/process/targets.ts", import.meta.url);

Deno.test("W-9/C-1: a remote Condition wait without the lock rejects Error before a bad timeout or an aborted signal", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote) => {
    const aborted = AbortSignal.abort(new TypeError("mine"));
    // Misuse wins over a bad argument and over an aborted signal, as locally.
    await assertRejects(() => condition.wait({ timeout: NaN }), Error, "without holding");
    await assertRejects(() => remote.condition.wait({ timeout: NaN }), Error, "without holding");
    await assertRejects(() => remote.condition.wait({ timeout: -1 }), Error, "without holding");
    await assertRejects(() => remote.condition.wait({ signal: aborted }), Error, "without holding");
    // Held through the link: the argument's own outcome, and the lock stays held.
    assertEquals(await remote.condition.acquire(), true);
    await assertRejects(() => remote.condition.wait({ timeout: NaN }), RangeError);
    await assertRejects(() => remote.condition.wait({ signal: aborted }), TypeError, "mine");
    assertEquals(condition.locked(), true);
    await remote.condition.release();
    assertEquals(condition.locked(), false);
  });
});

Deno.test("W-9/C-1: a remote waitFor needs the lock through this link, not merely a locked lock", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote) => {
    await condition.acquire(); // held in the owner's thread, not through the link
    let calls = 0;
    await assertRejects(
      () => remote.condition.waitFor(() => ++calls > 0),
      Error,
      "without holding",
    );
    assertEquals(calls, 0, "the predicate is not run without the lock");
    await assertRejects(
      () => remote.condition.waitFor(() => true, { timeout: NaN }),
      Error,
      "without holding",
    );
    condition.release();
    assertEquals(await remote.condition.acquire(), true);
    assertEquals(await remote.condition.waitFor(() => "ready"), "ready");
    await remote.condition.release();
  });
});

Deno.test("W-2: an item a cancelled stream read kept still needs valid options: RangeError or the aborted signal, and it stays", async () => {
  const { port1, port2 } = new MessageChannel();
  const jobs = new Queue<string>();
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<string> }>(port2, { prefetch: 0 });
  try {
    const reader = remote.jobs.toReadableStream().getReader();
    const reading = reader.read();
    await flush(8); // the read's get waits in the owner's line
    jobs.putNowait("kept"); // handed to that get: its answer is on its way
    await reader.cancel(); // the read is cancelled after the hand-off: the item is kept here
    await reading;
    await assertRejects(() => remote.jobs.get({ timeout: NaN }), RangeError);
    await assertRejects(() => remote.jobs.get({ timeout: -1 }), RangeError);
    const aborted = AbortSignal.abort(new TypeError("mine"));
    await assertRejects(() => remote.jobs.get({ signal: aborted }), TypeError, "mine");
    assertEquals(await remote.jobs.get({ timeout: 0 }), "kept");
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-6/W-9: a remote hold disposed after its connection closed does nothing, and rejects nowhere", async () => {
  const lock = new Lock();
  const permits = new Semaphore(1);
  const reported: unknown[] = [];
  await withRemote({ lock, permits }, async (remote) => {
    {
      using _lock = await remote.lock.hold();
      using _permit = await remote.permits.hold();
      await remote.close(); // the owner releases both (W-9)
    } // disposing the handles must not throw or leave a rejection behind
    await flush(8);
    assertEquals([lock.locked(), permits.value], [false, 1]);
    assertEquals(reported.length, 2); // each release reported (W-9)
  }, { onError: (error) => reported.push(error) });
});

Deno.test("W-6/W-9: a proxy whose link the owner closed stays closed: a stale hold never releases a later holder's lock", async () => {
  const { port1, port2 } = new MessageChannel();
  const lock = new Lock();
  const permits = new Semaphore(1);
  const reported: unknown[] = [];
  const onError = (error: unknown) => reported.push(error);
  const first = serve(port1, { lock, permits }, { onError });
  const other = serve(port1, { done: new Event() }, { onError }); // the endpoint stays connected
  const callerReported: unknown[] = [];
  const remote = await connect<{ lock: Lock; permits: Semaphore; done: Event }>(port2, {
    onError: (error) => callerReported.push(error),
  });
  const lockHold = await remote.lock.hold();
  const permitHold = await remote.permits.hold();
  first.close(); // releases both (W-9)
  await flush(8);
  assertEquals([lock.locked(), permits.value], [false, 1]);
  const again = serve(port1, { lock, permits }, { onError }); // the same names, served anew
  await flush(8);
  try {
    await lock.acquire(); // held in the owner's thread now
    await permits.acquire();
    lockHold[Symbol.dispose]();
    permitHold[Symbol.dispose]();
    await flush(8);
    assertEquals(lock.locked(), true, "the stale hold released the owner's lock");
    assertEquals(permits.value, 0, "the stale hold gave back the owner's permit");
    await assertRejects(() => remote.lock.locked(), LinkClosed);
    await assertRejects(() => remote.permits.acquire({ timeout: 0 }), LinkClosed);
    assertEquals(callerReported, []);
    lock.release();
    permits.release();
  } finally {
    await remote.close();
    again.close();
    other.close();
    port1.close();
    port2.close();
  }
});

/** A served queue and a connection to it, over a MessageChannel in this thread. */
async function withQueue(
  body: (jobs: Queue<unknown>, remote: RemoteQueue<unknown>, reported: unknown[]) => Promise<void>,
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const jobs = new Queue<unknown>(10);
  const reported: unknown[] = [];
  const link = serve(port1, { jobs }, { onError: (error) => reported.push(error) });
  const remote = await connect<{ jobs: Queue<unknown> }>(port2, {
    onError: (error) => reported.push(error),
  });
  try {
    await body(jobs, remote.jobs, reported);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

/** Takes every item queued now, closing the pipe ends that arrived in them. */
function drainClosingEnds(jobs: Queue<unknown>): unknown[] {
  const items: unknown[] = [];
  while (!jobs.empty()) items.push(jobs.getNowait());
  for (const item of items) {
    if (Array.isArray(item)) {
      for (const part of item) if (part instanceof Connection) part.close();
    }
  }
  return items.map((item) => Array.isArray(item) ? item.map((p) => typeof p) : item);
}

Deno.test("W-3/W-14: a pipe end that cannot move rejects the put carrying it with DataCloneError; nothing else changes", async () => {
  await withQueue(async (jobs, remote, reported) => {
    const [closed, closedPeer] = Pipe();
    closed.close();
    const [receiving, sender] = Pipe();
    const reading = receiving.recv().catch((error) => error);
    await remote.put(0);
    await assertRejects(() => remote.put([closed]), DOMException, "pipe end");
    await assertRejects(() => remote.putNowait({ end: receiving }), DOMException, "pipe end");
    await assertRejects(() => remote.put([1, receiving], { timeout: 0 }), DOMException, "pipe end");
    await remote.put(1);
    await flush(8);
    assertEquals(drainClosingEnds(jobs), [0, 1]);
    assertEquals(reported, []);
    sender.send("still works"); // the end that was refused is untouched
    assertEquals(await reading, "still works");
    receiving.close();
    sender.close();
    closedPeer.close();
  });
});

Deno.test("W-3/W-14: a pipe end put twice in one turn: both puts are delivered, the second item holds a closed end", async () => {
  await withQueue(async (jobs, remote, reported) => {
    const [end, peer] = Pipe<string, string>();
    await remote.put(["first", end]);
    await remote.put(["second", end]); // resolved: it must be delivered (W-3)
    await remote.put("after");
    const items = [await jobs.get(), await jobs.get(), await jobs.get()];
    const [[, moved], [, again], after] = items as [
      [string, Connection],
      [string, Connection],
      string,
    ];
    assertEquals(after, "after");
    peer.send("through the moved end");
    assertEquals(await moved.recv(), "through the moved end");
    await assertRejects(() => again.recv(), PipeClosed); // it could move once only
    moved.close();
    again.close();
    peer.close();
    assertEquals(reported, []);
  });
});

Deno.test("W-5/W-3: a pipe end sent through itself throws DataCloneError, and the end keeps working", async () => {
  const [a, b] = Pipe<unknown, unknown>();
  try {
    assertThrows(() => a.send(a), DOMException, "pipe end");
    assertThrows(() => a.send([1, { end: a }]), DOMException, "pipe end");
    assertEquals(a.closed, false);
    a.send("after");
    assertEquals(await b.recv(), "after");
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("P-1/P-6: a pipe end in args that cannot move makes start() throw DataCloneError, and moves no other end", () => {
  const [closed, closedPeer] = Pipe();
  closed.close();
  const [good, goodPeer] = Pipe();
  const child = new Process(TARGETS, { args: ["pipe", good, closed] });
  assertThrows(() => child.start(), DOMException, "pipe end");
  assertEquals(good.closed, false, "the movable end stays with the parent");
  assertEquals(child.isAlive(), false);
  for (const end of [good, goodPeer, closedPeer]) end.close();
});

Deno.test("W-5: serve() that refuses a pipe end that cannot move leaves the other ends given with it untouched", async () => {
  const { port1, port2 } = new MessageChannel();
  const [good, goodPeer] = Pipe<string, string>();
  const [closed, closedPeer] = Pipe();
  closed.close();
  try {
    assertThrows(() => serve(port1, { good, closed }), Error, "cannot move");
    assertEquals(good.closed, false);
    good.send("still here");
    assertEquals(await goodPeer.recv(), "still here");
  } finally {
    for (const end of [good, goodPeer, closedPeer]) end.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-9/W-14: a hold released for a proxy that travelled on is reported to the onError of the serve that served it", async () => {
  const { port1, port2 } = new MessageChannel();
  const lock = new Lock();
  const reported: unknown[] = [];
  const link = serve(port1, { lock }, { onError: (error) => reported.push(error) });
  const remote = await connect<{ lock: Lock }>(port2);
  const [a, b] = Pipe<unknown, unknown>();
  try {
    assertEquals(await remote.lock.locked(), false); // used here: it travels on as a copy
    a.send(remote.lock);
    const copy = await b.recv() as RemoteLock;
    assertEquals(await copy.acquire(), true);
    await release(copy); // its link closes holding the lock (W-9)
    await flush(8);
    assertEquals(lock.locked(), false);
    assertEquals(reported.length, 1);
    assertInstanceOf(reported[0], LinkClosed);
    assertStringIncludes(String(reported[0]), `Lock "lock"`);
  } finally {
    a.close();
    b.close();
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

for (const end of ["returns", "is terminated"]) {
  Deno.test(`P-3/P-5/W-9: a process that ${end} holding a lock through a remote proxy in args: its owner releases it and reports it`, async () => {
    const reported: unknown[] = [];
    const lock = new Lock();
    const permits = new Semaphore(2);
    await withRemote({ lock, permits }, async (remote) => {
      assertEquals(await remote.lock.locked(), false); // used here: passed on as a copy
      const acquired = new Event();
      const child = new Process(TARGETS, {
        args: ["hold", remote.lock, remote.permits, acquired],
      });
      child.start();
      await acquired.wait();
      if (end === "is terminated") child.terminate();
      assertEquals(await child.join(), end === "returns" ? 0 : -15);
      // The owner hears by a message (from the child, or from the parent when it was terminated).
      await flush(8);
      assertEquals([lock.locked(), permits.value], [false, 2]);
      assertEquals(reported.length, 2);
      assertEquals(await remote.lock.acquire({ timeout: 0 }), true); // this link still works
      await remote.lock.release();
    }, { onError: (error) => reported.push(error) });
  });
}

Deno.test("W-6/W-9: closing a link whose BoundedSemaphore permit was already given back in the owner's thread does not throw, and releases the rest", async () => {
  const reported: unknown[] = [];
  const bounded = new BoundedSemaphore(2);
  const lock = new Lock();
  await withRemote({ bounded, lock }, async (remote, link) => {
    assertEquals(await remote.bounded.acquire(), true);
    assertEquals(await remote.bounded.acquire(), true);
    assertEquals(await remote.lock.acquire(), true);
    bounded.release(); // permits have no owner: the owner's thread gives one back
    link.close(); // must not throw: one permit is still out, and the lock is held
    assertEquals(bounded.value, 2);
    assertEquals(lock.locked(), false);
    assertEquals(reported.length, 2);
  }, { onError: (error) => reported.push(error) });
});

Deno.test("W-9: a link that closes after its lock was released by another party and taken by a third does not release the third's lock", async () => {
  const reported: unknown[] = [];
  const lock = new Lock();
  const condition = new Condition();
  await withRemote({ lock, condition }, async (remote, link) => {
    assertEquals(await remote.lock.acquire(), true);
    assertEquals(await remote.condition.acquire(), true);
    lock.release(); // a Lock has no owner: another party ends the link's hold (a hand-off)
    condition.release();
    assertEquals(await lock.acquire(), true); // and a third party takes it
    assertEquals(await condition.acquire(), true);
    link.close(); // the link holds nothing now
    assertEquals(lock.locked(), true, "the third party's lock was released");
    assertEquals(condition.locked(), true, "the third party's Condition lock was released");
    assertEquals(reported, []);
    lock.release();
    condition.release();
  }, { onError: (error) => reported.push(error) });
});

Deno.test("P-5/W-9/W-14: a process terminated holding a lock that travelled to it inside an item: the lock is released, no port stays open", async () => {
  const lock = new Lock();
  const jobs = new Queue<[Lock]>();
  const acquired = new Event();
  jobs.putNowait([lock]);
  const child = new Process(TARGETS, { args: ["hold-item", jobs, acquired] });
  child.start();
  await acquired.wait();
  assertEquals(lock.locked(), true);
  child.terminate();
  assertEquals(await child.join(), -15);
  await flush(8); // this thread serves the lock that travelled: it hears by a message
  assertEquals(lock.locked(), false);
});

for (const end of ["the owner closes the link", "the remote side closes"] as const) {
  Deno.test(`W-9: a plain Semaphore released more than it was acquired through a link: the extra permits are gifts, and the close gives back only what is still held (${end})`, async () => {
    const reported: unknown[] = [];
    const semaphore = new Semaphore(0);
    const plain = new Semaphore(1);
    await withRemote({ semaphore, plain }, async (remote, link) => {
      // A plain over-release: one taken, two given back; the extra one is a gift.
      assertEquals(await remote.plain.acquire(), true);
      await remote.plain.release();
      await remote.plain.release();
      assertEquals(plain.value, 2);
      // An over-release that serves this link's own pending acquire: the permit taken is
      // given back by the same release, so the link holds nothing afterwards.
      const acquired = remote.semaphore.acquire();
      await remote.semaphore.release(2);
      assertEquals(await acquired, true);
      assertEquals(semaphore.value, 1); // two given, one taken
      // Gifts never pay for a later acquire: this permit is held until the link closes.
      assertEquals(await remote.semaphore.acquire(), true);
      assertEquals(semaphore.value, 0);
      if (end === "the owner closes the link") link.close();
      else await remote.close();
      await flush(8);
      assertEquals(semaphore.value, 1, "the close gave back a permit the link had already given");
      assertEquals(plain.value, 2, "the close gave back a gift");
      assertEquals(reported.length, 1);
      assertInstanceOf(reported[0], LinkClosed);
      assertStringIncludes((reported[0] as Error).message, "1 permit(s) of Semaphore");
    }, { onError: (error) => reported.push(error) });
  });
}

Deno.test("W-9: a link whose release hands a permit to its own waiting acquire holds it no longer, whatever the order of the frames", async () => {
  const reported: unknown[] = [];
  const semaphore = new Semaphore(0);
  await withRemote({ semaphore }, async (remote, link) => {
    // Both calls leave in one envelope: the owner runs the release while the acquire waits.
    const acquired = remote.semaphore.acquire();
    const released = remote.semaphore.release();
    await released;
    assertEquals(await acquired, true);
    assertEquals(semaphore.value, 0);
    link.close();
    assertEquals(semaphore.value, 0, "the close released a permit the link had given back");
    assertEquals(reported, []);
  }, { onError: (error) => reported.push(error) });
});

Deno.test("W-9: a permit handed to a link's acquire in the turn its link closes goes back once", async () => {
  const reported: unknown[] = [];
  const semaphore = new Semaphore(0);
  await withRemote({ semaphore }, async (remote, link) => {
    const acquired = remote.semaphore.acquire();
    await flush(8); // the acquire waits in the owner's thread
    assertEquals(semaphore.waiting, 1);
    semaphore.release(); // handed to the link's acquire...
    link.close(); // ...whose answer no one will read: the close gives it back
    await assertRejects(() => acquired, LinkClosed);
    await flush(8);
    assertEquals(semaphore.value, 1);
    assertEquals(reported.length, 1);
  }, { onError: (error) => reported.push(error) });
});

Deno.test("S-1/W-7: a remote release that would raise a Semaphore above Number.MAX_SAFE_INTEGER rejects RangeError and changes nothing", async () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const semaphore = new Semaphore(MAX - 1);
  const bounded = new BoundedSemaphore(MAX);
  await withRemote({ semaphore, bounded }, async (remote) => {
    await assertRejects(() => remote.semaphore.release(2), RangeError, "MAX_SAFE_INTEGER");
    await assertRejects(() => remote.semaphore.release(2 ** 60), RangeError, "MAX_SAFE_INTEGER");
    assertEquals(semaphore.value, MAX - 1);
    await remote.semaphore.release();
    assertEquals(await remote.semaphore.value, MAX);
    assertEquals(await remote.bounded.acquire(), true);
    await assertRejects(() => remote.bounded.release(2 ** 60), RangeError);
    await remote.bounded.release();
    assertEquals(bounded.value, MAX);
  });
});

Deno.test("S-1/W-9: a link that closes holding permits of a Semaphore raised to Number.MAX_SAFE_INTEGER meanwhile does not throw, and reports what it could not give back", async () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const reported: unknown[] = [];
  const semaphore = new Semaphore(MAX);
  const lock = new Lock();
  await withRemote({ semaphore, lock }, async (remote, link) => {
    assertEquals(await remote.semaphore.acquire(), true);
    assertEquals(await remote.semaphore.acquire(), true);
    assertEquals(await remote.lock.acquire(), true);
    semaphore.release(); // room for one of the link's two permits only
    link.close(); // must not throw, and the lock is released all the same
    assertEquals(semaphore.value, MAX);
    assertEquals(lock.locked(), false);
    assertEquals(reported.length, 2);
    const message = reported.map((error) => (error as Error).message).join("\n");
    assertStringIncludes(message, "1 permit(s) of Semaphore");
    assertStringIncludes(message, "MAX_SAFE_INTEGER");
  }, { onError: (error) => reported.push(error) });
});

Deno.test("W-2: a remote get that starts while an aborted get's unpull is on its way is served by an item put once the owner answered", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    const abort = new AbortController();
    const aborted = remote.jobs.get({ signal: abort.signal }).catch((error) => error);
    await flush(4); // its pull reached the owner: a get of the owner's waits for it
    abort.abort();
    assertInstanceOf(await aborted, DOMException);
    const next = remote.jobs.get({ timeout: 10_000 }); // the unpull is still on its way
    await flush(4); // the owner answered it: it serves no demand of this side now
    jobs.putNowait(7);
    assertEquals(await next, 7);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("W-2: items the owner sent while a give-back was on its way count as arrived: later remote gets still ask for items, round after round", async () => {
  const jobs = new Queue<number>();
  await withRemote({ jobs }, async (remote) => {
    const wait = { timeout: 10_000 }; // a get that never asks again fails the test, not hangs it
    jobs.putNowait(0);
    for (let round = 0; round < 40; round++) {
      for await (const item of remote.jobs) {
        assertEquals(item, 2 * round);
        jobs.putNowait(2 * round + 1); // sent for this side's pull before the give-back is read
        break; // gives back what was fetched ahead
      }
      const next = remote.jobs.get(wait);
      await flush(4);
      jobs.putNowait(2 * round + 2);
      assertEquals(await next, 2 * round + 1); // back at the queue's head
    }
    assertEquals(await remote.jobs.get(wait), 80);
    assertEquals(jobs.qsize(), 0);
  });
});

Deno.test("Q-7/W-2: a local readable stream beside a remote producer and a remote consumer on a Queue(8): maxsize holds, every item once", async () => {
  // The stream's reads wait in the queue's line through holds; a batch put on credit used to
  // free all its credits before storing its items, so a read handed the first item let waiting
  // putters into slots the rest of the batch then filled as well (an AccountingError).
  for (let round = 0; round < 5; round++) {
    const jobs = new Queue<number>(8);
    const reported: unknown[] = [];
    const onError = (error: unknown) => reported.push(error);
    await withRemote({ jobs }, async (producer) => {
      await withRemote({ jobs }, async (consumer) => {
        const got: number[] = [];
        const remote = (async () => {
          for await (const item of consumer.jobs) got.push(item);
        })();
        const local = (async () => {
          for await (const item of jobs.toReadableStream()) got.push(item);
        })();
        for (let i = 0; i < 300; i++) await producer.jobs.put(i);
        await producer.jobs.shutdown();
        await Promise.all([remote, local]);
        assertEquals(got.sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
      }, { onError });
    }, { onError });
    assertEquals(reported, []);
  }
});
