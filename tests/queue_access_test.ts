/**
 * The queue's ledger of slot holds, through the module-private door the
 * worker layer uses (`src/_queue_access.ts`): every hold is named, every
 * release names what it releases, and an accounting error throws instead of
 * being floored away (Q-7, issue 8's design).
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { PriorityQueue, Queue, QueueFull, QueueShutDown } from "../mod.ts";
import { AccountingError, grantQueueAccess, queueAccess } from "../src/_queue_access.ts";
import { armedCompare, withFakeTime } from "./_helpers.ts";

Deno.test("Q-7: reserve, putHeld, takeHeld, requeue and release keep the ledger exact", () => {
  const queue = new Queue<string>(3);
  const access = queueAccess<string>(queue);
  const credits = access.newHold("credits");
  const prefetch = access.newHold("prefetch");
  assertEquals(access.reserve(credits, 2, 1), 2);
  access.check();
  assertEquals(access.free(), 1);
  assertEquals(queue.full(), false);
  queue.putNowait("local");
  assert(queue.full()); // held slots count towards full()
  assertEquals(access.putHeld(credits, ["a", "b"]), []);
  access.check();
  assertEquals(queue.qsize(), 3);
  const first = access.takeHeld(prefetch)!;
  const second = access.takeHeld(prefetch)!;
  assertEquals([first.item, second.item], ["local", "a"]);
  assert(first.stamp < second.stamp);
  access.check();
  // Returned out of order, they go back to the head in the order they left.
  access.requeue(prefetch, [second]);
  access.requeue(prefetch, [first]);
  access.check();
  assertEquals([queue.getNowait(), queue.getNowait(), queue.getNowait()], ["local", "a", "b"]);
  access.dropHold(credits);
  access.dropHold(prefetch);
  access.check();
});

Deno.test("Q-7: a release beyond what a hold has throws AccountingError and changes nothing", () => {
  const queue = new Queue<number>(4);
  const access = queueAccess<number>(queue);
  const hold = access.newHold("credits of a test");
  assertEquals(access.reserve(hold, 1, 1), 1);
  for (const n of [2, -1, 0.5, NaN]) {
    const error = assertThrows(() => access.release(hold, n), AccountingError);
    assertEquals(error.name, "AccountingError");
    assert(error.message.includes("credits of a test"));
  }
  assertEquals(hold.count, 1);
  access.check();
  access.release(hold, 1);
  access.dropHold(hold);
  access.check();
});

Deno.test("Q-7: a hold of another queue, or one dropped still holding, is an accounting error", () => {
  const queue = new Queue<number>(2);
  const other = queueAccess<number>(new Queue<number>(2)).newHold("the other queue's");
  const access = queueAccess<number>(queue);
  assertThrows(() => access.reserve(other, 1, 1), AccountingError, "not a hold of this queue");
  assertEquals(other.count, 0);
  const hold = access.newHold("kept");
  access.reserve(hold, 1, 1);
  assertThrows(() => access.dropHold(hold), AccountingError, "dropped holding 1");
  access.release(hold, 1);
  access.dropHold(hold);
});

Deno.test("Q-7: check() throws when the holds do not add up", () => {
  const queue = new Queue<number>(2);
  const access = queueAccess<number>(queue);
  const hold = access.newHold("tampered");
  access.reserve(hold, 1, 1);
  hold.count = -1; // only the queue changes count: a test may, to see the assertion fire
  assertThrows(() => access.check(), AccountingError, "holds -1");
  hold.count = 2;
  assertThrows(() => access.check(), AccountingError, "add up to 2");
  hold.count = 1;
  access.check();
  access.release(hold, 1);
});

Deno.test("Q-7: the door opens once, and only onto a baton Queue", () => {
  assertThrows(() => grantQueueAccess(() => queueAccess(new Queue())), Error, "granted twice");
  assertThrows(() => queueAccess({}), TypeError, "not a baton Queue");
  const queue = new Queue();
  assert(queueAccess(queue) === queueAccess(queue)); // made once per queue
});

Deno.test("Q-9: waitReserve after shutdown fails QueueShutDown; with timeout 0 on a full queue, QueueFull", () => {
  const queue = new Queue<number>(1);
  const access = queueAccess<number>(queue);
  const hold = access.newHold("credits");
  queue.putNowait(1);
  const failures: unknown[] = [];
  const admitted = () => failures.push("admitted");
  const failed = (error: unknown) => failures.push(error);
  assertEquals(access.waitReserve(hold, admitted, failed, { timeout: 0 }).cancel(), false);
  queue.shutdown();
  assertEquals(access.waitReserve(hold, admitted, failed).cancel(), false);
  assertInstanceOf(failures[0], QueueFull);
  assertInstanceOf(failures[1], QueueShutDown);
  assertEquals(failures.length, 2);
  access.dropHold(hold);
});

Deno.test("Q-2: items a compare function refuses in putHeld come back as errors, their slots free", () => {
  const queue = new PriorityQueue<number>({
    maxsize: 3,
    compare: (a, b) => {
      if (a === 13 || b === 13) throw new Error("13 cannot be ordered");
      return a - b;
    },
  });
  const access = queueAccess<number>(queue);
  const hold = access.newHold("credits");
  assertEquals(access.reserve(hold, 3, 3), 3);
  const refused = access.putHeld(hold, [2, 13, 1]);
  assertEquals(refused.length, 1);
  assertEquals((refused[0] as Error).message, "13 cannot be ordered");
  assertEquals(queue.qsize(), 2);
  assertEquals(access.free(), 1);
  access.check();
  access.dropHold(hold);
});

Deno.test("Q-2: a compare that throws while an item is taken for a holder fails that take; the queue keeps its items", () => {
  const { compare, armed } = armedCompare();
  const queue = new PriorityQueue<number>({ compare });
  const access = queueAccess<number>(queue);
  const hold = access.newHold("prefetch");
  queue.putNowait(2);
  queue.putNowait(1);
  queue.putNowait(3);
  armed.on = true;
  const outcomes: unknown[] = [];
  access.waitTake(hold, (taken) => outcomes.push(taken.item), (error) => outcomes.push(error));
  assertEquals(outcomes.length, 1);
  assertEquals((outcomes[0] as Error).message, "compare failed");
  armed.on = false;
  assertEquals(queue.qsize(), 3);
  access.dropHold(hold);
});

Deno.test("W-8: an item given back goes to a holder's take waiting in line, its slot moving to that hold", () => {
  const queue = new Queue<string>(2);
  const access = queueAccess<string>(queue);
  const first = access.newHold("link 1 prefetch");
  const second = access.newHold("link 2 prefetch");
  queue.putNowait("x");
  const taken = access.takeHeld(first)!;
  const got: string[] = [];
  access.waitTake(second, (t) => got.push(t.item), (error) => got.push(String(error)));
  assertEquals(got, []); // nothing stored: it waits in line
  access.requeue(first, [taken]);
  assertEquals(got, ["x"]);
  assertEquals([first.count, second.count], [0, 1]);
  access.check();
  access.release(second, 1);
  access.dropHold(first);
  access.dropHold(second);
  access.check();
});

Deno.test("Q-5: cancelling a holder's wait that was already served says false and changes nothing", () => {
  const queue = new Queue<string>(2);
  const access = queueAccess<string>(queue);
  const hold = access.newHold("prefetch");
  const got: string[] = [];
  const take = access.waitTake(hold, (t) => got.push(t.item), (error) => got.push(String(error)));
  queue.putNowait("x");
  assertEquals(got, ["x"]);
  assertEquals(take.cancel(), false);
  assertEquals(hold.count, 1);
  access.release(hold, 1);
  const credits = access.newHold("credits");
  access.reserve(credits, 2, 2);
  const reserve = access.waitReserve(
    credits,
    () => got.push("admitted"),
    (e) => got.push(String(e)),
  );
  assertEquals(reserve.cancel(), true); // still waiting: it leaves the line
  access.release(credits, 2);
  access.check();
  access.dropHold(hold);
  access.dropHold(credits);
});

Deno.test("Q-9: shutdown(true) discards items given back too, and lowers the unfinished count by them", () => {
  const queue = new Queue<string>(4);
  const access = queueAccess<string>(queue);
  const hold = access.newHold("prefetch");
  queue.putNowait("a");
  queue.putNowait("b");
  const taken = access.takeHeld(hold)!;
  access.requeue(hold, [taken]); // "a" is back, ahead of "b"
  assertEquals(queue.unfinishedTasks, 2);
  queue.shutdown(true);
  assertEquals(queue.qsize(), 0);
  assertEquals(queue.unfinishedTasks, 0);
  access.check();
  access.dropHold(hold);
});

Deno.test("Q-7: a queue that never lent a slot passes check()", () => {
  const queue = new Queue<number>(2);
  queue.putNowait(1);
  queueAccess<number>(queue).check();
});

Deno.test("Q-7/Q-3: reserve grants nothing when fewer slots than the least asked for are free, none is, a putter waits for room, or the queue is shut down", async () => {
  const queue = new Queue<number>(3);
  const access = queueAccess<number>(queue);
  const hold = access.newHold("credits");
  queue.putNowait(1);
  assertEquals(access.reserve(hold, 4, 3), 0); // 2 free, 3 needed
  assertEquals(hold.count, 0);
  assertEquals(access.reserve(hold, 4, 2), 2); // 2 free, 2 needed: both, not the 4 wanted
  assertEquals(access.reserve(hold, 1, 0), 0); // none free: nothing, even for a least of 0
  assertEquals(hold.count, 2);
  access.check();
  // A putter waits for room: no credit goes ahead of it, even for a least of 0.
  const late = queue.put(2);
  assertEquals(access.reserve(hold, 1, 0), 0);
  access.release(hold, 1); // the waiting putter takes the slot freed
  await late;
  assertEquals(queue.qsize(), 2);
  access.release(hold, 1);
  assertEquals(queue.full(), false);
  queue.shutdown();
  assertEquals(access.reserve(hold, 1, 1), 0); // a slot is free, but the queue is shut down
  assertEquals(hold.count, 0);
  access.dropHold(hold);
  access.check();
});

Deno.test("M-2: watchReady calls at once for a shut-down drained queue, and waits on an empty open one until an item is stored", () => {
  const queue = new Queue<number>();
  const access = queueAccess<number>(queue);
  let calls = 0;
  access.watchReady(() => calls++);
  assertEquals(calls, 0);
  queue.putNowait(1);
  assertEquals(calls, 1);
  assertEquals(queue.getNowait(), 1);
  queue.shutdown();
  assertEquals(access.drained, true);
  let drainedCalls = 0;
  const undo = access.watchReady(() => drainedCalls++);
  assertEquals(drainedCalls, 1);
  undo(); // an undo after the call changes nothing
  assertEquals([calls, drainedCalls], [1, 1]);
});

Deno.test("Q-7: space watchers are called while room is free and no putter waits; one that makes a putter wait stops the rest", async () => {
  const queue = new Queue<number>(1);
  const access = queueAccess<number>(queue);
  queue.putNowait(0);
  const order: string[] = [];
  let blocked: Promise<void> | undefined;
  access.watchSpace(1, () => {
    order.push("first");
    queue.putNowait(1); // takes the slot again, and a putter then waits for room
    blocked = queue.put(2);
  });
  access.watchSpace(1, () => order.push("second"));
  assertEquals(queue.getNowait(), 0);
  assertEquals(order, ["first"]); // the second must not run while a putter waits for that room
  assertEquals(queue.getNowait(), 1); // the waiting putter is admitted first
  await blocked;
  assertEquals(order, ["first"]);
  assertEquals(queue.getNowait(), 2);
  assertEquals(order, ["first", "second"]);
  access.check();
});

Deno.test("Q-9: a get that times out on a shut-down queue still waiting for held slots rejects QueueShutDown, not QueueEmpty", async () => {
  const queue = new Queue<number>(2);
  const access = queueAccess<number>(queue);
  const hold = access.newHold("a remote producer's credits");
  assertEquals(access.reserve(hold, 1, 1), 1);
  queue.shutdown();
  assertEquals(access.drained, false); // an item may still come in the held slot
  const atOnce = await queue.get({ timeout: 0 }).catch((error) => error);
  assertInstanceOf(atOnce, QueueShutDown);
  await withFakeTime(async (clock) => {
    const waiting = queue.get({ timeout: 50 }).catch((error) => error);
    clock.tick(50);
    assertInstanceOf(await waiting, QueueShutDown);
  });
  access.release(hold, 1); // the slot comes back empty: now drained
  assertEquals(access.drained, true);
  access.dropHold(hold);
  access.check();
});
