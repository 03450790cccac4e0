/**
 * PeriodicTimer against API.md T-1..T-5 and the conventions. Every duration
 * is fake; a blocked event loop is simulated with `clock.jump`, which fires
 * the timers that fell due during the jump once, late.
 */

import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { PeriodicTimer } from "../mod.ts";
import {
  abortedSignal,
  type Clock,
  flush,
  track,
  watchListeners,
  withFakeTime,
} from "./_helpers.ts";

// ---------------------------------------------------------------- T-1

Deno.test("T-1: an interval that is not a positive finite number throws RangeError", () => {
  for (const bad of [0, -1, -0.5, NaN, Infinity, -Infinity]) {
    assertThrows(() => new PeriodicTimer(bad), RangeError);
  }
  assertThrows(() => new PeriodicTimer("10" as unknown as number), RangeError);
  assertEquals(new PeriodicTimer(0.5).intervalMs, 0.5);
  assertEquals(new PeriodicTimer(250).intervalMs, 250);
});

// ---------------------------------------------------------------- T-2

Deno.test("T-2: every waiter of a tick is released by that tick, at the interval", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    timer.start();
    try {
      const waiters = Array.from({ length: 5 }, () => track(timer.waitForTick()));
      await clock.tickAsync(99);
      assertEquals(waiters.map((w) => w.status), Array(5).fill("pending"));
      await clock.tickAsync(1);
      assertEquals(waiters.map((w) => w.value), Array(5).fill(true));
      // The next tick releases the next round of waiters, and only them.
      const next = [track(timer.waitForTick()), track(timer.waitForTick())];
      await clock.tickAsync(99);
      assertEquals(next.map((w) => w.status), ["pending", "pending"]);
      await clock.tickAsync(1);
      assertEquals(next.map((w) => w.value), [true, true]);
    } finally {
      timer.stop();
    }
  });
});

// ---------------------------------------------------------------- T-3

Deno.test("T-3: ticks are scheduled from the start time, so late ticks do not shift the next", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    timer.start();
    try {
      // Every tick fires 30 ms late (the loop was busy); the schedule stays at k × 100.
      for (let k = 1; k <= 10; k++) {
        clock.jump(k === 1 ? 130 : 100);
        await flush();
        assertEquals(timer.ticks, k);
      }
      // Now at 1030: the 11th tick is due at 1100, not at 1130 or later.
      await clock.tickAsync(69);
      assertEquals(timer.ticks, 10);
      await clock.tickAsync(1);
      assertEquals(timer.ticks, 11);
    } finally {
      timer.stop();
    }
  });
});

Deno.test("T-3: on time ticks do not drift over many intervals", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(30);
    timer.start();
    try {
      await clock.tickAsync(30 * 1000 - 1);
      assertEquals(timer.ticks, 999);
      await clock.tickAsync(1);
      assertEquals(timer.ticks, 1000);
    } finally {
      timer.stop();
    }
  });
});

Deno.test("T-3: ticks missed while the event loop was blocked are coalesced into one", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    timer.start();
    try {
      const waiter = track(timer.waitForTick());
      clock.jump(350); // blocked through the ticks due at 100, 200 and 300
      await flush();
      assertEquals(waiter.value, true);
      assertEquals(timer.ticks, 1);
      // No backlog: the next tick is the one due at 400.
      const next = track(timer.waitForTick());
      await clock.tickAsync(49);
      assertEquals(next.status, "pending");
      assertEquals(timer.ticks, 1);
      await clock.tickAsync(1);
      assertEquals(next.value, true);
      assertEquals(timer.ticks, 2);
    } finally {
      timer.stop();
    }
  });
});

Deno.test("T-3: a tick that fires exactly on time with a fractional clock counts once", async () => {
  await withFakeTime(async (clock) => {
    // A coarse clock, as browsers have, that reads 0.1 ms after each fake ms.
    await clock.tickAsync(1000);
    const fakeNow = performance.now.bind(performance);
    performance.now = () => fakeNow() + 0.1;
    const timer = new PeriodicTimer(100);
    try {
      timer.start(); // at 1000.1
      await clock.tickAsync(150);
      assertEquals(timer.ticks, 1); // the tick due at 1100.1, once
      await clock.tickAsync(50);
      assertEquals(timer.ticks, 2);
    } finally {
      timer.stop();
      performance.now = fakeNow;
    }
  });
});

/**
 * Wraps the installed (fake) `setTimeout` to record every delay the code
 * asks for; `restore()` puts the wrapped one back.
 */
function recordTimeouts(): { delays: number[]; restore(): void } {
  const installed = globalThis.setTimeout;
  const delays: number[] = [];
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    delays.push(args[1] ?? 0);
    return installed(...args);
  }) as typeof setTimeout;
  return { delays, restore: () => void (globalThis.setTimeout = installed) };
}

const MAX_TIMER_DELAY = 2 ** 31 - 1;

Deno.test("T-1/T-3: an interval above 2^31-1 ms ticks once, on time, without a timer loop", async () => {
  await withFakeTime(async (clock) => {
    const interval = 2 ** 31 + 1000;
    const recorded = recordTimeouts();
    const timer = new PeriodicTimer(interval);
    try {
      timer.start();
      const first = track(timer.waitForTick());
      // setTimeout turns a longer delay into 1 ms: a timer that passed one would fire
      // here again and again.
      await clock.tickAsync(100);
      assertEquals(timer.ticks, 0);
      assertEquals(recorded.delays.length, 1);
      await clock.tickAsync(interval - 101);
      assertEquals(first.status, "pending");
      assertEquals(timer.ticks, 0);
      await clock.tickAsync(1);
      assertEquals(first.value, true);
      assertEquals(timer.ticks, 1);
      // The second tick is one interval later, not sooner.
      await clock.tickAsync(interval - 1);
      assertEquals(timer.ticks, 1);
      await clock.tickAsync(1);
      assertEquals(timer.ticks, 2);
      // Each interval took one capped timer and one for the rest, and the third
      // interval has begun with its capped one: no loop.
      assertEquals(recorded.delays.length, 5);
      for (const delay of recorded.delays) {
        assert(delay <= MAX_TIMER_DELAY, `setTimeout got ${delay} ms`);
      }
    } finally {
      timer.stop();
      recorded.restore();
    }
  });
});

Deno.test("T-1/T-3: a very long interval re-arms until its deadline, and stop() clears the timer", async () => {
  await withFakeTime(async (clock) => {
    const interval = 3 * MAX_TIMER_DELAY + 5;
    const timer = new PeriodicTimer(interval);
    const recorded = recordTimeouts();
    try {
      timer.start();
      const waiter = track(timer.waitForTick());
      await clock.tickAsync(100);
      assertEquals(recorded.delays.length, 1); // not a 1 ms loop
      await clock.tickAsync(interval - 101);
      assertEquals(waiter.status, "pending");
      assertEquals(recorded.delays.length, 4); // three capped timers, then the rest
      assertEquals(clock.countTimers(), 1);
      timer.stop();
      assertEquals(clock.countTimers(), 0);
      await flush();
      assertEquals(waiter.value, false);
      assertEquals(timer.ticks, 0);
    } finally {
      timer.stop();
      recorded.restore();
    }
  });
});

// ---------------------------------------------------------------- T-4

Deno.test("T-4: after stop(), pending and later waitForTick resolve false and no timer is left", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    timer.start();
    assertEquals(timer.running, true);
    const pending = [track(timer.waitForTick()), track(timer.waitForTick({ timeout: 1000 }))];
    await clock.tickAsync(50);
    timer.stop();
    assertEquals(timer.running, false);
    await flush();
    assertEquals(pending.map((w) => w.value), [false, false]);
    assertEquals(await timer.waitForTick(), false);
    assertEquals(clock.countTimers(), 0);
    await clock.tickAsync(1000);
    assertEquals(timer.ticks, 0);
    timer.stop(); // stopping twice is harmless
  });
});

Deno.test("T-4: start() while running is a no-op; start() after stop() ticks again", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    timer.start();
    await clock.tickAsync(50);
    timer.start(); // does not restart the schedule
    await clock.tickAsync(50);
    assertEquals(timer.ticks, 1);
    timer.stop();
    await clock.tickAsync(500);
    assertEquals(timer.ticks, 1);
    timer.start(); // at 600: ticks at 700, 800, ...
    assertEquals(clock.countTimers(), 1);
    const waiter = track(timer.waitForTick());
    await clock.tickAsync(99);
    assertEquals(waiter.status, "pending");
    await clock.tickAsync(1);
    assertEquals(waiter.value, true);
    assertEquals(timer.ticks, 2);
    timer.stop();
  });
});

Deno.test("T-4: waitForTick before start() waits for the first tick", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    const early = track(timer.waitForTick());
    await clock.tickAsync(1000);
    assertEquals(early.status, "pending"); // not started: no tick
    assertEquals(clock.countTimers(), 0);
    timer.start();
    await clock.tickAsync(99);
    assertEquals(early.status, "pending");
    await clock.tickAsync(1);
    assertEquals(early.value, true);
    timer.stop();
  });
});

Deno.test("T-4: stop() before start() releases early waiters with false", async () => {
  await withFakeTime(async () => {
    const timer = new PeriodicTimer(100);
    const early = track(timer.waitForTick());
    timer.stop();
    await flush();
    assertEquals(early.value, false);
  });
});

Deno.test("T-4: the iterator ends on stop(), also while it waits", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    timer.start();
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const tick of timer) seen.push(tick);
    })();
    await clock.tickAsync(300);
    assertEquals(seen, [1, 2, 3]);
    await clock.tickAsync(50);
    timer.stop(); // the iterator is waiting for tick 4
    await consumer;
    assertEquals(seen, [1, 2, 3]);
    // A new iterator on a stopped timer ends at once.
    const after: number[] = [];
    for await (const tick of timer) after.push(tick);
    assertEquals(after, []);
  });
});

Deno.test("T-4: using stops the timer at the end of the block", async () => {
  await withFakeTime(async (clock) => {
    let outside: PeriodicTimer;
    {
      using timer = new PeriodicTimer(100);
      outside = timer;
      timer.start();
      await clock.tickAsync(100);
      assertEquals(timer.ticks, 1);
    }
    assertEquals(outside.running, false);
    assertEquals(clock.countTimers(), 0);
    assertEquals(await outside.waitForTick(), false);
  });
});

// ---------------------------------------------------------------- T-5

Deno.test("T-5: ticks counts ticks fired; the iterator yields ticks after each tick", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(10);
    assertEquals(timer.ticks, 0);
    timer.start();
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const tick of timer) {
        seen.push(tick);
        if (tick === 5) break;
      }
    })();
    await clock.tickAsync(50);
    await consumer;
    assertEquals(seen, [1, 2, 3, 4, 5]);
    assertEquals(timer.ticks, 5);
    timer.stop();
  });
});

Deno.test("T-5: coalesced ticks count once; a slow consumer gets the latest count, not a backlog", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(100);
    timer.start();
    const iterator = timer[Symbol.asyncIterator]();
    try {
      const first = track(iterator.next());
      clock.jump(250); // ticks due at 100 and 200 fire once, at 250
      await flush();
      assertEquals(first.value, { value: 1, done: false });
      assertEquals(timer.ticks, 1);
      await clock.tickAsync(200); // ticks at 300, 400 while nobody reads; now 450
      assertEquals(timer.ticks, 3);
      assertEquals(await iterator.next(), { value: 3, done: false });
      const next = track(iterator.next());
      await clock.tickAsync(49);
      assertEquals(next.status, "pending");
      await clock.tickAsync(1);
      assertEquals(next.value, { value: 4, done: false });
    } finally {
      timer.stop();
    }
    assertEquals(await iterator.next(), { value: undefined, done: true });
  });
});

// ---------------------------------------------------------------- conventions

Deno.test("Conventions: waitForTick with a negative or NaN timeout rejects RangeError", async () => {
  const timer = new PeriodicTimer(100);
  for (const timeout of [-1, NaN]) {
    await assertRejects(() => timer.waitForTick({ timeout }), RangeError);
  }
  const { signal } = abortedSignal();
  await assertRejects(() => timer.waitForTick({ timeout: -1, signal }), RangeError);
  timer.stop();
  await assertRejects(() => timer.waitForTick({ timeout: -1 }), RangeError);
});

Deno.test("Conventions: waitForTick with an already-aborted signal rejects with its reason, even when stopped", async () => {
  const { signal, reason } = abortedSignal();
  const timer = new PeriodicTimer(100);
  assertStrictEquals(await assertRejects(() => timer.waitForTick({ signal })), reason);
  timer.stop();
  assertStrictEquals(await assertRejects(() => timer.waitForTick({ signal })), reason);
});

Deno.test("Conventions: waitForTick times out with false and can be aborted, leaving nothing behind", async () => {
  await withFakeTime(async (clock: Clock) => {
    const timer = new PeriodicTimer(1000);
    timer.start();
    try {
      const controller = new AbortController();
      const listeners = watchListeners(controller.signal);
      const reason = new Error("stop");
      const timed = track(timer.waitForTick({ timeout: 100 }));
      const aborted = track(timer.waitForTick({ signal: controller.signal }));
      await clock.tickAsync(99);
      assertEquals(timed.status, "pending");
      await clock.tickAsync(1);
      assertEquals(timed.value, false);
      controller.abort(reason);
      await flush();
      assertStrictEquals(aborted.reason, reason);
      assertEquals(listeners.active, 0);
      assertEquals(clock.countTimers(), 1); // only the timer's own
      assertStringIncludes(Deno.inspect(timer), "waiters: 0");
    } finally {
      timer.stop();
    }
  });
});

Deno.test("PeriodicTimer: Deno.inspect shows interval, state, ticks and waiters", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(10);
    assertStringIncludes(Deno.inspect(timer), `state: "idle"`);
    timer.start();
    await clock.tickAsync(10);
    const waiter = timer.waitForTick();
    const text = Deno.inspect(timer);
    assertStringIncludes(text, "PeriodicTimer");
    assertStringIncludes(text, "intervalMs: 10");
    assertStringIncludes(text, `state: "running"`);
    assertStringIncludes(text, "ticks: 1");
    assertStringIncludes(text, "waiters: 1");
    timer.stop();
    assertEquals(await waiter, false);
    assertStringIncludes(Deno.inspect(timer), `state: "stopped"`);
  });
});

Deno.test("T-3/T-5: an interval so small that the tick index overflows keeps ticking (T-1 accepts it)", async () => {
  await withFakeTime(async (clock) => {
    const timer = new PeriodicTimer(Number.MIN_VALUE); // positive and finite, so valid
    timer.start();
    try {
      await clock.tickAsync(20);
      const first = timer.ticks;
      assert(first >= 1, `no tick at all (${first})`);
      const waiting = track(timer.waitForTick());
      await clock.tickAsync(20);
      assertEquals(waiting.value, true, "the next tick never came");
      assert(timer.ticks > first);
    } finally {
      timer.stop();
    }
  });
});
