/**
 * Shared helpers of the test suite: fake time, settling without real waits,
 * and watching a promise's state without awaiting it.
 *
 * @module
 */

import FakeTimers from "@sinonjs/fake-timers";
import {
  connect,
  type Link,
  type Remote,
  type Servable,
  serve,
  type ServeOptions,
} from "../src/worker/mod.ts";

export type Clock = ReturnType<typeof FakeTimers.install>;

/** The real `setTimeout`, kept before any test installs fake time. */
const realSetTimeout = globalThis.setTimeout;

/**
 * Runs `fn` with fake `setTimeout`/`setInterval`/`performance`/`Date`, and
 * restores the real ones afterwards whatever happens. Also checks that `fn`
 * left no fake timer behind, so a primitive that forgets a timer fails here
 * even though the sanitizers cannot see fake timers.
 */
export async function withFakeTime(
  fn: (clock: Clock) => Promise<void> | void,
  { allowTimers = false }: { allowTimers?: boolean } = {},
): Promise<void> {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "performance", "Date"],
  });
  try {
    await fn(clock);
    if (!allowTimers && clock.countTimers() !== 0) {
      throw new Error(`the test left ${clock.countTimers()} fake timer(s) pending`);
    }
  } finally {
    clock.uninstall();
  }
}

/**
 * Lets every pending promise job run: one real macrotask turn, which comes
 * after all microtasks queued so far (and after those they queue).
 */
export async function flush(turns = 2): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await new Promise<void>((resolve) => realSetTimeout(resolve, 0));
  }
}

/** The observed state of a promise that the test does not await yet. */
export interface Tracked<T> {
  readonly status: "pending" | "fulfilled" | "rejected";
  readonly value: T | undefined;
  readonly reason: unknown;
  readonly promise: Promise<T>;
}

/**
 * Watches `promise`; its rejection counts as handled. Read `status` after
 * `flush()` (or `clock.tickAsync`).
 */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked = {
    status: "pending" as Tracked<T>["status"],
    value: undefined as T | undefined,
    reason: undefined as unknown,
    promise,
  };
  promise.then(
    (value) => {
      tracked.status = "fulfilled";
      tracked.value = value;
    },
    (reason) => {
      tracked.status = "rejected";
      tracked.reason = reason;
    },
  );
  return tracked;
}

/**
 * Counts `abort` listeners added to and removed from `signal`, so a test can
 * check that a settled wait left no listener behind.
 */
export function watchListeners(signal: AbortSignal): { readonly active: number } {
  let active = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  const seen = new Set<unknown>();
  const wrappers = new Map<unknown, EventListener>();
  signal.addEventListener = ((type: string, listener: unknown, options?: unknown) => {
    if (type === "abort" && !seen.has(listener)) {
      seen.add(listener);
      active++;
      // A `once` listener is gone after it ran: count that too.
      const once = typeof options === "object" && options !== null &&
        (options as { once?: boolean }).once === true;
      if (once) {
        const original = listener as EventListener;
        const wrapped = (event: globalThis.Event) => {
          if (seen.delete(listener)) active--;
          original(event);
        };
        wrappers.set(listener, wrapped);
        return add(type, wrapped, options as AddEventListenerOptions);
      }
    }
    return add(type, listener as EventListener, options as AddEventListenerOptions);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: unknown, options?: unknown) => {
    if (type === "abort" && seen.delete(listener)) active--;
    const wrapped = wrappers.get(listener);
    if (wrapped !== undefined) {
      wrappers.delete(listener);
      return remove(type, wrapped, options as EventListenerOptions);
    }
    return remove(type, listener as EventListener, options as EventListenerOptions);
  }) as typeof signal.removeEventListener;
  return {
    get active() {
      return active;
    },
  };
}

/** Makes an `AbortSignal` that is already aborted with a fresh, recognisable reason. */
export function abortedSignal(): { signal: AbortSignal; reason: Error } {
  const reason = new Error("aborted by the test");
  const controller = new AbortController();
  controller.abort(reason);
  return { signal: controller.signal, reason };
}

/**
 * Serves `primitives` on one end of a MessageChannel (with `options`, e.g.
 * an `onError` that records), connects the other, runs `body` with the
 * proxies and the owner's link, and closes all.
 */
export async function withRemote<T extends Record<string, Servable>>(
  primitives: T,
  body: (remote: Remote<T>, link: Link) => Promise<void>,
  options?: ServeOptions,
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const link = serve(port1, primitives, options);
  const remote = await connect<T>(port2);
  try {
    await body(remote, link);
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

/** A baton envelope as the tests read it. */
export type Envelope = { frames: unknown[]; seq: number; peer: string };

/** What a forgery test sees of the wire: the caller's envelopes and the owner's reports. */
export interface Wire {
  /** A structured copy of every envelope the caller posted. */
  sent: Envelope[];
  /** The caller's port's own `postMessage`: what it posts is not recorded. */
  original: (message: unknown, transfer?: Transferable[]) => void;
  /** What the owner's `onError` was given. */
  reported: unknown[];
}

/**
 * As {@linkcode withRemote}, recording what the caller posts and what the
 * owner reports: for tests that forge or replay baton's envelopes (W-10).
 */
export async function withWire<T extends Record<string, Servable>>(
  primitives: T,
  body: (remote: Remote<T>, wire: Wire) => Promise<void>,
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  const { sent, original } = recordEnvelopes(port2);
  const reported: unknown[] = [];
  const link = serve(port1, primitives, { onError: (error) => reported.push(error) });
  const remote = await connect<T>(port2);
  try {
    await body(remote, { sent, original, reported });
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
}

/**
 * Keeps a structured copy of every baton envelope `port` posts from now on,
 * in `sent`; `original` is the port's own `postMessage`, to post forged or
 * replayed envelopes that the record does not see.
 */
export function recordEnvelopes(port: MessagePort): {
  sent: Envelope[];
  original: (message: unknown, transfer?: Transferable[]) => void;
} {
  const sent: Envelope[] = [];
  const original = port.postMessage.bind(port) as (
    message: unknown,
    transfer?: Transferable[],
  ) => void;
  port.postMessage = ((message: Envelope, transfer: Transferable[]) => {
    if (typeof message === "object" && message !== null && "frames" in message) {
      sent.push(structuredClone(message));
    }
    original(message, transfer);
  }) as typeof port.postMessage;
  return { sent, original };
}

/** A compare on numbers that throws `Error("compare failed")` while `armed.on` is true. */
export function armedCompare(): {
  compare: (a: number, b: number) => number;
  armed: { on: boolean };
} {
  const armed = { on: false };
  return {
    armed,
    compare: (a, b) => {
      if (armed.on) throw new Error("compare failed");
      return a - b;
    },
  };
}
