/**
 * Redis clients in separate `deno run` processes:
 * FIFO across processes, join and shutdown across three, and clients killed
 * with SIGKILL or stopped with SIGSTOP.
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { QueueEmpty, QueueFull } from "@baton/baton";
import { scenario, spawn } from "./fixtures/redis_process.ts";
import { until } from "./fixtures/redis_server.ts";

Deno.test(
  "R-2: FIFO from a producer process to a consumer process",
  scenario(10_000, async (_main, _raw, path, started) => {
    const consumer = spawn(started, "fifo", path, "fifo", 10, 2_000);
    const producer = spawn(started, "produce", path, "fifo", 10, 10_000, 2_000, 0, 0);
    assertEquals((await producer.status()).code, 0);
    assertEquals((await consumer.status()).code, 0);
    assertEquals(consumer.lines.at(-1), "ok");
  }),
);

Deno.test(
  "R-4: join and shutdown across three processes",
  scenario(10_000, async (main, _raw, path, started) => {
    const consumers = [0, 1].map(() => spawn(started, "consume", path, "three", 20, 10_000, 0));
    const producer = spawn(started, "produce", path, "three", 20, 10_000, 500, 0, 0);
    const queue = main.queue<number>("three", { maxsize: 20 });
    assertEquals((await producer.status()).code, 0);
    assert(await queue.join({ timeout: 60_000 }), "join resolved");
    assertEquals(await queue.unfinishedTasks, 0);
    await queue.shutdown();
    const ended: number[] = [];
    for (const consumer of consumers) {
      assertEquals((await consumer.status()).code, 0);
      ended.push(...consumer.numbers("end"));
    }
    assertEquals(ended.reduce((a, b) => a + b, 0), 500);
    const got = consumers.flatMap((consumer) => consumer.numbers("got")).sort((a, b) => a - b);
    assertEquals(got, Array.from({ length: 500 }, (_, i) => i));
  }),
);

Deno.test(
  "R-3: a consumer killed with SIGKILL mid-stream loses nothing, duplicates only what it held",
  scenario(300, async (main, raw, path, started) => {
    const count = 300;
    const queue = main.queue<number>("killed", { maxsize: 50 });
    const filling = (async () => {
      for (let i = 0; i < count; i++) await queue.put(i);
      await main.flush();
    })();
    const consumer = spawn(started, "consume", path, "killed", 50, 600, 2);
    await consumer.waitFor(() => consumer.numbers("done").length >= 40, "40 items done");
    consumer.signal("SIGKILL");
    await consumer.status();
    const held = new Set(consumer.numbers("got"));
    // its lease runs out and this process's reaper returns what it held
    const reaped = "baton:{q:killed}:reaped";
    await until(async () => (await raw.zscore(reaped, consumer.id!)) !== null, "the reaper");
    const mine: number[] = [];
    const seen = new Set(held);
    while (seen.size < count || (await queue.qsize()) > 0) {
      const item = await queue.get({ timeout: 30_000 });
      mine.push(item);
      seen.add(item);
      await queue.taskDone();
    }
    await filling;
    const all = new Set([...held, ...mine]);
    assertEquals(all.size, count, "every item was delivered");
    // an item is delivered twice only when the killed consumer held it
    assertEquals(new Set(mine).size, mine.length, "no duplicate among the survivor's items");
    // what it held went back to the head, in order: the survivor saw one ascending run
    for (let i = 1; i < mine.length; i++) assert(mine[i - 1]! < mine[i]!, `order at ${i}`);
    assert(await queue.join({ timeout: 10_000 }), "taskDone counts stayed exact");
    assertEquals(await queue.unfinishedTasks, 0);
  }),
);

Deno.test(
  "R-3: a producer killed while holding reserved slots gives its capacity back",
  scenario(300, async (main, raw, path, started) => {
    const maxsize = 8;
    const queue = main.queue<number>("slots", { maxsize });
    const producer = spawn(started, "produce", path, "slots", maxsize, 600, 100_000, 3, 0);
    const got: number[] = [];
    let draining = true;
    const drainer = (async () => {
      while (draining) {
        try {
          got.push(await queue.get({ timeout: 50 }));
          await queue.taskDone();
        } catch (error) {
          if (!(error instanceof QueueEmpty)) throw error;
        }
      }
    })();
    await producer.waitFor(() => producer.numbers("put").length >= 20, "20 puts");
    await until(
      async () => (await raw.llen(`baton:{q:slots}:resv:${producer.id}`)) > 0,
      "the producer holds reserved slots",
    );
    producer.signal("SIGKILL");
    await producer.status();
    await until(
      async () => (await raw.zscore("baton:{q:slots}:reaped", producer.id!)) !== null,
      "the reaper",
    );
    await until(async () => (await queue.qsize()) === 0, "the queue drains");
    draining = false;
    await drainer;
    // what reached the server is a prefix of its puts, in order
    assertEquals(got, Array.from({ length: got.length }, (_, i) => i));
    assert(got.length >= producer.numbers("put").length - 2 * maxsize);
    // every slot is back
    for (let i = 0; i < maxsize; i++) await queue.putNowait(1_000 + i);
    await assertRejects(() => queue.putNowait(2_000), QueueFull);
    assertEquals(await queue.qsize(), maxsize);
  }),
);

Deno.test(
  "R-8: a client stopped for less than its lease keeps its items; longer, it loses them",
  scenario(200, async (main, _raw, path, started) => {
    const queue = main.queue<number>("lease");
    await queue.put(7);
    await main.flush();
    const holder = spawn(started, "consume", path, "lease", 0, 3_000, 600_000);
    await holder.waitFor(() => holder.numbers("got").length === 1, "the holder took the item");
    holder.signal("SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, 500));
    holder.signal("SIGCONT");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await assertRejects(() => queue.get({ timeout: 0 }), QueueEmpty);
    assertEquals(await queue.unfinishedTasks, 1);
    holder.signal("SIGSTOP");
    assertEquals(await queue.get({ timeout: 30_000 }), 7);
    holder.signal("SIGCONT");
    await queue.taskDone();
    assertEquals(await queue.unfinishedTasks, 0);
  }),
);

Deno.test(
  "R-8: a client reaped while frozen drops its stale acknowledgements when it wakes; counts stay exact",
  scenario(200, async (main, raw, path, started) => {
    const queue = main.queue<number>("frozen", { maxsize: 10 });
    await queue.put(7);
    await queue.put(8);
    await main.flush();
    const holder = spawn(started, "consume", path, "frozen", 10, 600, 1_000);
    await holder.waitFor(() => holder.numbers("got").includes(7), "the holder took 7");
    holder.signal("SIGSTOP");
    await until(
      async () => (await raw.zscore("baton:{q:frozen}:reaped", holder.id!)) !== null,
      "the reaper",
    );
    // what the frozen holder took is back at the head, in order
    assertEquals([await queue.get({ timeout: 0 }), await queue.get({ timeout: 0 })], [7, 8]);
    await queue.taskDone();
    await queue.taskDone();
    await main.flush();
    assertEquals(await queue.unfinishedTasks, 0);
    await queue.put(10); // one unfinished task that the holder's stale taskDone must not count
    await main.flush();
    holder.signal("SIGCONT");
    await holder.waitFor(() => holder.numbers("done").includes(7), "the holder finishes 7");
    // its late taskDone for 7 is about an item already requeued and done: it changes nothing
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals(await queue.unfinishedTasks, 1);
    // it takes part again: 10 is done once, by whoever got it
    await holder.waitFor(() => holder.numbers("done").includes(10), "the holder finishes 10");
    assert(await queue.join({ timeout: 10_000 }));
    assertEquals(await queue.unfinishedTasks, 0);
    await queue.shutdown();
    assertEquals((await holder.status()).code, 0);
  }),
);

Deno.test(
  "R-3: a killed consumer's item goes back where LIFO and priority queues take next",
  scenario(200, async (main, raw, path, started) => {
    for (const kind of ["lifo", "pq"] as const) {
      const name = `back-${kind}`;
      const queue = kind === "lifo"
        ? main.lifoQueue<number>(name, { maxsize: 5 })
        : main.priorityQueue<number>(name, { maxsize: 5 });
      for (const item of [5, 1, 3]) await queue.put(item);
      await main.flush();
      const holder = spawn(started, "consume", path, name, 5, 600, 600_000, kind);
      const first = kind === "lifo" ? 3 : 1; // the newest, or the smallest
      await holder.waitFor(() => holder.numbers("got").includes(first), `${kind}: taken`);
      holder.signal("SIGKILL");
      await holder.status();
      const tag = kind === "lifo" ? "lq" : "pq";
      await until(
        async () => (await raw.zscore(`baton:{${tag}:${name}}:reaped`, holder.id!)) !== null,
        `${kind}: the reaper`,
      );
      const order = [];
      for (let i = 0; i < 3; i++) order.push(await queue.get({ timeout: 0 }));
      assertEquals(order, kind === "lifo" ? [3, 1, 5] : [1, 3, 5]);
      for (let i = 0; i < 3; i++) await queue.taskDone();
      assert(await queue.join({ timeout: 5_000 }));
      // the slot the dead consumer's item had given back is owed, not lost
      for (let i = 0; i < 5; i++) await queue.putNowait(10 + i);
      await assertRejects(() => queue.putNowait(99), QueueFull);
    }
  }),
);
