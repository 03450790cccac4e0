/**
 * Event, Semaphore, BoundedSemaphore and Lock kept in Redis,
 * against a throwaway `redis-server`.
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import type { RemoteSemaphore } from "@baton/baton/worker";
import { scenario, spawn } from "./fixtures/redis_process.ts";
import { infoField, until } from "./fixtures/redis_server.ts";
import { withClients } from "./fixtures/redis_clients.ts";

Deno.test(
  "R-1: an event set on one client wakes every waiter on every client (E-1)",
  withClients(3, async ([a, b, c]) => {
    const waits = [a!.event("go").wait(), b!.event("go").wait(), b!.event("go").wait()];
    assertEquals(await c!.event("go").isSet(), false);
    assertEquals(await c!.event("go").wait({ timeout: 0 }), false);
    assertEquals(await c!.event("go").wait({ timeout: 20 }), false);
    await c!.event("go").set();
    assertEquals(await Promise.all(waits), [true, true, true]);
    assertEquals(await a!.event("go").wait({ timeout: 0 }), true);
    await a!.event("go").clear();
    assertEquals(await b!.event("go").isSet(), false);
    await assertRejects(() => a!.event("go").wait({ timeout: -1 }), RangeError);
    const reason = new Error("stop");
    await assertRejects(
      () => a!.event("go").wait({ signal: AbortSignal.abort(reason) }),
      Error,
      "stop",
    );
    const controller = new AbortController();
    const waiting = a!.event("go").wait({ signal: controller.signal });
    controller.abort(reason);
    await assertRejects(() => waiting, Error, "stop");
  }),
);

Deno.test(
  "R-1: semaphore permits across clients, waiters served in the order they blocked (S-2)",
  withClients(3, async ([a, b, c], path) => {
    // compile-time: a Redis semaphore has the shape of a worker proxy's
    const sa: RemoteSemaphore = a!.semaphore("permits", 1);
    const sb = b!.semaphore("permits", 1);
    const sc = c!.semaphore("permits", 1);
    assertEquals(await sa.acquire(), true);
    assertEquals(await sb.acquire({ timeout: 0 }), false);
    assertEquals(await sb.acquire({ timeout: 20 }), false);
    assertEquals(await sc.value, 0);
    const order: string[] = [];
    const first = sb.acquire().then(() => void order.push("b"));
    await until(async () => await infoField(path, "blocked_clients") === 1, "b blocks");
    const second = sc.acquire().then(() => void order.push("c"));
    await until(async () => await infoField(path, "blocked_clients") === 2, "c blocks");
    assertEquals(await sa.waiting, 2);
    await sa.release();
    await first;
    await sa.release();
    await second;
    assertEquals(order, ["b", "c"]);
    await until(async () => (await sa.waiting) === 0, "no acquire waits");
    await sb.release(2);
    assertEquals(await sa.value, 2);
    await assertRejects(() => sa.release(0), RangeError);
    {
      using _permit = await sa.hold();
      assertEquals(await sa.value, 1);
    }
    await until(async () => (await sa.value) === 2, "the held permit goes back");
  }),
);

Deno.test(
  "R-1: a bounded semaphore refuses a release beyond its initial value (S-3)",
  withClients(2, async ([a, b]) => {
    const sa = a!.boundedSemaphore("bounded", 2);
    const sb = b!.boundedSemaphore("bounded", 2);
    await assertRejects(() => sa.release(), RangeError);
    assertEquals(await sb.value, 2);
    assertEquals(await sb.acquire(), true);
    await assertRejects(() => sa.release(2), RangeError);
    assertEquals(await sa.value, 1);
    await sa.release();
    assertEquals(await sb.value, 2);
  }),
);

Deno.test(
  "R-1/S-1: a Redis semaphore refuses a value or a count above Number.MAX_SAFE_INTEGER with RangeError, as locally",
  withClients(1, async ([redis]) => {
    const MAX = Number.MAX_SAFE_INTEGER;
    for (const bad of [MAX + 1, 2 ** 60]) {
      assertThrows(() => redis!.semaphore("huge", bad), RangeError, "MAX_SAFE_INTEGER");
      assertThrows(
        () => redis!.boundedSemaphore("huge-bounded", bad),
        RangeError,
        "MAX_SAFE_INTEGER",
      );
    }
    const permits = redis!.semaphore("permits", 1);
    const bounded = redis!.boundedSemaphore("bounded", 1);
    for (const semaphore of [permits, bounded]) {
      assertEquals(await semaphore.acquire(), true);
      await assertRejects(() => semaphore.release(2 ** 60), RangeError, "MAX_SAFE_INTEGER");
      await assertRejects(() => semaphore.release(MAX + 1), RangeError, "MAX_SAFE_INTEGER");
      assertEquals(await semaphore.value, 0);
      await semaphore.release();
      assertEquals(await semaphore.value, 1);
    }
  }),
);

Deno.test(
  "R-7: a lock's fencing token grows with every acquire, on every client",
  withClients(3, async (clients) => {
    const locks = clients.map((client) => client.lock("ledger"));
    const tokens: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const lock of locks) {
        assertEquals(await lock.acquire({ timeout: 5_000 }), true);
        assertEquals(await lock.locked(), true);
        tokens.push(lock.token!);
        await lock.release();
      }
    }
    for (let i = 1; i < tokens.length; i++) assert(tokens[i]! > tokens[i - 1]!);
    assertEquals(await locks[0]!.locked(), false);
    await assertRejects(() => locks[1]!.release(), Error, "does not hold");
    assertEquals(await locks[0]!.acquire(), true);
    assertEquals(await locks[1]!.acquire({ timeout: 0 }), false);
    await assertRejects(() => locks[1]!.release(), Error, "does not hold");
    await locks[0]!.release();
  }),
);

Deno.test(
  "R-7: after a holder's lease ran out, the next token is greater than the dead holder's",
  scenario(200, async (main, _raw, path, started) => {
    const holder = spawn(started, "hold", path, "fenced", "lock", 600);
    await holder.waitFor(() => holder.numbers("token").length === 1, "the holder's token");
    const dead = holder.numbers("token")[0]!;
    holder.signal("SIGKILL");
    await holder.status();
    const lock = main.lock("fenced");
    assertEquals(await lock.acquire({ timeout: 30_000 }), true);
    assert(lock.token! > dead, `token ${lock.token} after ${dead}`);
    await lock.release();
  }),
);

Deno.test(
  "R-3: permits a killed process held come back",
  scenario(200, async (main, _raw, path, started) => {
    const holder = spawn(started, "hold", path, "pool", "sem", 600);
    await holder.waitFor(() => holder.lines.includes("held"), "the holder's permit");
    const pool = main.semaphore("pool", 2);
    assertEquals(await pool.value, 1);
    holder.signal("SIGKILL");
    await holder.status();
    await until(async () => (await pool.value) === 2, "the reaper returns the permit");
    assertEquals(await pool.acquire({ timeout: 0 }), true);
    assertEquals(await pool.acquire({ timeout: 0 }), true);
    assertEquals(await pool.acquire({ timeout: 0 }), false);
  }),
);
