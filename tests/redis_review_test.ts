/**
 * An adversarial review of the Redis layer against API.md's R rules, through
 * the public API, against a throwaway `redis-server`.
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { QueueFull } from "@baton/baton/errors";
import { connectRedis } from "@baton/baton/redis";
import { scenario, spawn } from "./fixtures/redis_process.ts";
import { infoField, until } from "./fixtures/redis_server.ts";
import { withClients } from "./fixtures/redis_clients.ts";

Deno.test(
  "R-5: a timeout beyond 2^31 - 1 ms does not fire early: every wait is still pending when its signal ends it",
  withClients(1, async ([a]) => {
    const timeout = 2 ** 31 + 10;
    const controller = new AbortController();
    const options = { timeout, signal: controller.signal };
    const queue = a!.queue<number>("long", { maxsize: 1 });
    const full = a!.queue<number>("long-full", { maxsize: 1 });
    await full.put(1);
    await a!.lock("long").acquire();
    const waits = [
      queue.get(options),
      full.put(2, options),
      full.join(options),
      a!.semaphore("long", 0).acquire(options),
      a!.boundedSemaphore("long", 0).acquire(options),
      a!.lock("long").acquire(options),
      a!.event("long").wait(options),
    ].map((wait) => wait.then((value) => `resolved ${value}`, (error) => error));
    // long enough for a timer clamped to 1 ms to have fired
    await new Promise((resolve) => setTimeout(resolve, 100));
    const reason = new Error("stop");
    controller.abort(reason);
    assertEquals(await Promise.all(waits), waits.map(() => reason));
    // nothing was lost: the full queue still holds its item, the empty one nothing
    assertEquals(await full.qsize(), 1);
    assertEquals(await queue.qsize(), 0);
  }),
);

Deno.test(
  "R-3: a semaphore holder reaped while frozen gives its permits back once: its late releases add none",
  scenario(300, async (main, _raw, path, started) => {
    // frozen before it releases, and woken long before it does: its lease is refreshed
    // (it takes part again) by the time its releases arrive
    const holder = spawn(started, "holdrelease", path, "pool", "bsem", 300, 2, 2_000);
    await holder.waitFor(() => holder.lines.includes("held"), "the holder's permits");
    holder.signal("SIGSTOP");
    const pool = main.boundedSemaphore("pool", 2);
    // the permits come back once the frozen holder's lease ran out
    assertEquals(await pool.acquire({ timeout: 30_000 }), true);
    assertEquals(await pool.acquire({ timeout: 30_000 }), true);
    holder.signal("SIGCONT");
    await holder.waitFor(() => holder.lines.includes("released"), "the holder's late releases");
    await holder.status();
    // this client holds both permits of a bounded semaphore of 2: none is free
    assertEquals(await pool.value, 0);
    assertEquals(await pool.acquire({ timeout: 0 }), false);
    await pool.release(2);
    assertEquals(await pool.value, 2);
  }),
);

Deno.test(
  "R-3: a semaphore holder reaped while frozen adds no permit, whether its releases or its lease refresh come first",
  scenario(300, async (main, _raw, path, started) => {
    // woken with its releases and its lease refresh both overdue
    const holder = spawn(started, "holdrelease", path, "pool", "sem", 300, 2, 100);
    await holder.waitFor(() => holder.lines.includes("held"), "the holder's permits");
    holder.signal("SIGSTOP");
    const pool = main.semaphore("pool", 2);
    assertEquals(await pool.acquire({ timeout: 30_000 }), true);
    assertEquals(await pool.acquire({ timeout: 30_000 }), true);
    holder.signal("SIGCONT");
    await holder.waitFor(() => holder.lines.includes("released"), "the holder's late releases");
    await holder.status();
    assertEquals(await pool.value, 0);
    await pool.release(2);
    assertEquals(await pool.value, 2);
  }),
);

/** The items this client handed out and not yet marked done, as its inspect view shows. */
function takenNotDone(queue: object): number {
  const shown = Deno.inspect(queue).match(/takenNotDone: (\d+)/);
  if (shown === null) throw new Error(`no takenNotDone count in ${Deno.inspect(queue)}`);
  return Number(shown[1]);
}

/** The items this client fetched ahead and holds for its next gets, as its inspect view shows. */
function prefetched(queue: object): number {
  const shown = Deno.inspect(queue).match(/prefetched: (\d+)/);
  if (shown === null) throw new Error(`no prefetched count in ${Deno.inspect(queue)}`);
  return Number(shown[1]);
}

Deno.test(
  "R-3: an item kept for the next get after a stream's read was cancelled goes back to the queue when the client closes",
  withClients(1, async ([b], path) => {
    // the cancel lands at every point of the read, one microtask later each time: in one
    // of them the read was handed its item just before, and the item is kept for the next get
    for (let depth = 0; depth < 8; depth++) {
      const name = `kept-${depth}`;
      const producer = b!.queue<number>(name, { maxsize: 10 });
      for (let i = 0; i < 4; i++) await producer.put(i);
      await b!.flush();
      const a = await connectRedis({ path });
      let got: number[] = [];
      try {
        const queue = a.queue<number>(name, { maxsize: 10 });
        // The window grows from one item to two: the second get's fetch brings one item ahead.
        for (let i = 0; i < 2; i++) {
          got.push(await queue.get());
          await queue.taskDone();
        }
        // the next read takes a prefetched item (qsize counts items on their way to this client
        // too, so it cannot tell; the client's own view can)
        await until(() => prefetched(queue) > 0, "the prefetch");
        const reader = queue.toReadableStream().getReader();
        const read = reader.read();
        for (let i = 0; i < depth; i++) await Promise.resolve();
        await reader.cancel();
        const result = await read;
        if (!result.done) {
          // the read got it before the cancel: this consumer's item, done as any other
          got = [...got, result.value];
          await queue.taskDone();
        }
      } finally {
        await a.close();
      }
      // every item was got or is in the queue again; the count of unfinished tasks says so too
      const rest: number[] = [];
      while ((await producer.qsize()) > 0) {
        rest.push(await producer.get());
        await producer.taskDone();
      }
      assertEquals([...got, ...rest].sort(), [0, 1, 2, 3], `depth ${depth}`);
      assertEquals(await producer.unfinishedTasks, 0, `depth ${depth}`);
      assertEquals(await producer.full(), false, `depth ${depth}`);
    }
  }),
);

Deno.test(
  "R-3: an item a frozen consumer's blocked get takes after its lease ran out is not lost when it is killed",
  scenario(300, async (main, raw, path, started) => {
    const queue = main.queue<number>("frozen-get");
    await queue.qsize(); // this client takes part (and reaps) from now on
    const consumer = spawn(started, "consume", path, "frozen-get", 0, 300, 0);
    await consumer.waitFor(() => consumer.id !== undefined, "the consumer's id");
    // its get is blocked on the server, waiting for an item
    await until(async () => (await infoField(path, "blocked_clients")) === 1, "the blocked get");
    consumer.signal("SIGSTOP");
    await until(
      async () => (await raw.zscore("baton:{q:frozen-get}:reaped", consumer.id!)) !== null,
      "the frozen consumer's lease to run out",
    );
    // the blocked get of the frozen (dead for the others) consumer is first in line
    await queue.put(7);
    await main.flush();
    await until(async () => (await infoField(path, "blocked_clients")) === 0, "the item taken");
    consumer.signal("SIGKILL");
    await consumer.status();
    assertEquals(await queue.get({ timeout: 30_000 }), 7);
    await queue.taskDone();
    assertEquals(await queue.unfinishedTasks, 0);
  }),
);

Deno.test(
  "R-3, R-7: a lock handed to a frozen client's blocked acquire after its lease ran out comes back; woken, it waits again",
  scenario(300, async (main, raw, path, started) => {
    const lock = main.lock("frozen-lock");
    assertEquals(await lock.acquire(), true);
    const first = lock.token!;
    const waiter = spawn(started, "hold", path, "frozen-lock", "lock", 300);
    await waiter.waitFor(() => waiter.id !== undefined, "the waiter's id");
    await until(
      async () => (await infoField(path, "blocked_clients")) === 1,
      "the blocked acquire",
    );
    waiter.signal("SIGSTOP");
    await until(
      async () => (await raw.zscore("baton:{l:frozen-lock}:reaped", waiter.id!)) !== null,
      "the frozen waiter's lease to run out",
    );
    // a live client waits behind the frozen one
    const other = await connectRedis({ path }, { leaseMs: 300 });
    try {
      const live = other.lock("frozen-lock");
      const liveAcquire = live.acquire({ timeout: 30_000 });
      await until(
        async () => (await infoField(path, "blocked_clients")) === 2,
        "the live acquire blocks",
      );
      // the release makes a token for the live acquire, but the frozen waiter's blocked
      // acquire is first in line on the server: the lock moves to it
      await lock.release();
      await until(async () => (await infoField(path, "blocked_clients")) === 1, "the lock moved");
      // it comes back, as from any client that looks dead, to the live acquire
      assertEquals(await liveAcquire, true);
      const second = live.token!;
      assert(second > first);
      // woken, the waiter does not believe it holds the lock: it waits again
      waiter.signal("SIGCONT");
      await until(
        async () => (await infoField(path, "blocked_clients")) === 1,
        "the waiter waits again",
      );
      assertEquals(waiter.numbers("token"), []);
      await live.release();
      await waiter.waitFor(() => waiter.numbers("token").length === 1, "the waiter's token");
      assert(
        waiter.numbers("token")[0]! > second,
        `token ${waiter.numbers("token")[0]} after ${second}`,
      );
    } finally {
      await other.close();
    }
  }),
);

Deno.test(
  "R-2/R-3: a put blocked on a client reaped while frozen draws no slot while it looks dead, and is admitted once it takes part again",
  scenario(300, async (main, raw, path, started) => {
    const queue = main.queue<number>("frozen-put", { maxsize: 1 });
    assertEquals(await queue.qsize(), 0);
    // puts 0 (it fills the queue), then 1, which blocks
    const producer = spawn(started, "produce", path, "frozen-put", 1, 300, 2, 0, 0);
    await producer.waitFor(() => producer.lines.includes("put 0"), "the first put");
    await until(
      async () => await infoField(path, "blocked_clients") === 1,
      "the second put blocks",
    );
    producer.signal("SIGSTOP");
    await until(
      async () => (await raw.zscore("baton:{q:frozen-put}:reaped", producer.id!)) !== null,
      "the frozen producer is reaped",
    );
    // the slot freed here is not handed to the blocked put of a client that looks dead
    assertEquals(await queue.get(), 0);
    await queue.taskDone();
    await main.flush();
    await queue.putNowait(7);
    await main.flush();
    assertEquals(await queue.get(), 7);
    await queue.taskDone();
    await main.flush();
    // woken, it takes part again and its put gets the free slot
    producer.signal("SIGCONT");
    await producer.waitFor(() => producer.lines.includes("end 2"), "the revived producer's put");
    assertEquals(await queue.get(), 1);
    await queue.taskDone();
    assertEquals(await queue.qsize(), 0);
  }),
);

Deno.test(
  "R-5: a get or put whose signal is aborted while the call is on its way in rejects with the reason, never hangs",
  withClients(1, async ([a]) => {
    const empty = a!.queue<number>("abort-entering");
    const full = a!.queue<number>("abort-entering-full", { maxsize: 1 });
    await full.put(0);
    // the abort lands at every point of the call, one microtask later each time
    for (let depth = 0; depth < 12; depth++) {
      for (const call of ["get", "put"] as const) {
        const controller = new AbortController();
        const reason = new Error(`stop ${call} ${depth}`);
        const waiting = (call === "get"
          ? empty.get({ signal: controller.signal, timeout: 60_000 })
          : full.put(1, { signal: controller.signal, timeout: 60_000 })).catch((error) =>
            error
          );
        for (let i = 0; i < depth; i++) await Promise.resolve();
        controller.abort(reason);
        assertEquals(await waiting, reason);
      }
    }
    // nothing was taken or added
    assertEquals(await empty.qsize(), 0);
    assertEquals(await full.qsize(), 1);
  }),
);

Deno.test(
  "R-5: join, acquire and wait aborted while on their way to the server reject with the reason, never hang",
  withClients(1, async ([a]) => {
    const queue = a!.queue<number>("abort-join");
    await queue.put(1); // one unfinished task: join waits
    const lock = a!.lock("abort-lock");
    assertEquals(await lock.acquire(), true);
    const calls = {
      join: (signal: AbortSignal) => queue.join({ signal, timeout: 60_000 }),
      acquire: (signal: AbortSignal) =>
        a!.semaphore("abort-sem", 0).acquire({ signal, timeout: 60_000 }),
      lock: (signal: AbortSignal) => lock.acquire({ signal, timeout: 60_000 }),
      wait: (signal: AbortSignal) => a!.event("abort-event").wait({ signal, timeout: 60_000 }),
    };
    // the abort lands at every point of the call: after a few microtasks, then after turns
    // of the event loop (while the call's first round trips are out)
    for (let step = 0; step < 24; step++) {
      for (const [name, call] of Object.entries(calls)) {
        const controller = new AbortController();
        const reason = new Error(`stop ${name} ${step}`);
        const waiting = call(controller.signal).catch((error) => error);
        if (step < 12) {
          for (let i = 0; i < step; i++) await Promise.resolve();
        } else {
          for (let i = 12; i < step; i++) await new Promise((resolve) => setTimeout(resolve, 0));
        }
        controller.abort(reason);
        assertEquals(await waiting, reason, `${name} at step ${step}`);
      }
    }
    assertEquals(await a!.semaphore("abort-sem", 0).value, 0);
    assertEquals(await lock.locked(), true);
  }),
);

Deno.test(
  "R-2, R-5: a put that timed out while its slot was being reserved gives the slot back: other clients can put",
  scenario(10_000, async (main, raw, path) => {
    const other = await connectRedis({ path });
    try {
      const queue = main.queue<number>("reserve-timeout", { maxsize: 1 });
      const theirs = other.queue<number>("reserve-timeout", { maxsize: 1 });
      await queue.qsize();
      await theirs.qsize();
      // the server holds the reservation's reply back until the put has timed out
      await raw.client("PAUSE", 200, "ALL");
      await assertRejects(() => queue.put(1, { timeout: 50 }), QueueFull);
      // the queue is empty: the slot reserved for the put that gave up goes back once idle
      assertEquals(await theirs.qsize(), 0);
      await until(async () => !(await theirs.full()), "the reserved slot back");
      await theirs.putNowait(2);
      await other.flush();
      assertEquals(await queue.get({ timeout: 0 }), 2);
      await queue.taskDone();
    } finally {
      await other.close();
    }
  }),
);

Deno.test(
  "R-5: an iterator step or a stream read given up at any point while its get takes a prefetched item loses nothing: a kept item is the next get's or getNowait's, in order",
  withClients(1, async ([client]) => {
    for (const variant of ["iterator, then getNowait", "stream, then get"] as const) {
      let keptOnce = false;
      // the give-up lands one microtask later each time: the get finds the item at hand without
      // a round trip, so in some round it took the item just before, and the item is kept
      for (let depth = 0; depth < 8; depth++) {
        const queue = client!.queue<number>(`kept-next-${variant.length}-${depth}`, {
          maxsize: 40,
        });
        for (let i = 0; i < 5; i++) await queue.put(i);
        await client!.flush();
        // The window grows from one item to two: the second get's fetch brings one item ahead.
        const got = [await queue.get(), await queue.get()];
        await until(() => prefetched(queue) > 0, "the prefetch");
        const taken = takenNotDone(queue);
        let step: { done?: boolean; value?: number | undefined };
        if (variant === "iterator, then getNowait") {
          const iterator = queue[Symbol.asyncIterator]();
          const next = iterator.next();
          for (let i = 0; i < depth; i++) await Promise.resolve();
          assertEquals(await iterator.return!(), { value: undefined, done: true });
          step = await next;
        } else {
          const reader = queue.toReadableStream().getReader();
          const read = reader.read();
          for (let i = 0; i < depth; i++) await Promise.resolve();
          await reader.cancel();
          step = await read;
        }
        if (!step.done) got.push(step.value!);
        else if (takenNotDone(queue) === taken + 1) keptOnce = true; // taken, not handed out
        got.push(
          variant === "iterator, then getNowait" ? await queue.getNowait() : await queue.get(),
        );
        while (got.length < 5) got.push(await queue.get());
        assertEquals(got, [0, 1, 2, 3, 4], `${variant}, depth ${depth}`);
        for (let i = 0; i < 5; i++) await queue.taskDone();
        assertEquals(await queue.unfinishedTasks, 0, `${variant}, depth ${depth}`);
        assertEquals(await queue.qsize(), 0, `${variant}, depth ${depth}`);
      }
      assert(keptOnce, `${variant}: no round gave up a get that had taken its item`);
    }
  }),
);
