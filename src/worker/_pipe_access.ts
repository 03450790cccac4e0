/**
 * The module-private door into a pipe end for the worker layer: whether an
 * end can travel inside a value, and what happens to it when it has moved,
 * travelled on as an end whose other end is gone, or come back with its
 * value (W-3, W-8, W-12). Nothing here is part of the published API;
 * `pipe.ts` grants the door once, when `Connection` is defined, and only
 * modules inside `src/` import this one.
 *
 * Whoever holds a `Connection` has loaded `pipe.ts`, which opens the door
 * (and `travel.ts`, which calls {@linkcode goneEnd}, imports `pipe.ts`).
 *
 * Internal: not exported from an entry point.
 *
 * @module
 */

import type { Connection, ConnectionOptions } from "./pipe.ts";

/** What `pipe.ts` grants: the operations below, which see an end's state. */
export interface PipeAccess {
  movable: typeof movable;
  travelsGone: typeof travelsGone;
  goneEnd: typeof goneEnd;
  movedOn: typeof movedOn;
  revive: typeof revive;
}

/** Set once by `pipe.ts` when `Connection` is defined: the only way in. */
let door: PipeAccess;

/** Called once by `pipe.ts`; returns `true`, kept in a static field of `Connection`. */
export function grantPipeAccess(access: PipeAccess): true {
  door = access;
  return true;
}

/**
 * Whether `end` can move to another thread now: it is open, has never
 * started receiving, its other end is not known to be gone (its port is
 * closed then), and it is not the end a value holding it is being sent
 * through.
 */
export function movable(end: Connection): boolean {
  return door.movable(end);
}

/**
 * Whether `end` travels inside a value as an end whose other end is gone:
 * it arrived so (see {@linkcode goneEnd}) and has not started receiving or
 * closed since. Its port is closed, so it cannot move; the value still can.
 */
export function travelsGone(end: Connection): boolean {
  return door.travelsGone(end);
}

/** The error for a pipe end in a value that cannot move: the value cannot be cloned (W-3). */
export function cannotMove(): DOMException {
  return new DOMException(
    "a pipe end that is closed, has started receiving, or is the end it is sent through (or that end's other end) cannot be sent",
    "DataCloneError",
  );
}

/**
 * An end whose other end is gone, on `port`. A value that was checked while
 * its pipe end could move, and posted once it no longer could (an earlier
 * value took it, or it was closed meanwhile), arrives holding one: the value
 * is delivered, and that end's `recv` rejects `PipeClosed`.
 */
export function goneEnd(port: MessagePort, options: ConnectionOptions): Connection {
  return door.goneEnd(port, options);
}

/**
 * Closes an end that travelled on inside a value as one whose other end is
 * gone, so that it can be brought back like an end that moved ({@linkcode revive}).
 */
export function movedOn(end: Connection): void {
  door.movedOn(end);
}

/**
 * Brings back an end that moved (or travelled on gone) inside a value that
 * came back to its queue (W-8): on `port`, returned by the consumer, else as
 * an end whose other end is gone. False, changing nothing, for any other end.
 */
export function revive(end: Connection, port: MessagePort | undefined): boolean {
  return door.revive(end, port);
}
