/**
 * Event against API.md E-1 and the conventions, with CPython's lock_tests
 * EventTests ported (python-semantics.md §2.5).
 */

import { assertEquals, assertRejects, assertStrictEquals, assertStringIncludes } from "@std/assert";
import { Event } from "../mod.ts";
import { abortedSignal, flush, track, watchListeners, withFakeTime } from "./_helpers.ts";

Deno.test("E-1: wait resolves true at once when the event is set", async () => {
  const event = new Event();
  event.set();
  const waiter = track(event.wait());
  await Promise.resolve();
  await Promise.resolve();
  assertEquals(waiter.value, true);
  assertEquals(await event.wait({ timeout: 0 }), true);
});

Deno.test("E-1: wait resolves true when set happens while waiting", async () => {
  const event = new Event();
  const waiter = track(event.wait());
  await flush();
  assertEquals(waiter.status, "pending");
  event.set();
  await flush();
  assertEquals(waiter.value, true);
});

Deno.test("E-1: wait resolves false at the timeout, not before (test_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const event = new Event();
    assertEquals(await event.wait({ timeout: 0 }), false);
    const waiter = track(event.wait({ timeout: 500 }));
    await clock.tickAsync(499);
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(1);
    assertEquals(waiter.value, false);
    event.set();
    assertEquals(await event.wait({ timeout: 0 }), true);
    assertEquals(await event.wait({ timeout: 500 }), true);
  });
});

Deno.test("E-1: set wakes every waiter, oldest first, and twice in a row (test_notify)", async () => {
  const event = new Event();
  for (let round = 0; round < 2; round++) {
    const order: number[] = [];
    const waiters = [0, 1, 2, 3, 4].map(async (id) => {
      const first = await event.wait();
      order.push(id);
      const second = await event.wait();
      return [first, second];
    });
    await flush();
    assertEquals(order, []);
    event.set();
    assertEquals(await Promise.all(waiters), Array(5).fill([true, true]));
    assertEquals(order, [0, 1, 2, 3, 4]);
    event.clear();
  }
});

Deno.test("E-1: set then clear at once still releases every waiter with true (test_set_and_clear, gh-57711)", async () => {
  const event = new Event();
  const waiters = Array.from({ length: 5 }, () => track(event.wait()));
  await flush();
  event.set();
  event.clear();
  await flush();
  assertEquals(waiters.map((w) => w.value), [true, true, true, true, true]);
  assertEquals(event.isSet(), false);
  // A wait that starts after the clear does wait.
  const late = track(event.wait());
  await flush();
  assertEquals(late.status, "pending");
  event.set();
  await flush();
  assertEquals(late.value, true);
});

Deno.test("E-1: set and clear are idempotent; isSet follows them (test_is_set)", () => {
  const event = new Event();
  assertEquals(event.isSet(), false);
  event.set();
  assertEquals(event.isSet(), true);
  event.set();
  assertEquals(event.isSet(), true);
  event.clear();
  assertEquals(event.isSet(), false);
  event.clear();
  assertEquals(event.isSet(), false);
});

Deno.test("Conventions: Event wait with a negative or NaN timeout rejects RangeError, even when set", async () => {
  const event = new Event();
  for (const timeout of [-1, NaN, -Infinity]) {
    await assertRejects(() => event.wait({ timeout }), RangeError);
  }
  event.set();
  await assertRejects(() => event.wait({ timeout: -1 }), RangeError);
  const { signal } = abortedSignal();
  await assertRejects(() => event.wait({ timeout: NaN, signal }), RangeError); // RangeError first
});

Deno.test("Conventions: Event wait with an already-aborted signal rejects with its reason, even when set", async () => {
  const { signal, reason } = abortedSignal();
  const event = new Event();
  assertStrictEquals(await assertRejects(() => event.wait({ signal, timeout: 0 })), reason);
  event.set();
  assertStrictEquals(await assertRejects(() => event.wait({ signal })), reason);
});

Deno.test("Conventions: an Event wait aborted while waiting rejects with the reason; others still wait", async () => {
  await withFakeTime(async () => {
    const event = new Event();
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const reason = new Error("cancelled");
    const aborted = track(event.wait({ signal: controller.signal, timeout: 100 }));
    const other = track(event.wait());
    controller.abort(reason);
    await flush();
    assertStrictEquals(aborted.reason, reason);
    assertEquals(other.status, "pending");
    assertEquals(listeners.active, 0);
    event.set();
    await flush();
    assertEquals(other.value, true);
  });
});

Deno.test("Conventions: a settled Event wait leaves no timer and no listener", async () => {
  await withFakeTime(async (clock) => {
    const event = new Event();
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const waiters = [1, 2, 3].map(() => event.wait({ timeout: 1000, signal: controller.signal }));
    assertEquals([clock.countTimers(), listeners.active], [3, 3]);
    event.set();
    assertEquals(await Promise.all(waiters), [true, true, true]);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
  });
});

Deno.test("Event: Deno.inspect shows the flag and the waiters", async () => {
  const event = new Event();
  const waiter = event.wait();
  const text = Deno.inspect(event);
  assertStringIncludes(text, "Event");
  assertStringIncludes(text, "set: false");
  assertStringIncludes(text, "waiters: 1");
  event.set();
  await waiter;
  assertStringIncludes(Deno.inspect(event), "set: true");
  assertStringIncludes(Deno.inspect(event), "waiters: 0");
});
