/**
 * Semaphore and BoundedSemaphore against API.md S-1..S-3 and the
 * conventions, with CPython's lock_tests BaseSemaphoreTests,
 * SemaphoreTests and BoundedSemaphoreTests ported (python-semantics.md §2.7).
 */

import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { BoundedSemaphore, Semaphore } from "../mod.ts";
import { abortedSignal, flush, track, watchListeners, withFakeTime } from "./_helpers.ts";

const KINDS = [
  { name: "Semaphore", make: (value?: number) => new Semaphore(value) },
  { name: "BoundedSemaphore", make: (value?: number) => new BoundedSemaphore(value) },
];

// ---------------------------------------------------------------- S-1

for (const kind of KINDS) {
  Deno.test(`S-1: ${kind.name} with a negative or non-integer value throws RangeError (test_constructor)`, () => {
    for (const bad of [-1, -Number.MAX_SAFE_INTEGER, 1.5, NaN, Infinity, -Infinity]) {
      assertThrows(() => kind.make(bad), RangeError);
    }
    assertEquals(kind.make().value, 1);
    assertEquals(kind.make(0).value, 0);
    assertEquals(kind.make(5).value, 5);
  });

  Deno.test(`S-1: ${kind.name} release(n) with n < 1 or not an integer throws RangeError and changes nothing`, async () => {
    const semaphore = kind.make(2);
    await semaphore.acquire();
    for (const bad of [0, -1, 1.5, NaN]) {
      assertThrows(() => semaphore.release(bad), RangeError);
    }
    assertEquals(semaphore.value, 1);
  });
}

const MAX = Number.MAX_SAFE_INTEGER;

for (const kind of KINDS) {
  Deno.test(`S-1: ${kind.name} with a value above Number.MAX_SAFE_INTEGER throws RangeError (counts would not be exact)`, () => {
    for (const bad of [MAX + 1, 2 ** 60, Number.MAX_VALUE]) {
      const error = assertThrows(() => kind.make(bad), RangeError);
      assertStringIncludes(error.message, "Number.MAX_SAFE_INTEGER");
      assertStringIncludes(error.message, String(bad));
    }
    assertEquals(kind.make(MAX).value, MAX);
  });

  Deno.test(`S-1: ${kind.name} release(n) with n above Number.MAX_SAFE_INTEGER throws RangeError and changes nothing`, async () => {
    const semaphore = kind.make(2);
    await semaphore.acquire();
    for (const bad of [MAX + 1, 2 ** 60]) {
      assertThrows(() => semaphore.release(bad), RangeError);
    }
    assertEquals(semaphore.value, 1);
  });
}

Deno.test("S-1: Semaphore release(n) that would raise the value above Number.MAX_SAFE_INTEGER throws RangeError and changes nothing", async () => {
  const semaphore = new Semaphore(MAX - 1);
  semaphore.release(); // exactly MAX: still exact
  assertEquals(semaphore.value, MAX);
  const error = assertThrows(() => semaphore.release(), RangeError);
  assertStringIncludes(error.message, "Number.MAX_SAFE_INTEGER");
  assertEquals(semaphore.value, MAX);
  // Permits handed to waiters do not raise the value: only the rest must fit.
  const empty = new Semaphore(0);
  const waiters = [track(empty.acquire()), track(empty.acquire())];
  empty.release(MAX);
  await flush();
  assertEquals(waiters.map((waiter) => waiter.value), [true, true]);
  assertEquals(empty.value, MAX - 2);
  assertThrows(() => empty.release(3), RangeError);
  assertEquals(empty.value, MAX - 2);
  empty.release(2);
  assertEquals(empty.value, MAX);
});

// ---------------------------------------------------------------- S-2

for (const kind of KINDS) {
  Deno.test(`S-2: ${kind.name} release(n) wakes up to n waiters, oldest first`, async () => {
    const semaphore = kind.make(5);
    for (let i = 0; i < 5; i++) await semaphore.acquire();
    const order: number[] = [];
    const waiters = [0, 1, 2, 3, 4].map((id) =>
      track(
        semaphore.acquire().then((ok) => {
          order.push(id);
          return ok;
        }),
      )
    );
    assertEquals(semaphore.waiting, 5);
    semaphore.release(3);
    await flush();
    assertEquals(order, [0, 1, 2]);
    assertEquals(semaphore.value, 0);
    assertEquals(semaphore.waiting, 2);
    semaphore.release(2);
    await flush();
    assertEquals(order, [0, 1, 2, 3, 4]);
    assertEquals(waiters.map((w) => w.value), [true, true, true, true, true]);
    assertEquals(semaphore.value, 0);
  });
}

Deno.test("S-2: release(n) with fewer waiters keeps the surplus as the value", async () => {
  const semaphore = new Semaphore(0);
  const waiters = [track(semaphore.acquire()), track(semaphore.acquire())];
  semaphore.release(5);
  await flush();
  assertEquals(waiters.map((w) => w.value), [true, true]);
  assertEquals(semaphore.value, 3);
});

for (const multirelease of [false, true]) {
  const name = multirelease ? "test_multirelease" : "test_acquire_contended";
  for (const kind of KINDS) {
    Deno.test(`S-2: ${kind.name} 10 tasks × 2 acquires pass in phases (${name})`, async () => {
      const value = 7;
      const semaphore = kind.make(value);
      await semaphore.acquire();
      let phase = 0;
      const acquired: boolean[] = [];
      const phases: number[] = [];
      const task = async () => {
        for (let i = 0; i < 2; i++) {
          acquired.push(await semaphore.acquire());
          phases.push(phase);
        }
      };
      const tasks = Array.from({ length: 10 }, task);
      await flush();
      assertEquals(phases, Array(value - 1).fill(0));
      phase = 1;
      if (multirelease) semaphore.release(value);
      else for (let i = 0; i < value; i++) semaphore.release();
      await flush();
      assertEquals(phases, [...Array(value - 1).fill(0), ...Array(value).fill(1)]);
      phase = 2;
      if (multirelease) semaphore.release(value - 1);
      else for (let i = 0; i < value - 1; i++) semaphore.release();
      await flush();
      assertEquals(phases.filter((p) => p === 2).length, value - 1);
      assertEquals(await semaphore.acquire({ timeout: 0 }), false); // still locked
      semaphore.release(); // let the last acquire through
      await Promise.all(tasks);
      assertEquals(acquired, Array(20).fill(true));
    });
  }
}

Deno.test("S-2: try-acquires succeed while permits last (test_try_acquire)", async () => {
  const semaphore = new Semaphore(2);
  assertEquals(await semaphore.acquire({ timeout: 0 }), true);
  assertEquals(await semaphore.acquire({ timeout: 0 }), true);
  assertEquals(await semaphore.acquire({ timeout: 0 }), false);
  semaphore.release();
  assertEquals(await semaphore.acquire({ timeout: 0 }), true);
});

Deno.test("S-2: 5 tasks × 2 try-acquires on 3 free permits: exactly 3 succeed (test_try_acquire_contended)", async () => {
  const semaphore = new Semaphore(4);
  await semaphore.acquire();
  const results = (await Promise.all(
    Array.from({ length: 5 }, async () => [
      await semaphore.acquire({ timeout: 0 }),
      await semaphore.acquire({ timeout: 0 }),
    ]),
  )).flat();
  assertEquals(results.filter(Boolean).length, 3);
  assertEquals(results.filter((r) => !r).length, 7);
});

Deno.test("S-2: acquire with a timeout succeeds while permits last, then times out (test_acquire_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const semaphore = new Semaphore(2);
    assertEquals(await semaphore.acquire({ timeout: 5 }), true);
    assertEquals(await semaphore.acquire({ timeout: 5 }), true);
    const third = track(semaphore.acquire({ timeout: 5 }));
    await clock.tickAsync(5);
    assertEquals(third.value, false);
    semaphore.release();
    assertEquals(await semaphore.acquire({ timeout: 5 }), true);
    const late = track(semaphore.acquire({ timeout: 500 }));
    await clock.tickAsync(499);
    assertEquals(late.status, "pending");
    await clock.tickAsync(1);
    assertEquals(late.value, false);
    assertEquals(semaphore.value, 0);
  });
});

Deno.test("S-2: the default value 1 makes a second acquirer wait for a release (test_default_value)", async () => {
  const semaphore = new Semaphore();
  await semaphore.acquire();
  const second = track(semaphore.acquire());
  await flush();
  assertEquals(second.status, "pending");
  semaphore.release();
  await flush();
  assertEquals(second.value, true);
  assertEquals(semaphore.value, 0);
});

Deno.test("S-2: an unbounded Semaphore may be released above its initial value (test_release_unacquired)", () => {
  const semaphore = new Semaphore(1);
  semaphore.release();
  assertEquals(semaphore.value, 2);
  semaphore.release(3);
  assertEquals(semaphore.value, 5);
});

// ---------------------------------------------------------------- S-3

Deno.test("S-3: BoundedSemaphore release beyond the initial value throws RangeError and changes nothing (test_release_unacquired)", async () => {
  const semaphore = new BoundedSemaphore(3);
  const error = assertThrows(() => semaphore.release(), RangeError);
  assertStringIncludes((error as Error).message, "released");
  assertEquals(semaphore.value, 3);
  await semaphore.acquire();
  semaphore.release();
  assertThrows(() => semaphore.release(), RangeError);
  assertEquals(semaphore.value, 3);
  assertEquals(semaphore.initialValue, 3);
});

Deno.test("S-3: BoundedSemaphore release(n) of more than is held throws and wakes nobody", async () => {
  const semaphore = new BoundedSemaphore(2);
  await semaphore.acquire();
  await semaphore.acquire();
  const waiter = track(semaphore.acquire());
  assertThrows(() => semaphore.release(3), RangeError);
  await flush();
  assertEquals(waiter.status, "pending");
  assertEquals(semaphore.value, 0);
  semaphore.release(2); // two held: one goes to the waiter, one is free
  await flush();
  assertEquals(waiter.value, true);
  assertEquals(semaphore.value, 1);
  assertThrows(() => semaphore.release(2), RangeError);
  assertEquals(semaphore.value, 1);
  semaphore.release();
  assertEquals(semaphore.value, 2);
});

// ---------------------------------------------------------------- conventions

for (const kind of KINDS) {
  Deno.test(`Conventions: ${kind.name} acquire with a negative or NaN timeout rejects RangeError and changes nothing`, async () => {
    const semaphore = kind.make(1);
    for (const timeout of [-1, NaN, -0.001]) {
      await assertRejects(() => semaphore.acquire({ timeout }), RangeError);
    }
    assertEquals(semaphore.value, 1);
    const { signal } = abortedSignal();
    await assertRejects(() => semaphore.acquire({ timeout: -1, signal }), RangeError);
    await semaphore.acquire();
    await assertRejects(() => semaphore.acquire({ timeout: -1 }), RangeError);
    assertEquals(semaphore.waiting, 0);
  });

  Deno.test(`Conventions: ${kind.name} acquire with an already-aborted signal rejects even with permits free`, async () => {
    const { signal, reason } = abortedSignal();
    const semaphore = kind.make(2);
    assertStrictEquals(await assertRejects(() => semaphore.acquire({ signal })), reason);
    assertEquals(semaphore.value, 2);
    await semaphore.acquire();
    await semaphore.acquire();
    assertStrictEquals(
      await assertRejects(() => semaphore.acquire({ signal, timeout: 0 })),
      reason,
    );
  });

  Deno.test(`Conventions: ${kind.name} a cancelled acquire never leaks a permit`, async () => {
    await withFakeTime(async (clock) => {
      const semaphore = kind.make(1);
      await semaphore.acquire();
      const controller = new AbortController();
      const listeners = watchListeners(controller.signal);
      const reason = new Error("cancel");
      const aborted = track(semaphore.acquire({ signal: controller.signal, timeout: 100 }));
      const timed = track(semaphore.acquire({ timeout: 50 }));
      controller.abort(reason);
      await clock.tickAsync(50);
      assertStrictEquals(aborted.reason, reason);
      assertEquals(timed.value, false);
      assertEquals(listeners.active, 0);
      assertEquals(semaphore.waiting, 0);
      semaphore.release();
      assertEquals(semaphore.value, 1); // the permit was not given to a cancelled waiter
    });
  });
}

Deno.test("Conventions: a release and an abort in the same turn: the waiter keeps the permit", async () => {
  for (const abortFirst of [false, true]) {
    const semaphore = new BoundedSemaphore(1);
    await semaphore.acquire();
    const controller = new AbortController();
    const waiter = track(semaphore.acquire({ signal: controller.signal }));
    if (abortFirst) controller.abort();
    semaphore.release();
    if (!abortFirst) controller.abort();
    await flush();
    if (abortFirst) {
      assertEquals(waiter.status, "rejected");
      assertEquals(semaphore.value, 1);
    } else {
      assertEquals(waiter.value, true);
      assertEquals(semaphore.value, 0);
      semaphore.release();
    }
    assertThrows(() => semaphore.release(), RangeError); // the count is exact either way
  }
});

Deno.test("Conventions: a settled Semaphore acquire leaves no timer and no listener", async () => {
  await withFakeTime(async (clock) => {
    const semaphore = new Semaphore(0);
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const waiters = [1, 2].map(() =>
      semaphore.acquire({ timeout: 100, signal: controller.signal })
    );
    assertEquals([clock.countTimers(), listeners.active], [2, 2]);
    semaphore.release(2);
    assertEquals(await Promise.all(waiters), [true, true]);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
  });
});

// ---------------------------------------------------------------- using and inspection

for (const kind of KINDS) {
  Deno.test(`${kind.name}: hold() with using gives the permit back, also on throw and nested (test_with)`, async () => {
    const semaphore = kind.make(2);
    {
      using _outer = await semaphore.hold();
      assertEquals(semaphore.value, 1);
      {
        using _inner = await semaphore.hold();
        assertEquals(semaphore.value, 0);
      }
      assertEquals(semaphore.value, 1);
    }
    assertEquals(semaphore.value, 2);
    await assertRejects(
      async () => {
        using _permit = await semaphore.hold();
        throw new Error("inside");
      },
      Error,
      "inside",
    );
    assertEquals(semaphore.value, 2);
    const handle = await semaphore.hold();
    handle.release();
    handle[Symbol.dispose](); // once only
    assertEquals(semaphore.value, 2);
  });
}

Deno.test("Semaphore: hold() rejects TimeoutError when no permit comes in time", async () => {
  await withFakeTime(async (clock) => {
    const semaphore = new Semaphore(0);
    const holder = track(semaphore.hold({ timeout: 20 }));
    await clock.tickAsync(20);
    assertInstanceOf(holder.reason, DOMException);
    assertEquals((holder.reason as DOMException).name, "TimeoutError");
    assertEquals(semaphore.value, 0);
  });
});

Deno.test("Semaphore: Deno.inspect shows the value and the waiters", async () => {
  const semaphore = new BoundedSemaphore(1);
  await semaphore.acquire();
  const waiter = semaphore.acquire();
  const text = Deno.inspect(semaphore);
  assertStringIncludes(text, "BoundedSemaphore");
  assertStringIncludes(text, "value: 0");
  assertStringIncludes(text, "waiters: 1");
  semaphore.release();
  await waiter;
  assertStringIncludes(Deno.inspect(new Semaphore(3)), "value: 3");
});
