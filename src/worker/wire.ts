/**
 * The wire of baton's cross-worker adapters: the envelope, the frames and
 * their schemas, and errors across the boundary; the outbox that batches the
 * frames of one turn is `outbox.ts`. `PROTOCOL.md` beside this file
 * describes both for people.
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
  StateLost,
} from "../errors.ts";

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
  | { type: "want"; name: string; blocked: boolean; shared?: SharedArrayBuffer }
  | { type: "uncredit"; name: string; count: number }
  | { type: "pull"; name: string; count: number }
  /** Cancels what is left of the pulls; items already sent stay with the caller. */
  | { type: "unpull"; name: string }
  /** Every item before `seq` was taken by the caller's code. */
  | { type: "ack"; name: string; seq: number }
  /** Same, and every later item sent goes back. */
  | {
    type: "return";
    name: string;
    seq: number;
    /** The pipe ends of the items given back, by seq: their ports in token order (W-8). */
    ends?: [number, (MessagePort | null)[]][];
  }
  | { type: "done"; name: string; count: number }
  /** The caller heard that these names closed; `last`: its connection ended with them. */
  | { type: "gone"; names: string[]; last?: true }
  /**
   * A proxy of `name` travels on (W-14): wait on `port`, a boot port, for its receiver's boot
   * request, and serve the primitive of `name` on the port it carries.
   */
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
  /** These names' link closed; `last`: it was this owner's last link, so the connection ends. */
  | { type: "closed"; names: string[]; last?: true };

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
/** A shared credit counter: one Int32 (see `PROTOCOL.md`, "Shared credits"). */
const counter: Check = (value) =>
  typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer &&
  value.byteLength === Int32Array.BYTES_PER_ELEMENT;
const port: Check = (value) => typeof MessagePort === "function" && value instanceof MessagePort;
/** The pipe ends a `return` brings back: `[seq, ports]` pairs, a port or `null` each. */
const returnedEnds: Check = (value) =>
  Array.isArray(value) &&
  value.every((pair) =>
    Array.isArray(pair) && pair.length === 2 && count(pair[0]) && Array.isArray(pair[1]) &&
    pair[1].every((each: unknown) => each === null || port(each))
  );
const entries: Check = (value) =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Each frame type's fields: required ones, then optional ones (after `?`). */
const SCHEMAS: Record<string, Record<string, Check>> = {
  hello: {},
  bye: {},
  call: { id: count, name, op: name, args: list, "?timeout": timeout, "?cancellable": yes },
  cancel: { id: count },
  put: { name, items },
  want: { name, blocked: bool, "?shared": counter },
  uncredit: { name, count },
  pull: { name, count },
  unpull: { name },
  ack: { name, seq: count },
  return: { name, seq: count, "?ends": returnedEnds },
  done: { name, count },
  gone: { names, "?last": yes },
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
  closed: { names, "?last": yes },
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

/**
 * Closes the ports a frame that is ignored brought (its own fields, and
 * lists of them, a few levels down: where baton's frames carry ports).
 */
export function closePorts(frame: unknown, depth = 0): void {
  if (port(frame)) (frame as MessagePort).close();
  else if (depth < 4 && typeof frame === "object" && frame !== null) {
    for (const value of Object.values(frame)) closePorts(value, depth + 1);
  }
}

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

/** A W-10 refusal: the frame changes nothing and is reported. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(`baton: ignored a frame: ${message}`);
    this.name = "ProtocolError";
  }
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
  StateLost,
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

/** A fresh random id for a peer. */
export function newPeerId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
