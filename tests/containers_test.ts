/**
 * The internal containers: the ring-buffer Deque (src/_deque.ts) behind the
 * FIFO and LIFO queues, and the stable, exception-safe Heap (src/_heap.ts)
 * behind PriorityQueue.
 */

import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { Deque } from "../src/_deque.ts";
import { Heap } from "../src/_heap.ts";

// ---------------------------------------------------------------- Deque

Deno.test("Deque: push/shift is FIFO across growth and wrap-around", () => {
  const deque = new Deque<number>();
  let next = 0;
  let expected = 0;
  // Keep the ring partly full while the head walks around it several times.
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 7; i++) deque.push(next++);
    for (let i = 0; i < 5; i++) assertEquals(deque.shift(), expected++);
  }
  assertEquals(deque.length, next - expected);
  assertEquals([...deque], Array.from({ length: next - expected }, (_, i) => expected + i));
  while (deque.length > 0) assertEquals(deque.shift(), expected++);
  assertEquals(deque.shift(), undefined);
});

Deno.test("Deque: unshift/pop work at both ends; peeks do not remove", () => {
  const deque = new Deque<string>(2);
  assertEquals([deque.peekFront(), deque.peekBack(), deque.pop()], [
    undefined,
    undefined,
    undefined,
  ]);
  deque.push("b");
  deque.unshift("a");
  deque.push("c");
  for (let i = 0; i < 20; i++) deque.unshift(`u${i}`); // grows while the head wraps backwards
  assertEquals(deque.peekFront(), "u19");
  assertEquals(deque.peekBack(), "c");
  assertEquals(deque.length, 23);
  assertEquals(deque.pop(), "c");
  assertEquals(deque.shift(), "u19");
  assertEquals([...deque].slice(-2), ["a", "b"]);
  deque.clear();
  assertEquals(deque.length, 0);
  assertEquals([...deque], []);
  deque.push("again");
  assertEquals(deque.shift(), "again");
});

Deno.test("Deque: deleteLast removes the last occurrence only, also across the wrap", () => {
  const deque = new Deque<number>();
  for (let i = 0; i < 12; i++) deque.push(i);
  for (let i = 0; i < 10; i++) deque.shift(); // head near the end of the ring
  for (const v of [7, 2, 7, 3, 7, 4]) deque.push(v); // wraps around
  assertEquals(deque.deleteLast(7), true);
  assertEquals([...deque], [10, 11, 7, 2, 7, 3, 4]);
  assertEquals(deque.deleteLast(99), false);
  assertEquals(deque.deleteLast(10), true);
  assertEquals(deque.deleteLast(4), true);
  assertEquals([...deque], [11, 7, 2, 7, 3]);
  assertEquals([deque.length, deque.peekFront(), deque.peekBack()], [5, 11, 3]);
  deque.push(5);
  assertEquals(deque.pop(), 5);
});

Deno.test("Deque: behaves like an array under random operations", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant("push" as const), value: fc.integer() }),
          fc.record({ op: fc.constant("unshift" as const), value: fc.integer() }),
          fc.record({ op: fc.constant("shift" as const) }),
          fc.record({ op: fc.constant("pop" as const) }),
          fc.record({ op: fc.constant("clear" as const) }),
        ),
        { maxLength: 200 },
      ),
      (ops) => {
        const deque = new Deque<number>();
        const model: number[] = [];
        for (const step of ops) {
          switch (step.op) {
            case "push":
              deque.push(step.value);
              model.push(step.value);
              break;
            case "unshift":
              deque.unshift(step.value);
              model.unshift(step.value);
              break;
            case "shift":
              assertEquals(deque.shift(), model.shift());
              break;
            case "pop":
              assertEquals(deque.pop(), model.pop());
              break;
            case "clear":
              deque.clear();
              model.length = 0;
              break;
          }
          assertEquals(deque.length, model.length);
          assertEquals(deque.peekFront(), model[0]);
          assertEquals(deque.peekBack(), model[model.length - 1]);
        }
        assertEquals([...deque], model);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("Q-8: Deque never calls Array.prototype.shift", () => {
  const original = Array.prototype.shift;
  let calls = 0;
  Array.prototype.shift = function (this: unknown[]) {
    calls++;
    return original.call(this);
  };
  try {
    const deque = new Deque<number>();
    for (let i = 0; i < 10_000; i++) deque.push(i);
    for (let i = 0; i < 10_000; i++) deque.shift();
  } finally {
    Array.prototype.shift = original;
  }
  assertEquals(calls, 0);
});

// ---------------------------------------------------------------- Heap

const byNumber = (a: number, b: number) => a - b;

Deno.test("Q-2: Heap pops in ascending order", () => {
  const heap = new Heap<number>(byNumber);
  const values = [5, 3, 9, 1, 1, 8, -2, 7, 3, 0];
  for (const v of values) heap.push(v);
  assertEquals(heap.length, values.length);
  assertEquals(heap.peek(), -2);
  const out: number[] = [];
  while (heap.length > 0) out.push(heap.pop()!);
  assertEquals(out, [...values].sort(byNumber));
  assertEquals(heap.pop(), undefined);
  assertEquals(heap.peek(), undefined);
});

Deno.test("Q-2: Heap is stable and pushFront goes ahead of equal items", () => {
  type Item = { key: number; id: string };
  const heap = new Heap<Item>((a, b) => a.key - b.key);
  heap.push({ key: 1, id: "a" });
  heap.push({ key: 0, id: "b" });
  heap.push({ key: 1, id: "c" });
  heap.pushFront({ key: 1, id: "front" });
  heap.push({ key: 1, id: "d" });
  heap.pushFront({ key: 1, id: "front2" });
  const out: string[] = [];
  while (heap.length > 0) out.push(heap.pop()!.id);
  assertEquals(out, ["b", "front2", "front", "a", "c", "d"]);
});

Deno.test("Q-2: Heap matches a stable sort under random pushes and pops", () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), { maxLength: 300 }),
      (ops) => {
        type Item = { key: number; seq: number };
        const heap = new Heap<Item>((a, b) => a.key - b.key);
        let model: Item[] = [];
        let seq = 0;
        for (const key of ops) {
          if (key === undefined) {
            const expected = model.length === 0
              ? undefined
              : model.reduce((best, item) => (item.key < best.key ? item : best));
            assertEquals(heap.pop(), expected);
            model = model.filter((item) => item !== expected);
          } else {
            const item = { key, seq: seq++ };
            heap.push(item);
            model.push(item);
          }
          assertEquals(heap.length, model.length);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("Q-2: a compare that throws during push or pop leaves the Heap unchanged", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 2, maxLength: 60 }),
      fc.nat(),
      (values, failAt) => {
        let budget = Infinity;
        const heap = new Heap<number>((a, b) => {
          if (budget-- <= 0) throw new Error("compare failed");
          return a - b;
        });
        for (const v of values) heap.push(v);
        const before = [...heap];
        budget = failAt % 8; // fail somewhere inside the next operation
        let pushed = false;
        try {
          heap.push(25);
          pushed = true;
        } catch {
          assertEquals([...heap], before);
        }
        budget = failAt % 5;
        const snapshot = [...heap];
        let popped: number | undefined;
        try {
          popped = heap.pop();
        } catch {
          assertEquals([...heap], snapshot);
        }
        budget = Infinity;
        // Whatever failed, the heap still holds exactly the right items, in order.
        const expected = [...values, ...(pushed ? [25] : [])].sort(byNumber);
        if (popped !== undefined) assertEquals(popped, expected.splice(0, 1)[0]);
        const out: number[] = [];
        while (heap.length > 0) out.push(heap.pop()!);
        assertEquals(out, expected);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("Q-2: a Heap compare that returns NaN or a non-number throws TypeError", () => {
  const nan = new Heap<number>(() => NaN);
  nan.push(1);
  assertThrows(() => nan.push(2), TypeError);
  assertEquals(nan.length, 1);
  const text = new Heap<number>(() => "1" as unknown as number);
  text.push(1);
  assertThrows(() => text.push(2), TypeError);
  assertEquals(text.length, 1);
});

Deno.test("Heap: clear empties it; iteration yields every item", () => {
  const heap = new Heap<number>(byNumber);
  for (const v of [3, 1, 2]) heap.push(v);
  assertEquals([...heap].sort(byNumber), [1, 2, 3]);
  heap.clear();
  assertEquals(heap.length, 0);
  heap.push(4);
  assertEquals(heap.pop(), 4);
});
