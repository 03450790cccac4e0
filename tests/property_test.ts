/**
 * Property tests: random sequences of operations run against the real
 * primitive and against a plain model of API.md, step by step, with fake
 * time. After every step each operation's outcome (pending, the value, the
 * error) and the visible state (qsize, unfinishedTasks, value, waiters,
 * pending timers) must match the model; at the end no item may be lost,
 * duplicated or reordered.
 *
 * Covers Q-3..Q-7 and Q-9 for Queue, LifoQueue and PriorityQueue, S-2 and
 * S-3 for Semaphore and BoundedSemaphore, B-1 for Barrier (sync, throwing
 * and async actions), L-1 and C-1..C-5 for Condition (sync and async
 * waitFor predicates), T-2..T-4 for PeriodicTimer (intervals above
 * 2^31 - 1 ms included), and the conventions (timeouts, aborts,
 * precedence, FIFO, cleanup).
 *
 * Each model runs through `checkModel` (tests/seeds.ts): {@linkcode NUM_RUNS}
 * random sequences in a normal run, at least 2,000 in `deno task test:deep`
 * (`BATON_DEEP=1`). Every failing case ever found is kept: a failure prints
 * a `{ model, seed, path, counterexample, found }` entry; add it to
 * `REGRESSION_SEEDS` in tests/seeds.ts, fix the bug, and every later run
 * replays that exact case (fast-check's `seed` and `path`) before its
 * random ones. A seed goes stale when the model's arbitraries change; the
 * replay notices and says so.
 */

import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
} from "@std/assert";
import fc from "fast-check";
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  LifoQueue,
  PeriodicTimer,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  Semaphore,
  type WaitOptions,
} from "../mod.ts";
import { type Clock, track, type Tracked, withFakeTime } from "./_helpers.ts";
import { checkModel, propertyRuns, REGRESSION_SEEDS, type RegressionSeed } from "./seeds.ts";

/** Random sequences per model in a normal run; a deep run (`BATON_DEEP=1`) does at least 2,000. */
const NUM_RUNS = 200;

/** Lets the promise jobs of one synchronous step run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) await Promise.resolve();
}

// ---------------------------------------------------------------- wait modes

type Mode =
  | { kind: "block" }
  | { kind: "timeout"; ms: number }
  | { kind: "abort" }
  | { kind: "both"; ms: number }
  | { kind: "preAborted" }
  | { kind: "badTimeout"; value: number };

const modeArb: fc.Arbitrary<Mode> = fc.oneof(
  { arbitrary: fc.constant({ kind: "block" as const }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("timeout" as const),
      ms: fc.integer({ min: 0, max: 60 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.constant({ kind: "abort" as const }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("both" as const),
      ms: fc.integer({ min: 1, max: 60 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: "preAborted" as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("badTimeout" as const),
      value: fc.constantFrom(-1, -0.5, NaN, -Infinity),
    }),
    weight: 1,
  },
);

/** What a mode means for one operation: real options, and what the model needs. */
interface Prepared {
  options: WaitOptions | undefined;
  controller?: AbortController;
  reason?: Error;
  /** The error the options alone cause (RangeError or the aborted reason). */
  optionsError?: "RangeError" | "aborted";
  timeout: number; // Infinity when none
}

function prepare(mode: Mode): Prepared {
  switch (mode.kind) {
    case "block":
      return { options: undefined, timeout: Infinity };
    case "timeout":
      return { options: { timeout: mode.ms }, timeout: mode.ms };
    case "abort": {
      const controller = new AbortController();
      return {
        options: { signal: controller.signal },
        controller,
        reason: new Error("aborted"),
        timeout: Infinity,
      };
    }
    case "both": {
      const controller = new AbortController();
      return {
        options: { timeout: mode.ms, signal: controller.signal },
        controller,
        reason: new Error("aborted"),
        timeout: mode.ms,
      };
    }
    case "preAborted": {
      const controller = new AbortController();
      const reason = new Error("aborted before");
      controller.abort(reason);
      return {
        options: { signal: controller.signal },
        reason,
        optionsError: "aborted",
        timeout: Infinity,
      };
    }
    case "badTimeout":
      return { options: { timeout: mode.value }, optionsError: "RangeError", timeout: Infinity };
  }
}

// ---------------------------------------------------------------- outcomes

type Expected =
  | { status: "pending" }
  | { status: "fulfilled"; value: unknown }
  | { status: "rejected"; error: string | Error };

interface Op {
  id: number;
  name: string;
  tracked: Tracked<unknown>;
  expected: Expected;
  /** Model time at which a pending op times out; Infinity when never. */
  deadline: number;
  controller?: AbortController;
  reason?: Error;
  data?: unknown;
}

/** Aborts the pending op `pick` chooses among those the model can abort, in model and code alike. */
function abortPicked(model: { abortable(): Op[]; abort(op: Op): void }, pick: number): void {
  const candidates = model.abortable();
  if (candidates.length === 0) return;
  const op = candidates[pick % candidates.length]!;
  model.abort(op);
  op.controller!.abort(op.reason);
}

const ERROR_CLASSES: Record<string, new (...args: never[]) => Error> = {
  BrokenBarrierError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RangeError,
  Error, // last: the misuse of a Condition or Lock
};

function errorName(error: unknown): string {
  for (const [name, ErrorClass] of Object.entries(ERROR_CLASSES)) {
    if (error instanceof ErrorClass) return name;
  }
  return String(error);
}

function checkOp(op: Op, valueOf: (value: unknown) => unknown): void {
  const { tracked, expected } = op;
  const where = `op #${op.id} (${op.name})`;
  assertEquals(tracked.status, expected.status, where);
  if (expected.status === "fulfilled") {
    assertEquals(valueOf(tracked.value), valueOf(expected.value), where);
  } else if (expected.status === "rejected") {
    if (typeof expected.error === "string") {
      assertEquals(errorName(tracked.reason), expected.error, where);
    } else {
      assertStrictEquals(tracked.reason, expected.error, where);
    }
  }
}

/** Runs a synchronous call and describes its result like an Expected. */
function outcomeOf(fn: () => unknown): Expected {
  try {
    return { status: "fulfilled", value: fn() };
  } catch (error) {
    return { status: "rejected", error: errorName(error) };
  }
}

function assertSameOutcome(actual: Expected, expected: Expected, where: string): void {
  assertEquals(actual.status, expected.status, where);
  if (actual.status === "fulfilled" && expected.status === "fulfilled") {
    assertEquals(itemId(actual.value), itemId(expected.value), where);
  }
  if (actual.status === "rejected" && expected.status === "rejected") {
    assertEquals(actual.error, expected.error, where);
  }
}

// ---------------------------------------------------------------- queues

interface Item {
  id: number;
  p: number;
}

function itemId(value: unknown): unknown {
  return typeof value === "object" && value !== null && "id" in value ? (value as Item).id : value;
}

type QueueCmd =
  | { op: "put"; p: number; mode: Mode }
  | { op: "putNowait"; p: number }
  | { op: "get"; mode: Mode }
  | { op: "getNowait" }
  | { op: "taskDone" }
  | { op: "join"; mode: Mode }
  | { op: "shutdown"; immediate: boolean }
  | { op: "advance"; ms: number }
  | { op: "abort"; pick: number }
  | { op: "putThenAbort"; p: number; pick: number }
  | { op: "abortThenPut"; p: number; pick: number }
  | { op: "getThenAbort"; pick: number }
  | { op: "abortThenGet"; pick: number };

const priorityArb = fc.integer({ min: 0, max: 3 });
const pickArb = fc.nat({ max: 20 });

const queueCmdArb: fc.Arbitrary<QueueCmd> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant("put" as const), p: priorityArb, mode: modeArb }),
    weight: 6,
  },
  { arbitrary: fc.record({ op: fc.constant("putNowait" as const), p: priorityArb }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("get" as const), mode: modeArb }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("getNowait" as const) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("taskDone" as const) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("join" as const), mode: modeArb }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant("shutdown" as const), immediate: fc.boolean() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.integer({ min: 1, max: 80 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant("abort" as const), pick: pickArb }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant("putThenAbort" as const),
      p: priorityArb,
      pick: pickArb,
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("abortThenPut" as const),
      p: priorityArb,
      pick: pickArb,
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant("getThenAbort" as const), pick: pickArb }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("abortThenGet" as const), pick: pickArb }), weight: 1 },
);

type Discipline = "fifo" | "lifo" | "priority";

/** The plain model of a queue: arrays and counters, straight from API.md. */
class QueueModel {
  storage: { item: Item; seq: number }[] = [];
  getters: Op[] = [];
  putters: Op[] = [];
  joiners: Op[] = [];
  unfinished = 0;
  isShutdown = false;
  now = 0;
  #seq = 0;
  readonly bound: number;
  /** Items the model says were got (in order), and discarded by shutdown(true). */
  got: Item[] = [];
  discarded: Item[] = [];

  constructor(readonly discipline: Discipline, readonly maxsize: number) {
    this.bound = maxsize > 0 ? maxsize : Infinity;
  }

  #store(item: Item): void {
    this.storage.push({ item, seq: this.#seq++ });
  }

  #takeFromStorage(): Item {
    let index: number;
    if (this.discipline === "fifo") index = 0;
    else if (this.discipline === "lifo") index = this.storage.length - 1;
    else {
      index = 0;
      for (let i = 1; i < this.storage.length; i++) {
        const best = this.storage[index]!;
        const candidate = this.storage[i]!;
        if (candidate.item.p < best.item.p) index = i; // ties keep the older (stable)
      }
    }
    return this.storage.splice(index, 1)[0]!.item;
  }

  /** An item with room: to the oldest getter, else to storage. */
  add(item: Item): void {
    const getter = this.getters.splice(0, 1)[0];
    this.unfinished++;
    if (getter !== undefined) {
      getter.expected = { status: "fulfilled", value: item };
      this.got.push(item);
    } else {
      this.#store(item);
    }
  }

  take(): Item {
    const item = this.#takeFromStorage();
    this.got.push(item);
    while (this.putters.length > 0 && this.storage.length < this.bound) {
      const putter = this.putters.splice(0, 1)[0]!;
      this.#store(putter.data as Item);
      this.unfinished++;
      putter.expected = { status: "fulfilled", value: undefined };
    }
    return item;
  }

  put(op: Op, item: Item, prepared: Prepared): void {
    if (this.isShutdown) return this.#reject(op, "QueueShutDown");
    if (prepared.optionsError) return this.#optionsError(op, prepared);
    if (this.putters.length === 0 && this.storage.length < this.bound) {
      this.add(item);
      op.expected = { status: "fulfilled", value: undefined };
      return;
    }
    if (prepared.timeout === 0) return this.#reject(op, "QueueFull");
    op.data = item;
    this.#wait(op, prepared, this.putters);
  }

  putNowait(item: Item): Expected {
    if (this.isShutdown) return { status: "rejected", error: "QueueShutDown" };
    if (this.putters.length > 0 || this.storage.length >= this.bound) {
      return { status: "rejected", error: "QueueFull" };
    }
    this.add(item);
    return { status: "fulfilled", value: undefined };
  }

  get(op: Op, prepared: Prepared): void {
    if (this.isShutdown && this.storage.length === 0) return this.#reject(op, "QueueShutDown");
    if (prepared.optionsError) return this.#optionsError(op, prepared);
    if (this.storage.length > 0) {
      op.expected = { status: "fulfilled", value: this.take() };
      return;
    }
    if (prepared.timeout === 0) return this.#reject(op, "QueueEmpty");
    this.#wait(op, prepared, this.getters);
  }

  getNowait(): Expected {
    if (this.storage.length === 0) {
      return { status: "rejected", error: this.isShutdown ? "QueueShutDown" : "QueueEmpty" };
    }
    return { status: "fulfilled", value: this.take() };
  }

  taskDone(): Expected {
    if (this.unfinished <= 0) return { status: "rejected", error: "RangeError" };
    this.unfinished--;
    if (this.unfinished === 0) this.#releaseJoiners();
    return { status: "fulfilled", value: undefined };
  }

  join(op: Op, prepared: Prepared): void {
    if (prepared.optionsError) return this.#optionsError(op, prepared);
    if (this.unfinished === 0) {
      op.expected = { status: "fulfilled", value: true };
      return;
    }
    if (prepared.timeout === 0) {
      op.expected = { status: "fulfilled", value: false };
      return;
    }
    this.#wait(op, prepared, this.joiners);
  }

  shutdown(immediate: boolean): void {
    this.isShutdown = true;
    if (immediate) {
      const discarded = this.storage.splice(0);
      this.discarded.push(...discarded.map((entry) => entry.item));
      this.unfinished = Math.max(0, this.unfinished - discarded.length);
      if (this.unfinished === 0) this.#releaseJoiners();
    }
    for (const putter of this.putters.splice(0)) {
      putter.expected = { status: "rejected", error: "QueueShutDown" };
    }
    if (this.storage.length === 0) {
      for (const getter of this.getters.splice(0)) {
        getter.expected = { status: "rejected", error: "QueueShutDown" };
      }
    }
  }

  advance(ms: number): void {
    this.now += ms;
    for (
      const [list, outcome] of [
        [this.getters, { status: "rejected", error: "QueueEmpty" }],
        [this.putters, { status: "rejected", error: "QueueFull" }],
        [this.joiners, { status: "fulfilled", value: false }],
      ] as [Op[], Expected][]
    ) {
      for (const op of [...list]) {
        if (op.deadline <= this.now) {
          list.splice(list.indexOf(op), 1);
          op.expected = outcome;
        }
      }
    }
  }

  /** The pending ops that an abort can cancel, oldest first. */
  abortable(): Op[] {
    return [...this.getters, ...this.putters, ...this.joiners]
      .filter((op) => op.controller !== undefined)
      .sort((a, b) => a.id - b.id);
  }

  abort(op: Op): void {
    for (const list of [this.getters, this.putters, this.joiners]) {
      const index = list.indexOf(op);
      if (index >= 0) {
        list.splice(index, 1);
        op.expected = { status: "rejected", error: op.reason! };
      }
    }
  }

  pendingTimers(): number {
    return [...this.getters, ...this.putters, ...this.joiners]
      .filter((op) => op.deadline !== Infinity).length;
  }

  #releaseJoiners(): void {
    for (const joiner of this.joiners.splice(0)) {
      joiner.expected = { status: "fulfilled", value: true };
    }
  }

  #wait(op: Op, prepared: Prepared, list: Op[]): void {
    op.expected = { status: "pending" };
    op.deadline = this.now + prepared.timeout;
    list.push(op);
  }

  #reject(op: Op, error: string): void {
    op.expected = { status: "rejected", error };
  }

  #optionsError(op: Op, prepared: Prepared): void {
    op.expected = prepared.optionsError === "RangeError"
      ? { status: "rejected", error: "RangeError" }
      : { status: "rejected", error: prepared.reason! };
  }
}

function makeQueue(discipline: Discipline, maxsize: number): Queue<Item> {
  switch (discipline) {
    case "fifo":
      return new Queue<Item>(maxsize);
    case "lifo":
      return new LifoQueue<Item>(maxsize);
    case "priority":
      return new PriorityQueue<Item>({ maxsize, compare: (a, b) => a.p - b.p });
  }
}

async function runQueue(
  discipline: Discipline,
  maxsize: number,
  cmds: QueueCmd[],
  clock: Clock,
): Promise<void> {
  const queue = makeQueue(discipline, maxsize);
  const model = new QueueModel(discipline, maxsize);
  const ops: Op[] = [];
  const putNowaitIds: number[] = [];
  const gotNowait: Item[] = [];
  let nextItem = 0;
  let nextOp = 0;

  const newOp = (name: string, prepared: Prepared): Op => {
    const op: Op = {
      id: nextOp++,
      name,
      tracked: undefined as unknown as Tracked<unknown>,
      expected: { status: "pending" },
      deadline: Infinity,
    };
    if (prepared.controller !== undefined) op.controller = prepared.controller;
    if (prepared.reason !== undefined) op.reason = prepared.reason;
    ops.push(op);
    return op;
  };
  const newItem = (p: number): Item => ({ id: nextItem++, p });

  const putNowait = (p: number, where: string) => {
    const item = newItem(p);
    const expected = model.putNowait(item);
    const actual = outcomeOf(() => queue.putNowait(item));
    assertSameOutcome(actual, expected, where);
    if (actual.status === "fulfilled") putNowaitIds.push(item.id);
  };
  const getNowait = (where: string) => {
    const expected = model.getNowait();
    const actual = outcomeOf(() => queue.getNowait());
    assertSameOutcome(actual, expected, where);
    if (actual.status === "fulfilled") gotNowait.push(actual.value as Item);
  };

  for (const [step, cmd] of cmds.entries()) {
    const where = `step ${step}: ${JSON.stringify(cmd)}`;
    switch (cmd.op) {
      case "put": {
        const prepared = prepare(cmd.mode);
        const op = newOp("put", prepared);
        const item = newItem(cmd.p);
        op.data = item;
        model.put(op, item, prepared);
        op.tracked = track(queue.put(item, prepared.options));
        break;
      }
      case "putNowait":
        putNowait(cmd.p, where);
        break;
      case "get": {
        const prepared = prepare(cmd.mode);
        const op = newOp("get", prepared);
        model.get(op, prepared);
        op.tracked = track(queue.get(prepared.options));
        break;
      }
      case "getNowait":
        getNowait(where);
        break;
      case "taskDone":
        assertSameOutcome(outcomeOf(() => queue.taskDone()), model.taskDone(), where);
        break;
      case "join": {
        const prepared = prepare(cmd.mode);
        const op = newOp("join", prepared);
        model.join(op, prepared);
        op.tracked = track(queue.join(prepared.options));
        break;
      }
      case "shutdown":
        model.shutdown(cmd.immediate);
        queue.shutdown(cmd.immediate);
        break;
      case "advance":
        model.advance(cmd.ms);
        await clock.tickAsync(cmd.ms);
        break;
      case "abort":
        abortPicked(model, cmd.pick);
        break;
      // Same-turn races: the second action happens before any promise job runs.
      case "putThenAbort":
        putNowait(cmd.p, where);
        abortPicked(model, cmd.pick);
        break;
      case "abortThenPut":
        abortPicked(model, cmd.pick);
        putNowait(cmd.p, where);
        break;
      case "getThenAbort":
        getNowait(where);
        abortPicked(model, cmd.pick);
        break;
      case "abortThenGet":
        abortPicked(model, cmd.pick);
        getNowait(where);
        break;
    }
    await settle();
    for (const op of ops) checkOp(op, itemId);
    assertEquals(queue.qsize(), model.storage.length, where);
    assertEquals(queue.unfinishedTasks, model.unfinished, where);
    assertEquals(queue.empty(), model.storage.length === 0, where);
    assertEquals(queue.full(), model.storage.length >= model.bound, where);
    assertEquals(queue.isShutdown, model.isShutdown, where);
    if (maxsize > 0) assert(queue.qsize() <= maxsize, `Q-7 at ${where}`);
    assertEquals(clock.countTimers(), model.pendingTimers(), `timers at ${where}`);
  }

  // Drain both; taking may admit waiting puts, in both.
  const left: Item[] = [];
  while (!queue.empty()) left.push(queue.getNowait());
  const modelLeft: Item[] = [];
  while (model.storage.length > 0) {
    const taken = model.getNowait();
    if (taken.status === "fulfilled") modelLeft.push(taken.value as Item);
  }
  assertEquals(left.map((item) => item.id), modelLeft.map((item) => item.id)); // same order
  await settle();
  for (const op of ops) checkOp(op, itemId);

  // No item lost or duplicated: everything put was got, is still queued, or was discarded.
  const gotByGet = ops
    .filter((op) => op.name === "get" && op.tracked.status === "fulfilled")
    .map((op) => op.tracked.value as Item);
  const accounted = [...gotByGet, ...gotNowait, ...left, ...model.discarded].map((item) => item.id);
  const putOps = ops.filter((op) => op.name === "put");
  const putIds = [
    ...putNowaitIds,
    ...putOps.filter((op) => op.tracked.status === "fulfilled").map((op) => (op.data as Item).id),
  ];
  const waitingPuts = putOps.filter((op) => op.tracked.status === "pending")
    .map((op) => (op.data as Item).id);
  assertEquals(new Set(accounted).size, accounted.length, "an item came out twice");
  assertEquals(accounted.sort((a, b) => a - b), putIds.sort((a, b) => a - b));
  for (const id of waitingPuts) assert(!accounted.includes(id), `item ${id} out before its put`);

  // Leave nothing behind: settle every pending wait.
  for (const op of model.abortable()) op.controller!.abort(op.reason);
  queue.shutdown(true);
  while (queue.unfinishedTasks > 0) queue.taskDone();
  await settle();
  for (const op of ops) assert(op.tracked.status !== "pending", `op #${op.id} left pending`);
  assertEquals(clock.countTimers(), 0);
}

for (const discipline of ["fifo", "lifo", "priority"] as const) {
  const name = { fifo: "Queue", lifo: "LifoQueue", priority: "PriorityQueue" }[discipline];
  Deno.test(`Q-3/Q-5/Q-6/Q-7/Q-9: ${name} matches the model under random operations, waits, timeouts, aborts and shutdowns`, async () => {
    await checkModel(
      name,
      fc.tuple(
        fc.constantFrom(0, 1, 2, 3, 5),
        fc.array(queueCmdArb, { minLength: 1, maxLength: 60, size: "max" }),
      ),
      async ([maxsize, cmds]) => {
        await withFakeTime((clock) => runQueue(discipline, maxsize, cmds, clock));
      },
      NUM_RUNS,
    );
  });
}

Deno.test("Q-5: Queue property: a get cancelled in the same turn as an item arrives never loses it", async () => {
  // A focused run of the same model: only waiting gets, puts and same-turn aborts.
  const focused: fc.Arbitrary<QueueCmd> = fc.oneof(
    fc.record({ op: fc.constant("get" as const), mode: fc.constant({ kind: "abort" as const }) }),
    fc.record({ op: fc.constant("putThenAbort" as const), p: priorityArb, pick: pickArb }),
    fc.record({ op: fc.constant("abortThenPut" as const), p: priorityArb, pick: pickArb }),
    fc.record({ op: fc.constant("getNowait" as const) }),
  );
  await checkModel(
    "Queue same-turn cancel",
    fc.array(focused, { minLength: 1, maxLength: 60, size: "max" }),
    async (cmds) => {
      await withFakeTime((clock) => runQueue("fifo", 0, cmds, clock));
    },
    NUM_RUNS,
  );
});

// ---------------------------------------------------------------- semaphores

type SemaphoreCmd =
  | { op: "acquire"; mode: Mode }
  | { op: "release"; n: number }
  | { op: "badRelease"; n: number }
  | { op: "advance"; ms: number }
  | { op: "abort"; pick: number }
  | { op: "releaseThenAbort"; pick: number }
  | { op: "abortThenRelease"; pick: number };

const semaphoreCmdArb: fc.Arbitrary<SemaphoreCmd> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("acquire" as const), mode: modeArb }), weight: 6 },
  {
    arbitrary: fc.record({
      op: fc.constant("release" as const),
      n: fc.integer({ min: 1, max: 3 }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("badRelease" as const),
      n: fc.constantFrom(0, -1, 1.5, NaN),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.integer({ min: 1, max: 80 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("abort" as const), pick: pickArb }), weight: 2 },
  {
    arbitrary: fc.record({ op: fc.constant("releaseThenAbort" as const), pick: pickArb }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant("abortThenRelease" as const), pick: pickArb }),
    weight: 1,
  },
);

class SemaphoreModel {
  waiters: Op[] = [];
  now = 0;
  constructor(public value: number, readonly bounded: boolean, readonly initial: number) {}

  acquire(op: Op, prepared: Prepared): void {
    if (prepared.optionsError === "RangeError") {
      op.expected = { status: "rejected", error: "RangeError" };
    } else if (prepared.optionsError === "aborted") {
      op.expected = { status: "rejected", error: prepared.reason! };
    } else if (this.value > 0) {
      this.value--;
      op.expected = { status: "fulfilled", value: true };
    } else if (prepared.timeout === 0) {
      op.expected = { status: "fulfilled", value: false };
    } else {
      op.expected = { status: "pending" };
      op.deadline = this.now + prepared.timeout;
      this.waiters.push(op);
    }
  }

  release(n: number): Expected {
    if (!Number.isInteger(n) || n < 1) return { status: "rejected", error: "RangeError" };
    if (this.bounded && n > this.initial - this.value) {
      return { status: "rejected", error: "RangeError" };
    }
    while (n > 0 && this.waiters.length > 0) {
      this.waiters.splice(0, 1)[0]!.expected = { status: "fulfilled", value: true };
      n--;
    }
    this.value += n;
    return { status: "fulfilled", value: undefined };
  }

  advance(ms: number): void {
    this.now += ms;
    for (const op of [...this.waiters]) {
      if (op.deadline <= this.now) {
        this.waiters.splice(this.waiters.indexOf(op), 1);
        op.expected = { status: "fulfilled", value: false };
      }
    }
  }

  abortable(): Op[] {
    return this.waiters.filter((op) => op.controller !== undefined);
  }

  abort(op: Op): void {
    const index = this.waiters.indexOf(op);
    if (index >= 0) {
      this.waiters.splice(index, 1);
      op.expected = { status: "rejected", error: op.reason! };
    }
  }
}

async function runSemaphore(
  bounded: boolean,
  initial: number,
  cmds: SemaphoreCmd[],
  clock: Clock,
): Promise<void> {
  const semaphore = bounded ? new BoundedSemaphore(initial) : new Semaphore(initial);
  const model = new SemaphoreModel(initial, bounded, initial);
  const ops: Op[] = [];
  let granted = initial; // permits that exist: free ones plus those held
  const release = (n: number, where: string) => {
    const expected = model.release(n);
    assertSameOutcome(outcomeOf(() => semaphore.release(n)), expected, where);
    if (expected.status === "fulfilled") granted += n;
  };
  for (const [step, cmd] of cmds.entries()) {
    const where = `step ${step}: ${JSON.stringify(cmd)}`;
    switch (cmd.op) {
      case "acquire": {
        const prepared = prepare(cmd.mode);
        const op: Op = {
          id: ops.length,
          name: "acquire",
          tracked: track(semaphore.acquire(prepared.options)),
          expected: { status: "pending" },
          deadline: Infinity,
        };
        if (prepared.controller !== undefined) op.controller = prepared.controller;
        if (prepared.reason !== undefined) op.reason = prepared.reason;
        model.acquire(op, prepared);
        ops.push(op);
        break;
      }
      case "release":
        release(cmd.n, where);
        break;
      case "badRelease":
        release(cmd.n, where);
        break;
      case "advance":
        model.advance(cmd.ms);
        await clock.tickAsync(cmd.ms);
        break;
      case "abort":
        abortPicked(model, cmd.pick);
        break;
      case "releaseThenAbort":
        release(1, where);
        abortPicked(model, cmd.pick);
        break;
      case "abortThenRelease":
        abortPicked(model, cmd.pick);
        release(1, where);
        break;
    }
    await settle();
    for (const op of ops) checkOp(op, (value) => value);
    assertEquals(semaphore.value, model.value, where);
    assertEquals(semaphore.waiting, model.waiters.length, where);
    assertEquals(
      clock.countTimers(),
      model.waiters.filter((op) => op.deadline !== Infinity).length,
    );
    // No permit leaked or invented: free + held by successful acquires = all permits.
    const held = ops.filter((op) => op.tracked.value === true).length;
    const releasedByHolders = granted - initial;
    assertEquals(semaphore.value + held - releasedByHolders, initial, `permits at ${where}`);
    if (bounded) assert(semaphore.value <= initial, `S-3 at ${where}`);
  }
  // Leave no timer behind: abort what can be aborted, let timed waits run out.
  for (const op of model.abortable()) op.controller!.abort(op.reason);
  await clock.tickAsync(100);
  while (semaphore.waiting > 0 && (!bounded || semaphore.value < initial)) semaphore.release();
  await settle();
  assertEquals(clock.countTimers(), 0);
}

for (const bounded of [false, true]) {
  const name = bounded ? "BoundedSemaphore" : "Semaphore";
  Deno.test(`S-2/S-3: ${name} matches the model under random acquires, releases, timeouts and aborts`, async () => {
    await checkModel(
      name,
      fc.tuple(
        fc.integer({ min: 0, max: 3 }),
        fc.array(semaphoreCmdArb, { minLength: 1, maxLength: 60, size: "max" }),
      ),
      async ([initial, cmds]) => {
        await withFakeTime((clock) => runSemaphore(bounded, initial, cmds, clock));
      },
      NUM_RUNS,
    );
  });
}

// ---------------------------------------------------------------- barriers

/** What the barrier's action does on its next run. */
type ActionKind = "none" | "sync" | "throw" | "async";

type BarrierCmd =
  | { op: "wait"; mode: Mode }
  | { op: "setAction"; kind: ActionKind }
  | { op: "finishAction"; pick: number }
  | { op: "failAction"; pick: number }
  | { op: "abortBarrier" }
  | { op: "reset" }
  | { op: "advance"; ms: number }
  | { op: "abort"; pick: number }
  | { op: "waitThenAbort"; mode: Mode; pick: number }
  | { op: "abortThenWait"; mode: Mode; pick: number }
  | { op: "finishThenAbort"; pick: number };

const barrierCmdArb: fc.Arbitrary<BarrierCmd> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("wait" as const), mode: modeArb }), weight: 8 },
  {
    arbitrary: fc.record({
      op: fc.constant("setAction" as const),
      kind: fc.constantFrom<ActionKind>("none", "sync", "throw", "async"),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("finishAction" as const), pick: pickArb }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("failAction" as const), pick: pickArb }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("abortBarrier" as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("reset" as const) }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.integer({ min: 1, max: 80 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("abort" as const), pick: pickArb }), weight: 2 },
);

/** An async action run: the model's view of its trip, and how the test settles it. */
interface ActionRun {
  trip: Op[];
  resolve(): void;
  reject(error: Error): void;
  error: Error;
}

/** The plain model of a Barrier, straight from API.md B-1 and the `action` JSDoc. */
class BarrierModel {
  /** Parties of the trip being filled, in arrival order (their index). */
  waiting: Op[] = [];
  /** Trips whose async action runs: all their parties, the last one included. */
  trips: Op[][] = [];
  broken = false;
  now = 0;
  constructor(readonly parties: number, readonly defaultTimeout: number | undefined) {}

  /** The effective timeout of a wait: its own, else the barrier's. */
  timeoutOf(mode: Mode): number {
    if (mode.kind === "timeout" || mode.kind === "both") return mode.ms;
    return this.defaultTimeout ?? Infinity;
  }

  /** A wait with the action `action` would run; says whether this wait trips the barrier. */
  wait(op: Op, prepared: Prepared, mode: Mode, action: ActionKind): "trip" | "no trip" {
    if (this.broken) {
      op.expected = { status: "rejected", error: "BrokenBarrierError" };
      return "no trip";
    }
    if (prepared.optionsError === "RangeError") {
      op.expected = { status: "rejected", error: "RangeError" };
      return "no trip";
    }
    if (prepared.optionsError === "aborted") {
      // An abort of this wait, already: it breaks the barrier as a timeout of 0 does (B-1).
      this.break();
      op.expected = { status: "rejected", error: prepared.reason! };
      return "no trip";
    }
    const index = this.waiting.length;
    op.data = index;
    if (index < this.parties - 1) {
      const timeout = this.timeoutOf(mode);
      if (timeout === 0) {
        this.break();
        op.expected = { status: "rejected", error: "BrokenBarrierError" };
        return "no trip";
      }
      op.expected = { status: "pending" };
      op.deadline = this.now + timeout;
      this.waiting.push(op);
      return "no trip";
    }
    switch (action) {
      case "none":
      case "sync":
        for (const party of [...this.waiting, op]) {
          party.expected = { status: "fulfilled", value: party.data };
        }
        this.waiting = [];
        break;
      case "throw":
        this.break();
        op.expected = { status: "rejected", error: "action failed" };
        break;
      case "async": {
        const trip = [...this.waiting, op];
        for (const party of trip) {
          party.expected = { status: "pending" };
          party.deadline = Infinity; // all arrived: no timeout applies any more
        }
        this.waiting = [];
        this.trips.push(trip);
        break;
      }
    }
    return "trip";
  }

  /** The async action of `trip` fulfilled. */
  finish(trip: Op[]): void {
    const index = this.trips.indexOf(trip);
    if (index < 0) return; // broken or reset meanwhile: ignored
    this.trips.splice(index, 1);
    for (const party of trip) party.expected = { status: "fulfilled", value: party.data };
  }

  /** The async action of `trip` rejected with `error`. */
  fail(trip: Op[], error: Error): void {
    const index = this.trips.indexOf(trip);
    if (index < 0) return;
    this.trips.splice(index, 1);
    this.break();
    trip.at(-1)!.expected = { status: "rejected", error };
    for (const party of trip.slice(0, -1)) {
      party.expected = { status: "rejected", error: "BrokenBarrierError" };
    }
  }

  break(): void {
    this.broken = true;
    this.#rejectAll();
  }

  reset(): void {
    this.#rejectAll();
    this.broken = false;
  }

  #rejectAll(): void {
    for (const party of [...this.waiting, ...this.trips.flat()]) {
      party.expected = { status: "rejected", error: "BrokenBarrierError" };
    }
    this.waiting = [];
    this.trips = [];
  }

  advance(ms: number): void {
    this.now += ms;
    // Any party out of time breaks the barrier, itself included: all get BrokenBarrierError.
    if (this.waiting.some((op) => op.deadline <= this.now)) this.break();
  }

  /** Waiting parties, and those of a trip whose async action runs (an abort no longer applies). */
  abortable(): Op[] {
    return [...this.waiting, ...this.trips.flat()].filter((op) => op.controller !== undefined)
      .sort((a, b) => a.id - b.id);
  }

  abort(op: Op): void {
    const index = this.waiting.indexOf(op);
    if (index < 0) return; // all arrived: the party's signal no longer counts
    this.waiting.splice(index, 1);
    this.break();
    op.expected = { status: "rejected", error: op.reason! };
  }

  nWaiting(): number {
    return this.waiting.length + this.trips.flat().length;
  }

  pendingTimers(): number {
    return this.waiting.filter((op) => op.deadline !== Infinity).length;
  }
}

async function runBarrier(
  parties: number,
  defaultTimeout: number | undefined,
  cmds: BarrierCmd[],
  clock: Clock,
): Promise<void> {
  let nextKind: ActionKind = "none";
  const runs: ActionRun[] = [];
  let ranThisStep: ActionRun | "sync" | undefined;
  const action = (): Promise<void> | undefined => {
    switch (nextKind) {
      case "none":
        return undefined;
      case "sync":
        ranThisStep = "sync";
        return undefined;
      case "throw":
        ranThisStep = "sync";
        throw actionError;
      case "async":
        return new Promise<void>((resolve, reject) => {
          const run = { trip: [], resolve, reject, error: new Error("async action failed") };
          runs.push(run);
          ranThisStep = run;
        });
    }
  };
  const actionError = new Error("action failed");
  const takeRan = () => {
    const ran = ranThisStep;
    ranThisStep = undefined;
    return ran;
  };
  const barrier = new Barrier(
    parties,
    defaultTimeout === undefined ? { action } : { action, timeout: defaultTimeout },
  );
  const model = new BarrierModel(parties, defaultTimeout);
  const ops: Op[] = [];
  const valueOf = (value: unknown) => value;

  const wait = (mode: Mode, where: string) => {
    const prepared = prepare(mode);
    const op: Op = {
      id: ops.length,
      name: "wait",
      tracked: undefined as unknown as Tracked<unknown>,
      expected: { status: "pending" },
      deadline: Infinity,
    };
    if (prepared.controller !== undefined) op.controller = prepared.controller;
    if (prepared.reason !== undefined) op.reason = prepared.reason;
    ops.push(op);
    const tripsBefore = model.trips.length;
    const tripped = model.wait(op, prepared, mode, nextKind);
    takeRan();
    op.tracked = track(barrier.wait(prepared.options));
    // The action runs exactly when the model says the barrier trips.
    const ran = takeRan();
    assertEquals(ran !== undefined, tripped === "trip" && nextKind !== "none", where);
    if (ran !== undefined && ran !== "sync") {
      assertEquals(model.trips.length, tripsBefore + 1, where);
      ran.trip = model.trips.at(-1)!;
    }
    if (op.expected.status === "rejected" && op.expected.error === "action failed") {
      op.expected = { status: "rejected", error: actionError };
    }
  };

  for (const [step, cmd] of cmds.entries()) {
    const where = `step ${step}: ${JSON.stringify(cmd)}`;
    switch (cmd.op) {
      case "wait":
        wait(cmd.mode, where);
        break;
      // Same-turn races: the second action happens before any promise job runs.
      case "waitThenAbort":
        wait(cmd.mode, where);
        abortPicked(model, cmd.pick);
        break;
      case "abortThenWait":
        abortPicked(model, cmd.pick);
        wait(cmd.mode, where);
        break;
      case "setAction":
        nextKind = cmd.kind;
        break;
      case "finishAction":
      case "finishThenAbort":
      case "failAction": {
        if (runs.length === 0) break;
        const [run] = runs.splice(cmd.pick % runs.length, 1);
        if (cmd.op === "finishThenAbort") {
          // The barrier sees the action fulfil in a promise job, after this abort:
          // a break here still ends the trip.
          run!.resolve();
          abortPicked(model, cmd.pick);
          model.finish(run!.trip);
        } else if (cmd.op === "finishAction") {
          model.finish(run!.trip);
          run!.resolve();
        } else {
          model.fail(run!.trip, run!.error);
          run!.reject(run!.error);
        }
        break;
      }
      case "abortBarrier":
        model.break();
        barrier.abort();
        break;
      case "reset":
        model.reset();
        barrier.reset();
        break;
      case "advance":
        model.advance(cmd.ms);
        await clock.tickAsync(cmd.ms);
        break;
      case "abort":
        abortPicked(model, cmd.pick);
        break;
    }
    await settle();
    for (const op of ops) checkOp(op, valueOf);
    assertEquals(barrier.broken, model.broken, `broken at ${where}`);
    assertEquals(barrier.nWaiting, model.nWaiting(), `nWaiting at ${where}`);
    assertEquals(clock.countTimers(), model.pendingTimers(), `timers at ${where}`);
  }
  // Settle everything: a reset frees every party, then the old actions end (ignored).
  model.reset();
  barrier.reset();
  for (const run of runs.splice(0)) run.resolve();
  await settle();
  for (const op of ops) checkOp(op, valueOf);
  for (const op of ops) assert(op.tracked.status !== "pending", `op #${op.id} left pending`);
  assertEquals(clock.countTimers(), 0);
}

Deno.test("B-1: Barrier property: an abort in the same turn as the last arrival or an action's end", async () => {
  // A focused run of the same model: aborting waits, arrivals and action ends in one turn.
  const abortingWait = fc.constantFrom<Mode>({ kind: "abort" }, { kind: "both", ms: 30 });
  const focused: fc.Arbitrary<BarrierCmd> = fc.oneof(
    fc.record({ op: fc.constant("wait" as const), mode: abortingWait }),
    fc.record({ op: fc.constant("waitThenAbort" as const), mode: abortingWait, pick: pickArb }),
    fc.record({ op: fc.constant("abortThenWait" as const), mode: abortingWait, pick: pickArb }),
    fc.record({
      op: fc.constant("setAction" as const),
      kind: fc.constantFrom<ActionKind>("none", "async"),
    }),
    fc.record({ op: fc.constant("finishAction" as const), pick: pickArb }),
    fc.record({ op: fc.constant("finishThenAbort" as const), pick: pickArb }),
  );
  await checkModel(
    "Barrier same-turn abort",
    fc.tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.array(focused, { minLength: 1, maxLength: 60, size: "max" }),
    ),
    async ([parties, cmds]) => {
      await withFakeTime((clock) => runBarrier(parties, undefined, cmds, clock));
    },
    NUM_RUNS,
  );
});

Deno.test("B-1: Barrier matches the model under random waits, sync and async actions, timeouts, aborts and resets", async () => {
  await checkModel(
    "Barrier",
    fc.tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
      fc.array(barrierCmdArb, { minLength: 1, maxLength: 60, size: "max" }),
    ),
    async ([parties, defaultTimeout, cmds]) => {
      await withFakeTime((clock) => runBarrier(parties, defaultTimeout, cmds, clock));
    },
    NUM_RUNS,
  );
});

// ---------------------------------------------------------------- conditions

type ConditionCmd =
  | { op: "acquire"; mode: Mode }
  | { op: "release" }
  | { op: "wait"; mode: Mode }
  | { op: "waitFor"; k: number; async: boolean; mode: Mode }
  | { op: "notify"; n: number }
  | { op: "notifyAll" }
  | { op: "set"; value: number }
  | { op: "advance"; ms: number }
  | { op: "abort"; pick: number }
  | { op: "notifyThenAbort"; n: number; pick: number }
  | { op: "abortThenNotify"; n: number; pick: number };

const conditionCmdArb: fc.Arbitrary<ConditionCmd> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("acquire" as const), mode: modeArb }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant("release" as const) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant("wait" as const), mode: modeArb }), weight: 3 },
  {
    arbitrary: fc.record({
      op: fc.constant("waitFor" as const),
      k: fc.integer({ min: 0, max: 3 }),
      async: fc.boolean(),
      mode: modeArb,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("notify" as const),
      n: fc.constantFrom(0, 1, 1, 2, 3, -1, 1.5),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant("notifyAll" as const) }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("set" as const),
      value: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.integer({ min: 1, max: 80 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("abort" as const), pick: pickArb }), weight: 2 },
);

/** How the inner wait of a `wait`/`waitFor` ended: with a value, or rejected. */
type Woken = { value: boolean } | { reason: Error };

/** What the model keeps per Condition op, in `op.data`. */
interface CondOpData {
  kind: "acquire" | "wait" | "waitFor";
  /** waitFor: the state it waits for, and its overall deadline. */
  k: number;
  waitForDeadline: number;
  /** Whether its signal was aborted (a later inner wait then rejects at once). */
  aborted: boolean;
  /** Creation order of its current timer (fake timers due together fire in this order). */
  timerSeq: number;
}

/**
 * The plain model of a Condition and its Lock, straight from API.md L-1,
 * C-1..C-5: one lock queue (acquirers and woken waiters taking the lock
 * back, FIFO) and one list of waiters for a notify.
 */
class ConditionModel {
  locked = false;
  /** Waiting for the lock: plain acquires, and woken waiters (with how they were woken). */
  lockQueue: { op: Op; woken?: Woken }[] = [];
  /** Waiting for a notify, oldest first. */
  waiters: Op[] = [];
  state = 0;
  now = 0;
  #timerSeq = 0;
  /** Woken waiters about to ask for the lock back (a promise job after the wake-up). */
  #waking: { op: Op; woken: Woken }[] = [];
  /** Ops that just got the lock back and go on, in the order they got it. */
  #resumed: { op: Op; woken: Woken }[] = [];

  data(op: Op): CondOpData {
    return op.data as CondOpData;
  }

  predicate(k: number): { state: number } | false {
    return this.state >= k && { state: this.state };
  }

  #optionsError(op: Op, prepared: Prepared): boolean {
    if (prepared.optionsError === undefined) return false;
    op.expected = prepared.optionsError === "RangeError"
      ? { status: "rejected", error: "RangeError" }
      : { status: "rejected", error: prepared.reason! };
    return true;
  }

  acquire(op: Op, prepared: Prepared): void {
    if (this.#optionsError(op, prepared)) return;
    if (!this.locked) {
      this.locked = true;
      op.expected = { status: "fulfilled", value: true };
    } else if (prepared.timeout === 0) {
      op.expected = { status: "fulfilled", value: false };
    } else {
      op.expected = { status: "pending" };
      this.#arm(op, prepared.timeout);
      this.lockQueue.push({ op });
    }
  }

  release(): Expected {
    if (!this.locked) return { status: "rejected", error: "Error" };
    this.#handOff();
    return { status: "fulfilled", value: undefined };
  }

  wait(op: Op, prepared: Prepared): void {
    if (!this.locked) {
      op.expected = { status: "rejected", error: "Error" };
      return;
    }
    if (this.#optionsError(op, prepared)) return;
    op.expected = { status: "pending" };
    this.#innerWait(op, prepared.timeout);
  }

  waitFor(op: Op, prepared: Prepared): void {
    if (!this.locked) {
      op.expected = { status: "rejected", error: "Error" };
      return;
    }
    if (this.#optionsError(op, prepared)) return;
    op.expected = { status: "pending" };
    this.data(op).waitForDeadline = this.now + prepared.timeout;
    this.#check(op);
  }

  notify(n: number): Expected {
    if (!this.locked) return { status: "rejected", error: "Error" };
    if (!Number.isInteger(n) || n < 0) return { status: "rejected", error: "RangeError" };
    for (const op of this.waiters.splice(0, n)) this.#wake(op, { value: true });
    return { status: "fulfilled", value: undefined };
  }

  notifyAll(): Expected {
    if (!this.locked) return { status: "rejected", error: "Error" };
    for (const op of this.waiters.splice(0)) this.#wake(op, { value: true });
    return { status: "fulfilled", value: undefined };
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      // The next timer due by `end`: the earliest, then the first made.
      const timed = [...this.waiters, ...this.lockQueue.filter((e) => !e.woken).map((e) => e.op)]
        .filter((op) => op.deadline <= end)
        .sort((a, b) => a.deadline - b.deadline || this.data(a).timerSeq - this.data(b).timerSeq);
      const op = timed[0];
      if (op === undefined) break;
      this.now = op.deadline;
      op.deadline = Infinity;
      const index = this.waiters.indexOf(op);
      if (index >= 0) {
        this.waiters.splice(index, 1);
        this.#wake(op, { value: false });
      } else {
        this.lockQueue.splice(this.lockQueue.findIndex((e) => e.op === op), 1);
        op.expected = { status: "fulfilled", value: false };
      }
      this.#drain();
    }
    this.now = end;
  }

  abortable(): Op[] {
    const pending = [
      ...this.waiters,
      ...this.lockQueue.map((e) => e.op),
      ...this.#waking.map((e) => e.op),
    ];
    return pending.filter((op) => op.controller !== undefined && !this.data(op).aborted)
      .sort((a, b) => a.id - b.id);
  }

  abort(op: Op): void {
    this.data(op).aborted = true;
    const index = this.waiters.indexOf(op);
    if (index >= 0) {
      this.waiters.splice(index, 1);
      op.deadline = Infinity;
      this.#wake(op, { reason: op.reason! });
      return;
    }
    const queued = this.lockQueue.findIndex((e) => e.op === op && !e.woken);
    if (queued >= 0) {
      this.lockQueue.splice(queued, 1);
      op.deadline = Infinity;
      op.expected = { status: "rejected", error: op.reason! };
    }
    // A woken waiter taking the lock back does so without the signal: nothing changes now.
  }

  pendingTimers(): number {
    return [...this.waiters, ...this.lockQueue.map((e) => e.op)]
      .filter((op) => op.deadline !== Infinity).length;
  }

  /**
   * A woken waiter asks for the lock back in a promise job: what happens in
   * the same turn (a notify, a release) still sees the lock as it is now.
   */
  #wake(op: Op, woken: Woken): void {
    op.deadline = Infinity; // its timer is cleared
    this.#waking.push({ op, woken });
  }

  /** The promise jobs of a step: they run after its synchronous calls. */
  settle(): void {
    this.#drain();
  }

  /** The lock goes to the oldest in the queue, or becomes free. */
  #handOff(): void {
    const next = this.lockQueue.shift();
    if (next === undefined) {
      this.locked = false;
    } else if (next.woken === undefined) {
      next.op.deadline = Infinity;
      next.op.expected = { status: "fulfilled", value: true };
    } else {
      this.#resumed.push({ op: next.op, woken: next.woken });
    }
  }

  /** Releases the lock to wait for a notify, with a timer when `timeout` is finite. */
  #innerWait(op: Op, timeout: number): void {
    if (timeout === 0) {
      // Woken at once, false: it lets go of the lock and asks for it back.
      this.#handOff();
      this.#wake(op, { value: false });
      return;
    }
    this.#arm(op, timeout);
    this.waiters.push(op);
    this.#handOff();
  }

  /** A waitFor holding the lock checks its predicate and returns or waits again. */
  #check(op: Op): void {
    const data = this.data(op);
    const result = this.predicate(data.k);
    if (result) {
      op.expected = { status: "fulfilled", value: result };
      return;
    }
    const remaining = data.waitForDeadline === Infinity
      ? Infinity
      : Math.max(0, data.waitForDeadline - this.now);
    if (remaining === 0) {
      op.expected = { status: "fulfilled", value: false };
    } else if (data.aborted) {
      op.expected = { status: "rejected", error: op.reason! }; // the next wait sees the aborted signal
    } else {
      this.#innerWait(op, remaining);
    }
  }

  /**
   * Runs the promise jobs, until none is left. Woken waiters ask for the
   * lock first (one job after their wake-up), ops that got the lock go on
   * after (a few jobs: they cannot let go of it before the others asked).
   */
  #drain(): void {
    for (;;) {
      for (const { op, woken } of this.#waking.splice(0)) {
        if (this.locked) {
          this.lockQueue.push({ op, woken });
        } else {
          this.locked = true;
          this.#resumed.push({ op, woken });
        }
      }
      const next = this.#resumed.shift();
      if (next === undefined) break;
      const { op, woken } = next;
      if ("reason" in woken) {
        op.expected = { status: "rejected", error: woken.reason };
      } else if (this.data(op).kind === "wait") {
        op.expected = { status: "fulfilled", value: woken.value };
      } else {
        this.#check(op);
      }
    }
  }

  #arm(op: Op, timeout: number): void {
    op.deadline = this.now + timeout;
    this.data(op).timerSeq = this.#timerSeq++;
  }
}

/** Lets every promise job of a step run, however long the chain of lock hand-offs. */
async function settleAll(): Promise<void> {
  for (let i = 0; i < 200; i++) await Promise.resolve();
}

async function runCondition(cmds: ConditionCmd[], clock: Clock): Promise<void> {
  const condition = new Condition();
  const model = new ConditionModel();
  let state = 0;
  const ops: Op[] = [];
  const newOp = (name: string, prepared: Prepared, data: Partial<CondOpData>): Op => {
    const op: Op = {
      id: ops.length,
      name,
      tracked: undefined as unknown as Tracked<unknown>,
      expected: { status: "pending" },
      deadline: Infinity,
      data: {
        kind: "acquire",
        k: 0,
        waitForDeadline: Infinity,
        aborted: false,
        timerSeq: -1,
        ...data,
      },
    };
    if (prepared.controller !== undefined) op.controller = prepared.controller;
    if (prepared.reason !== undefined) op.reason = prepared.reason;
    ops.push(op);
    return op;
  };
  const valueOf = (value: unknown) => value;
  const notify = (n: number, where: string) => {
    const expected = model.notify(n);
    assertSameOutcome(outcomeOf(() => condition.notify(n)), expected, where);
  };

  for (const [step, cmd] of cmds.entries()) {
    const where = `step ${step}: ${JSON.stringify(cmd)}`;
    switch (cmd.op) {
      case "acquire": {
        const prepared = prepare(cmd.mode);
        const op = newOp("acquire", prepared, { kind: "acquire" });
        model.acquire(op, prepared);
        op.tracked = track(condition.acquire(prepared.options));
        break;
      }
      case "release": {
        const expected = model.release();
        assertSameOutcome(outcomeOf(() => condition.release()), expected, where);
        break;
      }
      case "wait": {
        const prepared = prepare(cmd.mode);
        const op = newOp("wait", prepared, { kind: "wait" });
        model.wait(op, prepared);
        op.tracked = track(condition.wait(prepared.options));
        break;
      }
      case "waitFor": {
        const prepared = prepare(cmd.mode);
        const op = newOp(`waitFor(${cmd.async ? "async " : ""}>= ${cmd.k})`, prepared, {
          kind: "waitFor",
          k: cmd.k,
        });
        model.waitFor(op, prepared);
        const check = () => state >= cmd.k && { state };
        const predicate = cmd.async ? () => Promise.resolve().then(check) : check;
        op.tracked = track(condition.waitFor(predicate, prepared.options));
        break;
      }
      case "notify":
        notify(cmd.n, where);
        break;
      // Same-turn races (C-5): the second action happens before any promise job runs.
      case "notifyThenAbort":
        notify(cmd.n, where);
        abortPicked(model, cmd.pick);
        break;
      case "abortThenNotify":
        abortPicked(model, cmd.pick);
        notify(cmd.n, where);
        break;
      case "notifyAll": {
        const expected = model.notifyAll();
        assertSameOutcome(outcomeOf(() => condition.notifyAll()), expected, where);
        break;
      }
      case "set":
        model.state = state = cmd.value;
        break;
      case "advance":
        model.advance(cmd.ms);
        await clock.tickAsync(cmd.ms);
        break;
      case "abort":
        abortPicked(model, cmd.pick);
        break;
    }
    model.settle();
    await settleAll();
    for (const op of ops) checkOp(op, valueOf);
    assertEquals(condition.locked(), model.locked, `locked at ${where}`);
    assertStringIncludes(Deno.inspect(condition), `waiters: ${model.waiters.length}`, where);
    assertEquals(clock.countTimers(), model.pendingTimers(), `timers at ${where}`);
  }
  // Settle everything: every predicate holds, abort what can be aborted, notify all until done.
  state = Infinity;
  for (const op of model.abortable()) op.controller!.abort(op.reason);
  for (let round = 0; ops.some((op) => op.tracked.status === "pending"); round++) {
    assert(round < 100, "ops left pending after 100 rounds of notifyAll and release");
    if (!condition.locked()) await condition.acquire();
    condition.notifyAll();
    condition.release();
    await settleAll();
  }
  assertEquals(clock.countTimers(), 0);
}

Deno.test("C-5: Condition property: an abort in the same turn as a notify never loses the notify", async () => {
  // A focused run of the same model: aborting waits and waitFors, notifies and same-turn aborts.
  const abortingWait = fc.constantFrom<Mode>({ kind: "abort" }, { kind: "both", ms: 30 });
  const n = fc.constantFrom(1, 1, 2, 3);
  const focused: fc.Arbitrary<ConditionCmd> = fc.oneof(
    fc.record({
      op: fc.constant("acquire" as const),
      mode: fc.constant({ kind: "block" as const }),
    }),
    fc.record({ op: fc.constant("release" as const) }),
    fc.record({ op: fc.constant("wait" as const), mode: abortingWait }),
    fc.record({
      op: fc.constant("waitFor" as const),
      k: fc.integer({ min: 1, max: 3 }),
      async: fc.boolean(),
      mode: abortingWait,
    }),
    fc.record({ op: fc.constant("set" as const), value: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant("notifyThenAbort" as const), n, pick: pickArb }),
    fc.record({ op: fc.constant("abortThenNotify" as const), n, pick: pickArb }),
  );
  await checkModel(
    "Condition same-turn abort",
    fc.array(focused, { minLength: 1, maxLength: 60, size: "max" }),
    async (cmds) => {
      await withFakeTime((clock) => runCondition(cmds, clock));
    },
    NUM_RUNS,
  );
});

Deno.test("C-2/C-3/C-4/C-5: Condition matches the model under random acquires, waits, waitFors, notifies, timeouts and aborts", async () => {
  await checkModel(
    "Condition",
    fc.array(conditionCmdArb, { minLength: 1, maxLength: 60, size: "max" }),
    async (cmds) => {
      await withFakeTime((clock) => runCondition(cmds, clock));
    },
    NUM_RUNS,
  );
});

// ---------------------------------------------------------------- periodic timers

type TimerCmd =
  | { op: "start" }
  | { op: "stop" }
  | { op: "waitForTick"; mode: Mode }
  | { op: "advance"; ms: number }
  | { op: "jump"; ms: number }
  | { op: "far"; ms: number }
  | { op: "abort"; pick: number };

const MAX_TIMER_DELAY = 2 ** 31 - 1;

const timerCmdArb: fc.Arbitrary<TimerCmd> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("start" as const) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("stop" as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("waitForTick" as const), mode: modeArb }), weight: 5 },
  {
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.integer({ min: 1, max: 80 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("jump" as const),
      ms: fc.integer({ min: 1, max: 300 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("far" as const),
      ms: fc.constantFrom(MAX_TIMER_DELAY - 1, MAX_TIMER_DELAY, 2 ** 31 + 999, 5e9),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant("abort" as const), pick: pickArb }), weight: 2 },
);

/** A fake timer as the model sees it: due at `callAt`, fired in (callAt, seq) order. */
interface ModelTimer {
  callAt: number;
  seq: number;
  /** The tick it works towards (the timer's own), or the wait it times out. */
  due?: number;
  op?: Op;
}

/** The plain model of a PeriodicTimer, straight from API.md T-2..T-5. */
class PeriodicTimerModel {
  state: "idle" | "running" | "stopped" = "idle";
  ticks = 0;
  now = 0;
  waiters: Op[] = [];
  tickTimer: ModelTimer | undefined;
  #startedAt = 0;
  #nextIndex = 1;
  #seq = 0;
  constructor(readonly interval: number) {}

  start(): void {
    if (this.state === "running") return;
    this.state = "running";
    this.#startedAt = this.now;
    this.#nextIndex = 1;
    this.#arm(this.#startedAt + this.interval);
  }

  stop(): void {
    this.tickTimer = undefined;
    this.state = "stopped";
    this.#releaseAll(false);
  }

  waitForTick(op: Op, prepared: Prepared): void {
    if (prepared.optionsError !== undefined) {
      op.expected = prepared.optionsError === "RangeError"
        ? { status: "rejected", error: "RangeError" }
        : { status: "rejected", error: prepared.reason! };
    } else if (this.state === "stopped" || prepared.timeout === 0) {
      op.expected = { status: "fulfilled", value: false };
    } else {
      op.expected = { status: "pending" };
      if (prepared.timeout !== Infinity) {
        op.data = { callAt: this.now + prepared.timeout, seq: this.#seq++, op };
      }
      this.waiters.push(op);
    }
  }

  /** Fake time passes to `end`, firing every timer due by then (tickAsync). */
  advance(ms: number): void {
    this.#run(this.now + ms);
  }

  /** A blocked event loop: every timer due by `end` fires once, at `end` (clock.jump). */
  jump(ms: number): void {
    const end = this.now + ms;
    for (const timer of this.#timers()) if (timer.callAt < end) timer.callAt = end;
    this.#run(end);
  }

  abortable(): Op[] {
    return this.waiters.filter((op) => op.controller !== undefined);
  }

  abort(op: Op): void {
    const index = this.waiters.indexOf(op);
    if (index < 0) return;
    this.waiters.splice(index, 1);
    op.expected = { status: "rejected", error: op.reason! };
  }

  pendingTimers(): number {
    return this.#timers().length;
  }

  #timers(): ModelTimer[] {
    const timers = this.waiters.map((op) => op.data as ModelTimer | undefined)
      .filter((timer) => timer !== undefined);
    return this.tickTimer === undefined ? timers : [this.tickTimer, ...timers];
  }

  #run(end: number): void {
    for (;;) {
      const next = this.#timers().filter((timer) => timer.callAt <= end)
        .sort((a, b) => a.callAt - b.callAt || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.now = next.callAt;
      if (next.op !== undefined) {
        this.waiters.splice(this.waiters.indexOf(next.op), 1);
        next.op.expected = { status: "fulfilled", value: false };
      } else {
        this.#fire(next.due!);
      }
    }
    this.now = end;
  }

  /** The timer's own timer went off, for the tick due at `due`. */
  #fire(due: number): void {
    this.tickTimer = undefined;
    if (this.now < due) {
      this.#arm(due); // a capped timer ran out: not yet
      return;
    }
    this.ticks++;
    this.#nextIndex = Math.max(
      this.#nextIndex + 1,
      Math.floor((this.now - this.#startedAt) / this.interval) + 1,
    );
    this.#arm(this.#startedAt + this.#nextIndex * this.interval);
    this.#releaseAll(true);
  }

  /** setTimeout takes at most MAX_TIMER_DELAY: a longer wait takes several timers. */
  #arm(due: number): void {
    const delay = Math.min(due - this.now, MAX_TIMER_DELAY);
    assert(delay > 0, `the next tick is due in the future (${delay} ms)`);
    this.tickTimer = { callAt: this.now + delay, seq: this.#seq++, due };
  }

  #releaseAll(value: boolean): void {
    for (const op of this.waiters.splice(0)) op.expected = { status: "fulfilled", value };
  }
}

async function runPeriodicTimer(interval: number, cmds: TimerCmd[], clock: Clock): Promise<void> {
  const timer = new PeriodicTimer(interval);
  const model = new PeriodicTimerModel(interval);
  const ops: Op[] = [];
  const valueOf = (value: unknown) => value;
  try {
    for (const [step, cmd] of cmds.entries()) {
      const where = `step ${step}: ${JSON.stringify(cmd)}`;
      switch (cmd.op) {
        case "start":
          model.start();
          timer.start();
          break;
        case "stop":
          model.stop();
          timer.stop();
          break;
        case "waitForTick": {
          const prepared = prepare(cmd.mode);
          const op: Op = {
            id: ops.length,
            name: "waitForTick",
            tracked: undefined as unknown as Tracked<unknown>,
            expected: { status: "pending" },
            deadline: Infinity,
          };
          if (prepared.controller !== undefined) op.controller = prepared.controller;
          if (prepared.reason !== undefined) op.reason = prepared.reason;
          ops.push(op);
          model.waitForTick(op, prepared);
          op.tracked = track(timer.waitForTick(prepared.options));
          break;
        }
        case "advance":
          model.advance(cmd.ms);
          await clock.tickAsync(cmd.ms);
          break;
        case "jump":
          model.jump(cmd.ms);
          clock.jump(cmd.ms);
          break;
        case "far":
          // Far ahead: on time for a long interval, as a blocked loop for a short one
          // (which would otherwise tick millions of times).
          if (interval > MAX_TIMER_DELAY / 4) {
            model.advance(cmd.ms);
            await clock.tickAsync(cmd.ms);
          } else {
            model.jump(cmd.ms);
            clock.jump(cmd.ms);
          }
          break;
        case "abort":
          abortPicked(model, cmd.pick);
          break;
      }
      await settle();
      for (const op of ops) checkOp(op, valueOf);
      assertEquals(timer.ticks, model.ticks, `ticks at ${where}`);
      assertEquals(timer.running, model.state === "running", `running at ${where}`);
      assertStringIncludes(Deno.inspect(timer), `waiters: ${model.waiters.length}`, where);
      assertEquals(clock.countTimers(), model.pendingTimers(), `timers at ${where}`);
    }
  } finally {
    timer.stop();
  }
  for (const op of model.abortable()) op.controller!.abort(op.reason);
  model.stop();
  await settle();
  for (const op of ops) checkOp(op, valueOf);
  assertEquals(clock.countTimers(), 0);
}

Deno.test("T-1..T-4: PeriodicTimer matches the model under random starts, stops, waits, late and far jumps", async () => {
  await checkModel(
    "PeriodicTimer",
    fc.tuple(
      fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 50 }), weight: 4 },
        { arbitrary: fc.constantFrom(2 ** 31 + 1000, 3 * MAX_TIMER_DELAY + 5), weight: 1 },
      ),
      fc.array(timerCmdArb, { minLength: 1, maxLength: 60, size: "max" }),
    ),
    async ([interval, cmds]) => {
      await withFakeTime((clock) => runPeriodicTimer(interval, cmds, clock));
    },
    NUM_RUNS,
  );
});

// ---------------------------------------------------------------- the harness

/** A toy model with a known failure: the sum of a short list stays below 150. */
const toyInput = fc.array(fc.nat({ max: 100 }), { maxLength: 10 });
const sumBelow150 = (values: number[]) => {
  const sum = values.reduce((a, b) => a + b, 0);
  if (sum >= 150) throw new Error(`sum ${sum}`);
  return Promise.resolve();
};

/** The entry checkModel prints for the toy's failure, parsed back. */
async function toyEntry(): Promise<RegressionSeed> {
  const error = await assertRejects(() => checkModel("toy", toyInput, sumBelow150, 200, []));
  const message = (error as Error).message;
  assertStringIncludes(message, "REGRESSION_SEEDS");
  const printed = message.slice(message.indexOf("REGRESSION_SEEDS"));
  return JSON.parse(printed.slice(printed.indexOf("{"), printed.lastIndexOf("}") + 1));
}

Deno.test("Property harness: a failure prints an entry that every later run replays first", async () => {
  const entry = await toyEntry();
  assertEquals(entry.model, "toy");
  // Fixed, the model passes, and the recorded case is the first one it runs.
  const seen: string[] = [];
  await checkModel(
    "toy",
    toyInput,
    (values) => {
      seen.push(fc.stringify(values));
      return Promise.resolve();
    },
    5,
    [entry],
  );
  assertEquals(seen[0], entry.counterexample);
  // Broken again, the replay reports the seed before any random case runs.
  let runs = 0;
  const error = await assertRejects(() =>
    checkModel(
      "toy",
      toyInput,
      (values) => {
        runs++;
        return sumBelow150(values);
      },
      200,
      [entry],
    )
  );
  assertStringIncludes((error as Error).message, `regression seed ${entry.seed} of toy`);
  assertEquals(runs, 1);
  // Other models' seeds are not replayed.
  seen.length = 0;
  await checkModel(
    "other",
    toyInput,
    (values) => {
      seen.push(fc.stringify(values));
      return Promise.resolve();
    },
    1,
    [entry],
  );
  assertEquals(seen.length, propertyRuns(1));
});

Deno.test("Property harness: a seed whose arbitraries changed fails as stale", async () => {
  const entry = await toyEntry();
  const changed = fc.array(fc.string(), { maxLength: 10 });
  const error = await assertRejects(() =>
    checkModel("toy", changed, () => Promise.resolve(), 5, [entry])
  );
  assertStringIncludes((error as Error).message, "stale regression seed");
});

Deno.test("Property harness: every recorded seed names a model of this file or of remote_property_test.ts", () => {
  const models = new Set([
    "Queue",
    "LifoQueue",
    "PriorityQueue",
    "Queue same-turn cancel",
    "Semaphore",
    "BoundedSemaphore",
    "Barrier",
    "Barrier same-turn abort",
    "Condition",
    "Condition same-turn abort",
    "PeriodicTimer",
    // tests/remote_property_test.ts
    "served Queue",
    "served LifoQueue",
  ]);
  for (const entry of REGRESSION_SEEDS) assert(models.has(entry.model), entry.model);
});
