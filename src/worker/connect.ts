/**
 * The other side of the cross-worker adapters: `connect` builds proxies for
 * the primitives a `serve` call exposes on an endpoint.
 *
 * @module
 */

import { Deque } from "../_deque.ts";
import { type Held, held, holdTimeout } from "../_held.ts";
import { checkWaitOptions, WaitList, type WaitOptions } from "../_waiters.ts";
import type { Barrier } from "../barrier.ts";
import type { Condition } from "../condition.ts";
import { LinkClosed, QueueEmpty, QueueFull, QueueShutDown } from "../errors.ts";
import type { Event } from "../event.ts";
import type { Lock } from "../lock.ts";
import type { PeriodicTimer } from "../periodic_timer.ts";
import type { Queue } from "../queue.ts";
import type { Semaphore } from "../semaphore.ts";
import { Connection } from "./pipe.ts";
import {
  afterTurn,
  type ClientFrame,
  CREDIT_WINDOW,
  dataCloneError,
  deserializeError,
  type Endpoint,
  type Entry,
  findUncloneable,
  type Kind,
  listen,
  Outbox,
  receive,
  type ServerFrame,
  type WireError,
} from "./protocol.ts";

export type { Held } from "../_held.ts";

/** A batch drained sooner than this after it arrived means the consumer is fast. */
const FAST_DRAIN_MS = 1;
/** A batch drained later than this means the consumer is slow. */
const SLOW_DRAIN_MS = 20;

/**
 * Items a remote consumer of a FIFO `Queue` prefetches at most, by default.
 * The window starts at one item and grows only while the consumer drains
 * batches fast.
 *
 * @example
 * ```ts
 * import { DEFAULT_PREFETCH } from "@baton/baton/worker";
 *
 * console.log(DEFAULT_PREFETCH); // 1024
 * ```
 */
export const DEFAULT_PREFETCH = 1024;

/**
 * What a local {@linkcode Queue} and a {@linkcode RemoteQueue} have in
 * common, so one consumer (or producer) function can take either.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import type { QueueLike } from "@baton/baton/worker";
 *
 * async function drain(queue: QueueLike<number>): Promise<number> {
 *   let sum = 0;
 *   for await (const item of queue) {
 *     sum += item;
 *     await queue.taskDone();
 *   }
 *   return sum;
 * }
 * const local = new Queue<number>();
 * local.putNowait(1);
 * local.putNowait(2);
 * local.shutdown();
 * console.log(await drain(local)); // 3
 * ```
 */
export interface QueueLike<T> extends AsyncIterable<T> {
  /** Most items held at once; `<= 0` or `Infinity`: unbounded. */
  readonly maxsize: number;
  /** Puts an item, waiting while the queue is full. */
  put(item: T, options?: WaitOptions): Promise<void>;
  /** Takes the next item, waiting while the queue is empty. */
  get(options?: WaitOptions): Promise<T>;
  /** Marks one item taken as done. */
  taskDone(): void | Promise<void>;
  /** Waits until every item put is marked done. */
  join(options?: WaitOptions): Promise<boolean>;
  /** Shuts the queue down. */
  shutdown(immediate?: boolean): void | Promise<void>;
}

/**
 * A proxy for a queue served from another thread. Same method names as
 * {@linkcode Queue}; what cannot be synchronous across threads returns a
 * promise (the nowait variants, the sizes, `taskDone`, `shutdown`, and the
 * `isShutdown`/`unfinishedTasks` reads). `put` writes ahead on credits and
 * `get` takes from a prefetched batch, so items stream in batches while
 * `maxsize` backpressure stays exact.
 *
 * @typeParam T The type of the items.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { connect, type RemoteQueue, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { jobs: new Queue<string>(10) });
 * const remote = await connect<{ jobs: Queue<string> }>(port2);
 * const jobs: RemoteQueue<string> = remote.jobs;
 * await jobs.put("a");
 * console.log(await jobs.get(), await jobs.qsize()); // "a" 0
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteQueue<T> extends QueueLike<T> {
  /** The served queue's kind. */
  readonly kind: "Queue" | "LifoQueue" | "PriorityQueue";
  /** Puts an item without waiting; rejects `QueueFull` when full. */
  putNowait(item: T): Promise<void>;
  /** Takes the next item without waiting; rejects `QueueEmpty` when empty. */
  getNowait(): Promise<T>;
  /** The number of items queued in the owner's thread. */
  qsize(): Promise<number>;
  /** Whether the queue is empty in the owner's thread. */
  empty(): Promise<boolean>;
  /** Whether the queue is full. */
  full(): Promise<boolean>;
  /** Marks one item taken as done. */
  taskDone(): Promise<void>;
  /** Shuts the queue down for everyone. */
  shutdown(immediate?: boolean): Promise<void>;
  /** Whether the queue was shut down. */
  readonly isShutdown: Promise<boolean>;
  /** Items put and not yet marked done. */
  readonly unfinishedTasks: Promise<number>;
}

/**
 * A proxy for a {@linkcode Lock} served from another thread.
 *
 * @example
 * ```ts
 * import { Lock } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { lock: new Lock() });
 * const remote = await connect<{ lock: Lock }>(port2);
 * console.log(await remote.lock.acquire()); // true
 * await remote.lock.release();
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteLock {
  /** Acquires the lock; `false` when the timeout ran out. */
  acquire(options?: WaitOptions): Promise<boolean>;
  /** Acquires the lock and returns a handle that releases it when disposed. */
  hold(options?: WaitOptions): Promise<Held>;
  /** Releases the lock. */
  release(): Promise<void>;
  /** Whether the lock is held. */
  locked(): Promise<boolean>;
}

/**
 * A proxy for a {@linkcode Condition} served from another thread. The
 * predicate of `waitFor` runs in this thread.
 *
 * @example
 * ```ts
 * import { Condition } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { ready: new Condition() });
 * const remote = await connect<{ ready: Condition }>(port2);
 * await remote.ready.acquire();
 * console.log(await remote.ready.wait({ timeout: 5 })); // false: nobody notified
 * await remote.ready.release();
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteCondition extends RemoteLock {
  /** Releases the lock, waits for a notify, re-acquires the lock. */
  wait(options?: WaitOptions): Promise<boolean>;
  /** Waits until `predicate` returns a truthy value; returns its last value. */
  waitFor<R>(predicate: () => R | Promise<R>, options?: WaitOptions): Promise<R>;
  /** Wakes the `n` oldest waiters. */
  notify(n?: number): Promise<void>;
  /** Wakes every waiter. */
  notifyAll(): Promise<void>;
}

/**
 * A proxy for an {@linkcode Event} served from another thread.
 *
 * @example
 * ```ts
 * import { Event } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const done = new Event();
 * const link = serve(port1, { done });
 * const remote = await connect<{ done: Event }>(port2);
 * await remote.done.set();
 * console.log(done.isSet()); // true
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteEvent {
  /** Sets the flag, waking every waiter. */
  set(): Promise<void>;
  /** Clears the flag. */
  clear(): Promise<void>;
  /** Whether the flag is set. */
  isSet(): Promise<boolean>;
  /** Waits until the flag is set; `false` when the timeout ran out. */
  wait(options?: WaitOptions): Promise<boolean>;
}

/**
 * A proxy for a {@linkcode Semaphore} or `BoundedSemaphore` served from
 * another thread.
 *
 * @example
 * ```ts
 * import { Semaphore } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { slots: new Semaphore(2) });
 * const remote = await connect<{ slots: Semaphore }>(port2);
 * {
 *   using _permit = await remote.slots.hold();
 *   console.log(await remote.slots.value); // 1
 * }
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteSemaphore {
  /** Takes a permit; `false` when the timeout ran out. */
  acquire(options?: WaitOptions): Promise<boolean>;
  /** Takes a permit and returns a handle that gives it back when disposed. */
  hold(options?: WaitOptions): Promise<Held>;
  /** Returns `n` permits. */
  release(n?: number): Promise<void>;
  /** The number of free permits. */
  readonly value: Promise<number>;
  /** How many `acquire` calls wait now. */
  readonly waiting: Promise<number>;
}

/**
 * A proxy for a {@linkcode Barrier} served from another thread. Its
 * `action` runs in the owner's thread.
 *
 * @example
 * ```ts
 * import { Barrier } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const barrier = new Barrier(2);
 * const link = serve(port1, { barrier });
 * const remote = await connect<{ barrier: Barrier }>(port2);
 * const [mine, theirs] = await Promise.all([barrier.wait(), remote.barrier.wait()]);
 * console.log(mine + theirs); // 1: indices 0 and 1
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemoteBarrier {
  /** How many parties must arrive. */
  readonly parties: number;
  /** Arrives and waits for the other parties; returns this party's index. */
  wait(options?: WaitOptions): Promise<number>;
  /** Returns the barrier to its initial state. */
  reset(): Promise<void>;
  /** Breaks the barrier. */
  abort(): Promise<void>;
  /** How many parties wait now. */
  readonly nWaiting: Promise<number>;
  /** Whether the barrier is broken. */
  readonly broken: Promise<boolean>;
}

/**
 * A proxy for a {@linkcode PeriodicTimer} served from another thread: the
 * timer ticks in the owner's thread; every waiter of a tick, in any thread,
 * is released by it.
 *
 * @example
 * ```ts
 * import { PeriodicTimer } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const timer = new PeriodicTimer(5);
 * const link = serve(port1, { timer });
 * const remote = await connect<{ timer: PeriodicTimer }>(port2);
 * await remote.timer.start();
 * for await (const tick of remote.timer) if (tick >= 2) break;
 * await remote.timer.stop();
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface RemotePeriodicTimer extends AsyncIterable<number> {
  /** The interval in milliseconds. */
  readonly intervalMs: number;
  /** Waits for the next tick; `false` when stopped or the timeout ran out. */
  waitForTick(options?: WaitOptions): Promise<boolean>;
  /** Starts ticking. */
  start(): Promise<void>;
  /** Stops ticking. */
  stop(): Promise<void>;
  /** The number of ticks fired so far. */
  readonly ticks: Promise<number>;
  /** Whether the timer is ticking. */
  readonly running: Promise<boolean>;
}

/**
 * The proxy type `connect` gives for a served primitive type.
 *
 * @typeParam P The primitive's type in the owner's thread.
 *
 * @example
 * ```ts
 * import type { Event, Queue } from "@baton/baton";
 * import type { RemoteEvent, RemoteOf, RemoteQueue } from "@baton/baton/worker";
 *
 * const check: RemoteOf<Queue<number>> extends RemoteQueue<number> ? true : false = true;
 * const check2: RemoteOf<Event> extends RemoteEvent ? true : false = true;
 * console.log(check && check2); // true
 * ```
 */
export type RemoteOf<P> = P extends Queue<infer T> ? RemoteQueue<T>
  : P extends Condition ? RemoteCondition
  : P extends Lock ? RemoteLock
  : P extends Event ? RemoteEvent
  : P extends Semaphore ? RemoteSemaphore
  : P extends Barrier ? RemoteBarrier
  : P extends PeriodicTimer ? RemotePeriodicTimer
  : P extends Connection<infer S, infer R> ? Connection<S, R>
  : never;

/**
 * What `connect` resolves to: a proxy for every served name, plus `close()`
 * (also `await using`).
 *
 * @typeParam T The served primitives by name, as typed in the owner's thread.
 *
 * @example
 * ```ts
 * import type { Event, Queue } from "@baton/baton";
 * import type { Remote } from "@baton/baton/worker";
 *
 * type Shared = { jobs: Queue<string>; done: Event };
 * async function work(remote: Remote<Shared>): Promise<void> {
 *   for await (const job of remote.jobs) console.log(job);
 *   await remote.done.set();
 *   await remote.close();
 * }
 * console.log(typeof work); // "function"
 * ```
 */
export type Remote<T> =
  & { readonly [K in keyof T]: RemoteOf<T[K]> }
  & {
    /**
     * Closes the connection: prefetched items go back to their queues,
     * unused put credits are returned, pending operations reject
     * `LinkClosed`, and every listener is removed.
     */
    close(): Promise<void>;
    /** Same as `close()`. */
    [Symbol.asyncDispose](): Promise<void>;
  };

/**
 * Options of {@linkcode connect}.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@baton/baton/worker";
 *
 * const options: ConnectOptions = { timeout: 5_000, prefetch: 256 };
 * console.log(options.prefetch); // 256
 * ```
 */
export interface ConnectOptions extends WaitOptions {
  /**
   * Items a remote FIFO `Queue` consumer fetches ahead (default
   * {@linkcode DEFAULT_PREFETCH}); 0 turns prefetch off, so every `get` is
   * served in the owner's thread in arrival order with the other getters.
   * `LifoQueue` and `PriorityQueue` proxies never prefetch (it would change
   * their order).
   */
  prefetch?: number;
  /** Told about problems no caller can be told of. Defaults to `console.error`. */
  onError?: (error: unknown) => void;
}

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  name: string;
  /** A fire-and-forget call (`taskDone`, a held release): its caller got `undefined` at once. */
  quiet?: true;
}

/** One endpoint's connecting side. */
class Session {
  readonly endpoint: Endpoint;
  readonly outbox: Outbox;
  readonly calls = new Map<number, PendingCall>();
  readonly proxies = new Map<string, Proxy>();
  readonly prefetch: number;
  #nextId = 1;
  #closed = false;
  #unlisten: () => void;
  #manifest: Promise<void>;
  #gotManifest!: () => void;
  #onError: (error: unknown) => void;
  remote: Record<string, unknown> = {};

  constructor(endpoint: Endpoint, options: ConnectOptions) {
    this.endpoint = endpoint;
    this.prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    this.#onError = options.onError ?? ((error: unknown) => console.error("baton connect:", error));
    this.outbox = new Outbox(endpoint, "c", (error) => this.report(error));
    this.#manifest = new Promise<void>((resolve) => this.#gotManifest = resolve);
    this.#unlisten = listen(endpoint, (event) => this.#receive(event));
    this.outbox.push({ t: "hello" });
  }

  get closed(): boolean {
    return this.#closed;
  }

  report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // an onError hook that throws must not break the adapter
    }
  }

  /** Resolves once the first manifest arrived; honours `timeout` and `signal`. */
  ready(options: WaitOptions): Promise<void> {
    const list = new WaitList<void>({
      onTimeout: () => {
        throw new DOMException(
          `no baton serve() answered within ${options.timeout} ms`,
          "TimeoutError",
        );
      },
    });
    const waiting = list.wait(options, undefined);
    this.#manifest.then(() => list.resolveAll());
    return waiting;
  }

  #receive(event: MessageEvent): void {
    receive<ServerFrame>(
      event.data,
      "s",
      (frame) => this.#handle(frame),
      (error) => this.report(error),
    );
  }

  #handle(frame: ServerFrame): void {
    if (this.#closed) return;
    switch (frame.t) {
      case "manifest":
        // An announcement (no r) asks for a hello: only the reply carries pipe ends.
        if (frame.r === 1) this.#build(frame.e);
        else this.outbox.push({ t: "hello" });
        return;
      case "ok":
      case "err":
        this.#settle(frame);
        return;
      case "closed":
        for (const name of frame.names) this.#closeName(name);
        // Nothing more goes out for these names: the owner can stop listening.
        this.outbox.push({ t: "gone", names: frame.names });
        return;
    }
    const proxy = this.proxies.get(frame.n);
    if (!(proxy instanceof QueueProxy)) return; // a name closed or never known here
    switch (frame.t) {
      case "credit":
        proxy.credit(frame.k);
        return;
      case "items":
        proxy.items(frame.v);
        return;
      case "item-error":
        proxy.itemError(deserializeError(frame.e));
        return;
      case "end":
        proxy.end();
        return;
      case "unpulled":
        proxy.unpulled();
        return;
      case "shutdown":
        proxy.shutdownNotice(frame.i);
        return;
    }
  }

  #build(entries: Record<string, Entry>): void {
    for (const [name, entry] of Object.entries(entries)) {
      if (this.proxies.has(name) || name === "close" || name === "then") continue;
      const proxy = makeProxy(this, name, entry);
      if (proxy === undefined) continue;
      this.proxies.set(name, proxy);
      Object.defineProperty(this.remote, name, { value: proxy.face, enumerable: true });
    }
    this.#gotManifest();
  }

  #settle(frame: Extract<ServerFrame, { t: "ok" | "err" }>): void {
    const call = this.calls.get(frame.id);
    if (call === undefined) return;
    this.calls.delete(frame.id);
    if (call.onAbort !== undefined) call.signal!.removeEventListener("abort", call.onAbort);
    if (frame.t === "ok") call.resolve(frame.v);
    else if (frame.cancelled === 1 && call.signal?.aborted) call.reject(call.signal.reason);
    else call.reject(deserializeError(frame.e as WireError));
  }

  /**
   * Calls `op` on the served `name`. The owner applies the timeout; an abort
   * here asks the owner to cancel, and the call then resolves with the
   * owner's answer if it had one already (nothing lost), else rejects with
   * the signal's reason.
   */
  call(
    name: string,
    op: string,
    args: unknown[],
    options?: WaitOptions,
    quiet = false,
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    const id = this.#nextId++;
    const frame: Extract<ClientFrame, { t: "call" }> = { t: "call", id, n: name, op, a: args };
    if (options?.timeout !== undefined && options.timeout !== Infinity) frame.to = options.timeout;
    const signal = options?.signal;
    if (signal !== undefined) frame.c = 1;
    return new Promise((resolve, reject) => {
      const call: PendingCall = { resolve, reject, signal, onAbort: undefined, name };
      if (signal !== undefined) {
        call.onAbort = () => this.outbox.push({ t: "cancel", id });
        signal.addEventListener("abort", call.onAbort, { once: true });
      }
      if (!quiet) this.calls.set(id, call);
      else {
        resolve(undefined);
        this.calls.set(id, {
          resolve: () => {},
          reject: (failure) => this.report(failure),
          signal: undefined,
          onAbort: undefined,
          name,
          quiet: true,
        });
      }
      this.outbox.push(frame, (cloneError) => {
        this.calls.delete(id);
        if (call.onAbort !== undefined) signal!.removeEventListener("abort", call.onAbort);
        reject(cloneError);
      });
    });
  }

  #closeName(name: string): void {
    const proxy = this.proxies.get(name);
    proxy?.closed();
    for (const [id, call] of this.calls) {
      if (call.name !== name) continue;
      this.calls.delete(id);
      if (call.onAbort !== undefined) call.signal!.removeEventListener("abort", call.onAbort);
      call.reject(new LinkClosed());
    }
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    for (const proxy of this.proxies.values()) proxy.leave();
    this.outbox.push({ t: "bye" });
    this.outbox.flush();
    this.#closed = true;
    // Fire-and-forget calls went out before the bye, and the owner applies them
    // before it: their answers are not awaited by anyone, so they are no failure.
    for (const [id, call] of this.calls) if (call.quiet) this.calls.delete(id);
    for (const name of this.proxies.keys()) this.#closeName(name);
    for (const call of this.calls.values()) call.reject(new LinkClosed());
    this.calls.clear();
    this.outbox.close();
    this.#unlisten();
    this.#gotManifest();
    const holder = this.endpoint as unknown as { [SESSION]?: Session };
    if (holder[SESSION] === this) delete holder[SESSION];
    return Promise.resolve();
  }
}

/** Base of the per-name proxies: what the session needs of each. */
abstract class Proxy {
  abstract readonly face: object;
  /** The link of this name closed. */
  closed(): void {}
  /** This side is closing: give back what is held. */
  leave(): void {}
}

class CallProxy extends Proxy {
  readonly face: Record<string, unknown>;
  constructor(face: Record<string, unknown>) {
    super();
    this.face = face;
  }
}

function makeProxy(session: Session, name: string, entry: Entry): Proxy | undefined {
  const call = (op: string, args: unknown[] = [], options?: WaitOptions) =>
    session.call(name, op, args, options);
  const fire = (op: string, args: unknown[] = []) =>
    void session.call(name, op, args, undefined, true);
  const state = (op: string) => ({ get: () => call(op), enumerable: true });
  const holder = (what: string) => async (options?: WaitOptions): Promise<Held> => {
    if (!(await call("acquire", [], options))) throw holdTimeout(what, options?.timeout);
    return held(() => fire("release"));
  };
  switch (entry.k) {
    case "Queue":
    case "LifoQueue":
    case "PriorityQueue":
      return new QueueProxy(session, name, entry);
    case "Lock":
      return new CallProxy({
        acquire: (options?: WaitOptions) => call("acquire", [], options),
        hold: holder("lock"),
        release: () => call("release"),
        locked: () => call("locked"),
      });
    case "Condition": {
      const face: Record<string, unknown> = {
        acquire: (options?: WaitOptions) => call("acquire", [], options),
        hold: holder("lock"),
        release: () => call("release"),
        locked: () => call("locked"),
        wait: (options?: WaitOptions) => call("wait", [], options),
        notify: (n = 1) => call("notify", [n]),
        notifyAll: () => call("notifyAll"),
        waitFor: (predicate: () => unknown, options?: WaitOptions) =>
          remoteWaitFor(face, predicate, options),
      };
      return new CallProxy(face);
    }
    case "Event":
      return new CallProxy({
        set: () => call("set"),
        clear: () => call("clear"),
        isSet: () => call("isSet"),
        wait: (options?: WaitOptions) => call("wait", [], options),
      });
    case "Semaphore":
    case "BoundedSemaphore": {
      const face: Record<string, unknown> = {
        acquire: (options?: WaitOptions) => call("acquire", [], options),
        hold: holder("semaphore permit"),
        release: (n = 1) => call("release", [n]),
      };
      Object.defineProperty(face, "value", state("value"));
      Object.defineProperty(face, "waiting", state("waiting"));
      if (entry.c.initialValue !== undefined) face.initialValue = entry.c.initialValue;
      return new CallProxy(face);
    }
    case "Barrier": {
      const face: Record<string, unknown> = {
        parties: entry.c.parties,
        wait: (options?: WaitOptions) => call("wait", [], options),
        reset: () => call("reset"),
        abort: () => call("abort"),
      };
      Object.defineProperty(face, "nWaiting", state("nWaiting"));
      Object.defineProperty(face, "broken", state("broken"));
      return new CallProxy(face);
    }
    case "PeriodicTimer": {
      const face: Record<string, unknown> = {
        intervalMs: entry.c.intervalMs,
        waitForTick: (options?: WaitOptions) => call("waitForTick", [], options),
        start: () => call("start"),
        stop: () => call("stop"),
        [Symbol.asyncIterator]: (): AsyncIterator<number> => ({
          next: async () => {
            const tick = await call("nextTick") as number | null;
            return tick === null ? { value: undefined, done: true } : { value: tick, done: false };
          },
          return: () => Promise.resolve({ value: undefined, done: true }),
        }),
      };
      Object.defineProperty(face, "ticks", state("ticks"));
      Object.defineProperty(face, "running", state("running"));
      return new CallProxy(face);
    }
    case "Connection": {
      if (entry.p === undefined) return undefined;
      const connection = Connection.fromPort(entry.p, {
        readable: entry.c.readable !== false,
        writable: entry.c.writable !== false,
      });
      // The other side transferred its end: this side now owns it.
      return new (class extends Proxy {
        readonly face = connection;
        override leave(): void {
          // A transferred pipe end outlives the link; its owner closes it.
        }
      })();
    }
  }
  session.report(
    new TypeError(`unknown kind ${String((entry as { k: unknown }).k)} for "${name}"`),
  );
  return undefined;
}

async function remoteWaitFor(
  face: Record<string, unknown>,
  predicate: () => unknown,
  options?: WaitOptions,
): Promise<unknown> {
  if (!(await (face.locked as () => Promise<boolean>)())) {
    throw new Error("waitFor() called without holding the Condition's lock");
  }
  const error = checkWaitOptions(options);
  if (error !== undefined) throw error;
  const wait = face.wait as (options?: WaitOptions) => Promise<boolean>;
  const timeout = options?.timeout ?? Infinity;
  const deadline = performance.now() + timeout;
  let result = await predicate();
  while (!result) {
    const remaining = timeout === Infinity ? Infinity : Math.max(0, deadline - performance.now());
    if (remaining === 0) break; // out of time (at once for timeout 0): do not let go of the lock
    const waitOptions: WaitOptions = { timeout: remaining };
    if (options?.signal !== undefined) waitOptions.signal = options.signal;
    await wait(waitOptions);
    result = await predicate();
  }
  return result;
}

const SESSION = Symbol.for("baton.connect.session");

/** A remote queue: puts on credit, gets from a prefetched buffer. */
class QueueProxy extends Proxy {
  readonly face: RemoteQueue<unknown>;
  readonly #session: Session;
  readonly #name: string;
  readonly #kind: "Queue" | "LifoQueue" | "PriorityQueue";
  readonly #useCredit: boolean;
  readonly #prefetch: number;
  /** Items asked for ahead now: grows while this side drains batches fast, shrinks while it is slow. */
  #window = 1;
  #lastArrival = -Infinity;
  #putSinceCheck = false;
  #idleCheck = false;
  #closed = false;
  #shutdown = false;
  #discarding = false;
  // put side
  #credits = 0;
  #wantSent: false | "ahead" | "blocked" = false;
  #putters: WaitList<void, unknown>;
  // get side
  #buffer = new Deque<unknown>();
  #getters: WaitList<unknown>;
  #outstanding = 0;
  /** Unpulls the owner has not confirmed yet: items sent before it confirms went back to the queue. */
  #dropping = 0;
  /** Direct gets not answered yet: an unpull now would return their items too. */
  #directPending = 0;
  /** An immediate shutdown's unpull waits for the direct gets pending then. */
  #unpullAfterDirect = false;
  #ended = false;
  #pendingError: Error | undefined;
  /** Items handed to this side's code so far: what acknowledgements count. */
  #handedTotal = 0;
  #ackFrame: { t: "ack"; n: string; s: number } | undefined;
  #ackBatch = -1;
  #doneFrame: { t: "done"; n: string; k: number } | undefined;
  #doneBatch = -1;
  /** Items this side took and has not marked done: those taskDone calls need no round trip. */
  #undone = 0;

  constructor(session: Session, name: string, entry: Entry) {
    super();
    this.#session = session;
    this.#name = name;
    this.#kind = entry.k as "Queue" | "LifoQueue" | "PriorityQueue";
    // A compare function may throw on put, and only a call can report that.
    this.#useCredit = this.#kind !== "PriorityQueue";
    this.#prefetch = this.#kind === "Queue" ? session.prefetch : 0;
    this.#putters = new WaitList<void, unknown>({
      onTimeout: () => {
        throw this.#shutdown ? new QueueShutDown() : new QueueFull();
      },
    });
    this.#getters = new WaitList<unknown>({
      onTimeout: () => {
        throw this.#drained() ? new QueueShutDown() : new QueueEmpty();
      },
      onCancel: () => this.#withdraw(),
    });
    const maxsize = entry.c.maxsize as number;
    const face = {
      kind: this.#kind,
      maxsize,
      put: (item: unknown, options?: WaitOptions) => this.put(item, options),
      putNowait: (item: unknown) => this.putNowait(item),
      get: (options?: WaitOptions) => this.get(options),
      getNowait: () => this.getNowait(),
      qsize: () => this.#call("qsize") as Promise<number>,
      empty: () => this.#call("empty") as Promise<boolean>,
      full: () => this.#call("full") as Promise<boolean>,
      taskDone: () => this.taskDone(),
      join: (options?: WaitOptions) => this.#call("join", [], options) as Promise<boolean>,
      shutdown: (immediate = false) => this.#call("shutdown", [immediate]) as Promise<void>,
      [Symbol.asyncIterator]: () => this.#iterator(),
    };
    Object.defineProperty(face, "isShutdown", {
      get: () => this.#call("isShutdown"),
      enumerable: true,
    });
    Object.defineProperty(face, "unfinishedTasks", {
      get: () => this.#call("unfinishedTasks"),
      enumerable: true,
    });
    this.face = face as RemoteQueue<unknown>;
  }

  #call(op: string, args: unknown[] = [], options?: WaitOptions): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    return this.#session.call(this.#name, op, args, options);
  }

  // ---- put ----

  put(item: unknown, options?: WaitOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#shutdown) return Promise.reject(new QueueShutDown());
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    // Checked on every path: inside a call frame, a platform object (a URL)
    // would be cloned as a plain object instead of failing (W-3).
    const uncloneable = findUncloneable(item);
    if (uncloneable !== undefined) return Promise.reject(dataCloneError(uncloneable));
    if (!this.#useCredit) return this.#call("put", [item], options) as Promise<void>;
    if (this.#credits > 0 && this.#putters.size === 0) {
      this.#send(item);
      return Promise.resolve();
    }
    if (options?.timeout === 0) return this.#putNowaitCall(item);
    this.#want(true);
    return this.#putters.wait(options, item);
  }

  putNowait(item: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#shutdown) return Promise.reject(new QueueShutDown());
    const uncloneable = findUncloneable(item);
    if (uncloneable !== undefined) return Promise.reject(dataCloneError(uncloneable));
    if (this.#useCredit && this.#credits > 0 && this.#putters.size === 0) {
      this.#send(item);
      return Promise.resolve();
    }
    return this.#putNowaitCall(item);
  }

  /**
   * A put that must not wait, without credit. While this side's own earlier
   * puts wait for room it is full from here (as a local queue with waiting
   * putters): asking the owner could let this item overtake them.
   */
  #putNowaitCall(item: unknown): Promise<void> {
    if (this.#putters.size > 0) return Promise.reject(new QueueFull());
    return this.#call("putNowait", [item]) as Promise<void>;
  }

  #send(item: unknown): void {
    this.#credits--;
    this.#session.outbox.pushItem(this.#name, item, this.#lost);
    if (this.#credits < CREDIT_WINDOW / 2) this.#want();
    this.#putSinceCheck = true;
    this.#watchIdle();
  }

  /**
   * Unused credits hold slots of the owner's queue: give them back after a
   * turn without puts, so an idle producer never blocks other putters, and
   * withdraw a standing ask for more, so the owner does not keep freed slots
   * for it.
   */
  #watchIdle(): void {
    if (this.#idleCheck) return;
    this.#idleCheck = true;
    afterTurn(() => {
      this.#idleCheck = false;
      if (this.#putSinceCheck) {
        this.#putSinceCheck = false;
        this.#watchIdle();
        return;
      }
      if (this.#putters.size > 0 || this.#closed) return;
      // Also with no credit left: the owner stops keeping freed slots for this side.
      if (this.#credits > 0 || this.#wantSent === "ahead") {
        this.#session.outbox.push({ t: "uncredit", n: this.#name, k: this.#credits });
        this.#credits = 0;
        if (this.#wantSent === "ahead") this.#wantSent = false;
      }
    });
  }

  /** An item the walk found cloneable was refused at posting: say so, it cannot come back. */
  #lost = (error: unknown, item?: unknown): void => {
    this.#session.report(
      new DOMException(
        `an item put on "${this.#name}" could not be cloned after put() resolved and was dropped: ${
          String((error as Error)?.message ?? error)
        } (${typeof item})`,
        "DataCloneError",
      ),
    );
  };

  /** Asks for credits: `blocked` when a put waits for them. */
  #want(blocked = false): void {
    if (
      this.#shutdown || this.#wantSent === "blocked" || (this.#wantSent === "ahead" && !blocked)
    ) return;
    this.#wantSent = blocked ? "blocked" : "ahead";
    this.#session.outbox.push(
      blocked ? { t: "want", n: this.#name, b: 1 } : { t: "want", n: this.#name },
    );
  }

  credit(count: number): void {
    this.#wantSent = false;
    if (this.#shutdown || this.#closed) {
      this.#session.outbox.push({ t: "uncredit", n: this.#name, k: count });
      return;
    }
    this.#credits += count;
    while (this.#credits > 0 && this.#putters.size > 0) {
      const putter = this.#putters.shift()!;
      this.#send(putter.data);
      putter.resolve();
    }
    if (this.#putters.size > 0) this.#want(true);
    else if (this.#credits > 0) this.#watchIdle();
  }

  // ---- get ----

  #drained(): boolean {
    return this.#ended && this.#buffer.length === 0;
  }

  get(options?: WaitOptions): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#drained()) return Promise.reject(new QueueShutDown());
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    if (this.#pendingError !== undefined) {
      const pending = this.#pendingError;
      this.#pendingError = undefined;
      return Promise.reject(pending);
    }
    if (this.#buffer.length > 0) return Promise.resolve(this.#hand());
    if (this.#prefetch === 0) return this.#direct("get", options);
    if (options?.timeout === 0) return this.#getNowaitCall();
    this.#adapt();
    this.#pull();
    return this.#getters.wait(options, undefined);
  }

  getNowait(): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#drained()) return Promise.reject(new QueueShutDown());
    if (this.#buffer.length > 0) return Promise.resolve(this.#hand());
    return this.#getNowaitCall();
  }

  /**
   * A get that must not wait and finds nothing prefetched. While this side's
   * own earlier gets wait, it is empty from here (as a local queue with
   * waiting getters): asking the owner could let this get overtake them.
   */
  #getNowaitCall(): Promise<unknown> {
    if (this.#getters.size > 0) return Promise.reject(new QueueEmpty());
    return this.#direct("getNowait");
  }

  /** A get served in the owner's thread. */
  #direct(op: string, options?: WaitOptions): Promise<unknown> {
    this.#directPending++;
    return this.#call(op, [], options).then((item) => {
      this.#directPending--;
      let handed: unknown;
      if (this.#buffer.length === 0) {
        this.#handed();
        handed = item;
      } else {
        // Prefetched items that arrived first go out first: items are handed in
        // the order the owner sent them, which is what the acknowledgements count.
        this.#buffer.push(item);
        handed = this.#hand();
      }
      this.#withdraw(); // deferred while this answer was on its way
      this.#unpullDeferred();
      return handed;
    }, (error) => {
      this.#directPending--;
      this.#withdraw();
      this.#unpullDeferred();
      throw error;
    });
  }

  /** The unpull an immediate shutdown deferred while direct gets were pending. */
  #unpullDeferred(): void {
    if (!this.#unpullAfterDirect || this.#directPending > 0 || this.#closed) return;
    this.#unpullAfterDirect = false;
    this.#returnBuffer();
  }

  #hand(): unknown {
    const item = this.#buffer.shift();
    this.#handed();
    this.#pull();
    return item;
  }

  /** One more item reached this side's code: acknowledge it (one ack frame per turn). */
  #handed(): void {
    this.#undone++;
    this.#handedTotal++;
    // A direct get answered just before the close: the owner took the item back.
    if (this.#closed) return;
    const frame = this.#ackFrame;
    if (frame !== undefined && this.#ackBatch === this.#session.outbox.batch) {
      frame.s = this.#handedTotal; // still unsent
      return;
    }
    this.#ackFrame = { t: "ack", n: this.#name, s: this.#handedTotal };
    this.#ackBatch = this.#session.outbox.batch;
    this.#session.outbox.push(this.#ackFrame);
  }

  /**
   * This side ran out of items and must wait. If it drained the last batch
   * quickly, ask for twice as many ahead (up to `prefetch`); if it was slow,
   * half as many, so slow consumers take one item at a time and leave the
   * rest to their peers, while fast ones stream in large batches.
   */
  #adapt(): void {
    const sinceArrival = performance.now() - this.#lastArrival;
    if (sinceArrival < FAST_DRAIN_MS) this.#window = Math.min(this.#prefetch, this.#window * 2);
    else if (sinceArrival > SLOW_DRAIN_MS) this.#window = Math.max(1, Math.floor(this.#window / 2));
  }

  #pull(): void {
    if (this.#prefetch === 0 || this.#ended || this.#closed || this.#pendingError !== undefined) {
      return;
    }
    const held = this.#buffer.length + this.#outstanding;
    if (held > this.#window / 2) return;
    const count = this.#window - held;
    this.#outstanding += count;
    this.#session.outbox.push({ t: "pull", n: this.#name, k: count });
  }

  /**
   * The last waiting get timed out or was aborted: take back the items asked
   * for, so the owner's standing get does not swallow the next item for a
   * getter that is gone while the owner's own getters wait.
   */
  #withdraw(): void {
    if (
      this.#getters.size > 0 || this.#outstanding === 0 || this.#directPending > 0 ||
      this.#closed || this.#ended
    ) return;
    this.#returnBuffer();
  }

  /** The owner confirmed an unpull: the items it sends from now on are new. */
  unpulled(): void {
    if (this.#dropping > 0) this.#dropping--;
  }

  items(values: unknown[]): void {
    // Sent before the owner read an unpull: already back in its queue.
    if (this.#closed || this.#discarding || this.#dropping > 0) return;
    this.#outstanding = Math.max(0, this.#outstanding - values.length);
    this.#lastArrival = performance.now();
    let i = 0;
    for (; i < values.length && this.#getters.size > 0; i++) {
      this.#handed();
      this.#getters.shift()!.resolve(values[i]);
    }
    for (; i < values.length; i++) this.#buffer.push(values[i]);
    if (this.#getters.size > 0) this.#pull();
  }

  itemError(error: Error): void {
    if (this.#dropping > 0) return; // about an item already back at the head: the next pull meets it
    this.#outstanding = 0;
    const getter = this.#getters.shift();
    if (getter !== undefined) getter.reject(error);
    else this.#pendingError = error;
  }

  end(): void {
    this.#ended = true;
    this.#outstanding = 0;
    if (this.#buffer.length === 0) this.#getters.rejectAll(new QueueShutDown());
  }

  shutdownNotice(immediate: boolean): void {
    this.#shutdown = true;
    this.#putters.rejectAll(new QueueShutDown());
    if (this.#credits > 0) {
      this.#session.outbox.push({ t: "uncredit", n: this.#name, k: this.#credits });
      this.#credits = 0;
    }
    if (immediate) {
      // The owner discarded what was queued; what was prefetched goes the same way.
      this.#discarding = true;
      this.#buffer.clear();
      this.#outstanding = 0;
      this.#ended = true;
      this.#getters.rejectAll(new QueueShutDown());
      // A direct get's answer on its way (or arrived, not yet handed) is handed
      // out: the unpull that gives back the rest must count it, so it waits.
      if (this.#directPending === 0) this.#returnBuffer();
      else this.#unpullAfterDirect = true;
    }
  }

  #returnBuffer(): void {
    this.#buffer.clear();
    this.#outstanding = 0;
    this.#dropping++;
    this.#session.outbox.push({ t: "unpull", n: this.#name, s: this.#handedTotal });
  }

  // ---- tasks ----

  taskDone(): Promise<void> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#undone > 0) {
      // Certainly valid: this side took the item. Tell the owner without
      // waiting, one count per turn however many tasks were done in it.
      this.#undone--;
      const frame = this.#doneFrame;
      if (frame !== undefined && this.#doneBatch === this.#session.outbox.batch) frame.k++;
      else {
        this.#doneFrame = { t: "done", n: this.#name, k: 1 };
        this.#doneBatch = this.#session.outbox.batch;
        this.#session.outbox.push(this.#doneFrame);
      }
      return Promise.resolve();
    }
    return this.#call("taskDone") as Promise<void>;
  }

  #iterator(): AsyncIterator<unknown> {
    return {
      next: (): Promise<IteratorResult<unknown>> => {
        if (this.#buffer.length > 0 && !this.#closed) {
          return Promise.resolve({ value: this.#hand(), done: false });
        }
        return this.get().then(
          (value) => ({ value, done: false }),
          (error) => {
            if (error instanceof QueueShutDown) return { value: undefined, done: true };
            throw error;
          },
        );
      },
      return: () => {
        // The loop is left: what was fetched ahead for it goes back to the queue.
        this.#giveBack();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Returns the prefetched items when nobody here waits for them. */
  #giveBack(): void {
    if (
      this.#getters.size > 0 || this.#directPending > 0 || this.#closed || this.#ended ||
      (this.#buffer.length === 0 && this.#outstanding === 0)
    ) return;
    this.#returnBuffer();
  }

  // ---- teardown ----

  override leave(): void {
    if (this.#closed) return;
    if (this.#credits > 0) {
      this.#session.outbox.push({ t: "uncredit", n: this.#name, k: this.#credits });
      this.#credits = 0;
    }
    if (this.#prefetch > 0) this.#returnBuffer();
  }

  override closed(): void {
    this.#closed = true;
    this.#buffer.clear();
    this.#putters.rejectAll(new LinkClosed());
    this.#getters.rejectAll(new LinkClosed());
  }
}

/**
 * Connects to the primitives served on `endpoint` by {@linkcode serve} in
 * another thread (inside a worker: `connect(self)`), and resolves with a
 * proxy for each served name once the other side has told what it serves.
 * Calling it again on the same endpoint gives the same connection.
 *
 * @typeParam T The served primitives by name, as typed in the owner's thread.
 * @param endpoint Where the other side listens.
 * @param options `timeout`/`signal` for the wait for the other side,
 *   `prefetch` for remote queue consumers, `onError`.
 * @returns The proxies, plus `close()`.
 * @throws {DOMException} `TimeoutError` when no `serve` answered in time.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * // In a real program the two sides are two threads: serve(worker, ...) in
 * // the main thread, connect(self) in the worker.
 * const { port1, port2 } = new MessageChannel();
 * const jobs = new Queue<number>(100);
 * const link = serve(port1, { jobs });
 * for (let i = 1; i <= 3; i++) jobs.putNowait(i);
 * jobs.shutdown();
 *
 * await using remote = await connect<{ jobs: Queue<number> }>(port2);
 * let sum = 0;
 * for await (const job of remote.jobs) {
 *   sum += job;
 *   await remote.jobs.taskDone();
 * }
 * console.log(sum); // 6
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export async function connect<T extends object = Record<string, unknown>>(
  endpoint: Endpoint,
  options: ConnectOptions = {},
): Promise<Remote<T>> {
  if (
    endpoint === null || typeof endpoint !== "object" || typeof endpoint.postMessage !== "function"
  ) {
    throw new TypeError("connect() takes an endpoint with postMessage and addEventListener");
  }
  const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
  if (!Number.isInteger(prefetch) || prefetch < 0) {
    throw new RangeError(`prefetch must be a non-negative integer, received ${String(prefetch)}`);
  }
  const waitOptions: WaitOptions = {};
  if (options.timeout !== undefined) waitOptions.timeout = options.timeout;
  if (options.signal !== undefined) waitOptions.signal = options.signal;
  const error = checkWaitOptions(waitOptions);
  if (error !== undefined) throw error;
  const holder = endpoint as unknown as { [SESSION]?: Session };
  let session = holder[SESSION];
  if (session === undefined || session.closed) {
    session = new Session(endpoint, options);
    holder[SESSION] = session;
    const remote = session.remote;
    const current = session;
    Object.defineProperty(remote, "close", { value: () => current.close() });
    Object.defineProperty(remote, Symbol.asyncDispose, { value: () => current.close() });
  }
  try {
    await session.ready(waitOptions);
  } catch (failure) {
    await session.close();
    throw failure;
  }
  return session.remote as Remote<T>;
}

export type { Kind };
