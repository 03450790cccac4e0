/**
 * The Redis layer under server faults: connections cut mid-call, replies
 * lost on the way, a server that stalls or restarts. The faults come from a
 * socket relay in front of a throwaway server (see fixtures/redis_server.ts).
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { Redis } from "ioredis";
import { LinkClosed } from "../src/errors.ts";
import { connectRedis } from "../src/redis/mod.ts";
import {
  infoField,
  settledWithin,
  startRedisServer,
  until,
  withRelayedServer,
} from "./fixtures/redis_server.ts";

Deno.test(
  "R-2: a call the server ran whose reply a connection cut lost runs once, though the client sends it again: puts are not duplicated, a release adds one permit",
  withRelayedServer(async ({ relay, raw, connect }) => {
    const redis = await connect({ path: relay.path });
    const jobs = redis.queue<number>("jobs");
    const permits = redis.semaphore("permits", 0);
    await jobs.put(1);
    assertEquals(await permits.value, 0);
    // the server runs the batch and the release; their replies are lost, then the
    // connection is cut: the client reconnects and sends both again
    relay.dropReplies();
    await jobs.put(2);
    const flushing = redis.flush();
    const releasing = permits.release();
    await until(
      async () =>
        (await raw.llen("baton:{q:jobs}:items")) === 2 &&
        (await raw.hget("baton:{s:permits}:meta", "count")) === "1",
      "the server ran both calls",
    );
    relay.cut();
    await flushing;
    await releasing;
    assertEquals(await raw.lrange("baton:{q:jobs}:items", 0, -1), ["v1", "v2"]);
    assertEquals(await jobs.qsize(), 2);
    assertEquals(await permits.value, 1);
  }),
);

Deno.test(
  "R-1: close() after the server went away with calls in flight (a flush, a blocked get, event wait and acquire) resolves, and each call rejects LinkClosed",
  withRelayedServer(async ({ path, relay }) => {
    // its own: it is ended before the relay goes down (the fixture would end it twice)
    const raw = new Redis({ path });
    const redis = await connectRedis({ path: relay.path });
    const jobs = redis.queue<number>("jobs");
    await jobs.put(1);
    await jobs.get();
    const outcome = (call: Promise<unknown>) => call.then(() => "settled", (error) => error);
    const calls = [
      outcome(jobs.get()),
      outcome(redis.event("go").wait()),
      outcome(redis.semaphore("permits", 0).acquire()),
    ];
    await until(
      async () => (await infoField(path, "blocked_clients")) === 3,
      "3 blocked calls",
    );
    // a flush whose reply is lost: the client's connection keeps it to send again
    relay.dropReplies();
    await jobs.taskDone();
    calls.push(outcome(redis.flush()));
    await until(
      async () => (await raw.hget("baton:{q:jobs}:meta", "unfinished")) === "0",
      "the server ran the flush",
    );
    raw.disconnect();
    const accepted = relay.accepted();
    relay.down();
    // each of the four connections (the client's own, three pooled ones) tried to reconnect
    await until(() => relay.accepted() >= accepted + 4, "reconnect attempts");
    // Before the fix, the calls the connections kept to send again once reconnected never
    // settled when the close ended them after a failed reconnect, nor did close(); the others
    // rejected with the connection's error. Generous: the grace period is 2 s.
    await settledWithin(redis.close(), 20_000, "close()");
    for (const call of calls) assertInstanceOf(await call, LinkClosed);
  }),
);

Deno.test(
  "R-2: a blocked get whose connection is cut after the server moved it an item (the reply lost) gets that item, then the next; nothing is lost or handed out twice",
  withRelayedServer(async ({ path, relay, raw, connect }) => {
    const producer = await connect({ path });
    const consumer = await connect({ path: relay.path });
    const jobs = producer.queue<number>("jobs");
    const taken = consumer.queue<number>("jobs");
    await taken.qsize();
    const getting = taken.get();
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
    // the get's move runs; its reply is lost, then the cut: the connection sends it again
    relay.dropReplies();
    await jobs.put(1);
    await producer.flush();
    const wait = `baton:{q:jobs}:wait:${consumer.id}`;
    await until(async () => (await raw.llen(wait)) === 1, "the server moved item 1");
    await jobs.put(2);
    await producer.flush();
    relay.cut();
    assertEquals(await getting, 1);
    assertEquals(await taken.get({ timeout: 10_000 }), 2);
    await taken.taskDone();
    await taken.taskDone();
    await consumer.close();
    assertEquals(await jobs.qsize(), 0);
    assertEquals(await jobs.unfinishedTasks, 0);
  }),
);

Deno.test(
  "R-2: a blocked put whose connection is cut after the server moved it a slot (the reply lost) puts on that slot; maxsize stays exact",
  withRelayedServer(async ({ path, relay, raw, connect }) => {
    const consumer = await connect({ path });
    const producer = await connect({ path: relay.path });
    const taken = consumer.queue<number>("jobs", { maxsize: 1 });
    const jobs = producer.queue<number>("jobs", { maxsize: 1 });
    await jobs.put(1);
    const putting = jobs.put(2);
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "put blocks");
    // the put's move runs once the get frees the slot; its reply is lost, then the cut
    relay.dropReplies();
    assertEquals(await taken.get(), 1);
    await taken.taskDone();
    await consumer.flush();
    const resv = `baton:{q:jobs}:resv:${producer.id}`;
    await until(async () => (await raw.llen(resv)) === 1, "the server moved the slot");
    relay.cut();
    await settledWithin(putting, 10_000, "the put on the slot it was moved");
    assertEquals(await taken.get(), 2);
    await taken.taskDone();
    await producer.close();
    assertEquals(await taken.qsize(), 0);
    assertEquals(await taken.full(), false);
    await taken.put(3);
    assertEquals(await taken.full(), true);
  }),
);

Deno.test(
  "R-1: a blocked lock acquire whose connection is cut after the server handed it the lock (the reply lost) acquires it, and its release frees the lock for others",
  withRelayedServer(async ({ path, relay, connect }) => {
    const holder = await connect({ path });
    const waiter = await connect({ path: relay.path });
    const held = holder.lock("ledger");
    const wanted = waiter.lock("ledger");
    assert(await held.acquire());
    const acquiring = wanted.acquire();
    await until(
      async () => (await infoField(path, "blocked_clients")) === 1,
      "acquire blocks",
    );
    // the acquire's move runs once the lock is released; its reply is lost, then the cut
    relay.dropReplies();
    await held.release();
    await until(async () => (await infoField(path, "blocked_clients")) === 0, "handed over");
    relay.cut();
    assert(
      await settledWithin(acquiring, 10_000, "the acquire"),
      "the acquire took the lock it was handed",
    );
    assert(!(await held.acquire({ timeout: 0 })), "held by the waiter");
    await wanted.release();
    assert(await held.acquire({ timeout: 0 }), "released");
    await held.release();
  }),
);

Deno.test(
  "R-1: close() while the server stalls (it answers nothing, its connections stay open) resolves once the server had a grace period; the calls it cut reject LinkClosed",
  withRelayedServer(async ({ relay }) => {
    const redis = await connectRedis({ path: relay.path });
    const jobs = redis.queue<number>("jobs");
    await jobs.put(0);
    await redis.flush();
    assert(await redis.lock("ledger").acquire());
    relay.stall();
    await jobs.put(1);
    const flushing = redis.flush().then(() => "flushed", (error) => error);
    // Before the fix, close() waited for the server as long as it stalled. Generous: the
    // grace period is 2 s.
    await settledWithin(redis.close(), 20_000, "close()");
    assertInstanceOf(await flushing, LinkClosed);
  }),
);

Deno.test(
  "R-1: across a server restart (it comes back empty on the same socket), a blocked get takes an item put afterwards, and close() resolves",
  async () => {
    const server = await startRedisServer();
    const redis = await connectRedis({ path: server.path });
    try {
      const jobs = redis.queue<number>("jobs");
      const getting = jobs.get();
      await until(async () => (await infoField(server.path, "blocked_clients")) === 1, "blocked");
      await server.restart();
      await jobs.put(7);
      assertEquals(await getting, 7);
    } finally {
      await redis.close();
      await server.stop();
    }
  },
);

Deno.test(
  "R-2: a blocked get that waits for its connection to get back to the server keeps waiting through failed reconnects, and gets the first item put",
  withRelayedServer(async ({ path, relay, connect }) => {
    const producer = await connect({ path });
    const consumer = await connect({ path: relay.path });
    const jobs = producer.queue<number>("jobs");
    const taken = consumer.queue<number>("jobs");
    // a blocked get opens the consumer's pooled connection (its second)
    const first = taken.get();
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
    await jobs.put(0);
    assertEquals(await first, 0);
    // the pooled connection is cut and cannot get back; the client's own stays
    relay.down((accepted) => accepted === 1);
    const getting = taken.get();
    // its move waits to be sent while reconnects fail
    const accepted = relay.accepted();
    await until(() => relay.accepted() >= accepted + 2, "two failed reconnects");
    relay.up();
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
    await jobs.put(1);
    await jobs.put(2);
    await producer.flush();
    // Before the fix, a failed reconnect counted as the move's loss: a second move went
    // after it, and the first took item 1 where the get never looked.
    assertEquals(await settledWithin(getting, 10_000, "the get"), 1);
    assertEquals(await taken.get(), 2);
  }),
);

Deno.test(
  "R-5: while the server stalls, an event wait, a join and an acquire time out, and an aborted wait rejects with its reason; once it answers again, no permit is left taken",
  withRelayedServer(async ({ path, relay, connect }) => {
    const redis = await connect({ path: relay.path });
    const other = await connect({ path });
    const go = redis.event("go");
    const jobs = redis.queue<number>("jobs");
    const permits = redis.semaphore("permits", 1);
    assert(await permits.acquire());
    await jobs.put(1);
    await jobs.qsize();
    assert(!(await go.wait({ timeout: 1 })));
    relay.stall();
    const abort = new AbortController();
    const calls = [
      go.wait({ timeout: 100 }).then(String, (error) => error.name),
      jobs.join({ timeout: 100 }).then(String, (error) => error.name),
      permits.acquire({ timeout: 100 }).then(String, (error) => error.name),
      go.wait({ signal: abort.signal }).then(String, (error) => error.name),
    ];
    abort.abort();
    // Before the fix, each waited for the server as long as it stalled.
    assertEquals(await settledWithin(Promise.all(calls), 10_000, "the waits"), [
      "false",
      "false",
      "false",
      "AbortError",
    ]);
    relay.resume();
    await permits.release();
    assert(await other.semaphore("permits", 1).acquire({ timeout: 10_000 }));
  }),
);

Deno.test(
  "R-9: a put that resolved while the server was away for many reconnects reaches it once it is back (the client stays alive)",
  withRelayedServer(async ({ relay, raw, connect }) => {
    // quick reconnects: many of them in little time
    const redis = await connect({ path: relay.path, retryStrategy: () => 5 });
    const jobs = redis.queue<number>("jobs");
    await jobs.put(1);
    await redis.flush();
    let accepted = relay.accepted();
    relay.down();
    await until(() => relay.accepted() > accepted, "a failed reconnect");
    await jobs.put(2);
    const flushing = redis.flush().then(() => "flushed", (error) => error);
    // more failed reconnects than ioredis retries a command for by default (20)
    accepted = relay.accepted();
    await until(() => relay.accepted() >= accepted + 30, "30 failed reconnects");
    relay.up();
    assertEquals(await flushing, "flushed");
    assertEquals(await raw.lrange("baton:{q:jobs}:items", 0, -1), ["v1", "v2"]);
  }),
);

Deno.test(
  "R-8: while the server is away, the lease refreshes a client could not send do not pile up to be sent once it is back",
  withRelayedServer(async ({ relay, raw, connect }) => {
    // a lease refreshed every 10 ms, quick reconnects
    const redis = await connect({ path: relay.path, retryStrategy: () => 5 }, {
      leaseMs: 30,
    });
    const jobs = redis.queue<number>("jobs");
    await jobs.put(1);
    await redis.flush();
    const calls = async () => {
      const stats = String(await raw.info("commandstats"));
      return Number(stats.match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
    };
    const accepted = relay.accepted();
    relay.down();
    // away for 60 failed reconnects: 300 ms at least, 30 refreshes due at least
    await until(() => relay.accepted() >= accepted + 60, "60 failed reconnects");
    const before = await calls();
    relay.up();
    await until(async () => (await jobs.qsize()) === 1, "back");
    // back: a refresh or two, the qsize call, not one per refresh due while away
    const sent = (await calls()) - before;
    assert(sent < 15, `${sent} script calls once back`);
  }),
);

/** The fields of `once:<client>:<seq>`: the replies the server keeps whole for `client`. */
async function keptWhole(raw: Redis, meta: string, client: string): Promise<string[]> {
  return Object.keys(await raw.hgetall(meta)).filter((field) =>
    field.startsWith(`once:${client}:`)
  );
}

Deno.test(
  "R-2: a fetch the server ran whose reply a connection cut lost is answered again from the items it took, with no copy of them kept: each item once, in order",
  withRelayedServer(async ({ path, relay, raw, connect }) => {
    const producer = await connect({ path });
    const consumer = await connect({ path: relay.path });
    const jobs = producer.queue<number>("jobs");
    for (let i = 1; i <= 9; i++) await jobs.put(i);
    await producer.flush();
    const taken = consumer.queue<number>("jobs");
    // a window of 1, all taken: the next get fetches a window of 2
    assertEquals(await taken.get(), 1);
    await taken.taskDone();
    const proc = `baton:{q:jobs}:proc:${consumer.id}`;
    const meta = "baton:{q:jobs}:meta";
    // the fetch (after the batch of item 1's hand-out and taskDone) runs; both replies lost
    relay.dropReplies();
    // settled either way: a failed assertion below must not leave it rejecting unheard
    const getting = taken.get().catch((error) => error);
    await until(
      async () => (await raw.lrange(proc, 0, -1)).join() === "v2,v3",
      "the server ran the fetch",
    );
    assertEquals(await keptWhole(raw, meta, consumer.id), []);
    relay.cut();
    assertEquals(await settledWithin(getting, 10_000, "the get"), 2);
    const got = [2];
    for (let i = 3; i <= 9; i++) got.push(await taken.get());
    assertEquals(got, [2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 2; i <= 9; i++) await taken.taskDone();
    await consumer.flush();
    assertEquals(await jobs.qsize(), 0);
    assertEquals(await jobs.unfinishedTasks, 0);
    assertEquals(await raw.llen(proc), 0);
  }),
);

Deno.test(
  "R-2/R-9: a fetch whose reply a cut lost, and whose items a shutdown(true) discarded before it was sent again, takes nothing: the get rejects QueueShutDown and every task counts done",
  withRelayedServer(async ({ path, relay, raw, connect }) => {
    const producer = await connect({ path });
    const consumer = await connect({ path: relay.path });
    const jobs = producer.queue<number>("jobs");
    for (let i = 1; i <= 3; i++) await jobs.put(i);
    await producer.flush();
    const taken = consumer.queue<number>("jobs");
    await taken.qsize();
    const proc = `baton:{q:jobs}:proc:${consumer.id}`;
    relay.dropReplies();
    const getting = taken.get().then(String, (error) => error.name);
    await until(async () => (await raw.llen(proc)) === 1, "the server ran the fetch");
    await jobs.shutdown(true);
    relay.cut();
    assertEquals(await settledWithin(getting, 10_000, "the get"), "QueueShutDown");
    assertEquals(await jobs.unfinishedTasks, 0);
    assert(await jobs.join({ timeout: 0 }));
    assertEquals(await raw.llen(proc), 0);
  }),
);

Deno.test(
  "R-2/R-3: a fetch whose reply a cut lost, while the client was reaped and its items went back, runs again once the client takes part again: each item once, in order",
  withRelayedServer(async ({ path, relay, raw, connect }) => {
    // the producer's refreshes reap the consumer once its lease ran out
    const producer = await connect({ path }, { leaseMs: 100 });
    const consumer = await connect({ path: relay.path }, { leaseMs: 300 });
    const jobs = producer.queue<number>("jobs");
    for (let i = 1; i <= 4; i++) await jobs.put(i);
    await producer.flush();
    const taken = consumer.queue<number>("jobs");
    await taken.qsize();
    const proc = `baton:{q:jobs}:proc:${consumer.id}`;
    relay.dropReplies();
    const getting = taken.get().catch((error) => error);
    await until(async () => (await raw.llen(proc)) === 1, "the server ran the fetch");
    // the consumer's refreshes no longer arrive: it is reaped, item 1 goes back
    relay.stall();
    await until(
      async () => (await raw.zscore("baton:{q:jobs}:reaped", consumer.id)) !== null,
      "the consumer was reaped",
    );
    assertEquals(await raw.lrange("baton:{q:jobs}:items", 0, 0), ["v1"]);
    relay.resume();
    relay.cut();
    assertEquals(await settledWithin(getting, 10_000, "the get"), 1);
    const got = [1];
    for (let i = 2; i <= 4; i++) got.push(await taken.get());
    assertEquals(got, [1, 2, 3, 4]);
    for (let i = 1; i <= 4; i++) await taken.taskDone();
    await consumer.flush();
    assertEquals(await jobs.qsize(), 0);
    assertEquals(await jobs.unfinishedTasks, 0);
  }),
);
