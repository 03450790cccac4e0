/**
 * A served PriorityQueue whose compare function throws (Q-2 across the
 * boundary): the failure reaches the call that met it, the queue keeps its
 * items, and what the owner cannot store from a remote producer is reported.
 * Over a MessageChannel in this thread.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { PriorityQueue, Queue } from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";
import { recordEnvelopes } from "./_helpers.ts";
import { queueAccess } from "../src/_queue_access.ts";

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** A PriorityQueue of numbers whose compare throws while `refusing` is set, or for 13. */
function touchyQueue(): { queue: PriorityQueue<number>; refuse(on: boolean): void } {
  let refusing = false;
  const queue = new PriorityQueue<number>({
    compare: (a, b) => {
      if (refusing) throw new Error("refused");
      if (a === 13 || b === 13) throw new Error("13 cannot be ordered");
      return a - b;
    },
  });
  return { queue, refuse: (on) => void (refusing = on) };
}

for (const prefetch of [0, 1024]) {
  Deno.test(`Q-2/W-2: a compare that throws while a remote get or getNowait takes rejects that call; the queue keeps its items (prefetch ${prefetch})`, async () => {
    const { queue, refuse } = touchyQueue();
    const { port1, port2 } = new MessageChannel();
    const link = serve(port1, { queue });
    const remote = await connect<{ queue: PriorityQueue<number> }>(port2, { prefetch });
    try {
      for (const n of [2, 1, 3]) queue.putNowait(n);
      refuse(true);
      await assertRejects(() => remote.queue.get(), Error, "refused");
      await assertRejects(() => remote.queue.getNowait(), Error, "refused");
      refuse(false);
      assertEquals(queue.qsize(), 3);
      assertEquals(await remote.queue.get(), 1);
    } finally {
      refuse(false);
      await remote.close();
      link.close();
      port1.close();
      port2.close();
    }
  });
}

Deno.test("Q-2/W-3: a remote put the owner's compare refuses rejects with its error; the queue is unchanged", async () => {
  const { queue } = touchyQueue();
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { queue });
  const remote = await connect<{ queue: PriorityQueue<number> }>(port2);
  try {
    await remote.queue.put(5);
    await assertRejects(() => remote.queue.put(13), Error, "13 cannot be ordered");
    await remote.queue.put(4);
    assertEquals([queue.getNowait(), queue.getNowait()], [4, 5]);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

/** A queue with its own storage that refuses 13 (the storage hooks, as in Python's queue.py). */
class Picky extends Queue<number> {
  // set by storageInit, which the base constructor calls before any field initializer would run
  declare items: number[];
  protected override storageInit(): void {
    this.items = [];
  }
  protected override storageSize(): number {
    return this.items.length;
  }
  protected override storagePut(item: number): void {
    if (item === 13) throw new Error("no 13 here");
    this.items.push(item);
  }
  protected override storageGet(): number {
    return this.items.shift()!;
  }
}

Deno.test("W-3: an item a subclass's storage refuses after a remote put resolved on credit is reported, its slot freed", async () => {
  const picky = new Picky(4);
  const reported: unknown[] = [];
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, { picky }, { onError: (error) => reported.push(error) });
  const remote = await connect<{ picky: Queue<number> }>(port2);
  try {
    for (const n of [1, 13, 2]) await remote.picky.put(n);
    assertEquals(await remote.picky.qsize(), 2); // a round trip after the puts
    assertEquals(reported.map((error) => (error as Error).message), ["no 13 here"]);
    assertEquals([picky.getNowait(), picky.getNowait()], [1, 2]);
    queueAccess(picky).check(); // the refused item's slot is not counted anywhere
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});

Deno.test("W-10: a pull beyond any window is reported and changes nothing", async () => {
  const { queue } = touchyQueue();
  queue.putNowait(1);
  const { port1, port2 } = new MessageChannel();
  const { sent, original } = recordEnvelopes(port2);
  const reported: unknown[] = [];
  const link = serve(port1, { queue }, { onError: (error) => reported.push(error) });
  const remote = await connect<{ queue: PriorityQueue<number> }>(port2, { prefetch: 0 });
  try {
    assertEquals(await remote.queue.qsize(), 1);
    const last = sent[sent.length - 1]!;
    original({
      ...last,
      seq: last.seq + 1,
      frames: [{ type: "pull", name: "queue", count: 1_000_000 }],
    });
    await turns();
    assertEquals(reported.length, 1);
    assert((reported[0] as Error).message.includes("a pull of 1000000 items"));
    assertEquals(queue.qsize(), 1);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});
