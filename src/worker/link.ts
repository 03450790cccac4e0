/**
 * One peer per endpoint, for both ends: the same class serves primitives
 * (the owner role, `serve`) and calls them (the caller role, `connect`) over
 * a `Worker`, a `MessagePort` or a worker's `self`.
 *
 * The peer owns the endpoint's baton traffic: one listener, one outbox, the
 * envelope checks (a replayed, duplicated, out-of-order or foreign envelope
 * changes nothing and is reported, W-10), and the endpoint's own
 * `postMessage`, `close` and `terminate`, which it wraps so that what baton
 * queued leaves first (W-11, W-12) and a terminated worker ends its links.
 *
 * @module
 */

import { Outbox } from "./outbox.ts";
import { checkFrame, closePorts, type Endpoint, newPeerId, readEnvelope } from "./wire.ts";
import type { CallerFrame, Frame, OwnerFrame } from "./wire.ts";
import { CALLER_TYPES } from "./wire.ts";
import { decodeFrames } from "./travel.ts";

/** What a role does with the frames meant for it. */
export interface Role {
  handle(frame: Frame): void;
  report(error: unknown): void;
  /** The other side is gone (terminated, failed, or closed itself): settle everything. */
  ended(): void;
  /** Whether this role still has work on the endpoint. */
  readonly active: boolean;
}

const PEERS = new WeakMap<object, Peer>();

/**
 * Hears `endpoint`'s messages and its end; returns the undo. The one place
 * that knows the two styles of endpoint (W-15):
 *
 * - DOM events: a Deno or browser `Worker`, any `MessagePort` (Node's and
 *   `parentPort` too: they deliver a `MessageEvent` and start on their own),
 *   a worker's `self`. The end is a `Worker`'s `"error"` event.
 * - Node's EventEmitter: a `worker_threads` `Worker` has no
 *   `addEventListener`; `"message"` hands the data itself, and `"exit"` comes
 *   once the thread ended, whatever ended it (thrown, `process.exit`,
 *   `terminate()`). Its `"error"` is left alone: a listener would swallow the
 *   error that Node otherwise reports.
 */
function hear(endpoint: Endpoint, onData: (data: unknown) => void, onEnd: () => void): () => void {
  const { addEventListener, removeEventListener, on, off } = endpoint;
  if (typeof addEventListener === "function" && typeof removeEventListener === "function") {
    const onMessage = (event: Event) => onData((event as MessageEvent).data);
    addEventListener.call(endpoint, "message", onMessage);
    addEventListener.call(endpoint, "error", onEnd);
    // A port of node:worker_threads says when its other end is gone (closed, or its thread ended).
    addEventListener.call(endpoint, "close", onEnd);
    endpoint.start?.();
    return () => {
      removeEventListener.call(endpoint, "message", onMessage);
      removeEventListener.call(endpoint, "error", onEnd);
      removeEventListener.call(endpoint, "close", onEnd);
    };
  }
  if (typeof on === "function" && typeof off === "function") {
    const onMessage = onData as (...args: never[]) => void;
    on.call(endpoint, "message", onMessage);
    on.call(endpoint, "exit", onEnd);
    return () => {
      off.call(endpoint, "message", onMessage);
      off.call(endpoint, "exit", onEnd);
    };
  }
  throw new TypeError("baton: an endpoint needs addEventListener, or Node's on and off");
}

type Post = (message: unknown, transfer: Transferable[]) => void;

/**
 * Whether messages on `endpoint` can carry a `SharedArrayBuffer` that both
 * ends then share: the platform has one (in a browser, only when the page
 * is cross-origin isolated), and the endpoint is one of its own: a
 * `Worker`, a `MessagePort`, or a worker's own scope. Any other object with
 * `postMessage` (a relay, a socket adapter) may serialise what it carries,
 * so baton offers it none.
 */
function sharesMemory(endpoint: Endpoint): boolean {
  const global = globalThis as {
    crossOriginIsolated?: boolean;
    Worker?: abstract new (...args: never[]) => unknown;
    MessagePort?: abstract new (...args: never[]) => unknown;
    WorkerGlobalScope?: abstract new (...args: never[]) => unknown;
  };
  if (typeof SharedArrayBuffer !== "function" || global.crossOriginIsolated === false) return false;
  return [global.Worker, global.MessagePort, global.WorkerGlobalScope].some((kind) =>
    typeof kind === "function" && endpoint instanceof kind
  );
}

/** The baton side of one endpoint in this thread. */
export class Peer {
  readonly endpoint: Endpoint;
  readonly id: string = newPeerId();
  readonly outbox: Outbox;
  owner: Role | undefined;
  caller: Role | undefined;
  /** The other side's peer id, once its first envelope arrived. */
  #remote: string | undefined;
  #expected = 0;
  /** The other side said bye: a new peer may start over on this endpoint. */
  #remoteLeft = false;
  /** The envelope being read is the first heard from its sender. */
  #fresh = false;
  #unlisten: () => void;
  #restore: (() => void)[] = [];
  #disposed = false;
  /** A travel channel's port (W-14): this side closes it once the peer is done. */
  closesEndpoint = false;
  /** Whether a `SharedArrayBuffer` posted here is shared with the other end (credits, W-2). */
  readonly sharesMemory: boolean;

  private constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
    this.sharesMemory = sharesMemory(endpoint);
    const post = endpoint.postMessage as Post;
    this.outbox = new Outbox(endpoint, this.id, post, (error) => this.report(error));
    this.#unlisten = hear(endpoint, (data) => this.#receive(data), this.#onWorkerError);
    this.#wrap();
  }

  /** The peer of `endpoint`, made on first use. */
  static of(endpoint: Endpoint): Peer {
    let peer = PEERS.get(endpoint);
    if (peer === undefined || peer.#disposed) {
      peer = new Peer(endpoint);
      PEERS.set(endpoint, peer);
    }
    return peer;
  }

  report(error: unknown): void {
    const role = this.owner ?? this.caller;
    if (role !== undefined) role.report(error);
    else console.error("baton:", error);
  }

  #receive(data: unknown): void {
    const envelope = readEnvelope(data);
    if (envelope === undefined) return; // not baton's (W-4)
    if (typeof envelope === "string") {
      this.report(new TypeError(`baton: ignored ${envelope}`));
      return;
    }
    if (envelope.peer !== this.#remote) {
      if (envelope.peer === this.id) {
        // This side's own envelope, come back (the other end echoes): nobody else's numbering.
        this.report(new TypeError("baton: ignored a reflection of this side's own message"));
        return;
      }
      if (this.#remote !== undefined && !this.#remoteLeft) {
        this.report(new TypeError("baton: ignored a message from a second peer on this endpoint"));
        return;
      }
      // The first message heard from a peer: what it posted before this side listened is gone
      // (an announcement), so its numbering starts here.
      this.#remote = envelope.peer;
      this.#remoteLeft = false;
      this.#expected = envelope.seq;
      this.#fresh = true;
    }
    if (envelope.seq !== this.#expected) {
      this.report(
        new TypeError(
          `baton: ignored a replayed or out-of-order message (#${envelope.seq}, expected #${this.#expected})`,
        ),
      );
      return;
    }
    this.#expected++;
    if (envelope.travel === true) decodeFrames(envelope.frames, (error) => this.report(error));
    this.outbox.heard();
    for (const frame of envelope.frames) {
      const problem = checkFrame(frame);
      const role = typeof (frame as Frame)?.type === "string" &&
          CALLER_TYPES.has((frame as Frame).type)
        ? this.owner
        : this.caller;
      if (problem !== undefined) {
        (role ?? this).report(new TypeError(`baton: ignored ${problem}`));
        closePorts(frame); // a port it brought serves nothing here
        continue;
      }
      if (role === undefined) {
        // An announcement of what the other side serves asks for a hello; with no caller here
        // (none connected, or its connection ended), nobody asked: nothing to report.
        const f = frame as Frame;
        if (f.type === "manifest" && !f.reply) continue;
        this.report(
          new TypeError(`baton: ignored a ${(frame as Frame).type} frame: no such role here`),
        );
        continue;
      }
      if ((frame as Frame).type === "bye") this.#remoteLeft = true;
      try {
        role.handle(frame as Frame);
      } catch (error) {
        role.report(error);
      }
    }
    this.#fresh = false;
    this.outbox.postAnswers(); // the callers of its calls answered at once wait
  }

  /**
   * Whether the envelope being read is the first this side heard from its
   * sender: a farewell in it comes from a side this one never talked with.
   */
  get freshRemote(): boolean {
    return this.#fresh;
  }

  /**
   * The connection between the two sides ended with the owner's last link
   * (W-13): a new peer may start over at the other end, as after a bye.
   */
  letRemoteStartOver(): void {
    this.#remoteLeft = true;
  }

  /** Sends a frame with this turn's envelope. */
  send(frame: CallerFrame | OwnerFrame, transfer?: Transferable[]): void {
    this.outbox.push(frame, transfer);
  }

  #onWorkerError = (): void => this.#ended();

  /** The other side is gone: both roles settle what they have. */
  #ended(): void {
    this.outbox.flush();
    this.owner?.ended();
    this.caller?.ended();
    this.release();
  }

  /**
   * Wraps the endpoint's own calls: a message the program posts after a put
   * resolved does not overtake the item (W-11, W-12); closing or terminating
   * first posts what baton queued, and ends the links.
   */
  #wrap(): void {
    const target = this.endpoint as unknown as Record<string, unknown>;
    const wrap = (key: string, make: (original: (...args: unknown[]) => unknown) => unknown) => {
      const original = target[key];
      if (typeof original !== "function") return;
      const own = Object.hasOwn(target, key);
      target[key] = make(original as (...args: unknown[]) => unknown);
      this.#restore.push(() => {
        if (own) target[key] = original;
        else delete target[key];
      });
    };
    // deno-lint-ignore no-this-alias
    const peer = this;
    wrap("postMessage", (original) =>
      function (this: unknown, ...args: unknown[]) {
        if (!peer.#disposed) peer.outbox.flush();
        return original.apply(this, args);
      });
    wrap("close", (original) =>
      function (this: unknown, ...args: unknown[]) {
        if (!peer.#disposed) peer.leave();
        return original.apply(this, args);
      });
    wrap("terminate", (original) =>
      function (this: unknown, ...args: unknown[]) {
        if (!peer.#disposed) peer.outbox.flush();
        const result = original.apply(this, args);
        if (!peer.#disposed) peer.#ended();
        return result;
      });
  }

  /** This side goes away (its endpoint closes): say so, post everything, end both roles. */
  leave(): void {
    (this.caller as { close?: () => unknown } | undefined)?.close?.();
    this.outbox.flush();
    // Nothing can arrive on a closed endpoint: the owner role settles as if the other side were gone.
    this.owner?.ended();
    this.release();
  }

  /** Disposes of the peer once neither role has work left. */
  release(): void {
    if (this.#disposed) return;
    if (this.owner?.active || this.caller?.active) return;
    this.#disposed = true;
    this.outbox.flush();
    this.outbox.close();
    this.#unlisten();
    for (const restore of this.#restore.reverse()) restore();
    this.#restore = [];
    if (PEERS.get(this.endpoint) === this) PEERS.delete(this.endpoint);
    if (this.closesEndpoint) (this.endpoint as unknown as MessagePort).close();
  }
}
