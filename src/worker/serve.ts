/**
 * The owner role of the cross-worker adapters: `serve` exposes primitives
 * that live in this thread to the thread at the other end of an endpoint.
 *
 * @module
 */

import type { Barrier } from "../barrier.ts";
import type { Condition } from "../condition.ts";
import type { Event } from "../event.ts";
import type { Lock } from "../lock.ts";
import type { PeriodicTimer } from "../periodic_timer.ts";
import type { Queue } from "../queue.ts";
import type { Semaphore } from "../semaphore.ts";
import { Peer } from "./link.ts";
import { OwnerSide } from "./owner_side.ts";
import type { Endpoint } from "./wire.ts";

/**
 * What `serve` can expose: every baton primitive, and pipe connections
 * (which are transferred to the other side).
 *
 * @example
 * ```ts
 * import { Event, Queue } from "@baton/baton";
 * import type { Servable } from "@baton/baton/worker";
 *
 * const served: Record<string, Servable> = { jobs: new Queue<number>(10), done: new Event() };
 * console.log(Object.keys(served)); // ["jobs", "done"]
 * ```
 */
export type Servable =
  // deno-lint-ignore no-explicit-any
  | Queue<any>
  | Lock
  | Condition
  | Event
  | Semaphore
  | Barrier
  | PeriodicTimer
  | PipeEnd;

/**
 * A pipe {@linkcode Connection} of any message types, as `serve` takes it
 * (its port moves to the other side).
 *
 * @example
 * ```ts
 * import { Pipe, type PipeEnd } from "@baton/baton/worker";
 *
 * const [receiver, sender] = Pipe<never, number>({ duplex: false });
 * const ends: PipeEnd[] = [receiver, sender];
 * for (const end of ends) end.close();
 * ```
 */
export interface PipeEnd {
  /** Whether this end may receive. */
  readonly readable: boolean;
  /** Whether this end may send. */
  readonly writable: boolean;
  /** Whether this end is closed. */
  readonly closed: boolean;
  /** Detaches the port to move it to another thread. */
  transfer(): MessagePort;
  /** Closes this end. */
  close(): void;
}

/**
 * Options of {@linkcode serve}.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "@baton/baton/worker";
 *
 * const options: ServeOptions = { onError: (error) => console.error("baton:", error) };
 * console.log(typeof options.onError); // "function"
 * ```
 */
export interface ServeOptions {
  /**
   * Told about problems that have no caller to reject: a malformed baton
   * message, a frame for a name not served. Defaults to `console.error`.
   */
  onError?: (error: unknown) => void;
}

/**
 * What `serve` returns: the link between the served primitives and the
 * other side. Closing it settles every pending remote operation of its
 * names (the other side rejects them with `LinkClosed`) and returns items
 * prefetched for the other side to the head of their queue. Items the other
 * side put before it heard of the close still go into their queue; once it
 * has heard (at once if it left or failed), every listener baton added is
 * removed. Closing the endpoint's last link ends the other side's
 * connection: what is served there later is reached by a new `connect`.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * {
 *   using link = serve(port1, { jobs: new Queue<number>() });
 *   console.log(link.names); // ["jobs"]
 * } // closed here
 * port1.close();
 * port2.close();
 * ```
 */
export interface Link extends Disposable {
  /** The names this link serves. */
  readonly names: readonly string[];
  /** Whether the link is closed. */
  readonly closed: boolean;
  /** Closes the link; later calls do nothing. */
  close(): void;
}

/**
 * Serves baton primitives that live in this thread to the thread at the
 * other end of `endpoint` (a `Worker`, a `MessagePort`, a worker's `self`),
 * where {@linkcode connect} builds proxies for them.
 *
 * Queues stream: a remote producer writes ahead on credits granted from free
 * capacity, a remote consumer prefetches a bounded number of items, and
 * messages of one turn travel in one batch. `maxsize` backpressure stays
 * exact in aggregate: items in flight either way keep their slots.
 *
 * Serve everything an endpoint needs in the same turn (or before the other
 * side connects): the other side learns the names from one manifest.
 *
 * @param endpoint Where the other side listens.
 * @param primitives The primitives by name; a name may be served once per endpoint.
 * @param options `onError` for problems no caller can be told of.
 * @returns The link; close it (or `using`) to stop serving.
 * @throws {Error} when a name is already served on `endpoint`.
 * @throws {TypeError} for something that is not a baton primitive.
 *
 * @example
 * ```ts
 * import { Event, Queue } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * // A MessageChannel stands in for a worker here; with a Worker, pass it to
 * // serve() and call connect(self) inside the worker module.
 * const { port1, port2 } = new MessageChannel();
 * const jobs = new Queue<number>(10);
 * const link = serve(port1, { jobs, done: new Event() });
 * const remote = await connect<{ jobs: Queue<number>; done: Event }>(port2);
 * await remote.jobs.put(42);
 * console.log(await jobs.get()); // 42
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export function serve(
  endpoint: Endpoint,
  primitives: Record<string, Servable>,
  options: ServeOptions = {},
): Link {
  if (
    endpoint === null || typeof endpoint !== "object" || typeof endpoint.postMessage !== "function"
  ) {
    throw new TypeError("serve() takes an endpoint with postMessage and addEventListener");
  }
  if (primitives === null || typeof primitives !== "object") {
    throw new TypeError("serve() takes an object of primitives by name");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError("serve() takes an onError function");
  }
  const peer = Peer.of(endpoint);
  let owner = peer.owner as OwnerSide | undefined;
  if (owner === undefined || !owner.active) {
    owner = new OwnerSide(peer, options.onError);
    peer.owner = owner;
  } else if (owner.links.size === 0) {
    // Every link closed; only their tails are left to finish: a new serve sets the options.
    owner.onError = options.onError;
  } else if (options.onError !== undefined && options.onError !== owner.onError) {
    // One endpoint, one set of options (W-13).
    throw new Error("this endpoint is already served with another onError");
  }
  return owner.add(primitives);
}
