/**
 * The Redis layer under server faults: connections cut mid-call, replies
 * lost on the way, a server that stalls or restarts. The faults come from a
 * socket relay in front of a throwaway server (see fixtures/redis_server.ts).
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { Redis } from "ioredis";
import { connectRedis } from "../src/redis/mod.ts";
import { until, withRedisServer, withRelay } from "./fixtures/redis_server.ts";

Deno.test(
  "R-2: a call the server ran whose reply a connection cut lost runs once, though the client sends it again: puts are not duplicated, a release adds one permit",
  () =>
    withRedisServer((path) =>
      withRelay(path, async (relay) => {
        const raw = new Redis({ path });
        const redis = await connectRedis({ path: relay.path });
        try {
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
        } finally {
          await redis.close();
          raw.disconnect();
        }
      })
    ),
);
