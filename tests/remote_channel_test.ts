/**
 * Remote proxies over a MessageChannel in one thread: rules whose outcome
 * does not depend on a second thread.
 *
 * @module
 */

import { assertEquals, assertRejects } from "@std/assert";
import { Condition, Queue, QueueFull } from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";

Deno.test("Q-3: a remote putNowait does not overtake the same side's waiting put; it is QueueFull", async () => {
  const { port1, port2 } = new MessageChannel();
  const jobs = new Queue<string>(1);
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<string> }>(port2);
  try {
    jobs.putNowait("first");
    const waiting = remote.jobs.put("second"); // full: waits for room
    await assertRejects(() => remote.jobs.putNowait("third"), QueueFull);
    await assertRejects(() => remote.jobs.put("third", { timeout: 0 }), QueueFull);
    assertEquals(await jobs.get(), "first");
    await waiting;
    assertEquals(await jobs.get(), "second");
    assertEquals(jobs.qsize(), 0);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("C-1: a remote waitFor without the lock rejects Error, even when the predicate holds", async () => {
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { ready: new Condition() });
  const remote = await connect<{ ready: Condition }>(port2);
  try {
    await assertRejects(() => remote.ready.waitFor(() => true), Error, "without holding");
    await remote.ready.acquire();
    assertEquals(await remote.ready.waitFor(() => 42), 42);
    assertEquals(await remote.ready.waitFor(() => 0, { timeout: 0 }), 0);
    await remote.ready.release();
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-6: items a worker put before it heard of link.close() still reach the queue", async () => {
  const { port1, port2 } = new MessageChannel();
  const jobs = new Queue<number>(100);
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<number> }>(port2);
  try {
    await remote.jobs.put(0); // the first put waits for credit; the next ones use it at once
    for (let i = 1; i <= 10; i++) await remote.jobs.put(i);
    link.close(); // the items above are still in the other side's outbox
    for (let turn = 0; turn < 1000 && jobs.qsize() < 11; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assertEquals(Array.from({ length: jobs.qsize() }, () => jobs.getNowait()), [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
    ]);
    await assertRejects(() => remote.jobs.put(11), Error);
  } finally {
    await remote.close();
    port1.close();
    port2.close();
  }
});
