/**
 * The connect of `connectRedis`: the client's main connection, ready and
 * with the client's script loaded, within the caller's `timeout`/`signal`.
 * A connect given up on leaves nothing open. Internal.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import { checkWaitOptions, WaitList, type WaitOptions } from "../_waiters.ts";
import { cutConnection, optionsOf, quit, ready, settleOnEnd } from "./core.ts";
import type { RedisClientOptions, RedisTarget } from "./options.ts";
import { SCRIPT } from "./script.ts";

/** What `open` hands the client it makes. */
export interface Opened {
  redisOptions: RedisOptions;
  main: Redis;
  sha: string;
  /** Set once the client closes: a lost connection then ends instead of reconnecting. */
  lifecycle: { closing: boolean };
}

/**
 * Opens the main connection of a client and loads its script, within
 * `options.timeout`/`options.signal` (rejects `RangeError` for a bad
 * timeout, the signal's reason, or a `TimeoutError` `DOMException`; what it
 * opened is closed first).
 */
export async function open(target: RedisTarget, options: RedisClientOptions): Promise<Opened> {
  const waitOptions: WaitOptions = {};
  if (options.timeout !== undefined) waitOptions.timeout = options.timeout;
  if (options.signal !== undefined) waitOptions.signal = options.signal;
  // a bad timeout, then an aborted signal: before anything is opened
  const invalid = checkWaitOptions(waitOptions);
  if (invalid !== undefined) throw invalid;
  // The whole connect waits on this one waiter: it rejects when the time runs out or the signal
  // aborts, and leaves (its timer cleared, its listener detached) once the connect is over.
  let gaveUp = false;
  const deadline = new WaitList<never>({
    onTimeout: () => {
      throw new DOMException("no Redis server answered in time", "TimeoutError");
    },
    onCancel: () => {
      gaveUp = true;
    },
  });
  const givenUp = deadline.wait(waitOptions, undefined);
  // `timeout: 0` does not wait, and a connect cannot end without waiting: nothing is opened
  if (gaveUp) return await givenUp;
  const redisOptions = optionsOf(target);
  // once the client closes, a lost connection ends instead of reconnecting
  const lifecycle = { closing: false };
  const retry = redisOptions.retryStrategy;
  redisOptions.retryStrategy = (times) =>
    lifecycle.closing
      ? null
      : typeof retry === "function"
      ? retry(times)
      : Math.min(times * 50, 2_000);
  // A call waits for the server however many reconnects it takes (ioredis fails it after 20
  // by default): a batch of puts that resolved would be lost while the client lives.
  if (redisOptions.maxRetriesPerRequest === undefined) redisOptions.maxRetriesPerRequest = null;
  // `disconnectTimeout`: a reconnect that fails its ready check disconnects once more, with a
  // timer of that many ms that nothing clears (see `BlockingPool`): 0, so none outlives close()
  const main = new Redis({ ...redisOptions, lazyConnect: false, disconnectTimeout: 0 });
  // errors reach the calls that fail; a listener keeps ioredis from printing them
  main.on("error", () => {});
  settleOnEnd(main);
  const opening = (async () => {
    await ready(main);
    return String(await main.script("LOAD", SCRIPT));
  })();
  let sha: string;
  try {
    sha = await Promise.race([opening, givenUp]);
  } catch (error) {
    deadline.shift();
    lifecycle.closing = true;
    if (gaveUp) {
      // the opening fails as its connection is cut: its outcome no longer matters
      opening.catch(() => {});
      await abandon(main);
    } else {
      await quit(main).catch(() => {});
    }
    throw error;
  }
  deadline.shift();
  return { redisOptions, main, sha, lifecycle };
}

/**
 * Ends a connection a connect gave up on, at once (the server may never
 * answer a `QUIT`), and resolves once nothing of it is left: its socket
 * closed, no reconnect to come, no timer of ioredis still pending.
 */
async function abandon(redis: Redis): Promise<void> {
  if (redis.status !== "end") {
    const ended = new Promise<void>((resolve) => redis.once("end", () => resolve()));
    cutConnection(redis);
    await ended;
  }
  // Each `disconnect()` starts a timer of `disconnectTimeout` (0) ms that nothing clears, and
  // the cut fails the opening's ready check, which disconnects once more in the promise steps
  // that follow. Once a 0 ms timer has fired, those steps have run (they come before any
  // timer); a second one, started after theirs, fires after theirs.
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
}
