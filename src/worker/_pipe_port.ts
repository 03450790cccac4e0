/**
 * The wire of one pipe end: its hold on a `MessagePort`, the messages the
 * two ends post on it, the values sent in one turn batched into one
 * message, and listening for what the other end posts. `Connection`
 * (`pipe.ts`) keeps the end's state, its received values and its waiters,
 * and is its documented face.
 *
 * Internal: not exported from an entry point.
 *
 * @module
 */

import { afterTurn } from "./outbox.ts";
import { decodeValue, encodeValue, Travelling } from "./travel.ts";

/**
 * The key that marks the pipe's own messages (distinct from the `"@baton"`
 * envelope of serve/connect). A message holds one of: `b` (a batch of values,
 * in order), `v` (one value the platform cloned at `send`), `close`.
 */
const PIPE_TAG = "@baton-pipe";

/**
 * Values a batch holds before it is posted at once rather than at the end
 * of the turn, so the receiver starts on one batch while the sender fills
 * the next.
 */
const MAX_BATCH = 256;

/** A message of the pipe on the wire. */
interface PipeMessage {
  /** A batch of values sent in one turn, in order. */
  b?: unknown;
  /** One value, posted alone because only the platform could judge it. */
  v?: unknown;
  /** `v` holds travelling primitives (W-14): their tokens become proxies here. */
  t?: boolean;
  /** The sending end closed. */
  close?: boolean;
}

/** What a {@linkcode PipePort} tells its end. */
export interface PortEvents {
  /** The values of one message arrived, in order. */
  received(values: readonly unknown[]): void;
  /** The other end closed, or its side of the channel is gone. */
  peerGone(): void;
}

/**
 * One pipe end's port: what it posts and what it hears. The port is let go
 * when the end closes or moves, and may be given back to an end that moved
 * and came back (see `revive` in `_pipe_access.ts`).
 */
export class PipePort {
  #port: MessagePort | undefined;
  #events: PortEvents;
  #listening = false;
  /** Copies of the values sent this turn, not posted yet. */
  #batch: unknown[] = [];
  #flushScheduled = false;
  #onMessage = (event: MessageEvent) => this.#receive(event.data);
  #onPortClose = () => this.#events.peerGone();
  #flushTask = () => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /** Holds `port`, telling `events` what arrives once it {@linkcode PipePort.listen}s. */
  constructor(port: MessagePort, events: PortEvents) {
    this.#port = port;
    this.#events = events;
  }

  /** The port, or `undefined` once the end closed or moved. */
  get port(): MessagePort | undefined {
    return this.#port;
  }

  /** Copies of values sent and not posted yet. */
  get unsent(): number {
    return this.#batch.length;
  }

  /** Holds `port` again: an end that moved came back on it. */
  attach(port: MessagePort): void {
    this.#port = port;
  }

  /**
   * Queues a plain copy for the batch of this turn, posted when the turn
   * ends, or at once when the batch is full.
   */
  queue(copy: unknown): void {
    this.#batch.push(copy);
    if (this.#batch.length >= MAX_BATCH) {
      this.#flush();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      afterTurn(this.#flushTask);
    }
  }

  /**
   * Posts `checked` (what `checkedCopy` made of a value) alone, after what is
   * pending, on `port`: this end's port, open.
   */
  postAlone(port: MessagePort, checked: unknown): void {
    this.#post(port);
    if (checked instanceof Travelling) {
      const transfer: Transferable[] = [];
      const wire = encodeValue(checked, transfer);
      port.postMessage({ [PIPE_TAG]: 1, v: wire, t: true }, transfer);
    } else {
      port.postMessage({ [PIPE_TAG]: 1, v: checked });
    }
  }

  /** Posts the values sent this turn, if any. */
  #flush(): void {
    if (this.#port !== undefined) this.#post(this.#port);
  }

  /** Posts what is pending and lets go of the port, which moves with the end. */
  detach(): void {
    this.#flush(); // what was sent leaves before the port moves
    this.#port = undefined;
  }

  /**
   * Lets go of the port and closes it, after posting what is pending and
   * then the close message when `tellPeer` (the other end still listens).
   * Values not posted are dropped.
   */
  close(tellPeer: boolean): void {
    const port = this.#port;
    this.#port = undefined;
    if (port !== undefined) {
      if (tellPeer) {
        this.#post(port);
        try {
          port.postMessage({ [PIPE_TAG]: 1, close: true });
          // deno-coverage-ignore
        } catch {
          // the other end is gone already (Deno's ports do not throw here; other runtimes may)
        }
      }
      this.#stopListening(port);
      port.close();
    }
    this.#batch = [];
  }

  /** Nothing more will come: stops listening and closes the port, still held. */
  closePort(): void {
    const port = this.#port;
    if (port !== undefined) {
      this.#stopListening(port);
      port.close();
    }
  }

  /** Starts listening on the port; true when it did so now (it was not, and there is a port). */
  listen(): boolean {
    if (this.#listening || this.#port === undefined) return false;
    this.#listening = true;
    this.#port.addEventListener("message", this.#onMessage);
    this.#port.addEventListener("close", this.#onPortClose);
    this.#port.start();
    return true;
  }

  #stopListening(port: MessagePort): void {
    if (!this.#listening) return;
    this.#listening = false;
    port.removeEventListener("message", this.#onMessage);
    port.removeEventListener("close", this.#onPortClose);
  }

  #post(port: MessagePort): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    // Plain copies only: structured clone cannot refuse them.
    port.postMessage({ [PIPE_TAG]: 1, b: batch });
  }

  #receive(data: unknown): void {
    if (typeof data !== "object" || data === null || !(PIPE_TAG in data)) return; // not ours
    const message = data as PipeMessage;
    if (message.close === true) {
      this.#events.peerGone();
      return;
    }
    if (Array.isArray(message.b)) {
      this.#events.received(message.b);
    } else if ("v" in message) {
      const value = message.t === true
        ? decodeValue(message.v, (error) => console.error("baton pipe:", error))
        : message.v;
      this.#events.received([value]);
    } // else: not a message this end knows
  }
}
