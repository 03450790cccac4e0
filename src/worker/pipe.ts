/**
 * `Pipe`: Python's `multiprocessing.Pipe` over a `MessageChannel`: two
 * connection ends with `send`, `recv`, `poll` and `close`, either end
 * transferable to a worker.
 *
 * `Connection` keeps an end's state, what it received and who waits for
 * it; its wire (the port, the batch of a turn, listening) is in
 * `_pipe_port.ts`, and the worker layer's door into an end that travels
 * inside a value is `_pipe_access.ts`.
 *
 * @module
 */

import { Deque } from "../_deque.ts";
import { checkWaitOptions, describe, WaitList, type WaitOptions } from "../_waiters.ts";
import { PipeClosed } from "../errors.ts";
import { NEEDS_PLATFORM, snapshot } from "./clone.ts";
import { inspectView } from "../_inspect.ts";
import { checkedCopy } from "./travel.ts";
import { grantPipeAccess } from "./_pipe_access.ts";
import { PipePort } from "./_pipe_port.ts";

export { PipeClosed } from "../errors.ts";

/** Tells two ends made together that they are each other's other end (set by the class). */
let pair: (a: Connection, b: Connection) => void;

/**
 * Options of {@linkcode Pipe}.
 *
 * @example
 * ```ts
 * import { Pipe, type PipeOptions } from "@baton/baton/worker";
 *
 * const options: PipeOptions = { duplex: false };
 * const [receiver, sender] = Pipe(options);
 * sender.close();
 * receiver.close();
 * ```
 */
export interface PipeOptions {
  /** Both ends send and receive (default); `false`: the first end only receives, the second only sends. */
  duplex?: boolean;
}

/**
 * What an end may do: receive, send, or both.
 *
 * @example
 * ```ts
 * import { Connection, type ConnectionOptions } from "@baton/baton/worker";
 *
 * const { port1, port2 } = new MessageChannel();
 * const options: ConnectionOptions = { readable: true, writable: false };
 * const receiver = Connection.fromPort(port1, options);
 * receiver.close();
 * port2.close();
 * ```
 */
export interface ConnectionOptions {
  /** Whether this end may `recv`/`poll` (default true). */
  readable?: boolean;
  /** Whether this end may `send` (default true). */
  writable?: boolean;
}

/**
 * One end of a {@linkcode Pipe} (Python's `multiprocessing.connection.Connection`).
 * Messages arrive in the order they were sent; `recv` waiters are served
 * first come, first served. After the other end closes, `recv` returns what
 * is left and then rejects {@linkcode PipeClosed} (Python's `EOFError`).
 *
 * The values sent in one turn travel in one message, posted when the turn
 * ends (or at once every 256 values); `close()` and `transfer()` post what
 * is pending first. A value `send` cannot vouch for by itself (anything but
 * plain objects, arrays and primitives) is posted alone, at once, after
 * what was pending, so `send` throws the platform's own `DataCloneError`.
 *
 * Where the runtime fires a `close` event on a `MessagePort` whose other
 * side is gone (its worker was terminated), this end treats it as the other
 * end closing: `recv` returns what arrived, then rejects `PipeClosed`. Deno
 * does so only for ports made while `node:worker_threads` is loaded; with
 * web ports nothing tells this end, so bound `recv` with a timeout or
 * signal, or `close()` the end when you terminate the worker.
 *
 * @typeParam S What this end sends.
 * @typeParam R What this end receives.
 *
 * @example
 * ```ts
 * import { Pipe } from "@baton/baton/worker";
 *
 * const [left, right] = Pipe<string, string>();
 * left.send("ping");
 * console.log(await right.recv()); // "ping"
 * left.close();
 * right.close();
 * ```
 */
export class Connection<S = unknown, R = unknown> implements Disposable {
  /** The worker layer's way in; a pure field, not a static block, as for `Queue`'s door. */
  static #door = /* @__PURE__ */ (() => {
    pair = (a, b) => {
      a.#other = b;
      b.#other = a;
    };
    return grantPipeAccess({
      movable: (end) =>
        !end.#closed && !end.#started && !end.#sending && !end.#peerClosed &&
        end.#wire.port !== undefined,
      travelsGone: (end) => !end.#closed && !end.#started && !end.#sending && end.#peerClosed,
      goneEnd: (port, options) => {
        const end = new Connection(port, options);
        end.#peerGone();
        return end;
      },
      movedOn: (end) => {
        end.close();
        end.#moved = true;
      },
      revive: (end, port) => {
        if (!end.#moved) return false;
        end.#moved = false;
        end.#closed = false;
        if (port !== undefined) end.#wire.attach(port);
        else end.#peerClosed = true; // its port is gone with the consumer that had it
        return true;
      },
    });
  })();

  /** The view `console.log` and Node's `util.inspect` show. */
  static #inspect = /* @__PURE__ */ inspectView(this, "Connection", (end) => ({
    buffered: end.#buffer.length,
    unsent: end.#wire.unsent,
    receivers: end.#receivers.size,
    readable: end.readable,
    writable: end.writable,
    closed: end.#closed,
    peerClosed: end.#peerClosed,
  }));
  /** Whether this end may receive. */
  readonly readable: boolean;
  /** Whether this end may send. */
  readonly writable: boolean;
  /** The port and what travels on it. */
  #wire: PipePort;
  /** Whether this end ever started receiving: what it took may be buffered here, it stays here. */
  #started = false;
  #buffer = new Deque<R>();
  #receivers = new WaitList<R>({
    onTimeout: () => {
      throw new DOMException("recv timed out", "TimeoutError");
    },
  });
  #pollers = new WaitList<boolean>({ onTimeout: () => false });
  #closed = false;
  /** Closed because its port moved on inside a value (or it travelled on gone): see `revive`. */
  #moved = false;
  #peerClosed = false;
  /** A value is being checked for `send` here: this end cannot travel inside it. */
  #sending = false;
  /** The other end, when this thread made both (`Pipe()`): it cannot travel through this one. */
  #other: Connection | undefined;

  /**
   * Wraps a `MessagePort` whose other end is wrapped the same way; prefer
   * {@linkcode Pipe}, or {@linkcode Connection.fromPort} for a transferred port.
   *
   * @param port The port.
   * @param options What this end may do.
   */
  constructor(port: MessagePort, options: ConnectionOptions = {}) {
    if (!(port instanceof MessagePort)) {
      throw new TypeError(`Connection takes a MessagePort, received ${describe(port)}`);
    }
    this.#wire = new PipePort(port, {
      received: (values) => this.#received(values as readonly R[]),
      peerGone: () => this.#peerGone(),
    });
    this.readable = options.readable ?? true;
    this.writable = options.writable ?? true;
  }

  /**
   * Rebuilds a connection from a port that was transferred to this thread
   * (see {@linkcode Connection.transfer}).
   *
   * @param port The transferred port.
   * @param options What this end may do.
   * @returns The connection.
   *
   * @example
   * ```ts
   * import { Connection, Pipe } from "@baton/baton/worker";
   *
   * const [a, b] = Pipe();
   * const port = b.transfer(); // post it to a worker: worker.postMessage(port, [port])
   * const again = Connection.fromPort(port); // what the worker does
   * a.send(1);
   * console.log(await again.recv()); // 1
   * a.close();
   * again.close();
   * ```
   */
  static fromPort<S = unknown, R = unknown>(
    port: MessagePort,
    options?: ConnectionOptions,
  ): Connection<S, R> {
    return new Connection<S, R>(port, options);
  }

  /**
   * Whether this end is closed.
   *
   * @example
   * ```ts
   * import { Pipe } from "@baton/baton/worker";
   *
   * const [a, b] = Pipe();
   * a.close();
   * console.log(a.closed); // true
   * b.close();
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a value to the other end (structured clone). Plain data (objects,
   * arrays, primitives) is copied now, each property read once, and the
   * copy travels with the other values of this turn; any other value is
   * posted at once, after the values sent before it. (So a `Proxy` of plain
   * data is sent as the plain data it shows, where `postMessage` alone
   * would refuse it, and a getter runs once, in `send`.)
   *
   * @param value The value.
   * @throws {PipeClosed} when either end is closed.
   * @throws {DOMException} `DataCloneError` when the value cannot be cloned
   *   (or the error a getter threw while it was read); nothing of it is
   *   sent, and the values sent before still arrive, in order.
   * @throws {TypeError} on a receive-only end.
   *
   * @example
   * ```ts
   * import { Pipe } from "@baton/baton/worker";
   *
   * const [receiver, sender] = Pipe<number, number>({ duplex: false });
   * sender.send(7);
   * console.log(await receiver.recv()); // 7
   * sender.close();
   * receiver.close();
   * ```
   */
  send(value: S): void {
    if (!this.writable) throw new TypeError("this end of the pipe is receive-only");
    if (this.#closed || this.#wire.port === undefined) {
      throw new PipeClosed("send() on a closed connection");
    }
    if (this.#peerClosed) throw new PipeClosed("send() after the other end closed");
    const copy = snapshot(value); // throws for what cannot be cloned: nothing is sent
    let checked: unknown;
    if (copy === NEEDS_PLATFORM) {
      // Not all plain data: the platform judges each other part now, and baton
      // primitives or proxies in it travel as proxies (W-14). It goes alone,
      // after what is pending, so a throw is send's throw and the others still go.
      // A port cannot be posted through itself, nor through the port it is entangled with
      // (the platform would drop the message without a word).
      const other = this.#other;
      this.#sending = true;
      if (other !== undefined) other.#sending = true;
      try {
        checked = checkedCopy(value);
      } finally {
        this.#sending = false;
        if (other !== undefined) other.#sending = false;
      }
    }
    // A getter of the value may have closed this end, or moved it, while it was copied.
    const port = this.#wire.port;
    if (port === undefined) {
      throw new PipeClosed("the connection closed while send() copied the value");
    }
    if (copy === NEEDS_PLATFORM) this.#wire.postAlone(port, checked);
    else this.#wire.queue(copy);
  }

  /**
   * Receives the next value, waiting while none has arrived.
   *
   * @param options `timeout` in ms and `signal`.
   * @returns The value.
   * @throws {PipeClosed} when this end is closed, or the other end closed
   *   and nothing is left.
   * @throws {DOMException} `TimeoutError` when the timeout ran out.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Pipe, PipeClosed } from "@baton/baton/worker";
   *
   * const [a, b] = Pipe<string, string>();
   * a.send("last words");
   * a.close();
   * console.log(await b.recv()); // "last words"
   * await b.recv().catch((error) => console.log(error instanceof PipeClosed)); // true
   * b.close();
   * ```
   */
  recv(options?: WaitOptions): Promise<R> {
    if (!this.readable) return Promise.reject(new TypeError("this end of the pipe is send-only"));
    if (this.#closed) return Promise.reject(new PipeClosed("recv() on a closed connection"));
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    this.#listen();
    if (this.#buffer.length > 0) return Promise.resolve(this.#buffer.shift() as R);
    if (this.#peerClosed) {
      return Promise.reject(new PipeClosed("the other end closed and nothing is left"));
    }
    return this.#receivers.wait(options, undefined);
  }

  /**
   * Whether a value can be received, or the other end closed (so `recv`
   * would not wait), waiting up to `timeout` ms for one.
   *
   * @param timeout Milliseconds to wait: 0 (default) just looks, `Infinity` waits as long as needed.
   * @param options `signal` to stop waiting.
   * @returns Whether `recv` would settle at once.
   * @throws {RangeError} for a negative or `NaN` timeout.
   *
   * @example
   * ```ts
   * import { Pipe } from "@baton/baton/worker";
   *
   * const [a, b] = Pipe();
   * console.log(await b.poll()); // false
   * a.send("x");
   * console.log(await b.poll(1000)); // true
   * a.close();
   * b.close();
   * ```
   */
  poll(timeout = 0, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (!this.readable) return Promise.reject(new TypeError("this end of the pipe is send-only"));
    if (this.#closed) return Promise.reject(new PipeClosed("poll() on a closed connection"));
    const waitOptions: WaitOptions = { timeout };
    if (options.signal !== undefined) waitOptions.signal = options.signal;
    const error = checkWaitOptions(waitOptions);
    if (error !== undefined) return Promise.reject(error);
    this.#listen();
    if (this.#buffer.length > 0 || this.#peerClosed) return Promise.resolve(true);
    return this.#pollers.wait(waitOptions, undefined);
  }

  /**
   * Closes this end: what was sent is posted first, then the other end's
   * `recv` rejects {@linkcode PipeClosed} once it has read it; pending `recv`
   * calls here reject `PipeClosed`. Later calls do nothing.
   *
   * @example
   * ```ts
   * import { Pipe } from "@baton/baton/worker";
   *
   * const [a, b] = Pipe();
   * a.close();
   * b.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wire.close(!this.#peerClosed);
    this.#buffer.clear();
    this.#receivers.rejectAll(new PipeClosed("the connection was closed"));
    this.#pollers.resolveAll(false);
  }

  /**
   * Closes this end (`using conn = ...`).
   *
   * @example
   * ```ts
   * import { Pipe } from "@baton/baton/worker";
   *
   * const [a, b] = Pipe();
   * {
   *   using _a = a;
   *   using _b = b;
   * } // both closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Detaches the port from this end so it can be transferred to a worker
   * (`worker.postMessage(port, [port])`), where {@linkcode Connection.fromPort}
   * rebuilds the end. This end is unusable afterwards. Only an end that has
   * not started receiving can be transferred.
   *
   * @returns The port.
   * @throws {Error} when this end is closed, has started receiving, or
   *   its other end is known to be gone.
   *
   * @example
   * ```ts
   * import { Pipe } from "@baton/baton/worker";
   *
   * const [a, b] = Pipe();
   * const port = b.transfer();
   * console.log(port instanceof MessagePort, b.closed); // true true
   * port.close();
   * a.close();
   * ```
   */
  transfer(): MessagePort {
    const port = this.#wire.port;
    if (this.#closed || this.#started || this.#peerClosed || port === undefined) {
      throw new Error(
        "this connection cannot be transferred: it is closed, has started receiving, or its other end is gone",
      );
    }
    this.#wire.detach();
    this.#closed = true;
    this.#moved = true;
    return port;
  }

  #listen(): void {
    if (this.#wire.listen()) this.#started = true;
  }

  #received(values: readonly R[]): void {
    for (let i = 0; i < values.length; i++) this.#deliver(values[i] as R);
    this.#pollers.resolveAll(true);
  }

  #deliver(value: R): void {
    if (!this.#receivers.resolveNext(value)) this.#buffer.push(value);
  }

  /** The other end closed, or its side of the channel is gone. */
  #peerGone(): void {
    if (this.#peerClosed) return;
    this.#peerClosed = true;
    // Nothing more will come: free the port now; what was received stays readable.
    this.#wire.closePort();
    if (this.#buffer.length === 0) {
      this.#receivers.rejectAll(new PipeClosed("the other end closed and nothing is left"));
    }
    this.#pollers.resolveAll(true);
  }
}

/**
 * Makes a pipe (Python's `multiprocessing.Pipe`): two connected ends over a
 * `MessageChannel`. Each end may be served to a worker with `serve` (or
 * transferred by hand with `transfer()`). Close both ends when done.
 *
 * @param options `duplex: false` for a one-way pipe: `[receiver, sender]`.
 * @returns The two ends.
 *
 * @example
 * ```ts
 * import { Pipe } from "@baton/baton/worker";
 *
 * const [parent, child] = Pipe<string, string>();
 * child.send("hello");
 * console.log(await parent.recv()); // "hello"
 * parent.send("hi back");
 * console.log(await child.recv()); // "hi back"
 * parent.close();
 * child.close();
 * ```
 */
export function Pipe<A = unknown, B = unknown>(
  options: PipeOptions = {},
): [Connection<A, B>, Connection<B, A>] {
  const duplex = options.duplex ?? true;
  const { port1, port2 } = new MessageChannel();
  const ends: [Connection<A, B>, Connection<B, A>] = duplex
    ? [new Connection<A, B>(port1), new Connection<B, A>(port2)]
    : [
      new Connection<A, B>(port1, { readable: true, writable: false }),
      new Connection<B, A>(port2, { readable: false, writable: true }),
    ];
  pair(ends[0] as Connection, ends[1] as Connection);
  return ends;
}
