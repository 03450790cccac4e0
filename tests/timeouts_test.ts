/**
 * The README's timeouts table, row by row: what a timeout produces for every
 * operation that can wait, locally, through a worker proxy (served over a
 * MessageChannel in this thread) and in Redis. Each row is checked with
 * `timeout: 0` (the non-blocking try) and with a short positive timeout (a
 * timer), and the outcome only is asserted, never how long it took.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PeriodicTimer,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  Semaphore,
} from "../mod.ts";
import { connect, Pipe } from "../src/worker/mod.ts";
import { connectRedis } from "../src/redis/mod.ts";
import { withRedisServer } from "./fixtures/redis_server.ts";
import { withRemote } from "./_helpers.ts";

/** A positive timeout short enough to keep the suite quick; only outcomes are asserted. */
const SHORT = 5;
const TIMEOUTS = [0, SHORT];

/** Asserts that `promise` rejects with a DOMException named "TimeoutError". */
async function assertTimeoutError(promise: Promise<unknown>): Promise<void> {
  const error = await assertRejects(() => promise);
  assertInstanceOf(error, DOMException);
  assertEquals(error.name, "TimeoutError");
}

/** The queue rows: put on a full queue, get on an empty one, join with a task open. */
async function checkQueueRows(queue: {
  put(item: number, options?: { timeout?: number }): Promise<void>;
  get(options?: { timeout?: number }): Promise<number>;
  join(options?: { timeout?: number }): Promise<boolean>;
  qsize(): number | Promise<number>;
}): Promise<void> {
  for (const timeout of TIMEOUTS) {
    await assertRejects(() => queue.get({ timeout }), QueueEmpty);
  }
  await queue.put(1);
  for (const timeout of TIMEOUTS) {
    await assertRejects(() => queue.put(2, { timeout }), QueueFull);
    assertEquals(await queue.join({ timeout }), false);
  }
  assertEquals(await queue.qsize(), 1); // the timed-out puts added nothing
  assertEquals(await queue.get(), 1);
}

Deno.test("Q-4: a timed-out put rejects QueueFull, get QueueEmpty; join resolves false (Queue, LifoQueue, PriorityQueue)", async () => {
  for (
    const queue of [new Queue<number>(1), new LifoQueue<number>(1), new PriorityQueue<number>(1)]
  ) {
    await checkQueueRows(queue);
  }
});

Deno.test("L-1/S-2: a timed-out acquire resolves false; a timed-out hold() rejects TimeoutError (Lock, Semaphore, BoundedSemaphore, Condition)", async () => {
  const lock = new Lock();
  const condition = new Condition();
  const semaphore = new Semaphore(0);
  const bounded = new BoundedSemaphore(1);
  await lock.acquire();
  await condition.acquire();
  await bounded.acquire();
  for (const primitive of [lock, condition, semaphore, bounded]) {
    for (const timeout of TIMEOUTS) {
      assertEquals(await primitive.acquire({ timeout }), false);
      await assertTimeoutError(primitive.hold({ timeout }));
    }
  }
  assert(lock.locked());
  assertEquals(semaphore.value, 0);
  assertEquals(bounded.value, 0);
});

Deno.test("C-2/C-3: a timed-out Condition wait resolves false and waitFor the predicate's last value, the lock held again", async () => {
  const condition = new Condition();
  await condition.acquire();
  for (const timeout of TIMEOUTS) {
    assertEquals(await condition.wait({ timeout }), false);
    assert(condition.locked());
    assertEquals(await condition.waitFor(() => 0, { timeout }), 0);
    assert(condition.locked());
  }
  condition.release();
});

Deno.test("E-1/T-4: a timed-out Event wait and PeriodicTimer waitForTick resolve false", async () => {
  const event = new Event();
  using timer = new PeriodicTimer(60_000);
  timer.start();
  for (const timeout of TIMEOUTS) {
    assertEquals(await event.wait({ timeout }), false);
    assertEquals(await timer.waitForTick({ timeout }), false);
  }
});

Deno.test("B-1: a timed-out Barrier wait rejects BrokenBarrierError and breaks the barrier, also by its default timeout", async () => {
  for (const timeout of TIMEOUTS) {
    const barrier = new Barrier(2);
    await assertRejects(() => barrier.wait({ timeout }), BrokenBarrierError);
    assert(barrier.broken);
  }
  const withDefault = new Barrier(2, { timeout: SHORT });
  await assertRejects(() => withDefault.wait(), BrokenBarrierError);
  assert(withDefault.broken);
});

Deno.test("W-5: a timed-out Pipe recv rejects TimeoutError, poll resolves false", async () => {
  const [left, right] = Pipe<number, number>();
  try {
    for (const timeout of TIMEOUTS) {
      await assertTimeoutError(left.recv({ timeout }));
      assertEquals(await left.poll(timeout), false);
    }
    right.send(1);
    assertEquals(await left.recv(), 1); // the timed-out recvs took nothing
  } finally {
    left.close();
    right.close();
  }
});

Deno.test("W-6: connect with a timeout and nothing served rejects TimeoutError", async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    await assertTimeoutError(connect(port2, { timeout: SHORT }));
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("Conventions: AbortSignal.timeout() rejects the wait with its TimeoutError, also where a timeout resolves false", async () => {
  const queue = new Queue<number>(1);
  const lock = new Lock();
  await lock.acquire();
  const waits: Promise<unknown>[] = [
    queue.get({ signal: AbortSignal.timeout(SHORT) }),
    new Event().wait({ signal: AbortSignal.timeout(SHORT) }),
    lock.acquire({ signal: AbortSignal.timeout(SHORT) }),
    new Semaphore(0).acquire({ signal: AbortSignal.timeout(SHORT) }),
  ];
  for (const wait of waits) await assertTimeoutError(wait);
  assertEquals(queue.qsize(), 0);
  lock.release();
  assert(!lock.locked()); // the aborted acquire took nothing
});

Deno.test("W-2: through a worker proxy a timeout produces what it does locally, for every primitive", async () => {
  const lock = new Lock();
  const condition = new Condition();
  const bounded = new BoundedSemaphore(1);
  const timer = new PeriodicTimer(60_000);
  const primitives = {
    queue: new Queue<number>(1),
    lifo: new LifoQueue<number>(1),
    priority: new PriorityQueue<number>(1),
    lock,
    condition,
    semaphore: new Semaphore(0),
    bounded,
    event: new Event(),
    barrier: new Barrier(2),
    timer,
  };
  await lock.acquire();
  await bounded.acquire();
  try {
    await withRemote(primitives, async (remote) => {
      for (const queue of [remote.queue, remote.lifo, remote.priority]) await checkQueueRows(queue);
      for (const primitive of [remote.lock, remote.semaphore, remote.bounded]) {
        for (const timeout of TIMEOUTS) {
          assertEquals(await primitive.acquire({ timeout }), false);
          await assertTimeoutError(primitive.hold({ timeout }));
        }
      }
      assertEquals(await remote.condition.acquire(), true);
      for (const timeout of TIMEOUTS) {
        assertEquals(await remote.condition.wait({ timeout }), false);
        assertEquals(await remote.condition.waitFor(() => "", { timeout }), "");
        assert(condition.locked());
      }
      await remote.condition.release();
      condition.acquire(); // held here now: the remote side times out
      for (const timeout of TIMEOUTS) {
        assertEquals(await remote.condition.acquire({ timeout }), false);
        await assertTimeoutError(remote.condition.hold({ timeout }));
      }
      condition.release();
      timer.start();
      for (const timeout of TIMEOUTS) {
        assertEquals(await remote.event.wait({ timeout }), false);
        assertEquals(await remote.timer.waitForTick({ timeout }), false);
      }
      await assertRejects(() => remote.barrier.wait({ timeout: SHORT }), BrokenBarrierError);
      assert(await remote.barrier.broken);
    });
  } finally {
    timer.stop();
  }
});

Deno.test("R-5: in Redis a timeout produces what it does locally: QueueFull, QueueEmpty, false, TimeoutError", async () => {
  await withRedisServer(async (path) => {
    const redis = await connectRedis({ path });
    try {
      for (
        const queue of [
          redis.queue<number>("q", { maxsize: 1 }),
          redis.lifoQueue<number>("lq", { maxsize: 1 }),
          redis.priorityQueue<number>("pq", { maxsize: 1 }),
        ]
      ) {
        await checkQueueRows(queue);
      }
      for (const timeout of TIMEOUTS) {
        assertEquals(await redis.event("go").wait({ timeout }), false);
      }
      const lock = redis.lock("guard");
      const semaphore = redis.semaphore("slots", 0);
      const bounded = redis.boundedSemaphore("bounded", 1);
      assertEquals(await bounded.acquire(), true);
      assertEquals(await lock.acquire(), true);
      for (const primitive of [lock, semaphore, bounded]) {
        for (const timeout of TIMEOUTS) {
          assertEquals(await primitive.acquire({ timeout }), false);
          await assertTimeoutError(primitive.hold({ timeout }));
        }
      }
      await lock.release();
      await bounded.release();
    } finally {
      await redis.close();
    }
  });
});
