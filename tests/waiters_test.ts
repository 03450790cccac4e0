/**
 * The internal wait list (src/_waiters.ts) that every primitive stands on:
 * option checks, FIFO order, timeouts (fake time only), aborts, the
 * hand-off/cancel race and cleanup.
 */

import {
  assertEquals,
  assertInstanceOf,
  assertStrictEquals,
  assertStringIncludes,
} from "@std/assert";
import { checkWaitOptions, describe, WaitList, type WaitListHooks } from "../src/_waiters.ts";
import { flush, track, watchListeners, withFakeTime } from "./_helpers.ts";

class TimedOut extends Error {}

function makeList<D = undefined>(
  extra: Partial<WaitListHooks<string, D>> = {},
): { list: WaitList<string, D>; cancels: [D, string][] } {
  const cancels: [D, string][] = [];
  const list = new WaitList<string, D>({
    onTimeout: () => {
      throw new TimedOut("timed out");
    },
    onCancel: (data, reason) => cancels.push([data, reason]),
    ...extra,
  });
  return { list, cancels };
}

// ---------------------------------------------------------------- checkWaitOptions

Deno.test("Conventions: checkWaitOptions gives RangeError for a negative or NaN timeout", () => {
  for (const timeout of [-1, -0.001, NaN, -Infinity]) {
    const error = checkWaitOptions({ timeout });
    assertInstanceOf(error, RangeError);
    assertStringIncludes((error as RangeError).message, String(timeout)); // says what was received
  }
});

Deno.test("Conventions: checkWaitOptions accepts omitted, 0, positive and Infinity timeouts", () => {
  for (const options of [undefined, {}, { timeout: 0 }, { timeout: 5 }, { timeout: Infinity }]) {
    assertEquals(checkWaitOptions(options), undefined);
  }
  assertEquals(checkWaitOptions({ signal: new AbortController().signal }), undefined);
});

Deno.test("Conventions: checkWaitOptions gives an aborted signal's reason, after RangeError", () => {
  const controller = new AbortController();
  const reason = { custom: "reason" };
  controller.abort(reason);
  assertStrictEquals(checkWaitOptions({ signal: controller.signal }), reason);
  assertStrictEquals(checkWaitOptions({ signal: controller.signal, timeout: 0 }), reason);
  assertInstanceOf(checkWaitOptions({ signal: controller.signal, timeout: -1 }), RangeError);
});

Deno.test("Conventions: checkWaitOptions gives TypeError for options of the wrong type", () => {
  assertInstanceOf(checkWaitOptions(5 as never), TypeError);
  assertInstanceOf(checkWaitOptions(null as never), TypeError);
  assertInstanceOf(checkWaitOptions({ timeout: "5" } as never), TypeError);
  assertInstanceOf(checkWaitOptions({ signal: { aborted: true } } as never), TypeError);
});

Deno.test("describe names received values for error messages", () => {
  assertEquals(describe("x"), `"x"`);
  assertEquals(describe(5n), "5n");
  assertEquals(describe(null), "null");
  assertEquals(describe(undefined), "undefined");
  assertEquals(describe(1.5), "1.5");
  assertEquals(describe([1]), "an array");
  assertEquals(describe(() => 1), "a function");
  assertEquals(describe({}), "an object");
  assertEquals(describe(new Map()), "a Map");
});

// ---------------------------------------------------------------- FIFO and settling

Deno.test("Conventions: waiters are served first come, first served", async () => {
  const { list } = makeList<number>();
  const waiters = [0, 1, 2, 3].map((id) => track(list.wait(undefined, id)));
  assertEquals(list.size, 4);
  assertEquals(list.peek(), 0);
  assertEquals([...list.data()], [0, 1, 2, 3]);
  assertEquals(list.resolveNext("a"), true);
  assertEquals(list.shift()?.data, 1);
  list.resolveNext("c");
  list.resolveNext("d");
  assertEquals(list.resolveNext("none"), false);
  await flush();
  assertEquals(waiters.map((w) => w.value), ["a", undefined, "c", "d"]);
  assertEquals(waiters[1]!.status, "pending"); // shifted: the caller settles it
  assertEquals(list.size, 0);
  assertEquals(list.peek(), undefined);
});

Deno.test("Conventions: resolveAll and rejectAll settle every waiter, oldest first", async () => {
  const { list } = makeList();
  const order: string[] = [];
  const first = [0, 1, 2].map((id) =>
    list.wait(undefined, undefined).then((v) => order.push(v + id))
  );
  list.resolveAll("r");
  await Promise.all(first);
  assertEquals(order, ["r0", "r1", "r2"]);
  const error = new Error("all");
  const rejected = [0, 1].map(() => track(list.wait(undefined, undefined)));
  list.rejectAll(error);
  await flush();
  for (const waiter of rejected) assertStrictEquals(waiter.reason, error);
  assertEquals(list.size, 0);
});

// ---------------------------------------------------------------- timeouts

Deno.test("Conventions: a timed wait settles through onTimeout at the deadline, not before", async () => {
  await withFakeTime(async (clock) => {
    const { list, cancels } = makeList<string>();
    const waiter = track(list.wait({ timeout: 100 }, "w"));
    await clock.tickAsync(99);
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(1);
    assertInstanceOf(waiter.reason, TimedOut);
    assertEquals(cancels, [["w", "timeout"]]);
    assertEquals(list.size, 0);
  });
});

Deno.test("Conventions: onTimeout may resolve instead of reject", async () => {
  await withFakeTime(async (clock) => {
    const list = new WaitList<boolean>({ onTimeout: () => false });
    const waiter = track(list.wait({ timeout: 10 }, undefined));
    await clock.tickAsync(10);
    assertEquals(waiter.value, false);
  });
});

Deno.test("Conventions: timeout 0 settles at once, without entering the list or starting a timer", async () => {
  await withFakeTime(async (clock) => {
    const { list, cancels } = makeList<string>();
    const waiter = track(list.wait({ timeout: 0 }, "now"));
    assertEquals(list.size, 0);
    assertEquals(clock.countTimers(), 0);
    await flush();
    assertInstanceOf(waiter.reason, TimedOut);
    assertEquals(cancels, [["now", "timeout"]]);
  });
});

Deno.test("Conventions: a timeout longer than setTimeout's limit still waits the whole time", async () => {
  await withFakeTime(async (clock) => {
    const { list } = makeList();
    const limit = 2 ** 31 - 1;
    const waiter = track(list.wait({ timeout: limit + 5000 }, undefined));
    await clock.tickAsync(limit);
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(4999);
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(1);
    assertInstanceOf(waiter.reason, TimedOut);
  });
});

Deno.test("Conventions: a timer that fires early by performance.now() does not time out early", async () => {
  await withFakeTime(async (clock) => {
    const fakeNow = performance.now.bind(performance);
    let lag = 0;
    performance.now = () => fakeNow() - lag;
    try {
      const { list } = makeList();
      const waiter = track(list.wait({ timeout: 100 }, undefined));
      lag = 10; // the monotonic clock says 90 when the timer fires at 100
      await clock.tickAsync(100);
      assertEquals(waiter.status, "pending");
      await clock.tickAsync(9);
      assertEquals(waiter.status, "pending");
      await clock.tickAsync(1);
      assertInstanceOf(waiter.reason, TimedOut);
    } finally {
      performance.now = fakeNow;
    }
  });
});

Deno.test("Conventions: a waiter that timed out never swallows a later hand-off", async () => {
  await withFakeTime(async (clock) => {
    const { list } = makeList<number>();
    const timed = track(list.wait({ timeout: 10 }, 1));
    const patient = track(list.wait(undefined, 2));
    await clock.tickAsync(10);
    assertEquals(list.resolveNext("item"), true);
    await flush();
    assertInstanceOf(timed.reason, TimedOut);
    assertEquals(patient.value, "item");
  });
});

// ---------------------------------------------------------------- aborts

Deno.test("Conventions: an abort while waiting rejects with signal.reason and removes the listener", async () => {
  const { list, cancels } = makeList<string>();
  const controller = new AbortController();
  const listeners = watchListeners(controller.signal);
  const reason = new Error("abort");
  const waiter = track(list.wait({ signal: controller.signal }, "a"));
  const other = track(list.wait({ signal: controller.signal }, "b"));
  assertEquals(listeners.active, 2);
  controller.abort(reason);
  await flush();
  assertStrictEquals(waiter.reason, reason);
  assertStrictEquals(other.reason, reason);
  assertEquals(cancels, [["a", "abort"], ["b", "abort"]]);
  assertEquals(listeners.active, 0);
  assertEquals(list.size, 0);
});

Deno.test("Q-5: a hand-off and an abort in the same turn: whichever comes first wins, nothing is lost", async () => {
  for (const handOffFirst of [true, false]) {
    const { list, cancels } = makeList<number>();
    const controller = new AbortController();
    const first = track(list.wait({ signal: controller.signal }, 1));
    const second = track(list.wait(undefined, 2));
    if (handOffFirst) {
      list.resolveNext("item");
      controller.abort();
    } else {
      controller.abort();
      list.resolveNext("item");
    }
    await flush();
    if (handOffFirst) {
      assertEquals(first.value, "item");
      assertEquals(second.status, "pending");
      assertEquals(cancels, []);
      list.resolveNext("next");
    } else {
      assertEquals(first.status, "rejected");
      assertEquals(second.value, "item");
      assertEquals(cancels, [[1, "abort"]]);
    }
    await flush();
    assertEquals(list.size, 0);
  }
});

Deno.test("Conventions: removing waiters from the head, middle and tail keeps the others in order", async () => {
  const { list } = makeList<number>();
  const controllers = [0, 1, 2, 3, 4].map(() => new AbortController());
  const waiters = controllers.map((c, id) => track(list.wait({ signal: c.signal }, id)));
  controllers[2]!.abort();
  controllers[0]!.abort();
  controllers[4]!.abort();
  assertEquals([...list.data()], [1, 3]);
  list.resolveAll("x");
  await flush();
  assertEquals(waiters.map((w) => w.status), [
    "rejected",
    "fulfilled",
    "rejected",
    "fulfilled",
    "rejected",
  ]);
  // The list is consistent afterwards: new waiters queue normally.
  const late = [track(list.wait(undefined, 5)), track(list.wait(undefined, 6))];
  assertEquals([...list.data()], [5, 6]);
  list.resolveAll("y");
  await flush();
  assertEquals(late.map((w) => w.value), ["y", "y"]);
});

// ---------------------------------------------------------------- cleanup

Deno.test("Conventions: once a wait settles, its timer is cleared and its listener removed", async () => {
  await withFakeTime(async (clock) => {
    const { list } = makeList<number>();
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const options = { timeout: 1000, signal: controller.signal };
    // By hand-off.
    const a = list.wait(options, 1);
    assertEquals([clock.countTimers(), listeners.active], [1, 1]);
    list.resolveNext("a");
    assertEquals(await a, "a");
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    // By shift (the caller settles it).
    const b = track(list.wait(options, 2));
    const waiter = list.shift()!;
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    waiter.reject(new Error("by caller"));
    // By timeout.
    const c = track(list.wait(options, 3));
    await clock.tickAsync(1000);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    // By rejectAll.
    const d = track(list.wait(options, 4));
    list.rejectAll(new Error("all"));
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    await flush();
    assertEquals([b.status, c.status, d.status], ["rejected", "rejected", "rejected"]);
    // A later abort finds nothing to do.
    controller.abort();
    await flush();
    assertEquals(list.size, 0);
  });
});
