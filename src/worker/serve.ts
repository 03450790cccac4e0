/**
 * The owner side of the cross-worker adapters: `serve` exposes primitives
 * that live in this thread to the thread at the other end of an endpoint.
 *
 * @module
 */

import { Barrier } from "../barrier.ts";
import { Condition } from "../condition.ts";
import { LinkClosed, QueueEmpty, QueueShutDown } from "../errors.ts";
import { Event } from "../event.ts";
import { Lock } from "../lock.ts";
import { PeriodicTimer } from "../periodic_timer.ts";
import { LifoQueue, PriorityQueue, Queue } from "../queue.ts";
import { BoundedSemaphore, Semaphore } from "../semaphore.ts";
import { Deque } from "../_deque.ts";
import type { WaitOptions } from "../_waiters.ts";
import { Connection } from "./pipe.ts";
import {
  type ClientFrame,
  CREDIT_WINDOW,
  dataCloneError,
  type Endpoint,
  type Entry,
  findUncloneable,
  type Kind,
  listen,
  Outbox,
  receive,
  serializeError,
} from "./protocol.ts";

/**
 * What `serve` can expose: every baton primitive, and pipe connections
 * (which are transferred to the other side).
 *
 * @example
 * ```ts
 * import { Event, Queue } from "@baton/baton";
 * import type { Servable } from "@baton/baton/worker";
 *
 * const served: Record<string, Servable> = { jobs: new Queue<number>(10), done: new Event() };
 * console.log(Object.keys(served)); // ["jobs", "done"]
 * ```
 */
export type Servable =
  // deno-lint-ignore no-explicit-any
  | Queue<any>
  | Lock
  | Condition
  | Event
  | Semaphore
  | Barrier
  | PeriodicTimer
  | PipeEnd;

/**
 * A pipe {@linkcode Connection} of any message types, as `serve` takes it
 * (its port moves to the other side).
 *
 * @example
 * ```ts
 * import { Pipe, type PipeEnd } from "@baton/baton/worker";
 *
 * const [receiver, sender] = Pipe<never, number>({ duplex: false });
 * const ends: PipeEnd[] = [receiver, sender];
 * for (const end of ends) end.close();
 * ```
 */
export interface PipeEnd {
  /** Whether this end may receive. */
  readonly readable: boolean;
  /** Whether this end may send. */
  readonly writable: boolean;
  /** Whether this end is closed. */
  readonly closed: boolean;
  /** Detaches the port to move it to another thread. */
  transfer(): MessagePort;
  /** Closes this end. */
  close(): void;
}

/**
 * Options of {@linkcode serve}.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "@baton/baton/worker";
 *
 * const options: ServeOptions = { onError: (error) => console.error("baton:", error) };
 * console.log(typeof options.onError); // "function"
 * ```
 */
export interface ServeOptions {
  /**
   * Told about problems that have no caller to reject: a malformed baton
   * message, a frame for a name not served. Defaults to `console.error`.
   */
  onError?: (error: unknown) => void;
}

/**
 * What `serve` returns: the link between the served primitives and the
 * other side. Closing it settles every pending remote operation of its
 * names (the other side rejects them with `LinkClosed`) and returns items
 * prefetched for the other side to the head of their queue. Items the other
 * side put before it heard of the close still go into their queue; once it
 * has heard (at once if it left or failed), every listener baton added is
 * removed.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * {
 *   using link = serve(port1, { jobs: new Queue<number>() });
 *   console.log(link.names); // ["jobs"]
 * } // closed here
 * port1.close();
 * port2.close();
 * ```
 */
export interface Link extends Disposable {
  /** The names this link serves. */
  readonly names: readonly string[];
  /** Whether the link is closed. */
  readonly closed: boolean;
  /** Closes the link; later calls do nothing. */
  close(): void;
}

/** The protected hooks of `Queue` that the adapter uses. */
interface QueueInternals<T> {
  _reserve(max: number, least?: number): number;
  _waitReserve(options?: WaitOptions, admitted?: () => void): Promise<void>;
  _unreserve(n: number): void;
  _putReserved(item: T): void;
  _takeHeld(): T;
  _getHeld(options?: WaitOptions): Promise<T>;
  _requeue(items: readonly T[]): void;
  _watchShutdown(watcher: (immediate: boolean) => void): () => void;
  _watchSpace(least: number, watcher: () => void): () => void;
  _free(): number;
}

function internals<T>(queue: Queue<T>): QueueInternals<T> {
  return queue as unknown as QueueInternals<T>;
}

/** The kind and constant properties `connect` needs to build a proxy. */
export function describePrimitive(primitive: Servable): { kind: Kind; constants: Entry["c"] } {
  if (primitive instanceof PriorityQueue) {
    return { kind: "PriorityQueue", constants: { maxsize: primitive.maxsize } };
  }
  if (primitive instanceof LifoQueue) {
    return { kind: "LifoQueue", constants: { maxsize: primitive.maxsize } };
  }
  if (primitive instanceof Queue) {
    return { kind: "Queue", constants: { maxsize: primitive.maxsize } };
  }
  if (primitive instanceof Condition) return { kind: "Condition", constants: {} };
  if (primitive instanceof Lock) return { kind: "Lock", constants: {} };
  if (primitive instanceof Event) return { kind: "Event", constants: {} };
  if (primitive instanceof BoundedSemaphore) {
    return { kind: "BoundedSemaphore", constants: { initialValue: primitive.initialValue } };
  }
  if (primitive instanceof Semaphore) return { kind: "Semaphore", constants: {} };
  if (primitive instanceof Barrier) {
    return { kind: "Barrier", constants: { parties: primitive.parties } };
  }
  if (primitive instanceof PeriodicTimer) {
    return { kind: "PeriodicTimer", constants: { intervalMs: primitive.intervalMs } };
  }
  if (primitive instanceof Connection) {
    return {
      kind: "Connection",
      constants: { readable: primitive.readable, writable: primitive.writable },
    };
  }
  throw new TypeError(
    "serve() takes baton primitives (Queue, Lock, Condition, Event, Semaphore, Barrier) and pipe connections",
  );
}

type Options = WaitOptions | undefined;
type Op = (primitive: never, args: unknown[], options: Options, served: Served) => unknown;

/** Remote operations by kind: a whitelist, so a peer can call nothing else. */
const QUEUE_OPS: Record<string, Op> = {
  put: (q: Queue<unknown>, [item], options) => q.put(item, options),
  putNowait: (q: Queue<unknown>, [item]) => q.putNowait(item),
  get: (q: Queue<unknown>, _args, options) => internals(q)._getHeld(options),
  getNowait: (q: Queue<unknown>) => internals(q)._takeHeld(),
  qsize: (q: Queue<unknown>) => q.qsize(),
  empty: (q: Queue<unknown>) => q.empty(),
  full: (q: Queue<unknown>) => q.full(),
  taskDone: (q: Queue<unknown>) => q.taskDone(),
  join: (q: Queue<unknown>, _args, options) => q.join(options),
  shutdown: (q: Queue<unknown>, [immediate]) => q.shutdown(immediate === true),
  isShutdown: (q: Queue<unknown>) => q.isShutdown,
  unfinishedTasks: (q: Queue<unknown>) => q.unfinishedTasks,
};

const OPS: Record<Kind, Record<string, Op>> = {
  Queue: QUEUE_OPS,
  LifoQueue: QUEUE_OPS,
  PriorityQueue: QUEUE_OPS,
  Lock: {
    acquire: (l: Lock, _args, options) => l.acquire(options),
    release: (l: Lock) => l.release(),
    locked: (l: Lock) => l.locked(),
  },
  Condition: {
    acquire: (c: Condition, _args, options) => c.acquire(options),
    release: (c: Condition) => c.release(),
    locked: (c: Condition) => c.locked(),
    wait: (c: Condition, _args, options) => c.wait(options),
    notify: (c: Condition, [n]) => c.notify(n === undefined ? 1 : n as number),
    notifyAll: (c: Condition) => c.notifyAll(),
  },
  Event: {
    set: (e: Event) => e.set(),
    clear: (e: Event) => e.clear(),
    isSet: (e: Event) => e.isSet(),
    wait: (e: Event, _args, options) => e.wait(options),
  },
  Semaphore: {
    acquire: (s: Semaphore, _args, options) => s.acquire(options),
    release: (s: Semaphore, [n]) => s.release(n === undefined ? 1 : n as number),
    value: (s: Semaphore) => s.value,
    waiting: (s: Semaphore) => s.waiting,
  },
  BoundedSemaphore: {
    acquire: (s: Semaphore, _args, options) => s.acquire(options),
    release: (s: Semaphore, [n]) => s.release(n === undefined ? 1 : n as number),
    value: (s: Semaphore) => s.value,
    waiting: (s: Semaphore) => s.waiting,
  },
  Barrier: {
    wait: (b: Barrier, _args, options) => b.wait(options),
    reset: (b: Barrier) => b.reset(),
    abort: (b: Barrier) => b.abort(),
    nWaiting: (b: Barrier) => b.nWaiting,
    broken: (b: Barrier) => b.broken,
  },
  PeriodicTimer: {
    waitForTick: (t: PeriodicTimer, _args, options) => t.waitForTick(options),
    // One round trip per tick for iterators: the tick count, or null once stopped.
    nextTick: (t: PeriodicTimer, _args, options) =>
      t.waitForTick(options).then((ticked) => ticked ? t.ticks : null),
    start: (t: PeriodicTimer) => t.start(),
    stop: (t: PeriodicTimer) => t.stop(),
    ticks: (t: PeriodicTimer) => t.ticks,
    running: (t: PeriodicTimer) => t.running,
  },
  Connection: {},
};

/**
 * Undoes what an operation did when its answer can no longer be delivered
 * (the link closed while it was pending), so nothing is lost or held.
 */
function undo(served: Served, op: string, value: unknown): void {
  const primitive = served.primitive;
  if ((op === "get" || op === "getNowait") && primitive instanceof Queue) {
    internals(primitive)._requeue([value]); // taken, never tracked as sent
  } else if (op === "wait" && primitive instanceof Condition) {
    primitive.release(); // a settled wait holds the lock again, notified or not (C-2)
  } else if ((op === "acquire" || op === "wait") && value === true) {
    if (
      primitive instanceof Lock || primitive instanceof Condition || primitive instanceof Semaphore
    ) {
      primitive.release();
    }
  }
}

/** The state of one served name. */
class Served {
  readonly name: string;
  readonly kind: Kind;
  readonly primitive: Servable;
  readonly link: LinkImpl;
  readonly #hub: Hub;
  // queue streaming state
  /**
   * Items sent to the other side and not yet handed to its code, in the
   * order they were sent (which is the order the other side hands them out).
   */
  #unacked = new Deque<unknown>();
  /** How many items the other side has handed to its code, as it last said. */
  #acked = 0;
  /** How many of the items it took the other side has marked done with a done frame. */
  #doneReceived = 0;
  #credits = 0;
  #creditWait: AbortController | undefined;
  /** Stops watching for a batch of free slots to grant (credits asked for ahead of need). */
  #unwatchSpace: (() => void) | undefined;
  /** Credits reserved for the other side and not yet granted in a frame. */
  #owed = 0;
  #topUpQueued = false;
  #wanted = 0;
  #standing: AbortController | undefined;
  #unwatch: (() => void) | undefined;

  constructor(hub: Hub, link: LinkImpl, name: string, primitive: Servable) {
    this.#hub = hub;
    this.link = link;
    this.name = name;
    this.primitive = primitive;
    this.kind = describePrimitive(primitive).kind;
    if (primitive instanceof Queue) {
      this.#unwatch = internals(primitive)._watchShutdown((immediate) => {
        // A slot admitted before the shutdown (in line, as a put would be) is granted before it.
        if (this.#owed > 0 && !this.link.closed) {
          hub.outbox.push({ t: "credit", n: name, k: this.#owed });
          this.#owed = 0;
        }
        hub.outbox.push({ t: "shutdown", n: name, i: immediate });
        this.#unwatchSpace?.(); // no credit is granted after a shutdown
        this.#unwatchSpace = undefined;
      });
    }
  }

  get #queue(): Queue<unknown> {
    return this.primitive as Queue<unknown>;
  }

  /** Records an item sent as a direct get's answer, when that answer is queued. */
  track(item: unknown): void {
    this.#unacked.push(item);
  }

  /** A direct get's answer could not be cloned: the item goes back to the head. */
  untrack(item: unknown): void {
    if (this.#unacked.deleteLast(item)) internals(this.#queue)._requeue([item]);
  }

  // ---- puts on credit ----

  /**
   * The other side wants put credits: `blocked` when a put of its waits for
   * them (grant any free slot), else ahead of need (grant a batch).
   */
  want(blocked: boolean): void {
    if (blocked) this.#grantBlocked();
    else this.#grantAhead();
  }

  /** The least number of credits worth a message when nobody waits for them. */
  #batchCredit(): number {
    const maxsize = this.#queue.maxsize;
    const quarter = maxsize > 0 && maxsize !== Infinity ? Math.floor(maxsize / 4) : CREDIT_WINDOW;
    return Math.max(1, Math.min(CREDIT_WINDOW / 4, quarter));
  }

  /**
   * Credits ahead of need: as soon as a batch of slots is free (now, or when
   * consumers free them), granted with the next envelope.
   */
  #grantAhead(): void {
    const least = this.#batchCredit();
    if (this.#credits + least > CREDIT_WINDOW || this.#queue.isShutdown || this.link.closed) return;
    if (this.#topUpQueued || this.#unwatchSpace !== undefined) return;
    const queue = internals(this.#queue);
    if (queue._free() >= least) {
      this.#grantNow();
      return;
    }
    this.#unwatchSpace = queue._watchSpace(least, () => {
      this.#unwatchSpace = undefined;
      if (this.link.closed) return;
      try {
        this.#grantNow();
      } catch (error) {
        this.#hub.report(error); // never into the get that freed the slots
      }
    });
  }

  /**
   * A batch of slots is free: grant it at once, not at the end of the turn,
   * which waits for every message already in line.
   */
  #grantNow(): void {
    this.#topUp();
    this.#hub.outbox.flush();
    this.#grantAhead(); // and watch for the next batch, without waiting to be asked again
  }

  /**
   * A put of the other side waits for credit and none is on its way: wait in
   * line with the local putters for one slot, then top up with the next envelope.
   */
  #grantBlocked(): void {
    if (this.#credits > 0 || this.#creditWait !== undefined || this.link.closed) return;
    const queue = internals(this.#queue);
    const controller = new AbortController();
    this.#creditWait = controller;
    queue._waitReserve({ signal: controller.signal }, () => {
      // Admitted in line, now: owed at once, so a shutdown in this turn follows the credit.
      this.#creditWait = undefined;
      this.#credits += 1;
      this.#owed += 1;
      this.#queueTopUp();
    }).catch(() => {
      // Shut down (the other side hears of it) or aborted by close (never admitted then).
      if (this.#creditWait === controller) this.#creditWait = undefined;
    });
  }

  #queueTopUp(): void {
    if (this.#topUpQueued) return;
    this.#topUpQueued = true;
    this.#hub.outbox.beforeFlush(this.#topUp);
  }

  /**
   * Grants what is owed, and the free slots up to the window when a batch is
   * free: fewer are left to the next in line, so producers on other links
   * blocked as often get as much.
   */
  #topUp = (): void => {
    this.#topUpQueued = false;
    if (this.link.closed) return; // the close gave back every credit
    const extra = internals(this.#queue)._reserve(
      CREDIT_WINDOW - this.#credits,
      this.#batchCredit(),
    );
    this.#credits += extra;
    const granted = this.#owed + extra;
    this.#owed = 0;
    if (granted > 0) this.#hub.outbox.push({ t: "credit", n: this.name, k: granted });
  };

  /** Items put on credit arrive. */
  items(items: unknown[]): void {
    const queue = internals(this.#queue);
    for (const item of items) {
      if (this.#credits <= 0) {
        this.#hub.report(new Error(`items for "${this.name}" arrived without put credit; dropped`));
        continue;
      }
      this.#credits--;
      try {
        queue._putReserved(item);
      } catch (error) {
        this.#hub.report(error);
      }
    }
    this.#grantAhead();
  }

  /** The other side gives back credits it will not use. */
  uncredit(count: number): void {
    // An idle producer's credits come back: it wants no more until it says so.
    this.#unwatchSpace?.();
    this.#unwatchSpace = undefined;
    const returned = Math.min(count, this.#credits);
    this.#credits -= returned;
    internals(this.#queue)._unreserve(returned);
  }

  // ---- gets by prefetch ----

  /** The other side wants `count` more items. */
  pull(count: number): void {
    this.#wanted += count;
    this.#pump();
  }

  #pump(): void {
    // A standing get may hold an item already, its callback not yet run (another
    // endpoint's message can come in between): items taken now would overtake it.
    // That callback pumps again.
    if (this.#standing !== undefined) return;
    const queue = internals(this.#queue);
    // Emptiness is checked, not caught: an error's stack trace costs microseconds.
    while (this.#wanted > 0 && this.#queue.qsize() > 0) {
      let item: unknown;
      try {
        item = queue._takeHeld();
      } catch (error) {
        if (error instanceof QueueEmpty) break;
        this.#wanted = 0;
        if (error instanceof QueueShutDown) this.#hub.outbox.push({ t: "end", n: this.name });
        else this.#hub.outbox.push({ t: "item-error", n: this.name, e: serializeError(error) });
        return;
      }
      if (!this.#send(item)) return;
    }
    if (this.#wanted > 0 && this.#standing === undefined) {
      const controller = new AbortController();
      this.#standing = controller;
      queue._getHeld({ signal: controller.signal }).then((item) => {
        if (this.#standing === controller) this.#standing = undefined;
        if (this.link.closed || controller.signal.aborted) {
          queue._requeue([item]);
          return;
        }
        if (this.#send(item)) this.#pump();
      }, (error) => {
        if (this.#standing === controller) this.#standing = undefined;
        if (this.link.closed || controller.signal.aborted) return;
        this.#wanted = 0;
        if (error instanceof QueueShutDown) this.#hub.outbox.push({ t: "end", n: this.name });
        else this.#hub.outbox.push({ t: "item-error", n: this.name, e: serializeError(error) });
      });
    }
  }

  /**
   * Sends one prefetched item; returns false when it cannot be cloned. Such an
   * item is found before it joins a batch and goes back to the head at once, so
   * no item after it overtakes it; the get waiting for it rejects (W-3).
   */
  #send(item: unknown): boolean {
    const uncloneable = findUncloneable(item);
    if (uncloneable !== undefined) {
      this.#stopPulling();
      internals(this.#queue)._requeue([item]);
      this.#hub.outbox.push({
        t: "item-error",
        n: this.name,
        e: serializeError(dataCloneError(uncloneable)),
      });
      return false;
    }
    this.#unacked.push(item);
    this.#wanted--;
    this.#hub.outbox.pushItem(this.name, item, this.#cloneFailed);
    return true;
  }

  /** An item could not be sent: back to the head of the queue, and the next get fails (W-3). */
  #cloneFailed = (error: unknown, item?: unknown): void => {
    this.#unacked.deleteLast(item);
    this.#stopPulling();
    internals(this.#queue)._requeue([item]);
    this.#hub.outbox.push({ t: "item-error", n: this.name, e: serializeError(error) });
  };

  #stopPulling(): void {
    this.#wanted = 0;
    this.#standing?.abort();
    this.#standing = undefined;
  }

  /** The other side marked `count` items it took as done. */
  done(count: number): void {
    this.#doneReceived += count;
    for (let i = 0; i < count; i++) this.#queue.taskDone(); // throws, to report, only when misused
  }

  /**
   * Done frames that may still count once the link is closed: one per item
   * the other side was known to have handed to its code and not yet marked
   * done. Items whose acknowledgement was on its way went back to the queue
   * (at least once): the done for such a copy does not count, the next one does.
   */
  get lateDones(): number {
    return Math.max(0, this.#acked - this.#doneReceived);
  }

  /** The other side has handed `total` items to its code so far. */
  ack(total: number): void {
    const handed = Math.min(total - this.#acked, this.#unacked.length);
    if (handed <= 0) return;
    this.#acked = total;
    for (let i = 0; i < handed; i++) this.#unacked.shift();
    internals(this.#queue)._unreserve(handed);
  }

  /** The other side returns what it holds beyond the `total` it handed out: back to the head, in order (W-8). */
  unpull(total: number): void {
    this.ack(total);
    this.#stopPulling();
    this.#returnUnacked();
    // Items sent before this point are back in the queue: the other side drops
    // them until it reads this.
    this.#hub.outbox.push({ t: "unpulled", n: this.name });
  }

  #returnUnacked(): void {
    if (this.#unacked.length === 0) return;
    const items = [...this.#unacked];
    this.#unacked.clear();
    internals(this.#queue)._requeue(items);
  }

  /** The link closed: give back everything held for the other side. */
  close(): void {
    this.#unwatch?.();
    if (!(this.primitive instanceof Queue)) return;
    this.#stopPulling();
    this.#creditWait?.abort();
    this.#creditWait = undefined;
    this.#unwatchSpace?.();
    this.#unwatchSpace = undefined;
    if (this.#credits > 0) {
      const credits = this.#credits;
      this.#credits = 0;
      internals(this.#queue)._unreserve(credits);
    }
    this.#returnUnacked();
  }
}

class LinkImpl implements Link {
  readonly names: readonly string[];
  #hub: Hub;
  #closed = false;

  constructor(hub: Hub, names: string[]) {
    this.#hub = hub;
    this.names = Object.freeze([...names]);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.closeLink(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

interface PendingCall {
  controller: AbortController;
  served: Served;
}

const HUB = Symbol.for("baton.serve.hub");

/** One endpoint's owner side: every name served on it, one listener, one outbox. */
class Hub {
  readonly endpoint: Endpoint;
  readonly outbox: Outbox;
  readonly served = new Map<string, Served>();
  readonly links = new Set<LinkImpl>();
  readonly calls = new Map<number, PendingCall>();
  #unlisten: () => void;
  #onWorkerError = () => {
    this.closeAll();
    this.#draining.clear(); // the worker is gone: nothing more will come
    this.dispose();
  };
  #disposed = false;
  /**
   * Queues of closed names whose late frames may still arrive, by name, with
   * how many late done counts still apply.
   */
  #draining = new Map<string, { queue: Queue<unknown>; dones: number }>();
  #announce = false;
  #onError: (error: unknown) => void;

  constructor(endpoint: Endpoint, onError: (error: unknown) => void) {
    this.endpoint = endpoint;
    this.#onError = onError;
    this.outbox = new Outbox(endpoint, "s", (error) => this.report(error));
    this.#unlisten = listen(endpoint, (event) => this.#receive(event));
    endpoint.addEventListener("error", this.#onWorkerError);
  }

  static of(endpoint: Endpoint, onError: (error: unknown) => void): Hub {
    const holder = endpoint as unknown as { [HUB]?: Hub };
    return holder[HUB] ??= new Hub(endpoint, onError);
  }

  report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // an onError hook that throws must not break the adapter
    }
  }

  add(primitives: Record<string, Servable>): LinkImpl {
    const names = Object.keys(primitives);
    for (const name of names) {
      if (this.served.has(name)) throw new Error(`"${name}" is already served on this endpoint`);
      describePrimitive(primitives[name] as Servable); // throws for what cannot be served
    }
    const link = new LinkImpl(this, names);
    this.links.add(link);
    for (const name of names) {
      this.served.set(name, new Served(this, link, name, primitives[name] as Servable));
    }
    this.#scheduleAnnounce();
    return link;
  }

  #scheduleAnnounce(): void {
    if (this.#announce) return;
    this.#announce = true;
    // Everything served in this turn goes out in one manifest.
    queueMicrotask(() => {
      this.#announce = false;
      this.#sendManifest(false);
    });
  }

  /**
   * Tells the other side what is served. Only a reply to its hello (which
   * proves it listens) carries pipe ends; an announcement just prompts a
   * hello from a side that connected before anything was served.
   */
  #sendManifest(reply: boolean): void {
    if (this.served.size === 0) return;
    const entries: Record<string, Entry> = {};
    const transfer: Transferable[] = [];
    for (const [name, served] of this.served) {
      const { kind, constants } = describePrimitive(served.primitive);
      const entry: Entry = { k: kind, c: constants };
      if (reply && served.primitive instanceof Connection && !served.primitive.closed) {
        try {
          const port = served.primitive.transfer();
          entry.p = port;
          transfer.push(port);
        } catch (error) {
          this.report(error); // it started receiving here: it cannot move
        }
      }
      entries[name] = entry;
    }
    this.outbox.push(
      reply ? { t: "manifest", e: entries, r: 1 } : { t: "manifest", e: entries },
      undefined,
      transfer,
    );
  }

  #receive(event: MessageEvent): void {
    receive<ClientFrame>(
      event.data,
      "c",
      (frame) => this.#handle(frame),
      (error) => this.report(error),
    );
  }

  #lookup(name: string): Served | undefined {
    const served = this.served.get(name);
    if (served === undefined) {
      this.report(new Error(`a frame for "${name}", which is not served here`));
    }
    return served;
  }

  #handle(frame: ClientFrame): void {
    if (frame.t !== "call" && "n" in frame && this.#late(frame)) return;
    switch (frame.t) {
      case "hello":
        this.#sendManifest(true);
        return;
      case "bye":
        this.closeAll();
        this.#draining.clear(); // the other side flushed everything before its bye
        this.dispose();
        return;
      case "call":
        this.#call(frame);
        return;
      case "cancel":
        this.calls.get(frame.id)?.controller.abort(CANCELLED);
        return;
      case "items":
        this.#queueServed(frame.n)?.items(frame.v);
        return;
      case "gone":
        for (const name of frame.names) this.#draining.delete(name);
        if (this.links.size === 0 && this.#draining.size === 0) this.dispose();
        return;
      case "want":
        this.#queueServed(frame.n)?.want(frame.b === 1);
        return;
      case "uncredit":
        this.#queueServed(frame.n)?.uncredit(frame.k);
        return;
      case "pull":
        this.#queueServed(frame.n)?.pull(frame.k);
        return;
      case "ack":
        this.#queueServed(frame.n)?.ack(frame.s);
        return;
      case "done":
        this.#queueServed(frame.n)?.done(frame.k);
        return;
      case "unpull":
        this.#queueServed(frame.n)?.unpull(frame.s);
        return;
    }
  }

  /**
   * Handles a frame the other side sent for a name closed here before it
   * heard of the close; returns false when the name is not closing.
   */
  #late(frame: Exclude<Extract<ClientFrame, { n: string }>, { t: "call" }>): boolean {
    const late = this.#draining.get(frame.n);
    if (late === undefined || this.served.has(frame.n)) return false;
    if (frame.t === "items") {
      // Put on credit before the other side heard of the close: still items, never dropped.
      for (const item of frame.v) late.queue.put(item).catch((error) => this.report(error));
    } else if (frame.t === "done") {
      // Tasks done before it heard of the close still count.
      const count = Math.min(frame.k, late.dones);
      late.dones -= count;
      try {
        for (let i = 0; i < count; i++) late.queue.taskDone();
      } catch (error) {
        this.report(error);
      }
    }
    // want, uncredit, pull, ack, unpull: the close gave back what they are about.
    return true;
  }

  #queueServed(name: string): Served | undefined {
    const served = this.#lookup(name);
    if (served === undefined) return undefined;
    if (!(served.primitive instanceof Queue)) {
      this.report(new TypeError(`"${name}" is not a queue`));
      return undefined;
    }
    return served;
  }

  #call(frame: Extract<ClientFrame, { t: "call" }>): void {
    const { id } = frame;
    const served = this.served.get(frame.n);
    if (served === undefined) {
      this.#reply(id, undefined, new LinkClosed(`"${frame.n}" is not served on this endpoint`));
      return;
    }
    const op = OPS[served.kind][frame.op];
    if (op === undefined) {
      this.#reply(
        id,
        undefined,
        new TypeError(`${served.kind} has no remote operation "${frame.op}"`),
      );
      return;
    }
    // Cancellable or not, a pending call is settled when its link closes: every
    // wait gets a signal, so closing removes the waiter and it takes nothing later.
    const controller = new AbortController();
    const options: WaitOptions = { signal: controller.signal };
    if (frame.to !== undefined) options.timeout = frame.to;
    let result: unknown;
    try {
      result = op(served.primitive as never, frame.a, options, served);
    } catch (error) {
      this.#reply(id, undefined, error);
      return;
    }
    if (!(result instanceof Promise)) {
      this.#reply(id, result, undefined, served, frame.op);
      return;
    }
    const pending: PendingCall = { controller, served };
    this.calls.set(id, pending);
    result.then((value) => {
      this.calls.delete(id);
      if (served.link.closed) undo(served, frame.op, value);
      else this.#reply(id, value, undefined, served, frame.op);
    }, (error) => {
      this.calls.delete(id);
      if (served.link.closed) {
        // A Condition wait aborted by the close re-acquired the lock before it
        // rejected (C-2): nobody is left to release it.
        if (
          frame.op === "wait" && served.primitive instanceof Condition &&
          error === controller.signal.reason
        ) {
          served.primitive.release();
        }
        return;
      }
      this.#reply(id, undefined, error, undefined, undefined, error === CANCELLED);
    });
  }

  #reply(
    id: number,
    value: unknown,
    error: unknown,
    served?: Served,
    op?: string,
    cancelled = false,
  ): void {
    if (error !== undefined) {
      this.outbox.push(
        cancelled
          ? { t: "err", id, e: serializeError(error), cancelled: 1 }
          : { t: "err", id, e: serializeError(error) },
      );
      return;
    }
    const carriesItem = served !== undefined && (op === "get" || op === "getNowait") &&
      served.primitive instanceof Queue;
    if (carriesItem) {
      // Inside the answer frame, a platform object (a URL) would be cloned as a
      // plain object instead of failing: check the item itself (W-3).
      const uncloneable = findUncloneable(value);
      if (uncloneable !== undefined) {
        undo(served, op, value); // back to the head
        this.outbox.push({ t: "err", id, e: serializeError(dataCloneError(uncloneable)) });
        return;
      }
      served.track(value); // in the same order as the frame goes out
    }
    this.outbox.push({ t: "ok", id, v: value }, (cloneError) => {
      // The answer cannot cross: undo what the operation did, and say why (W-3).
      if (carriesItem) served.untrack(value);
      else if (served !== undefined && op !== undefined) undo(served, op, value);
      this.outbox.push({
        t: "err",
        id,
        e: serializeError(cloneError ?? dataCloneError("the answer")),
      });
    });
  }

  closeLink(link: LinkImpl): void {
    this.links.delete(link);
    for (const [id, pending] of this.calls) {
      if (pending.served.link === link) {
        this.calls.delete(id);
        pending.controller.abort(new LinkClosed());
      }
    }
    for (const name of link.names) {
      const served = this.served.get(name);
      served?.close();
      this.served.delete(name);
      // Until the other side says it has heard of the close, items it put on
      // credit may still be on their way: they go into the queue as puts.
      if (served?.primitive instanceof Queue) {
        this.#draining.set(name, { queue: served.primitive, dones: served.lateDones });
      }
    }
    this.outbox.push({ t: "closed", names: [...link.names] });
    this.outbox.flush(); // the close goes out now, after every answer queued before it
    if (this.links.size === 0 && this.#draining.size === 0) this.dispose();
  }

  closeAll(): void {
    for (const link of [...this.links]) link.close();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.outbox.flush();
    this.outbox.close();
    this.#unlisten();
    this.endpoint.removeEventListener("error", this.#onWorkerError);
    const holder = this.endpoint as unknown as { [HUB]?: Hub };
    if (holder[HUB] === this) delete holder[HUB];
  }
}

/** The reason a pending call is aborted with when the other side cancels it. */
const CANCELLED = Object.freeze(new Error("cancelled by the caller"));

/**
 * Serves baton primitives that live in this thread to the thread at the
 * other end of `endpoint` (a `Worker`, a `MessagePort`, a worker's `self`),
 * where {@linkcode connect} builds proxies for them.
 *
 * Queues stream: a remote producer writes ahead on credits granted from free
 * capacity, a remote consumer prefetches a bounded number of items, and
 * messages of one turn travel in one batch. `maxsize` backpressure stays
 * exact in aggregate: items in flight either way keep their slots.
 *
 * Serve everything an endpoint needs in the same turn (or before the other
 * side connects): the other side learns the names from one manifest.
 *
 * @param endpoint Where the other side listens.
 * @param primitives The primitives by name; a name may be served once per endpoint.
 * @param options `onError` for problems no caller can be told of.
 * @returns The link; close it (or `using`) to stop serving.
 * @throws {Error} when a name is already served on `endpoint`.
 * @throws {TypeError} for something that is not a baton primitive.
 *
 * @example
 * ```ts
 * import { Event, Queue } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * // A MessageChannel stands in for a worker here; with a Worker, pass it to
 * // serve() and call connect(self) inside the worker module.
 * const { port1, port2 } = new MessageChannel();
 * const jobs = new Queue<number>(10);
 * const link = serve(port1, { jobs, done: new Event() });
 * const remote = await connect<{ jobs: Queue<number>; done: Event }>(port2);
 * await remote.jobs.put(42);
 * console.log(await jobs.get()); // 42
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export function serve(
  endpoint: Endpoint,
  primitives: Record<string, Servable>,
  options: ServeOptions = {},
): Link {
  if (
    endpoint === null || typeof endpoint !== "object" || typeof endpoint.postMessage !== "function"
  ) {
    throw new TypeError("serve() takes an endpoint with postMessage and addEventListener");
  }
  if (primitives === null || typeof primitives !== "object") {
    throw new TypeError("serve() takes an object of primitives by name");
  }
  const onError = options.onError ?? ((error: unknown) => console.error("baton serve:", error));
  return Hub.of(endpoint, onError).add(primitives);
}
