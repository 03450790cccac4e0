/**
 * Property tests of a queue served over a MessageChannel in one thread and
 * used from both sides at once: random sequences of local and remote puts,
 * gets (blocking, nowait, with a short timeout, aborted), taskDones, remote
 * iteration left early and a remote close, ended by a soft or immediate
 * shutdown. At the end everything is drained and checked against a simple
 * model: each item whose put resolved is got exactly once (or discarded by
 * `shutdown(true)`), nothing is got that was not put, each producer's items
 * come out in order when one side consumes a FIFO queue, `unfinishedTasks`
 * is what was put and taken minus what was marked done, and a bounded queue
 * never holds more than `maxsize` items and slots reserved for items in
 * flight. The sanitizers check that no timer, listener or port is left.
 *
 * Covers across the boundary (W-2, W-6, W-8).
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { checkModel } from "./seeds.ts";
import { LifoQueue, Queue, QueueEmpty, QueueFull, QueueShutDown } from "../mod.ts";
import { connect, LinkClosed, type RemoteQueue, serve } from "../src/worker/mod.ts";

const NUM_RUNS = 150;

/** One macrotask turn: lets messages on the channel and the adapters' batches go. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

// ---------------------------------------------------------------- commands

type Command =
  | { t: "lput" }
  | { t: "lputNowait" }
  | { t: "lget" }
  | { t: "lgetNowait" }
  | { t: "ltaskDone" }
  | { t: "rput" }
  | { t: "rputNowait" }
  | { t: "rget" }
  | { t: "rgetTimeout"; ms: number }
  | { t: "rgetAbort" }
  | { t: "rgetNowait" }
  | { t: "rtaskDone" }
  | { t: "riter" }
  | { t: "rclose" }
  | { t: "lclose" }
  | { t: "abort" };

type Step = { cmd: Command; wait: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ t: "lput" as const }), weight: 4 },
  { arbitrary: fc.constant({ t: "lputNowait" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "lget" as const }), weight: 3 },
  { arbitrary: fc.constant({ t: "lgetNowait" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "ltaskDone" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "rput" as const }), weight: 4 },
  { arbitrary: fc.constant({ t: "rputNowait" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "rget" as const }), weight: 3 },
  {
    arbitrary: fc.record({ t: fc.constant("rgetTimeout" as const), ms: fc.constantFrom(0, 1, 3) }),
    weight: 2,
  },
  { arbitrary: fc.constant({ t: "rgetAbort" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "rgetNowait" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "rtaskDone" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "riter" as const }), weight: 2 },
  { arbitrary: fc.constant({ t: "rclose" as const }), weight: 1 },
  { arbitrary: fc.constant({ t: "lclose" as const }), weight: 1 },
  { arbitrary: fc.constant({ t: "abort" as const }), weight: 2 },
);

const stepArb: fc.Arbitrary<Step> = fc.record({
  cmd: commandArb,
  wait: fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 },
  ),
});

type Consumers = "local" | "remote" | "both";

interface Scenario {
  maxsize: number;
  prefetch: number | undefined;
  consumers: Consumers;
  steps: Step[];
  shutdownBy: "local" | "remote";
  immediate: boolean;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  maxsize: fc.constantFrom(0, 1, 2, 4),
  prefetch: fc.constantFrom<number | undefined>(0, 1, 4, undefined),
  consumers: fc.constantFrom<Consumers>("local", "remote", "both"),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 24 }),
  shutdownBy: fc.constantFrom<"local" | "remote">("local", "remote"),
  immediate: fc.boolean(),
});

/** Whether a step is a get of the side that does not consume in this scenario. */
function skipped(cmd: Command, consumers: Consumers): boolean {
  const localGet = cmd.t === "lget" || cmd.t === "lgetNowait";
  const remoteGet = cmd.t === "rget" || cmd.t === "rgetTimeout" || cmd.t === "rgetAbort" ||
    cmd.t === "rgetNowait" || cmd.t === "riter";
  return (consumers === "local" && remoteGet) || (consumers === "remote" && localGet);
}

// ---------------------------------------------------------------- the run

type Side = "L" | "R";

interface PutRecord {
  side: Side;
  seq: number;
  status: "pending" | "ok" | "rejected" | "maybe";
}

interface Op {
  what: string;
  settled: boolean;
}

/** The reserved slots and waiters of the owner's queue, from its inspect view. */
function inspectState(q: Queue<string>): { reserved: number; getters: number; putters: number } {
  const text = Deno.inspect(q);
  const read = (key: string) => {
    const match = text.match(new RegExp(`${key}: (\\d+)`));
    if (match === null) throw new Error(`no ${key} in ${text}`);
    return Number(match[1]);
  };
  return {
    reserved: read("held"),
    getters: read("waitingGetters"),
    putters: read("waitingPutters"),
  };
}

function describeError(error: unknown): string {
  return error instanceof Error || error instanceof DOMException
    ? `${error.name}: ${error.message}`
    : String(error);
}

async function runScenario(
  kind: "Queue" | "LifoQueue",
  scenario: Scenario,
): Promise<void> {
  const { maxsize, prefetch, consumers, steps } = scenario;
  const q = kind === "Queue" ? new Queue<string>(maxsize) : new LifoQueue<string>(maxsize);
  const { port1, port2 } = new MessageChannel();
  const reported: string[] = [];
  const link = serve(port1, { q }, { onError: (error) => reported.push(describeError(error)) });
  const connectOptions: { prefetch?: number; onError: (error: unknown) => void } = {
    onError: (error) => reported.push(`connect: ${describeError(error)}`),
  };
  if (prefetch !== undefined) connectOptions.prefetch = prefetch;
  const remote = await connect<{ q: Queue<string> }>(port2, connectOptions);
  const rq: RemoteQueue<string> = remote.q;

  const puts = new Map<string, PutRecord>();
  const seqs = { L: 0, R: 0 };
  /**
   * Items got, with the side that got them and the order in which their gets
   * were called (Q-3 serves a side's getters in that order; two of them may
   * settle in the other order, e.g. a getNowait answered after a prefetched item).
   */
  const got: { item: string; side: Side; call: number }[] = [];
  let calls = 0;
  /** Remote gets that wait on this side's prefetch and have not settled. */
  let remoteWaiting = 0;
  /**
   * Items taken by a remote getNowait (or timeout 0) while that side's own
   * earlier gets waited: it asks the owner directly and may overtake them
   * (tests/worker_test.ts relies on that), so they are left out of the order check.
   */
  const overtaking = new Set<string>();
  const failures: string[] = [];
  const ops: Op[] = [];
  const controllers: { controller: AbortController; reason: Error }[] = [];
  let doneRequested = 0;
  let doneApplied = 0;
  /** Remote taskDone calls that rejected LinkClosed after they went out: maybe applied. */
  let doneMaybe = 0;
  let remoteClosed = false;
  /** The owner closed the link: items the remote side took may come again (README "Workers"). */
  let ownerClosed = false;
  const uniqueGot = () => new Set(got.map((g) => g.item)).size;

  const checkBound = (where: string) => {
    if (maxsize <= 0) return;
    const { reserved } = inspectState(q);
    if (q.qsize() > maxsize || q.qsize() + reserved > maxsize) {
      failures.push(
        `Q-7 ${where}: qsize ${q.qsize()} + reserved ${reserved} > maxsize ${maxsize}`,
      );
    }
  };

  const allowed = (error: unknown, ...classes: (new (...args: never[]) => unknown)[]) =>
    classes.some((Class) => error instanceof Class);

  const track = (
    what: string,
    promise: Promise<unknown>,
    onOk: (value: unknown) => void,
    onErr: (error: unknown) => void,
  ) => {
    const op: Op = { what, settled: false };
    ops.push(op);
    promise.then((value) => {
      op.settled = true;
      onOk(value);
    }, (error) => {
      op.settled = true;
      onErr(error);
    });
  };

  const gotItem = (side: Side, what: string, nowait = false) => {
    const call = calls++;
    const overtakes = nowait && remoteWaiting > 0;
    return (value: unknown) => {
      if (typeof value !== "string") {
        failures.push(`${what} resolved with ${String(value)}, not an item`);
        return;
      }
      got.push({ item: value, side, call });
      if (overtakes) overtaking.add(value);
    };
  };

  /** A remote get that may wait on this side: counted while it waits. */
  const waiting = <T>(promise: Promise<T>): Promise<T> => {
    remoteWaiting++;
    return promise.finally(() => remoteWaiting--);
  };

  const getFailed =
    (what: string, ...classes: (new (...args: never[]) => unknown)[]) => (error: unknown) => {
      if (!allowed(error, QueueEmpty, QueueShutDown, LinkClosed, ...classes)) {
        failures.push(`${what} rejected ${describeError(error)}`);
      }
    };

  const newItem = (side: Side): string => {
    const seq = seqs[side]++;
    const item = `${side}${seq}`;
    puts.set(item, { side, seq, status: "pending" });
    return item;
  };

  const putTracked = (
    what: string,
    item: string,
    promise: Promise<unknown>,
    ambiguous: boolean,
  ) => {
    const record = puts.get(item)!;
    track(what, promise, () => {
      record.status = "ok";
    }, (error) => {
      if (!allowed(error, QueueFull, QueueShutDown, LinkClosed)) {
        failures.push(`${what}(${item}) rejected ${describeError(error)}`);
      }
      // A call that went out before this side closed may have been applied.
      record.status = error instanceof LinkClosed && ambiguous ? "maybe" : "rejected";
    });
  };

  const run = async (cmd: Command) => {
    switch (cmd.t) {
      case "lput": {
        const item = newItem("L");
        putTracked("local put", item, q.put(item), false);
        return;
      }
      case "lputNowait": {
        const item = newItem("L");
        try {
          q.putNowait(item);
          puts.get(item)!.status = "ok";
        } catch (error) {
          puts.get(item)!.status = "rejected";
          if (!allowed(error, QueueFull, QueueShutDown)) {
            failures.push(`local putNowait rejected ${describeError(error)}`);
          }
        }
        return;
      }
      case "lget":
        track("local get", q.get(), gotItem("L", "local get"), getFailed("local get"));
        return;
      case "lgetNowait":
        try {
          gotItem("L", "local getNowait")(q.getNowait());
        } catch (error) {
          getFailed("local getNowait")(error);
        }
        return;
      case "ltaskDone":
        if (uniqueGot() <= doneRequested) return;
        doneRequested++;
        try {
          q.taskDone();
          doneApplied++;
        } catch (error) {
          failures.push(`local taskDone threw ${describeError(error)}`);
        }
        return;
      case "rput": {
        const item = newItem("R");
        putTracked("remote put", item, rq.put(item), false);
        return;
      }
      case "rputNowait": {
        const item = newItem("R");
        putTracked("remote putNowait", item, rq.putNowait(item), !remoteClosed);
        return;
      }
      case "rget":
        track(
          "remote get",
          waiting(rq.get()),
          gotItem("R", "remote get"),
          getFailed("remote get"),
        );
        return;
      case "rgetTimeout":
        track(
          `remote get timeout ${cmd.ms}`,
          cmd.ms === 0 ? rq.get({ timeout: 0 }) : waiting(rq.get({ timeout: cmd.ms })),
          gotItem("R", "remote get with timeout", cmd.ms === 0),
          getFailed("remote get with timeout"),
        );
        return;
      case "rgetAbort": {
        const controller = new AbortController();
        const reason = new Error("aborted by the test");
        controllers.push({ controller, reason });
        track(
          "remote get with signal",
          waiting(rq.get({ signal: controller.signal })),
          gotItem("R", "remote get with signal"),
          (error) => {
            if (error !== reason) getFailed("remote get with signal")(error);
          },
        );
        return;
      }
      case "abort": {
        const next = controllers.shift();
        next?.controller.abort(next.reason);
        return;
      }
      case "rgetNowait":
        track(
          "remote getNowait",
          rq.getNowait(),
          gotItem("R", "remote getNowait", true),
          getFailed("remote getNowait"),
        );
        return;
      case "rtaskDone": {
        if (uniqueGot() <= doneRequested) return;
        doneRequested++;
        const closedBefore = remoteClosed;
        track("remote taskDone", rq.taskDone(), () => doneApplied++, (error) => {
          if (!(error instanceof LinkClosed)) {
            failures.push(`remote taskDone rejected ${describeError(error)}`);
          } else if (!closedBefore) doneMaybe++;
        });
        return;
      }
      case "riter":
        track(
          "remote iteration",
          waiting((async (onItem: (item: unknown) => void) => {
            for await (const item of rq) {
              onItem(item);
              break;
            }
          })(gotItem("R", "remote iteration"))),
          () => {},
          getFailed("remote iteration"),
        );
        return;
      case "rclose":
        remoteClosed = true;
        await remote.close();
        return;
      case "lclose":
        ownerClosed = true;
        link.close();
        return;
    }
  };

  const trace: string[] = [];
  try {
    for (const { cmd, wait } of steps) {
      if (skipped(cmd, consumers)) continue;
      trace.push(cmd.t);
      await run(cmd);
      checkBound(`after ${cmd.t}`);
      for (let i = 0; i < wait; i++) {
        await turn();
        checkBound(`a turn after ${cmd.t}`);
      }
    }

    // ---- the end: shut down, let everything settle, leave, drain
    if (scenario.shutdownBy === "remote" && !remoteClosed && !ownerClosed) {
      await rq.shutdown(scenario.immediate);
    } else {
      q.shutdown(scenario.immediate);
    }
    await turns(3);
    checkBound("after shutdown");
    remoteClosed = true;
    await remote.close();
    for (let i = 0; i < 200 && ops.some((op) => !op.settled); i++) {
      await turn();
      checkBound("while settling");
    }
    await turns(2);
    const hung = ops.filter((op) => !op.settled).map((op) => op.what);
    assertEquals(hung, [], `operations still pending after shutdown and close: ${hung}`);
    // Unanswered aborts: nothing is pending, so aborting now changes nothing.
    for (const { controller, reason } of controllers) controller.abort(reason);
    const drained: string[] = [];
    for (;;) {
      try {
        drained.push(q.getNowait());
      } catch (error) {
        assert(error instanceof QueueShutDown, `drain: ${describeError(error)}`);
        break;
      }
    }
    if (scenario.immediate) assertEquals(drained, [], "shutdown(true) left items in the queue");

    // ---- checks
    assertEquals(failures, []);
    // Known limit (README "Workers"): an item put on credit that is still on its
    // way when the owner closes the link goes in as a late put, which a
    // shutdown before it arrives rejects; the owner reports it.
    const lateRejected = reported.filter((r) => ownerClosed && r.startsWith("QueueShutDown"));
    assertEquals(
      reported.filter((r) => !lateRejected.includes(r)),
      [],
      "errors reported to onError",
    );
    const state = inspectState(q);
    assertEquals(state, { reserved: 0, getters: 0, putters: 0 }, "owner queue state at the end");

    const taken = [
      ...got.sort((a, b) => a.call - b.call),
      ...drained.map((item) => ({ item, side: "L" as Side, call: Infinity })),
    ];
    const seen = new Map<string, Side[]>();
    for (const { item, side } of taken) {
      const record = puts.get(item);
      if (record === undefined) throw new Error(`got ${item}, which was never put`);
      assert(
        record.status === "ok" || record.status === "maybe",
        `got ${item}, whose put ${record.status}`,
      );
      seen.set(item, [...(seen.get(item) ?? []), side]);
    }
    // At-least-once on a one-sided close: an item the remote side took whose
    // acknowledgement was on its way when the owner closed the link comes again.
    const duplicated = [...seen].filter(([, sides]) =>
      sides.length > 2 || (sides.length === 2 && !(ownerClosed && sides[0] === "R"))
    ).map(([item, sides]) => `${item} by ${sides}`);
    assertEquals(duplicated, [], "items got more than once");
    const pending = [...puts].filter(([, r]) => r.status === "pending").map(([item]) => item);
    assertEquals(pending, [], "puts still pending");
    if (!scenario.immediate) {
      const lost = [...puts].filter(([item, r]) => r.status === "ok" && !seen.has(item)).map((
        [item],
      ) => item);
      const lostLate = lost.filter((item) => item.startsWith("R")).slice(0, lateRejected.length);
      assertEquals(
        lost.filter((item) => !lostLate.includes(item)),
        [],
        "items put and never got (Q-9: a soft shutdown keeps them)",
      );
    }
    const unique = [...new Set(taken.map(({ item }) => item))];

    // every item counted at its put is taken (or discarded and uncounted).
    // After the owner closed the link, an item the remote side took whose
    // acknowledgement was on its way came back to the queue: that copy needs
    // one more taskDone (the first copy's does not count), or shutdown(true)
    // discarded it and lowered the count.
    const unfinished = q.unfinishedTasks;
    const expected = unique.length - doneApplied;
    const again = taken.length - unique.length;
    const remoteTaken = new Set(got.filter((g) => g.side === "R").map((g) => g.item)).size;
    const discardedAgain = ownerClosed && scenario.immediate ? remoteTaken : 0;
    assert(
      unfinished <= expected + again && unfinished >= expected - doneMaybe - discardedAgain,
      `unfinishedTasks ${unfinished}, expected ${expected} (taken ${unique.length}, done ${doneApplied}, maybe done ${doneMaybe})`,
    );

    // one consumer side of a FIFO queue takes each producer's items in order.
    if (kind === "Queue" && consumers !== "both") {
      const last = { L: -1, R: -1 };
      for (const item of unique.filter((item) => !overtaking.has(item))) {
        const { side, seq } = puts.get(item)!;
        assert(seq > last[side], `${item} came out after ${side}${last[side]}: order ${unique}`);
        last[side] = seq;
      }
    }
  } catch (error) {
    (error as Error).message += `\n  trace: ${trace.join(" ")}`;
    throw error;
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

for (const kind of ["Queue", "LifoQueue"] as const) {
  Deno.test(`Q-2/Q-3/Q-5/Q-6/Q-7/Q-9/W-2/W-6: a served ${kind} used from both sides matches the model`, async () => {
    await checkModel(
      `served ${kind}`,
      scenarioArb,
      (scenario) => runScenario(kind, scenario),
      NUM_RUNS,
    );
  });
}

Deno.test("Q-2/W-8: the served Queue model with seed 2100118790, which failed before the rebuild (issue 8, defect 3)", async () => {
  // The whole run of that seed, as it was reported: queue [L0, L1], two pending remote gets
  // (prefetch 0) and remote.close() in one turn drained as [L1, L0].
  await fc.assert(
    fc.asyncProperty(scenarioArb, (scenario) => runScenario("Queue", scenario)),
    { seed: 2100118790, numRuns: NUM_RUNS },
  );
});
