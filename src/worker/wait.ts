/**
 * `wait`: Python's `multiprocessing.connection.wait` for baton: waits until
 * one of several queues, pipe connections or processes is ready, without
 * taking anything from any of them.
 *
 * Local queues and pipe connections are known here; anything else (a remote
 * queue proxy, a `Process`) makes itself waitable through
 * {@linkcode waitable}, a module-private registry.
 *
 * @module
 */

import { queueAccess } from "../_queue_access.ts";
import { checkWaitOptions, describe, WaitList, type WaitOptions } from "../_waiters.ts";
import { Queue } from "../queue.ts";
import { Connection } from "./pipe.ts";

/**
 * Says whether an object is ready: resolves `true` once it is (at once when
 * it is now), `false` when `options.timeout` runs out first, rejects with
 * `options.signal.reason` when it aborts. It must take nothing and leave no
 * timer, listener or pending remote call once settled.
 */
export type Readiness = (options: WaitOptions) => Promise<boolean>;

/** What other modules made waitable (remote queue proxies, processes): by identity. */
const registry = new WeakMap<object, Readiness>();

/**
 * Makes `object` waitable by {@linkcode wait}: `ready` tells when it is.
 * Internal to baton (remote queue proxies and `Process` call it); not
 * exported from the package.
 *
 * @param object The object users will pass to `wait`.
 * @param ready Its readiness (see {@linkcode Readiness}).
 */
export function waitable(object: object, ready: Readiness): void {
  registry.set(object, ready);
}

/**
 * Whether a local queue's `get()` would not wait: an item is stored, or it
 * is shut down and drained. Waits up to `options.timeout` for that (`false`
 * when it runs out) and takes nothing. Also the owner's answer to a remote
 * proxy's `ready` call.
 */
export function queueReady(queue: Queue<unknown>, options: WaitOptions = {}): Promise<boolean> {
  const error = checkWaitOptions(options);
  if (error !== undefined) return Promise.reject(error);
  const access = queueAccess(queue);
  if (queue.qsize() > 0 || access.drained) return Promise.resolve(true);
  let unwatch: (() => void) | undefined;
  const waiting = new WaitList<boolean>({
    onTimeout: () => false,
    onCancel: () => unwatch?.(),
  });
  const promise = waiting.wait(options, undefined);
  // Not ready now, so the watcher cannot run inside this call; a timeout of 0 settled already.
  if (waiting.size > 0) unwatch = access.watchReady(() => waiting.resolveNext(true));
  return promise;
}

/** How `wait` learns whether `object` is ready, or `undefined` for what it cannot wait on. */
function readinessOf(object: unknown): Readiness | undefined {
  if (typeof object !== "object" || object === null) return undefined;
  if (object instanceof Queue) return (options) => queueReady(object, options);
  if (object instanceof Connection) return connectionReady(object);
  return registry.get(object);
}

/** A connection is ready when `recv` would not wait: data, the other end closed, or this end closed. */
function connectionReady(connection: Connection): Readiness | undefined {
  if (!connection.readable) return undefined;
  return (options) => {
    if (connection.closed) return Promise.resolve(true); // recv rejects PipeClosed at once
    const poll: { signal?: AbortSignal } = {};
    if (options.signal !== undefined) poll.signal = options.signal;
    return connection.poll(options.timeout ?? Infinity, poll).then(
      // A poll ended by this end's close resolves false: recv would not wait either.
      (ready) => ready || connection.closed,
    );
  };
}

/** The reason the checks still running are aborted with once `wait` settled. */
const SETTLED = Object.freeze(new Error("wait() settled"));

/**
 * Waits until at least one of `objects` is ready, and resolves with those
 * ready (Python's `multiprocessing.connection.wait`). Nothing is taken from
 * any of them: the caller then reads the ready ones.
 *
 * - a queue (`Queue`, `LifoQueue`, `PriorityQueue`, or a remote proxy from
 *   `connect`) is ready when its `get()` would not wait: an item is
 *   available, or it is shut down and drained (its `get` rejects
 *   `QueueShutDown`). A remote queue asks its owner, whose thread alone knows
 *   what is stored there; an item already prefetched to this side counts too,
 *   and so does a proxy whose link closed;
 * - a pipe {@linkcode Connection} when it has data, the other end closed, or
 *   this end is closed (`recv` would reject `PipeClosed`);
 * - a `Process` when it ended.
 *
 * The objects come back by identity, each once, in the order given. Those
 * seen ready in the same turn as the first come back together (readiness is
 * a moment's: another reader may take the item first, as in Python). Once
 * `wait` settles, no check it started is left running: local watchers are
 * removed and remote checks cancelled at their owner. An empty `objects`
 * resolves `[]` when the timeout runs out (and waits for ever without one),
 * as Python does.
 *
 * @typeParam T The type of the objects.
 * @param objects Queues, remote queue proxies, pipe connections, processes.
 * @param options `timeout` in ms (`0`: check each and return, without
 *   waiting for any to become ready) and `signal`.
 * @returns The objects ready; `[]` when the timeout ran out first.
 * @throws {TypeError} for an object `wait` cannot wait on (naming it), or a
 *   send-only pipe end.
 * @throws {RangeError} for a negative or `NaN` timeout.
 *
 * @example Whichever queue has work first
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { wait } from "@baton/baton/worker";
 *
 * const urgent = new Queue<string>();
 * const normal = new Queue<string>();
 * setTimeout(() => normal.putNowait("report"), 10);
 * const [ready] = await wait([urgent, normal], { timeout: 1000 });
 * console.log(ready === normal, normal.qsize()); // true 1: nothing was taken
 * console.log(await wait([urgent], { timeout: 0 })); // []
 * ```
 *
 * @example A queue and a pipe end
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { Pipe, wait } from "@baton/baton/worker";
 *
 * const jobs = new Queue<number>();
 * const [control, sender] = Pipe<never, string>({ duplex: false });
 * sender.send("stop");
 * const ready = await wait([jobs, control]);
 * if (ready.includes(control)) console.log(await control.recv()); // "stop"
 * sender.close();
 * control.close();
 * ```
 */
export function wait<T extends object>(
  objects: Iterable<T>,
  options?: WaitOptions,
): Promise<T[]> {
  let list: T[];
  try {
    list = [...new Set(objects)];
  } catch {
    return Promise.reject(
      new TypeError(`wait() takes an iterable of objects, received ${describe(objects)}`),
    );
  }
  const checks: Readiness[] = [];
  for (const object of list) {
    const ready = readinessOf(object);
    if (ready === undefined) {
      const what = object instanceof Connection ? "a send-only pipe end" : describe(object);
      return Promise.reject(
        new TypeError(
          `wait() cannot wait on ${what}: it takes queues (local or remote), readable pipe connections and processes`,
        ),
      );
    }
    checks.push(ready);
  }
  const error = checkWaitOptions(options);
  if (error !== undefined) return Promise.reject(error);
  const atOnce = options?.timeout === 0;
  const found = new Set<T>();
  const readyNow = () => list.filter((object) => found.has(object));
  // The checks run until wait settles; this aborts the ones still running.
  const checking = new AbortController();
  let gather: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (gather !== undefined) clearTimeout(gather);
    gather = undefined;
    checking.abort(SETTLED);
  };
  // The outcome waits in a wait list of one: its timeout and abort are handled there.
  const outcome = new WaitList<T[]>({ onTimeout: readyNow, onCancel: stop });
  const outer: WaitOptions = {};
  if (!atOnce && options?.timeout !== undefined) outer.timeout = options.timeout;
  if (options?.signal !== undefined) outer.signal = options.signal;
  const promise = outcome.wait(outer, undefined);
  const settle = () => {
    if (outcome.resolveNext(readyNow())) stop();
  };
  const checkOptions: WaitOptions = { signal: checking.signal };
  if (atOnce) checkOptions.timeout = 0;
  let unanswered = list.length;
  for (let i = 0; i < list.length; i++) {
    const object = list[i]!;
    let check: Promise<boolean>;
    try {
      check = checks[i]!(checkOptions);
    } catch (failure) {
      check = Promise.reject(failure);
    }
    check.then((ready) => {
      if (checking.signal.aborted) return;
      unanswered--;
      if (ready) found.add(object);
      if (atOnce) {
        if (unanswered === 0) settle();
      } else if (ready && gather === undefined) {
        // Others answered in this turn (a remote owner answers in one message) come back too.
        gather = setTimeout(settle, 0);
      }
    }, (failure) => {
      if (checking.signal.aborted) return;
      const waiter = outcome.shift();
      if (waiter === undefined) return;
      stop();
      waiter.reject(failure);
    });
  }
  if (atOnce && list.length === 0) settle();
  return promise;
}
