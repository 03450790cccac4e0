/**
 * `deno bench` cases for the core primitives (`deno task bench`).
 *
 * Every case moves a batch of {@linkcode BATCH} items (or acquisitions,
 * notifications, ...) per iteration, so "iter/s x BATCH" is the operations
 * per second; bench names say what one operation is. The producer/consumer
 * groups carry the naive baseline from `_naive.ts` as their `baseline`, so
 * `deno bench` prints how many times faster baton is. The pass/fail targets
 * live in `compare.ts`, which takes medians over rounds.
 *
 * @module
 */

import {
  Condition,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  Semaphore,
  type WaitOptions,
} from "../mod.ts";
import { NaiveQueue } from "./_naive.ts";
import {
  naiveProducerConsumerLoop,
  nowaitBatch,
  producerConsumerForAwait,
  producerConsumerLoop,
} from "./_workloads.ts";

/** Operations per bench iteration. */
const BATCH = 1000;

/** Deterministic pseudo-random priorities (a small LCG), so every run sorts the same input. */
function priorities(count: number): number[] {
  let seed = 12345;
  return Array.from({ length: count }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % 100;
  });
}
const PRIORITIES = priorities(BATCH);

// ---- non-waiting operations ----

Deno.bench(`Queue putNowait/getNowait (x${BATCH})`, { group: "nowait" }, () => {
  nowaitBatch(new Queue<number>(), BATCH);
});

{
  // One queue reused across iterations: the ring buffer is warm and sized.
  const queue = new Queue<number>();
  Deno.bench(`Queue putNowait/getNowait, reused queue (x${BATCH})`, { group: "nowait" }, () => {
    nowaitBatch(queue, BATCH);
  });
}

Deno.bench(`LifoQueue putNowait/getNowait (x${BATCH})`, { group: "nowait" }, () => {
  const queue = new LifoQueue<number>();
  for (let i = 0; i < BATCH; i++) queue.putNowait(i);
  for (let i = 0; i < BATCH; i++) queue.getNowait();
});

Deno.bench(`naive array push/shift (x${BATCH})`, { group: "nowait", baseline: true }, () => {
  const items: number[] = [];
  for (let i = 0; i < BATCH; i++) items.push(i);
  for (let i = 0; i < BATCH; i++) items.shift();
});

// ---- awaited put then get, one task ----

Deno.bench(`Queue await put + await get (x${BATCH})`, { group: "awaited" }, async () => {
  const queue = new Queue<number>();
  for (let i = 0; i < BATCH; i++) {
    await queue.put(i);
    await queue.get();
  }
});

Deno.bench(
  `Queue await put + await get, { timeout } given (x${BATCH})`,
  { group: "awaited" },
  async () => {
    const queue = new Queue<number>();
    const options = { timeout: 10_000 };
    for (let i = 0; i < BATCH; i++) {
      await queue.put(i, options);
      await queue.get(options);
    }
  },
);

Deno.bench(`LifoQueue await put + await get (x${BATCH})`, { group: "awaited" }, async () => {
  const queue = new LifoQueue<number>();
  for (let i = 0; i < BATCH; i++) {
    await queue.put(i);
    await queue.get();
  }
});

Deno.bench(
  `naive await put + await get (x${BATCH})`,
  { group: "awaited", baseline: true },
  async () => {
    const queue = new NaiveQueue<number>();
    for (let i = 0; i < BATCH; i++) {
      await queue.put(i);
      await queue.get();
    }
  },
);

// ---- producer/consumer: one producer task, one consumer task ----

for (const maxsize of [1, 1000, 1024]) {
  const group = `producer/consumer Queue(${maxsize})`;
  Deno.bench(`naive, while-await loop (x${BATCH} items)`, { group, baseline: true }, async () => {
    await naiveProducerConsumerLoop(new NaiveQueue<number>(maxsize), BATCH);
  });
  Deno.bench(`Queue(${maxsize}), while-await loop (x${BATCH} items)`, { group }, async () => {
    await producerConsumerLoop(new Queue<number>(maxsize), BATCH);
  });
  Deno.bench(`Queue(${maxsize}), for await (x${BATCH} items)`, { group }, async () => {
    await producerConsumerForAwait(new Queue<number>(maxsize), BATCH);
  });
  Deno.bench(`LifoQueue(${maxsize}), while-await loop (x${BATCH} items)`, { group }, async () => {
    await producerConsumerLoop(new LifoQueue<number>(maxsize), BATCH);
  });
}

// The same with one side slower by a microtask turn, so a side waits on every item.
for (const maxsize of [1, 1000]) {
  const group = `producer/consumer Queue(${maxsize}), waiting`;
  const slowConsumer = { consumerTurns: 1 };
  const slowProducer = { producerTurns: 1 };
  Deno.bench(`naive, every put waits (x${BATCH} items)`, { group, baseline: true }, async () => {
    await naiveProducerConsumerLoop(new NaiveQueue<number>(maxsize), BATCH, slowConsumer);
  });
  Deno.bench(`Queue(${maxsize}), every put waits (x${BATCH} items)`, { group }, async () => {
    await producerConsumerLoop(new Queue<number>(maxsize), BATCH, slowConsumer);
  });
  Deno.bench(`naive, every get waits (x${BATCH} items)`, { group }, async () => {
    await naiveProducerConsumerLoop(new NaiveQueue<number>(maxsize), BATCH, slowProducer);
  });
  Deno.bench(`Queue(${maxsize}), every get waits (x${BATCH} items)`, { group }, async () => {
    await producerConsumerLoop(new Queue<number>(maxsize), BATCH, slowProducer);
  });
  if (maxsize === 1) {
    // Every wait arms and clears a timer, or adds and removes an abort listener.
    Deno.bench(
      `Queue(1), every get waits, get({ timeout }) (x${BATCH} items)`,
      { group },
      async () => {
        await getterWaitsWithOptions(new Queue<number>(1), { timeout: 10_000 });
      },
    );
    const controller = new AbortController();
    Deno.bench(
      `Queue(1), every get waits, get({ signal }) (x${BATCH} items)`,
      { group },
      async () => {
        await getterWaitsWithOptions(new Queue<number>(1), { signal: controller.signal });
      },
    );
  }
}

/** Like the "every get waits" case, with options on each `get`. */
async function getterWaitsWithOptions(queue: Queue<number>, options: WaitOptions): Promise<void> {
  const producer = (async () => {
    for (let i = 0; i < BATCH; i++) {
      await null;
      await queue.put(i);
    }
  })();
  for (let i = 0; i < BATCH; i++) {
    if (await queue.get(options) !== i) throw new Error("out of order");
  }
  await producer;
}

// ---- PriorityQueue: fill with BATCH items, then drain (heap depth ~10) ----

Deno.bench(`PriorityQueue numbers putNowait/getNowait (x${BATCH})`, { group: "priority" }, () => {
  const queue = new PriorityQueue<number>();
  for (const priority of PRIORITIES) queue.putNowait(priority);
  for (let i = 0; i < BATCH; i++) queue.getNowait();
});

Deno.bench(`PriorityQueue numbers await put/get (x${BATCH})`, { group: "priority" }, async () => {
  const queue = new PriorityQueue<number>();
  for (const priority of PRIORITIES) await queue.put(priority);
  for (let i = 0; i < BATCH; i++) await queue.get();
});

Deno.bench(
  `PriorityQueue [priority, item] putNowait/getNowait (x${BATCH})`,
  { group: "priority" },
  () => {
    const queue = new PriorityQueue<[number, string]>();
    for (const priority of PRIORITIES) queue.putNowait([priority, "job"]);
    for (let i = 0; i < BATCH; i++) queue.getNowait();
  },
);

Deno.bench(
  `PriorityQueue [priority, item] await put/get (x${BATCH})`,
  { group: "priority" },
  async () => {
    const queue = new PriorityQueue<[number, string]>();
    for (const priority of PRIORITIES) await queue.put([priority, "job"]);
    for (let i = 0; i < BATCH; i++) await queue.get();
  },
);

Deno.bench(
  `PriorityQueue custom compare putNowait/getNowait (x${BATCH})`,
  { group: "priority" },
  () => {
    const queue = new PriorityQueue<{ priority: number }>({
      compare: (a, b) => a.priority - b.priority,
    });
    for (const priority of PRIORITIES) queue.putNowait({ priority });
    for (let i = 0; i < BATCH; i++) queue.getNowait();
  },
);

// ---- Lock and Semaphore ----

Deno.bench(`Lock acquire/release, uncontended (x${BATCH})`, { group: "lock" }, async () => {
  const lock = new Lock();
  for (let i = 0; i < BATCH; i++) {
    await lock.acquire();
    lock.release();
  }
});

Deno.bench(
  `Lock contended hand-off, 4 tasks (x${BATCH} acquisitions)`,
  { group: "lock" },
  async () => {
    const lock = new Lock();
    const tasks = 4;
    const worker = async () => {
      for (let i = 0; i < BATCH / tasks; i++) {
        await lock.acquire();
        await null; // hold across a turn, so the others queue up
        lock.release();
      }
    };
    await Promise.all(Array.from({ length: tasks }, worker));
  },
);

Deno.bench(
  `Semaphore acquire/release, uncontended (x${BATCH})`,
  { group: "semaphore" },
  async () => {
    const semaphore = new Semaphore(1);
    for (let i = 0; i < BATCH; i++) {
      await semaphore.acquire();
      semaphore.release();
    }
  },
);

Deno.bench(
  `Semaphore(2) contended, 8 tasks (x${BATCH} acquisitions)`,
  { group: "semaphore" },
  async () => {
    const semaphore = new Semaphore(2);
    const tasks = 8;
    const worker = async () => {
      for (let i = 0; i < BATCH / tasks; i++) {
        await semaphore.acquire();
        await null;
        semaphore.release();
      }
    };
    await Promise.all(Array.from({ length: tasks }, worker));
  },
);

// ---- Condition and Event: BATCH waiters woken ----

/**
 * Starts `count` tasks that each wait on `condition` once and returns once
 * all of them wait, holding the lock; `done` settles when all were notified.
 */
async function conditionWaiters(
  condition: Condition,
  count: number,
): Promise<{ done: Promise<unknown> }> {
  const waiters = Array.from({ length: count }, async () => {
    await condition.acquire();
    await condition.wait();
    condition.release();
  });
  // The lock is FIFO: once we hold it, every waiter queued before us is in wait().
  await condition.acquire();
  return { done: Promise.all(waiters) };
}

Deno.bench(
  `Condition: ${BATCH} tasks wait, notify() x${BATCH}, all re-acquire (x${BATCH} wake-ups)`,
  { group: "condition" },
  async () => {
    const condition = new Condition();
    const { done } = await conditionWaiters(condition, BATCH);
    for (let i = 0; i < BATCH; i++) condition.notify();
    condition.release();
    await done;
  },
);

Deno.bench(
  `Condition: ${BATCH} tasks wait, notifyAll(), all re-acquire (x${BATCH} wake-ups)`,
  { group: "condition" },
  async () => {
    const condition = new Condition();
    const { done } = await conditionWaiters(condition, BATCH);
    condition.notifyAll();
    condition.release();
    await done;
  },
);

Deno.bench(
  `Event: ${BATCH} wait(), then set() (x${BATCH} wake-ups)`,
  { group: "event" },
  async () => {
    const event = new Event();
    const waiters = Array.from({ length: BATCH }, () => event.wait());
    event.set();
    await Promise.all(waiters);
  },
);

Deno.bench(`Event wait() when already set (x${BATCH})`, { group: "event" }, async () => {
  const event = new Event();
  event.set();
  for (let i = 0; i < BATCH; i++) await event.wait();
});

Deno.bench(
  `Event set/clear ping-pong, 2 tasks (x${BATCH} round trips)`,
  { group: "event" },
  async () => {
    const ping = new Event();
    const pong = new Event();
    const other = (async () => {
      for (let i = 0; i < BATCH; i++) {
        await ping.wait();
        ping.clear();
        pong.set();
      }
    })();
    for (let i = 0; i < BATCH; i++) {
      ping.set();
      await pong.wait();
      pong.clear();
    }
    await other;
  },
);
