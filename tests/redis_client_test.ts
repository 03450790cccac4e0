/**
 * The Redis client's arguments, its life cycle and the queue's corners
 * against a throwaway `redis-server`.
 *
 * @module
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Redis } from "ioredis";
import { QueueEmpty, QueueFull, QueueShutDown } from "../mod.ts";
import { LinkClosed } from "../src/worker/mod.ts";
import { connectRedis, type RedisClient } from "../src/redis/mod.ts";
import {
  infoField,
  settledWithin,
  until,
  withRedisServer,
  withStallingProxy,
} from "./fixtures/redis_server.ts";

function withClient(fn: (redis: RedisClient, path: string) => Promise<void>): () => Promise<void> {
  return () =>
    withRedisServer(async (path) => {
      const redis = await connectRedis({ path });
      try {
        await fn(redis, path);
      } finally {
        await redis.close();
      }
    });
}

Deno.test("R-8: connectRedis refuses a lease that is not a positive finite number of ms", async () => {
  for (const leaseMs of [0, -1, NaN, Infinity]) {
    await assertRejects(() => connectRedis({ path: "/nonexistent" }, { leaseMs }), RangeError);
  }
});

Deno.test("R-1: connectRedis with a URL nobody listens on rejects with the connection error and leaves nothing open", async () => {
  // Port 1 on the loopback: refused at once. The URL's user, password and database are parsed.
  for (const url of ["redis://user:p%40ss@127.0.0.1:1/2", "rediss://127.0.0.1:1"]) {
    const error = await assertRejects(() => connectRedis(url));
    assert(error instanceof Error);
    assert(/ECONNREFUSED|refused/i.test(error.message), error.message);
  }
  // A retry strategy of the caller's is kept (here: never retry).
  const error = await assertRejects(() =>
    connectRedis({ host: "127.0.0.1", port: 1, retryStrategy: () => null })
  );
  assert(error instanceof Error);
});

Deno.test(
  "R-1: names must be non-empty strings; a queue reopened on a client keeps its maxsize",
  withClient((redis) => {
    assertThrows(() => redis.queue(""), TypeError, "non-empty string");
    assertThrows(() => redis.event(42 as unknown as string), TypeError, "non-empty string");
    const jobs = redis.queue<number>("jobs", { maxsize: 2 });
    assert(redis.queue<number>("jobs", { maxsize: 2 }) === jobs);
    assertThrows(() => redis.queue<number>("jobs", { maxsize: 3 }), Error, "maxsize 2");
    return Promise.resolve();
  }),
);

Deno.test("R-1: a closed client refuses new primitives and calls with LinkClosed; await using closes it", async () => {
  await withRedisServer(async (path) => {
    let closed: RedisClient;
    {
      await using redis = await connectRedis({ path });
      closed = redis;
      const event = redis.event("go");
      await event.set();
      assertEquals(await event.wait({ timeout: 0 }), true);
    }
    assertThrows(() => closed.queue("late"), LinkClosed);
    assertThrows(() => closed.lock("late"), LinkClosed);
  });
});

Deno.test("R-1: calls made on new primitives just before close() (still setting them up) reject LinkClosed: gets of each queue kind, a timed get, event wait, acquires, join, bounded put", async () => {
  await withRedisServer(async (path) => {
    const redis = await connectRedis({ path });
    const outcome = (call: Promise<unknown>) =>
      call.then((value) => `resolved ${value}`, (error: Error) => error.name);
    const calls = {
      get: outcome(redis.queue<number>("q").get()),
      lifoGet: outcome(redis.lifoQueue<number>("l").get()),
      priorityGet: outcome(redis.priorityQueue<number>("p").get()),
      timedGet: outcome(redis.queue<number>("t").get({ timeout: 60_000 })),
      eventWait: outcome(redis.event("e").wait()),
      semaphoreAcquire: outcome(redis.semaphore("s", 0).acquire()),
      lockAcquire: outcome(redis.lock("k").acquire()),
      join: outcome(redis.queue<number>("j").join()),
      boundedPut: outcome(redis.queue<number>("b", { maxsize: 1 }).put(1)),
    };
    await redis.close();
    // a guard, so that a call left pending fails the test instead of hanging it
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pending = new Promise<string>((resolve) =>
      timer = setTimeout(resolve, 10_000, "pending")
    );
    const settled: Record<string, string> = {};
    for (const [name, call] of Object.entries(calls)) {
      settled[name] = await Promise.race([call, pending]);
    }
    clearTimeout(timer);
    assertEquals(settled, {
      get: "LinkClosed",
      lifoGet: "LinkClosed",
      priorityGet: "LinkClosed",
      timedGet: "LinkClosed",
      eventWait: "LinkClosed",
      semaphoreAcquire: "LinkClosed",
      lockAcquire: "LinkClosed",
      join: "LinkClosed",
      boundedPut: "LinkClosed",
    });
  });
});

Deno.test("R-8/W-6: primitives never used survive lease refreshes and the close; afterwards their calls reject LinkClosed", async () => {
  await withRedisServer(async (path) => {
    const redis = await connectRedis({ path }, { leaseMs: 150 }); // refreshed every 50 ms
    const jobs = redis.queue<number>("unused");
    const slots = redis.semaphore("unused-slots", 1);
    const go = redis.event("unused-go");
    await new Promise((resolve) => setTimeout(resolve, 120)); // at least one refresh
    await redis.flush();
    await redis.close();
    await assertRejects(() => jobs.put(1), LinkClosed);
    await assertRejects(() => slots.acquire(), LinkClosed);
    await assertRejects(() => go.wait(), LinkClosed);
    await assertRejects(() => go.set(), LinkClosed);
  });
});

Deno.test(
  "R-6: a codec that returns no string rejects that put and changes nothing",
  withClient(async (redis) => {
    const jobs = redis.queue<number>("coded", {
      codec: { encode: (n) => (n === 13 ? 13 : String(n)) as string, decode: Number },
    });
    await jobs.put(1);
    await assertRejects(() => jobs.put(13), TypeError, "not a string");
    await redis.flush();
    await assertRejects(() => jobs.put(13, { timeout: 10 }), TypeError, "not a string");
    assertEquals(await jobs.qsize(), 1);
    assertEquals(await jobs.get(), 1);
  }),
);

Deno.test(
  "Q-3: on a Redis queue a nowait call does not overtake the same client's waiting put or get",
  withClient(async (redis) => {
    const jobs = redis.queue<string>("ordered", { maxsize: 1, prefetch: 0 });
    await jobs.put("first");
    const waitingPut = jobs.put("second");
    await assertRejects(() => jobs.putNowait("third"), QueueFull);
    assertEquals(await jobs.get(), "first");
    await waitingPut;
    assertEquals(await jobs.get(), "second");
    const waitingGet = jobs.get();
    await assertRejects(() => jobs.getNowait(), QueueEmpty);
    await jobs.put("fourth");
    assertEquals(await waitingGet, "fourth");
    assertEquals(await jobs.full(), false);
    assertEquals(await redis.queue("unbounded").full(), false); // maxsize 0 is never full
  }),
);

Deno.test(
  "Q-6/R-9: taskDone for items this client took is batched and join sees it",
  withClient(async (redis) => {
    const jobs = redis.queue<number>("tasks");
    for (let i = 0; i < 3; i++) await jobs.put(i);
    for (let i = 0; i < 3; i++) assertEquals(await jobs.get(), i);
    assertEquals(await jobs.join({ timeout: 0 }), false);
    for (let i = 0; i < 3; i++) await jobs.taskDone();
    await redis.flush();
    assertEquals(await jobs.join({ timeout: 1_000 }), true);
    await assertRejects(async () => await jobs.taskDone(), RangeError);
  }),
);

Deno.test(
  "R-1: after the server lost its scripts (a restart without persistence) the client loads them again",
  withClient(async (redis, path) => {
    const jobs = redis.queue<number>("reloaded");
    await jobs.put(1);
    await redis.flush();
    const raw = new Redis({ path, lazyConnect: true });
    await raw.connect();
    try {
      assertEquals(await raw.script("FLUSH"), "OK");
    } finally {
      await raw.quit();
    }
    assertEquals(await jobs.qsize(), 1);
    assertEquals(await jobs.get(), 1);
  }),
);

Deno.test(
  "Conventions: in Redis, a bad timeout rejects RangeError, and another client's shutdown wins over it (Q-9)",
  withClient(async (redis, path) => {
    await assertRejects(() => redis.semaphore("slots", 1).acquire({ timeout: -1 }), RangeError);
    await assertRejects(() => redis.lock("guard").acquire({ timeout: NaN }), RangeError);
    const jobs = redis.queue<number>("stopped");
    assertEquals(await jobs.qsize(), 0); // this client knows the queue, not yet its shutdown
    const other = await connectRedis({ path });
    try {
      await other.queue<number>("stopped").shutdown();
    } finally {
      await other.close();
    }
    await assertRejects(() => jobs.get({ timeout: -1 }), QueueShutDown);
    await assertRejects(() => jobs.put(1, { timeout: -1 }), QueueShutDown);
  }),
);

Deno.test(
  "R-6: an item the codec cannot decode rejects the get that took it; later gets go on",
  withClient(async (redis) => {
    const codec = {
      encode: (s: string) => s,
      decode: (s: string) => {
        if (s === "bad") throw new Error("cannot decode");
        return s;
      },
    };
    const jobs = redis.queue<string>("decoded", { codec });
    for (const item of ["a", "bad", "b"]) await jobs.put(item);
    assertEquals(await jobs.get(), "a");
    await assertRejects(() => jobs.get(), Error, "cannot decode");
    assertEquals(await jobs.get(), "b");
    const waiting = jobs.get(); // waits: nothing is left
    await jobs.put("bad");
    await assertRejects(() => waiting, Error, "cannot decode");
    await jobs.put("bad");
    await assertRejects(
      async () => {
        for await (const _ of jobs) { /* the first item cannot be decoded */ }
      },
      Error,
      "cannot decode",
    );
  }),
);

Deno.test(
  "R-9: more puts in one turn than one batch holds all arrive, in order",
  withClient(async (redis) => {
    const jobs = redis.queue<number>("many");
    const count = 300; // more than a batch (128)
    await Promise.all(Array.from({ length: count }, (_, i) => jobs.put(i)));
    await redis.flush();
    assertEquals(await jobs.qsize(), count);
    const got: number[] = [];
    for (let i = 0; i < count; i++) got.push(await jobs.get());
    assertEquals(got, Array.from({ length: count }, (_, i) => i));
  }),
);

Deno.test("R-1: a URL without a port means port 6379", async () => {
  // Either nothing listens there (CI) and the error names the port, or a server does.
  const outcome = await connectRedis("redis://127.0.0.1").catch((error: Error) => error);
  if (outcome instanceof Error) assert(outcome.message.includes("6379"), outcome.message);
  else await outcome.close();
});

Deno.test(
  "Q-9/R-4: shutdown(true) on a client rejects its own waiting get with QueueShutDown",
  withClient(async (redis) => {
    const jobs = redis.queue<number>("stopping");
    const waiting = jobs.get().then(() => "got", (error: Error) => error.name);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the get waits on the server
    await jobs.shutdown(true);
    assertEquals(await waiting, "QueueShutDown");
  }),
);

/**
 * Blocks one call of each kind on `redis`, then closes it and returns how
 * each call settled. With `refuse`, the server refuses every `CLIENT UNBLOCK`
 * first: close() can only end by cutting the blocked calls' connections,
 * after its grace period. close() closes the primitives one after another
 * and a queue's close waits for its own blocked call: the queue of the get,
 * closed first, holds the others up, so they are still blocked when the cut
 * comes.
 */
async function closeWhileBlocked(
  path: string,
  refuse: boolean,
): Promise<Record<string, unknown>> {
  const raw = new Redis({ path, lazyConnect: true });
  await raw.connect();
  try {
    const redis = await connectRedis({ path });
    const outcome = (call: Promise<unknown>) => call.then((value) => ({ value }), (error) => error);
    const empty = redis.queue<number>("empty"); // first: closed first
    const lock = redis.lock("held");
    await lock.acquire();
    const bounded = redis.queue<number>("full", { maxsize: 1 });
    await bounded.put(1);
    const joined = redis.queue<number>("unfinished");
    await joined.put(1);
    const calls = {
      get: outcome(empty.get()),
      eventWait: outcome(redis.event("never").wait()),
      semaphoreAcquire: outcome(redis.semaphore("none", 0).acquire()),
      lockAcquire: outcome(lock.acquire()),
      boundedPut: outcome(bounded.put(2)),
      join: outcome(joined.join()),
    };
    const count = Object.keys(calls).length;
    await until(async () => await infoField(path, "blocked_clients") === count, "all block");
    // from now on every CLIENT UNBLOCK the client sends to cancel a call is refused
    if (refuse) assertEquals(await raw.call("ACL", "SETUSER", "default", "-client|unblock"), "OK");
    // generous: the grace period is 2 s; without the cut, close() would never end
    await settledWithin(redis.close(), 20_000, "close()");
    await until(async () => await infoField(path, "blocked_clients") === 0, "the calls' end");
    const settled: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(calls)) settled[name] = await call;
    return settled;
  } finally {
    await raw.quit();
  }
}

/** The name of each outcome's error, or what it resolved to. */
function named(settled: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(settled).map((
      [name, outcome],
    ) => [name, outcome instanceof LinkClosed ? "LinkClosed" : String(outcome)]),
  );
}

const ALL_LINK_CLOSED = {
  get: "LinkClosed",
  eventWait: "LinkClosed",
  semaphoreAcquire: "LinkClosed",
  lockAcquire: "LinkClosed",
  boundedPut: "LinkClosed",
  join: "LinkClosed",
};

/**
 * A server, a second client on it, and `refuseUnblock()`: from then on the server refuses every
 * `CLIENT UNBLOCK`, so a closing client must cut the blocked calls it cannot cancel.
 */
function withOtherClient(
  fn: (path: string, other: RedisClient, refuseUnblock: () => Promise<void>) => Promise<void>,
): () => Promise<void> {
  return () =>
    withRedisServer(async (path) => {
      const raw = new Redis({ path, lazyConnect: true });
      await raw.connect();
      const other = await connectRedis({ path });
      try {
        await fn(path, other, async () => {
          assertEquals(await raw.call("ACL", "SETUSER", "default", "-client|unblock"), "OK");
        });
      } finally {
        await other.close();
        await raw.quit();
      }
    });
}

Deno.test(
  "R-1: close() rejects each blocked call LinkClosed: get, event wait, semaphore/lock acquire, bounded put, join",
  () =>
    withRedisServer(async (path) => {
      assertEquals(named(await closeWhileBlocked(path, false)), ALL_LINK_CLOSED);
    }),
);

Deno.test(
  "R-1: close() that cuts blocked calls (the server refuses to cancel them) rejects each of them LinkClosed: get, event wait, semaphore/lock acquire, bounded put, join",
  () =>
    withRedisServer(async (path) => {
      assertEquals(named(await closeWhileBlocked(path, true)), ALL_LINK_CLOSED);
    }),
);

Deno.test(
  "R-1: close() held up by another primitive ends when a slot frees meanwhile for two blocked puts: both rejected LinkClosed when the close began, and the slot stays free",
  withOtherClient(async (path, other, refuseUnblock) => {
    const redis = await connectRedis({ path });
    const outcome = (call: Promise<unknown>) =>
      call.then(() => "put", (error) => error instanceof LinkClosed ? "LinkClosed" : error);
    // its close waits for its blocked get, which the server will not cancel: the client's is held up
    const empty = redis.queue<number>("empty");
    const full = redis.queue<number>("full", { maxsize: 1 });
    await full.put(1);
    const getting = empty.get().then(() => "got", (error) => error);
    const second = outcome(full.put(2));
    const third = outcome(full.put(3));
    await until(async () => await infoField(path, "blocked_clients") === 2, "both block");
    await refuseUnblock();
    const closing = redis.close();
    // Every primitive of the client closes at once: the waiting puts end as the close begins.
    assertEquals([await second, await third], ["LinkClosed", "LinkClosed"]);
    // Frees a slot while the close is held up. Once, the puts were still waiting then (the
    // queues closed one after the other), the one given the slot started a reservation that
    // ended at once, again and again: the thread spun and close() never resolved.
    const theirs = other.queue<number>("full", { maxsize: 1 });
    assertEquals(await theirs.get(), 1);
    await closing;
    assert(await getting instanceof LinkClosed);
    await assertRejects(() => theirs.getNowait(), QueueEmpty);
    assertEquals(await theirs.qsize(), 0);
    await theirs.putNowait(4); // the freed slot stayed free
  }),
);

Deno.test(
  "R-1/R-3: a close() held up by a blocked get it must cut gives back what the client's other primitives hold before the cut",
  withOtherClient(async (path, other, refuseUnblock) => {
    const redis = await connectRedis({ path });
    // its close waits for its blocked get, which the server will not cancel: the client's is held up
    const getting = redis.queue<number>("empty").get().catch((error) => error);
    await redis.lock("door").acquire();
    const theirs = other.lock("door");
    // the server still blocks the get when the lock passes on: it was not cut yet
    const passedOn = theirs.acquire().then(() => infoField(path, "blocked_clients"));
    await until(async () => await infoField(path, "blocked_clients") === 2, "both block");
    await refuseUnblock();
    await redis.close();
    assert(await getting instanceof LinkClosed);
    // Before the fix, the client's primitives closed one after the other: the lock went back
    // only once the close had cut the get, after its grace period (0 blocked by then).
    assertEquals(await passedOn, 1);
    await theirs.release();
  }),
);

Deno.test(
  "R-1: close() while a blocked get's connection is still being opened (the server never answers it) resolves, and the get rejects LinkClosed",
  () =>
    withRedisServer((path) =>
      // the client's own connection is relayed; the get's pooled connection never gets an answer
      withStallingProxy(path, 1, async (proxyPath, accepted) => {
        const redis = await connectRedis({ path: proxyPath });
        const getting = redis.queue<number>("q").get().then(() => "got", (error) => error);
        await until(() => Promise.resolve(accepted() === 2), "the get opens its connection");
        // Before the fix, the close cut that connection while it was opening: the wait for it to
        // open never settled, nor did close(). Generous: the grace period is 2 s.
        await settledWithin(redis.close(), 20_000, "close()");
        assert(await getting instanceof LinkClosed);
      })
    ),
);
