/**
 * The pool of connections a Redis client runs its blocked calls on (a get's,
 * a put's or an acquire's `BLMOVE`): one pooled connection per blocked call,
 * and a timeout or abort cancels the call with `CLIENT UNBLOCK` sent on the
 * client's ordered connection. A call whose cancel does not land in time is
 * cut (`cut`): it rejects with the reason the client gives, whichever
 * primitive made it. A call whose connection the network or the server cut
 * once it was sent is `lost`, never sent again (it may have run): the
 * primitive finds out on the server what it did. Internal to `client.ts`.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import type { WaitOptions } from "../_waiters.ts";
import {
  type Blocked,
  cutConnection,
  quit,
  ready,
  reconnectNow,
  settleOnEnd,
  TIMED_OUT,
} from "./core.ts";
import { startTimer } from "./waiters.ts";

/** What `#run` returns for a command whose connection was cut before it answered. */
const LOST: unique symbol = Symbol("lost");
type LOST = typeof LOST;

/** A connection of the pool, with the id `CLIENT UNBLOCK` needs. */
interface Blocker {
  readonly redis: Redis;
  /** The connection's `CLIENT ID`; a reconnect changes it. */
  id: number;
  /** The connection's `CLIENT SETNAME`, kept across reconnects. */
  readonly name: string;
  /** Set once `cut` ended the connection: why, for the call it cut. */
  cut: { readonly reason: unknown } | undefined;
}

/** The blocked calls of one client and the connections they run on. Internal. */
export class BlockingPool {
  readonly #options: RedisOptions;
  readonly #main: Redis;
  readonly #clientId: string;
  readonly #idle: Blocker[] = [];
  readonly #busy = new Set<Blocker>();
  /** Blocked calls in flight: close() waits for them before it quits their connections. */
  readonly #blocking = new Set<Promise<unknown>>();
  #connections = 0;
  #closed = false;

  /**
   * @param options How to open a pooled connection (the client's).
   * @param main The client's ordered connection: `CLIENT UNBLOCK` and `CLIENT LIST` go there.
   * @param clientId The client's id, in the names of the pooled connections.
   */
  constructor(options: RedisOptions, main: Redis, clientId: string) {
    this.#options = options;
    this.#main = main;
    this.#clientId = clientId;
  }

  /** Runs a blocking command on a pooled connection (`Core.block` in `core.ts`). */
  block<R>(
    run: (redis: Redis) => Promise<R | null>,
    options: WaitOptions | undefined,
  ): Promise<Blocked<R>> {
    const call = this.#blockOnce(run, options);
    this.#blocking.add(call);
    return call.finally(() => this.#blocking.delete(call));
  }

  /** Resolves once no blocked call is in flight, calls started meanwhile included. */
  async drained(): Promise<void> {
    while (this.#blocking.size > 0) await Promise.allSettled([...this.#blocking]);
  }

  /**
   * Cuts the connections of the calls still blocked: each of those calls
   * rejects `reason`, not the error of the connection it lost.
   */
  cut(reason: unknown): void {
    for (const blocker of this.#busy) {
      blocker.cut = { reason };
      // At once: a server that does not answer may not close its end either, and the client's
      // wait for that would outlive close() by seconds (a timer a test's sanitizer sees).
      cutConnection(blocker.redis);
    }
  }

  /** Makes each busy connection that waits to reconnect try at once (see `reconnectNow`). */
  reconnectNow(): void {
    for (const blocker of this.#busy) reconnectNow(blocker.redis);
  }

  /**
   * Quits every pooled connection, cutting one the server leaves open for
   * `graceMs`; one given back later is quit then.
   */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#idle, ...this.#busy].map((blocker) => quit(blocker.redis, graceMs)),
    );
    this.#idle.length = 0;
    this.#busy.clear();
  }

  async #borrow(): Promise<Blocker> {
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      this.#busy.add(idle);
      return idle;
    }
    // named, so a cancel can find it again after a reconnect gave it a new id
    const name = `baton:${this.#clientId}:${++this.#connections}`;
    // `disconnectTimeout`: see the catch below. A blocking command a cut left unanswered is not
    // sent again once reconnected (it may have run: its caller finds out, see `#run`).
    const redis = new Redis({
      ...this.#options,
      connectionName: name,
      lazyConnect: false,
      disconnectTimeout: 0,
      autoResendUnfulfilledCommands: false,
    });
    // errors reach the calls that fail; a listener keeps ioredis from printing them
    redis.on("error", () => {});
    settleOnEnd(redis);
    const blocker: Blocker = { redis, id: 0, name, cut: undefined };
    this.#busy.add(blocker);
    try {
      await ready(redis);
      blocker.id = Number(await redis.client("ID"));
    } catch (error) {
      this.#busy.delete(blocker);
      await quit(redis).catch(() => {});
      if (blocker.cut === undefined) throw error;
      // Cut while it was opening. ioredis then still runs the opening's ready check, which fails
      // and disconnects once more (in the steps right after the end), starting a timer of
      // `disconnectTimeout` ms that nothing clears: 0 here, and a timer started after it fires
      // after it, so nothing of this connection outlives close().
      await new Promise((resolve) => setTimeout(resolve, 0));
      throw blocker.cut.reason; // the call fails for the reason close() gave
    }
    return blocker;
  }

  /** Finds a pooled connection's id again by its name (a reconnect changed it). */
  async #refreshId(blocker: Blocker): Promise<void> {
    try {
      const list = String(await this.#main.client("LIST"));
      for (const line of list.split("\n")) {
        if (!line.includes(` name=${blocker.name} `)) continue;
        const id = line.match(/^id=(\d+)/);
        if (id !== null) blocker.id = Number(id[1]);
      }
    } catch {
      // the next round tries again
    }
  }

  #giveBack(blocker: Blocker): void {
    this.#busy.delete(blocker);
    if (this.#closed) {
      quit(blocker.redis).catch(() => {});
    } else {
      this.#idle.push(blocker);
    }
  }

  /**
   * Runs a blocking command; `LOST` once its connection is cut after it was
   * sent and before it answered. The connection does not send it again, and
   * drops it without settling it: nothing waits for it any more. A command
   * made while the connection is getting back to the server waits to be
   * sent once it is back: reconnects that fail meanwhile lose nothing.
   */
  #run<R>(blocker: Blocker, run: (redis: Redis) => Promise<R | null>): Promise<R | null | LOST> {
    const redis = blocker.redis;
    return new Promise((resolve, reject) => {
      // sent once the connection is ready: at once, or when it gets back
      let sent = redis.status === "ready";
      const onReady = () => sent = true;
      const onClose = () => {
        if (!sent) return;
        done();
        resolve(LOST);
      };
      const done = () => {
        redis.off("ready", onReady);
        redis.off("close", onClose);
      };
      redis.on("ready", onReady);
      redis.on("close", onClose);
      run(redis).then(resolve, reject).finally(done);
    });
  }

  async #blockOnce<R>(
    run: (redis: Redis) => Promise<R | null>,
    options: WaitOptions | undefined,
  ): Promise<Blocked<R>> {
    let cancelled: unknown = undefined;
    let isCancelled = false;
    let blocker: Blocker | undefined;
    let settled = false;
    let unblocking: Promise<void> | undefined;
    const unblock = async (target: Blocker) => {
      // CLIENT UNBLOCK can reach the server before the blocking command does (or while
      // the connection is being re-established): retry, backing off, until it lands
      let pause = 1;
      while (!settled) {
        const n = await this.#main.client("UNBLOCK", target.id).catch(() => 0);
        if (settled || n === 1) return;
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, 100);
        if (pause >= 8 && !settled) await this.#refreshId(target);
      }
    };
    const cancel = (reason: unknown) => {
      if (isCancelled) return;
      isCancelled = true;
      cancelled = reason;
      if (blocker !== undefined) unblocking = unblock(blocker);
    };
    // aborted while the call was on its way here (its first round trips): no listener
    // would hear of it any more
    if (options?.signal?.aborted) {
      return { value: null, cancelled: options.signal.reason, lost: false };
    }
    const timeout = options?.timeout;
    const stopTimer = timeout !== undefined && timeout !== Infinity
      ? startTimer(timeout, () => cancel(TIMED_OUT))
      : undefined;
    const signal = options?.signal;
    const onAbort = () => cancel(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      blocker = await this.#borrow();
      if (isCancelled) return { value: null, cancelled, lost: false };
      try {
        const value = await this.#run(blocker, run);
        // the call lost its connection because close() cut it: it fails for the reason given
        if (blocker.cut !== undefined) throw blocker.cut.reason;
        if (value === LOST) return { value: null, cancelled, lost: true };
        return { value, cancelled, lost: false };
      } catch (error) {
        if (blocker.cut !== undefined) throw blocker.cut.reason;
        // cancelled, then its connection ended (the closing client's connections end when they
        // cannot get back to the server): it ends as cancelled; what it may have moved, the
        // close gives back
        if (isCancelled && blocker.redis.status === "end") {
          return { value: null, cancelled, lost: true };
        }
        throw error;
      } finally {
        settled = true;
        if (unblocking !== undefined) await unblocking;
      }
    } finally {
      stopTimer?.();
      signal?.removeEventListener("abort", onAbort);
      if (blocker !== undefined) this.#giveBack(blocker);
    }
  }
}
