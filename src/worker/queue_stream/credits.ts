/**
 * The producer's half of a queue streamed over one link, on the owner's
 * side: the credits it holds for the remote producer, one named hold in the
 * queue's ledger, granted in frames or through a shared counter, and
 * reclaimed when someone else needs the room. See `PROTOCOL.md`.
 *
 * @module
 */

import type { QueueAccess, QueueWait, SlotHold } from "../../_queue_access.ts";
import type { Queue } from "../../queue.ts";
import type { Outbox } from "../outbox.ts";
import { CREDIT_WINDOW, type OwnerFrame, ProtocolError } from "../wire.ts";

/** What a stream needs of the link it belongs to. */
export interface StreamHost {
  readonly outbox: Outbox;
  readonly closed: boolean;
  report(error: unknown): void;
}

/**
 * Per queue, the credit sides admitted in line whose grant has not gone out
 * yet: they share the slots free when they grant (see `#topUp`).
 */
const admittedTaps = new WeakMap<object, Set<Credits<unknown>>>();

/** The credits of one link's remote producer for one queue, on the owner's side. */
export class Credits<T = unknown> {
  readonly #name: string;
  readonly #queue: Queue<T>;
  readonly #host: StreamHost;
  readonly #access: QueueAccess<T>;
  readonly #credit: SlotHold;
  /** Credits held for the link and not yet granted in a frame. */
  #owed = 0;
  #topUpQueued = false;
  #creditWait: QueueWait | undefined;
  #unwatchSpace: (() => void) | undefined;
  #reclaiming = false;
  /** The remote producer's shared credit counter, once offered: grants are added there. */
  #shared: Int32Array | undefined;
  /**
   * The remote producer said it waits (a blocked want) and no frame has
   * answered since: a grant must go as a frame, which wakes it.
   */
  #parked = false;
  readonly #unwatch: () => void;

  constructor(
    host: StreamHost,
    name: string,
    queue: Queue<T>,
    access: QueueAccess<T>,
    linkLabel: string,
  ) {
    this.#host = host;
    this.#name = name;
    this.#queue = queue;
    this.#access = access;
    this.#credit = access.newHold(`credits of ${linkLabel} for "${name}"`);
    this.#unwatch = access.watchWaiting(() => this.#reclaim());
  }

  get #outbox(): Outbox {
    return this.#host.outbox;
  }

  #push(frame: OwnerFrame): void {
    this.#outbox.push(frame);
  }

  /**
   * The remote side wants credits: `blocked` when a put waits for them;
   * `shared`, offered once, the counter it reads grants from.
   */
  want(blocked: boolean, shared?: SharedArrayBuffer): void {
    if (shared !== undefined) {
      // One producer side offers one counter: another would strand what was added to the first.
      if (this.#shared !== undefined) throw new ProtocolError("a second shared credit counter");
      this.#shared = new Int32Array(shared);
    }
    if (blocked) this.#parked = true;
    if (this.#queue.isShutdown) {
      // It had no proxy yet when the notice went out: it hears it again.
      this.#push({ type: "shutdown", name: this.#name, immediate: this.#access.discarding });
      return;
    }
    // The caller held no credit when it asked (its frames arrive in order, and it asks so only
    // with none): credits granted since are on their way to it and answer the ask. Waiting in
    // line for a slot as well would make its own ask a putter waiting for room, and the owner
    // would reclaim the very credits that free it.
    if (blocked && this.#granted() === 0) this.#grantBlocked();
    else {
      // Credits it has not used may sit in the shared counter, unseen: a frame says "look".
      if (blocked && this.#shared !== undefined) this.#grant(0);
      this.#grantAhead();
    }
  }

  /** The least number of credits worth a message when nobody waits for them. */
  #batch(): number {
    const maxsize = this.#queue.maxsize;
    const quarter = maxsize > 0 && maxsize !== Infinity ? Math.floor(maxsize / 4) : CREDIT_WINDOW;
    return Math.max(1, Math.min(CREDIT_WINDOW / 4, quarter));
  }

  #grantAhead(): void {
    const least = this.#batch();
    if (this.#credit.count + least > CREDIT_WINDOW || this.#queue.isShutdown || this.#host.closed) {
      return;
    }
    if (this.#topUpQueued || this.#unwatchSpace !== undefined || this.#reclaiming) return;
    if (this.#access.free() >= least) {
      this.#grantNow();
      return;
    }
    this.#unwatchSpace = this.#access.watchSpace(least, () => {
      this.#unwatchSpace = undefined;
      if (this.#host.closed) return;
      try {
        this.#grantNow();
      } catch (error) {
        this.#host.report(error); // never into the call that freed the slots
      }
    });
  }

  /** A batch of slots is free: grant it at once, not at the end of the turn. */
  #grantNow(): void {
    this.#topUp();
    this.#outbox.flush();
    this.#grantAhead();
  }

  /** A put waits for credit: wait in line with the local putters for one slot. */
  #grantBlocked(): void {
    if (this.#creditWait !== undefined || this.#host.closed) return;
    let settled = false;
    const wait = this.#access.waitReserve(this.#credit, () => {
      // Admitted in line, now: owed at once, so a shutdown in this turn follows the credit.
      settled = true;
      this.#creditWait = undefined;
      this.#owed++;
      this.#admitted().add(this as Credits<unknown>);
      this.#queueTopUp();
    }, () => {
      settled = true;
      this.#creditWait = undefined; // shut down: the remote side hears of it
    });
    if (!settled) this.#creditWait = wait;
  }

  #queueTopUp(): void {
    if (this.#topUpQueued) return;
    this.#topUpQueued = true;
    this.#outbox.beforeFlush(this.#topUp);
  }

  #admitted(): Set<Credits<unknown>> {
    let taps = admittedTaps.get(this.#queue);
    if (taps === undefined) admittedTaps.set(this.#queue, taps = new Set());
    return taps;
  }

  /**
   * Grants what is owed, and free slots up to the window: after a slot
   * admitted in line, its share of the free slots (even fewer than a batch,
   * so a blocked producer is not fed one slot per round trip; shared with
   * the other taps admitted and not yet granted, so no producer takes the
   * leftovers every time); else only when a batch is free.
   */
  #topUp = (): void => {
    this.#topUpQueued = false;
    const admitted = this.#admitted();
    const sharing = admitted.size;
    const inLine = admitted.delete(this as Credits<unknown>);
    if (this.#host.closed) return;
    const room = CREDIT_WINDOW - this.#credit.count;
    const share = inLine ? Math.min(room, Math.floor(this.#access.free() / sharing)) : room;
    const extra = share <= 0
      ? 0
      : this.#access.reserve(this.#credit, share, inLine ? 1 : this.#batch());
    const granted = this.#owed + extra;
    this.#owed = 0;
    if (granted > 0) this.#grant(granted);
  };

  /**
   * Hands over credits already held for the link: through the shared
   * counter while the producer runs (no post, no wake), else in a frame.
   */
  #grant(count: number): void {
    if (this.#shared !== undefined && !this.#parked) {
      Atomics.add(this.#shared, 0, count);
      Atomics.notify(this.#shared, 0); // wakes a put that watches it (a no-op when none does)
      return;
    }
    this.#parked = false;
    this.#push({ type: "credit", name: this.#name, count });
  }

  /** Credits the remote side may be holding: granted in a frame, not yet used or returned. */
  #granted(): number {
    return this.#credit.count - this.#owed;
  }

  /** Someone waits for room: ask the remote producer for the credits it does not use. */
  #reclaim(): void {
    if (this.#reclaiming || this.#granted() === 0 || this.#host.closed) return;
    this.#reclaiming = true;
    this.#unwatchSpace?.();
    this.#unwatchSpace = undefined;
    this.#push({ type: "reclaim", name: this.#name });
  }

  /** Items put on credit arrive. */
  put(items: unknown[]): void {
    if (items.length > this.#granted()) {
      throw new ProtocolError(
        `${items.length} items for "${this.#name}" on ${this.#granted()} credits`,
      );
    }
    this.#parked = false; // it runs: what it waited for came
    for (const error of this.#access.putHeld(this.#credit, items as T[])) this.#host.report(error);
    this.#grantAhead();
  }

  /** The remote side gives back credits it will not use (asked or not). */
  uncredit(count: number): void {
    if (count > this.#granted()) {
      throw new ProtocolError(`uncredit of ${count} with ${this.#granted()} granted`);
    }
    this.#reclaiming = false;
    this.#unwatchSpace?.();
    this.#unwatchSpace = undefined;
    this.#access.release(this.#credit, count);
  }

  /** Credits granted and unused at close: late item frames may use these. */
  get lateCredits(): number {
    return this.#granted();
  }

  /**
   * The queue shuts down: a slot admitted before it (in line, as a put
   * would be) is granted before the notice, and nothing is granted after.
   */
  shutdown(notice: () => void): void {
    if (this.#owed > 0) {
      // Zeroed first: a push that fills the envelope posts it, and the top-up that runs
      // before a post would grant the same owed slots again.
      const owed = this.#owed;
      this.#owed = 0;
      this.#push({ type: "credit", name: this.#name, count: owed });
    }
    notice();
    this.#unwatchSpace?.();
    this.#unwatchSpace = undefined;
  }

  /** The link closed: credits end now, their slots free. */
  close(): void {
    this.#unwatch();
    this.#creditWait?.cancel();
    this.#creditWait = undefined;
    this.#unwatchSpace?.();
    this.#unwatchSpace = undefined;
    this.#owed = 0;
    this.#admitted().delete(this as Credits<unknown>);
    if (this.#credit.count > 0) this.#access.release(this.#credit, this.#credit.count);
  }

  /** The remote side heard of the close (or is gone): the hold goes. */
  finish(): void {
    this.#access.dropHold(this.#credit);
  }
}
