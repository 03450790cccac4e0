/**
 * Lock against API.md L-1 and the conventions, with CPython's lock_tests
 * (BaseLockTests, LockTests) ported (python-semantics.md §2.4).
 */

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Lock } from "../mod.ts";
import { abortedSignal, flush, track, watchListeners, withFakeTime } from "./_helpers.ts";

Deno.test("L-1: release passes the lock straight to the oldest waiter", async () => {
  const lock = new Lock();
  await lock.acquire();
  const order: number[] = [];
  const waiters = [0, 1, 2, 3, 4].map(async (id) => {
    await lock.acquire();
    order.push(id);
    await Promise.resolve();
    lock.release();
  });
  await flush();
  assertEquals(order, []);
  lock.release();
  // Handed over, not freed: nobody can barge in before the waiter runs.
  assertEquals(lock.locked(), true);
  assertEquals(await lock.acquire({ timeout: 0 }), false);
  await Promise.all(waiters);
  assertEquals(order, [0, 1, 2, 3, 4]);
  assertEquals(lock.locked(), false);
});

Deno.test("L-1: a waiter that timed out or was aborted is skipped by the hand-off", async () => {
  await withFakeTime(async (clock) => {
    const lock = new Lock();
    await lock.acquire();
    const controller = new AbortController();
    const timed = track(lock.acquire({ timeout: 10 }));
    const aborted = track(lock.acquire({ signal: controller.signal }));
    const patient = track(lock.acquire());
    await clock.tickAsync(10);
    controller.abort();
    await flush();
    assertEquals(timed.value, false);
    assertEquals(aborted.status, "rejected");
    lock.release();
    await flush();
    assertEquals(patient.value, true);
    assertEquals(lock.locked(), true);
    lock.release();
    assertEquals(lock.locked(), false);
  });
});

Deno.test("L-1: five contending tasks all finish after the holder releases (test_acquire_contended)", async () => {
  const lock = new Lock();
  await lock.acquire();
  let finished = 0;
  const tasks = Array.from({ length: 5 }, async () => {
    await lock.acquire();
    lock.release();
    finished++;
  });
  await flush();
  assertEquals(finished, 0);
  lock.release();
  await Promise.all(tasks);
  assertEquals(finished, 5);
});

Deno.test("Lock: acquire, release and locked() (test_acquire_release, test_try_acquire)", async () => {
  const lock = new Lock();
  assertEquals(lock.locked(), false);
  assertEquals(await lock.acquire(), true);
  assertEquals(lock.locked(), true);
  lock.release();
  assertEquals(lock.locked(), false);
  assertEquals(await lock.acquire({ timeout: 0 }), true);
  lock.release();
});

Deno.test("Lock: a try-acquire from another task while held returns false (test_try_acquire_contended)", async () => {
  const lock = new Lock();
  await lock.acquire();
  const other = await (async () => await lock.acquire({ timeout: 0 }))();
  assertEquals(other, false);
  assertEquals(lock.locked(), true);
  lock.release();
});

Deno.test("Lock: a second acquire waits until another task releases (test_reacquire, test_different_thread)", async () => {
  const lock = new Lock();
  await lock.acquire();
  const second = track(lock.acquire());
  await flush();
  assertEquals(second.status, "pending");
  await Promise.resolve().then(() => lock.release()); // released by another task: no owner
  await flush();
  assertEquals(second.value, true);
  lock.release();
});

Deno.test("Lock: releasing an unheld lock throws Error and changes nothing", () => {
  const lock = new Lock();
  const error = assertThrows(() => lock.release(), Error);
  assertStringIncludes((error as Error).message, "not locked");
  assertEquals(lock.locked(), false);
});

Deno.test("Lock: a contended acquire with a timeout resolves false at the timeout (test_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const lock = new Lock();
    await lock.acquire({ timeout: 5000 }); // uncontended: at once
    const waiter = track(lock.acquire({ timeout: 500 }));
    await clock.tickAsync(499);
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(1);
    assertEquals(waiter.value, false);
    assertEquals(lock.locked(), true);
    lock.release();
  });
});

Deno.test("Lock: after a timed-out acquire the lock still works (test_state_after_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const lock = new Lock();
    await lock.acquire();
    const waiter = track(lock.acquire({ timeout: 10 }));
    await clock.tickAsync(10);
    assertEquals(waiter.value, false);
    lock.release();
    assertEquals(lock.locked(), false);
    assertEquals(await lock.acquire({ timeout: 0 }), true);
    lock.release();
  });
});

Deno.test("Conventions: Lock acquire with a negative or NaN timeout rejects RangeError and changes nothing", async () => {
  const lock = new Lock();
  for (const timeout of [-1, -100, NaN]) {
    await assertRejects(() => lock.acquire({ timeout }), RangeError);
  }
  assertEquals(lock.locked(), false);
  await lock.acquire();
  await assertRejects(() => lock.acquire({ timeout: -1 }), RangeError);
  lock.release();
  assertEquals(lock.locked(), false); // no waiter was queued to take it
});

Deno.test("Conventions: Lock acquire with an already-aborted signal rejects even when the lock is free", async () => {
  const { signal, reason } = abortedSignal();
  const lock = new Lock();
  assertStrictEquals(await assertRejects(() => lock.acquire({ signal })), reason);
  assertEquals(lock.locked(), false);
  // RangeError wins over the aborted signal.
  await assertRejects(() => lock.acquire({ timeout: -1, signal }), RangeError);
  // The aborted signal wins over the outcome (false for timeout 0).
  await lock.acquire();
  assertStrictEquals(await assertRejects(() => lock.acquire({ timeout: 0, signal })), reason);
  lock.release();
});

Deno.test("Conventions: a Lock acquire aborted while waiting rejects with signal.reason and never leaks the lock", async () => {
  await withFakeTime(async () => {
    const lock = new Lock();
    await lock.acquire();
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const reason = new DOMException("gave up", "AbortError");
    const waiter = track(lock.acquire({ signal: controller.signal, timeout: 1000 }));
    controller.abort(reason);
    await flush();
    assertStrictEquals(waiter.reason, reason);
    assertEquals(listeners.active, 0);
    lock.release();
    assertEquals(lock.locked(), false);
  });
});

Deno.test("Conventions: a Lock hand-off and an abort in the same turn: the waiter holds the lock", async () => {
  const lock = new Lock();
  await lock.acquire();
  const controller = new AbortController();
  const waiter = track(lock.acquire({ signal: controller.signal }));
  lock.release();
  controller.abort();
  await flush();
  assertEquals(waiter.value, true);
  assertEquals(lock.locked(), true);
  lock.release();
});

Deno.test("Conventions: a settled Lock wait leaves no timer and no listener", async () => {
  await withFakeTime(async (clock) => {
    const lock = new Lock();
    await lock.acquire();
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const waiter = lock.acquire({ timeout: 1000, signal: controller.signal });
    assertEquals([clock.countTimers(), listeners.active], [1, 1]);
    lock.release();
    assertEquals(await waiter, true);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    lock.release();
  });
});

Deno.test("Lock: hold() with using releases at the end of the block, also on throw (test_with)", async () => {
  const lock = new Lock();
  {
    using _held = await lock.hold();
    assertEquals(lock.locked(), true);
  }
  assertEquals(lock.locked(), false);
  const failing = async () => {
    using _held = await lock.hold();
    throw new Error("inside");
  };
  await assertRejects(failing, Error, "inside");
  assertEquals(lock.locked(), false);
});

Deno.test("Lock: a held handle releases once, so a second release cannot free another task's lock", async () => {
  const lock = new Lock();
  const handle = await lock.hold();
  const next = track(lock.acquire());
  handle.release();
  await flush();
  assertEquals(next.value, true);
  handle.release();
  handle[Symbol.dispose]();
  assertEquals(lock.locked(), true); // still the other task's
  lock.release();
});

Deno.test("Lock: hold() rejects TimeoutError when its timeout runs out, leaving the lock alone", async () => {
  await withFakeTime(async (clock) => {
    const lock = new Lock();
    await lock.acquire();
    const holder = track(lock.hold({ timeout: 50 }));
    await clock.tickAsync(50);
    assertInstanceOf(holder.reason, DOMException);
    assertEquals((holder.reason as DOMException).name, "TimeoutError");
    lock.release();
    assertEquals(lock.locked(), false);
    await assertRejects(() => lock.hold({ timeout: -1 }), RangeError);
  });
});

Deno.test("Lock: Deno.inspect shows locked and waiters", async () => {
  const lock = new Lock();
  assertStringIncludes(Deno.inspect(lock), "locked: false");
  await lock.acquire();
  const waiter = lock.acquire();
  const text = Deno.inspect(lock);
  assertStringIncludes(text, "Lock");
  assertStringIncludes(text, "locked: true");
  assertStringIncludes(text, "waiters: 1");
  lock.release();
  await waiter;
  lock.release();
  assert(Deno.inspect(lock).includes("waiters: 0"));
});
