/**
 * `connectRedis` as a wait (R-1 and the contract's conventions): a timeout
 * and an `AbortSignal` bound the whole connect, a bad timeout or an
 * already-aborted signal rejects before anything is opened, and nothing (no
 * timer, socket or listener) outlives the settled promise, which the test
 * sanitizers check.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { connectRedis, type RedisClientOptions } from "../src/redis/mod.ts";
import {
  infoField,
  settledWithin,
  until,
  withRedisServer,
  withStallingProxy,
} from "./fixtures/redis_server.ts";

/** No server behind it: a stalling proxy that relays nothing never connects upstream. */
const NO_UPSTREAM = "/nonexistent/redis.sock";

/**
 * Runs `fn` with a proxy that relays its first connection to a real server
 * and stalls every later one; afterwards, a connection of the test's own
 * through the proxy must be answered: it was the first, so `fn` opened none.
 */
function opensNothing(fn: (proxyPath: string) => Promise<void>): () => Promise<void> {
  return () =>
    withRedisServer((path) =>
      withStallingProxy(path, 1, async (proxyPath, accepted) => {
        await fn(proxyPath);
        await settledWithin(
          infoField(proxyPath, "connected_clients"),
          10_000,
          "INFO through the proxy (it stalls every connection but the first)",
        );
        assertEquals(accepted(), 1);
      })
    );
}

Deno.test(
  "R-1: connectRedis with a timeout to a server that never answers rejects TimeoutError once the time runs out and leaves nothing open",
  () =>
    withStallingProxy(NO_UPSTREAM, 0, async (proxyPath, accepted) => {
      // before, the connect never settled: the hang guard is generous
      const error = await settledWithin(
        connectRedis({ path: proxyPath }, { timeout: 100 }).then(
          () => new Error("connected"),
          (error: unknown) => error,
        ),
        10_000,
        "connectRedis",
      );
      if (!(error instanceof DOMException)) throw error;
      assertEquals(error.name, "TimeoutError");
      assertEquals(error.message, "no Redis server answered in time");
      assertEquals(accepted(), 1); // the server did accept the connection
    }),
);

Deno.test(
  "R-1: connectRedis with a timeout whose connection is ready but whose script load is never answered rejects TimeoutError and leaves nothing open",
  () =>
    withStallingProxy(NO_UPSTREAM, 0, async (proxyPath, accepted) => {
      // no ready check and no client info: ioredis is ready once connected, and the first
      // command the server leaves unanswered is the script load
      const target = { path: proxyPath, enableReadyCheck: false, disableClientInfo: true };
      const error = await settledWithin(
        connectRedis(target, { timeout: 100 }).then(
          () => new Error("connected"),
          (error: unknown) => error,
        ),
        10_000,
        "connectRedis",
      );
      if (!(error instanceof DOMException)) throw error;
      assertEquals(error.name, "TimeoutError");
      assertEquals(accepted(), 1);
    }),
);

Deno.test(
  "R-1: connectRedis aborted while the server never answers rejects with signal.reason and leaves nothing open",
  () =>
    withStallingProxy(NO_UPSTREAM, 0, async (proxyPath, accepted) => {
      const controller = new AbortController();
      const connecting = connectRedis({ path: proxyPath }, { signal: controller.signal }).then(
        () => new Error("connected"),
        (error: unknown) => error,
      );
      await until(() => accepted() === 1, "the connection is accepted");
      const reason = new Error("no longer needed");
      controller.abort(reason);
      assert(await settledWithin(connecting, 10_000, "connectRedis") === reason);
    }),
);

Deno.test(
  "R-1: connectRedis with a timeout and a signal to a server that never answers rejects with whichever ends it first",
  () =>
    withStallingProxy(NO_UPSTREAM, 0, async (proxyPath, accepted) => {
      const controller = new AbortController();
      const aborted = connectRedis({ path: proxyPath }, {
        timeout: 3_600_000,
        signal: controller.signal,
      }).then(() => new Error("connected"), (error: unknown) => error);
      await until(() => accepted() === 1, "the first connection is accepted");
      controller.abort();
      const reason = await settledWithin(aborted, 10_000, "the aborted connectRedis");
      assert(reason instanceof DOMException && reason.name === "AbortError", String(reason));
      // a signal that never aborts does not keep the timeout from ending the wait
      const timedOut = await settledWithin(
        connectRedis({ path: proxyPath }, {
          timeout: 50,
          signal: new AbortController().signal,
        }).then(() => new Error("connected"), (error: unknown) => error),
        10_000,
        "the timed connectRedis",
      );
      assert(timedOut instanceof DOMException && timedOut.name === "TimeoutError");
      assertEquals(accepted(), 2);
    }),
);

Deno.test(
  "R-1: connectRedis with an already-aborted signal rejects with its reason at once and opens no connection",
  opensNothing(async (proxyPath) => {
    const reason = new Error("gave up before");
    const error = await assertRejects(() =>
      connectRedis({ path: proxyPath }, { signal: AbortSignal.abort(reason) })
    );
    assert(error === reason);
    // also with a timeout, and when a server would have answered at once
    const also = await assertRejects(() =>
      connectRedis({ path: proxyPath }, { timeout: 1_000, signal: AbortSignal.abort(reason) })
    );
    assert(also === reason);
  }),
);

Deno.test(
  "R-1: connectRedis with a negative, NaN or non-number timeout rejects RangeError (TypeError), ahead of an aborted signal, and opens no connection",
  opensNothing(async (proxyPath) => {
    for (const timeout of [-1, NaN, -Infinity]) {
      await assertRejects(() => connectRedis({ path: proxyPath }, { timeout }), RangeError);
      await assertRejects(
        () => connectRedis({ path: proxyPath }, { timeout, signal: AbortSignal.abort() }),
        RangeError,
      );
    }
    const notNumber = { timeout: "100" } as unknown as RedisClientOptions;
    await assertRejects(() => connectRedis({ path: proxyPath }, notNumber), TypeError);
    const notSignal = { signal: {} } as unknown as RedisClientOptions;
    await assertRejects(() => connectRedis({ path: proxyPath }, notSignal), TypeError);
  }),
);

Deno.test(
  "R-1: connectRedis with timeout 0 does not wait: it rejects TimeoutError and opens no connection",
  opensNothing(async (proxyPath) => {
    const error = await assertRejects(() => connectRedis({ path: proxyPath }, { timeout: 0 }));
    assert(error instanceof DOMException && error.name === "TimeoutError", String(error));
  }),
);

Deno.test(
  "R-1: connectRedis with a timeout and a signal that connects keeps neither: no timer outlives it, and aborting afterwards changes nothing",
  () =>
    withRedisServer(async (path) => {
      const controller = new AbortController();
      // an hour: a timer left behind would still be pending when the test ends (ops sanitizer)
      const redis = await connectRedis({ path }, {
        timeout: 3_600_000,
        signal: controller.signal,
      });
      try {
        controller.abort(new Error("too late"));
        const jobs = redis.queue<number>("after");
        await jobs.put(1);
        assertEquals(await jobs.get({ timeout: 1_000 }), 1);
        await redis.flush();
      } finally {
        await redis.close();
      }
      // Infinity waits as long as needed, as an omitted timeout does
      const unbounded = await connectRedis({ path }, { timeout: Infinity });
      await unbounded.close();
    }),
);
