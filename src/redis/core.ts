/**
 * What a Redis primitive needs from its client (`Core`, `Part`), and the
 * helpers that open and close the client's connections. Internal.
 *
 * @module
 */

import type { Redis, RedisOptions } from "ioredis";
import type { WaitOptions } from "../_waiters.ts";
import type { StateLost } from "../errors.ts";
import type { Batch } from "./batch.ts";
import type { RedisTarget } from "./options.ts";

/** What a primitive needs from its client. Internal. */
export interface Core {
  /** This client's id: names its lists and its lease. */
  readonly id: string;
  readonly leaseMs: number;
  readonly prefix: string;
  readonly closed: boolean;
  /** The ordered connection, for plain commands. */
  readonly main: Redis;
  /** Runs one operation of the script on the ordered connection. */
  call(meta: string, base: string, op: string, ...args: (string | number)[]): Promise<unknown>;
  /**
   * Runs a blocking command on a pooled connection. A timeout or abort sends
   * `CLIENT UNBLOCK`; whatever the command returned (an item that arrived in
   * the same instant included) is returned with the reason it was cancelled.
   * A call whose connection the closing client cut (its cancel did not land
   * in time) rejects `LinkClosed`. A call whose connection was cut otherwise
   * (the network, the server) while the command was on its way is `lost`:
   * the command ran or not, its reply is gone and it is never sent again;
   * the caller finds out on the server what it did.
   */
  block<R>(
    run: (redis: Redis) => Promise<R | null>,
    options: WaitOptions | undefined,
  ): Promise<Blocked<R>>;
  /** Marks a primitive as having work to flush soon. */
  schedule(part: Part): void;
  /**
   * Each primitive's setup as its `init` named it (by key prefix): sent with
   * every call, so the script tells a setup the server lost (see `script.ts`).
   */
  readonly epochs: Map<string, string>;
  /**
   * What each primitive does (by key prefix) when a call finds its setup
   * lost on the server: `reported` when the error reaches the caller of a
   * public method, not only a background call (a lease refresh, a batch).
   */
  readonly onLost: Map<string, (error: StateLost, reported: boolean) => void>;
}

/** How a blocked call ended (see {@linkcode Core.block}). */
export interface Blocked<R> {
  /** What the command returned; `null` when it returned nothing or was `lost`. */
  readonly value: R | null;
  /** Why the call was cancelled (`TIMED_OUT`, an abort's reason), if it was. */
  readonly cancelled: unknown;
  /** The connection was cut while the command was on its way: it may have run. */
  readonly lost: boolean;
}

/** A primitive as its client sees it. Internal. */
export interface Part {
  /** Sends what was batched; resolves once the server has it. */
  flush(): Promise<void>;
  /** Refreshes this client's lease on the primitive and reaps dead clients. */
  touch(): Promise<void>;
  /**
   * Settles every local waiter, sends what was batched and gives back what
   * this client holds. Resolves with why what it batched may not have
   * reached the server (the batch failed: the server was gone, say), if so;
   * rejects when it could not give back what it holds.
   */
  close(): Promise<unknown>;
}

/** What each side of a Redis queue (producer, consumer) needs from its queue. Internal. */
export interface SideHooks {
  readonly core: Core;
  /** The queue's key prefix. */
  readonly base: string;
  readonly batch: Batch;
  /** Aborted once the client closes. */
  readonly closing: AbortSignal;
  /** What this client knows of the shutdown: 0 open, 1 shut down, 2 immediately. */
  shut(): number;
  /** Initialises the queue on the server, once. */
  ready(): Promise<void>;
  /** Rejects in the contract's order: QueueShutDown, then a bad option. */
  check(options: WaitOptions | undefined, put: boolean): Promise<void>;
  /** Runs one operation of the script, after sending the batch. */
  call(op: string, ...args: (string | number)[]): Promise<unknown>;
  /** This client was reaped while alive: take part again. */
  revive(): Promise<void>;
  /** A reply told of a shutdown. */
  onShut(shut: number): void;
}

/** The `reason` a timeout gives to {@linkcode Core.block}. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * A blocking move that is `true` once it moved something, `false` when the
 * timeout ran out first; sent again, for the time left, when a cut lost it.
 * Only for a move that may run twice: an event's or a join's (`BLMOVE key
 * key`) moves nothing away.
 */
export async function blockAgain(
  core: Core,
  run: (redis: Redis) => Promise<string | null>,
  signal: AbortSignal,
  timeout: number | undefined,
): Promise<boolean> {
  const deadline = timeout !== undefined && timeout !== Infinity
    ? performance.now() + timeout
    : undefined;
  while (true) {
    const wait: WaitOptions = { signal };
    if (deadline !== undefined) {
      const left = deadline - performance.now();
      // the time ran out while the lost move was on its way
      if (left <= 0) return false;
      wait.timeout = left;
    }
    const { value, cancelled, lost } = await core.block(run, wait);
    if (value !== null) return true;
    if (lost && cancelled === undefined) continue;
    if (cancelled === TIMED_OUT) return false;
    throw cancelled;
  }
}

export function optionsOf(target: RedisTarget): RedisOptions {
  if (typeof target === "string") {
    const url = new URL(target);
    const options: RedisOptions = {
      host: url.hostname,
      port: url.port === "" ? 6379 : Number(url.port),
    };
    if (url.username !== "") options.username = decodeURIComponent(url.username);
    if (url.password !== "") options.password = decodeURIComponent(url.password);
    const db = url.pathname.slice(1);
    if (db !== "") options.db = Number(db);
    if (url.protocol === "rediss:") options.tls = {};
    return options;
  }
  return { ...target } as RedisOptions;
}

/**
 * Waits until a connection is ready, or rejects with its error, or when it
 * ends first (a `disconnect()` while it was still opening emits no error).
 */
export function ready(redis: Redis): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  if (redis.status === "end") return Promise.reject(new Error("Connection is closed."));
  return new Promise((resolve, reject) => {
    const settle = () => {
      redis.off("ready", onReady);
      redis.off("error", onError);
      redis.off("end", onEnd);
    };
    const onReady = () => {
      settle();
      resolve();
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onEnd = () => {
      settle();
      reject(new Error("Connection is closed."));
    };
    redis.once("ready", onReady);
    redis.once("error", onError);
    redis.once("end", onEnd);
  });
}

/** What ioredis keeps of a connection's commands that a cut left unanswered (see `settleOnEnd`). */
interface Resending {
  prevCommandQueue?: {
    readonly length: number;
    shift(): { readonly command: { reject(error: Error): void } } | undefined;
  } | null;
}

/**
 * Makes a connection's commands settle when it ends for good. ioredis keeps
 * the commands a cut left unanswered to send them again once it has
 * reconnected; once it has tried to reconnect, ending (a closing client's
 * retry strategy refuses the next try) rejects its other commands but never
 * those: they would never settle, nor would whatever waits for them (a
 * flush, a blocked get, `close()`). They are rejected as the others are.
 */
export function settleOnEnd(redis: Redis): void {
  redis.on("end", () => {
    const resending = redis as unknown as Resending;
    const kept = resending.prevCommandQueue;
    if (kept === undefined || kept === null) return;
    resending.prevCommandQueue = null;
    for (let item = kept.shift(); item !== undefined; item = kept.shift()) {
      item.command.reject(new Error("Connection is closed."));
    }
  });
}

/** The field of ioredis's connection state that `cutConnection` sets (see there). */
interface Status {
  status: string;
}

/**
 * Ends a connection at once, without waiting for the server (it may not
 * answer, nor close), whatever its state: its queued commands reject, it
 * emits "end", and no timer or reconnect of it is left.
 */
export function cutConnection(redis: Redis): void {
  if (redis.status === "reconnecting") {
    // Between two attempts no socket is open, so none can close: `disconnect()` alone clears
    // the timer of the next attempt and leaves the connection "reconnecting" for good, its
    // queued commands never settled and no "end" emitted (what a close waits for). A
    // connection that has not connected yet ("wait") is ended by `disconnect()` at once,
    // through ioredis's own close path (queued commands rejected, "end"): so this one is too.
    (redis as unknown as Status).status = "wait";
  }
  redis.disconnect();
  redis.stream?.destroy();
}

/**
 * Makes a connection that waits to reconnect try at once: a closing client
 * does not wait out a retry delay (a user's strategy may wait for minutes),
 * and its retry strategy refuses any later attempt, so the connection is
 * back at once (what it queued is sent) or ends.
 */
export function reconnectNow(redis: Redis): void {
  if (redis.status !== "reconnecting") return;
  // clears the timer of the next attempt; the connection, marked as closed by hand, ends when
  // this attempt fails or once it is back and closes
  redis.disconnect();
  redis.connect().catch(() => {});
}

/**
 * Quits a connection and waits until it has ended. A connection that waits
 * to reconnect is ended at once: a client quits a connection once nothing is
 * left to send on it. With `graceMs`, one still open after that long (a
 * server that stalls answers no `QUIT`) is cut.
 */
export async function quit(redis: Redis, graceMs?: number): Promise<void> {
  if (graceMs === undefined) return await quitting(redis);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
  const ended = quitting(redis);
  await Promise.race([ended, grace]);
  clearTimeout(timer);
  if (redis.status !== "end") cutConnection(redis);
  await ended;
}

async function quitting(redis: Redis): Promise<void> {
  while (redis.status !== "end") {
    const changed = new Promise<void>((resolve) => {
      const done = () => {
        redis.off("end", done);
        redis.off("ready", done);
        resolve();
      };
      redis.once("end", done);
      redis.once("ready", done);
    });
    if (redis.status === "ready") redis.quit().catch(() => redis.disconnect());
    else if (redis.status === "reconnecting") cutConnection(redis);
    else redis.disconnect();
    await changed;
  }
}
