/**
 * `close()` while the client's connections are away from the server, between
 * two reconnect attempts: the server was stopped, or a relay in front of it
 * refuses every connection (see fixtures/redis_server.ts). Each close must
 * settle within a bound (`settledWithin` turns a hang into a failure) and
 * leave no socket, reconnect or timer behind (the test's sanitizers), and
 * what was batched must reach the server or be reported.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { LinkClosed } from "../src/errors.ts";
import { connectRedis, type RedisClient, type RedisQueue } from "../src/redis/mod.ts";
import {
  infoField,
  type Relay,
  settledWithin,
  startRedisServer,
  until,
  withRedisServer,
  withRelay,
  withRelayedServer,
  withStallingProxy,
} from "./fixtures/redis_server.ts";

/** Far above the 2 s grace periods of a close. */
const BOUND_MS = 20_000;

/** A retry strategy that waits `delay` ms before each reconnect, and counts the waits. */
function slowRetry(delay: number): { retryStrategy: () => number; waits: () => number } {
  let waits = 0;
  return {
    retryStrategy: () => {
      waits++;
      return delay;
    },
    waits: () => waits,
  };
}

/** How a call ended: its value, or its error. */
function outcome(call: Promise<unknown>): Promise<unknown> {
  return call.then((value) => ({ value }), (error) => error);
}

/** A client through `relay` whose reconnects each wait 60 s, its queue "jobs", and its waits. */
async function slowClient(
  relay: Relay,
): Promise<{ redis: RedisClient; jobs: RedisQueue<number>; waits: () => number }> {
  const slow = slowRetry(60_000);
  const redis = await connectRedis({ path: relay.path, retryStrategy: slow.retryStrategy });
  return { redis, jobs: redis.queue<number>("jobs"), waits: slow.waits };
}

/** A {@linkcode slowClient} that put 1 and flushed it, once `away` made it wait to reconnect. */
async function waitingToReconnect(
  relay: Relay,
  away: () => void,
): Promise<{ redis: RedisClient; jobs: RedisQueue<number>; waits: () => number }> {
  const client = await slowClient(relay);
  await client.jobs.put(1);
  await client.redis.flush();
  away();
  await until(() => client.waits() === 1, "the connection waits to reconnect");
  return client;
}

Deno.test(
  "R-1: close() while the client's connection waits to reconnect (the server was stopped; the default retryStrategy) resolves and leaves nothing open",
  async () => {
    const server = await startRedisServer();
    const redis = await connectRedis({ path: server.path });
    try {
      const jobs = redis.queue<number>("jobs");
      await jobs.put(1);
      assertEquals(await jobs.get(), 1);
      await jobs.taskDone();
      await redis.flush();
      await server.stop();
      await settledWithin(redis.close(), BOUND_MS, "close()");
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "R-1: close() while the client's connection waits to reconnect (a relay refuses every connection; the default retryStrategy) resolves and leaves nothing open",
  withRelayedServer(async ({ relay }) => {
    const redis = await connectRedis({ path: relay.path });
    const jobs = redis.queue<number>("jobs");
    await jobs.put(1);
    await redis.flush();
    const accepted = relay.accepted();
    relay.down();
    await until(() => relay.accepted() >= accepted + 3, "3 failed reconnects");
    await settledWithin(redis.close(), BOUND_MS, "close()");
  }),
);

Deno.test(
  "R-1: close() while the client's connection waits 60 s to reconnect (a user's slow retryStrategy) resolves within its grace periods and leaves no reconnect behind",
  withRelayedServer(async ({ relay }) => {
    const { redis, waits } = await waitingToReconnect(relay, () => relay.down());
    // Before the fix, the close cut the connection between two attempts: ioredis cleared the
    // timer of the next one and never ended it, and close() waited for it for ever.
    await settledWithin(redis.close(), BOUND_MS, "close()");
    assertEquals(waits(), 1, "no reconnect was attempted once closing");
  }),
);

Deno.test(
  "R-1: close() while a blocked get waits and its pooled connection waits to reconnect (the default retryStrategy) resolves, and the get rejects LinkClosed",
  withRelayedServer(async ({ path, relay }) => {
    const redis = await connectRedis({ path: relay.path });
    const jobs = redis.queue<number>("jobs");
    await jobs.qsize();
    const getting = outcome(jobs.get());
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
    const accepted = relay.accepted();
    // every connection cut, the client's own and the get's pooled one
    relay.down();
    await until(() => relay.accepted() >= accepted + 4, "failed reconnects of both");
    await settledWithin(redis.close(), BOUND_MS, "close()");
    assertInstanceOf(await getting, LinkClosed);
  }),
);

Deno.test(
  "R-1: close() while a blocked get waits and its pooled connection waits 60 s to reconnect (the client's own is up) resolves, and the get rejects LinkClosed",
  withRelayedServer(async ({ path, relay, raw }) => {
    const { redis, jobs, waits } = await slowClient(relay);
    await jobs.qsize();
    const getting = outcome(jobs.get());
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
    // the pooled connection (the client's second) is cut and cannot get back
    relay.down((accepted) => accepted === 1);
    await until(() => waits() === 1, "the pooled connection waits to reconnect");
    // Before the fix, the close cut the pooled connection between two attempts: ioredis
    // never ended it, and close() waited for the get's move for ever.
    await settledWithin(redis.close(), BOUND_MS, "close()");
    assertInstanceOf(await getting, LinkClosed);
    assertEquals(waits(), 1, "no reconnect was attempted once closing");
    // the close reached the server: the client holds nothing there
    assertEquals(await raw.llen(`baton:{q:jobs}:wait:${redis.id}`), 0);
  }),
);

Deno.test(
  "R-1: close() while an idle pooled connection (a get's, done) waits 60 s to reconnect resolves, and leaves no reconnect behind",
  withRelayedServer(async ({ path, relay }) => {
    const { redis, jobs, waits } = await slowClient(relay);
    await jobs.qsize();
    const getting = jobs.get();
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "get blocks");
    await jobs.put(1);
    assertEquals(await getting, 1);
    await jobs.taskDone();
    await redis.flush();
    // the pooled connection, idle now, is cut and cannot get back; the client's own stays
    relay.down((accepted) => accepted === 1);
    await until(() => waits() === 1, "the pooled connection waits to reconnect");
    // Before the fix, the close quit it by waiting for its next attempt, 60 s away, then cut
    // it: ioredis cleared the timer of that attempt and never ended it.
    await settledWithin(redis.close(), BOUND_MS, "close()");
    assertEquals(waits(), 1, "no reconnect was attempted once closing");
  }),
);

Deno.test(
  "R-9: close() with puts batched and not sent while the server is gone for good rejects, reporting them (they never reached it), and leaves nothing open",
  withRelayedServer(async ({ relay, raw }) => {
    const redis = await connectRedis({ path: relay.path });
    const jobs = redis.queue<number>("jobs");
    await jobs.put(1);
    await redis.flush();
    const accepted = relay.accepted();
    relay.down();
    await until(() => relay.accepted() > accepted, "a failed reconnect");
    // batched: it resolves before it reached the server
    await jobs.put(2);
    const closed = await settledWithin(outcome(redis.close()), BOUND_MS, "close()");
    assertInstanceOf(closed, AggregateError, "close() reports the puts it could not send");
    assertEquals(await raw.lrange("baton:{q:jobs}:items", 0, -1), ["v1"]);
  }),
);

Deno.test(
  "R-9: close() with puts batched and not sent while the server is gone for good, and a user's slow retryStrategy, rejects reporting them",
  withRelayedServer(async ({ relay, raw }) => {
    const { redis, jobs } = await waitingToReconnect(relay, () => relay.down());
    await jobs.put(2);
    const closed = await settledWithin(outcome(redis.close()), BOUND_MS, "close()");
    assertInstanceOf(closed, AggregateError, "close() reports the puts it could not send");
    assertEquals(await raw.lrange("baton:{q:jobs}:items", 0, -1), ["v1"]);
  }),
);

Deno.test(
  "R-9: close() after the server was stopped for good, with a blocked get, a batched put and every connection waiting 60 s to reconnect, rejects reporting the put, and the get rejects LinkClosed",
  async () => {
    const server = await startRedisServer();
    try {
      const slow = slowRetry(60_000);
      const redis = await connectRedis({ path: server.path, retryStrategy: slow.retryStrategy });
      const jobs = redis.queue<number>("jobs");
      const results = redis.queue<number>("results");
      await jobs.qsize();
      await results.put(0);
      await redis.flush();
      const getting = outcome(jobs.get());
      await until(
        async () => (await infoField(server.path, "blocked_clients")) === 1,
        "get blocks",
      );
      await server.stop();
      // the client's own connection and the get's pooled one
      await until(() => slow.waits() === 2, "both connections wait to reconnect");
      await results.put(1);
      const closed = await settledWithin(outcome(redis.close()), BOUND_MS, "close()");
      assertInstanceOf(closed, AggregateError, "close() reports the put it could not send");
      assertInstanceOf(await getting, LinkClosed);
      assertEquals(slow.waits(), 2, "no reconnect was attempted once closing");
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "R-9: close() while the client's connection waits 60 s to reconnect, and the server then accepts connections and never answers, rejects reporting a batched put once its grace period is over",
  () =>
    withRedisServer((path) =>
      // the proxy relays the client's first connection, and stalls every later one
      withStallingProxy(path, 1, (proxyPath, accepted) =>
        withRelay(proxyPath, async (relay) => {
          const { redis, jobs, waits } = await waitingToReconnect(relay, () => relay.cut());
          await jobs.put(2);
          const closed = await settledWithin(outcome(redis.close()), BOUND_MS, "close()");
          assertInstanceOf(closed, AggregateError, "close() reports the put it could not send");
          // the close tried once more, and the server took the connection
          assertEquals(accepted(), 2);
          assertEquals(waits(), 1, "no reconnect was attempted once closing");
        }))
    ),
);

Deno.test(
  "R-9: close() while the client's connection waits 60 s to reconnect and the server is back sends what was batched",
  withRelayedServer(async ({ relay, raw }) => {
    const { redis, jobs, waits } = await waitingToReconnect(relay, () => relay.down());
    await jobs.put(2);
    relay.up();
    // Before the fix, the close waited out the retry delay's first 2 s, then cut the
    // connection: the batched put was lost though the server was there.
    await settledWithin(redis.close(), BOUND_MS, "close()");
    assertEquals(await raw.lrange("baton:{q:jobs}:items", 0, -1), ["v1", "v2"]);
    assert(waits() === 1, "no reconnect was attempted once closing");
  }),
);
