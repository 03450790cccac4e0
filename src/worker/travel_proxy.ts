/**
 * The proxy a travelled primitive arrives as (W-14), on the receiving side.
 *
 * It connects on first use: until then it holds only the token's boot port,
 * unstarted, so an item that merely passes through a queue here costs no
 * connection, and passed on unused it stays as it is (a copy, P-6: the owner
 * waits for the receiver on a new boot port this proxy hands it). On first
 * use it makes a channel of its own, sends one end to the primitive's side
 * through the boot port, and talks on the other; the proxy keeps this thread
 * alive only while one of its operations is pending. Once the proxy is
 * garbage-collected, or `release`d, its connection closes and its owner
 * releases what it held (W-9).
 *
 * Internal, except {@linkcode release} (exported from the worker entry).
 *
 * @module
 */

import { checkWaitOptions } from "../_waiters.ts";
import { LinkClosed } from "../errors.ts";
import { adapterOfKind } from "./adapters.ts";
import { travelConnection } from "./connect.ts";
import { QueueProxy } from "./queue_stream/remote.ts";
import {
  BOOT,
  type FaceSource,
  faceSource,
  newLifeline,
  refPort,
  registerFace,
  travelChannel,
} from "./travel.ts";
import { wait, waitable } from "./wait.ts";
import type { Entry } from "./wire.ts";

/** One travelled proxy's state; it holds no reference to the proxy itself, except while busy. */
interface Travelled {
  entry: Entry;
  /** The token's port, until the proxy connects or is released. */
  boot: MessagePort | undefined;
  connection: { readonly face: object; close(): Promise<void> } | undefined;
  /** The port of the connection (a local one: it can be unref'd). */
  port: MessagePort | undefined;
  pending: number;
  /** The proxy, while an operation is pending: it is not collected then. */
  pinned: object | undefined;
  closed: boolean;
}

/** This thread's travelled proxies, until each is closed or collected. */
const ALL = new Set<Travelled>();
const COLLECTED = new FinalizationRegistry<Travelled>((travelled) => void close(travelled));
const STATE = new WeakMap<object, Travelled>();

/**
 * The proxy of a primitive whose token arrived with `boot` (W-14).
 *
 * @example
 * ```ts ignore
 * const evt = travelledProxy(token.port, { kind: "Event", constants: {} });
 * await evt.set(); // connects now
 * ```
 */
export function travelledProxy(boot: MessagePort, entry: Entry): object {
  const travelled: Travelled = {
    entry,
    boot,
    connection: undefined,
    port: undefined,
    pending: 0,
    pinned: undefined,
    closed: false,
  };
  const proxy = wrap(travelled);
  ALL.add(travelled);
  STATE.set(proxy, travelled);
  COLLECTED.register(proxy, travelled, travelled);
  const source: FaceSource = {
    entry,
    attach: (port) => {
      const connection = travelled.connection;
      if (connection !== undefined) {
        faceSource(connection.face)!.attach(port); // through the owner's link, as any proxy
        return;
      }
      const boot = travelled.boot;
      if (travelled.closed || boot === undefined) {
        port.close(); // released before it was passed on: its receiver's calls reject LinkClosed
        return;
      }
      // Never used here: the side waiting on this boot port (the owner) waits on `port` too, and
      // this proxy stays as it is, unconnected (P-6: a proxy passed on is a copy).
      boot.postMessage({ [BOOT]: 1, boot: port }, [port]);
    },
  };
  registerFace(proxy, source);
  if (entry.kind === "Queue" || entry.kind === "LifoQueue" || entry.kind === "PriorityQueue") {
    waitable(proxy, (options) => {
      // Released (or moved on): its get rejects LinkClosed at once, so it is ready (M-2), as a
      // proxy whose link closed is. A bad option or an aborted signal still wins.
      if (travelled.closed) {
        const error = checkWaitOptions(options);
        return error === undefined ? Promise.resolve(true) : Promise.reject(error);
      }
      return watch(travelled, proxy, () => wait([connect(travelled).face], options))
        .then((ready) => (ready as unknown[]).length > 0);
    });
  }
  return proxy;
}

/** Connects on first use: a new local channel, one end sent through the boot port. */
function connect(travelled: Travelled): { readonly face: object; close(): Promise<void> } {
  if (travelled.connection !== undefined) return travelled.connection;
  const boot = travelled.boot;
  if (travelled.closed || boot === undefined) {
    throw new LinkClosed("this proxy was released, or travelled on before it was used here");
  }
  const { port1, port2 } = travelChannel();
  // In a Process child, a lifeline lets its parent tell the owner when it was terminated (W-9).
  const lifeline = newLifeline();
  if (lifeline === undefined) boot.postMessage({ [BOOT]: 1, port: port2 }, [port2]);
  else boot.postMessage({ [BOOT]: 1, port: port2, lifeline }, [port2, lifeline]);
  boot.close();
  travelled.boot = undefined;
  travelled.port = port1;
  travelled.connection = travelConnection(port1, travelled.entry);
  refPort(port1, false);
  return travelled.connection;
}

function close(travelled: Travelled): Promise<void> {
  ALL.delete(travelled);
  travelled.closed = true;
  travelled.pinned = undefined;
  const boot = travelled.boot;
  travelled.boot = undefined;
  if (boot !== undefined) {
    // Never used: a boot request without a port tells the side waiting on it (often another
    // thread, where a moved port hears no close) that no one is coming, and it closes its end.
    boot.postMessage({ [BOOT]: 1 });
    boot.close();
  }
  const connection = travelled.connection;
  travelled.connection = undefined;
  return connection?.close() ?? Promise.resolve();
}

/** Runs one operation of the proxy, pinning it (and keeping the thread alive) while it is pending. */
function watch(travelled: Travelled, proxy: object, run: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    return Promise.reject(error);
  }
  if (!(result instanceof Promise)) return result as Promise<unknown>;
  if (travelled.pending++ === 0) {
    travelled.pinned = proxy;
    if (travelled.port !== undefined) refPort(travelled.port, true);
  }
  const settled = () => {
    if (--travelled.pending === 0) {
      travelled.pinned = undefined;
      if (travelled.port !== undefined && !travelled.closed) refPort(travelled.port, false);
    }
  };
  result.then(settled, settled);
  return result;
}

/** The proxy: the face of its kind, each member reaching the connection made on first use. */
function wrap(travelled: Travelled): object {
  const shape = shapeOf(travelled.entry);
  const proxy: Record<PropertyKey, unknown> = {};
  const real = () => connect(travelled).face as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(shape)) {
    const descriptor = Object.getOwnPropertyDescriptor(shape, key)!;
    if (typeof descriptor.get === "function") {
      Object.defineProperty(proxy, key, {
        get: () => watch(travelled, proxy, () => real()[key]),
        enumerable: descriptor.enumerable!, // an own property's descriptor is complete
      });
    } else if (key === Symbol.asyncIterator) {
      proxy[key] = () => iterate(travelled, proxy, real);
    } else if (typeof descriptor.value === "function") {
      proxy[key] = (...args: unknown[]) =>
        watch(travelled, proxy, () => (real()[key] as (...args: unknown[]) => unknown)(...args));
    } else {
      proxy[key] = descriptor.value; // constants: kind, maxsize, parties, ...
    }
  }
  return proxy;
}

/** An iteration over a travelled queue or timer: it holds the proxy while the loop runs. */
function iterate(
  travelled: Travelled,
  proxy: object,
  real: () => Record<PropertyKey, unknown>,
): AsyncIterableIterator<unknown> {
  let iterator: AsyncIterator<unknown> | undefined;
  const inner = () => iterator ??= (real()[Symbol.asyncIterator] as () => AsyncIterator<unknown>)();
  return {
    next: () => watch(travelled, proxy, () => inner().next()) as Promise<IteratorResult<unknown>>,
    return: (value?: unknown) =>
      watch(
        travelled,
        proxy,
        () => iterator?.return?.(value) ?? Promise.resolve({ done: true, value }),
      ) as Promise<IteratorResult<unknown>>,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A face of the kind, made on nothing: its members and constants. */
function shapeOf(entry: Entry): object {
  if (entry.kind === "Queue" || entry.kind === "LifoQueue" || entry.kind === "PriorityQueue") {
    const host = {
      outbox: undefined as never,
      prefetch: 0,
      sharesMemory: false,
      report: () => {},
      call: () => Promise.reject(new LinkClosed()),
    };
    return new QueueProxy(host, "p", entry).face;
  }
  const adapter = adapterOfKind(entry.kind);
  // The token's kind was checked when it was read, and a pipe end is no proxy: a guard.
  // deno-coverage-ignore
  if (adapter?.face === undefined) throw new TypeError(`baton: cannot travel a ${entry.kind}`);
  return adapter.face({
    call: () => Promise.reject(new LinkClosed()),
    fire: () => {},
  }, entry);
}

/** How many travelled proxies of this thread are open (for leak tests). */
export function liveTravelled(): number {
  return ALL.size;
}

/**
 * Closes every travelled proxy in this thread (a `Process` child does this
 * when its target ended): their owners release what they held.
 */
export function closeTravelled(): Promise<void> {
  const closing = [...ALL].map((travelled) => {
    COLLECTED.unregister(travelled);
    return close(travelled);
  });
  return Promise.all(closing).then(() => {});
}

/**
 * Closes the connection of a proxy that arrived inside an item or a pipe
 * message (W-14) now, instead of when it is garbage-collected: its owner
 * releases what it held (W-9), and its calls reject `LinkClosed` from then
 * on. Does nothing for other values.
 *
 * @param proxy A proxy that travelled.
 * @returns Once the connection is closed.
 *
 * @example
 * ```ts
 * import { Event, Queue } from "@baton/baton";
 * import { connect, release, type RemoteEvent, serve } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const link = serve(port1, { handoffs: new Queue<[number, Event]>() });
 * const remote = await connect<{ handoffs: Queue<[number, Event]> }>(port2);
 * const done = new Event();
 * await remote.handoffs.put([1, done]); // the Event travels inside the item
 * const [, proxy] = await remote.handoffs.get(); // a proxy of `done`
 * await (proxy as unknown as RemoteEvent).set();
 * console.log(done.isSet()); // true
 * await release(proxy);
 * await remote.close();
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export function release(proxy: unknown): Promise<void> {
  if (typeof proxy !== "object" || proxy === null) return Promise.resolve();
  const travelled = STATE.get(proxy);
  if (travelled === undefined) return Promise.resolve();
  COLLECTED.unregister(travelled);
  return close(travelled);
}
