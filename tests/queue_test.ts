/**
 * Queue, LifoQueue and PriorityQueue against API.md Q-1..Q-10 and the
 * conventions, with CPython's test_queue and test_asyncio.test_queues cases
 * ported (python-semantics.md §2.1 and §2.3). Durations use fake time only.
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
import {
  defaultCompare,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
} from "../mod.ts";
import * as queueModule from "../src/queues.ts";
import {
  abortedSignal,
  armedCompare,
  flush,
  track,
  watchListeners,
  withFakeTime,
} from "./_helpers.ts";
import { ArrayStack } from "./fixtures/array_stack.ts";

interface Kind {
  name: string;
  make: (maxsize?: number) => Queue<number>;
  /** The order `get` returns items put in the given order (all queued first). */
  order: (items: readonly number[]) => number[];
}

const KINDS: Kind[] = [
  { name: "Queue", make: (maxsize) => new Queue<number>(maxsize), order: (xs) => [...xs] },
  {
    name: "LifoQueue",
    make: (maxsize) => new LifoQueue<number>(maxsize),
    order: (xs) => [...xs].reverse(),
  },
  {
    name: "PriorityQueue",
    make: (maxsize) => new PriorityQueue<number>(maxsize),
    order: (xs) => [...xs].sort((a, b) => a - b),
  },
];

function drain<T>(queue: Queue<T>): T[] {
  const items: T[] = [];
  while (!queue.empty()) items.push(queue.getNowait());
  return items;
}

// ----------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`Q-1: ${kind.name} with a maxsize that is not an integer throws RangeError`, () => {
    for (const bad of [1.5, 0.1, -2.5, NaN, -Infinity]) {
      assertThrows(() => kind.make(bad), RangeError, String(bad));
    }
  });
}

Deno.test("Q-1: maxsize in an options object is checked the same way", () => {
  assertThrows(() => new Queue({ maxsize: 2.5 }), RangeError);
  assertThrows(() => new LifoQueue({ maxsize: NaN }), RangeError);
  assertThrows(() => new PriorityQueue({ maxsize: 1.3 }), RangeError); // test_float_maxsize: refused
  assertEquals(new Queue({ maxsize: 3 }).maxsize, 3);
  assertEquals(new PriorityQueue<number>({ maxsize: 4 }).maxsize, 4);
});

Deno.test("Q-1: a maxsize that is not a number throws TypeError", () => {
  assertThrows(() => new Queue("3" as unknown as number), TypeError);
  assertThrows(() => new Queue({ maxsize: "3" as unknown as number }), TypeError);
});

for (const kind of KINDS) {
  Deno.test(`Q-1: ${kind.name} maxsize is as given; <= 0, Infinity or omitted is unbounded`, () => {
    for (const maxsize of [undefined, 0, -1, -100, Infinity]) {
      const queue = kind.make(maxsize);
      assertEquals(queue.maxsize, maxsize ?? 0);
      for (let i = 0; i < 1000; i++) queue.putNowait(i);
      assertEquals(queue.full(), false); // test_full: an unbounded queue is never full
      assertEquals(queue.qsize(), 1000);
    }
    const bounded = kind.make(7);
    assertEquals(bounded.maxsize, 7);
  });
}

// ----------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`Q-2: ${kind.name} gives items in its order (test_basic, run twice)`, async () => {
    const queue = kind.make(3);
    for (let round = 0; round < 2; round++) {
      assert(queue.empty());
      assertEquals(queue.qsize(), 0);
      queue.putNowait(111);
      await queue.put(333);
      queue.putNowait(222);
      assertEquals(queue.qsize(), 3);
      assert(queue.full());
      assert(!queue.empty());
      assertEquals(
        [await queue.get(), queue.getNowait(), await queue.get({ timeout: 0 })],
        kind.order([111, 333, 222]),
      );
      assert(queue.empty());
      assert(!queue.full());
    }
  });

  Deno.test(`Q-2: ${kind.name} order [1, 3, 2] (test_asyncio test_order)`, () => {
    const queue = kind.make();
    for (const item of [1, 3, 2]) queue.putNowait(item);
    assertEquals(drain(queue), kind.order([1, 3, 2]));
  });
}

Deno.test("Q-2: LifoQueue keeps LIFO order across interleaved puts and gets", () => {
  const queue = new LifoQueue<number>();
  queue.putNowait(1);
  queue.putNowait(2);
  assertEquals(queue.getNowait(), 2);
  queue.putNowait(3);
  queue.putNowait(4);
  assertEquals(drain(queue), [4, 3, 1]);
});

Deno.test("Q-2: PriorityQueue default order: numbers, bigints, strings, booleans ascending", () => {
  const numbers = new PriorityQueue<number>();
  for (const n of [3, -1, 2.5, 0, -7, 10]) numbers.putNowait(n);
  assertEquals(drain(numbers), [-7, -1, 0, 2.5, 3, 10]);

  const mixed = new PriorityQueue<number | bigint>();
  for (const n of [3n, 1, 2n, 0.5, -1n]) mixed.putNowait(n);
  assertEquals(drain(mixed), [-1n, 0.5, 1, 2n, 3n]);

  const strings = new PriorityQueue<string>();
  for (const s of ["pear", "apple", "Zebra", "b", ""]) strings.putNowait(s);
  assertEquals(drain(strings), ["", "Zebra", "apple", "b", "pear"]); // by code unit

  const flags = new PriorityQueue<boolean>();
  for (const b of [true, false, true]) flags.putNowait(b);
  assertEquals(drain(flags), [false, true, true]);
});

Deno.test("Q-2: PriorityQueue default order compares arrays element by element, like tuples", () => {
  const queue = new PriorityQueue<(number | string)[]>();
  queue.putNowait([2, "write docs"]);
  queue.putNowait([1, "fix bug"]);
  queue.putNowait([2, "review"]);
  queue.putNowait([1]);
  queue.putNowait([2, "review", 0]);
  assertEquals(drain(queue), [
    [1],
    [1, "fix bug"],
    [2, "review"],
    [2, "review", 0],
    [2, "write docs"],
  ]);
});

Deno.test("Q-2: the default compare throws TypeError for values it cannot order", () => {
  assertThrows(() => defaultCompare({}, {}), TypeError);
  assertThrows(() => defaultCompare("1", 1), TypeError);
  assertThrows(() => defaultCompare(1, "1"), TypeError);
  assertThrows(() => defaultCompare(NaN, 1), TypeError);
  assertThrows(() => defaultCompare([1, {}], [1, {}]), TypeError);
  assertThrows(() => defaultCompare(null, null), TypeError);
  assertEquals(defaultCompare([1, "a"], [1, "b"]) < 0, true);
  assertEquals(defaultCompare(2n, 2), 0);

  const queue = new PriorityQueue<unknown>();
  queue.putNowait({ id: 1 }); // alone: nothing to compare with yet
  assertThrows(() => queue.putNowait({ id: 2 }), TypeError);
  assertThrows(() => queue.putNowait("a string"), TypeError);
  assertEquals(queue.qsize(), 1);
  assertEquals(queue.unfinishedTasks, 1);
  assertEquals(queue.getNowait(), { id: 1 });
});

Deno.test("Q-2: PriorityQueue gives equal priorities in insertion order (stable)", () => {
  type Job = { priority: number; id: number };
  const queue = new PriorityQueue<Job>({ compare: (a, b) => a.priority - b.priority });
  const jobs: Job[] = [];
  // A fixed pseudo-random sequence of priorities with many ties.
  let seed = 12345;
  for (let id = 0; id < 200; id++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    jobs.push({ priority: seed % 4, id });
  }
  for (const job of jobs) queue.putNowait(job);
  const expected = [...jobs].sort((a, b) => a.priority - b.priority || a.id - b.id);
  assertEquals(drain(queue), expected);
});

Deno.test("Q-2: PriorityQueue stays stable when gets and puts interleave", () => {
  type Job = { priority: number; id: number };
  const queue = new PriorityQueue<Job>({ compare: (a, b) => a.priority - b.priority });
  let id = 0;
  const put = (priority: number) => queue.putNowait({ priority, id: id++ });
  put(1), put(1), put(0), put(1);
  assertEquals(queue.getNowait(), { priority: 0, id: 2 });
  put(1), put(0);
  assertEquals(drain(queue).map((job) => job.id), [5, 0, 1, 3, 4]);
});

Deno.test("Q-2: PriorityQueue takes a compare function; a non-function throws TypeError", () => {
  const queue = new PriorityQueue<number>({ compare: (a, b) => b - a });
  for (const n of [1, 3, 2]) queue.putNowait(n);
  assertEquals(drain(queue), [3, 2, 1]);
  assertThrows(
    () => new PriorityQueue<number>({ compare: 5 as unknown as (a: number, b: number) => number }),
    TypeError,
  );
});

Deno.test("Q-2: a compare that throws on put: that put throws and the queue is unchanged", async () => {
  const { compare, armed } = armedCompare();
  const queue = new PriorityQueue<number>({ maxsize: 10, compare });
  for (const n of [5, 1, 4]) queue.putNowait(n);
  armed.on = true;
  assertThrows(() => queue.putNowait(3), Error, "compare failed");
  await assertRejects(() => queue.put(2), Error, "compare failed");
  await assertRejects(() => queue.put(0, { timeout: 100 }), Error, "compare failed");
  assertEquals(queue.qsize(), 3);
  assertEquals(queue.unfinishedTasks, 3);
  armed.on = false;
  queue.putNowait(2);
  assertEquals(drain(queue), [1, 2, 4, 5]);
  assertEquals(queue.unfinishedTasks, 4);
});

Deno.test("Q-2: a compare that throws on get: that get throws and the queue is unchanged", async () => {
  const { compare, armed } = armedCompare();
  const queue = new PriorityQueue<number>({ compare });
  for (const n of [5, 1, 4, 2]) queue.putNowait(n);
  queue.getNowait(); // 1: one task taken and not yet done
  armed.on = true;
  assertThrows(() => queue.getNowait(), Error, "compare failed");
  await assertRejects(() => queue.get(), Error, "compare failed");
  await assertRejects(() => queue.get({ timeout: 50 }), Error, "compare failed");
  assertEquals(queue.qsize(), 3);
  assertEquals(queue.unfinishedTasks, 4);
  armed.on = false;
  assertEquals(drain(queue), [2, 4, 5]);
  assertEquals(queue.unfinishedTasks, 4);
});

Deno.test("Q-2: a compare that throws while a waiting put is admitted fails that put alone", async () => {
  const armed = { bad: -1 };
  const queue = new PriorityQueue<number>({
    maxsize: 2,
    compare: (a, b) => {
      if (a === armed.bad || b === armed.bad) throw new Error("cannot order " + armed.bad);
      return a - b;
    },
  });
  queue.putNowait(10);
  queue.putNowait(20);
  const bad = track(queue.put(99));
  const good = track(queue.put(30));
  armed.bad = 99;
  assertEquals(queue.getNowait(), 10); // room for one: 99 fails, 30 gets in
  await flush();
  assertEquals(bad.status, "rejected");
  assertStringIncludes(String(bad.reason), "cannot order 99");
  assertEquals(good.status, "fulfilled");
  assertEquals(queue.qsize(), 2);
  assertEquals(queue.unfinishedTasks, 3); // 10, 20, 30
  assertEquals(drain(queue), [20, 30]);
});

/** A queue whose storage hooks fail once on demand (CPython's FailingQueue). */
class FailingQueue<T> extends Queue<T> {
  failPut = false;
  failGet = false;
  protected override storagePut(item: T): void {
    if (this.failPut) {
      this.failPut = false;
      throw new Error("You Lose");
    }
    super.storagePut(item);
  }
  protected override storageGet(): T {
    if (this.failGet) {
      this.failGet = false;
      throw new Error("You Lose");
    }
    return super.storageGet();
  }
}

Deno.test("Q-2: a storage hook that throws fails that put/get alone; the queue is undamaged (test_failing_queue)", async () => {
  await withFakeTime(async (clock) => {
    const queue = new FailingQueue<string>(3);
    for (const item of ["a", "b"]) queue.putNowait(item);
    queue.failPut = true;
    assertThrows(() => queue.putNowait("oops"), Error, "You Lose");
    queue.failPut = true;
    await assertRejects(() => queue.put("oops", { timeout: 10 }), Error, "You Lose");
    queue.failPut = true;
    await assertRejects(() => queue.put("oops"), Error, "You Lose");
    assertEquals([queue.qsize(), queue.unfinishedTasks, queue.full()], [2, 2, false]);
    queue.putNowait("c");
    assert(queue.full());
    // A waiting put whose storage fails when it is admitted rejects alone.
    const blocked = track(queue.put("late"));
    queue.failPut = true;
    assertEquals(queue.getNowait(), "a");
    await flush();
    assertStringIncludes(String(blocked.reason), "You Lose");
    assertEquals(queue.qsize(), 2);
    // A failed get keeps the item.
    queue.failGet = true;
    assertThrows(() => queue.getNowait(), Error, "You Lose");
    queue.failGet = true;
    await assertRejects(() => queue.get({ timeout: 10 }), Error, "You Lose");
    queue.failGet = true;
    await assertRejects(() => queue.get(), Error, "You Lose");
    assertEquals(queue.qsize(), 2);
    assertEquals(drain(queue), ["b", "c"]);
    assertEquals(queue.unfinishedTasks, 3);
    await queue.put("d");
    assertEquals(await queue.get(), "d");
    await clock.tickAsync(0);
  });
});

Deno.test("Q-3: put on an unbounded queue never waits (test_blocking_put)", async () => {
  const queue = new Queue<number>();
  const puts = Array.from({ length: 100 }, (_, i) => track(queue.put(i)));
  await flush();
  assertEquals(puts.every((p) => p.status === "fulfilled"), true);
  assertEquals(queue.qsize(), 100);
});

// ----------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`Q-3: ${kind.name} serves waiting gets in arrival order`, async () => {
    const queue = kind.make();
    const getters = [track(queue.get()), track(queue.get()), track(queue.get())];
    queue.putNowait(30);
    await queue.put(10);
    queue.putNowait(20);
    await flush();
    assertEquals(getters.map((g) => g.value), [30, 10, 20]);
    assertEquals(queue.qsize(), 0);
  });

  Deno.test(`Q-3: ${kind.name} admits waiting puts in arrival order as room frees`, async () => {
    const queue = kind.make(1);
    queue.putNowait(0);
    const putters = [track(queue.put(3)), track(queue.put(1)), track(queue.put(2))];
    await flush();
    assertEquals(putters.map((p) => p.status), ["pending", "pending", "pending"]);
    const got: number[] = [];
    for (let i = 1; i <= 3; i++) {
      got.push(queue.getNowait());
      await flush();
      assertEquals(putters.map((p) => p.status === "fulfilled"), [i >= 1, i >= 2, i >= 3]);
      assertEquals(queue.qsize(), 1);
    }
    got.push(queue.getNowait());
    assertEquals(got, [0, 3, 1, 2]); // arrival order, not priority or stack order
  });
}

Deno.test("Q-3: put hands the item straight to a waiting getter", async () => {
  const { compare, armed } = armedCompare();
  const queue = new PriorityQueue<number>({ maxsize: 1, compare });
  const getter = track(queue.get());
  armed.on = true; // a hand-off needs no comparison
  queue.putNowait(7);
  assertEquals(queue.qsize(), 0);
  assertEquals(queue.unfinishedTasks, 1);
  await flush();
  assertEquals(getter.value, 7);
});

Deno.test("Q-3: put with timeout 0 on a full queue with waiting putters rejects QueueFull", async () => {
  const queue = new Queue<number>(1);
  queue.putNowait(1);
  const waiting = track(queue.put(2));
  await assertRejects(() => queue.put(3, { timeout: 0 }), QueueFull);
  assertThrows(() => queue.putNowait(3), QueueFull);
  assertEquals(queue.getNowait(), 1);
  await flush();
  assertEquals(waiting.status, "fulfilled");
  assertEquals(drain(queue), [2]);
});

Deno.test("Q-3: get on a full queue wakes a waiting putter (test_get_with_putters)", async () => {
  const queue = new Queue<number>(1);
  queue.putNowait(1);
  const putter = track(queue.put(2));
  assertEquals(await queue.get(), 1);
  await flush();
  assertEquals(putter.status, "fulfilled");
  assertEquals(await queue.get(), 2);
});

Deno.test("Q-3: gets return items of waiting putters in order (test_get_with_waiting_putters)", async () => {
  const queue = new Queue<string>(1);
  await queue.put("a");
  const putB = track(queue.put("b"));
  assertEquals(await queue.get(), "a");
  assertEquals(await queue.get(), "b");
  await flush();
  assertEquals(putB.status, "fulfilled");
});

Deno.test("Q-3: producer and consumer over Queue(1) finish (test_why_are_getters_waiting)", async () => {
  const queue = new Queue<number>(1);
  const consumed: number[] = [];
  const consumer = (async () => {
    for (let i = 0; i < 5; i++) consumed.push(await queue.get());
  })();
  const producer = (async () => {
    for (let i = 0; i < 5; i++) await queue.put(i);
  })();
  await Promise.all([producer, consumer]);
  assertEquals(consumed, [0, 1, 2, 3, 4]);
});

Deno.test("Q-3: draining qsize() items with waiting putters works (test_why_are_putters_waiting)", async () => {
  const queue = new Queue<number>(2);
  const putters = [0, 1, 2, 3].map((i) => queue.put(i));
  await flush();
  const got: number[] = [];
  for (let size = queue.qsize(); size > 0; size--) got.push(queue.getNowait());
  await Promise.all(putters);
  got.push(...drain(queue));
  assertEquals(got, [0, 1, 2, 3]);
});

Deno.test("Q-3: a putter of 3 items into Queue(2) waits after 2 (test_maxsize)", async () => {
  const queue = new Queue<number>(2);
  assertEquals(queue.maxsize, 2);
  let have = 0;
  const putter = (async () => {
    for (let i = 0; i < 3; i++) {
      await queue.put(i);
      have = i + 1;
    }
  })();
  await flush();
  assertEquals(have, 2);
  assert(queue.full());
  assertEquals(queue.getNowait(), 0);
  await putter;
  assertEquals(have, 3);
  assertEquals(drain(queue), [1, 2]);
});

Deno.test("Q-3: a blocking get returns only after the trigger put (test_blocking_get_wait)", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>();
    setTimeout(() => queue.putNowait(1), 10);
    const getter = track(queue.get());
    await clock.tickAsync(9);
    assertEquals(getter.status, "pending");
    await clock.tickAsync(1);
    assertEquals(getter.value, 1);
  });
});

Deno.test("Q-3: a blocking put returns only after the trigger get (test_blocking_put_wait)", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>(1);
    await queue.put(1);
    setTimeout(() => queue.getNowait(), 10);
    const putter = track(queue.put(2));
    await clock.tickAsync(9);
    assertEquals(putter.status, "pending");
    await clock.tickAsync(1);
    assertEquals(putter.status, "fulfilled");
    assertEquals(queue.getNowait(), 2);
  });
});

// ----------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`Q-4: ${kind.name} get with timeout 100 rejects QueueEmpty at 100 ms, not before`, async () => {
    await withFakeTime(async (clock) => {
      const queue = kind.make();
      const getter = track(queue.get({ timeout: 100 }));
      await clock.tickAsync(99);
      assertEquals(getter.status, "pending");
      await clock.tickAsync(1);
      assertEquals(getter.status, "rejected");
      assertInstanceOf(getter.reason, QueueEmpty);
      // Nothing changed, and the timed-out getter does not swallow a later item.
      assertEquals(queue.unfinishedTasks, 0);
      queue.putNowait(5);
      assertEquals(queue.qsize(), 1);
      assertEquals(queue.getNowait(), 5);
    });
  });

  Deno.test(`Q-4: ${kind.name} put with timeout 100 rejects QueueFull at 100 ms; nothing is added`, async () => {
    await withFakeTime(async (clock) => {
      const queue = kind.make(2);
      queue.putNowait(1);
      queue.putNowait(2);
      const putter = track(queue.put(0, { timeout: 100 }));
      await clock.tickAsync(99);
      assertEquals(putter.status, "pending");
      await clock.tickAsync(1);
      assertEquals(putter.status, "rejected");
      assertInstanceOf(putter.reason, QueueFull);
      assertEquals(queue.qsize(), 2);
      assertEquals(queue.unfinishedTasks, 2);
      queue.getNowait();
      queue.putNowait(3); // the timed-out putter is gone: room is for this one
      assertEquals(drain(queue).includes(0), false);
    });
  });

  Deno.test(`Q-4: ${kind.name} timeout 0 does not wait`, async () => {
    await withFakeTime(async () => {
      const queue = kind.make(1);
      await assertRejects(() => queue.get({ timeout: 0 }), QueueEmpty);
      await queue.put(1, { timeout: 0 });
      await assertRejects(() => queue.put(2, { timeout: 0 }), QueueFull);
      assertEquals(await queue.get({ timeout: 0 }), 1);
    });
  });
}

Deno.test("Q-4: a timeout of Infinity waits as long as needed", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>(1);
    queue.putNowait(1);
    const getter = track(new Queue<number>().get({ timeout: Infinity }));
    const putter = track(queue.put(2, { timeout: Infinity }));
    await clock.tickAsync(10 ** 9);
    assertEquals(putter.status, "pending");
    assertEquals(getter.status, "pending");
    assertEquals(clock.countTimers(), 0); // no timer for an unbounded wait
    queue.getNowait();
    await flush();
    assertEquals(putter.status, "fulfilled");
  });
});

Deno.test("Q-4: get and put timeouts behave as in test_basic (0.01 s → 10 ms)", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>(1);
    queue.putNowait(1);
    const full = track(queue.put(2, { timeout: 10 }));
    await clock.tickAsync(10);
    assertInstanceOf(full.reason, QueueFull);
    queue.getNowait();
    const empty = track(queue.get({ timeout: 10 }));
    await clock.tickAsync(10);
    assertInstanceOf(empty.reason, QueueEmpty);
  });
});

// ----------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`Q-5: ${kind.name} get aborted in the same turn after an item arrives returns it`, async () => {
    const queue = kind.make();
    const controller = new AbortController();
    const getter = track(queue.get({ signal: controller.signal }));
    queue.putNowait(1);
    controller.abort(new Error("too late"));
    await flush();
    assertEquals(getter.status, "fulfilled");
    assertEquals(getter.value, 1);
    assertEquals(queue.qsize(), 0);
    assertEquals(queue.unfinishedTasks, 1);
  });

  Deno.test(`Q-5: ${kind.name} get aborted in the same turn before an item arrives leaves it queued`, async () => {
    const queue = kind.make();
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const getter = track(queue.get({ signal: controller.signal }));
    controller.abort(reason);
    queue.putNowait(1);
    await flush();
    assertStrictEquals(getter.reason, reason);
    assertEquals(queue.qsize(), 1);
    assertEquals(await queue.get(), 1);
  });
}

Deno.test("Q-5: a get cancelled in the same turn as an item arrives never loses it (timeouts)", async () => {
  for (const putFirst of [true, false]) {
    await withFakeTime(async (clock) => {
      const queue = new Queue<string>();
      if (putFirst) setTimeout(() => queue.putNowait("item"), 100); // fires before the get's timer
      const getter = track(queue.get({ timeout: 100 }));
      if (!putFirst) setTimeout(() => queue.putNowait("item"), 100); // fires after it
      await clock.tickAsync(100);
      const got = getter.status === "fulfilled" ? [getter.value] : [];
      const left = drain(queue);
      assertEquals([...got, ...left], ["item"]);
      assertEquals(getter.status, putFirst ? "fulfilled" : "rejected");
    });
  }
});

Deno.test("Q-5: a get cancelled in the same turn as an item arrives never loses it (abort timer)", async () => {
  for (const putFirst of [true, false]) {
    await withFakeTime(async (clock) => {
      const queue = new Queue<string>();
      const controller = new AbortController();
      const abort = () => controller.abort(new Error("stop"));
      const put = () => queue.putNowait("item");
      setTimeout(putFirst ? put : abort, 50);
      const getter = track(queue.get({ signal: controller.signal }));
      setTimeout(putFirst ? abort : put, 50);
      await clock.tickAsync(50);
      const got = getter.status === "fulfilled" ? [getter.value] : [];
      assertEquals([...got, ...drain(queue)], ["item"]);
    });
  }
});

Deno.test("Q-5: one pending reader cancelled right after two puts loses nothing (test_get_cancel_drop_one_pending_reader)", async () => {
  const queue = new Queue<number>();
  const controller = new AbortController();
  const reader = track(queue.get({ signal: controller.signal }));
  queue.putNowait(1);
  queue.putNowait(2);
  controller.abort();
  await flush();
  const got = reader.status === "fulfilled" ? [reader.value!] : [];
  got.push(await queue.get());
  if (got.length < 2) got.push(await queue.get());
  assertEquals(got.sort(), [1, 2]);
  assertEquals(queue.qsize(), 0);
});

Deno.test("Q-5: many pending readers, one cancelled: the others get every item (test_get_cancel_drop_many_pending_readers)", async () => {
  for (const abortBeforePuts of [true, false]) {
    const queue = new Queue<number>();
    const controller = new AbortController();
    const reader1 = track(queue.get({ signal: controller.signal }));
    const cleanup = new AbortController();
    const reader2 = track(queue.get({ signal: cleanup.signal }));
    const reader3 = track(queue.get({ signal: cleanup.signal }));
    if (abortBeforePuts) controller.abort();
    queue.putNowait(1);
    queue.putNowait(2);
    if (!abortBeforePuts) controller.abort();
    await flush();
    const values = [reader1, reader2, reader3]
      .filter((r) => r.status === "fulfilled")
      .map((r) => r.value!);
    assertEquals(values.sort(), [1, 2]);
    if (abortBeforePuts) assertEquals([reader2.value, reader3.value], [1, 2]);
    cleanup.abort();
    await flush();
    assertEquals(queue.qsize(), 0);
  }
});

Deno.test("Q-5: a pending writer cancelled after a get: nothing duplicated or lost (test_put_cancel_drop)", async () => {
  for (const abortFirst of [true, false]) {
    const queue = new Queue<number>(1);
    queue.putNowait(1);
    const controller = new AbortController();
    const writer = track(queue.put(2, { signal: controller.signal }));
    if (abortFirst) controller.abort();
    assertEquals(queue.getNowait(), 1);
    if (!abortFirst) controller.abort();
    await flush();
    if (writer.status === "rejected") {
      assertEquals(queue.qsize(), 0);
      await queue.put(2); // the retry succeeds
    }
    assertEquals(writer.status, abortFirst ? "rejected" : "fulfilled");
    assertEquals(drain(queue), [2]);
    assertEquals(queue.unfinishedTasks, 2);
  }
});

Deno.test("Q-5: a cancelled put among waiting puts leaves no item (test_put_cancelled_race)", async () => {
  const queue = new Queue<string>(1);
  await queue.put("a");
  const putB = track(queue.put("b"));
  const controller = new AbortController();
  const putX = track(queue.put("X", { signal: controller.signal }));
  controller.abort();
  assertEquals(await queue.get(), "a");
  assertEquals(await queue.get(), "b");
  await flush();
  assertEquals(putB.status, "fulfilled");
  assertEquals(putX.status, "rejected");
  assertEquals(queue.qsize(), 0);
  assertEquals(queue.unfinishedTasks, 2);
});

Deno.test("Q-5: the second getter gets the item when the first was cancelled (test_get_cancelled_race)", async () => {
  const queue = new Queue<string>();
  const controller = new AbortController();
  const first = track(queue.get({ signal: controller.signal }));
  const second = track(queue.get());
  controller.abort();
  queue.putNowait("a");
  await flush();
  assertEquals(first.status, "rejected");
  assertEquals(second.value, "a");
});

Deno.test("Q-5: a cancelled put leaves no item and no unfinished task (timeout and abort)", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>(1);
    queue.putNowait(1);
    const controller = new AbortController();
    const aborted = track(queue.put(2, { signal: controller.signal }));
    const timed = track(queue.put(3, { timeout: 10 }));
    controller.abort();
    await clock.tickAsync(10);
    assertEquals([aborted.status, timed.status], ["rejected", "rejected"]);
    assertEquals(queue.unfinishedTasks, 1);
    assertEquals(drain(queue), [1]);
    await queue.put(4);
    assertEquals(drain(queue), [4]);
  });
});

Deno.test("Q-5: an abort after the putter was admitted is harmless (test_cancelled_put_silence_value_error_exception)", async () => {
  const queue = new Queue<number>(1);
  queue.putNowait(1);
  const controller = new AbortController();
  const putter = track(queue.put(2, { signal: controller.signal }));
  queue.getNowait();
  controller.abort(); // must not throw
  await flush();
  assertEquals(putter.status, "fulfilled");
  assertEquals(drain(queue), [2]);
});

Deno.test("Q-5: timed-out getters and putters are not kept as waiters (test_cancelled_getters/puts_not_being_held)", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>(1);
    const getter = track(queue.get({ timeout: 100 }));
    await clock.tickAsync(100);
    assertInstanceOf(getter.reason, QueueEmpty);
    assertStringIncludes(Deno.inspect(queue), "waitingGetters: 0");
    queue.putNowait(1);
    const putter = track(queue.put(2, { timeout: 100 }));
    await clock.tickAsync(100);
    assertInstanceOf(putter.reason, QueueFull);
    assertStringIncludes(Deno.inspect(queue), "waitingPutters: 0");
  });
});

// ----------------------------------------------------------------

Deno.test("Q-6: each put adds one unfinished task, taskDone removes one, join waits for 0", async () => {
  const queue = new Queue<number>(1);
  assertEquals(queue.unfinishedTasks, 0);
  queue.putNowait(1);
  assertEquals(queue.unfinishedTasks, 1);
  const putter = queue.put(2); // waits: counted once admitted
  assertEquals(queue.unfinishedTasks, 1);
  const joiner = track(queue.join());
  queue.getNowait();
  await putter;
  assertEquals(queue.unfinishedTasks, 2);
  queue.getNowait();
  const getter = queue.get();
  queue.putNowait(3); // handed straight to the getter: still one task
  assertEquals(await getter, 3);
  assertEquals(queue.unfinishedTasks, 3);
  queue.taskDone();
  queue.taskDone();
  await flush();
  assertEquals(joiner.status, "pending");
  queue.taskDone();
  await flush();
  assertEquals(joiner.value, true);
  assertEquals(queue.unfinishedTasks, 0);
});

for (const kind of KINDS) {
  Deno.test(`Q-6: ${kind.name} taskDone on a fresh queue throws RangeError (test_task_done_underflow)`, () => {
    const queue = kind.make();
    assertThrows(() => queue.taskDone(), RangeError);
    assertEquals(queue.unfinishedTasks, 0);
  });

  Deno.test(`Q-6: ${kind.name} join on an empty queue resolves true at once, twice (test_join_empty_queue)`, async () => {
    await withFakeTime(async () => {
      const queue = kind.make();
      assertEquals(await queue.join(), true);
      assertEquals(await queue.join({ timeout: 0 }), true);
    });
  });

  Deno.test(`Q-6: ${kind.name} join returns after 2 workers marked 100 items done (test_queue_join)`, async () => {
    const queue = kind.make();
    let sum = 0;
    const worker = async () => {
      for (;;) {
        const item = await queue.get();
        if (item < 0) {
          queue.taskDone();
          return;
        }
        sum += item;
        await Promise.resolve();
        queue.taskDone();
      }
    };
    const workers = [worker(), worker()];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 100; i++) queue.putNowait(i);
      assertEquals(await queue.join(), true);
      assertEquals(sum, 4950 * (round + 1));
    }
    queue.putNowait(-1);
    queue.putNowait(-1);
    await queue.join();
    await Promise.all(workers);
    assertThrows(() => queue.taskDone(), RangeError);
  });
}

Deno.test("Q-6: taskDone called too often throws RangeError and leaves the count unchanged", () => {
  const queue = new Queue<number>();
  queue.putNowait(1);
  queue.putNowait(2);
  queue.getNowait();
  queue.taskDone();
  assertEquals(queue.unfinishedTasks, 1);
  queue.taskDone();
  const error = assertThrows(() => queue.taskDone(), RangeError);
  assertStringIncludes((error as Error).message, "taskDone");
  assertEquals(queue.unfinishedTasks, 0);
  queue.putNowait(3);
  assertEquals(queue.unfinishedTasks, 1); // not -1 + 1
});

Deno.test("Q-6: join with a timeout resolves false at the timeout, not before", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>();
    queue.putNowait(1);
    const joiner = track(queue.join({ timeout: 100 }));
    await clock.tickAsync(99);
    assertEquals(joiner.status, "pending");
    await clock.tickAsync(1);
    assertEquals(joiner.value, false);
    assertEquals(await queue.join({ timeout: 0 }), false);
    queue.getNowait();
    queue.taskDone();
    assertEquals(await queue.join({ timeout: 0 }), true);
  });
});

Deno.test("Q-6: every join waiter is released when the count reaches 0", async () => {
  const queue = new Queue<number>();
  queue.putNowait(1);
  const joiners = [track(queue.join()), track(queue.join()), track(queue.join())];
  queue.getNowait();
  await flush();
  assertEquals(joiners.map((j) => j.status), ["pending", "pending", "pending"]);
  queue.taskDone();
  await flush();
  assertEquals(joiners.map((j) => j.value), [true, true, true]);
});

// ----------------------------------------------------------------

Deno.test("Q-7: qsize() never exceeds maxsize, with puts waiting and being admitted", async () => {
  const queue = new Queue<number>(3);
  const putters = Array.from({ length: 10 }, (_, i) => queue.put(i));
  const sizes: number[] = [queue.qsize()];
  const got: number[] = [];
  for (let i = 0; i < 10; i++) {
    got.push(await queue.get());
    sizes.push(queue.qsize());
    await Promise.resolve();
    sizes.push(queue.qsize());
  }
  await Promise.all(putters);
  assert(sizes.every((size) => size <= 3), `sizes ${sizes}`);
  assertEquals(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("Q-7: putNowait on a full queue throws QueueFull (test_nowait)", () => {
  for (const kind of KINDS) {
    const queue = kind.make(5);
    for (let i = 0; i < 5; i++) queue.putNowait(i);
    assertThrows(() => queue.putNowait(5), QueueFull);
    assertEquals(queue.qsize(), 5);
    for (let i = 0; i < 5; i++) queue.getNowait();
    assertThrows(() => queue.getNowait(), QueueEmpty);
  }
});

/** Shut down and drained: put, putNowait, get and getNowait all fail with QueueShutDown. */
async function assertClosed<T>(queue: Queue<T>, item: T, other: T = item): Promise<void> {
  await assertRejects(() => queue.put(item), QueueShutDown);
  assertThrows(() => queue.putNowait(other), QueueShutDown);
  await assertRejects(() => queue.get(), QueueShutDown);
  assertThrows(() => queue.getNowait(), QueueShutDown);
}

// ----------------------------------------------------------------

Deno.test("Q-8: no Array.prototype.shift on the put/get paths of any queue", async () => {
  const original = Array.prototype.shift;
  let calls = 0;
  Array.prototype.shift = function (this: unknown[]) {
    calls++;
    return original.call(this);
  };
  try {
    for (const kind of KINDS) {
      const queue = kind.make(64);
      for (let i = 0; i < 1000; i++) {
        queue.putNowait(i);
        await queue.put(i + 1);
        queue.getNowait();
        await queue.get();
      }
      // Waiting getters and putters too.
      const getters = [queue.get(), queue.get()];
      queue.putNowait(1);
      queue.putNowait(2);
      await Promise.all(getters);
      for (let i = 0; i < 64; i++) queue.putNowait(i);
      const putter = queue.put(99);
      queue.getNowait();
      await putter;
    }
  } finally {
    Array.prototype.shift = original;
  }
  assertEquals(calls, 0);
});

Deno.test("Q-8: PriorityQueue put and get make O(log n) comparisons", () => {
  let comparisons = 0;
  const queue = new PriorityQueue<number>({
    compare: (a, b) => {
      comparisons++;
      return a - b;
    },
  });
  const n = 4096; // log2 = 12
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 48271) % 2147483647;
    queue.putNowait(seed);
  }
  const perPut = comparisons / n;
  comparisons = 0;
  let previous = -Infinity;
  for (let i = 0; i < n; i++) {
    const item = queue.getNowait();
    assert(item >= previous);
    previous = item;
  }
  const perGet = comparisons / n;
  assert(perPut <= 12 + 1, `puts made ${perPut} comparisons each`);
  assert(perGet <= 2 * 12 + 2, `gets made ${perGet} comparisons each`);
});

// ----------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`Q-9: ${kind.name} after shutdown, put and get on an empty queue reject QueueShutDown (test_shutdown_empty)`, async () => {
    const queue = kind.make();
    const getter = track(queue.get());
    assertEquals(queue.isShutdown, false);
    queue.shutdown();
    assertEquals(queue.isShutdown, true);
    await flush();
    assertInstanceOf(getter.reason, QueueShutDown);
    assertEquals(await queue.join(), true);
    await assertClosed(queue, 1);
  });

  Deno.test(`Q-9: ${kind.name} a soft shutdown keeps returning the items left, then rejects (test_shutdown_nonempty)`, async () => {
    const queue = kind.make();
    for (const item of [3, 1, 2]) queue.putNowait(item);
    queue.shutdown();
    assertEquals(
      [await queue.get(), queue.getNowait(), await queue.get({ timeout: 0 })],
      kind.order([3, 1, 2]),
    );
    await assertRejects(() => queue.get(), QueueShutDown);
    assertThrows(() => queue.getNowait(), QueueShutDown);
  });

  Deno.test(`Q-9: ${kind.name} shutdown(true) discards every item; get rejects QueueShutDown (test_shutdown_immediate)`, async () => {
    const queue = kind.make();
    queue.putNowait(1);
    queue.putNowait(2);
    const joiner = track(queue.join());
    queue.shutdown(true);
    assertEquals(queue.qsize(), 0);
    assertEquals(queue.unfinishedTasks, 0);
    await flush();
    assertEquals(joiner.value, true);
    await assertRejects(() => queue.get(), QueueShutDown);
    assertThrows(() => queue.getNowait(), QueueShutDown);
    await assertRejects(() => queue.put(3), QueueShutDown);
    assertThrows(() => queue.putNowait(3), QueueShutDown);
    assertThrows(() => queue.taskDone(), RangeError);
  });

  Deno.test(`Q-9: ${kind.name} shutdown(true) with an unfinished task taken keeps join waiting (test_shutdown_immediate_with_unfinished)`, async () => {
    const queue = kind.make();
    queue.putNowait(1);
    queue.putNowait(2);
    queue.getNowait();
    const joiner = track(queue.join());
    queue.shutdown(true);
    assertEquals(queue.unfinishedTasks, 1);
    await flush();
    assertEquals(joiner.status, "pending");
    await assertClosed(queue, 3);
    queue.taskDone();
    await flush();
    assertEquals(joiner.value, true);
    assertThrows(() => queue.taskDone(), RangeError);
    assertEquals(queue.unfinishedTasks, 0);
  });

  Deno.test(`Q-9: ${kind.name} shutdown releases waiting putters and getters with QueueShutDown`, async () => {
    const full = kind.make(2);
    full.putNowait(1);
    full.putNowait(2);
    const putters = [track(full.put(3)), track(full.put(4))];
    full.shutdown(); // test_shutdown_put
    await flush();
    for (const putter of putters) assertInstanceOf(putter.reason, QueueShutDown);
    assertEquals(full.qsize(), 2);
    assertEquals(full.unfinishedTasks, 2);

    const empty = kind.make();
    const getters = [track(empty.get()), track(empty.get({ timeout: 1000 }))];
    empty.shutdown(); // test_shutdown_pending_get
    await flush();
    for (const getter of getters) assertInstanceOf(getter.reason, QueueShutDown);
  });
}

Deno.test("Q-9: shutdown allows every transition; isShutdown goes false → true (test_shutdown_allowed_transitions)", () => {
  const queue = new Queue<number>();
  assertEquals(queue.isShutdown, false);
  queue.shutdown();
  assertEquals(queue.isShutdown, true);
  queue.shutdown(true);
  queue.shutdown(false);
  assertEquals(queue.isShutdown, true);
});

Deno.test("Q-9: shutdown is idempotent; shutdown(true) never lowers the count below 0", () => {
  const queue = new Queue<number>();
  for (let i = 0; i < 3; i++) queue.putNowait(i);
  queue.getNowait();
  queue.shutdown(true);
  assertEquals(queue.unfinishedTasks, 1);
  queue.shutdown(true);
  queue.shutdown();
  assertEquals(queue.unfinishedTasks, 1);

  const done = new Queue<number>();
  done.putNowait(1);
  done.getNowait();
  done.taskDone();
  done.shutdown(true);
  assertEquals(done.unfinishedTasks, 0);
});

Deno.test("Q-9: shutdown(true) after a soft shutdown still discards", () => {
  const queue = new Queue<number>();
  queue.putNowait(1);
  queue.putNowait(2);
  queue.shutdown();
  assertEquals(queue.qsize(), 2);
  queue.shutdown(true);
  assertEquals(queue.qsize(), 0);
  assertEquals(queue.unfinishedTasks, 0);
});

Deno.test("Q-9: soft shutdown in one task: every method (test_shutdown_all_methods_in_one_thread)", async () => {
  const queue = new Queue<string>(2);
  await queue.put("L");
  queue.putNowait("O");
  queue.shutdown();
  await assertRejects(() => queue.put("E"), QueueShutDown);
  assertThrows(() => queue.putNowait("W"), QueueShutDown);
  assertEquals(await queue.get(), "L");
  queue.taskDone();
  assertEquals(queue.getNowait(), "O");
  queue.taskDone();
  assertEquals(await queue.join(), true);
  await assertRejects(() => queue.get(), QueueShutDown);
  assertThrows(() => queue.getNowait(), QueueShutDown);
  await assertRejects(() => queue.get({ timeout: 1000 }), QueueShutDown);
});

Deno.test("Q-9: immediate shutdown in one task: every method (test_shutdown_immediate_all_methods_in_one_thread)", async () => {
  const queue = new Queue<string>(2);
  await queue.put("L");
  queue.putNowait("O");
  queue.shutdown(true);
  await assertClosed(queue, "E", "W");
  await assertRejects(() => queue.get({ timeout: 1000 }), QueueShutDown);
  assertThrows(() => queue.taskDone(), RangeError);
  assertEquals(await queue.join(), true);
});

Deno.test("Q-9: with 3 getters on a full Queue(2), 2 get items and 1 gets QueueShutDown (test_shutdown_get)", async () => {
  for (const immediate of [false, true]) {
    const queue = new Queue<number>(2);
    queue.putNowait(1);
    queue.putNowait(2);
    const first = track(queue.get());
    queue.shutdown(immediate);
    const rest = [track(queue.get()), track(queue.get())];
    await flush();
    if (immediate) {
      // test_shutdown_immediate_get: what was left is discarded.
      assertEquals(first.value, 1);
      for (const getter of rest) assertInstanceOf(getter.reason, QueueShutDown);
    } else {
      assertEquals([first.value, rest[0]!.value], [1, 2]);
      assertInstanceOf(rest[1]!.reason, QueueShutDown);
    }
  }
});

Deno.test("Q-9: join waiters return after a soft shutdown once items are done (test_shutdown_join)", async () => {
  const queue = new Queue<string>();
  queue.putNowait("Y");
  const joiners = [track(queue.join()), track(queue.join())];
  queue.shutdown();
  await flush();
  assertEquals(joiners.map((j) => j.status), ["pending", "pending"]);
  assertEquals(await queue.get(), "Y");
  queue.taskDone();
  await flush();
  assertEquals(joiners.map((j) => j.value), [true, true]);
});

Deno.test("Q-9: join waiters return after shutdown(true) discards the items (test_shutdown_immediate_join)", async () => {
  const queue = new Queue<string>();
  queue.putNowait("Y");
  const joiners = [track(queue.join()), track(queue.join())];
  queue.shutdown(true);
  await flush();
  assertEquals(joiners.map((j) => j.value), [true, true]);
});

Deno.test("Q-9: a putter rejects, the joiner returns after the item is done (test_shutdown_put_join)", async () => {
  for (const immediate of [false, true]) {
    const queue = new Queue<string>(2);
    queue.putNowait("Y");
    const joiner = track(queue.join());
    queue.shutdown(immediate);
    await assertRejects(() => queue.put("Z"), QueueShutDown);
    if (immediate) {
      // test_shutdown_immediate_put_join
      assertThrows(() => queue.getNowait(), QueueShutDown);
    } else {
      assertEquals(queue.getNowait(), "Y");
      await flush();
      assertEquals(joiner.status, "pending");
      queue.taskDone();
    }
    await flush();
    assertEquals(joiner.value, true);
  }
});

Deno.test("Q-9: getters, taskDone and joiners all succeed around a soft shutdown (test_shutdown_get_task_done_join)", async () => {
  const queue = new Queue<number>(2);
  queue.putNowait(1);
  queue.putNowait(2);
  const joiners = [queue.join(), queue.join()];
  const workers = [0, 1].map(async () => {
    const item = await queue.get();
    queue.taskDone();
    return item;
  });
  queue.shutdown();
  assertEquals((await Promise.all(workers)).sort(), [1, 2]);
  assertEquals(await Promise.all(joiners), [true, true]);
});

Deno.test("Q-9: asyncio test_shutdown_nonempty: putter rejects, join waits for taskDone", async () => {
  const queue = new Queue<string>(1);
  queue.putNowait("data");
  const putter = track(queue.put("data"));
  const joiner = track(queue.join());
  queue.shutdown();
  await flush();
  assertInstanceOf(putter.reason, QueueShutDown);
  assertEquals(await queue.get(), "data");
  await flush();
  assertEquals(joiner.status, "pending");
  await assertClosed(queue, "x");
  queue.taskDone();
  await flush();
  assertEquals(joiner.value, true);
  assertThrows(() => queue.taskDone(), RangeError);
});

Deno.test("Q-9: after shutdown, QueueShutDown wins over QueueFull, QueueEmpty and a bad timeout", async () => {
  const { signal } = abortedSignal();
  const full = new Queue<number>(1);
  full.putNowait(1);
  full.shutdown();
  assertThrows(() => full.putNowait(2), QueueShutDown);
  await assertRejects(() => full.put(2, { timeout: 0 }), QueueShutDown);
  await assertRejects(() => full.put(2, { timeout: -1 }), QueueShutDown);
  await assertRejects(() => full.put(2, { timeout: NaN }), QueueShutDown);
  await assertRejects(() => full.put(2, { signal }), QueueShutDown);

  const empty = new Queue<number>();
  empty.shutdown();
  assertThrows(() => empty.getNowait(), QueueShutDown);
  await assertRejects(() => empty.get({ timeout: 0 }), QueueShutDown);
  await assertRejects(() => empty.get({ timeout: -1 }), QueueShutDown);
  await assertRejects(() => empty.get({ timeout: NaN }), QueueShutDown);
  await assertRejects(() => empty.get({ signal }), QueueShutDown);
});

Deno.test("Q-9: a waiting put released by shutdown adds no item and no task", async () => {
  await withFakeTime(async () => {
    const queue = new Queue<number>(1);
    queue.putNowait(1);
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const putter = track(queue.put(2, { timeout: 500, signal: controller.signal }));
    queue.shutdown();
    await flush();
    assertInstanceOf(putter.reason, QueueShutDown);
    assertEquals(listeners.active, 0);
    assertEquals(queue.unfinishedTasks, 1);
    assertEquals(drain(queue), [1]);
  });
});

// ----------------------------------------------------------------

Deno.test("Q-10: the queue rejects with the exported error classes, named after themselves", async () => {
  const queue = new Queue<number>(1);
  const empty = await assertRejects(() => queue.get({ timeout: 0 }), QueueEmpty);
  queue.putNowait(1);
  const full = assertThrows(() => queue.putNowait(2), QueueFull);
  queue.shutdown(true);
  const shut = await assertRejects(() => queue.get(), QueueShutDown);
  for (
    const [error, name] of [[empty, "QueueEmpty"], [full, "QueueFull"], [shut, "QueueShutDown"]]
  ) {
    assertInstanceOf(error, Error);
    assertEquals((error as Error).name, name);
  }
  // The queue subpath re-exports the same classes.
  assertStrictEquals(queueModule.QueueEmpty, QueueEmpty);
  assertStrictEquals(queueModule.QueueFull, QueueFull);
  assertStrictEquals(queueModule.QueueShutDown, QueueShutDown);
});

// ---------------------------------------------------------------- conventions

for (const kind of KINDS) {
  Deno.test(`Conventions: ${kind.name} put/get/join with a negative or NaN timeout reject RangeError and change nothing (test_negative_timeout_raises_exception)`, async () => {
    const queue = kind.make(2);
    queue.putNowait(1);
    for (const timeout of [-1, -0.5, NaN, -Infinity]) {
      const putError = await assertRejects(() => queue.put(2, { timeout }), RangeError);
      assertStringIncludes((putError as Error).message, String(timeout));
      await assertRejects(() => queue.get({ timeout }), RangeError);
      await assertRejects(() => queue.join({ timeout }), RangeError);
    }
    assertEquals(queue.qsize(), 1);
    assertEquals(queue.unfinishedTasks, 1);
    assertEquals(queue.getNowait(), 1);
  });

  Deno.test(`Conventions: ${kind.name} an already-aborted signal rejects with its reason even when the operation could succeed`, async () => {
    const { signal, reason } = abortedSignal();
    const queue = kind.make(2);
    assertStrictEquals(await assertRejects(() => queue.put(1, { signal })), reason);
    assertEquals(queue.qsize(), 0);
    queue.putNowait(1);
    assertStrictEquals(await assertRejects(() => queue.get({ signal })), reason);
    assertEquals(queue.qsize(), 1);
    queue.getNowait();
    queue.taskDone();
    assertStrictEquals(await assertRejects(() => queue.join({ signal })), reason);
    assertEquals(queue.unfinishedTasks, 0);
  });
}

Deno.test("Conventions: precedence RangeError > aborted signal > the operation's own outcome", async () => {
  const { signal, reason } = abortedSignal();
  const queue = new Queue<number>(1);
  await assertRejects(() => queue.get({ timeout: -1, signal }), RangeError);
  await assertRejects(() => queue.put(1, { timeout: NaN, signal }), RangeError);
  await assertRejects(() => queue.join({ timeout: -5, signal }), RangeError);
  // Aborted wins over QueueEmpty and QueueFull.
  assertStrictEquals(await assertRejects(() => queue.get({ timeout: 0, signal })), reason);
  queue.putNowait(1);
  assertStrictEquals(await assertRejects(() => queue.put(2, { timeout: 0, signal })), reason);
  queue.getNowait();
  assertStrictEquals(await assertRejects(() => queue.join({ timeout: 0, signal })), reason);
});

Deno.test("Conventions: bad options types reject TypeError", async () => {
  const queue = new Queue<number>();
  await assertRejects(() => queue.get({ timeout: "5" as unknown as number }), TypeError);
  await assertRejects(() => queue.get({ signal: {} as AbortSignal }), TypeError);
  await assertRejects(() => queue.put(1, 5 as unknown as { timeout: number }), TypeError);
  assertEquals(queue.qsize(), 0);
});

for (const kind of KINDS) {
  Deno.test(`Conventions: ${kind.name} an abort while waiting rejects with signal.reason and leaves nothing behind`, async () => {
    await withFakeTime(async () => {
      const queue = kind.make(1);
      const reason = new Error("stop");
      const controller = new AbortController();
      const listeners = watchListeners(controller.signal);
      const getter = track(queue.get({ signal: controller.signal, timeout: 1000 }));
      queue.putNowait(1);
      await flush();
      assertEquals(getter.value, 1);
      queue.putNowait(2);
      const putter = track(queue.put(3, { signal: controller.signal, timeout: 1000 }));
      const joiner = track(queue.join({ signal: controller.signal, timeout: 1000 }));
      assertEquals(listeners.active, 2);
      controller.abort(reason);
      await flush();
      assertStrictEquals(putter.reason, reason);
      assertStrictEquals(joiner.reason, reason);
      assertEquals(listeners.active, 0);
      assertEquals(drain(queue), [2]);
      // withFakeTime checks that no timer is left.
    });
  });
}

Deno.test("Conventions: no timer or listener is left once a wait settles, whatever settled it", async () => {
  await withFakeTime(async (clock) => {
    const queue = new Queue<number>(1);
    const controller = new AbortController();
    const listeners = watchListeners(controller.signal);
    const options = { timeout: 10_000, signal: controller.signal };
    // Settled by a hand-off.
    const getter = queue.get(options);
    assertEquals(clock.countTimers(), 1);
    queue.putNowait(1);
    assertEquals(await getter, 1);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    // Settled by admission.
    queue.putNowait(2);
    const putter = queue.put(3, options);
    queue.getNowait();
    await putter;
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    // Settled by the count reaching 0.
    const joiner = queue.join(options);
    queue.getNowait();
    queue.taskDone();
    queue.taskDone();
    queue.taskDone();
    assertEquals(await joiner, true);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    // Settled by the timeout.
    const late = track(queue.get(options));
    await clock.tickAsync(10_000);
    assertInstanceOf(late.reason, QueueEmpty);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
    // Settled by shutdown.
    const closed = track(queue.get(options));
    queue.shutdown();
    await flush();
    assertInstanceOf(closed.reason, QueueShutDown);
    assertEquals([clock.countTimers(), listeners.active], [0, 0]);
  });
});

// ---------------------------------------------------------------- iteration and inspection

for (const kind of KINDS) {
  Deno.test(`Q-9: ${kind.name} async iteration yields items as get() would and ends on shutdown after draining`, async () => {
    const queue = kind.make();
    for (const item of [2, 3, 1]) queue.putNowait(item);
    queue.shutdown();
    const seen: number[] = [];
    for await (const item of queue) seen.push(item);
    assertEquals(seen, kind.order([2, 3, 1]));
    assertEquals(queue.unfinishedTasks, 3); // iteration does not mark items done
  });
}

Deno.test("Q-9: async iteration waits for later items and ends when shutdown comes while it waits", async () => {
  const queue = new Queue<number>(1);
  const seen: number[] = [];
  const consumer = (async () => {
    for await (const item of queue) {
      seen.push(item);
      queue.taskDone();
    }
  })();
  for (let i = 0; i < 5; i++) await queue.put(i);
  await queue.join();
  assertEquals(seen, [0, 1, 2, 3, 4]);
  queue.shutdown();
  await consumer;
  assertEquals(seen, [0, 1, 2, 3, 4]);
});

Deno.test("Q-9: breaking out of async iteration leaves the remaining items", async () => {
  const queue = new Queue<number>();
  for (let i = 0; i < 5; i++) queue.putNowait(i);
  for await (const item of queue) if (item === 1) break;
  assertEquals(drain(queue), [2, 3, 4]);
});

Deno.test("Q-9: async iteration after shutdown(true) ends at once", async () => {
  const queue = new Queue<number>();
  queue.putNowait(1);
  queue.shutdown(true);
  const seen: number[] = [];
  for await (const item of queue) seen.push(item);
  assertEquals(seen, []);
});

Deno.test("Deno.inspect shows a queue's size, maxsize, tasks, waiters and state", async () => {
  const queue = new Queue<number>(4);
  queue.putNowait(1);
  queue.putNowait(2);
  const text = Deno.inspect(queue);
  assertStringIncludes(text, "Queue");
  assertStringIncludes(text, "size: 2");
  assertStringIncludes(text, "maxsize: 4");
  assertStringIncludes(text, "unfinishedTasks: 2");
  assertStringIncludes(text, "isShutdown: false");
  const empty = new Queue<number>();
  const getter = empty.get();
  assertStringIncludes(Deno.inspect(empty), "waitingGetters: 1");
  empty.putNowait(1);
  await getter;
  const full = new LifoQueue<number>(1);
  full.putNowait(1);
  const putter = track(full.put(2));
  assertStringIncludes(Deno.inspect(full), "LifoQueue");
  assertStringIncludes(Deno.inspect(full), "waitingPutters: 1");
  full.shutdown();
  assertStringIncludes(Deno.inspect(full), "isShutdown: true");
  assertStringIncludes(Deno.inspect(new PriorityQueue<number>()), "PriorityQueue");
  await flush();
  assertInstanceOf(putter.reason, QueueShutDown);
});

Deno.test("Q-2/Q-9: a subclass that overrides only the four storage hooks works, shutdown(true) and inspect included", async () => {
  const stack = new ArrayStack<number>(3);
  stack.putNowait(1);
  stack.putNowait(2);
  await stack.put(3);
  assertEquals(stack.full(), true);
  assertEquals(stack.getNowait(), 3);
  assertEquals(await stack.get(), 2);
  stack.putNowait(4);
  assertEquals(stack.qsize(), 2);
  assert(Deno.inspect(stack).startsWith("ArrayStack {"), Deno.inspect(stack));
  assert(Deno.inspect(stack).includes("size: 2"), Deno.inspect(stack));
  stack.shutdown(true); // discards through storageSize/storageGet, as Python does
  assertEquals(stack.qsize(), 0);
  assertEquals(stack.unfinishedTasks, 2, "4 items put, 2 taken: the 2 discarded are uncounted");
  assertThrows(() => stack.getNowait(), QueueShutDown);
});

Deno.test("Queue#toReadableStream: reads items as get() takes them and closes once shut down and drained", async () => {
  const queue = new Queue<string>(2);
  const stream = queue.toReadableStream();
  const reading = Array.fromAsync(stream);
  await queue.put("a");
  await queue.put("b");
  await queue.put("c"); // room again: the stream's reads took the first ones
  queue.shutdown();
  assertEquals(await reading, ["a", "b", "c"]);
  assertEquals(queue.qsize(), 0);
  assertEquals(queue.unfinishedTasks, 3, "items read are not marked done");
});

Deno.test("Queue#toReadableStream: takes nothing ahead of a reader, and cancelling it takes nothing more (Q-5)", async () => {
  const queue = new Queue<number>();
  const stream = queue.toReadableStream();
  queue.putNowait(1);
  await flush();
  assertEquals(queue.qsize(), 1, "no read yet: nothing taken");
  const reader = stream.getReader();
  assertEquals(await reader.read(), { value: 1, done: false });
  const waiting = reader.read(); // waits in line for the next item
  await flush();
  await reader.cancel();
  assertEquals(await waiting, { value: undefined, done: true });
  queue.putNowait(2);
  assertEquals(queue.qsize(), 1, "the cancelled stream's read took nothing");
  assertEquals(queue.getNowait(), 2);
  assert(Deno.inspect(queue).includes("held: 0"), Deno.inspect(queue));
});

Deno.test("Queue#toReadableStream: an item handed to the read in the turn it is cancelled goes back to the head", async () => {
  const queue = new Queue<string>();
  const reader = queue.toReadableStream().getReader();
  const waiting = reader.read();
  await flush();
  queue.putNowait("x"); // handed to the waiting read...
  const cancelling = reader.cancel(); // ...and cancelled in the same turn
  queue.putNowait("y");
  await cancelling;
  const first = await waiting;
  if (first.done) {
    assertEquals([queue.getNowait(), queue.getNowait()], ["x", "y"], "x back at the head");
  } else {
    assertEquals(first.value, "x");
    assertEquals(queue.getNowait(), "y");
  }
  assertEquals(queue.qsize(), 0);
});

Deno.test("Q-5: Queue#toReadableStream: a read left waiting by releaseLock() takes nothing; a cancel after it loses nothing", async () => {
  const queue = new Queue<number>();
  const stream = queue.toReadableStream();
  const reader = stream.getReader();
  const waiting = reader.read().then(() => "read", (error) => error);
  await flush();
  reader.releaseLock(); // the platform rejects the waiting read
  assertInstanceOf(await waiting, TypeError);
  queue.putNowait(1);
  queue.putNowait(2);
  await flush();
  assertEquals(queue.qsize(), 2, "nothing went into the stream's buffer");
  // A new reader reads as before, in order.
  const again = stream.getReader();
  assertEquals(await again.read(), { value: 1, done: false });
  again.releaseLock();
  await stream.cancel();
  assertEquals(queue.getNowait(), 2);
  assertEquals(queue.unfinishedTasks, 2);
});

Deno.test("Queue#toWritableStream: writes are puts with backpressure; close shuts down, abort discards", async () => {
  const queue = new Queue<number>(1);
  const writer = queue.toWritableStream().getWriter();
  await writer.write(1);
  const second = track(writer.write(2)); // full: waits for room
  await flush();
  assertEquals(second.status, "pending");
  assertEquals(queue.getNowait(), 1);
  await second.promise;
  assertEquals(queue.getNowait(), 2);
  await writer.close();
  assert(queue.isShutdown, "close() shut the queue down");

  const other = new Queue<number>();
  other.putNowait(7);
  await other.toWritableStream().abort(new Error("stop"));
  assert(other.isShutdown);
  assertEquals(other.qsize(), 0, "abort() discarded what was queued (shutdown(true))");
  assertEquals(other.unfinishedTasks, 0);
});

Deno.test("Queue#toWritableStream: pipeTo from a ReadableStream fills the queue and shuts it down", async () => {
  const queue = new Queue<number>(10);
  await ReadableStream.from([1, 2, 3]).pipeTo(queue.toWritableStream());
  assert(queue.isShutdown);
  assertEquals(await Array.fromAsync(queue), [1, 2, 3]);
});

Deno.test("Queue: using shuts the queue down at the end of the scope", () => {
  let kept: Queue<number> | undefined;
  {
    using queue = new Queue<number>();
    queue.putNowait(1);
    kept = queue;
  }
  assert(kept.isShutdown);
  assertEquals(kept.getNowait(), 1, "a soft shutdown: what was queued can still be taken");
});
