/**
 * Barrier against API.md B-1 and the conventions, with CPython's lock_tests
 * BarrierTests ported (python-semantics.md §2.8; N = 5).
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
import { Barrier, BrokenBarrierError } from "../mod.ts";
import {
  abortedSignal,
  flush,
  track,
  type Tracked,
  watchListeners,
  withFakeTime,
} from "./_helpers.ts";

const N = 5;

/** Runs `f` as N concurrent tasks and waits for all of them. */
function runTasks(f: (id: number) => Promise<void>): Promise<void[]> {
  return Promise.all(Array.from({ length: N }, (_, id) => f(id)));
}

// ---------------------------------------------------------------- construction

Deno.test("Barrier: parties must be an integer >= 1 (test_constructor)", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assertThrows(() => new Barrier(bad), RangeError);
  }
  assertThrows(() => new Barrier(2, { timeout: -1 }), RangeError);
  assertThrows(() => new Barrier(2, { timeout: NaN }), RangeError);
  assertThrows(() => new Barrier(2, { action: 5 as unknown as () => void }), TypeError);
  const barrier = new Barrier(3);
  assertEquals([barrier.parties, barrier.nWaiting, barrier.broken], [3, 0, false]);
});

// ---------------------------------------------------------------- ported lockstep tests

async function multipass(passes: number): Promise<void> {
  const barrier = new Barrier(N);
  const results: [boolean[], boolean[]] = [[], []];
  await runTasks(async () => {
    for (let i = 0; i < passes; i++) {
      results[0].push(true);
      assertEquals(results[1].length, i * N);
      await barrier.wait();
      results[1].push(true);
      assertEquals(results[0].length, (i + 1) * N);
      await barrier.wait();
    }
  });
  assertEquals(barrier.nWaiting, 0);
  assertEquals(barrier.broken, false);
}

Deno.test("Barrier: 5 tasks move in lockstep through 2 waits (test_barrier)", async () => {
  await multipass(1);
});

Deno.test("Barrier: the barrier is reused for 10 passes (test_barrier_10)", async () => {
  await multipass(10);
});

Deno.test("Barrier: wait returns distinct indices 0..N-1, in arrival order (test_wait_return)", async () => {
  const barrier = new Barrier(N);
  const indices: number[] = [];
  await runTasks(async (id) => {
    const index = await barrier.wait();
    indices[id] = index;
  });
  assertEquals(indices, [0, 1, 2, 3, 4]);
  assertEquals(indices.reduce((a, b) => a + b), 10);
});

Deno.test("Barrier: the action runs once per trip, before any waiter returns (test_action)", async () => {
  const results: number[] = [];
  let returned = 0;
  const barrier = new Barrier(N, { action: () => results.push(returned) });
  await runTasks(async () => {
    await barrier.wait();
    returned++;
  });
  assertEquals(results, [0]);
  await runTasks(async () => {
    await barrier.wait();
  });
  assertEquals(results, [0, N]);
});

Deno.test("Barrier: a single party never waits (test_single_thread)", async () => {
  const barrier = new Barrier(1);
  assertEquals(await barrier.wait(), 0);
  assertEquals(await barrier.wait(), 0);
});

// ---------------------------------------------------------------- B-1

/**
 * One pass of a task in test_abort: the middle party fails and aborts the
 * barrier, so nobody gets through the second wait and the others see it broken.
 */
async function failOneAndAbort(
  barrier: Barrier,
  passed: boolean[],
  broken: boolean[],
): Promise<void> {
  try {
    const index = await barrier.wait();
    if (index === Math.floor(N / 2)) throw new TypeError("task failed");
    await barrier.wait();
    passed.push(true);
  } catch (error) {
    if (error instanceof BrokenBarrierError) broken.push(true);
    else barrier.abort();
  }
}

Deno.test("B-1: abort() breaks the barrier: the others reject BrokenBarrierError (test_abort)", async () => {
  const barrier = new Barrier(N);
  const results1: boolean[] = [];
  const results2: boolean[] = [];
  await runTasks(async () => {
    await failOneAndAbort(barrier, results1, results2);
  });
  assertEquals(results1.length, 0);
  assertEquals(results2.length, N - 1);
  assertEquals(barrier.broken, true);
  await assertRejects(() => barrier.wait(), BrokenBarrierError); // until reset
});

Deno.test("B-1: reset() while parties wait rejects them; then everyone passes again (test_reset)", async () => {
  const barrier = new Barrier(N);
  const results1: boolean[] = [];
  const results2: boolean[] = [];
  const results3: boolean[] = [];
  await runTasks(async () => {
    const index = await barrier.wait();
    if (index === Math.floor(N / 2)) {
      while (barrier.nWaiting < N - 1) await flush(1);
      barrier.reset();
    } else {
      try {
        await barrier.wait();
        results1.push(true);
      } catch (error) {
        assertInstanceOf(error, BrokenBarrierError);
        results2.push(true);
      }
    }
    await barrier.wait();
    results3.push(true);
  });
  assertEquals([results1.length, results2.length, results3.length], [0, N - 1, N]);
  assertEquals(barrier.broken, false);
});

Deno.test("B-1: after an abort, a reset makes the barrier usable again (test_abort_and_reset)", async () => {
  const barrier = new Barrier(N);
  const barrier2 = new Barrier(N);
  const results1: boolean[] = [];
  const results2: boolean[] = [];
  const results3: boolean[] = [];
  await runTasks(async () => {
    await failOneAndAbort(barrier, results1, results2);
    if (await barrier2.wait() === Math.floor(N / 2)) barrier.reset();
    await barrier2.wait();
    await barrier.wait();
    results3.push(true);
  });
  assertEquals([results1.length, results2.length, results3.length], [0, N - 1, N]);
});

Deno.test("B-1: one late party makes the others' timed waits break the barrier (test_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const barrier = new Barrier(N, { timeout: 2000 });
    const outcomes = runTasks(async () => {
      const index = await barrier.wait();
      if (index === Math.floor(N / 2)) {
        await new Promise((resolve) => setTimeout(resolve, 1000)); // one task is late
      }
      await assertRejects(() => barrier.wait({ timeout: 500 }), BrokenBarrierError);
    });
    await clock.tickAsync(499);
    assertEquals(barrier.broken, false);
    await clock.tickAsync(1);
    assertEquals(barrier.broken, true);
    await clock.tickAsync(500);
    await outcomes;
  });
});

Deno.test("B-1: the barrier's default timeout breaks a lone wait at that time (test_default_timeout)", async () => {
  await withFakeTime(async (clock) => {
    const barrier = new Barrier(2, { timeout: 100 });
    const waiter = track(barrier.wait());
    await clock.tickAsync(99);
    assertEquals(waiter.status, "pending");
    assertEquals(barrier.nWaiting, 1);
    await clock.tickAsync(1);
    assertInstanceOf(waiter.reason, BrokenBarrierError);
    assertEquals(barrier.broken, true);
    assertEquals(barrier.nWaiting, 0);
    // A wait's own timeout overrides the default.
    barrier.reset();
    const patient = track(barrier.wait({ timeout: Infinity }));
    await clock.tickAsync(10_000);
    assertEquals(patient.status, "pending");
    assertEquals(await barrier.wait(), 1);
    assertEquals(patient.value, 0);
  });
});

Deno.test("B-1: a wait with timeout 0 that would have to wait breaks the barrier", async () => {
  const barrier = new Barrier(3);
  const first = track(barrier.wait());
  await assertRejects(() => barrier.wait({ timeout: 0 }), BrokenBarrierError);
  await flush();
  assertInstanceOf(first.reason, BrokenBarrierError);
  assertEquals(barrier.broken, true);
  // The party that completes a trip does not wait: timeout 0 is fine for it.
  const pair = new Barrier(2);
  const other = pair.wait();
  assertEquals(await pair.wait({ timeout: 0 }), 1);
  assertEquals(await other, 0);
});

Deno.test("B-1: an abort in one wait rejects it with signal.reason and the others with BrokenBarrierError", async () => {
  const barrier = new Barrier(N);
  const controller = new AbortController();
  const listeners = watchListeners(controller.signal);
  const reason = new Error("party gave up");
  const others = [0, 1].map(() => track(barrier.wait()));
  const aborted = track(barrier.wait({ signal: controller.signal }));
  const last = track(barrier.wait());
  assertEquals(barrier.nWaiting, 4);
  controller.abort(reason);
  await flush();
  assertStrictEquals(aborted.reason, reason);
  for (const waiter of [...others, last]) assertInstanceOf(waiter.reason, BrokenBarrierError);
  assertEquals(barrier.broken, true);
  assertEquals(barrier.nWaiting, 0);
  assertEquals(listeners.active, 0);
});

Deno.test("B-1: a throwing action breaks the barrier: its party rejects with the error, the others BrokenBarrierError", async () => {
  const failure = new Error("action failed");
  let fail = true;
  let runs = 0;
  const barrier = new Barrier(3, {
    action: () => {
      runs++;
      if (fail) throw failure;
    },
  });
  const first = track(barrier.wait());
  const second = track(barrier.wait());
  const third = track(barrier.wait());
  await flush();
  assertInstanceOf(first.reason, BrokenBarrierError);
  assertInstanceOf(second.reason, BrokenBarrierError);
  assertStrictEquals(third.reason, failure);
  assertEquals(barrier.broken, true);
  await assertRejects(() => barrier.wait(), BrokenBarrierError);
  assertEquals(runs, 1);
  fail = false;
  barrier.reset();
  assertEquals((await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()])).sort(), [
    0,
    1,
    2,
  ]);
  assertEquals(runs, 2);
});

Deno.test("B-1: reset() on a barrier nobody waits on leaves it whole", async () => {
  const barrier = new Barrier(2);
  barrier.reset();
  assertEquals(barrier.broken, false);
  const first = barrier.wait();
  assertEquals(await barrier.wait(), 1);
  assertEquals(await first, 0);
});

for (const parties of [1, 3]) {
  Deno.test(`B-1/Conventions: an action that calls wait() on its own barrier gets an Error, and its trip goes on (${parties} parties)`, async () => {
    let runs = 0;
    let inner: Tracked<number> | undefined;
    const barrier = new Barrier(parties, {
      action: () => {
        runs++;
        inner = track(barrier.wait()); // misuse: the action runs before its own trip's parties go on
      },
    });
    const indices = await Promise.all(Array.from({ length: parties }, () => barrier.wait()));
    assertEquals(indices.sort(), Array.from({ length: parties }, (_, i) => i));
    assertEquals(runs, 1, "the action ran again inside itself");
    const error = await assertRejects(() => inner!.promise, Error, "from its own action");
    assert(!(error instanceof BrokenBarrierError), "misuse is an Error, not a broken barrier");
    // Nothing changed: the barrier is whole and the next trip works.
    assertEquals([barrier.broken, barrier.nWaiting], [false, 0]);
    await Promise.all(Array.from({ length: parties }, () => barrier.wait()));
    assertEquals(runs, 2);
  });

  Deno.test(`B-1: an action that returns (or awaits) a wait() on its own barrier breaks it with that Error, once (${parties} parties)`, async () => {
    let runs = 0;
    const barrier = new Barrier(parties, {
      action: async () => {
        runs++;
        await barrier.wait();
      },
    });
    const waits = Array.from({ length: parties }, () => track(barrier.wait()));
    await flush(4);
    assertEquals(runs, 1);
    const last = waits.pop()!;
    assertInstanceOf(last.reason, Error);
    assertStringIncludes((last.reason as Error).message, "from its own action");
    for (const other of waits) assertInstanceOf(other.reason, BrokenBarrierError);
    assertEquals([barrier.broken, barrier.nWaiting], [true, 0]);
  });
}

// ---------------------------------------------------------------- B-1, async action

/** An action whose promise the test settles: `calls` counts runs, `finish`/`fail` settle the last. */
function asyncAction(): {
  action: () => Promise<void>;
  readonly calls: number;
  finish(): void;
  fail(error: unknown): void;
} {
  let calls = 0;
  let settle: { resolve(): void; reject(error: unknown): void } | undefined;
  return {
    action: () => {
      calls++;
      return new Promise<void>((resolve, reject) => settle = { resolve, reject });
    },
    get calls() {
      return calls;
    },
    finish: () => settle!.resolve(),
    fail: (error) => settle!.reject(error),
  };
}

Deno.test("B-1: an async action is awaited before any party is released", async () => {
  const pending = asyncAction();
  const barrier = new Barrier(3, { action: pending.action });
  const parties = [track(barrier.wait()), track(barrier.wait()), track(barrier.wait())];
  await flush();
  assertEquals(pending.calls, 1);
  assertEquals(parties.map((p) => p.status), ["pending", "pending", "pending"]);
  assertEquals(barrier.nWaiting, 3); // all arrived, none released
  assertEquals(barrier.broken, false);
  pending.finish();
  await flush();
  assertEquals(parties.map((p) => p.value), [0, 1, 2]);
  assertEquals(barrier.nWaiting, 0);
  // Cyclic: the next trip awaits its own run of the action.
  const next = [track(barrier.wait()), track(barrier.wait()), track(barrier.wait())];
  await flush();
  assertEquals(pending.calls, 2);
  assertEquals(next.map((p) => p.status), ["pending", "pending", "pending"]);
  pending.finish();
  await flush();
  assertEquals(next.map((p) => p.value), [0, 1, 2]);
});

Deno.test("B-1: a rejected async action breaks the barrier like a throwing one, with no unhandled rejection", async () => {
  const pending = asyncAction();
  const barrier = new Barrier(3, { action: pending.action });
  const [first, second, third] = [
    track(barrier.wait()),
    track(barrier.wait()),
    track(barrier.wait()),
  ];
  await flush();
  const failure = new Error("async action failed");
  pending.fail(failure);
  await flush();
  assertInstanceOf(first.reason, BrokenBarrierError);
  assertInstanceOf(second.reason, BrokenBarrierError);
  assertStrictEquals(third.reason, failure);
  assertEquals(barrier.broken, true);
  assertEquals(barrier.nWaiting, 0);
  await assertRejects(() => barrier.wait(), BrokenBarrierError);
  barrier.reset();
  const again = Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
  await flush();
  pending.finish();
  assertEquals((await again).sort(), [0, 1, 2]);
});

Deno.test("B-1: abort() during an async action releases every party with BrokenBarrierError", async () => {
  const pending = asyncAction();
  const barrier = new Barrier(2, { action: pending.action });
  const parties = [track(barrier.wait()), track(barrier.wait())];
  await flush();
  barrier.abort(); // e.g. the action hangs
  await flush();
  for (const party of parties) assertInstanceOf(party.reason, BrokenBarrierError);
  assertEquals(barrier.broken, true);
  assertEquals(barrier.nWaiting, 0);
  // The action's later outcome, even a rejection, changes nothing and is not reported.
  pending.fail(new Error("too late"));
  await flush();
  assertEquals(barrier.broken, true);
  barrier.reset();
  const again = Promise.all([barrier.wait(), barrier.wait()]);
  await flush();
  pending.finish();
  assertEquals((await again).sort(), [0, 1]);
});

Deno.test("B-1: reset() during an async action rejects its parties and leaves the barrier whole", async () => {
  const pending = asyncAction();
  const barrier = new Barrier(2, { action: pending.action });
  const parties = [track(barrier.wait()), track(barrier.wait())];
  await flush();
  barrier.reset();
  await flush();
  for (const party of parties) assertInstanceOf(party.reason, BrokenBarrierError);
  assertEquals(barrier.broken, false);
  pending.finish(); // the old trip's action ends: nobody is released by it
  await flush();
  assertEquals(barrier.nWaiting, 0);
  const again = Promise.all([barrier.wait(), barrier.wait()]);
  await flush();
  pending.finish();
  assertEquals((await again).sort(), [0, 1]);
});

Deno.test("B-1: once all parties arrived, their timeouts no longer apply while the async action runs", async () => {
  await withFakeTime(async (clock) => {
    const action = () => new Promise<void>((resolve) => setTimeout(resolve, 100));
    const barrier = new Barrier(3, { action, timeout: 50 });
    const parties = [
      track(barrier.wait()),
      track(barrier.wait({ timeout: 10 })),
      track(barrier.wait({ signal: new AbortController().signal })),
    ];
    await clock.tickAsync(99);
    assertEquals(parties.map((p) => p.status), ["pending", "pending", "pending"]);
    assertEquals(barrier.broken, false);
    assertEquals(clock.countTimers(), 1); // the action's own: the parties' timers are gone
    await clock.tickAsync(1);
    assertEquals(parties.map((p) => p.value), [0, 1, 2]);
  });
});

Deno.test("B-1: parties that arrive while an async action runs belong to the next trip", async () => {
  const pending = asyncAction();
  const barrier = new Barrier(2, { action: pending.action });
  const trip = [track(barrier.wait()), track(barrier.wait())];
  await flush();
  const early = track(barrier.wait());
  await flush();
  assertEquals(barrier.nWaiting, 3);
  pending.finish();
  await flush();
  assertEquals(trip.map((p) => p.value), [0, 1]);
  assertEquals(early.status, "pending");
  assertEquals(barrier.nWaiting, 1);
  const late = track(barrier.wait());
  await flush();
  pending.finish();
  await flush();
  assertEquals([early.value, late.value], [0, 1]);
});

Deno.test("B-1: a timeout in the next trip during an async action breaks the barrier for everyone", async () => {
  await withFakeTime(async (clock) => {
    const pending = asyncAction();
    const barrier = new Barrier(2, { action: pending.action });
    const trip = [track(barrier.wait()), track(barrier.wait())];
    const early = track(barrier.wait({ timeout: 10 }));
    await clock.tickAsync(10);
    assertInstanceOf(early.reason, BrokenBarrierError);
    for (const party of trip) assertInstanceOf(party.reason, BrokenBarrierError);
    assertEquals(barrier.broken, true);
    pending.finish();
    await flush();
    assertEquals(barrier.nWaiting, 0);
  });
});

Deno.test("B-1: an action that aborts the barrier releases nobody, sync or async", async () => {
  for (const asAsync of [false, true]) {
    const barrier: Barrier = new Barrier(2, {
      action: () => {
        barrier.abort();
        return asAsync ? Promise.resolve() : undefined;
      },
    });
    const parties = [track(barrier.wait()), track(barrier.wait())];
    await flush();
    for (const party of parties) assertInstanceOf(party.reason, BrokenBarrierError);
    assertEquals(barrier.broken, true);
    assertEquals(barrier.nWaiting, 0);
  }
});

Deno.test("B-1: a trip that fills while an earlier trip's async action runs keeps both trips", async () => {
  const finishes: (() => void)[] = [];
  const barrier = new Barrier(1, {
    action: () => new Promise<void>((resolve) => finishes.push(resolve)),
  });
  const first = track(barrier.wait());
  const second = track(barrier.wait()); // trips again: its own action runs too
  await flush();
  assertEquals(finishes.length, 2);
  assertEquals(barrier.nWaiting, 2);
  finishes[1]!();
  await flush();
  assertEquals([first.status, second.value], ["pending", 0]);
  finishes[0]!();
  await flush();
  assertEquals(first.value, 0);
  assertEquals(barrier.nWaiting, 0);
  // A break frees every trip in flight.
  const third = track(barrier.wait());
  const fourth = track(barrier.wait());
  await flush();
  barrier.abort();
  await flush();
  assertInstanceOf(third.reason, BrokenBarrierError);
  assertInstanceOf(fourth.reason, BrokenBarrierError);
  for (const finish of finishes) finish();
});

Deno.test("B-1: a break in the same turn as the async action fulfils still ends the trip", async () => {
  const pending = asyncAction();
  const barrier = new Barrier(2, { action: pending.action });
  const parties = [track(barrier.wait()), track(barrier.wait())];
  await flush();
  pending.finish(); // the barrier sees this in a promise job...
  barrier.abort(); // ...after this break
  await flush();
  for (const party of parties) assertInstanceOf(party.reason, BrokenBarrierError);
  assertEquals(barrier.broken, true);
});

// ---------------------------------------------------------------- conventions

Deno.test("Conventions: Barrier wait with a negative or NaN timeout rejects RangeError and changes nothing", async () => {
  const barrier = new Barrier(2);
  const first = track(barrier.wait());
  for (const timeout of [-1, NaN]) {
    await assertRejects(() => barrier.wait({ timeout }), RangeError);
  }
  const { signal } = abortedSignal();
  await assertRejects(() => barrier.wait({ timeout: -1, signal }), RangeError);
  assertEquals(barrier.nWaiting, 1);
  assertEquals(barrier.broken, false);
  assertEquals(await barrier.wait(), 1);
  await flush();
  assertEquals(first.value, 0);
});

Deno.test("Conventions: Barrier wait with an already-aborted signal rejects with its reason, even for the last party", async () => {
  const { signal, reason } = abortedSignal();
  const single = new Barrier(1);
  assertStrictEquals(await assertRejects(() => single.wait({ signal })), reason);
  const barrier = new Barrier(2);
  assertStrictEquals(await assertRejects(() => barrier.wait({ signal })), reason);
  assertEquals(barrier.nWaiting, 0);
});

Deno.test("Conventions: a settled Barrier wait leaves no timer and no listener", async () => {
  await withFakeTime(async (clock) => {
    const barrier = new Barrier(3, { timeout: 1000 });
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const waiters = [barrier.wait({ signal: controller.signal }), barrier.wait()];
    assertEquals([clock.countTimers(), listeners.active], [2, 1]);
    assertEquals(await barrier.wait(), 2);
    assertEquals(await Promise.all(waiters), [0, 1]);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    // Broken by abort(): timers go too.
    const broken = track(barrier.wait());
    assertEquals(clock.countTimers(), 1);
    barrier.abort();
    await flush();
    assertInstanceOf(broken.reason, BrokenBarrierError);
    assertEquals(clock.countTimers(), 0);
  });
});

Deno.test("Barrier: Deno.inspect shows parties, waiting and broken", async () => {
  const barrier = new Barrier(3);
  const waiter = track(barrier.wait());
  const text = Deno.inspect(barrier);
  assertStringIncludes(text, "Barrier");
  assertStringIncludes(text, "parties: 3");
  assertStringIncludes(text, "waiting: 1");
  assertStringIncludes(text, "broken: false");
  barrier.abort();
  assert(Deno.inspect(barrier).includes("broken: true"));
  await flush();
  assertInstanceOf(waiter.reason, BrokenBarrierError);
});

Deno.test("B-1: an action whose result's `then` getter throws breaks the barrier like a throwing action, never a synchronous throw", async () => {
  const failure = new Error("then getter threw");
  const barrier = new Barrier(2, {
    action: () => ({
      get then(): unknown {
        throw failure;
      },
    }),
  });
  const first = track(barrier.wait());
  let last: Promise<number> | undefined;
  try {
    last = barrier.wait();
  } catch {
    // checked below
  }
  if (last === undefined) throw new Error("the last party's wait threw synchronously");
  assertStrictEquals(await last.then(() => undefined, (error: unknown) => error), failure);
  await flush();
  assertEquals(first.status, "rejected");
  assertInstanceOf(first.reason, BrokenBarrierError);
  assertEquals(barrier.broken, true);
  assertEquals(barrier.nWaiting, 0);
});

Deno.test("B-1: a wait whose signal is already aborted breaks the barrier, as a timeout of 0 does: the parties waiting reject BrokenBarrierError", async () => {
  const { signal, reason } = abortedSignal();
  const barrier = new Barrier(3);
  const first = barrier.wait();
  assertStrictEquals(await assertRejects(() => barrier.wait({ signal })), reason);
  assertEquals(barrier.broken, true);
  await assertRejects(() => first, BrokenBarrierError);
  // The same party with timeout 0 instead: the barrier breaks the same way.
  const other = new Barrier(3);
  const waiting = other.wait();
  await assertRejects(() => other.wait({ timeout: 0 }), BrokenBarrierError);
  assertEquals(other.broken, true);
  await assertRejects(() => waiting, BrokenBarrierError);
});
