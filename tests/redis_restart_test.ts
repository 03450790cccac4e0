/**
 * The Redis layer when the server loses what it kept: a restart without
 * persistence, or a `FLUSHALL`, while clients hold their proxies. A
 * primitive keeps the options its program declared, waits on state that
 * vanished settle, and the loss is reported (`StateLost`).
 *
 * @module
 */

import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { StateLost as ErrorsStateLost } from "../src/errors.ts";
import { Redis } from "ioredis";
import { connectRedis, StateLost } from "../src/redis/mod.ts";
import {
  infoField,
  type ServerClients,
  startRedisServer,
  until,
  withClients,
} from "./fixtures/redis_server.ts";

Deno.test("R-1: StateLost is exported by @baton/baton/redis as the class of src/errors.ts", () => {
  assertStrictEquals(StateLost, ErrorsStateLost);
});

/** How a promise settled: its value, or the name of the error it rejected with. */
function outcome<T>(promise: Promise<T>): Promise<{ value: T } | { error: string }> {
  return promise.then(
    (value) => ({ value }),
    (error: Error) => ({ error: error.name }),
  );
}

/** Wipes the server from a connection of its own, as an operator's FLUSHALL does. */
async function flushAll(path: string): Promise<void> {
  const raw = new Redis({ path });
  try {
    await raw.flushall();
  } finally {
    raw.disconnect();
  }
}

/**
 * A consumer's get blocked when the server is wiped (FLUSHALL), woken by the
 * item 7 a producer puts on the queue set up again: both clients, both proxies.
 */
async function wokenAfterFlush(path: string, connect: ServerClients["connect"]) {
  const consumer = await connect({ path });
  const producer = await connect({ path });
  const taken = consumer.queue<number>("jobs");
  const jobs = producer.queue<number>("jobs");
  await jobs.qsize();
  const getting = taken.get();
  await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
  await flushAll(path);
  await jobs.put(7).catch(() => {});
  await producer.flush().catch(() => {});
  assertEquals(await getting, 7);
  return { consumer, producer, taken, jobs };
}

Deno.test(
  "R-2: maxsize stays exact after the server lost the queue (FLUSHALL): the next call rejects StateLost, then a Queue(2) takes two items, putNowait rejects QueueFull and full() is true",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path });
      const jobs = redis.queue<number>("jobs", { maxsize: 2 });
      await jobs.put(0);
      await redis.flush();
      await flushAll(path);
      assertEquals(await outcome(jobs.putNowait(1)), { error: "StateLost" });
      await jobs.putNowait(1);
      await jobs.putNowait(2);
      assertEquals(await outcome(jobs.putNowait(3)), { error: "QueueFull" });
      assert(await jobs.full());
      assertEquals(await jobs.qsize(), 2);
    }),
);

Deno.test(
  "R-2: across a server restart without persistence a Queue(1) stays bounded: after the StateLost report, one item fits and the next putNowait rejects QueueFull",
  async () => {
    const server = await startRedisServer();
    const redis = await connectRedis({ path: server.path });
    try {
      const jobs = redis.queue<number>("jobs", { maxsize: 1 });
      await jobs.put(0);
      await redis.flush();
      await server.restart();
      assertEquals(await outcome(jobs.qsize()), { error: "StateLost" });
      await jobs.putNowait(1);
      assertEquals(await outcome(jobs.putNowait(2)), { error: "QueueFull" });
      assertEquals(await jobs.qsize(), 1);
    } finally {
      await redis.close();
      await server.stop();
    }
  },
);

Deno.test(
  "R-4: a join waiting on tasks the server lost (FLUSHALL) rejects StateLost instead of hanging or resolving true",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path }, { leaseMs: 900 });
      const other = await connect({ path });
      const jobs = redis.queue<number>("jobs");
      await jobs.put(1);
      const joining = outcome(jobs.join());
      await redis.flush();
      await flushAll(path);
      // another client sets the queue up again (no task is unfinished on the new one)
      await other.queue<number>("jobs").qsize();
      assertEquals(await joining, { error: "StateLost" });
    }),
);

Deno.test(
  "R-1: a blocked acquire on a semaphore the server lost (FLUSHALL) rejects StateLost instead of hanging; the semaphore then has its declared value",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path }, { leaseMs: 900 });
      const permits = redis.semaphore("permits", 1);
      assert(await permits.acquire());
      const acquiring = outcome(permits.acquire());
      await flushAll(path);
      assertEquals(await acquiring, { error: "StateLost" });
      assertEquals(await permits.value, 1);
      assert(await permits.acquire({ timeout: 0 }));
      assertEquals(await permits.value, 0);
    }),
);

Deno.test(
  "R-1: a bounded semaphore whose server state was lost (FLUSHALL) reports StateLost, keeps its initial value, and a release over it rejects RangeError",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path });
      const slots = redis.boundedSemaphore("slots", 2);
      assert(await slots.acquire());
      await flushAll(path);
      // the permit this client held is gone with the server's state
      assertEquals(await outcome(slots.release()), { error: "StateLost" });
      assertEquals(await slots.value, 2);
      assertEquals(await outcome(slots.release()), { error: "RangeError" });
      assertEquals(await slots.value, 2);
    }),
);

Deno.test(
  "R-7: a lock held when the server lost its keys (FLUSHALL): release() rejects StateLost (mutual exclusion was broken), the lock is free, and the next acquire works",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path });
      const lock = redis.lock("ledger");
      assert(await lock.acquire());
      await flushAll(path);
      assertEquals(await outcome(lock.release()), { error: "StateLost" });
      assertEquals(await lock.locked(), false);
      assert(await lock.acquire({ timeout: 0 }));
      await lock.release();
    }),
);

Deno.test(
  "R-2: a put blocked on a full Queue(1) when the server lost the queue (FLUSHALL) goes on the queue set up again instead of hanging: the loss is reported by the next call, and the queue holds exactly that item",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path }, { leaseMs: 900 });
      const jobs = redis.queue<number>("jobs", { maxsize: 1 });
      await jobs.put(0);
      const putting = jobs.put(1);
      await redis.flush();
      await flushAll(path);
      // the lease refresh finds the loss; the put was never on the server: nothing of it is lost
      await putting;
      await jobs.flush();
      assertEquals(await outcome(jobs.qsize()), { error: "StateLost" });
      assertEquals(await jobs.qsize(), 1);
      assertEquals(await outcome(jobs.putNowait(2)), { error: "QueueFull" });
      assertEquals(await jobs.getNowait(), 1);
    }),
);

Deno.test(
  "R-3: a get blocked when the server lost the queue (FLUSHALL), woken by an item another client put on the queue set up again, takes it once: it is not left listed as this client's on the server, so its close puts nothing back",
  () =>
    withClients(async ({ path, connect }) => {
      const { consumer, taken, jobs } = await wokenAfterFlush(path, connect);
      await taken.taskDone();
      await consumer.flush().catch(() => {});
      await consumer.close();
      const rest = await outcome(jobs.qsize());
      if ("error" in rest) assertEquals(rest.error, "StateLost");
      assertEquals(await jobs.qsize(), 0);
      assertEquals(await jobs.unfinishedTasks, 0);
    }),
);

Deno.test(
  "R-4: a get blocked when the server lost the queue (FLUSHALL) and woken by an item put on the queue set up again: its taskDone, called after the loss was found, counts there, so join() resolves",
  () =>
    withClients(async ({ path, connect }) => {
      const { consumer, taken, jobs } = await wokenAfterFlush(path, connect);
      // the hand-out reaches the server (and finds the loss) before the taskDone is called
      await consumer.flush().catch(() => {});
      await taken.taskDone();
      await consumer.flush();
      const unfinished = await outcome(jobs.unfinishedTasks);
      if ("error" in unfinished) assertEquals(unfinished.error, "StateLost");
      assertEquals(await jobs.unfinishedTasks, 0);
      assert(await jobs.join({ timeout: 0 }));
    }),
);

Deno.test(
  "R-4: join({ timeout: 0 }) with a task outstanding when the server lost the queue (FLUSHALL) rejects StateLost, though another client set the queue up again with no task",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path });
      const other = await connect({ path });
      const jobs = redis.queue<number>("jobs");
      await jobs.put(1);
      await redis.flush();
      assertEquals(await jobs.join({ timeout: 0 }), false);
      await flushAll(path);
      await other.queue<number>("jobs").qsize();
      assertEquals(await outcome(jobs.join({ timeout: 0 })), { error: "StateLost" });
      assertEquals(await jobs.join({ timeout: 0 }), true);
    }),
);

Deno.test(
  "R-1: an acquire blocked when the server lost the semaphore (FLUSHALL) rejects StateLost, and a permit its wait was handed on the semaphore set up again goes back: another client's blocked acquire gets it",
  () =>
    withClients(async ({ path, connect }) => {
      const first = await connect({ path });
      const second = await connect({ path });
      const permits = first.semaphore("permits", 0);
      const acquiring = outcome(permits.acquire());
      await until(async () => (await infoField(path, "blocked_clients")) === 1, "blocked");
      await flushAll(path);
      const again = second.semaphore("permits", 0);
      const waiting = again.acquire({ timeout: 20_000 });
      await until(async () => (await infoField(path, "blocked_clients")) === 2, "both blocked");
      // made for the second client's wait; the first client's move, blocked first, takes it
      await again.release();
      assertEquals(await acquiring, { error: "StateLost" });
      assertEquals(await waiting, true);
    }),
);

Deno.test(
  "R-1/R-3: across a server restart without persistence, a get blocked on one client takes the item another client puts afterwards; the loss is reported by the blocked client's next call",
  async () => {
    const server = await startRedisServer();
    const consumer = await connectRedis({ path: server.path });
    const producer = await connectRedis({ path: server.path });
    try {
      const taken = consumer.queue<number>("jobs");
      const jobs = producer.queue<number>("jobs");
      await jobs.qsize();
      const getting = outcome(taken.get());
      await until(async () => (await infoField(server.path, "blocked_clients")) === 1, "blocked");
      await server.restart();
      // the put goes to the queue set up again (R-9: a put that resolved is not dropped)
      await jobs.put(7);
      await producer.flush();
      // the waiting get held nothing that was lost: it waits on the queue set up again
      assertEquals(await getting, { value: 7 });
      assertEquals(await outcome(taken.qsize()), { error: "StateLost" });
      assertEquals(await taken.qsize(), 0);
    } finally {
      await consumer.close();
      await producer.close();
      await server.stop();
    }
  },
);

Deno.test(
  "R-1/R-3: a get blocked when the server lost the queue (FLUSHALL) takes the item its own client puts afterwards: the put's batch finds the loss and sets the queue up again, and the get waits on that setup",
  () =>
    withClients(async ({ path, connect }) => {
      const redis = await connect({ path });
      const jobs = redis.queue<number>("jobs");
      await jobs.qsize();
      const getting = outcome(jobs.get());
      await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
      await flushAll(path);
      await jobs.put(7);
      await redis.flush();
      assertEquals(await getting, { value: 7 });
      assertEquals(await outcome(jobs.qsize()), { error: "StateLost" });
      assertEquals(await jobs.qsize(), 0);
    }),
);
