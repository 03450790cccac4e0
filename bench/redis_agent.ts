/**
 * One process of `deno task bench:redis`: `deno run redis_agent.ts <role>
 * <socket> <count> [queue]`. Each role connects, prints `ready`, waits for the
 * `go` event, does its part and prints `end <count>` (consumers: the items
 * they got).
 *
 * Roles: `produce` and `consume` (baton's Redis queue, maxsize 1000; a
 * consumer calls get and taskDone for each item, and stops on shutdown or
 * after `count` items), `bull-produce` and `bull-consume` (BullMQ, for
 * comparison).
 *
 * @module
 */

import { connectRedis } from "@baton/baton/redis";

const [role, path, countText, name = "bench"] = Deno.args;
const count = Number(countText);

if (role === "produce" || role === "consume") {
  const redis = await connectRedis({ path: path! });
  const queue = redis.queue<number>(name, { maxsize: 1000 });
  const go = redis.event(`${name}:go`);
  await queue.qsize(); // connected and the queue exists
  console.log("ready");
  await go.wait();
  let done = 0;
  if (role === "produce") {
    for (let i = 0; i < count; i++) await queue.put(i);
    await redis.flush();
    done = count;
  } else {
    try {
      while (done < count) {
        await queue.get();
        await queue.taskDone();
        done++;
      }
    } catch (error) {
      if (!(error instanceof Error) || error.name !== "QueueShutDown") throw error;
    }
  }
  await redis.close();
  console.log(`end ${done}`);
} else if (role === "bull-produce" || role === "bull-consume") {
  const { Queue, Worker } = await import("bullmq");
  const connection = { path: path! };
  if (role === "bull-produce") {
    const queue = new Queue(name, { connection });
    await queue.waitUntilReady();
    console.log("ready");
    await waitGo(path!, name);
    for (let i = 0; i < count; i += 1000) {
      const jobs = [];
      for (let j = i; j < Math.min(count, i + 1000); j++) jobs.push({ name: "job", data: j });
      await queue.addBulk(jobs);
    }
    await queue.close();
    console.log(`end ${count}`);
  } else {
    let done = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => finish = resolve);
    const worker = new Worker(name, () => {
      done++;
      if (done === count) finish();
      return Promise.resolve();
    }, { connection, autorun: false, concurrency: 1 });
    await worker.waitUntilReady();
    console.log("ready");
    await waitGo(path!, name);
    worker.run();
    await finished;
    await worker.close();
    console.log(`end ${done}`);
  }
}

async function waitGo(path: string, name: string): Promise<void> {
  const redis = await connectRedis({ path });
  await redis.event(`${name}:go`).wait();
  await redis.close();
}
