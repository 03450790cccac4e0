/**
 * Values from the wire on their way through this thread (W-8, W-14): see
 * `PROTOCOL.md`, "In transit". A queue that only passes items on keeps no
 * port open for them, and an item a consumer gives back goes on whole.
 * Internal: not exported from an entry point.
 *
 * @module
 */

import { discards, publicPuts } from "../_queue_access.ts";
import type { Connection } from "./pipe.ts";
import { movable, revive } from "./_pipe_access.ts";
import type { Travelling } from "./travel.ts";
import { release } from "./travel_proxy.ts";

/**
 * Values from the wire that no code here has held yet, with the travelled
 * proxies and pipe ends made for them: items put into a queue served here
 * (a `put` frame, or a put by call) and items sent ahead to a remote
 * consumer here. Passed on, such a proxy is a copy like any other, so the
 * value can go on again (given back, W-8); once the value leaves for good
 * (the remote code it was sent to took it, or a remote consumer here drops
 * it), its proxies close at once, not when collected: a queue that only
 * passes items on keeps no port open. A consumer that gives such a value
 * back moves its pipe ends back with it. Code here that puts such a value
 * with a queue's own `put` or `putNowait` has held it: it leaves the list
 * then (its proxies are that code's).
 */
const TRANSIT = new WeakMap<object, Made>();

/** What decoding one value made: its travelled proxies and its pipe ends, in token order. */
export interface Made {
  readonly proxies: object[];
  readonly ends: Connection[];
}

/** Nonzero while the worker layer puts a value from the wire (a put by call). */
let puttingFromWire = 0;

export function enterTransit(value: object, made: Made): void {
  TRANSIT.set(value, made);
  discards.watch ??= dropTransit;
  publicPuts.watch ??= (item) => {
    if (puttingFromWire === 0 && typeof item === "object" && item !== null) TRANSIT.delete(item);
  };
}

/** Runs a put of a value from the wire, which stays in transit (a put by call). */
export function putFromWire<R>(put: () => R): R {
  puttingFromWire++;
  try {
    return put();
  } finally {
    puttingFromWire--;
  }
}

/**
 * A value in transit leaves for good: the proxies made for it close now
 * (see {@linkcode TRANSIT}). Anything else: nothing happens.
 */
export function releaseTransit(value: unknown): void {
  leaveTransit(value);
}

/**
 * A value in transit that a remote consumer here gives back: its proxies
 * close, its pipe ends move back (their ports, in token order; `null` for
 * one that cannot move). `undefined` when it holds no pipe end.
 */
export function giveBackTransit(value: unknown): (MessagePort | null)[] | undefined {
  const ends = leaveTransit(value)?.ends;
  if (ends === undefined || ends.length === 0) return undefined;
  return ends.map((end) => {
    if (movable(end)) return end.transfer();
    end.close();
    return null;
  });
}

/** A value in transit that a remote consumer here drops: its proxies and pipe ends close. */
export function dropTransit(value: unknown): void {
  for (const end of leaveTransit(value)?.ends ?? []) end.close();
}

/** Takes `value` out of transit, releasing its proxies; what it made, or `undefined`. */
function leaveTransit(value: unknown): Made | undefined {
  if (publicPuts.watch === undefined || typeof value !== "object" || value === null) return;
  const made = TRANSIT.get(value);
  if (made === undefined) return undefined;
  TRANSIT.delete(value);
  for (const proxy of made.proxies) void release(proxy);
  return made;
}

/**
 * Brings back the pipe ends of an item that came back to its queue (W-8):
 * on the ports its consumer returned (`ports[i]` for the i-th end its
 * tokens carried), else as ends whose other end is gone (a consumer that
 * is gone, or one that could not return them); closed at once when the
 * item is `discarded`. Ports left over are closed.
 */
export function reviveEnds(
  travelling: Travelling,
  ports: readonly (MessagePort | null)[] | undefined,
  discarded: boolean,
): void {
  const ends = travelling.ends ?? [];
  travelling.ends = undefined;
  ends.forEach((end, i) => {
    const port = ports?.[i] ?? undefined;
    if (!revive(end, port)) port?.close();
    // An immediate shutdown discards the item: its end closes, and its other end hears it.
    else if (discarded) end.close();
  });
  for (const port of ports?.slice(ends.length) ?? []) port?.close();
}
