/**
 * The wire protocol of baton's cross-worker adapters, in one place: the
 * envelope that tags baton's messages, the frames inside it, their
 * validation, error (de)serialisation and the outbox that batches frames.
 *
 * Every message baton posts is one envelope, `{ "@baton": 1, d, f }`: `d` is
 * the direction (`"c"` from a `connect` side, `"s"` from a `serve` side) and
 * `f` the frames posted in one turn. Anything else on the endpoint is not
 * baton's and is ignored, so baton can share an endpoint with other traffic
 * (W-4).
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

/** Put credits granted to one remote producer of one queue at a time. */
export const CREDIT_WINDOW = 1024;

/** Protocol version, and the key that marks baton's messages. */
export const TAG = "@baton";
export const VERSION = 1;

/**
 * What baton needs of a message endpoint: a `Worker`, a `MessagePort`, or a
 * worker's `self`.
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
  /** Posts a message to the other side. */
  postMessage(message: unknown, transfer: Transferable[]): void;
  /** Listens for messages (and, on a `Worker`, for `"error"`). */
  addEventListener(type: string, listener: (event: Event) => void): void;
  /** Stops listening. */
  removeEventListener(type: string, listener: (event: Event) => void): void;
  /** Present on a `MessagePort`: starts delivery. */
  start?: () => void;
}

/** Directions: which side posted an envelope. */
export type Direction = "c" | "s";

/** A baton message. */
export interface Envelope {
  [TAG]: typeof VERSION;
  d: Direction;
  f: Frame[];
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
  /** The primitive's kind. */
  k: Kind;
  /** Constant properties (`maxsize`, `parties`, `initialValue`, ...). */
  c: Record<string, number | boolean | string>;
  /** For a pipe connection: the port carrying it. */
  p?: MessagePort;
}

/** An error as it crosses the boundary. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

/** Frames a `connect` side sends. */
export type ClientFrame =
  | { t: "hello" }
  | { t: "bye" }
  | { t: "call"; id: number; n: string; op: string; a: unknown[]; to?: number; c?: 1 }
  | { t: "cancel"; id: number }
  | { t: "items"; n: string; v: unknown[] }
  | { t: "want"; n: string; b?: 1 }
  | { t: "uncredit"; n: string; k: number }
  | { t: "pull"; n: string; k: number }
  | { t: "ack"; n: string; s: number }
  | { t: "unpull"; n: string; s: number }
  | { t: "done"; n: string; k: number }
  | { t: "gone"; names: string[] };

/** Frames a `serve` side sends. */
export type ServerFrame =
  | { t: "manifest"; e: Record<string, Entry>; r?: 1 }
  | { t: "ok"; id: number; v: unknown }
  | { t: "err"; id: number; e: WireError; cancelled?: 1 }
  | { t: "credit"; n: string; k: number }
  | { t: "items"; n: string; v: unknown[] }
  | { t: "item-error"; n: string; e: WireError }
  | { t: "end"; n: string }
  | { t: "unpulled"; n: string }
  | { t: "shutdown"; n: string; i: boolean }
  | { t: "closed"; names: string[] };

/** Any frame. */
export type Frame = ClientFrame | ServerFrame;

const isName = (value: unknown): value is string => typeof value === "string" && value.length > 0;
const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;

/** The frame validators of each direction, by frame type. */
const CLIENT_FRAMES: Record<string, (frame: Record<string, unknown>) => boolean> = {
  hello: () => true,
  bye: () => true,
  call: (f) =>
    isCount(f.id) && isName(f.n) && typeof f.op === "string" && Array.isArray(f.a) &&
    (f.to === undefined || typeof f.to === "number"),
  cancel: (f) => isCount(f.id),
  items: (f) => isName(f.n) && Array.isArray(f.v),
  want: (f) => isName(f.n),
  uncredit: (f) => isName(f.n) && isCount(f.k),
  pull: (f) => isName(f.n) && isCount(f.k),
  ack: (f) => isName(f.n) && typeof f.s === "number",
  unpull: (f) => isName(f.n) && typeof f.s === "number",
  done: (f) => isName(f.n) && isCount(f.k),
  gone: (f) => Array.isArray(f.names) && f.names.every(isName),
};

const SERVER_FRAMES: Record<string, (frame: Record<string, unknown>) => boolean> = {
  manifest: (f) => typeof f.e === "object" && f.e !== null,
  ok: (f) => isCount(f.id),
  err: (f) => isCount(f.id) && isWireError(f.e),
  credit: (f) => isName(f.n) && isCount(f.k),
  items: (f) => isName(f.n) && Array.isArray(f.v),
  "item-error": (f) => isName(f.n) && isWireError(f.e),
  end: (f) => isName(f.n),
  unpulled: (f) => isName(f.n),
  shutdown: (f) => isName(f.n) && typeof f.i === "boolean",
  closed: (f) => Array.isArray(f.names) && f.names.every(isName),
};

function isWireError(value: unknown): value is WireError {
  return typeof value === "object" && value !== null &&
    typeof (value as WireError).name === "string" &&
    typeof (value as WireError).message === "string";
}

/**
 * Hands each frame of a message from direction `from` to `handle`. Someone
 * else's message is ignored (W-4); a malformed baton message, or a frame
 * whose handling throws, goes to `report` and never into the event loop.
 */
export function receive<F extends Frame>(
  data: unknown,
  from: Direction,
  handle: (frame: F) => void,
  report: (error: unknown) => void,
): void {
  if (!isEnvelope(data)) return;
  const frames = readEnvelope(data, from);
  if (typeof frames === "string") {
    if (frames !== "") report(new TypeError(`ignored ${frames}`));
    return;
  }
  for (const frame of frames as F[]) {
    try {
      handle(frame);
    } catch (error) {
      report(error);
    }
  }
}

/** Whether `data` is a baton envelope at all (else it is someone else's message). */
export function isEnvelope(data: unknown): data is { [TAG]: unknown; d: unknown; f: unknown } {
  return typeof data === "object" && data !== null && TAG in data;
}

/**
 * Checks an envelope from direction `from`: returns its frames, or a string
 * saying what is wrong with it.
 */
export function readEnvelope(
  data: { [TAG]: unknown; d: unknown; f: unknown },
  from: Direction,
): Frame[] | string {
  if (data[TAG] !== VERSION) return `unsupported baton protocol version ${String(data[TAG])}`;
  if (data.d !== from) return "";
  if (!Array.isArray(data.f)) return "a baton message without frames";
  const validators = from === "c" ? CLIENT_FRAMES : SERVER_FRAMES;
  for (const frame of data.f) {
    if (typeof frame !== "object" || frame === null) return "a baton frame that is not an object";
    const validate = validators[(frame as { t: string }).t];
    if (validate === undefined) {
      return `an unknown baton frame type ${String((frame as { t: unknown }).t)}`;
    }
    if (!validate(frame as Record<string, unknown>)) {
      return `a malformed baton ${(frame as { t: string }).t} frame`;
    }
  }
  return data.f as Frame[];
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
    const wire: WireError = { name: error.name, message: error.message };
    if (typeof error.stack === "string") wire.stack = error.stack;
    return wire;
  }
  return { name: "Error", message: String(error) };
}

/** Rebuilds an error as baton's own class, a built-in one, or a `DOMException`. */
export function deserializeError(wire: WireError): Error {
  const Class = ERROR_CLASSES[wire.name];
  let error: Error;
  if (Class !== undefined) {
    error = new Class(wire.message);
  } else if (/^[A-Z][A-Za-z]*Error$/.test(wire.name) && !(wire.name in ERROR_CLASSES)) {
    // DataCloneError, AbortError, TimeoutError, ... travel as DOMException names.
    error = new DOMException(wire.message, wire.name);
  } else {
    error = new Error(wire.message);
    error.name = wire.name;
  }
  if (wire.stack !== undefined) {
    try {
      Object.defineProperty(error, "stack", {
        value: wire.stack,
        configurable: true,
        writable: true,
      });
    } catch {
      // a DOMException's stack may not be redefinable; the message is what matters
    }
  }
  return error;
}

/** The error of an item that cannot cross: the platform's `DataCloneError`. */
export function dataCloneError(what: string): DOMException {
  return new DOMException(`${what} could not be cloned.`, "DataCloneError");
}

/**
 * Finds what in `value` the structured clone algorithm refuses (a function,
 * a symbol, a promise, a weak collection), without cloning it: cloning just to
 * check would double the cost of every put. Returns a description, or
 * `undefined` when the value looks cloneable.
 */
export function findUncloneable(value: unknown, seen?: Set<object>): string | undefined {
  const type = typeof value;
  if (type !== "object") {
    if (type === "function") return describeFunction(value as () => unknown);
    if (type === "symbol") return String(value);
    return undefined;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen?.has(object)) return undefined;
  // Fast paths: plain objects and arrays, by far the most common items.
  const prototype = Object.getPrototypeOf(object);
  if (prototype === Object.prototype || prototype === null) {
    for (const key in object) {
      const found = findIn((object as Record<string, unknown>)[key], object, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (prototype === Array.prototype) {
    for (const entry of object as unknown[]) {
      const found = findIn(entry, object, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (
    object instanceof Promise || object instanceof WeakMap || object instanceof WeakSet ||
    object instanceof WeakRef
  ) {
    return `#<${object.constructor.name}>`;
  }
  if (
    object instanceof Date || object instanceof RegExp || object instanceof ArrayBuffer ||
    ArrayBuffer.isView(object) || object instanceof Error || object instanceof Blob ||
    (typeof SharedArrayBuffer !== "undefined" && object instanceof SharedArrayBuffer)
  ) {
    return undefined;
  }
  if (object instanceof Map) {
    for (const [key, entry] of object) {
      const found = findIn(key, object, seen) ?? findIn(entry, object, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (object instanceof Set) {
    for (const entry of object) {
      const found = findIn(entry, object, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (Array.isArray(object)) {
    for (const entry of object) {
      const found = findIn(entry, object, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (seen === undefined && Object.prototype.toString.call(object) !== "[object Object]") {
    // A platform object (URL, Headers, Request, ...) as the item itself: only the
    // platform knows whether it clones, and such items are rare enough to ask it.
    // (Nested inside an object, Deno clones one as a plain object.)
    try {
      structuredClone(object);
      return undefined;
    } catch (error) {
      if (isDataCloneError(error)) return `#<${object.constructor?.name ?? "Object"}>`;
    }
  }
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const found = findIn((object as Record<string, unknown>)[key], object, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Checks a value found inside `parent`; the set of visited objects is made only when nesting. */
function findIn(value: unknown, parent: object, seen: Set<object> | undefined): string | undefined {
  if (typeof value !== "object" || value === null) return findUncloneable(value);
  const visited = seen ?? new Set<object>();
  visited.add(parent);
  return findUncloneable(value, visited);
}

function describeFunction(fn: () => unknown): string {
  const text = String(fn);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---- batching ----

/**
 * Called when one frame alone cannot be cloned; for an items frame, once per
 * item that cannot, with that item.
 */
export type CloneErrorHook = (error: unknown, item?: unknown) => void;

/** Runs `task` after the current turn's microtasks: a few µs, unlike `setTimeout(0)`. */
export const afterTurn: (task: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (task: () => void) => unknown }).setImmediate;
  if (typeof immediate === "function") return (task: () => void) => void immediate(task);
  return (task: () => void) => void setTimeout(task, 0);
})();

/**
 * Frames and items an envelope holds before it is posted at once, not at the
 * end of the turn: small enough that a consumer starts on one batch while its
 * producer fills the next (measured best between 128 and 512 here).
 */
const MAX_BATCH = 256;

/**
 * Collects the frames of one turn into one envelope. A flush that fails to
 * clone is retried frame by frame (and item by item for items frames), so
 * only what cannot be cloned fails, through its hook.
 */
export class Outbox {
  #endpoint: Endpoint;
  #direction: Direction;
  #frames: Frame[] = [];
  #hooks: (CloneErrorHook | undefined)[] = [];
  /** What each frame moves (ports), by frame index; a batch posts all of them. */
  #transfers = new Map<number, Transferable[]>();
  #count = 0;
  #batch = 0;
  #scheduled = false;
  /** Called at the next flush, before it posts: last-moment frames (credit top-ups). */
  #beforeFlush: (() => void)[] = [];
  #flushing = false;
  #flushAgain = false;
  #closeAfterFlush = false;
  #closed = false;
  #onError: (error: unknown) => void;

  constructor(endpoint: Endpoint, direction: Direction, onError: (error: unknown) => void) {
    this.#endpoint = endpoint;
    this.#direction = direction;
    this.#onError = onError;
  }

  /** Numbers the envelope being filled: it changes at every flush. */
  get batch(): number {
    return this.#batch;
  }

  /** Queues a frame for this turn's envelope. */
  push(frame: Frame, hook?: CloneErrorHook, transfer?: Transferable[]): void {
    if (this.#closed) return;
    this.#frames.push(frame);
    this.#hooks.push(hook);
    if (transfer !== undefined && transfer.length > 0) {
      this.#transfers.set(this.#frames.length - 1, transfer);
    }
    this.#added(1);
  }

  /**
   * Queues one item for `name`, appended to this turn's last frame when that
   * is an items frame of the same name (and hook), else in a new one.
   */
  pushItem(name: string, item: unknown, hook?: CloneErrorHook): void {
    if (this.#closed) return;
    const index = this.#frames.length - 1;
    const last = this.#frames[index];
    if (
      last !== undefined && last.t === "items" && last.n === name && this.#hooks[index] === hook
    ) {
      last.v.push(item);
    } else {
      this.#frames.push({ t: "items", n: name, v: [item] });
      this.#hooks.push(hook);
    }
    this.#added(1);
  }

  /**
   * Calls `hook` at the next flush (scheduled for the end of this turn if
   * none is), before the envelope is posted, so what it pushes goes with it.
   */
  beforeFlush(hook: () => void): void {
    if (this.#closed) return;
    this.#beforeFlush.push(hook);
    this.#schedule();
  }

  #added(count: number): void {
    this.#count += count;
    if (this.#count >= MAX_BATCH) {
      this.flush();
      return;
    }
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      afterTurn(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /** Posts what is queued now. */
  flush(): void {
    if (this.#flushing) {
      // Called from a clone-error hook while this flush posts frame by frame:
      // what was queued since goes right after the rest of this batch.
      this.#flushAgain = true;
      return;
    }
    if (this.#beforeFlush.length > 0) {
      const pending = this.#beforeFlush;
      this.#beforeFlush = [];
      for (const hook of pending) hook();
    }
    if (this.#frames.length === 0) return;
    const frames = this.#frames;
    const hooks = this.#hooks;
    const transfers = this.#transfers;
    this.#frames = [];
    this.#hooks = [];
    this.#transfers = new Map();
    this.#count = 0;
    this.#batch++;
    if (this.#closed) return;
    try {
      this.#post(frames, [...transfers.values()].flat());
      return;
    } catch (error) {
      if (!isDataCloneError(error)) {
        this.#onError(error);
        return;
      }
    }
    // Something in the batch cannot be cloned: post piece by piece so only it fails.
    this.#flushing = true;
    try {
      this.#postEach(frames, hooks, transfers);
    } finally {
      this.#flushing = false;
    }
    if (this.#flushAgain) {
      this.#flushAgain = false;
      this.flush();
    }
    if (this.#closeAfterFlush) {
      this.#closeAfterFlush = false;
      this.close();
    }
  }

  #postEach(
    frames: Frame[],
    hooks: (CloneErrorHook | undefined)[],
    transfers: Map<number, Transferable[]>,
  ): void {
    frames.forEach((frame, index) => {
      try {
        this.#post([frame], transfers.get(index) ?? []);
        return;
      } catch (error) {
        if (!isDataCloneError(error)) {
          this.#onError(error);
          return;
        }
        if (frame.t !== "items") {
          const hook = hooks[index];
          if (hook !== undefined) hook(error);
          else this.#onError(error);
          return;
        }
      }
      const items = frame.v;
      items.forEach((item) => {
        try {
          this.#post([{ t: "items", n: frame.n, v: [item] }], []);
        } catch (error) {
          const hook = hooks[index];
          if (hook !== undefined) hook(error, item);
          else this.#onError(error);
        }
      });
    });
  }

  #post(frames: Frame[], transfer: Transferable[]): void {
    const envelope: Envelope = { [TAG]: VERSION, d: this.#direction, f: frames };
    this.#endpoint.postMessage(envelope, transfer);
  }

  /** Stops posting; what is queued is dropped. */
  close(): void {
    if (this.#flushing) {
      // From a clone-error hook (an onError that closes): after the batch and what was flushed.
      this.#closeAfterFlush = true;
      return;
    }
    this.#closed = true;
    this.#beforeFlush = [];
    this.#frames = [];
    this.#hooks = [];
    this.#transfers = new Map();
  }
}

/** Whether `error` is the platform's clone failure. */
export function isDataCloneError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "DataCloneError";
}

/** Listens for messages on `endpoint` (starting a `MessagePort`); returns the undo. */
export function listen(endpoint: Endpoint, listener: (event: MessageEvent) => void): () => void {
  const handler = listener as (event: Event) => void;
  endpoint.addEventListener("message", handler);
  endpoint.start?.();
  return () => endpoint.removeEventListener("message", handler);
}
