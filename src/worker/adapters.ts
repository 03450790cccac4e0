/**
 * What each kind of primitive means across a link, in one table: its
 * constants, the operations a remote side may call, what a closing link
 * releases (W-9), and what its proxy looks like. Adding a primitive is one
 * entry here plus one proxy interface in `remote.ts`.
 *
 * Queues are the one kind that also streams (credits and prefetch): see
 * `queue_stream/`.
 *
 * @module
 */

import { type Held, held, holdTimeout } from "../_held.ts";
import { checkWaitOptions, type WaitOptions } from "../_waiters.ts";
import { lockTakes } from "../_lock_access.ts";
import { acquireCounted } from "../_semaphore_access.ts";
import { Barrier } from "../barrier.ts";
import { Condition } from "../condition.ts";
import { Event } from "../event.ts";
import { Lock } from "../lock.ts";
import { PeriodicTimer } from "../periodic_timer.ts";
import { Queue } from "../queue.ts";
import { LifoQueue } from "../lifo_queue.ts";
import { PriorityQueue } from "../priority_queue.ts";
import { BoundedSemaphore, Semaphore } from "../semaphore.ts";
import { Connection } from "./pipe.ts";
import { queueReady } from "./wait.ts";
import type { Entry, Kind } from "./wire.ts";

/** One served name's state that an operation may read or change. */
export interface ServedState {
  /** Locks or permits this link acquired and has not released (W-9). */
  holds: number;
  /** For a lock: its take count when this link last took it (see `_lock_access.ts`). */
  taken?: number;
}

type Options = WaitOptions | undefined;
// deno-lint-ignore no-explicit-any
type Op = (primitive: any, args: unknown[], options: Options, state: ServedState) => unknown;

/** How the proxy side calls the owner: `call` waits for the answer, `fire` does not. */
export interface Caller {
  call(op: string, args?: unknown[], options?: WaitOptions): Promise<unknown>;
  fire(op: string, args?: unknown[]): void;
}

/** One kind of primitive across a link. */
export interface Adapter {
  readonly kind: Kind;
  /** Whether `primitive` is of this kind (the table is read in order: subclasses first). */
  matches(primitive: unknown): boolean;
  /** The constants a proxy needs. */
  constants(primitive: never): Entry["constants"];
  /** The operations a remote side may call, by name (own properties only). */
  readonly ops: Readonly<Record<string, Op>>;
  /** Gives back what a closing link holds; returns what it released, for the report. */
  release?(primitive: never, state: ServedState): string | undefined;
  /** The proxy's face, for the kinds without streaming. */
  face?(caller: Caller, entry: Entry): Record<string, unknown>;
}

function n(value: unknown): number {
  return value === undefined ? 1 : value as number;
}

/** Operations of a Lock, for a Lock and a Condition's lock. */
function lockOps(): Record<string, Op> {
  return {
    acquire: (l: Lock | Condition, _a, options, state) =>
      l.acquire(options).then((acquired) => {
        if (acquired) took(l, state);
        return acquired;
      }),
    release: (l: Lock | Condition, _a, _o, state) => {
      l.release(); // throws when not locked, as locally
      // Any task may release a Lock (it has no owner): this link's count goes down only if it has some.
      if (state.holds > 0) state.holds--;
    },
    locked: (l: Lock | Condition) => l.locked(),
  };
}

function lockFace(caller: Caller, what: string): Record<string, unknown> {
  return {
    acquire: (options?: WaitOptions) => caller.call("acquire", [], options),
    hold: async (options?: WaitOptions): Promise<Held> => {
      if (!(await caller.call("acquire", [], options))) throw holdTimeout(what, options?.timeout);
      return held(() => caller.fire("release"));
    },
    release: () => caller.call("release"),
    locked: () => caller.call("locked"),
  };
}

/** A read of changing state: a getter that asks the owner. */
function state(face: Record<string, unknown>, caller: Caller, ...names: string[]): void {
  for (const name of names) {
    Object.defineProperty(face, name, { get: () => caller.call(name), enumerable: true });
  }
}

function withoutLock(op: string): Error {
  return new Error(`${op}() called without holding the Condition's lock (through this link)`);
}

const queueAdapter = (kind: Kind, Class: typeof Queue): Adapter => ({
  kind,
  matches: (p) => p instanceof Class,
  constants: (q: Queue<unknown>) => ({ maxsize: q.maxsize }),
  // Streaming operations (put, get, ...) are the queue stream's: these are the plain calls.
  ops: {
    qsize: (q: Queue<unknown>) => q.qsize(),
    empty: (q: Queue<unknown>) => q.empty(),
    full: (q: Queue<unknown>) => q.full(),
    join: (q: Queue<unknown>, _a, options) => q.join(options),
    shutdown: (q: Queue<unknown>, [immediate]) => q.shutdown(immediate === true),
    isShutdown: (q: Queue<unknown>) => q.isShutdown,
    unfinishedTasks: (q: Queue<unknown>) => q.unfinishedTasks,
    taskDone: (q: Queue<unknown>) => q.taskDone(),
    // For wait() on a proxy (M-1): true once a get would not wait, false when the timeout ran out.
    ready: (q: Queue<unknown>, _a, options) => queueReady(q, options),
  },
});

/** Every kind, subclasses before their base classes. */
export const ADAPTERS: readonly Adapter[] = [
  queueAdapter("PriorityQueue", PriorityQueue as typeof Queue),
  queueAdapter("LifoQueue", LifoQueue as typeof Queue),
  queueAdapter("Queue", Queue),
  {
    kind: "Condition",
    matches: (p) => p instanceof Condition,
    constants: () => ({}),
    ops: {
      ...lockOps(),
      wait: (c: Condition, _a, options, state) => {
        if (state.holds === 0) throw withoutLock("wait");
        // The wait lets go of the lock and holds it again before it settles, whatever the outcome (C-2).
        state.holds--;
        return c.wait(options).finally(() => took(c, state));
      },
      notify: (c: Condition, [count], _o, state) => {
        if (state.holds === 0) throw withoutLock("notify");
        c.notify(n(count));
      },
      notifyAll: (c: Condition, _a, _o, state) => {
        if (state.holds === 0) throw withoutLock("notifyAll");
        c.notifyAll();
      },
      // Whether this link holds the lock: misuse is told before a bad argument (C-1, Conventions).
      holding: (c: Condition, _a, _o, state) => state.holds > 0 && c.locked(),
    },
    release: (c: Condition, state) => releaseLock(c, state, "the lock of Condition"),
    face: (caller) => {
      const face: Record<string, unknown> = {
        ...lockFace(caller, "lock"),
        wait: (options?: WaitOptions) => {
          const error = checkWaitOptions(options);
          if (error === undefined) return caller.call("wait", [], options);
          // Only the owner knows whether this link holds the lock, and misuse goes first.
          return caller.call("holding").then((holding) => {
            throw holding ? error : withoutLock("wait");
          });
        },
        notify: (count = 1) => caller.call("notify", [count]),
        notifyAll: () => caller.call("notifyAll"),
      };
      face.waitFor = (predicate: () => unknown, options?: WaitOptions) =>
        remoteWaitFor(caller, face, predicate, options);
      return face;
    },
  },
  {
    kind: "Lock",
    matches: (p) => p instanceof Lock,
    constants: () => ({}),
    ops: lockOps(),
    release: (l: Lock, state) => releaseLock(l, state, "Lock"),
    face: (caller) => lockFace(caller, "lock"),
  },
  {
    kind: "Event",
    matches: (p) => p instanceof Event,
    constants: () => ({}),
    ops: {
      set: (e: Event) => e.set(),
      clear: (e: Event) => e.clear(),
      isSet: (e: Event) => e.isSet(),
      wait: (e: Event, _a, options) => e.wait(options),
    },
    face: (caller) => ({
      set: () => caller.call("set"),
      clear: () => caller.call("clear"),
      isSet: () => caller.call("isSet"),
      wait: (options?: WaitOptions) => caller.call("wait", [], options),
    }),
  },
  semaphoreAdapter("BoundedSemaphore", BoundedSemaphore),
  semaphoreAdapter("Semaphore", Semaphore),
  {
    kind: "Barrier",
    matches: (p) => p instanceof Barrier,
    constants: (b: Barrier) => ({ parties: b.parties }),
    ops: {
      wait: (b: Barrier, _a, options) => b.wait(options),
      reset: (b: Barrier) => b.reset(),
      abort: (b: Barrier) => b.abort(),
      nWaiting: (b: Barrier) => b.nWaiting,
      broken: (b: Barrier) => b.broken,
    },
    face: (caller, entry) => {
      const face: Record<string, unknown> = {
        parties: entry.constants.parties,
        wait: (options?: WaitOptions) => caller.call("wait", [], options),
        reset: () => caller.call("reset"),
        abort: () => caller.call("abort"),
      };
      state(face, caller, "nWaiting", "broken");
      return face;
    },
  },
  {
    kind: "PeriodicTimer",
    matches: (p) => p instanceof PeriodicTimer,
    constants: (t: PeriodicTimer) => ({ intervalMs: t.intervalMs }),
    ops: {
      waitForTick: (t: PeriodicTimer, _a, options) => t.waitForTick(options),
      // One round trip per tick for iterators: the tick count, or null once stopped.
      nextTick: (t: PeriodicTimer, _a, options) =>
        t.waitForTick(options).then((ticked) => ticked ? t.ticks : null),
      start: (t: PeriodicTimer) => t.start(),
      stop: (t: PeriodicTimer) => t.stop(),
      ticks: (t: PeriodicTimer) => t.ticks,
      running: (t: PeriodicTimer) => t.running,
    },
    face: (caller, entry) => {
      const face: Record<string, unknown> = {
        intervalMs: entry.constants.intervalMs,
        waitForTick: (options?: WaitOptions) => caller.call("waitForTick", [], options),
        start: () => caller.call("start"),
        stop: () => caller.call("stop"),
        [Symbol.asyncIterator]: (): AsyncIterator<number> => ({
          next: async () => {
            const tick = await caller.call("nextTick") as number | null;
            return tick === null ? { value: undefined, done: true } : { value: tick, done: false };
          },
          return: () => Promise.resolve({ value: undefined, done: true }),
        }),
      };
      state(face, caller, "ticks", "running");
      return face;
    },
  },
  {
    kind: "Connection",
    matches: (p) => p instanceof Connection,
    constants: (c: Connection) => ({ readable: c.readable, writable: c.writable }),
    ops: {},
  },
];

function semaphoreAdapter(kind: Kind, Class: typeof Semaphore): Adapter {
  return {
    kind,
    matches: (p) => p instanceof Class,
    constants: (s: Semaphore) =>
      s instanceof BoundedSemaphore ? { initialValue: s.initialValue } : {},
    ops: {
      // Counted in the step that hands the permit over, not when the answer is in: a release
      // of this link that serves this link's own waiting acquire must find it counted.
      acquire: (s: Semaphore, _a, options, state) =>
        acquireCounted(s, options, () => state.holds++),
      release: (s: Semaphore, [count], _o, state) => {
        const released = n(count);
        s.release(released); // throws as locally (RangeError)
        // What this link holds goes back first. A plain Semaphore may be released more often than
        // it was acquired (as in Python): the rest are gifts that raise its value for good, and
        // never pay for a later acquire, so the close gives back exactly what is still held (W-9).
        const givenBack = Math.min(state.holds, released);
        state.holds -= givenBack;
      },
      value: (s: Semaphore) => s.value,
      waiting: (s: Semaphore) => s.waiting,
    },
    release: (s: Semaphore, state) => {
      let permits = state.holds;
      state.holds = 0;
      // Permits have no owner: another holder may have given this link's back already, and a
      // BoundedSemaphore takes back only what is out (W-9: what is still held, never more).
      if (s instanceof BoundedSemaphore) permits = Math.min(permits, s.initialValue - s.value);
      // A plain Semaphore raised meanwhile to Number.MAX_SAFE_INTEGER takes no more (S-1): the
      // close gives back what fits, never throws, and says what it could not give back.
      const room = Number.MAX_SAFE_INTEGER - s.value + s.waiting;
      const dropped = permits > room ? permits - room : 0;
      permits -= dropped;
      if (permits > 0) s.release(permits);
      if (dropped > 0) {
        return `${permits} permit(s) of ${kind} (${dropped} more not given back: its value is at Number.MAX_SAFE_INTEGER)`;
      }
      if (permits === 0) return undefined;
      return `${permits} permit(s) of ${kind}`;
    },
    face: (caller, entry) => {
      const face: Record<string, unknown> = {
        acquire: (options?: WaitOptions) => caller.call("acquire", [], options),
        hold: async (options?: WaitOptions): Promise<Held> => {
          if (!(await caller.call("acquire", [], options))) {
            throw holdTimeout("semaphore permit", options?.timeout);
          }
          return held(() => caller.fire("release", [1]));
        },
        release: (count = 1) => caller.call("release", [count]),
      };
      if (entry.constants.initialValue !== undefined) {
        face.initialValue = entry.constants.initialValue;
      }
      state(face, caller, "value", "waiting");
      return face;
    },
  };
}

/** This link has taken the lock (W-9): which take it was tells its hold from a later holder's. */
function took(lock: Lock | Condition, state: ServedState): void {
  state.holds++;
  state.taken = lockTakes(lock instanceof Condition ? lock.lock : lock);
}

function releaseLock(lock: Lock | Condition, state: ServedState, what: string): string | undefined {
  const holds = state.holds;
  state.holds = 0;
  if (holds === 0 || !lock.locked()) return undefined;
  // Taken by someone else since: a Lock has no owner, and another party ended this link's hold.
  if (lockTakes(lock instanceof Condition ? lock.lock : lock) !== state.taken) return undefined;
  lock.release(); // to the next waiter, first come first served (L-1)
  return what;
}

/** The adapter of `primitive`; throws `TypeError` for what cannot be served. */
export function adapterOf(primitive: unknown): Adapter {
  for (const adapter of ADAPTERS) if (adapter.matches(primitive)) return adapter;
  throw new TypeError(
    "serve() takes baton primitives (Queue, Lock, Condition, Event, Semaphore, Barrier, PeriodicTimer) and pipe connections",
  );
}

/** The adapter of a kind named in a manifest, or `undefined`. */
export function adapterOfKind(kind: unknown): Adapter | undefined {
  return ADAPTERS.find((adapter) => adapter.kind === kind);
}

/**
 * `waitFor` on a remote Condition: the predicate runs here (awaited when it
 * returns a promise, as locally, C-3), waits happen there.
 */
async function remoteWaitFor(
  caller: Caller,
  face: Record<string, unknown>,
  predicate: () => unknown,
  options?: WaitOptions,
): Promise<unknown> {
  // Held through this link, not merely locked by someone (W-9, C-1).
  if (!(await caller.call("holding"))) throw withoutLock("waitFor");
  if (typeof predicate !== "function") throw new TypeError("waitFor() takes a predicate function");
  const error = checkWaitOptions(options);
  if (error !== undefined) throw error;
  const wait = face.wait as (options?: WaitOptions) => Promise<boolean>;
  const timeout = options?.timeout ?? Infinity;
  const deadline = performance.now() + timeout;
  let result = await predicate();
  while (!result) {
    const remaining = timeout === Infinity ? Infinity : deadline - performance.now();
    if (remaining <= 0) break; // out of time (at once for timeout 0): do not let go of the lock
    const waitOptions: WaitOptions = { timeout: remaining };
    if (options?.signal !== undefined) waitOptions.signal = options.signal;
    await wait(waitOptions);
    result = await predicate();
  }
  return result;
}
