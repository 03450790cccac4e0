/**
 * Event, Semaphore, BoundedSemaphore and Lock kept in Redis.
 *
 * @module
 */

import { type Held, held, holdTimeout } from "../_held.ts";
import { checkWaitOptions, type WaitOptions } from "../_waiters.ts";
import { LinkClosed, StateLost } from "../errors.ts";
import { blockAgain, type Blocked, type Core, TIMED_OUT } from "./core.ts";
import { settleBy } from "./waiters.ts";

/** Turns the script's error replies into baton's errors. */
function rethrow(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith("RANGE ")) throw new RangeError(message.slice(6));
  if (message.startsWith("LOCK ")) throw new Error(message.slice(5));
  throw error;
}

/** A blocking `BLMOVE from to` that a timeout, an abort or `close` cancels. */
async function blockMove(
  core: Core,
  closing: AbortSignal,
  from: string,
  to: string,
  options: WaitOptions | undefined,
): Promise<boolean> {
  if (core.closed) throw new LinkClosed("the Redis client is closed");
  const signals = [closing];
  if (options?.signal !== undefined) signals.push(options.signal);
  return await blockAgain(
    core,
    (redis) => redis.blmove(from, to, "LEFT", "RIGHT", 0),
    AbortSignal.any(signals),
    options?.timeout,
  );
}

function open(core: Core): Core {
  if (core.closed) throw new LinkClosed("the Redis client is closed");
  return core;
}

/**
 * An event kept in Redis (E-1): `set` wakes every waiter on every client.
 * The flag is a list holding one token while set; waiters block on it with
 * `BLMOVE flag flag`, which wakes all of them without pub/sub.
 *
 * @example
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis({ path: "/tmp/redis.sock" });
 * const go = redis.event("go");
 * setTimeout(() => go.set(), 10);
 * console.log(await go.wait({ timeout: 5000 })); // true
 * await redis.close();
 * ```
 */
export class RedisEvent {
  readonly #core: Core;
  readonly #base: string;
  readonly #closing = new AbortController();

  /** Internal: use `RedisClient.event`. */
  constructor(core: Core, base: string) {
    this.#core = core;
    this.#base = base;
  }

  /** Sets the flag, waking every waiter. */
  async set(): Promise<void> {
    await open(this.#core).call(`${this.#base}:meta`, this.#base, "set");
  }

  /** Clears the flag. */
  async clear(): Promise<void> {
    await open(this.#core).main.del(`${this.#base}:flag`);
  }

  /** Whether the flag is set. */
  async isSet(): Promise<boolean> {
    return (await open(this.#core).main.exists(`${this.#base}:flag`)) === 1;
  }

  /**
   * Waits until the flag is set.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns `true` once set, `false` when the timeout ran out first.
   * @throws {RangeError} For a negative or `NaN` timeout.
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) throw error;
    const flag = `${this.#base}:flag`;
    return await settleBy(options, false, () => {
      if (options?.timeout === 0) return this.isSet();
      return blockMove(this.#core, this.#closing.signal, flag, flag, options);
    });
  }

  /** Internal: nothing is batched for an event. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Internal: an event holds nothing, so it has no lease. */
  touch(): Promise<void> {
    return Promise.resolve();
  }

  /** Internal: cancels this client's waits. */
  close(): Promise<void> {
    this.#closing.abort(new LinkClosed("the Redis client is closed"));
    return Promise.resolve();
  }
}

/**
 * A semaphore kept in Redis (S-1, S-2): free permits are a number on the
 * server, so no operation costs more for more permits (a value up to
 * `Number.MAX_SAFE_INTEGER`, as locally). A blocked `acquire` waits on a
 * list that gets a token for each blocked acquirer a release serves, and
 * Redis serves them in the order they blocked. Permits a client holds go
 * back when it closes or its lease runs out.
 *
 * @example
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis({ path: "/tmp/redis.sock" });
 * const slots = redis.semaphore("slots", 2);
 * await slots.acquire();
 * console.log(await slots.value); // 1
 * await slots.release();
 * await redis.close();
 * ```
 */
export class RedisSemaphore {
  /** The number of permits it started with. */
  readonly initial: number;
  readonly #kind: string;
  readonly #raw: Core;
  readonly #base: string;
  readonly #closing = new AbortController();
  /** Cancels the blocked acquires, once the server lost this semaphore's setup. */
  #lostSignal = new AbortController();
  /** The loss no public call has reported yet: the next one rejects with it. */
  #unreported: StateLost | undefined;
  #init: Promise<void> | undefined;
  #initialized = false;

  /** Internal: use `RedisClient.semaphore`. */
  constructor(core: Core, base: string, value: number, kind = "sem") {
    this.#raw = core;
    this.#base = base;
    this.initial = value;
    this.#kind = kind;
    core.onLost.set(base, (error, reported) => this.#lost(error, reported));
  }

  /**
   * The server lost this semaphore's setup (see `StateLost`): the permits
   * this client held and its blocked acquires' places are gone. The next call
   * sets it up again with its initial value; blocked acquires reject, and the
   * loss is reported by the next call unless the call that found it reports it.
   */
  #lost(error: StateLost, reported: boolean): void {
    if (this.#init === undefined) return;
    this.#init = undefined;
    this.#raw.epochs.delete(this.#base);
    if (!reported) this.#unreported = error;
    const waits = this.#lostSignal;
    this.#lostSignal = new AbortController();
    waits.abort(error);
  }

  get #core(): Core {
    return open(this.#raw);
  }

  get #meta(): string {
    return `${this.#base}:meta`;
  }

  /** Internal: a new fencing token, for a lock this client holds. */
  protected async nextToken(): Promise<number> {
    return Number(await this.#core.call(this.#meta, this.#base, "fence"));
  }

  /** Internal: creates the semaphore in Redis unless it exists, and starts the lease. */
  protected ready(): Promise<void> {
    const lost = this.#unreported;
    if (lost !== undefined) {
      this.#unreported = undefined;
      return Promise.reject(lost);
    }
    return this.#setup();
  }

  /** Sets the semaphore up on the server as declared, unless it is; once per setup. */
  #setup(): Promise<void> {
    this.#init ??= this.#core.call(
      this.#meta,
      this.#base,
      "init",
      this.#kind,
      this.initial,
      this.#core.leaseMs,
    ).then(
      (reply) => {
        this.#core.epochs.set(this.#base, String((reply as [number, string])[1]));
        this.#initialized = true;
      },
      (error: Error) => {
        throw new Error(error.message);
      },
    );
    return this.#init;
  }

  /**
   * Takes a permit, waiting while there is none.
   *
   * @param options `timeout` in ms (`0`: just try) and `signal`.
   * @returns `true` once acquired, `false` when the timeout ran out first.
   * @throws {RangeError} For a negative or `NaN` timeout.
   */
  async acquire(options?: WaitOptions): Promise<boolean> {
    const error = checkWaitOptions(options);
    if (error !== undefined) throw error;
    // a permit that comes after the wait ended goes back
    try {
      return await settleBy(options, false, () => this.#acquire(options), (got) => {
        if (got) this.#giveBack().catch(() => {});
      });
    } catch (error) {
      // an acquire that rejects with the loss (one a lease refresh found, say) reports it
      if (error instanceof StateLost) this.#unreported = undefined;
      throw error;
    }
  }

  /** Gives back one permit this client took for a wait that had ended. */
  async #giveBack(): Promise<void> {
    await this.#core.call(this.#meta, this.#base, "release", 1, 0);
  }

  async #acquire(options: WaitOptions | undefined): Promise<boolean> {
    await this.ready();
    const timeout = options?.timeout;
    const deadline = timeout !== undefined && timeout !== Infinity
      ? performance.now() + timeout
      : undefined;
    while (true) {
      // a free permit: take it without blocking; none: the server counts this call as
      // blocked in the same step, so a release from now on makes a token for its BLMOVE
      const leaseMs = this.#core.leaseMs;
      const block = timeout === 0 ? 0 : 1;
      if ((await this.#core.call(this.#meta, this.#base, "tryacquire", leaseMs, block)) === 1) {
        return true;
      }
      if (timeout === 0) return false;
      // counted as blocked: ends with "claim" once a permit moved here, else "waiting -1"
      let blocked: Blocked<string>;
      try {
        blocked = await this.#block(options?.signal, deadline);
      } catch (error) {
        await this.#unwait();
        throw error;
      }
      const { value, cancelled, lost } = blocked;
      if (value === null && !lost) {
        await this.#unwait();
        if (cancelled === TIMED_OUT) return false;
        throw cancelled;
      }
      // a closing client's close gives back what a move cut on its way may have brought
      if (this.#raw.closed) throw new LinkClosed("the Redis client is closed");
      // a permit moved here, or may have (the connection was cut while the move was on its
      // way): the claim says, and ends the wait
      if ((await this.#claim(leaseMs)) === 1) return true;
      if (lost && cancelled === TIMED_OUT) return false;
      if (lost && cancelled !== undefined) throw cancelled;
      // none came (the move was lost before it ran), or the permit it was handed went back
      // while this client looked dead: wait again
    }
  }

  /** Ends a blocked wait: 1 once the permit in this client's hand is held, 0 with none there. */
  async #claim(leaseMs: number): Promise<number> {
    try {
      return Number(await this.#core.call(this.#meta, this.#base, "claim", leaseMs));
    } catch (error) {
      if (!(error instanceof StateLost)) throw error;
      // The server lost the semaphore. The move needs no setup: it may have taken a permit made
      // on the one set up again (by any client), which waits in this client's hand there. It
      // goes back, and the acquire reports the loss.
      await this.#setup();
      if (Number(await this.#core.call(this.#meta, this.#base, "claim", leaseMs)) === 1) {
        await this.#giveBack();
      }
      throw error;
    }
  }

  /** One blocked wait for a permit: it moves one to this client's hand (see `claim`). */
  async #block(
    signal: AbortSignal | undefined,
    deadline: number | undefined,
  ): Promise<Blocked<string>> {
    const signals = [this.#closing.signal, this.#lostSignal.signal];
    if (signal !== undefined) signals.push(signal);
    const wait: WaitOptions = { signal: AbortSignal.any(signals) };
    if (deadline !== undefined) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return { value: null, cancelled: TIMED_OUT, lost: false };
      wait.timeout = remaining;
    }
    const permits = `${this.#base}:permits`;
    const hand = `${this.#base}:hand:${this.#raw.id}`;
    return await open(this.#raw).block(
      (redis) => redis.blmove(permits, hand, "LEFT", "RIGHT", 0),
      wait,
    );
  }

  /**
   * Ends a blocked acquire that got no permit: a token made for it goes back to the
   * count. A closed client has nothing to end: `close` dropped its count.
   */
  async #unwait(): Promise<void> {
    if (this.#raw.closed) return;
    await this.#raw.call(this.#meta, this.#base, "waiting", -1).catch((error) => {
      // a setup the server lost counts no wait of this client's
      if (!this.#raw.closed && !(error instanceof StateLost)) throw error;
    });
  }

  /**
   * How many `acquire` calls wait now, over all clients (of a client whose
   * lease ran out: none, until it takes part again).
   */
  get waiting(): Promise<number> {
    return this.ready().then(async () =>
      Number(await this.#core.call(this.#meta, this.#base, "waiting", 0))
    );
  }

  /**
   * Takes a permit and returns a handle that gives it back when disposed.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns The handle.
   * @throws {DOMException} Named `"TimeoutError"` when the timeout ran out.
   */
  async hold(options?: WaitOptions): Promise<Held> {
    if (!(await this.acquire(options))) throw holdTimeout("permit", options?.timeout);
    return held(() => {
      this.release().catch(() => {});
    });
  }

  /**
   * Returns `n` permits, waking up to `n` waiters in order.
   *
   * @param n How many (a positive integer, default 1).
   * @throws {RangeError} When `n < 1`, not an integer, or above
   *   `Number.MAX_SAFE_INTEGER` (where counts stop being exact, as locally),
   *   or when it would raise the free permits above `Number.MAX_SAFE_INTEGER`;
   *   nothing changes then.
   */
  async release(n = 1): Promise<void> {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`n must be a positive integer, received ${n}`);
    }
    if (n > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(
        `n must be at most Number.MAX_SAFE_INTEGER (${Number.MAX_SAFE_INTEGER}), received ${n}`,
      );
    }
    await this.ready();
    await this.#core.call(this.#meta, this.#base, "release", n, this.limit).catch(rethrow);
  }

  /** Internal: the most free permits allowed, `0` for no bound. */
  protected get limit(): number {
    return 0;
  }

  /** The number of free permits. */
  get value(): Promise<number> {
    return this.ready().then(async () =>
      Number(await this.#core.call(this.#meta, this.#base, "value"))
    );
  }

  /** Internal: nothing is batched for a semaphore. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Internal: refreshes this client's lease and reaps dead clients. */
  async touch(): Promise<void> {
    if (!this.#initialized || this.#init === undefined || this.#raw.closed) return;
    const [reaped] = await this.#raw.call(
      this.#meta,
      this.#base,
      "touch",
      this.#raw.leaseMs,
    ) as number[];
    // reaped while alive: what it held went back; take part again
    if (reaped === 1) await this.#raw.call(this.#meta, this.#base, "revive", this.#raw.leaseMs);
  }

  /** Internal: cancels this client's waits and gives back what it holds. */
  async close(): Promise<void> {
    this.#closing.abort(new LinkClosed("the Redis client is closed"));
    if (this.#initialized) await this.#raw.call(this.#meta, this.#base, "close");
  }
}

/**
 * A bounded semaphore kept in Redis (S-3): a `release` that would make more
 * free permits than it started with rejects `RangeError` and changes nothing.
 *
 * @example
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis({ path: "/tmp/redis.sock" });
 * const slots = redis.boundedSemaphore("slots", 1);
 * await slots.release().catch((error) => console.log(error.name)); // RangeError
 * await redis.close();
 * ```
 */
export class RedisBoundedSemaphore extends RedisSemaphore {
  /** Internal: use `RedisClient.boundedSemaphore`. */
  constructor(core: Core, base: string, value: number) {
    super(core, base, value, "bsem");
  }

  /** Internal: a release may not make more free permits than the initial value. */
  protected override get limit(): number {
    return this.initial;
  }
}

/**
 * A lock kept in Redis, with a fencing token. After each successful
 * `acquire`, `token` is greater than every token this lock gave out before,
 * also to holders whose lease ran out: pass it to the resource you protect,
 * and let the resource refuse a token lower than one it has seen. A holder
 * whose lease runs out loses the lock; only the holding client may
 * release it.
 *
 * @example
 * ```ts ignore
 * import { connectRedis } from "@baton/baton/redis";
 *
 * const redis = await connectRedis({ path: "/tmp/redis.sock" });
 * const lock = redis.lock("ledger");
 * if (await lock.acquire({ timeout: 1000 })) {
 *   console.log(lock.token); // 1, then 2, ...
 *   await lock.release();
 * }
 * await redis.close();
 * ```
 */
export class RedisLock extends RedisSemaphore {
  #token: number | undefined;

  /** Internal: use `RedisClient.lock`. */
  constructor(core: Core, base: string) {
    super(core, base, 1, "lock");
  }

  /** The fencing token of this client's latest successful `acquire`. */
  get token(): number | undefined {
    return this.#token;
  }

  /**
   * Acquires the lock and takes a new fencing token.
   *
   * @param options `timeout` in ms (`0`: just try) and `signal`.
   * @returns `true` once acquired, `false` when the timeout ran out first.
   */
  override async acquire(options?: WaitOptions): Promise<boolean> {
    if (!(await super.acquire(options))) return false;
    this.#token = await this.nextToken();
    return true;
  }

  /**
   * Releases the lock this client holds.
   *
   * @throws {Error} When this client does not hold it.
   */
  override async release(): Promise<void> {
    await super.release(1);
  }

  /** Whether any client holds the lock. */
  async locked(): Promise<boolean> {
    return (await this.value) === 0;
  }

  /** Internal: one permit at most. */
  protected override get limit(): number {
    return 1;
  }
}
