/**
 * The caller role of the cross-worker adapters: `connect` builds proxies for
 * the primitives a `serve` call exposes on an endpoint.
 *
 * @module
 */

import { checkWaitOptions, WaitList, type WaitOptions } from "../_waiters.ts";
import { LinkClosed } from "../errors.ts";
import { adapterOfKind, type Caller } from "./adapters.ts";
import { Peer, type Role } from "./link.ts";
import { Connection } from "./pipe.ts";
import { QueueProxy } from "./queue_stream/remote.ts";
import { type ConnectOptions, DEFAULT_PREFETCH, type Remote } from "./remote.ts";
import { type FaceSource, registerFace, Travelling } from "./travel.ts";
import {
  type CallerFrame,
  deserializeError,
  type Endpoint,
  type Entry,
  type Frame,
  type OwnerFrame,
} from "./wire.ts";

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  name: string;
  /** A get whose answer is an item: the proxy takes it in the step it arrives. */
  onItem: ((seq: number, value: unknown) => unknown) | undefined;
  /** Fire-and-forget (a held release): its caller is not waiting; failures are reported. */
  quiet: boolean;
}

/** One endpoint's caller role. */
class CallerSide implements Role {
  readonly peer: Peer;
  readonly calls = new Map<number, PendingCall>();
  readonly proxies = new Map<string, { closed(): void; leave(): void; face?: object }>();
  readonly queues = new Map<string, QueueProxy>();
  readonly prefetch: number;
  readonly onError: ((error: unknown) => void) | undefined;
  readonly remote: Record<string, unknown> = {};
  #nextId = 1;
  #closed = false;
  /** Names whose link closed: their proxies stay closed (a name served again is another link). */
  #closedNames = new Set<string>();
  #ready = false;
  /** Connects waiting for the manifest: they all resolve, or all reject (W-13). */
  #waiting = new WaitList<void>({
    onTimeout: () => {
      throw new DOMException("no baton serve() answered in time", "TimeoutError");
    },
    onCancel: (_data, reason) => this.#gaveUp(reason),
  });
  #failure: unknown;

  constructor(peer: Peer, options: ConnectOptions, hello = true) {
    this.peer = peer;
    this.prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    this.onError = options.onError;
    Object.defineProperty(this.remote, "close", { value: () => this.close() });
    Object.defineProperty(this.remote, Symbol.asyncDispose, { value: () => this.close() });
    if (hello) peer.send({ type: "hello" });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get active(): boolean {
    return !this.#closed;
  }

  report(error: unknown): void {
    try {
      (this.onError ?? ((e: unknown) => console.error("baton connect:", e)))(error);
    } catch {
      // an onError hook that throws must not break the adapter
    }
  }

  /** Resolves once the manifest arrived; every connect waiting now shares the outcome. */
  ready(options: WaitOptions): Promise<void> {
    if (this.#ready) return Promise.resolve();
    // connect() makes a new side in place of a closed one before it waits: a guard only.
    // deno-coverage-ignore
    if (this.#closed) return Promise.reject(this.#failure ?? new LinkClosed());
    return this.#waiting.wait(options, undefined);
  }

  /** One waiting connect timed out or was aborted: this attempt ends for all of them. */
  #gaveUp(reason: "timeout" | "abort"): void {
    queueMicrotask(() => {
      const error = reason === "timeout"
        ? new DOMException("no baton serve() answered in time", "TimeoutError")
        : new LinkClosed("connect() was aborted");
      this.#failure = error;
      this.#waiting.rejectAll(error);
      this.close();
    });
  }

  handle(frame: Frame): void {
    if (this.#closed) return;
    const f = frame as OwnerFrame;
    switch (f.type) {
      case "manifest":
        // An announcement asks for a hello: only the reply carries pipe ends.
        if (f.reply) this.#build(f.entries);
        else this.peer.send({ type: "hello" });
        return;
      case "result":
      case "error":
        this.#settle(f);
        return;
      case "closed": {
        for (const name of f.names) this.#closeName(name);
        if (f.last !== true) {
          // Nothing more goes out for these names: the owner can stop listening.
          this.peer.send({ type: "gone", names: f.names });
          return;
        }
        // The owner's last link. Unless this peer still serves the other side (an endpoint used
        // both ways), both peers may start over: a new serve there is met by a new peer.
        const alone = !this.peer.owner?.active;
        this.peer.send(
          alone ? { type: "gone", names: f.names, last: true } : { type: "gone", names: f.names },
        );
        if (alone) this.peer.letRemoteStartOver();
        // A connect still waiting for its first manifest never met that link: it waits for the
        // next one. A connection that did is over; a new serve needs a new connect (W-13).
        if (!this.#ready) return;
        this.#end(new LinkClosed("the other side closed its last link"));
        this.peer.release();
        return;
      }
    }
    const proxy = this.queues.get(f.name);
    if (proxy === undefined) return; // a name closed or never known here
    switch (f.type) {
      case "credit":
        return proxy.credit(f.count);
      case "reclaim":
        return proxy.reclaim();
      case "items":
        return proxy.items(f.seq, f.items);
      case "itemError":
        return proxy.itemError(f.seq, deserializeError(f.error), f.cancelled);
      case "unpulled":
        return proxy.unpulled(f.cancelled);
      case "returned":
        return proxy.returned(f.cancelled);
      case "end":
        return proxy.end();
      case "shutdown":
        return proxy.shutdownNotice(f.immediate);
    }
  }

  #build(entries: Record<string, Entry>): void {
    for (const [name, entry] of Object.entries(entries)) {
      if (this.proxies.has(name) || name === "close" || name === "then") continue;
      const proxy = this.#makeProxy(name, entry);
      if (proxy === undefined) continue;
      this.proxies.set(name, proxy);
      Object.defineProperty(this.remote, name, { value: proxy.face, enumerable: true });
    }
    this.#ready = true;
    this.#waiting.resolveAll();
  }

  #makeProxy(
    name: string,
    entry: Entry,
  ): { closed(): void; leave(): void; face: object } | undefined {
    if (entry.kind === "Queue" || entry.kind === "LifoQueue" || entry.kind === "PriorityQueue") {
      const proxy = new QueueProxy(this.#host(), name, entry);
      this.queues.set(name, proxy);
      registerFace(proxy.face, this.#source(name, entry));
      return proxy;
    }
    if (entry.kind === "Connection") {
      if (!(entry.port instanceof MessagePort)) return undefined;
      // The other side moved its end: this side owns it now, beyond the link.
      const face = Connection.fromPort(entry.port, {
        readable: entry.constants.readable !== false,
        writable: entry.constants.writable !== false,
      });
      return { face, closed() {}, leave() {} };
    }
    const adapter = adapterOfKind(entry.kind);
    if (adapter?.face === undefined) {
      this.report(new TypeError(`baton: unknown kind ${String(entry.kind)} for "${name}"`));
      return undefined;
    }
    // Once its link closed, a proxy stays closed, as a queue's does: a name served again later
    // is another link, and a hold of the old one must not release what the new one holds (W-9).
    let closed = false;
    const caller: Caller = {
      call: (op, args = [], options) =>
        closed ? Promise.reject(new LinkClosed()) : this.call(name, op, args, options),
      // A hold given back after its link closed: the owner released it then (W-9).
      fire: (op, args = []) => void (closed || this.call(name, op, args, undefined, true)),
    };
    const face = adapter.face(caller, entry);
    registerFace(face, this.#source(name, entry));
    return {
      face,
      closed() {
        closed = true;
      },
      leave() {},
    };
  }

  /** How a proxy of `name` travels on: its owner serves the primitive on a new port (W-14). */
  #source(name: string, entry: Entry): FaceSource {
    return {
      entry: { kind: entry.kind, constants: entry.constants },
      attach: (port) => {
        // Once its link closed, nothing serves it there: the owner would refuse the attach.
        if (this.#closed || this.#closedNames.has(name)) {
          port.close(); // its receiver's calls reject LinkClosed
        } else this.peer.send({ type: "attach", name, port }, [port]);
      },
    };
  }

  /**
   * Makes this side the connection of a travelled primitive (W-14): one
   * proxy, for the entry its token gave, built now.
   */
  travelled(entry: Entry): object {
    const made = this.#makeProxy(TRAVELLED_NAME, entry);
    // The proxy's shape was made for this kind already (travel_proxy.ts): a guard.
    // deno-coverage-ignore
    if (made?.face === undefined) throw new TypeError(`baton: cannot travel a ${entry.kind}`);
    this.proxies.set(TRAVELLED_NAME, made);
    this.#ready = true;
    return made.face;
  }

  #host(): ConstructorParameters<typeof QueueProxy>[0] {
    // deno-lint-ignore no-this-alias
    const side = this;
    return {
      get outbox() {
        return side.peer.outbox;
      },
      prefetch: this.prefetch,
      sharesMemory: this.peer.sharesMemory,
      report: (error) => this.report(error),
      call: (name, op, args, options, onItem) => this.call(name, op, args, options, false, onItem),
    };
  }

  #settle(frame: Extract<OwnerFrame, { type: "result" | "error" }>): void {
    const call = this.calls.get(frame.id);
    if (call === undefined) return;
    this.calls.delete(frame.id);
    if (call.onAbort !== undefined) call.signal!.removeEventListener("abort", call.onAbort);
    if (frame.type === "result") {
      if (call.onItem === undefined) call.resolve(frame.value);
      else {
        // Synchronously, before any later frame (a shutdown notice) is read.
        let value: unknown;
        try {
          value = call.onItem(frame.seq ?? -1, frame.value);
        } catch (error) {
          call.reject(error);
          return;
        }
        call.resolve(value);
      }
    } else if (frame.cancelled === true && call.signal?.aborted) call.reject(call.signal.reason);
    else call.reject(deserializeError(frame.error));
  }

  /**
   * Calls `op` on the served `name`. The owner applies the timeout; an abort
   * here asks the owner to cancel, and the call then resolves with the
   * owner's answer if it had one already (nothing lost), else rejects with
   * the signal's reason. Never throws: every failure is a rejection.
   */
  call(
    name: string,
    op: string,
    args: unknown[],
    options?: WaitOptions,
    quiet = false,
    onItem?: (seq: number, value: unknown) => unknown,
  ): Promise<unknown> {
    // A quiet call is a fire-and-forget release: nobody awaits it, so it never rejects.
    if (this.#closed) return quiet ? Promise.resolve() : Promise.reject(new LinkClosed());
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    const id = this.#nextId++;
    const frame: Extract<CallerFrame, { type: "call" }> = { type: "call", id, name, op, args };
    if (options?.timeout !== undefined && options.timeout !== Infinity) {
      frame.timeout = options.timeout;
    }
    const signal = options?.signal;
    if (signal !== undefined) frame.cancellable = true;
    this.peer.send(frame);
    for (const arg of args) if (arg instanceof Travelling) this.peer.outbox.travel();
    const answer = new Promise((resolve, reject) => {
      const call: PendingCall = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
        name,
        onItem,
        quiet,
      };
      if (quiet) {
        resolve(undefined);
        call.resolve = () => {};
        call.reject = (failure) => this.report(failure);
      } else if (signal !== undefined) {
        call.onAbort = () => this.peer.send({ type: "cancel", id });
        signal.addEventListener("abort", call.onAbort, { once: true });
      }
      this.calls.set(id, call);
    });
    this.peer.outbox.postIfIdle(); // a call on an idle link leaves now, registered
    return answer;
  }

  #closeName(name: string): void {
    this.#closedNames.add(name);
    this.proxies.get(name)?.closed();
    this.queues.get(name)?.closed();
    for (const [id, call] of this.calls) {
      if (call.name !== name) continue;
      this.calls.delete(id);
      if (call.onAbort !== undefined) call.signal!.removeEventListener("abort", call.onAbort);
      call.reject(new LinkClosed());
    }
  }

  /** Closes this side: what it holds goes back, pending calls reject, the owner hears bye. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    for (const proxy of this.queues.values()) proxy.leave();
    this.peer.send({ type: "bye" });
    this.peer.outbox.flush();
    this.#closed = true;
    // Fire-and-forget calls went out before the bye and the owner applies them: not failures.
    for (const [id, call] of this.calls) if (call.quiet) this.calls.delete(id);
    for (const name of this.proxies.keys()) this.#closeName(name);
    for (const call of this.calls.values()) call.reject(new LinkClosed());
    this.calls.clear();
    this.#failure ??= new LinkClosed();
    this.#waiting.rejectAll(this.#failure);
    if (this.peer.caller === this) this.peer.caller = undefined;
    this.peer.release();
    return Promise.resolve();
  }

  ended(): void {
    // A side that closed left its peer, which then tells it nothing more: a guard only.
    // deno-coverage-ignore
    if (this.#closed) return;
    this.#end(new LinkClosed("the other side is gone"));
  }

  /** Ends this side without a bye (the owner is gone or done): everything pending rejects. */
  #end(failure: LinkClosed): void {
    this.#closed = true;
    for (const name of this.proxies.keys()) this.#closeName(name);
    for (const call of this.calls.values()) call.reject(new LinkClosed());
    this.calls.clear();
    this.#failure ??= failure;
    this.#waiting.rejectAll(this.#failure);
    if (this.peer.caller === this) this.peer.caller = undefined;
  }
}

/** The name a travelled primitive's proxy has on its own connection. */
const TRAVELLED_NAME = "p";

/**
 * A connection on `port` (the receiver's end of a travel channel) for one
 * travelled primitive: its proxy, and how to close it.
 */
export function travelConnection(
  port: MessagePort,
  entry: Entry,
): { readonly face: object; close(): Promise<void> } {
  const peer = Peer.of(port);
  peer.closesEndpoint = true;
  const side = new CallerSide(peer, { prefetch: 0 }, false); // the token said what it is
  peer.caller = side;
  return { face: side.travelled(entry), close: () => side.close() };
}

/**
 * Connects to the primitives served on `endpoint` by {@linkcode serve} in
 * another thread (inside a worker: `connect(self)`), and resolves with a
 * proxy for each served name once the other side has told what it serves.
 * Calling it again on the same endpoint gives the same connection while it
 * lasts. It ends when the other side closes its last link on the endpoint
 * (its calls reject `LinkClosed`): a later `serve` there is reached by a new
 * `connect`.
 *
 * @typeParam T The served primitives by name, as typed in the owner's thread.
 * @param endpoint Where the other side listens.
 * @param options `timeout`/`signal` for the wait for the other side,
 *   `prefetch` for remote queue consumers, `onError`.
 * @returns The proxies, plus `close()`.
 * @throws {DOMException} `TimeoutError` when no `serve` answered in time.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import { connect, serve } from "@baton/baton/worker";
 *
 * // In a real program the two sides are two threads: serve(worker, ...) in
 * // the main thread, connect(self) in the worker.
 * const { port1, port2 } = new MessageChannel();
 * const jobs = new Queue<number>(100);
 * const link = serve(port1, { jobs });
 * for (let i = 1; i <= 3; i++) jobs.putNowait(i);
 * jobs.shutdown();
 *
 * await using remote = await connect<{ jobs: Queue<number> }>(port2);
 * let sum = 0;
 * for await (const job of remote.jobs) {
 *   sum += job;
 *   await remote.jobs.taskDone();
 * }
 * console.log(sum); // 6
 * link.close();
 * port1.close();
 * port2.close();
 * ```
 */
export async function connect<T extends object = Record<string, unknown>>(
  endpoint: Endpoint,
  options: ConnectOptions = {},
): Promise<Remote<T>> {
  if (
    endpoint === null || typeof endpoint !== "object" || typeof endpoint.postMessage !== "function"
  ) {
    throw new TypeError("connect() takes an endpoint with postMessage and addEventListener");
  }
  const prefetch = options.prefetch;
  if (prefetch !== undefined && (!Number.isInteger(prefetch) || prefetch < 0)) {
    throw new RangeError(`prefetch must be a non-negative integer, received ${String(prefetch)}`);
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError("connect() takes an onError function");
  }
  const waitOptions: WaitOptions = {};
  if (options.timeout !== undefined) waitOptions.timeout = options.timeout;
  if (options.signal !== undefined) waitOptions.signal = options.signal;
  const error = checkWaitOptions(waitOptions);
  if (error !== undefined) throw error;
  const peer = Peer.of(endpoint);
  let side = peer.caller as CallerSide | undefined;
  if (side === undefined || side.closed) {
    side = new CallerSide(peer, options);
    peer.caller = side;
  } else if (
    (prefetch !== undefined && prefetch !== side.prefetch) ||
    (options.onError !== undefined && options.onError !== side.onError)
  ) {
    // One endpoint, one set of options (W-13).
    throw new Error("connect(): this endpoint is already connected with other options");
  }
  await side.ready(waitOptions);
  return side.remote as Remote<T>;
}
