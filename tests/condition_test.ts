/**
 * Condition against API.md C-1..C-4 and the conventions, with CPython's
 * lock_tests ConditionTests ported (python-semantics.md §2.6).
 */

import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Condition, Lock } from "../mod.ts";
import { abortedSignal, flush, track, watchListeners, withFakeTime } from "./_helpers.ts";

// ---------------------------------------------------------------- C-1

Deno.test("C-1: wait and waitFor without holding the lock reject Error (test_unacquired_wait)", async () => {
  const condition = new Condition();
  const wait = await assertRejects(() => condition.wait(), Error);
  assertStringIncludes((wait as Error).message, "wait()");
  await assertRejects(() => condition.waitFor(() => true), Error, "waitFor()");
  assertEquals(condition.locked(), false);
});

Deno.test("C-1: notify and notifyAll without holding the lock throw Error (test_unacquired_notify)", () => {
  const condition = new Condition();
  assertThrows(() => condition.notify(), Error, "notify()");
  assertThrows(() => condition.notifyAll(), Error, "notifyAll()");
});

Deno.test("C-1: misuse wins over a bad argument and an aborted signal", async () => {
  const condition = new Condition();
  const { signal } = abortedSignal();
  const errors = [
    await assertRejects(() => condition.wait({ timeout: -1 })),
    await assertRejects(() => condition.wait({ signal })),
    await assertRejects(() => condition.waitFor(() => false, { timeout: NaN })),
    assertThrows(() => condition.notify(-1)),
    assertThrows(() => condition.notify(1.5)),
  ];
  for (const error of errors) {
    assert(!(error instanceof RangeError), `got ${error}`);
    assertEquals((error as Error).constructor, Error);
  }
});

// ---------------------------------------------------------------- C-2

Deno.test("C-2: wait releases the lock while waiting and holds it again when it resolves true", async () => {
  const condition = new Condition();
  await condition.acquire();
  let lockedWhenSettled: boolean | undefined;
  const waiter = track(
    condition.wait().then((notified) => {
      lockedWhenSettled = condition.locked();
      return notified;
    }),
  );
  assertEquals(condition.locked(), false); // released synchronously
  assertEquals(await condition.acquire({ timeout: 0 }), true); // another task gets it
  condition.notify();
  await flush();
  assertEquals(waiter.status, "pending"); // notified, but the lock is still ours
  condition.release();
  await flush();
  assertEquals(waiter.value, true);
  assertEquals(lockedWhenSettled, true);
  condition.release();
});

Deno.test("C-2: wait resolves false at the timeout, and only once it has the lock again", async () => {
  await withFakeTime(async (clock) => {
    const condition = new Condition();
    await condition.acquire();
    const waiter = track(condition.wait({ timeout: 100 }));
    await condition.acquire(); // someone else holds the lock when the timeout runs out
    await clock.tickAsync(99);
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(1);
    assertEquals(waiter.status, "pending"); // timed out, waiting for the lock
    condition.release();
    await flush();
    assertEquals(waiter.value, false);
    assertEquals(condition.locked(), true);
    condition.notify(); // the timed-out waiter is gone: nothing to wake
    condition.release();
  });
});

Deno.test("C-2: an abort while waiting rejects with signal.reason after re-acquiring the lock", async () => {
  const condition = new Condition();
  await condition.acquire();
  const controller = new AbortController();
  const listeners = watchListeners(controller.signal);
  const reason = new Error("stop waiting");
  let lockedWhenSettled: boolean | undefined;
  const waiter = track(
    condition.wait({ signal: controller.signal }).catch((error) => {
      lockedWhenSettled = condition.locked();
      throw error;
    }),
  );
  await condition.acquire();
  controller.abort(reason);
  await flush();
  assertEquals(waiter.status, "pending");
  assertEquals(listeners.active, 0);
  condition.release();
  await flush();
  assertStrictEquals(waiter.reason, reason);
  assertEquals(lockedWhenSettled, true);
  condition.release();
});

Deno.test("C-2: five waits with a timeout each resolve false at the timeout (test_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const condition = new Condition();
    const results = Array.from({ length: 5 }, () =>
      track((async () => {
        await condition.acquire();
        try {
          return await condition.wait({ timeout: 500 });
        } finally {
          condition.release();
        }
      })()));
    await clock.tickAsync(499);
    assertEquals(results.map((r) => r.status), Array(5).fill("pending"));
    await clock.tickAsync(1);
    assertEquals(results.map((r) => r.value), Array(5).fill(false));
    assertEquals(condition.locked(), false);
  });
});

// ---------------------------------------------------------------- C-3

Deno.test("C-3: waitFor checks the predicate before waiting and keeps the lock when it holds", async () => {
  const condition = new Condition();
  await condition.acquire();
  const other = track(condition.acquire()); // would get the lock if waitFor released it
  let calls = 0;
  const result = await condition.waitFor(() => {
    calls++;
    return "ready";
  });
  assertEquals(result, "ready");
  assertEquals(calls, 1);
  await flush();
  assertEquals(other.status, "pending");
  condition.release();
  await flush();
  assertEquals(other.value, true);
  condition.release();
});

Deno.test("C-3: waitFor returns the predicate's truthy value once notifies make it true (test_waitfor)", async () => {
  const condition = new Condition();
  let state = 0;
  const waiter = track((async () => {
    await condition.acquire();
    try {
      return await condition.waitFor(() => state === 4 && { state });
    } finally {
      condition.release();
    }
  })());
  for (let i = 0; i < 4; i++) {
    await flush();
    assertEquals(waiter.status, "pending");
    await condition.acquire();
    state++;
    condition.notify();
    condition.release();
  }
  await flush();
  assertEquals(waiter.value, { state: 4 });
});

Deno.test("C-3: waitFor returns the falsy last value at the timeout despite notifies (test_waitfor_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const condition = new Condition();
    let state = 0;
    let checks = 0;
    const waiter = track((async () => {
      await condition.acquire();
      try {
        return await condition.waitFor(() => {
          checks++;
          return state === 4 ? "done" : "";
        }, { timeout: 100 });
      } finally {
        condition.release();
      }
    })());
    for (let i = 0; i < 3; i++) {
      await clock.tickAsync(20);
      await condition.acquire();
      state++;
      condition.notify();
      condition.release();
    }
    await clock.tickAsync(39); // t = 99
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(1);
    assertEquals(waiter.status, "fulfilled");
    assertStrictEquals(waiter.value, "");
    assertEquals(checks, 5); // before waiting, after each of 3 notifies, at the timeout
  });
});

Deno.test("C-3: waitFor with timeout 0 does not wait and does not let go of the lock", async () => {
  await withFakeTime(async () => {
    const condition = new Condition();
    await condition.acquire();
    // Another task waits for the lock and would keep it.
    const other = track(condition.acquire());
    const result = track(condition.waitFor(() => 0, { timeout: 0 }));
    await flush();
    assertEquals(result.status, "fulfilled");
    assertStrictEquals(result.value, 0);
    assertEquals(other.status, "pending");
    condition.release();
    await flush();
    assertEquals(other.value, true);
    condition.release();
  });
});

Deno.test("C-3: waitFor rejects with signal.reason when aborted, holding the lock again", async () => {
  const condition = new Condition();
  await condition.acquire();
  const controller = new AbortController();
  const reason = new Error("aborted");
  const waiter = track(condition.waitFor(() => false, { signal: controller.signal }));
  await flush();
  controller.abort(reason);
  await flush();
  assertStrictEquals(waiter.reason, reason);
  assertEquals(condition.locked(), true);
  condition.release();
});

Deno.test("C-3: waitFor with a bad predicate rejects TypeError", async () => {
  const condition = new Condition();
  await condition.acquire();
  await assertRejects(
    () => condition.waitFor("ready" as unknown as () => boolean),
    TypeError,
  );
  condition.release();
});

Deno.test("C-3: waitFor awaits a predicate that returns a promise, re-checking after each notify", async () => {
  const condition = new Condition();
  let state = 0;
  let checks = 0;
  const waiter = track((async () => {
    await condition.acquire();
    try {
      return await condition.waitFor(async () => {
        checks++;
        await Promise.resolve();
        return state === 3 && { state };
      });
    } finally {
      condition.release();
    }
  })());
  for (let i = 0; i < 3; i++) {
    await flush();
    assertEquals(waiter.status, "pending"); // a pending promise is not a truthy answer
    await condition.acquire();
    state++;
    condition.notify();
    condition.release();
  }
  await flush();
  assertEquals(waiter.value, { state: 3 }); // the awaited value, not the promise
  assertEquals(checks, 4);
});

Deno.test("C-3: waitFor keeps the lock while an async predicate runs, and awaits any thenable", async () => {
  const condition = new Condition();
  await condition.acquire();
  const other = track(condition.acquire());
  let resolveCheck!: (value: string) => void;
  const thenable: PromiseLike<string> = {
    then: (onFulfilled, onRejected) =>
      new Promise<string>((resolve) => resolveCheck = resolve).then(onFulfilled, onRejected),
  };
  const waiter = track(condition.waitFor(() => thenable));
  await flush();
  assertEquals(waiter.status, "pending");
  assertEquals(other.status, "pending"); // the predicate runs with the lock held
  resolveCheck("ready");
  await flush();
  assertEquals(waiter.value, "ready");
  assertEquals(other.status, "pending"); // true at the first check: never let go
  condition.release();
  await flush();
  assertEquals(other.value, true);
  condition.release();
});

Deno.test("C-3: a predicate that throws or rejects makes waitFor reject with its error, the lock held", async () => {
  const condition = new Condition();
  const failure = new Error("predicate failed");
  await condition.acquire();
  assertStrictEquals(
    await assertRejects(() => condition.waitFor(() => Promise.reject(failure))),
    failure,
  );
  assertEquals(condition.locked(), true);
  // After a notify too: the rejection comes with the lock held again.
  let calls = 0;
  const waiter = track(condition.waitFor(() => calls++ === 0 ? false : Promise.reject(failure)));
  await flush();
  assertEquals(condition.locked(), false); // waiting
  await condition.acquire();
  condition.notify();
  condition.release();
  await flush();
  assertStrictEquals(waiter.reason, failure);
  assertEquals(condition.locked(), true);
  condition.release();
});

Deno.test("C-3: an async predicate's time counts against the deadline of waitFor", async () => {
  await withFakeTime(async (clock) => {
    const condition = new Condition();
    await condition.acquire();
    let checks = 0;
    const slowNo = () => {
      checks++;
      return new Promise<number>((resolve) => setTimeout(() => resolve(0), 40));
    };
    const waiter = track(condition.waitFor(slowNo, { timeout: 100 }));
    await clock.tickAsync(50); // first answer at 40, then it waits
    assertEquals(condition.locked(), false);
    await condition.acquire();
    condition.notify(); // second check from 50 to 90, then a wait of the 10 ms left
    condition.release();
    await clock.tickAsync(89); // t = 139: the last check started at the timeout (100)
    assertEquals(waiter.status, "pending");
    assertEquals(checks, 3);
    await clock.tickAsync(1);
    // Out of time when the last answer came: no further wait, the lock held.
    assertStrictEquals(waiter.value, 0);
    assertEquals(checks, 3);
    assertEquals(condition.locked(), true);
    condition.release();
  });
});

// ---------------------------------------------------------------- C-4

Deno.test("C-4: notify(n) wakes the n oldest waiters; notifyAll wakes the rest (test_notify phases)", async () => {
  const condition = new Condition();
  const N = 5;
  let phase = 0;
  const results1: [number, boolean, number][] = [];
  const results2: [number, boolean, number][] = [];
  const worker = async (id: number) => {
    await condition.acquire();
    const first = await condition.wait();
    condition.release();
    results1.push([id, first, phase]);
    await condition.acquire();
    const second = await condition.wait();
    condition.release();
    results2.push([id, second, phase]);
  };
  const workers = Array.from({ length: N }, (_, id) => worker(id));
  await flush();
  assertEquals(results1, []);

  await condition.acquire();
  condition.notify(3);
  phase = 1;
  condition.release();
  await flush();
  assertEquals(results1, [[0, true, 1], [1, true, 1], [2, true, 1]]);
  assertEquals(results2, []);

  await condition.acquire();
  condition.notify(5); // 3 and 4 in their first wait, then 0, 1, 2 in their second
  phase = 2;
  condition.release();
  await flush();
  assertEquals(results1.slice(3), [[3, true, 2], [4, true, 2]]);
  assertEquals(results2, [[0, true, 2], [1, true, 2], [2, true, 2]]);

  await condition.acquire();
  condition.notifyAll();
  phase = 3;
  condition.release();
  await Promise.all(workers);
  assertEquals(results2.slice(3), [[3, true, 3], [4, true, 3]]);
});

Deno.test("C-4: notify() wakes one waiter; notify(0) is a no-op; notifies are not remembered", async () => {
  const condition = new Condition();
  const waiters = [0, 1].map(() =>
    track((async () => {
      await condition.acquire();
      try {
        return await condition.wait();
      } finally {
        condition.release();
      }
    })())
  );
  await flush();
  await condition.acquire();
  condition.notify(0);
  condition.release();
  await flush();
  assertEquals(waiters.map((w) => w.status), ["pending", "pending"]);
  await condition.acquire();
  condition.notify();
  condition.release();
  await flush();
  assertEquals(waiters.map((w) => w.status), ["fulfilled", "pending"]);
  await condition.acquire();
  condition.notify(10); // more than wait: wakes the one left, remembers nothing
  const late = track(condition.wait());
  await flush();
  assertEquals(late.status, "pending"); // the earlier notify(10) is not remembered
  assertEquals(waiters[1]!.value, true); // woke, and got the lock that late released
  assertEquals(await condition.acquire({ timeout: 0 }), true);
  condition.notify();
  condition.release();
  await flush();
  assertEquals(late.value, true);
  condition.release();
});

Deno.test("C-4: notify(n) with n not a non-negative integer throws RangeError", async () => {
  const condition = new Condition();
  await condition.acquire();
  for (const n of [-1, 1.5, NaN, Infinity, -Infinity]) {
    assertThrows(() => condition.notify(n), RangeError);
  }
  condition.release();
});

Deno.test("C-4: a waiter whose timeout or abort fired never swallows a notify", async () => {
  await withFakeTime(async (clock) => {
    const condition = new Condition();
    const controller = new AbortController();
    const start = (options?: { timeout?: number; signal?: AbortSignal }) =>
      track((async () => {
        await condition.acquire();
        try {
          return await condition.wait(options);
        } finally {
          condition.release();
        }
      })());
    const timed = start({ timeout: 10 });
    const aborted = start({ signal: controller.signal });
    const patient = start();
    await flush();
    await clock.tickAsync(10);
    controller.abort();
    await flush();
    assertEquals(timed.value, false);
    assertEquals(aborted.status, "rejected");
    await condition.acquire();
    condition.notify(1);
    condition.release();
    await flush();
    assertEquals(patient.value, true);
  });
});

Deno.test("C-4: waiters are woken first come, first served", async () => {
  const condition = new Condition();
  const order: number[] = [];
  const waiters = [0, 1, 2, 3].map(async (id) => {
    await condition.acquire();
    await condition.wait();
    order.push(id);
    condition.release();
  });
  await flush();
  for (let i = 0; i < 4; i++) {
    await condition.acquire();
    condition.notify();
    condition.release();
    await flush();
    assertEquals(order.length, i + 1);
  }
  await Promise.all(waiters);
  assertEquals(order, [0, 1, 2, 3]);
});

// ---------------------------------------------------------------- conventions

Deno.test("Conventions: Condition wait with a negative or NaN timeout rejects RangeError and keeps the lock", async () => {
  const condition = new Condition();
  await condition.acquire();
  const other = track(condition.acquire());
  for (const timeout of [-1, NaN]) {
    await assertRejects(() => condition.wait({ timeout }), RangeError);
    await assertRejects(() => condition.waitFor(() => false, { timeout }), RangeError);
  }
  const { signal } = abortedSignal();
  await assertRejects(() => condition.wait({ timeout: -1, signal }), RangeError);
  await flush();
  assertEquals(other.status, "pending"); // never released
  condition.notifyAll(); // and no waiter was queued
  condition.release();
  await flush();
  assertEquals(other.value, true);
  condition.release();
});

Deno.test("Conventions: Condition wait with an already-aborted signal rejects at once, keeping the lock", async () => {
  const { signal, reason } = abortedSignal();
  const condition = new Condition();
  await condition.acquire();
  const other = track(condition.acquire());
  assertStrictEquals(await assertRejects(() => condition.wait({ signal, timeout: 0 })), reason);
  assertStrictEquals(await assertRejects(() => condition.waitFor(() => true, { signal })), reason);
  await flush();
  assertEquals(other.status, "pending");
  condition.release();
  await flush();
  condition.release();
});

Deno.test("Conventions: a settled Condition wait leaves no timer and no listener", async () => {
  await withFakeTime(async (clock) => {
    const condition = new Condition();
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    await condition.acquire();
    const waiter = condition.wait({ timeout: 1000, signal: controller.signal });
    assertEquals([clock.countTimers(), listeners.active], [1, 1]);
    await condition.acquire();
    condition.notify();
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    condition.release();
    assertEquals(await waiter, true);
    condition.release();
  });
});

// ---------------------------------------------------------------- lock and using

Deno.test("Condition: with an explicit Lock, the condition and the lock share state (test_acquire)", async () => {
  const lock = new Lock();
  const condition = new Condition(lock);
  assertStrictEquals(condition.lock, lock);
  await condition.acquire();
  assertEquals(lock.locked(), true);
  assertEquals(await lock.acquire({ timeout: 0 }), false);
  condition.release();
  await lock.acquire();
  assertEquals(condition.locked(), true);
  condition.notifyAll(); // the lock is held: allowed
  lock.release();
  assertEquals(condition.locked(), false);
  assertThrows(() => new Condition({} as Lock), TypeError);
  assert(new Condition().lock instanceof Lock);
});

Deno.test("Condition: hold() with using releases the lock at the end of the block", async () => {
  const condition = new Condition();
  {
    using _held = await condition.hold();
    assertEquals(condition.locked(), true);
    condition.notifyAll();
  }
  assertEquals(condition.locked(), false);
  await assertRejects(
    async () => {
      using _held = await condition.hold({ timeout: 10 });
      throw new Error("inside");
    },
    Error,
    "inside",
  );
  assertEquals(condition.locked(), false);
});

Deno.test("Condition: releasing an unheld condition throws Error", () => {
  assertThrows(() => new Condition().release(), Error, "not locked");
});

Deno.test("Condition: Deno.inspect shows locked and waiters", async () => {
  const condition = new Condition();
  await condition.acquire();
  const waiter = condition.wait();
  const text = Deno.inspect(condition);
  assertStringIncludes(text, "Condition");
  assertStringIncludes(text, "locked: false");
  assertStringIncludes(text, "waiters: 1");
  await condition.acquire();
  condition.notify();
  condition.release();
  assertEquals(await waiter, true);
  assertStringIncludes(Deno.inspect(condition), "waiters: 0");
  condition.release();
});

Deno.test("C-4: notify(n) with a value that is no number says what it received", async () => {
  const condition = new Condition();
  await condition.acquire();
  const error = assertThrows(() => condition.notify("2" as unknown as number), RangeError);
  assertStringIncludes(error.message, '"2"'); // a string, not the number 2
  assertStringIncludes(
    assertThrows(() => condition.notify(2n as unknown as number), RangeError).message,
    "2n",
  );
  condition.release();
});
