/**
 * The remote side of a queue streamed over one link: puts write ahead on
 * credits the owner granted (the producer half, `remote_producer.ts`), gets
 * take from items the owner sent ahead, in the order it sent them (its
 * seq), and say which they took (acks) or give back (returns) by seq. See
 * `PROTOCOL.md` for the states.
 *
 * @module
 */

import { Deque } from "../../_deque.ts";
import { iteratorOf, NOTHING, readableOf, writableOf } from "../../_streams.ts";
import { checkWaitOptions, WaitList, type WaitOptions } from "../../_waiters.ts";
import { LinkClosed, QueueEmpty, QueueShutDown } from "../../errors.ts";
import type { RemoteQueue } from "../remote.ts";
import { ProxyProducer } from "./remote_producer.ts";
import { dropTransit, giveBackTransit } from "../transit.ts";
import { waitable } from "../wait.ts";
import type { Outbox } from "../outbox.ts";
import type { CallerFrame, Entry } from "../wire.ts";

/** A batch drained sooner than this after it arrived means the consumer is fast. */
const FAST_DRAIN_MS = 1;
/** A batch drained later than this means the consumer is slow. */
const SLOW_DRAIN_MS = 20;

/** What a queue proxy needs of its connection. */
export interface ProxyHost {
  readonly outbox: Outbox;
  readonly prefetch: number;
  /** Whether the endpoint can carry a `SharedArrayBuffer` to the owner (see `Peer.sharesMemory`). */
  readonly sharesMemory: boolean;
  report(error: unknown): void;
  /**
   * Calls `op` on the owner. For a get, `onItem` takes the answer (its seq
   * and item) synchronously as it arrives and gives what the call resolves with.
   */
  call(
    name: string,
    op: string,
    args: unknown[],
    options?: WaitOptions,
    onItem?: (seq: number, value: unknown) => unknown,
  ): Promise<unknown>;
}

/** An item the owner sent, or the error that stands in its place. */
type ReturnFrame = Extract<CallerFrame, { type: "return" }>;

type Received = {
  seq: number;
  value: unknown;
  error?: undefined;
  /** The answer of a get call here: the owner keeps it on a return, so it stays here too. */
  direct?: true;
} | {
  seq: number;
  error: Error;
  value?: undefined;
  direct?: undefined;
};

/** Why a `ready` call to the owner is cancelled: this side became ready first. */
const READY_HERE = Object.freeze(new Error("ready on this side"));

/** The proxy of one served queue. */
export class QueueProxy {
  readonly face: RemoteQueue<unknown>;
  readonly #host: ProxyHost;
  /** The peer's outbox (it never changes): read once, not through the host on every get. */
  readonly #outbox: Outbox;
  readonly #name: string;
  readonly #kind: "Queue" | "LifoQueue" | "PriorityQueue";
  readonly #prefetch: number;
  #closed = false;
  #discarding = false;
  readonly #producer: ProxyProducer;
  // ---- get side ----
  /** Items a cancelled stream's read was handed: this side's next gets return them first. */
  #leftover: unknown[] = [];
  #received = new Deque<Received>();
  #getters: WaitList<unknown>;
  /** Items asked for ahead and not yet arrived. */
  #outstanding = 0;
  /** Items asked for ahead now: grows while this side drains batches fast, shrinks while slow. */
  #window = 1;
  #lastArrival = -Infinity;
  /** Returns the owner has not confirmed: items that arrive meanwhile went back to its queue. */
  #returning = 0;
  /**
   * Direct gets not answered yet. They were called before every get waiting
   * here (a direct get goes out only while none waits), so items sent ahead
   * wait for their answers: the earliest get takes the earliest item (W-2).
   */
  #directPending = 0;
  #ended = false;
  /** Every item before this seq was taken by this side's code (or went back). */
  #takenBefore = 0;
  /** The highest seq that arrived: seqs only grow. */
  #lastSeq = -1;
  #ackFrame: { type: "ack"; name: string; seq: number } | undefined;
  #doneFrame: { type: "done"; name: string; count: number } | undefined;
  /** Items this side took and has not marked done: those taskDone calls need no round trip. */
  #undone = 0;
  /** `ready` calls to stop once a get here would not wait (`wait`, M-1). */
  #readyWatchers: Set<() => void> | undefined;

  constructor(host: ProxyHost, name: string, entry: Entry) {
    this.#host = host;
    this.#outbox = host.outbox;
    this.#name = name;
    this.#kind = entry.kind as "Queue" | "LifoQueue" | "PriorityQueue";
    // A compare function may throw on put, and only a call can report that: no credit for it.
    this.#producer = new ProxyProducer(host, name, this.#kind !== "PriorityQueue");
    this.#prefetch = this.#kind === "Queue" ? host.prefetch : 0;
    this.#getters = new WaitList<unknown>({
      onTimeout: () => {
        // Once drained, every waiting get is rejected at once: the QueueShutDown side is a guard.
        // deno-coverage-ignore
        throw this.#drained() ? new QueueShutDown() : new QueueEmpty();
      },
      onCancel: () => this.#withdraw(),
    });
    const call = (op: string, args: unknown[] = [], options?: WaitOptions) =>
      this.#closed ? Promise.reject(new LinkClosed()) : host.call(name, op, args, options);
    const face = {
      kind: this.#kind,
      maxsize: entry.constants.maxsize as number,
      put: (item: unknown, options?: WaitOptions) => this.#producer.put(item, options),
      putNowait: (item: unknown) => this.#producer.putNowait(item),
      get: (options?: WaitOptions) => this.get(options),
      getNowait: () => this.getNowait(),
      qsize: () => call("qsize") as Promise<number>,
      empty: () => call("empty") as Promise<boolean>,
      full: () => call("full") as Promise<boolean>,
      taskDone: () => this.taskDone(),
      join: (options?: WaitOptions) => call("join", [], options) as Promise<boolean>,
      shutdown: (immediate = false) => call("shutdown", [immediate === true]) as Promise<void>,
      [Symbol.asyncIterator]: () => this.#iterator(),
      toReadableStream: () =>
        readableOf((options) => this.get(options), (item) => this.#keep(item)),
      toWritableStream: () =>
        writableOf<unknown>(
          (item) => this.#producer.put(item),
          (immediate) => call("shutdown", [immediate]),
        ),
    };
    Object.defineProperty(face, "isShutdown", { get: () => call("isShutdown"), enumerable: true });
    Object.defineProperty(face, "unfinishedTasks", {
      get: () => call("unfinishedTasks"),
      enumerable: true,
    });
    this.face = face as RemoteQueue<unknown>;
    waitable(this.face, (options) => this.ready(options));
  }

  // ---- put: the producer half ----

  credit(count: number): void {
    this.#producer.credit(count);
  }

  reclaim(): void {
    this.#producer.reclaim();
  }

  // ---- get ----

  #drained(): boolean {
    return this.#ended && this.#received.length === 0 && this.#leftover.length === 0;
  }

  get(options?: WaitOptions): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#drained()) return Promise.reject(new QueueShutDown());
    // A bad argument or an aborted signal wins over an item at hand (Conventions).
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    if (this.#leftover.length > 0) return Promise.resolve(this.#leftover.shift());
    if (this.#atHand()) return this.#take();
    if (this.#prefetch === 0) return this.#direct("get", options);
    if (options?.timeout === 0) return this.#getNowaitCall();
    this.#adapt();
    this.#pull();
    const waiting = this.#getters.wait(options, undefined);
    // This consumer stops until items come: its acks and pulls leave now.
    this.#outbox.flush();
    return waiting;
  }

  getNowait(): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#leftover.length > 0) return Promise.resolve(this.#leftover.shift());
    if (this.#drained()) return Promise.reject(new QueueShutDown());
    if (this.#atHand()) return this.#take();
    return this.#getNowaitCall();
  }

  /**
   * A get that must not wait and finds nothing here. While this side's own
   * earlier gets wait, it is empty from here: asking the owner could let
   * this get overtake them.
   */
  #getNowaitCall(): Promise<unknown> {
    if (this.#getters.size > 0) return Promise.reject(new QueueEmpty());
    return this.#direct("getNowait");
  }

  /**
   * Whether a get called now takes an item received here. Not while a direct
   * get is out: it was called first, so the item received first is its own
   * (a later get would otherwise take an earlier item of the same producer).
   */
  #atHand(): boolean {
    return this.#received.length > 0 && this.#directPending === 0;
  }

  /**
   * A get served in the owner's thread: its answer is the stream's next item.
   * Items sent ahead that arrive before the answer go first: the answer
   * takes the earliest item received, and its own item stays for the next get.
   */
  #direct(op: string, options?: WaitOptions): Promise<unknown> {
    this.#directPending++;
    let pending = true;
    const answered = (seq: number, value: unknown): unknown => {
      pending = false;
      this.#directPending--;
      if (this.#discarding) {
        // Sent before the owner read the shutdown(true) return: it discards this one too (W-12).
        this.#giveBack();
        throw new QueueShutDown();
      }
      this.#arrive({ seq, value, direct: true });
      // Items that arrived first go out first: seq order.
      const received = this.#received.shift()!;
      this.#taken(received.seq);
      this.#pull();
      this.#handOut();
      if (received.error !== undefined) throw received.error;
      return received.value;
    };
    const answer = this.#host.call(this.#name, op, [], options, answered);
    this.#outbox.hurry(); // this get waits for its answer
    return answer.catch((error) => {
      // An answer that carried an item was counted when it arrived.
      if (pending) {
        pending = false;
        this.#directPending--;
        this.#handOut();
      }
      throw error;
    });
  }

  /** Hands the next received item to this side's code (or rejects with its error). */
  #take(): Promise<unknown> {
    const received = this.#received.shift()!;
    this.#taken(received.seq);
    this.#pull();
    return received.error === undefined
      ? Promise.resolve(received.value)
      : Promise.reject(received.error);
  }

  /** This side's code took the item `seq` (or met its error): one ack frame per turn. */
  #taken(seq: number): void {
    this.#takenBefore = seq + 1;
    this.#undone++;
    if (this.#closed) return;
    const frame = this.#ackFrame;
    if (frame !== undefined && this.#outbox.last() === frame) {
      frame.seq = seq + 1; // still unsent
      this.#outbox.touch();
      return;
    }
    // Acks ride with the next frame (the next get's call or pull), or leave at the end of the turn.
    this.#ackFrame = this.#outbox.push(
      { type: "ack", name: this.#name, seq: seq + 1 },
      undefined,
      true,
    );
  }

  #arrive(received: Received): void {
    if (received.seq <= this.#lastSeq) {
      this.#host.report(
        new TypeError(`baton: "${this.#name}" item #${received.seq} arrived twice`),
      );
      return;
    }
    this.#lastSeq = received.seq;
    this.#received.push(received);
  }

  /**
   * This side runs out of items and must wait. If it drained the last batch
   * quickly, ask for twice as many ahead (up to `prefetch`); if it was slow,
   * half as many: slow consumers take one item at a time and leave the rest
   * to their peers, fast ones stream in large batches.
   */
  #adapt(): void {
    const sinceArrival = performance.now() - this.#lastArrival;
    if (sinceArrival < FAST_DRAIN_MS) this.#window = Math.min(this.#prefetch, this.#window * 2);
    else if (sinceArrival > SLOW_DRAIN_MS) this.#window = Math.max(1, Math.floor(this.#window / 2));
  }

  #pull(): void {
    if (this.#prefetch === 0 || this.#ended || this.#closed) return;
    const held = this.#received.length + this.#outstanding;
    if (held > this.#window / 2) return;
    const count = this.#window - held;
    this.#outstanding += count;
    this.#outbox.push({ type: "pull", name: this.#name, count });
  }

  /**
   * The last waiting get timed out or was aborted: cancel what is left of
   * the pulls, so the owner takes no later item for a getter that is gone
   * while its own getters wait. Items already sent stay here for the
   * next get: giving them back could hand them to a consumer that already
   * took a later item of the same producer (W-2).
   */
  #withdraw(): void {
    if (this.#getters.size > 0 || this.#outstanding === 0 || this.#closed || this.#ended) return;
    this.#outbox.push({ type: "unpull", name: this.#name });
  }

  /** The owner dropped `cancelled` units of this side's pull demand. */
  unpulled(cancelled: number): void {
    this.#dropDemand(cancelled);
    this.#pullForWaiting();
  }

  /**
   * Gets that started while demand was being dropped (an `unpull` or a
   * `return` on its way) found it still counted and asked for nothing: now
   * that the owner answered, they ask (W-2).
   */
  #pullForWaiting(): void {
    if (this.#getters.size > 0 && this.#returning === 0) this.#pull();
  }

  #dropDemand(cancelled: number): void {
    this.#outstanding -= cancelled;
    if (this.#outstanding < 0) {
      this.#host.report(
        new TypeError(`baton: "${this.#name}" had ${-this.#outstanding} too few pulls`),
      );
      this.#outstanding = 0;
    }
  }

  /**
   * Gives back every item received and not taken, and every item on its
   * way; but the answer of a get call here (one that arrived behind an item
   * sent ahead) stays for the next get, as the owner keeps it (W-8), unless
   * the queue was discarded, when the owner takes it back too (W-12).
   */
  #giveBack(): void {
    // The pipe ends of the items given back go back with them (W-8); their proxies close.
    const ends: [number, (MessagePort | null)[]][] = [];
    const transfer: MessagePort[] = [];
    const kept: Received[] = [];
    for (const received of this.#received) {
      if (received.direct === true && !this.#discarding) {
        kept.push(received);
        continue;
      }
      const ports = giveBackTransit(received.value);
      if (ports === undefined) continue;
      ends.push([received.seq, ports]);
      for (const port of ports) if (port !== null) transfer.push(port);
    }
    this.#received.clear();
    for (const received of kept) this.#received.push(received);
    this.#returning++;
    const frame: ReturnFrame = { type: "return", name: this.#name, seq: this.#takenBefore };
    if (ends.length > 0) frame.ends = ends;
    this.#outbox.push(frame, transfer);
  }

  /** Drops the items received and not taken: their proxies and pipe ends close now. */
  #dropReceived(): void {
    for (const received of this.#received) dropTransit(received.value);
    this.#received.clear();
  }

  /** Items the owner sent ahead, from `seq` on. */
  items(seq: number, values: unknown[]): void {
    if (this.#closed || this.#discarding) return;
    // Each item fulfils a unit of pull demand, also one dropped below: the owner's `returned`
    // counts only the demand it had left (else gets that wait here would never pull again).
    this.#outstanding -= values.length;
    if (this.#outstanding < 0) {
      // More than was asked for: the owner is not baton's, or broken. The items are kept (they exist).
      this.#host.report(
        new TypeError(`baton: "${this.#name}" got ${-this.#outstanding} items unasked`),
      );
      this.#outstanding = 0;
    }
    // Sent before the owner read a return: already back in its queue.
    if (this.#returning > 0) {
      for (const value of values) dropTransit(value);
      return;
    }
    this.#lastArrival = performance.now();
    for (let i = 0; i < values.length; i++) this.#arrive({ seq: seq + i, value: values[i] });
    this.#handOut();
  }

  /**
   * Hands the items received to the gets waiting here, in seq order and in
   * the order the gets were called, once no earlier direct get is out; then
   * pulls for the gets still waiting, or ends them when the stream ended.
   */
  #handOut(): void {
    if (this.#directPending === 0) {
      while (this.#getters.size > 0 && this.#received.length > 0) {
        const received = this.#received.shift()!;
        this.#taken(received.seq);
        const getter = this.#getters.shift()!;
        if (received.error === undefined) getter.resolve(received.value);
        else getter.reject(received.error);
      }
      // The owner ends the stream only once every item it sent was taken or came back, so `end`
      // finds nothing here and rejects the waiting gets itself: a guard.
      // deno-coverage-ignore
      if (this.#getters.size > 0 && this.#drained()) this.#getters.rejectAll(new QueueShutDown());
    }
    if (this.#getters.size > 0) this.#pull();
    this.#wakeReady();
  }

  /** The item `seq` could not be sent: it is back at the owner's head; the get meant for it fails. */
  itemError(seq: number, error: Error, cancelled: number): void {
    this.#dropDemand(cancelled); // the owner stopped serving this side's pulls
    if (this.#closed || this.#discarding || this.#returning > 0) return;
    this.#arrive({ seq, error });
    this.items(seq + 1, []);
  }

  /** The owner confirmed a return, and dropped `cancelled` units of pull demand. */
  returned(cancelled: number): void {
    if (this.#returning === 0) {
      this.#host.report(
        new TypeError(`baton: "${this.#name}" got a returned notice for no return`),
      );
      return;
    }
    this.#returning--;
    this.#dropDemand(cancelled);
    this.#pullForWaiting();
  }

  end(): void {
    this.#ended = true;
    this.#outstanding = 0;
    if (this.#received.length === 0) this.#getters.rejectAll(new QueueShutDown());
    this.#wakeReady();
  }

  shutdownNotice(immediate: boolean): void {
    this.#producer.shutdownNotice();
    if (!immediate || this.#discarding) return;
    // The owner discarded what was queued; what was sent here goes the same way (W-12).
    this.#discarding = true;
    this.#ended = true;
    this.#getters.rejectAll(new QueueShutDown());
    this.#giveBack();
    this.#wakeReady();
  }

  // ---- readiness (wait, M-1) ----

  /** Whether a get here settles without asking the owner. */
  #readyHere(): boolean {
    return this.#closed || this.#leftover.length > 0 || this.#atHand() || this.#drained();
  }

  /**
   * Resolves true once a `get` here would not wait, false when the timeout
   * runs out first. Only the owner knows what is stored in its queue: a
   * `ready` call asks it, and is cancelled if an item (or the end) reaches
   * this side first. A closed link counts as ready: `get` rejects at once.
   */
  ready(options: WaitOptions = {}): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    if (this.#readyHere()) return Promise.resolve(true);
    const signal = options.signal;
    // Cancels the call at the owner; this promise settles at once, not when the owner answers.
    const asking = new AbortController();
    return new Promise<boolean>((resolve, reject) => {
      const done = () => {
        this.#readyWatchers?.delete(wake);
        signal?.removeEventListener("abort", aborted);
      };
      const wake = () => {
        done();
        asking.abort(READY_HERE);
        resolve(true);
      };
      const aborted = () => {
        done();
        asking.abort(signal!.reason);
        reject(signal!.reason);
      };
      (this.#readyWatchers ??= new Set()).add(wake);
      signal?.addEventListener("abort", aborted, { once: true });
      const callOptions: WaitOptions = { signal: asking.signal };
      if (options.timeout !== undefined) callOptions.timeout = options.timeout;
      this.#host.call(this.#name, "ready", [], callOptions).then((ready) => {
        done();
        resolve(ready === true || this.#readyHere());
      }, (failure) => {
        done();
        if (failure instanceof LinkClosed) resolve(true); // get rejects at once
        else reject(failure); // nothing when settled already (woken or aborted)
      });
    });
  }

  #wakeReady(): void {
    const watchers = this.#readyWatchers;
    if (watchers === undefined || !this.#readyHere()) return;
    this.#readyWatchers = undefined;
    for (const wake of watchers) wake();
  }

  // ---- tasks ----

  taskDone(): Promise<void> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#undone > 0) {
      // Certainly valid: this side took the item. One count per turn, no round trip.
      this.#undone--;
      const frame = this.#doneFrame;
      if (frame !== undefined && this.#outbox.last() === frame) {
        frame.count++;
        this.#outbox.touch();
      } else {
        const done = { type: "done" as const, name: this.#name, count: 1 };
        this.#doneFrame = this.#outbox.push(done, undefined, true); // rides with the next frame
      }
      return Promise.resolve();
    }
    return this.#host.call(this.#name, "taskDone", []) as Promise<void>;
  }

  #iterator(): AsyncIterator<unknown> {
    return iteratorOf(
      (options) => this.get(options),
      (item) => this.#keep(item),
      () => {
        // An item at hand is the step's result at once: what get() would take, without
        // a second promise and its turn (the common step of a stream that keeps up).
        if (this.#closed || this.#leftover.length !== 0 || !this.#atHand()) return NOTHING;
        const received = this.#received.peekFront()!;
        if (received.error !== undefined) return NOTHING; // get() rejects with it
        this.#received.shift();
        this.#taken(received.seq);
        this.#pull();
        return received.value;
      },
      () => {
        // The loop is left: what was fetched ahead for it goes back to the queue.
        if (
          this.#getters.size === 0 && this.#directPending === 0 && !this.#closed &&
          !this.#ended && (this.#received.length > 0 || this.#outstanding > 0)
        ) this.#giveBack();
      },
    );
  }

  /** An item handed to a step given up as it came: the next get takes it. */
  #keep(item: unknown): void {
    this.#leftover.push(item);
    this.#wakeReady();
  }

  // ---- teardown ----

  /** This side is closing: give back what it holds, before its bye. */
  leave(): void {
    if (this.#closed) return;
    this.#producer.leave();
    if (this.#prefetch > 0 && (this.#received.length > 0 || this.#outstanding > 0)) {
      this.#giveBack();
    }
  }

  /** The link of this name closed. */
  closed(): void {
    this.#closed = true;
    this.#dropReceived();
    this.#producer.closed();
    this.#getters.rejectAll(new LinkClosed());
    // Pending ready calls are rejected LinkClosed next, which counts as ready.
  }
}
