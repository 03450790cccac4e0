/**
 * The wire of baton's cross-worker adapters: the envelope, the frames and
 * their schemas, errors across the boundary, and the outbox that batches the
 * frames of one turn. `PROTOCOL.md` beside this file describes it for people.
 *
 * Every message baton posts is one envelope `{ "@baton": 2, peer, seq,
 * frames }`: `peer` is the sending peer's random id and `seq` numbers its
 * envelopes from 0, so a replayed, duplicated or forged envelope is refused
 * before any frame in it is read. Anything without the `@baton` key is not
 * baton's and is ignored (W-4).
 *
 * @module
 */

import {
  BrokenBarrierError,
  LinkClosed,
  PipeClosed,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
} from "../errors.ts";
import { encodeFrames } from "./travel.ts";

/** The key that marks baton's messages, and the protocol version. */
export const TAG = "@baton";
export const VERSION = 2;

/** Put credits granted to one remote producer of one queue at a time. */
export const CREDIT_WINDOW = 1024;

/** The most items one frame may carry (a larger batch is refused, W-10). */
export const MAX_ITEMS = 4096;

/**
 * What baton needs of a message endpoint: a `Worker`, a `MessagePort`, or a
 * worker's `self` (DOM events: `addEventListener`), or Node's
 * `worker_threads` `Worker` (an EventEmitter: `on`/`off`). Node's
 * `MessagePort` and `parentPort` have both.
 *
 * @example
 * ```ts
 * import type { Endpoint } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const endpoint: Endpoint = port1;
 * port1.close();
 * port2.close();
 * console.log(typeof endpoint.postMessage); // "function"
 * ```
 */
export interface Endpoint {
  /**
   * Posts a message to the other side, with what it moves (typed `never[]`
   * so that both the DOM's and Node's `Transferable` lists fit).
   */
  postMessage(message: unknown, transfer: never[]): void;
  /** Listens for messages (and, on a `Worker`, for `"error"`). */
  addEventListener?(type: string, listener: (event: Event) => void): void;
  /** Stops listening. */
  removeEventListener?(type: string, listener: (event: Event) => void): void;
  /** Node's EventEmitter style, used when `addEventListener` is missing: `"message"` and `"exit"`. */
  on?(type: string, listener: (...args: never[]) => void): unknown;
  /** Stops listening, Node's EventEmitter style. */
  off?(type: string, listener: (...args: never[]) => void): unknown;
  /** Present on a `MessagePort`: starts delivery. */
  start?: () => void;
}

/** The kinds of primitive that can be served. */
export type Kind =
  | "Queue"
  | "LifoQueue"
  | "PriorityQueue"
  | "Lock"
  | "Condition"
  | "Event"
  | "Semaphore"
  | "BoundedSemaphore"
  | "Barrier"
  | "PeriodicTimer"
  | "Connection";

/** What `serve` tells `connect` about one served name. */
export interface Entry {
  kind: Kind;
  /** Constant properties (`maxsize`, `parties`, `initialValue`, ...). */
  constants: Record<string, number | boolean | string>;
  /** For a pipe connection: the port carrying it. */
  port?: MessagePort;
}

/** An error as it crosses the boundary. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

/** Frames a caller sends to the side that serves (the owner). */
export type CallerFrame =
  | { type: "hello" }
  | { type: "bye" }
  | {
    type: "call";
    id: number;
    name: string;
    op: string;
    args: unknown[];
    timeout?: number;
    cancellable?: true;
  }
  | { type: "cancel"; id: number }
  | { type: "put"; name: string; items: unknown[] }
  | { type: "want"; name: string; blocked: boolean }
  | { type: "uncredit"; name: string; count: number }
  | { type: "pull"; name: string; count: number }
  /** Cancels what is left of the pulls; items already sent stay with the caller. */
  | { type: "unpull"; name: string }
  /** Every item before `seq` was taken by the caller's code. */
  | { type: "ack"; name: string; seq: number }
  /** Same, and every later item sent goes back. */
  | { type: "return"; name: string; seq: number }
  | { type: "done"; name: string; count: number }
  | { type: "gone"; names: string[] }
  /** Serve the primitive of `name` on `port` too: a proxy of it travels on (W-14). */
  | { type: "attach"; name: string; port: MessagePort };

/** Frames the owner sends to a caller. */
export type OwnerFrame =
  | { type: "manifest"; entries: Record<string, Entry>; reply: boolean }
  | { type: "result"; id: number; value: unknown; seq?: number }
  | { type: "error"; id: number; error: WireError; cancelled?: true }
  | { type: "credit"; name: string; count: number }
  | { type: "reclaim"; name: string }
  | { type: "items"; name: string; seq: number; items: unknown[] }
  /** The item `seq` could not be sent; `cancelled` units of pull demand were dropped with it. */
  | { type: "itemError"; name: string; seq: number; error: WireError; cancelled: number }
  /** Answers a return; `cancelled` units of pull demand were dropped. */
  | { type: "returned"; name: string; cancelled: number }
  /** Answers an unpull: `cancelled` units of pull demand were dropped. */
  | { type: "unpulled"; name: string; cancelled: number }
  | { type: "end"; name: string }
  | { type: "shutdown"; name: string; immediate: boolean }
  | { type: "closed"; names: string[] };

/** Any frame. */
export type Frame = CallerFrame | OwnerFrame;

/** The frame types a caller sends: the rest are the owner's. */
export const CALLER_TYPES: ReadonlySet<string> = new Set([
  "hello",
  "bye",
  "call",
  "cancel",
  "put",
  "want",
  "uncredit",
  "pull",
  "unpull",
  "ack",
  "return",
  "done",
  "gone",
  "attach",
]);

// ---- schemas (W-10) ----

type Check = (value: unknown) => boolean;

const name: Check = (value) => typeof value === "string" && value.length > 0;
const names: Check = (value) => Array.isArray(value) && value.every(name);
/** A count or id: a non-negative safe integer. */
export const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const count: Check = isCount;
const bool: Check = (value) => typeof value === "boolean";
const yes: Check = (value) => value === true;
const any: Check = () => true;
const items: Check = (value) => Array.isArray(value) && value.length <= MAX_ITEMS;
const list: Check = (value) => Array.isArray(value);
const timeout: Check = (value) => typeof value === "number" && value >= 0; // NaN fails
const wireError: Check = (value) =>
  typeof value === "object" && value !== null &&
  typeof (value as WireError).name === "string" &&
  typeof (value as WireError).message === "string";
const port: Check = (value) => typeof MessagePort === "function" && value instanceof MessagePort;
const entries: Check = (value) =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Each frame type's fields: required ones, then optional ones (after `?`). */
const SCHEMAS: Record<string, Record<string, Check>> = {
  hello: {},
  bye: {},
  call: { id: count, name, op: name, args: list, "?timeout": timeout, "?cancellable": yes },
  cancel: { id: count },
  put: { name, items },
  want: { name, blocked: bool },
  uncredit: { name, count },
  pull: { name, count },
  unpull: { name },
  ack: { name, seq: count },
  return: { name, seq: count },
  done: { name, count },
  gone: { names },
  attach: { name, port },
  manifest: { entries, reply: bool },
  result: { id: count, value: any, "?seq": count },
  error: { id: count, error: wireError, "?cancelled": yes },
  credit: { name, count },
  reclaim: { name },
  items: { name, seq: count, items },
  itemError: { name, seq: count, error: wireError, cancelled: count },
  returned: { name, cancelled: count },
  unpulled: { name, cancelled: count },
  end: { name },
  shutdown: { name, immediate: bool },
  closed: { names },
};

/** The schemas as lists of `[field, optional, check]`, read once: every message runs them. */
const FIELDS: ReadonlyMap<string, readonly (readonly [string, boolean, Check])[]> = new Map(
  Object.entries(SCHEMAS).map(([type, schema]) => [
    type,
    Object.entries(schema).map(([key, check]) =>
      key.startsWith("?") ? [key.slice(1), true, check] as const : [key, false, check] as const
    ),
  ]),
);

/** Says what is wrong with a frame, or `undefined` when it fits its schema. */
export function checkFrame(frame: unknown): string | undefined {
  if (typeof frame !== "object" || frame === null) return "a frame that is not an object";
  const type = (frame as { type?: unknown }).type;
  const fields = typeof type === "string" ? FIELDS.get(type) : undefined;
  if (fields === undefined) return `an unknown frame type ${JSON.stringify(String(type))}`;
  for (const [field, optional, check] of fields) {
    const value = (frame as Record<string, unknown>)[field];
    if (optional && value === undefined) continue;
    if (!check(value)) return `a ${type} frame with a bad ${field}`;
  }
  return undefined;
}

/** An envelope as posted. */
export interface Envelope {
  [TAG]: typeof VERSION;
  peer: string;
  seq: number;
  frames: Frame[];
  /** Some frame carries a travelling primitive (W-14): the receiver decodes its tokens. */
  travel?: true;
}

/**
 * Reads a message: `undefined` when it is not baton's (W-4), a string when it
 * is baton's but malformed, else the envelope (its frames not yet checked).
 */
export function readEnvelope(data: unknown): Envelope | string | undefined {
  if (typeof data !== "object" || data === null || !(TAG in data)) return undefined;
  const envelope = data as Partial<Envelope>;
  if (envelope[TAG] !== VERSION) {
    return `a baton message of protocol version ${String(envelope[TAG])} (this is ${VERSION})`;
  }
  if (typeof envelope.peer !== "string" || envelope.peer.length === 0) {
    return "a baton message without a peer id";
  }
  if (!isCount(envelope.seq)) return "a baton message without a sequence number";
  if (!Array.isArray(envelope.frames)) return "a baton message without frames";
  return envelope as Envelope;
}

// ---- errors across the boundary (W-7) ----

const ERROR_CLASSES: Record<string, new (message?: string) => Error> = {
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  BrokenBarrierError,
  PipeClosed,
  LinkClosed,
  Error,
  RangeError,
  TypeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Turns anything thrown into a cloneable description. */
export function serializeError(error: unknown): WireError {
  if (error instanceof Error || error instanceof DOMException) {
    const wire: WireError = { name: String(error.name), message: String(error.message) };
    if (typeof error.stack === "string") wire.stack = error.stack;
    return wire;
  }
  return { name: "Error", message: String(error) };
}

/** Rebuilds an error as baton's own class, a built-in one, or a `DOMException`. */
export function deserializeError(wire: WireError): Error {
  const Class = Object.hasOwn(ERROR_CLASSES, wire.name) ? ERROR_CLASSES[wire.name] : undefined;
  let error: Error;
  if (Class !== undefined) {
    error = new Class(wire.message);
  } else if (/^[A-Z][A-Za-z]*Error$/.test(wire.name)) {
    // DataCloneError, AbortError, TimeoutError, ... travel as DOMException names.
    error = new DOMException(wire.message, wire.name);
  } else {
    error = new Error(wire.message);
    error.name = wire.name;
  }
  if (typeof wire.stack === "string") {
    try {
      Object.defineProperty(error, "stack", {
        value: wire.stack,
        configurable: true,
        writable: true,
      });
      // deno-coverage-ignore
    } catch {
      // a DOMException's stack may not be redefinable (not so on Deno); the message is what matters
    }
  }
  return error;
}

// ---- batching ----

/** Runs `task` after the current turn's microtasks: a few µs, unlike `setTimeout(0)`. */
export const afterTurn: (task: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (task: () => void) => unknown }).setImmediate;
  if (typeof immediate === "function") return (task: () => void) => void immediate(task);
  return (task: () => void) => void setTimeout(task, 0);
})();

/**
 * Items an envelope holds before it is posted at once, not at the end of the
 * turn: small enough that a consumer starts on one batch while its producer
 * fills the next (measured best between 128 and 512 here).
 */
const MAX_BATCH = 256;

/**
 * A frame queued when nothing was posted for this long (ms), nor heard
 * since, leaves unless more are queued in the same step: a put or a call on
 * an idle link waits one microtask, not three. Streams post far more often.
 */
const IDLE_MS = 0.5;

/** Microtasks without a new frame or item after which a batch leaves at once. */
const QUIET_TICKS = 3;
/** Microtasks a batch is watched for before it is left to the end of the turn. */
const MAX_PROBES = 32;

/** Frames to post, with the ports they move. */
interface Pending {
  frame: Frame;
  transfer?: Transferable[];
}

/**
 * Collects the frames of one burst of work into one envelope, posted once
 * the program has gone idle (`#probe`), after one microtask when the link
 * was quiet ({@linkcode IDLE_MS}), at once past {@linkcode MAX_BATCH}
 * items or on `flush()`, and at the end of the turn at the latest. Items
 * are checked before they join a frame (see `clone.ts`), so a post that
 * throws is a fault of the endpoint, reported and never retried.
 */
export class Outbox {
  #endpoint: Endpoint;
  #post: (message: unknown, transfer: Transferable[]) => void;
  #peer: string;
  #seq = 0;
  #frames: Pending[] = [];
  /** The last frame queued, while unsent (read on every put: kept, not looked up). */
  #last: Frame | undefined;
  #count = 0;
  /** A post at the end of the turn is scheduled. */
  #turnScheduled = false;
  /** A post at the end of the turn will be scheduled in a microtask or two. */
  #turnSoon = false;
  /** A microtask of the watch (see `#probe`) is queued. */
  #probing = false;
  /** The watch gave up on this batch: it leaves at MAX_BATCH or the end of the turn. */
  #gaveUp = false;
  /** This batch began after a quiet spell: it leaves after one microtask (or `postIfIdle`). */
  #idleBatch = false;
  /** Counts every frame queued and every change to a queued one: the probe's clock. */
  #activity = 0;
  #seen = 0;
  #quiet = 0;
  #probes = 0;
  /** When the last envelope was posted (ms). */
  #lastPost = -Infinity;
  /** An envelope arrived since the last post. */
  #heard = false;
  /** Called at the next flush, before it posts: last-moment frames (credit top-ups). */
  #beforeFlush: (() => void)[] = [];
  #closed = false;
  /** A frame queued now holds a travelling copy (`Travelling`): the flush encodes it. */
  #travel = false;
  #onError: (error: unknown) => void;

  constructor(
    endpoint: Endpoint,
    peer: string,
    post: (message: unknown, transfer: Transferable[]) => void,
    onError: (error: unknown) => void,
  ) {
    this.#endpoint = endpoint;
    this.#post = post;
    this.#peer = peer;
    this.#onError = onError;
  }

  /** Whether nothing is waiting to be posted. */
  get empty(): boolean {
    return this.#frames.length === 0 && this.#beforeFlush.length === 0;
  }

  /**
   * Queues a frame for this turn's envelope; returns it, so items can be
   * appended while unsent. It leaves as soon as the program goes idle (see
   * `#probe`), unless it is `lazy`: then it rides with the next frame, or
   * leaves at the end of the turn (acknowledgements, done counts).
   */
  push<F extends Frame>(frame: F, transfer?: Transferable[], lazy = false): F {
    // Both sides stop pushing before their outbox closes: a guard against a late callback.
    // deno-coverage-ignore
    if (this.#closed) return frame;
    const pending: Pending = { frame };
    if (transfer !== undefined && transfer.length > 0) pending.transfer = transfer;
    this.#frames.push(pending);
    this.#last = frame;
    this.#added(1, lazy);
    return frame;
  }

  /** The last frame queued, while it is unsent: items of the same stream join it. */
  last(): Frame | undefined {
    return this.#last;
  }

  /**
   * Appends `item` to `frame` when it is the last frame queued and unsent
   * (the items of one stream join one frame); false when it is not.
   */
  append(frame: { items: unknown[] } | undefined, item: unknown): boolean {
    if (frame === undefined || frame !== this.#last) return false;
    frame.items.push(item);
    this.#added(1);
    return true;
  }

  /** Says that a frame queued now holds a travelling copy (W-14). */
  travel(): void {
    this.#travel = true;
  }

  /** Counts `n` items appended to an unsent frame. */
  added(n: number): void {
    this.#added(n);
  }

  /**
   * Posts now when this batch began on a quiet link ({@linkcode IDLE_MS}):
   * for a caller at the end of a step that queued one request (a put, a
   * call). Never call it in the middle of a state change.
   */
  postIfIdle(): void {
    if (this.#idleBatch) this.flush();
  }

  /** An envelope arrived: the link is not quiet (a producer resumed by credit keeps batching). */
  heard(): void {
    this.#heard = true;
  }

  /** Notes a change made in place to an unsent frame (an ack's seq, a done count). */
  touch(): void {
    this.#activity++;
  }

  /**
   * Calls `hook` at the next flush (the end of the turn at the latest),
   * before the envelope is posted, so what it pushes goes with it.
   */
  beforeFlush(hook: () => void): void {
    // deno-coverage-ignore
    if (this.#closed) return;
    this.#beforeFlush.push(hook);
    // At the end of the turn, as late as it can: a credit top-up then finds the most free slots.
    this.#scheduleTurn();
  }

  #added(count: number, lazy = false): void {
    this.#activity++;
    this.#count += count;
    if (this.#count >= MAX_BATCH) {
      this.flush();
      return;
    }
    if (lazy) this.#scheduleTurnSoon();
    else if (!this.#probing && !this.#gaveUp) {
      // The first frame after a quiet spell has nothing to wait for: it leaves after the
      // synchronous step that queued it (never inside it: its caller may not be done).
      this.#startProbe(
        this.#frames.length === 1 && !this.#heard && performance.now() - this.#lastPost > IDLE_MS,
      );
    }
  }

  /** The end-of-turn post, scheduled two microtasks later: not on the path of a get's answer. */
  #scheduleTurnSoon(): void {
    if (this.#turnScheduled || this.#turnSoon) return;
    this.#turnSoon = true;
    queueMicrotask(this.#turnSoonStep);
  }

  #turnSoonStep = (): void => queueMicrotask(this.#turnSoonDone);

  #turnSoonDone = (): void => {
    this.#turnSoon = false;
    if (!this.empty) this.#scheduleTurn();
  };

  /** Posts at the end of the turn (unless posted before). */
  #scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    afterTurn(this.#endOfTurn);
  }

  #endOfTurn = (): void => {
    this.#turnScheduled = false;
    this.flush();
  };

  #startProbe(idle = false): void {
    if (this.#probing) return;
    this.#probing = true;
    this.#quiet = idle ? QUIET_TICKS - 1 : 0;
    this.#idleBatch = idle;
    this.#probes = 0;
    this.#seen = this.#activity;
    queueMicrotask(this.#probe);
  }

  /**
   * Watches the microtasks after the first frame of a batch: once nothing
   * was queued for {@linkcode QUIET_TICKS} of them, the program has gone
   * idle (it awaits a timer, an event, an answer) and the batch leaves now,
   * not at the end of the turn: scheduling that alone costs a thread coming
   * back from idle about 20 µs here, and it runs tens of µs later. A program
   * that keeps queueing (a put loop) is left to {@linkcode MAX_BATCH} and
   * the end of the turn: the watch gives up after {@linkcode MAX_PROBES}.
   */
  #probe = (): void => {
    this.#probing = false;
    if (this.empty || this.#closed) return;
    if (this.#activity !== this.#seen) {
      this.#seen = this.#activity;
      this.#quiet = 0;
    } else if (++this.#quiet >= QUIET_TICKS) {
      this.flush();
      return;
    }
    if (++this.#probes < MAX_PROBES) {
      this.#probing = true;
      queueMicrotask(this.#probe);
      return;
    }
    this.#gaveUp = true;
    // A busy program: the batch leaves at MAX_BATCH or the end of the turn, unwatched (a
    // watch per microtask would cost a busy producer a second microtask per put).
    this.#scheduleTurn();
  };

  /** Posts what is queued now; returns false when the endpoint refused it (reported). */
  flush(): boolean {
    while (this.#beforeFlush.length > 0) {
      const pending = this.#beforeFlush;
      this.#beforeFlush = [];
      for (const hook of pending) hook();
    }
    if (this.#frames.length === 0 || this.#closed) return true;
    const pending = this.#frames;
    this.#frames = [];
    this.#last = undefined;
    this.#count = 0;
    this.#gaveUp = false;
    this.#idleBatch = false;
    this.#probes = 0;
    const transfer: Transferable[] = [];
    for (const { transfer: moved } of pending) if (moved !== undefined) transfer.push(...moved);
    const envelope: Envelope = {
      [TAG]: VERSION,
      peer: this.#peer,
      seq: this.#seq,
      frames: pending.map((entry) => entry.frame),
    };
    if (this.#travel) {
      this.#travel = false;
      envelope.travel = true;
      encodeFrames(envelope.frames, transfer);
    }
    try {
      this.#post.call(this.#endpoint, envelope, transfer);
    } catch (error) {
      this.#onError(error);
      return false;
    }
    this.#seq++;
    this.#lastPost = performance.now();
    this.#heard = false;
    return true;
  }

  /** Stops posting; what is queued is dropped. */
  close(): void {
    this.#closed = true;
    this.#beforeFlush = [];
    this.#frames = [];
    this.#last = undefined;
  }
}

/** A fresh random id for a peer. */
export function newPeerId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
