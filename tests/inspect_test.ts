/**
 * The inspect views (src/_inspect.ts): Deno's `console.log`/`Deno.inspect`
 * and Node's `util.inspect` (here Deno's `node:util`, which looks up the
 * same `Symbol.for("nodejs.util.inspect.custom")`; `deno task check:node`
 * runs the same views on Node itself) show each primitive's size, waiters and
 * state under its own name, and the views are no enumerable part of the
 * objects.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import fc from "fast-check";
import { inspect as nodeInspect } from "node:util";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PeriodicTimer,
  PriorityQueue,
  Queue,
  Semaphore,
} from "../mod.ts";
import { Pipe } from "../src/worker/mod.ts";
import { armedCompare } from "./_helpers.ts";

const DENO_VIEW = Symbol.for("Deno.customInspect");
const NODE_VIEW = Symbol.for("nodejs.util.inspect.custom");

/** Node quotes strings with `'`, Deno with `"`: the rest must be equal. */
function sameQuotes(text: string): string {
  return text.replaceAll("'", '"');
}

/** Each primitive, the name its view starts with, and fields the view must show. */
function primitives(): [object, string, string[]][] {
  return [
    [new Queue<number>(4), "Queue", ["size: 0", "maxsize: 4", "waitingGetters: 0", "isShutdown"]],
    [new LifoQueue<number>(), "LifoQueue", ["size: 0", "waitingPutters: 0"]],
    [new PriorityQueue<number>(), "PriorityQueue", ["size: 0", "unfinishedTasks: 0"]],
    [new Lock(), "Lock", ["locked: false", "waiters: 0"]],
    [new Condition(), "Condition", ["locked: false", "waiters: 0"]],
    [new Event(), "Event", ["set: false", "waiters: 0"]],
    [new Semaphore(2), "Semaphore", ["value: 2", "waiters: 0"]],
    [new BoundedSemaphore(3), "BoundedSemaphore", ["value: 3", "waiters: 0"]],
    [new Barrier(2), "Barrier", ["parties: 2", "waiting: 0", "broken: false"]],
    [new PeriodicTimer(10), "PeriodicTimer", ["intervalMs: 10", "state", "waiters: 0"]],
  ];
}

Deno.test("inspect: Deno and Node's util.inspect show the same view, under the primitive's name", () => {
  for (const [primitive, name, fields] of primitives()) {
    const deno = Deno.inspect(primitive);
    assert(deno.startsWith(`${name} {`), deno);
    for (const field of fields) assertStringIncludes(deno, field);
    assertEquals(sameQuotes(nodeInspect(primitive)), deno);
  }
});

Deno.test("inspect: the view follows the state (size, waiters, shutdown)", async () => {
  const queue = new Queue<string>(2);
  queue.putNowait("a");
  const getter = new Queue<string>();
  const waiting = getter.get();
  assertStringIncludes(nodeInspect(queue), "size: 1");
  assertStringIncludes(nodeInspect(queue), "items: [ 'a' ]");
  assertStringIncludes(nodeInspect(getter), "waitingGetters: 1");
  getter.putNowait("b");
  assertEquals(await waiting, "b");
  queue.shutdown();
  assertStringIncludes(nodeInspect(queue), "isShutdown: true");

  const lock = new Lock();
  await lock.acquire();
  const blocked = lock.acquire();
  assertStringIncludes(nodeInspect(lock), "locked: true, waiters: 1");
  lock.release();
  await blocked;
  lock.release();
});

Deno.test("inspect: a user's subclass shows its own name", () => {
  class Jobs extends Queue<number> {}
  class Mutex extends Lock {}
  assert(Deno.inspect(new Jobs()).startsWith("Jobs {"), Deno.inspect(new Jobs()));
  assert(nodeInspect(new Mutex()).startsWith("Mutex {"), nodeInspect(new Mutex()));
});

Deno.test("inspect: the views are no enumerable or own part of an instance", () => {
  for (const [primitive] of primitives()) {
    assertEquals(Object.getOwnPropertySymbols(primitive), []);
    const prototype = Object.getPrototypeOf(primitive);
    assert(DENO_VIEW in primitive && NODE_VIEW in primitive);
    for (const key of [DENO_VIEW, NODE_VIEW]) {
      let owner = prototype;
      while (!Object.hasOwn(owner, key)) owner = Object.getPrototypeOf(owner);
      assertEquals(Object.getOwnPropertyDescriptor(owner, key)!.enumerable, false);
    }
    if (primitive instanceof PeriodicTimer) primitive[Symbol.dispose]();
  }
});

Deno.test("inspect: a Pipe's Connection shows its buffer and state on Deno and Node", () => {
  const [a, b] = Pipe();
  try {
    const deno = Deno.inspect(a);
    assert(deno.startsWith("Connection {"), deno);
    assertStringIncludes(deno, "buffered: 0");
    assertEquals(sameQuotes(nodeInspect(a)), deno);
  } finally {
    a.close();
    b.close();
  }
});

/** The items a view shows, as a value: the text between `items: ` and the view's end. */
function shownItems(view: string): unknown {
  const start = view.indexOf("items: ");
  if (start === -1) return undefined;
  return JSON.parse(view.slice(start + "items: ".length, view.lastIndexOf("]") + 1));
}

Deno.test("Q-2: Deno.inspect of a PriorityQueue lists its items in get order, ties as they were put, and changes nothing", () => {
  const byDigit = (a: string, b: string) => a.charCodeAt(0) - b.charCodeAt(0);
  const queue = new PriorityQueue<string>({ compare: byDigit });
  for (const item of ["5a", "2b", "9c", "2d", "0e", "7f", "2g", "1h", "8i", "3j", "4k", "6l"]) {
    queue.putNowait(item);
  }
  const order = ["0e", "1h", "2b", "2d", "2g", "3j", "4k", "5a", "6l", "7f", "8i", "9c"];
  for (const view of [Deno.inspect(queue), sameQuotes(nodeInspect(queue))]) {
    assertEquals(shownItems(view), order.slice(0, 10), view);
  }
  // The view read the heap without changing it: get() takes the same order.
  assertEquals(Array.from({ length: order.length }, () => queue.getNowait()), order);
});

Deno.test("Q-2: Deno.inspect of a PriorityQueue with the default order and of a LifoQueue lists items in get order", () => {
  const numbers = new PriorityQueue<number>();
  for (const item of [4, 1, 3, 0, 2]) numbers.putNowait(item);
  assertEquals(shownItems(Deno.inspect(numbers)), [0, 1, 2, 3, 4]);
  const stack = new LifoQueue<number>();
  for (const item of [1, 2, 3]) stack.putNowait(item);
  assertEquals(shownItems(Deno.inspect(stack)), [3, 2, 1]);
  assertEquals([stack.getNowait(), stack.getNowait(), stack.getNowait()], [3, 2, 1]);
});

Deno.test("inspect: a PriorityQueue whose compare throws while the view orders it shows its size, and does not throw", () => {
  const { compare, armed } = armedCompare();
  const queue = new PriorityQueue<number>({ compare });
  for (const item of [3, 1, 2]) queue.putNowait(item);
  armed.on = true;
  const view = Deno.inspect(queue);
  assertStringIncludes(view, "size: 3");
  armed.on = false;
  assertEquals([queue.getNowait(), queue.getNowait(), queue.getNowait()], [1, 2, 3]);
});

Deno.test("Q-2: the PriorityQueue view lists the first items get() returns, for any puts and gets", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant("get" as const)), {
        maxLength: 60,
      }),
      (steps) => {
        const byPriority = (a: [number, number], b: [number, number]) => a[0] - b[0];
        const queue = new PriorityQueue<[number, number]>({ compare: byPriority });
        steps.forEach((step, id) => {
          if (step !== "get") queue.putNowait([step, id]);
          else if (!queue.empty()) queue.getNowait();
        });
        const shown = shownItems(Deno.inspect(queue, { depth: 4 }));
        const taken = Array.from({ length: queue.qsize() }, () => queue.getNowait());
        assertEquals(shown ?? [], taken.slice(0, 10));
      },
    ),
  );
});

Deno.test("inspect: a LifoQueue or PriorityQueue subclass that stores items its own way shows its size, not the unused built-in storage", () => {
  class OwnStack<T> extends LifoQueue<T> {
    readonly own: T[] = [];
    protected override storageSize(): number {
      return this.own.length;
    }
    protected override storagePut(item: T): void {
      this.own.push(item);
    }
    protected override storageGet(): T {
      return this.own.pop() as T;
    }
  }
  class SortedArray extends PriorityQueue<number> {
    readonly own: number[] = [];
    protected override storageSize(): number {
      return this.own.length;
    }
    protected override storagePut(item: number): void {
      this.own.push(item);
      this.own.sort((a, b) => a - b);
    }
    protected override storageGet(): number {
      return this.own.shift()!;
    }
  }
  const stack = new OwnStack<number>();
  const sorted = new SortedArray();
  for (const item of [2, 1, 3]) {
    stack.putNowait(item);
    sorted.putNowait(item);
  }
  for (const [queue, name] of [[stack, "OwnStack"], [sorted, "SortedArray"]] as const) {
    const view = Deno.inspect(queue);
    assert(view.startsWith(`${name} {`), view);
    assertStringIncludes(view, "size: 3");
    // The built-in stack or heap stays empty: listing it would show none of the three items.
    assertEquals(shownItems(view), undefined, view);
  }
  assertEquals([stack.getNowait(), stack.getNowait(), stack.getNowait()], [3, 1, 2]);
  assertEquals([sorted.getNowait(), sorted.getNowait(), sorted.getNowait()], [1, 2, 3]);
});

Deno.test("inspect: the Node view method renders with the inspect function Node passes it, as the Deno view does", () => {
  for (const [primitive, name] of primitives()) {
    const node = (primitive as Record<
      symbol,
      (depth: number, options: unknown, inspect: typeof nodeInspect) => string
    >)[NODE_VIEW]!(2, {}, nodeInspect);
    assert(node.startsWith(`${name} {`), node);
    assertEquals(sameQuotes(node), Deno.inspect(primitive));
    if (primitive instanceof PeriodicTimer) primitive[Symbol.dispose]();
  }
});
