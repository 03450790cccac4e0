/**
 * Primitives that travel inside items (W-14): a baton primitive, a remote
 * proxy of one, or a pipe end, anywhere in an item put into a served queue,
 * returned by a remote `get`, or sent through a `Pipe`, arrives as a working
 * proxy of the same primitive.
 *
 * How:
 *
 * - When an item is checked (`postable`), a value that is not plain data
 *   leads here: arrays, plain objects, `Map`s and `Set`s are copied, each
 *   traveller becomes a {@linkcode Traveller} placeholder, and any other
 *   value is judged by the platform's `structuredClone` at once (W-3). A
 *   copy that holds a traveller is wrapped in a {@linkcode Travelling}, so
 *   the outbox knows to look at it; nothing is made for it yet, so a put
 *   that is cancelled before it is sent leaves nothing behind.
 * - When the envelope is posted, each placeholder becomes a token with a
 *   new `MessagePort`: a local primitive is served on the other end of that
 *   port; for a remote proxy, that other end goes to its owner at once (an
 *   `attach` frame), which serves the primitive on it, so the receiver
 *   talks to the owner directly, not through this thread, also once this
 *   thread's proxy is gone; a pipe end moves. The envelope is marked
 *   `travel`.
 * - The receiving peer turns each token into a proxy on its port. Such a
 *   proxy keeps its thread alive only while one of its operations is
 *   pending; once it is garbage-collected (or `release`d) its connection
 *   closes, and the owner's side of the port closes with it, releasing what
 *   the proxy held (W-9).
 *
 * Internal: not exported from an entry point.
 *
 * @module
 */

import { adapterOf, adapterOfKind } from "./adapters.ts";
import { travelledProxy } from "./travel_proxy.ts";
import { enterTransit, type Made } from "./transit.ts";
import { Connection } from "./pipe.ts";
import { cannotMove, goneEnd, movable, movedOn, travelsGone } from "./_pipe_access.ts";
import { serveTravel } from "./owner_side.ts";
import type { Entry, Frame } from "./wire.ts";

/** The key of a token on the wire. */
export const TRAVEL = "@baton:travel";

/**
 * A primitive's place in a checked copy, until the envelope is posted.
 *
 * @example
 * ```ts ignore
 * new Traveller(event); // inside a Travelling copy
 * ```
 */
export class Traveller {
  /** Makes the placeholder of `primitive`. */
  constructor(readonly primitive: object) {}
}

/**
 * A checked copy that holds at least one {@linkcode Traveller}.
 *
 * @example
 * ```ts ignore
 * const copy = postable([1, event]); // a Travelling
 * ```
 */
export class Travelling {
  /**
   * The pipe ends the copy's tokens carried, in token order, once posted: a
   * queue that gets the item back (W-8) brings them back (`reviveEnds`).
   */
  ends: Connection[] | undefined;
  /** Wraps the copy. */
  constructor(readonly copy: unknown) {}
}

/** What a remote proxy's face was made from: its connection, and the name it stands for. */
export interface FaceSource {
  readonly entry: Entry;
  /**
   * Hands the owner `port`, a boot port (an `attach` frame): the owner waits on it for a
   * receiver's boot request and serves the same primitive on the port that request carries.
   */
  attach(port: MessagePort): void;
}

/** The key of a boot request: the receiver's end of its own channel, sent through a token's port. */
export const BOOT = "@baton:boot";

/** A token as posted. */
interface Token {
  [TRAVEL]: 1;
  kind: Entry["kind"];
  constants: Entry["constants"];
  port: MessagePort;
}

const FACES = new WeakMap<object, FaceSource>();

/**
 * The prototype of every remote proxy's face: a proxy is not plain data, so
 * the fast check of items (`snapshot`) hands it to {@linkcode travelCopy}
 * with no cost for plain items.
 */
class RemoteProxy {}

/** Remembers where a remote proxy's face came from, so it can travel on. */
export function registerFace(face: object, source: FaceSource): void {
  Object.setPrototypeOf(face, RemoteProxy.prototype);
  FACES.set(face, source);
}

/** Where a remote proxy's face came from, or `undefined`. */
export function faceSource(face: object): FaceSource | undefined {
  return FACES.get(face);
}

/** Whether `value` travels as a proxy rather than as data. */
export function isTraveller(value: object): boolean {
  if (FACES.has(value)) return true;
  try {
    adapterOf(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The checked copy of a value that is not all plain data: the platform's
 * `structuredClone` of the whole value (its verdict, on the runtime at
 * hand, W-3), unless the value holds a traveller in its arrays, plain
 * objects, `Map`s or `Set`s; then {@linkcode travelCopy}'s.
 */
export function checkedCopy(value: unknown): unknown {
  return holdsTraveller(value) ? travelCopy(value) : structuredClone(value);
}

/** Whether a traveller sits anywhere in the containers of `value`. */
function holdsTraveller(value: unknown): boolean {
  const seen = new Set<object>();
  const visit = (part: unknown, depth: number): boolean => {
    if (typeof part !== "object" || part === null || seen.has(part) || depth > 500) return false;
    seen.add(part);
    if (isTraveller(part)) return true;
    const prototype = Object.getPrototypeOf(part);
    if (part instanceof Map && prototype === Map.prototype) {
      for (const [key, entry] of part) {
        if (visit(key, depth + 1) || visit(entry, depth + 1)) return true;
      }
      return false;
    }
    if (part instanceof Set && prototype === Set.prototype) {
      for (const entry of part) if (visit(entry, depth + 1)) return true;
      return false;
    }
    if (
      (Array.isArray(part) && prototype === Array.prototype) || prototype === Object.prototype ||
      prototype === null
    ) {
      for (const key of Object.keys(part)) {
        if (visit((part as Record<string, unknown>)[key], depth + 1)) return true;
      }
    }
    return false;
  };
  return visit(value, 0);
}

/**
 * The copy of a value that holds travellers (see the module documentation),
 * as a {@linkcode Travelling}. Throws what `structuredClone` throws for a
 * part it refuses.
 */
export function travelCopy(value: unknown): unknown {
  const seen = new Map<object, unknown>();
  const visit = (part: unknown, depth: number): unknown => {
    if (typeof part !== "object" || part === null) {
      return typeof part === "function" || typeof part === "symbol" ? structuredClone(part) : part;
    }
    if (seen.has(part)) return seen.get(part);
    if (isTraveller(part)) {
      // A pipe end must be able to move when the value is posted (or arrived with its other end
      // gone, and travels on so): the verdict is now (W-3).
      if (part instanceof Connection && !movable(part) && !travelsGone(part)) throw cannotMove();
      const placeholder = new Traveller(part);
      seen.set(part, placeholder);
      return placeholder;
    }
    if (depth > 500) return keep(part, structuredClone(part));
    const prototype = Object.getPrototypeOf(part);
    if (Array.isArray(part) && prototype === Array.prototype) {
      const copy: unknown[] = [];
      seen.set(part, copy);
      copy.length = part.length;
      for (const key of Object.keys(part)) {
        define(copy, key, visit((part as unknown as Record<string, unknown>)[key], depth + 1));
      }
      return copy;
    }
    if (part instanceof Map && prototype === Map.prototype) {
      const copy = new Map();
      seen.set(part, copy);
      for (const [key, entry] of part) copy.set(visit(key, depth + 1), visit(entry, depth + 1));
      return copy;
    }
    if (part instanceof Set && prototype === Set.prototype) {
      const copy = new Set();
      seen.set(part, copy);
      for (const entry of part) copy.add(visit(entry, depth + 1));
      return copy;
    }
    if (prototype === Object.prototype || prototype === null) {
      const copy: Record<string, unknown> = prototype === null ? Object.create(null) : {};
      seen.set(part, copy);
      for (const key of Object.keys(part)) {
        define(copy, key, visit((part as Record<string, unknown>)[key], depth + 1));
      }
      return copy;
    }
    return keep(part, structuredClone(part)); // the platform's verdict, now (W-3)
  };
  const keep = (part: object, copy: unknown): unknown => {
    seen.set(part, copy);
    return copy;
  };
  // Called only for a value holding a traveller (checkedCopy): the copy travels.
  return new Travelling(visit(value, 0));
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * Makes the wire form of the frames' travelling copies, in place: each
 * placeholder becomes a token whose port joins `transfer`.
 */
export function encodeFrames(frames: Frame[], transfer: Transferable[]): void {
  const encode = (value: unknown): unknown =>
    value instanceof Travelling ? tokens(value, transfer) : value;
  for (const frame of frames) {
    const f = frame as { type: string; items?: unknown[]; value?: unknown; args?: unknown[] };
    if (f.type === "put" || f.type === "items") mapInPlace(f.items!, encode);
    else if (f.type === "call") mapInPlace(f.args!, encode);
    else if (f.type === "result") f.value = encode(f.value);
  }
}

/** The wire form of one travelling copy (what a pipe posts). */
export function encodeValue(value: unknown, transfer: Transferable[]): unknown {
  return value instanceof Travelling ? tokens(value, transfer) : value;
}

function mapInPlace(list: unknown[], change: (value: unknown) => unknown): void {
  for (let i = 0; i < list.length; i++) list[i] = change(list[i]);
}

/** Replaces the placeholders in a copy (made here: changed in place); notes its pipe ends. */
function tokens(travelling: Travelling, transfer: Transferable[]): unknown {
  const made = new Map<object, Token>();
  const seen = new Set<object>();
  const visit = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value;
    if (value instanceof Traveller) {
      let token = made.get(value.primitive);
      if (token === undefined) {
        token = tokenOf(value.primitive);
        made.set(value.primitive, token);
        transfer.push(token.port);
        if (value.primitive instanceof Connection) {
          (travelling.ends ??= []).push(value.primitive);
        }
      }
      return token;
    }
    walk(value, seen, visit);
    return value;
  };
  return visit(travelling.copy);
}

/** Visits the children of a container made by `travelCopy` or cloned from the wire. */
function walk(value: object, seen: Set<object>, visit: (child: unknown) => unknown): void {
  if (seen.has(value)) return;
  seen.add(value);
  if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [key, entry] of entries) value.set(visit(key), visit(entry));
  } else if (value instanceof Set) {
    const entries = [...value];
    value.clear();
    for (const entry of entries) value.add(visit(entry));
  } else if (Array.isArray(value) || isPlain(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = visit(record[key]);
  }
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Makes the token of one primitive. Its port is a boot port: the receiver
 * sends the end of a channel of its own through it, and this side (or the
 * owner, for a proxy: the other end goes to it now) serves the primitive on
 * that end. A proxy passed on is a copy (P-6): its owner waits for the
 * receiver on the new port too, and the proxy here keeps working.
 */
function tokenOf(primitive: object): Token {
  if (primitive instanceof Connection) {
    // A pipe end moves (the sender's copy is closed), as when it is served.
    const constants = { readable: primitive.readable, writable: primitive.writable };
    if (movable(primitive)) {
      return { [TRAVEL]: 1, kind: "Connection", constants, port: primitive.transfer() };
    }
    // One that can no longer move (an earlier item took it, it closed since its put was
    // checked, or it arrived with its other end gone) arrives as an end whose other end is
    // gone: the item, whose put resolved, is still delivered (W-3). A gone end passed on is
    // this thread's no more (unless its item comes back: `reviveEnds`).
    if (travelsGone(primitive)) movedOn(primitive);
    const { port1, port2 } = new MessageChannel();
    port2.close();
    return {
      [TRAVEL]: 1,
      kind: "Connection",
      constants: { ...constants, gone: true },
      port: port1,
    };
  }
  const source = FACES.get(primitive);
  const { port1, port2 } = travelChannel();
  if (source !== undefined) {
    // The owner waits for the boot request itself, from now on: the receiver reaches it
    // directly, also once this proxy is released or collected, or this thread has ended.
    source.attach(port1);
    return { [TRAVEL]: 1, kind: source.entry.kind, constants: source.entry.constants, port: port2 };
  }
  const adapter = adapterOf(primitive);
  bootServer(
    port1,
    (port, lifeline) => serveTravel(port, primitive, undefined, undefined, lifeline),
  );
  return {
    [TRAVEL]: 1,
    kind: adapter.kind,
    constants: adapter.constants(primitive as never),
    port: port2,
  };
}

/**
 * Where this thread sends the keeping end of a lifeline, once per travelled
 * proxy it connects (set in a `Process` child: to its parent, which tells
 * the owner when the process ended without saying goodbye, W-9, P-3).
 */
let lifelineSink: ((keep: MessagePort) => void) | undefined;

/** Makes this thread's travelled proxies carry lifelines to `sink` (a `Process` child calls it). */
export function sendLifelinesTo(sink: (keep: MessagePort) => void): void {
  lifelineSink = sink;
}

/**
 * A new lifeline for a travelled proxy this thread connects: the end that
 * goes with the boot request, or `undefined` outside a `Process` child.
 */
export function newLifeline(): MessagePort | undefined {
  if (lifelineSink === undefined) return undefined;
  const { port1: keep, port2: give } = new MessageChannel();
  lifelineSink(keep);
  return give;
}

/**
 * Told of each pipe end that arrives in this thread inside a value (set in
 * a `Process` child: its ends close when its target ended, P-6).
 */
let endSink: ((end: Connection) => void) | undefined;

/** Makes this thread tell `sink` of every pipe end that travels here (a `Process` child calls it). */
export function tellTravelledEndsTo(sink: (end: Connection) => void): void {
  endSink = sink;
}

/** The message that hands a lifeline's keeping end to a process's parent. */
export const LIFELINE = "@baton:lifeline";

/** What a lifeline carries: the receiver's process ended without saying goodbye. */
export const GONE = "@baton:gone";

/**
 * Waits on `port` (unref'd: it keeps no thread alive) for the receiver's
 * boot request, hands its port to `serveOn`, and closes; also closes when
 * the other end is gone unused. The owner of a primitive runs one for each
 * boot port an `attach` frame brought it, and one more for each port a
 * boot request of the form `{ boot: port }` brings (a proxy that was never
 * used, passed on: the receiver's copy boots there).
 */
export function bootServer(
  port: MessagePort,
  serveOn: (port: MessagePort, lifeline: MessagePort | undefined) => void,
): void {
  const done = () => {
    port.removeEventListener("message", onMessage);
    port.removeEventListener("close", done);
    port.close();
  };
  const onMessage = (event: MessageEvent) => {
    const data = event.data as
      | { [BOOT]?: unknown; port?: unknown; lifeline?: unknown; boot?: unknown }
      | null;
    if (typeof data !== "object" || data === null || data[BOOT] !== 1) return;
    if (data.boot instanceof MessagePort) {
      // A proxy never used there was passed on (a copy): its receiver boots through this new
      // port, and the proxy there may still boot through this one.
      bootServer(data.boot, serveOn);
      return;
    }
    const lifeline = data.lifeline instanceof MessagePort ? data.lifeline : undefined;
    if (data.port instanceof MessagePort) serveOn(data.port, lifeline);
    else lifeline?.close();
    done();
  };
  port.addEventListener("message", onMessage);
  port.addEventListener("close", done);
  port.start();
  refPort(port, false);
}

/**
 * Puts proxies where the frames of an envelope marked `travel` hold tokens.
 * A token that does not fit (forged) is reported and left as it is. Items
 * that go into a queue here, or wait here for a remote consumer's code, are
 * in transit (`transit.ts`).
 */
export function decodeFrames(frames: unknown[], report: (error: unknown) => void): void {
  const decode = (value: unknown): unknown => decodeValue(value, report);
  const inTransit = (value: unknown): unknown => {
    const made: Made = { proxies: [], ends: [] };
    const decoded = decodeValue(value, report, made);
    if (made.proxies.length > 0 || made.ends.length > 0) enterTransit(decoded as object, made);
    return decoded;
  };
  for (const frame of frames) {
    if (typeof frame !== "object" || frame === null) continue;
    const f = frame as {
      type?: unknown;
      op?: unknown;
      items?: unknown;
      value?: unknown;
      args?: unknown;
    };
    if ((f.type === "put" || f.type === "items") && Array.isArray(f.items)) {
      mapInPlace(f.items, inTransit);
    } else if (f.type === "call" && Array.isArray(f.args)) {
      mapInPlace(f.args, f.op === "put" || f.op === "putNowait" ? inTransit : decode);
    } else if (f.type === "result") f.value = decode(f.value);
  }
}

/**
 * Puts proxies where a value from the wire holds tokens (in place); what
 * it made joins `collect`, when given.
 */
export function decodeValue(
  value: unknown,
  report: (error: unknown) => void,
  collect?: Made,
): unknown {
  const seen = new Set<object>();
  const made = new Map<object, unknown>(); // one primitive at two places: one proxy
  const visit = (part: unknown): unknown => {
    if (typeof part !== "object" || part === null) return part;
    if (made.has(part)) return made.get(part);
    if (isPlain(part) && Object.hasOwn(part, TRAVEL)) {
      const proxy = proxyOf(part as Token, report);
      made.set(part, proxy);
      if (collect !== undefined && proxy !== part) {
        if (proxy instanceof Connection) collect.ends.push(proxy);
        else collect.proxies.push(proxy as object);
      }
      return proxy;
    }
    walk(part, seen, visit);
    return part;
  };
  return visit(value);
}

/** The proxy a token stands for (the token itself, reported, when it does not fit). */
function proxyOf(token: Token, report: (error: unknown) => void): unknown {
  const adapter = adapterOfKind(token.kind);
  if (!(token.port instanceof MessagePort) || adapter === undefined) {
    report(new TypeError("baton: ignored a travelling primitive that does not fit"));
    return token;
  }
  const entry: Entry = { kind: token.kind, constants: token.constants ?? {} };
  if (token.kind === "Connection") {
    const options = {
      readable: entry.constants.readable !== false,
      writable: entry.constants.writable !== false,
    };
    const end = entry.constants.gone === true
      ? goneEnd(token.port, options)
      : Connection.fromPort(token.port, options);
    endSink?.(end);
    return end;
  }
  return travelledProxy(token.port, entry);
}

/**
 * A channel for a travelling primitive. Ports of `node:worker_threads`
 * (Deno, Node and Bun have it) can be unref'd, so an idle one does not keep
 * its thread alive, and they tell when the other end is gone; elsewhere
 * (browsers) the global `MessageChannel`.
 */
export function travelChannel(): { port1: MessagePort; port2: MessagePort } {
  const process = (globalThis as {
    process?: { getBuiltinModule?: (name: string) => unknown };
  }).process;
  const threads = process?.getBuiltinModule?.("node:worker_threads") as
    | { MessageChannel?: new () => { port1: MessagePort; port2: MessagePort } }
    | undefined;
  // Deno, Node and Bun have node:worker_threads; the global channel is for browsers.
  // deno-coverage-ignore
  const Channel = threads?.MessageChannel ?? MessageChannel;
  return new Channel();
}

/** Lets a travel port keep its thread alive, or not (a no-op where ports cannot be unref'd). */
export function refPort(port: MessagePort, on: boolean): void {
  const handle = port as MessagePort & { ref?: () => void; unref?: () => void };
  if (on) handle.ref?.();
  else handle.unref?.();
}
