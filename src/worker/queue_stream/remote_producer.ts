/**
 * The producer half of a remote queue proxy: puts write ahead on credits
 * the owner granted; without credit a put waits here, in call order, and
 * asks for more. Where the endpoint shares memory, the owner grants through
 * a shared counter instead of a frame, and a put out of credit watches it
 * for a moment before it asks (see `PROTOCOL.md`, "Shared credits"). Its
 * states are in `PROTOCOL.md` ("Producer"). Internal: `QueueProxy`
 * (`remote.ts`) owns one.
 *
 * @module
 */

import { checkWaitOptions, WaitList, type WaitOptions } from "../../_waiters.ts";
import { LinkClosed, QueueFull, QueueShutDown } from "../../errors.ts";
import { postable } from "../clone.ts";
import { afterTurn, type Outbox } from "../outbox.ts";
import { Travelling } from "../travel.ts";
import { CREDIT_WINDOW } from "../wire.ts";
import type { ProxyHost } from "./remote.ts";

/** The `want` frame, with the shared counter offered on the first. */
type WantFrame = { type: "want"; name: string; blocked: boolean; shared?: SharedArrayBuffer };

/** A put waiting for credit holds the copy of its item that is certain to cross (`postable`). */
type Checked = unknown;

/** What a put on credit resolves with: one settled promise for all of them. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * How long (ms) a put out of credit watches the shared counter before it
 * asks the owner with a frame. A consumer frees a batch of slots in tens of
 * µs when it is busy: watching spares it a post that costs the thread that
 * makes it about 25 µs here (the wake of a parked thread), and spares this
 * side the message. An owner with no room for longer is asked.
 */
const WATCH_MS = 0.5;

/** `Atomics.waitAsync`, where the platform has it (Deno, Node, Bun, Chromium). */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** After a watch that saw nothing, this many waits ask at once before one watches again. */
const UNWATCHED_AFTER_MISS = 8;

/** The puts of one remote queue proxy. */
export class ProxyProducer {
  readonly #host: ProxyHost;
  /** The peer's outbox (it never changes): read once, not through the host on every put. */
  readonly #outbox: Outbox;
  readonly #name: string;
  /** False for a priority queue: a compare function may throw on put, and only a call can report that. */
  readonly #useCredit: boolean;
  #closed = false;
  #shutdown = false;
  #credits = 0;
  #wantSent: false | "ahead" | "blocked" = false;
  #putSinceCheck = false;
  #idleCheck = false;
  #putters: WaitList<void, Checked>;
  #putFrame: { type: "put"; name: string; items: unknown[] } | undefined;
  /** The shared credit counter offered to the owner (W-2: credits it adds there are this side's). */
  #shared: Int32Array | undefined;
  /** The counter's total this side has taken into `#credits` (both wrap at 2^32). */
  #sharedTaken = 0;
  /** Whether a put out of credit watches the counter now (see {@linkcode WATCH_MS}). */
  #watching = false;
  /** Waits for credit that ask at once, without watching, after a watch saw nothing. */
  #unwatched = 0;
  /** When (ms) the last blocked ask went out, until a credit frame answers it; 0 when none. */
  #askedAt = 0;
  /** A blocked ask was answered within {@linkcode WATCH_MS}: watching the counter would pay. */
  #answeredSoon = false;

  constructor(host: ProxyHost, name: string, useCredit: boolean) {
    this.#host = host;
    this.#outbox = host.outbox;
    this.#name = name;
    this.#useCredit = useCredit;
    this.#putters = new WaitList<void, Checked>({
      onTimeout: () => {
        // The shutdown notice rejects every waiting put at once: the QueueShutDown side is a guard.
        // deno-coverage-ignore
        throw this.#shutdown ? new QueueShutDown() : new QueueFull();
      },
    });
  }

  put(item: unknown, options?: WaitOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#shutdown) return Promise.reject(new QueueShutDown());
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return Promise.reject(error);
    }
    let checked: Checked;
    try {
      checked = postable(item); // the verdict, before anything else happens to the item (W-3)
    } catch (failure) {
      return Promise.reject(failure);
    }
    if (!this.#useCredit) return this.#putCall("put", checked, options);
    if ((this.#credits > 0 || this.#takeShared()) && this.#putters.size === 0) {
      this.#send(checked);
      this.#outbox.postIfIdle(); // a put on an idle link leaves now
      return RESOLVED;
    }
    if (options?.timeout === 0) return this.#putNowaitCall(checked);
    const waiting = this.#putters.wait(options, checked);
    // Credit just taken from the counter goes to the puts already waiting, then to this one.
    if (this.#credits > 0) this.#admit();
    else this.#waitForCredit();
    // This producer stops until credit comes: what it queued leaves now, not at the end of the turn.
    this.#outbox.flush();
    return waiting;
  }

  putNowait(item: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new LinkClosed());
    if (this.#shutdown) return Promise.reject(new QueueShutDown());
    let checked: Checked;
    try {
      checked = postable(item);
    } catch (failure) {
      return Promise.reject(failure);
    }
    if (this.#useCredit && (this.#credits > 0 || this.#takeShared()) && this.#putters.size === 0) {
      this.#send(checked);
      return RESOLVED;
    }
    return this.#putNowaitCall(checked);
  }

  /**
   * A put that must not wait, without credit. While this side's own earlier
   * puts wait for room it is full from here: asking the owner could let
   * this item overtake them.
   */
  #putNowaitCall(checked: Checked): Promise<void> {
    if (this.#putters.size > 0) return Promise.reject(new QueueFull());
    return this.#putCall("putNowait", checked);
  }

  #putCall(op: string, checked: Checked, options?: WaitOptions): Promise<void> {
    return this.#host.call(this.#name, op, [checked], options) as Promise<void>;
  }

  /** Uses one credit for an item already checked: it joins this turn's put frame. */
  #send(checked: Checked): void {
    const outbox = this.#outbox;
    if (typeof checked === "object" && checked instanceof Travelling) outbox.travel();
    // Items join this side's put frame while it is the last one queued (identity, not shape).
    if (!outbox.append(this.#putFrame, checked)) {
      this.#putFrame = outbox.push({ type: "put", name: this.#name, items: [checked] });
    }
    if (--this.#credits < CREDIT_WINDOW / 2 && this.#wantSent === false) this.#want();
    // Only an ask for more is withdrawn when idle: without one, nothing to watch (and
    // scheduling the watch costs a thread back from idle about 20 µs).
    if (this.#wantSent === "ahead") {
      this.#putSinceCheck = true;
      if (!this.#idleCheck) this.#watchIdle();
    }
  }

  /**
   * Credits are kept while connected (the next put goes out at once), but a
   * producer idle for a turn withdraws its ask for more, so the owner keeps
   * no freed slot for it.
   */
  #watchIdle(): void {
    if (this.#idleCheck) return;
    this.#idleCheck = true;
    afterTurn(() => {
      this.#idleCheck = false;
      if (this.#putSinceCheck) {
        this.#putSinceCheck = false;
        this.#watchIdle();
        return;
      }
      if (this.#wantSent === "ahead" && !this.#closed && this.#putters.size === 0) {
        this.#wantSent = false;
        this.#outbox.push({ type: "uncredit", name: this.#name, count: 0 });
      }
    });
  }

  /** Asks for credits: `blocked` when a put waits for them. */
  #want(blocked = false): void {
    if (
      this.#shutdown || this.#closed || this.#wantSent === "blocked" ||
      (this.#wantSent === "ahead" && !blocked)
    ) return;
    this.#wantSent = blocked ? "blocked" : "ahead";
    const frame: WantFrame = { type: "want", name: this.#name, blocked };
    if (blocked) this.#askedAt = performance.now();
    if (blocked && this.#answeredSoon && this.#shared === undefined && this.#host.sharesMemory) {
      // Offered once, when a put ran out of credit and the owner had answered such an ask within
      // a watch: from then on it grants through the counter. Not otherwise: a buffer shared by
      // the two threads makes every message between them about 10 µs slower here, which a
      // producer that puts now and then, or whose room frees slowly (a consumer farther away,
      // several producers), would pay for nothing.
      this.#shared = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
      frame.shared = this.#shared.buffer as SharedArrayBuffer;
    }
    this.#outbox.push(frame);
  }

  /** Takes what the owner added to the shared counter; true when there was some. */
  #takeShared(): boolean {
    if (this.#shared === undefined) return false;
    const total = Atomics.load(this.#shared, 0);
    const added = (total - this.#sharedTaken) | 0; // the counter wraps; what is outstanding never nears 2^31
    if (added <= 0) return false;
    this.#sharedTaken = total;
    this.#credits += added;
    this.#wantSent = false; // answered, as a credit frame answers
    return true;
  }

  /**
   * A put waits for credit: with a shared counter, watch it for
   * {@linkcode WATCH_MS}, then ask with a frame (the owner answers a
   * blocked ask with a frame, which wakes this side); without one, ask now.
   */
  #waitForCredit(): void {
    if (this.#shared === undefined) {
      this.#want(true);
      return;
    }
    if (this.#watching) return;
    if (this.#unwatched > 0) {
      // The last watch saw nothing: room frees slowly here (a consumer farther away, or several
      // producers), and asking in line at once is sooner than watching first.
      this.#unwatched--;
      this.#want(true);
      return;
    }
    this.#watching = true;
    const shared = this.#shared;
    const until = performance.now() + WATCH_MS;
    const look = (): void => {
      if (this.#closed || this.#shutdown || this.#putters.size === 0) {
        this.#watching = false;
        return;
      }
      if (this.#credits > 0 || this.#takeShared()) {
        this.#watching = false;
        this.#admit();
        return;
      }
      const left = until - performance.now();
      if (left <= 0) {
        this.#watching = false;
        this.#unwatched = UNWATCHED_AFTER_MISS;
        this.#want(true);
        this.#outbox.flush();
        return;
      }
      // Asleep until the owner adds to the counter (it notifies) or the watch ends: polling it
      // once a turn (`setImmediate` costs about 7 µs a turn in Deno) took a core from the
      // threads that free room. Where the platform cannot wait so, once a turn after all.
      const waitAsync = (Atomics as { waitAsync?: WaitAsync }).waitAsync;
      const waited = typeof waitAsync === "function"
        ? waitAsync.call(Atomics, shared, 0, this.#sharedTaken, left)
        : undefined;
      if (waited?.async === true) waited.value.then(look);
      else afterTurn(look);
    };
    look();
  }

  /** Credit came: the waiting puts use it in call order; the rest wait on. */
  #admit(): void {
    while (this.#credits > 0 && this.#putters.size > 0) {
      const putter = this.#putters.shift()!;
      this.#send(putter.data);
      putter.resolve();
    }
    if (this.#putters.size > 0) this.#waitForCredit();
  }

  credit(count: number): void {
    if (this.#askedAt !== 0) {
      this.#answeredSoon = performance.now() - this.#askedAt < WATCH_MS;
      this.#askedAt = 0;
    }
    this.#wantSent = false;
    this.#credits += count;
    this.#takeShared(); // a frame also says: look at the counter (a count of 0 says only that)
    if (this.#shutdown || this.#closed) {
      this.#uncreditAll();
      return;
    }
    this.#admit();
  }

  /** Someone at the owner waits for room: give back the credits not in use. */
  reclaim(): void {
    this.#takeShared();
    const unused = this.#credits;
    this.#credits = 0;
    if (this.#wantSent === "ahead") this.#wantSent = false;
    this.#outbox.push({ type: "uncredit", name: this.#name, count: unused });
    if (this.#putters.size > 0) this.#want(true);
  }

  // ---- told by the proxy ----

  /** The queue was shut down: waiting puts reject, unused credits go back. */
  shutdownNotice(): void {
    this.#shutdown = true;
    this.#putters.rejectAll(new QueueShutDown());
    this.#uncreditAll();
  }

  /** This side is closing: unused credits go back, before its bye. */
  leave(): void {
    if (!this.#closed) this.#uncreditAll();
  }

  /** The link of this name closed. */
  closed(): void {
    this.#closed = true;
    this.#putters.rejectAll(new LinkClosed());
  }

  #uncreditAll(): void {
    this.#takeShared();
    if (this.#credits === 0) return;
    this.#outbox.push({ type: "uncredit", name: this.#name, count: this.#credits });
    this.#credits = 0;
  }
}
