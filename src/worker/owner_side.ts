/**
 * The owner role of one endpoint, behind `serve`: every name served there,
 * its links, the calls it runs for the other side, and the names closed
 * whose late frames may still arrive. Internal; `serve.ts` is the public
 * entry.
 *
 * @module
 */

import type { WaitOptions } from "../_waiters.ts";
import type { Condition } from "../condition.ts";
import { LinkClosed } from "../errors.ts";
import type { Lock } from "../lock.ts";
import { Queue } from "../queue.ts";
import { type Adapter, adapterOf, type ServedState } from "./adapters.ts";
import { Peer, type Role } from "./link.ts";
import { Connection } from "./pipe.ts";
import { movable } from "./_pipe_access.ts";
import { QueueTap } from "./queue_stream/owner.ts";
import { bootServer, GONE, refPort } from "./travel.ts";
import { putFromWire } from "./transit.ts";
import {
  type CallerFrame,
  closePorts,
  type Entry,
  type Frame,
  ProtocolError,
  serializeError,
} from "./wire.ts";
import type { Link, PipeEnd, Servable } from "./serve.ts";

/** The state of one served name on one link. */
class Served implements ServedState {
  readonly name: string;
  readonly primitive: object;
  readonly adapter: Adapter;
  readonly link: LinkImpl;
  /** The queue stream of a queue. */
  readonly tap: QueueTap | undefined;
  /** A pipe end's port, moved at the hello reply. */
  port: MessagePort | undefined;
  holds = 0;

  constructor(
    owner: OwnerSide,
    link: LinkImpl,
    name: string,
    primitive: object,
    port?: MessagePort,
  ) {
    this.name = name;
    this.primitive = primitive;
    this.adapter = adapterOf(primitive);
    this.link = link;
    this.port = port;
    this.tap = primitive instanceof Queue
      ? new QueueTap(link.host(owner), name, primitive, `link ${link.id}`)
      : undefined;
  }
}

let nextLinkId = 1;

/** A set of names served together, closed together. */
export class LinkImpl implements Link {
  readonly names: readonly string[];
  readonly id: number = nextLinkId++;
  #owner: OwnerSide;
  #closed = false;

  constructor(owner: OwnerSide, names: string[]) {
    this.#owner = owner;
    this.names = Object.freeze([...names]);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What a queue stream of this link needs. */
  host(owner: OwnerSide): {
    readonly outbox: Peer["outbox"];
    readonly closed: boolean;
    report(error: unknown): void;
  } {
    // deno-lint-ignore no-this-alias
    const link = this;
    return {
      outbox: owner.peer.outbox,
      get closed() {
        return link.#closed;
      },
      report: (error) => owner.report(error),
    };
  }

  /** Told once the link closed (travel links leave their registry). */
  onClose: (() => void) | undefined;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owner.closeLink(this);
    this.onClose?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

interface PendingCall {
  controller: AbortController;
  served: Served;
}

/** A name closed here whose late frames may still arrive from a side that has not heard yet. */
interface Late {
  tap: QueueTap;
  credits: number;
}

/** The reason a pending call is aborted with when the caller cancels it. */
const CANCELLED = Object.freeze(new Error("cancelled by the caller"));

/** One endpoint's owner role: every name served on it. */
export class OwnerSide implements Role {
  readonly peer: Peer;
  readonly served = new Map<string, Served>();
  readonly links = new Set<LinkImpl>();
  readonly calls = new Map<number, PendingCall>();
  readonly late = new Map<string, Late>();
  /** Replaced by a `serve` once every link closed (W-13: the options of the links in use). */
  onError: ((error: unknown) => void) | undefined;
  /** The name reports give the one primitive this side serves, when it travelled (W-14). */
  label: string | undefined;
  #announce = false;
  /** `closed` frames with `last` sent and not yet answered by a `gone` with `last`. */
  #lastClosesOwed = 0;

  constructor(peer: Peer, onError: ((error: unknown) => void) | undefined) {
    this.peer = peer;
    this.onError = onError;
  }

  get active(): boolean {
    return this.links.size > 0 || this.late.size > 0;
  }

  report(error: unknown): void {
    try {
      (this.onError ?? ((e: unknown) => console.error("baton serve:", e)))(error);
    } catch {
      // an onError hook that throws must not break the adapter
    }
  }

  add(primitives: Record<string, Servable>, announce = true): LinkImpl {
    const names = Object.keys(primitives);
    const ports = new Map<string, MessagePort>();
    const seen = new Set<unknown>();
    for (const name of names) {
      const primitive = primitives[name];
      if (this.served.has(name)) throw new Error(`"${name}" is already served on this endpoint`);
      if (name === "close" || name === "then") throw new Error(`"${name}" cannot be a served name`);
      adapterOf(primitive); // throws TypeError for what cannot be served
      if (seen.has(primitive) && isPipeEnd(primitive)) {
        throw new Error(`the same pipe end is served twice, as "${name}"`);
      }
      seen.add(primitive);
      // Checked before any end moves: a refused serve leaves every end given to it as it was.
      if (primitive instanceof Connection && !movable(primitive)) {
        throw new Error(
          `a pipe end served as a name cannot move: "${name}" is closed or has started receiving`,
        );
      }
    }
    // Pipe ends move now, or serve() throws: never a name silently missing later.
    try {
      for (const name of names) {
        const end = primitives[name];
        if (isPipeEnd(end)) ports.set(name, end.transfer());
      }
    } catch (error) {
      for (const port of ports.values()) port.close();
      throw new Error(`a pipe end served as a name cannot move: ${(error as Error).message}`);
    }
    const link = new LinkImpl(this, names);
    this.links.add(link);
    for (const name of names) {
      this.served.set(
        name,
        new Served(this, link, name, primitives[name] as object, ports.get(name)),
      );
    }
    if (announce) this.#scheduleAnnounce();
    return link;
  }

  #scheduleAnnounce(): void {
    if (this.#announce) return;
    this.#announce = true;
    // Everything served in this turn goes out in one manifest.
    queueMicrotask(() => {
      this.#announce = false;
      this.#sendManifest(false);
    });
  }

  /**
   * Tells the other side what is served. Only a reply to its hello (which
   * proves it listens) carries pipe ends.
   */
  #sendManifest(reply: boolean): void {
    if (this.served.size === 0) return;
    const entries: Record<string, Entry> = {};
    const transfer: Transferable[] = [];
    for (const [name, served] of this.served) {
      const entry: Entry = {
        kind: served.adapter.kind,
        constants: served.adapter.constants(served.primitive as never),
      };
      if (reply && served.port !== undefined) {
        entry.port = served.port;
        transfer.push(served.port);
        served.port = undefined;
      }
      entries[name] = entry;
    }
    this.peer.send({ type: "manifest", entries, reply }, transfer);
  }

  handle(frame: Frame): void {
    const f = frame as CallerFrame;
    if ("name" in f && f.type !== "call" && this.#late(f)) return;
    switch (f.type) {
      case "hello":
        this.#sendManifest(true);
        return;
      case "bye":
        this.closeAll();
        // The other side flushed everything before its bye: nothing more will come.
        for (const name of [...this.late.keys()]) this.#finish(name);
        this.peer.release();
        return;
      case "call":
        this.#call(f);
        return;
      case "cancel":
        this.calls.get(f.id)?.controller.abort(CANCELLED);
        return;
      case "gone":
        for (const name of f.names) this.#finish(name);
        if (f.last === true) {
          if (this.#lastClosesOwed > 0) {
            this.#lastClosesOwed--;
            // The answer to this side's close of its last link: the other side's connection
            // ended, and unless this peer still talks to it the other way, a new peer may start over.
            if (!this.peer.caller?.active) this.peer.letRemoteStartOver();
          } else if (this.peer.freshRemote) {
            // The farewell of a side this one never talked with (it answers a close by the
            // endpoint's previous owner, gone since): nothing to keep of it.
            this.peer.letRemoteStartOver();
          } else {
            // Never on its word alone (W-10): it would let a second peer in.
            this.report(new ProtocolError("a gone with last answers no close of the last link"));
          }
        }
        this.peer.release();
        return;
      case "attach": {
        // A proxy of this name travels on (W-14): its receiver boots through `port` and talks to
        // this side directly, whatever becomes of the proxy it was copied from.
        const served = this.served.get(f.name);
        if (served === undefined || served.adapter.kind === "Connection") {
          f.port.close();
          throw new ProtocolError(`"${f.name}" cannot travel from here`);
        }
        const { primitive } = served;
        const onError = this.onError;
        const label = this.label ?? f.name;
        // Its releases are reported where this name's are, under this name (W-9).
        bootServer(
          f.port,
          (port, lifeline) => serveTravel(port, primitive, onError, label, lifeline),
        );
        return;
      }
    }
    const tap = this.#tap(f.name);
    switch (f.type) {
      case "put":
        return tap.credits.put(f.items);
      case "want":
        return tap.credits.want(f.blocked, f.shared);
      case "uncredit":
        return tap.credits.uncredit(f.count);
      case "pull":
        return tap.pull(f.count);
      case "unpull":
        return tap.unpull();
      case "ack":
        return tap.ack(f.seq);
      case "return":
        return tap.giveBack(f.seq, f.ends);
      case "done":
        return tap.done(f.count);
    }
  }

  #tap(name: string): QueueTap {
    const tap = this.served.get(name)?.tap;
    if (tap === undefined) throw new ProtocolError(`"${name}" is not a queue served here`);
    return tap;
  }

  /**
   * Handles a frame the other side sent for a name closed here before it
   * heard of the close; returns false when the name is not closing.
   */
  #late(frame: Extract<CallerFrame, { name: string }>): boolean {
    const late = this.late.get(frame.name);
    if (late === undefined || this.served.has(frame.name)) return false;
    const { tap } = late;
    switch (frame.type) {
      case "put":
        // Put on credit before the other side heard of the close: items whose
        // put resolved, never dropped, and never more than the credits it held.
        if (frame.items.length > late.credits) {
          throw new ProtocolError(`${frame.items.length} late items on ${late.credits} credits`);
        }
        late.credits -= frame.items.length;
        for (const item of frame.items) tap.queue.put(item).catch((error) => this.report(error));
        break;
      case "ack": // items its code took before it heard: they stay taken
        tap.ack(frame.seq);
        break;
      case "done": // tasks done before it heard still count
        tap.done(frame.count);
        break;
      case "attach": // the name is closing here: nothing will serve the port
        frame.port.close();
        break;
      case "return": // the close gave back what it was sent; the ends it returns serve nothing
        closePorts(frame.ends);
        break;
        // want, uncredit, pull, unpull: the close ended what they are about.
    }
    return true;
  }

  /** The other side heard of the close of `name` (or is gone): what it did not take goes back. */
  #finish(name: string): void {
    const late = this.late.get(name);
    if (late === undefined) return;
    this.late.delete(name);
    late.tap.finish();
  }

  #call(frame: Extract<CallerFrame, { type: "call" }>): void {
    const { id } = frame;
    if (this.calls.has(id)) throw new ProtocolError(`call #${id} is already pending`);
    const served = this.served.get(frame.name);
    if (served === undefined) {
      this.#reply(id, undefined, new LinkClosed(`"${frame.name}" is not served on this endpoint`));
      return;
    }
    const tap = served.tap;
    // An item at hand answers a get now: no wait, so no signal to make (a round trip's cost).
    if (tap !== undefined && frame.op === "get" && tap.getAtHand(id)) return;
    // Every wait gets a signal: closing the link removes the waiter, which takes nothing later.
    const controller = new AbortController();
    const options: WaitOptions = { signal: controller.signal };
    if (frame.timeout !== undefined) options.timeout = frame.timeout;
    if (tap !== undefined && (frame.op === "get" || frame.op === "getNowait")) {
      if (frame.op === "getNowait") tap.getNowait(id);
      else {
        this.calls.set(id, { controller, served });
        // The answer goes out from the queue's hand-off: the call is forgotten then.
        tap.get(id, options, () => this.calls.delete(id));
      }
      return;
    }
    if (tap !== undefined && (frame.op === "put" || frame.op === "putNowait")) {
      const [item] = frame.args;
      this.#settle(
        id,
        served,
        frame.op,
        () =>
          putFromWire(() =>
            frame.op === "put" ? tap.queue.put(item, options) : tap.queue.putNowait(item)
          ),
        controller,
      );
      return;
    }
    const op = Object.hasOwn(served.adapter.ops, frame.op)
      ? served.adapter.ops[frame.op]
      : undefined;
    if (op === undefined) {
      this.#reply(
        id,
        undefined,
        new TypeError(`${served.adapter.kind} has no remote operation "${frame.op}"`),
      );
      return;
    }
    this.#settle(
      id,
      served,
      frame.op,
      () => op(served.primitive, frame.args, options, served),
      controller,
    );
  }

  #settle(
    id: number,
    served: Served,
    op: string,
    run: () => unknown,
    controller: AbortController,
  ): void {
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      this.#reply(id, undefined, error);
      return;
    }
    if (!(result instanceof Promise)) {
      this.#reply(id, result, undefined);
      return;
    }
    this.calls.set(id, { controller, served });
    result.then((value) => {
      this.calls.delete(id);
      if (served.link.closed) this.#undo(served, op, value);
      else this.#reply(id, value, undefined);
    }, (error) => {
      this.calls.delete(id);
      if (served.link.closed) {
        // A Condition wait ended by the close re-acquired the lock before it rejected (C-2).
        if (op === "wait" && served.adapter.kind === "Condition") {
          (served.primitive as Condition).release();
          if (served.holds > 0) served.holds--;
        }
        return;
      }
      this.#reply(id, undefined, error, error === CANCELLED);
    });
  }

  /**
   * An answer no one will read: give back what the operation took. A lock is
   * counted once its answer is in; a permit is counted in the step that hands
   * it over, so the link's close already gave it back (W-9).
   */
  #undo(served: Served, op: string, value: unknown): void {
    const holdsLock = served.adapter.kind === "Lock" || served.adapter.kind === "Condition";
    if (holdsLock && ((op === "acquire" && value === true) || op === "wait")) {
      if (served.holds > 0) served.holds--;
      (served.primitive as Lock).release();
    }
  }

  #reply(id: number, value: unknown, error: unknown, cancelled = false): void {
    if (error === undefined) {
      this.peer.send({ type: "result", id, value });
      return;
    }
    this.peer.send(
      cancelled
        ? { type: "error", id, error: serializeError(error), cancelled: true }
        : { type: "error", id, error: serializeError(error) },
    );
  }

  closeLink(link: LinkImpl): void {
    this.links.delete(link);
    for (const [id, pending] of this.calls) {
      if (pending.served.link === link) {
        this.calls.delete(id);
        pending.controller.abort(new LinkClosed());
      }
    }
    for (const name of link.names) {
      const served = this.served.get(name);
      if (served === undefined) continue;
      this.served.delete(name);
      served.port?.close(); // never moved: nobody will read it
      const tap = served.tap;
      if (tap !== undefined) {
        // Until the other side says it heard of the close, items it put on
        // credit may still be on their way: they go into the queue as puts.
        this.late.set(name, { tap, credits: tap.credits.lateCredits });
        tap.close();
      }
      // Holds die with their link (W-9): the next waiter gets them, and the owner hears of it.
      const released = served.adapter.release?.(served.primitive as never, served);
      if (released !== undefined) {
        this.report(
          new LinkClosed(
            `link ${link.id} closed holding ${released} "${this.label ?? name}": released`,
          ),
        );
      }
    }
    // The last link: the other side's connection ends with it (a new serve needs a new connect).
    if (this.links.size === 0) this.#lastClosesOwed++;
    this.peer.send(
      this.links.size > 0
        ? { type: "closed", names: [...link.names] }
        : { type: "closed", names: [...link.names], last: true },
    );
    this.peer.outbox.flush(); // the close goes out now, after every answer queued before it
    this.peer.release();
  }

  closeAll(): void {
    for (const link of [...this.links]) link.close();
  }

  ended(): void {
    this.closeAll();
    // The other side is gone: nothing more will come; what it was sent goes back (W-8).
    for (const name of [...this.late.keys()]) this.#finish(name);
  }
}

/** The links serving travelled primitives in this thread (W-14), until their receivers are done. */
const TRAVEL_LINKS = new Set<LinkImpl>();

/**
 * Serves `primitive` alone on `port`, the owner's end of a travel channel
 * (W-14). The port does not keep this thread alive, and closes once the
 * receiver is done (its bye, or its end of the port closed).
 */
export function serveTravel(
  port: MessagePort,
  primitive: object,
  onError?: (error: unknown) => void,
  label?: string,
  lifeline?: MessagePort,
): void {
  const peer = Peer.of(port);
  peer.closesEndpoint = true;
  const owner = new OwnerSide(peer, onError);
  owner.label = label;
  peer.owner = owner;
  // The receiver knows what it talks to from the token: no manifest, no hello.
  const link = owner.add({ p: primitive as Servable }, false);
  TRAVEL_LINKS.add(link);
  // Its receiver's process ended (its parent says so, W-9): as if the receiver's port closed.
  const ended = () => port.close();
  link.onClose = () => {
    TRAVEL_LINKS.delete(link);
    if (lifeline === undefined) return;
    lifeline.removeEventListener("message", ended);
    lifeline.postMessage(GONE); // the process's parent lets go of its end (it keeps no port per link)
    lifeline.close();
  };
  if (lifeline !== undefined) {
    lifeline.addEventListener("message", ended);
    lifeline.start();
    refPort(lifeline, false);
  }
  refPort(port, false);
}

/** How many links serve a travelled primitive from this thread (for leak tests). */
export function liveTravelLinks(): number {
  return TRAVEL_LINKS.size;
}

/**
 * Closes every link serving a travelled primitive from this thread: their
 * proxies elsewhere reject `LinkClosed` from now on (a `Process` child does
 * this when its target ended).
 */
export function closeTravelLinks(): void {
  for (const link of [...TRAVEL_LINKS]) link.close();
}

function isPipeEnd(value: unknown): value is PipeEnd {
  return typeof value === "object" && value !== null &&
    typeof (value as PipeEnd).transfer === "function" && "readable" in value &&
    "writable" in value;
}
