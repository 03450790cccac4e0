/**
 * The owner's side of a queue streamed over one link: the slots it holds
 * for the remote producer (credits, `credits.ts`) and for the remote
 * consumer (items sent and not yet taken by its code), each a named hold in
 * the queue's ledger.
 *
 * States of the consumer stream, per item: taken for the link (a seq is
 * given and the frame is queued in the same synchronous step) → sent →
 * acked (the remote code took it: its slot frees) or returned (back to the
 * head of the queue, in the order items first left it). See `PROTOCOL.md`.
 *
 * @module
 */

import { Deque } from "../../_deque.ts";
import {
  type QueueAccess,
  queueAccess,
  type QueueWait,
  type SlotHold,
  type Taken,
} from "../../_queue_access.ts";
import type { WaitOptions } from "../../_waiters.ts";
import { QueueEmpty, QueueShutDown } from "../../errors.ts";
import type { Queue } from "../../queue.ts";
import { postable } from "../clone.ts";
import { Travelling } from "../travel.ts";
import { releaseTransit, reviveEnds } from "../transit.ts";
import type { Outbox } from "../outbox.ts";
import { CREDIT_WINDOW, type OwnerFrame, ProtocolError, serializeError } from "../wire.ts";
import { Credits, type StreamHost } from "./credits.ts";

interface Sent<T> extends Taken<T> {
  readonly seq: number;
  /** The answer of a remote get call: its caller waits for it, a return does not take it back. */
  readonly direct: boolean;
  /** Its copy, when it held primitives: the pipe ends it carried come back with it (W-8). */
  readonly travelling: Travelling | undefined;
}

/** One queue, one link, on the owner's side. */
export class QueueTap<T = unknown> {
  readonly name: string;
  readonly queue: Queue<T>;
  readonly #host: StreamHost;
  readonly #access: QueueAccess<T>;
  /** The producer's half: credits for the remote producer. */
  readonly credits: Credits<T>;
  // ---- consumer: items sent ----
  readonly #out: SlotHold;
  readonly #sent = new Deque<Sent<T>>();
  #nextSeq = 0;
  /** Every seq below this one was taken by the remote code, or came back. */
  #settled = 0;
  #demand = 0;
  #itemsFrame: { type: "items"; name: string; seq: number; items: unknown[] } | undefined;
  #standing: QueueWait | undefined;
  /** Items the remote code took and has not marked done with a done frame. */
  #undone = 0;
  readonly #unwatch: (() => void)[];

  constructor(host: StreamHost, name: string, queue: Queue<T>, linkLabel: string) {
    this.#host = host;
    this.name = name;
    this.queue = queue;
    this.#access = queueAccess<T>(queue);
    this.credits = new Credits(host, name, queue, this.#access, linkLabel);
    this.#out = this.#access.newHold(`items sent on ${linkLabel} from "${name}"`);
    this.#unwatch = [
      this.#access.watchShutdown((immediate) => this.#shutdown(immediate)),
      // Drained is final: every remote consumer ends, whether it has a pull standing or not.
      this.#access.watchDrained(() => this.#end()),
    ];
  }

  get #outbox(): Outbox {
    return this.#host.outbox;
  }

  #push(frame: OwnerFrame): void {
    this.#outbox.push(frame);
  }

  // ---- items to the remote consumer ----

  /** The remote side wants `count` more items ahead. */
  pull(count: number): void {
    if (count > CREDIT_WINDOW * 4) throw new ProtocolError(`a pull of ${count} items`);
    // After `end` nothing more can come, and the remote side counts nothing on its way. A
    // side that pulls anyway had no proxy yet when `end` went out: it hears it again.
    if (this.#ended) {
      this.#push({ type: "end", name: this.name });
      return;
    }
    this.#demand += count;
    this.#pump();
  }

  /** A pump is queued for the end of the current step. */
  #pumpQueued = false;

  /**
   * Serves the rest of the demand once the step that handed the standing
   * get an item is over: the rest of a put batch is stored by then and
   * taken in one loop, where waiting in line again at once would be handed
   * it one item per wait (in two hops about a quarter of the owner's thread's
   * time per item). Items go out in the order they leave the queue either way.
   */
  #pumpAfterStep(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      if (!this.#host.closed) this.#pump();
    });
  }

  #pump(): void {
    while (this.#demand > 0 && this.#standing === undefined) {
      let taken: Taken<T> | undefined;
      try {
        taken = this.#access.takeHeld(this.#out);
      } catch (error) {
        this.#itemError(error);
        return;
      }
      if (taken === undefined) {
        let settled = false;
        const wait = this.#access.waitTake(this.#out, (next) => {
          settled = true;
          this.#standing = undefined;
          if (this.#send(next)) this.#pumpAfterStep();
        }, (error) => {
          settled = true;
          this.#standing = undefined;
          if (this.#host.closed) return;
          if (error instanceof QueueShutDown) this.#end();
          else this.#itemError(error);
        });
        if (!settled) this.#standing = wait;
        return;
      }
      if (!this.#send(taken)) return;
    }
  }

  /**
   * Sends an item taken for the link, in the step that took it, so items go
   * out in the order they left the queue. Returns false when it cannot cross:
   * it is back at the head and the get waiting for it rejects (W-3).
   */
  #send(taken: Taken<T>, answers?: number): boolean {
    const seq = this.#nextSeq++;
    let travelling: Travelling | undefined;
    try {
      const copy = postable(taken.item); // the verdict before the item joins a frame (W-3)
      if (copy instanceof Travelling) {
        this.#outbox.travel();
        travelling = copy;
      }
      if (answers !== undefined) {
        this.#push({ type: "result", id: answers, value: copy, seq });
      } else {
        const frame = this.#itemsFrame;
        // Items join this stream's frame while it is the last one queued and seqs run on.
        if (
          frame !== undefined && this.#outbox.last() === frame &&
          frame.seq + frame.items.length === seq
        ) {
          frame.items.push(copy);
          this.#outbox.added(1);
        } else {
          this.#itemsFrame = this.#outbox.push({
            type: "items",
            name: this.name,
            seq,
            items: [copy],
          });
        }
      }
    } catch (error) {
      this.#access.requeue(this.#out, [taken]);
      if (answers === undefined) this.#itemError(error, seq);
      else this.#push({ type: "error", id: answers, error: serializeError(error) });
      return false;
    }
    this.#sent.push({
      item: taken.item,
      stamp: taken.stamp,
      seq,
      direct: answers !== undefined,
      travelling,
    });
    if (answers === undefined) this.#demand--;
    return true;
  }

  /**
   * The next item cannot be sent: the get meant for it fails, and serving
   * stops until the remote side pulls again (else the same item would fail
   * again and again).
   */
  #itemError(error: unknown, seq = this.#nextSeq++): void {
    this.#push({
      type: "itemError",
      name: this.name,
      seq,
      error: serializeError(error),
      cancelled: this.#stopPulling(),
    });
  }

  #ended = false;

  #end(): void {
    if (this.#ended || this.#host.closed) return;
    this.#ended = true;
    this.#stopPulling();
    this.#push({ type: "end", name: this.name });
  }

  /** Drops the pull demand; returns how much there was. */
  #stopPulling(): number {
    const cancelled = this.#demand;
    this.#demand = 0;
    this.#standing?.cancel();
    this.#standing = undefined;
    return cancelled;
  }

  /** The remote side needs no more items for now: items already sent stay with it. */
  unpull(): void {
    this.#push({ type: "unpulled", name: this.name, cancelled: this.#stopPulling() });
  }

  /**
   * A remote `get` served here, in line with the local getters: its answer
   * travels as the next item of the stream. Cancelled through `options.signal`.
   */
  get(id: number, options: WaitOptions, settled: () => void): void {
    // The signal is the call's own: a cancel from the remote side, or the link's close.
    this.#access.waitTake(this.#out, (taken) => {
      settled();
      this.#send(taken, id);
    }, (error) => {
      settled();
      if (!this.#host.closed) this.#answerError(id, error, options.signal);
    }, options);
  }

  /**
   * A remote `get` answered at once when an item is stored (then no local
   * getter waits, so taking it now keeps the line); false when it must wait.
   */
  getAtHand(id: number): boolean {
    let taken: Taken<T> | undefined;
    try {
      taken = this.#access.takeHeld(this.#out);
    } catch (error) {
      this.#answerError(id, error);
      return true;
    }
    if (taken === undefined) return false;
    this.#send(taken, id);
    return true;
  }

  /** A remote `getNowait`. */
  getNowait(id: number): void {
    let taken: Taken<T> | undefined;
    try {
      taken = this.#access.takeHeld(this.#out);
    } catch (error) {
      this.#answerError(id, error);
      return;
    }
    if (taken !== undefined) this.#send(taken, id);
    else this.#answerError(id, this.#access.drained ? new QueueShutDown() : new QueueEmpty());
  }

  #answerError(id: number, error: unknown, signal?: AbortSignal): void {
    const cancelled = signal?.aborted === true && error === signal.reason;
    this.#push(
      cancelled
        ? { type: "error", id, error: serializeError(error), cancelled: true }
        : { type: "error", id, error: serializeError(error) },
    );
  }

  /** Every item before `seq` was taken by the remote code: their slots free. */
  ack(seq: number): void {
    this.#settle(seq, "ack");
  }

  #settle(seq: number, what: string): void {
    if (seq > this.#nextSeq) {
      throw new ProtocolError(
        `${what} of "${this.name}" before #${seq}: sent up to #${this.#nextSeq}`,
      );
    }
    // Seqs before `settled` were settled already (taken, or given back): nothing to do for them.
    let taken = 0;
    while (this.#sent.length > 0 && this.#sent.peekFront()!.seq < seq) {
      // Taken by the remote code: a value from the wire that only passed through here is gone.
      releaseTransit(this.#sent.shift()!.item);
      taken++;
    }
    if (seq > this.#settled) this.#settled = seq;
    this.#undone += taken;
    if (taken > 0) this.#access.release(this.#out, taken);
  }

  /**
   * The remote side took the items before `seq` and gives back every later
   * one it was sent ahead. Answers of its get calls stay: their callers take
   * them (unless the queue was discarded, when nobody will).
   */
  giveBack(
    seq: number,
    ends?: readonly (readonly [number, readonly (MessagePort | null)[]])[],
  ): void {
    this.#settle(seq, "return");
    // Answered before the items go back (in this same step; the remote side drops the ones still on
    // their way until it reads this): taking them back may drain the queue, and the `end` that
    // sends must follow the demand this answer drops (after `end` the remote side counts none).
    this.#push({ type: "returned", name: this.name, cancelled: this.#stopPulling() });
    const returned = new Map<number, readonly (MessagePort | null)[]>();
    for (const [at, ports] of ends ?? []) {
      const before = returned.get(at);
      returned.set(at, before === undefined ? ports : [...before, ...ports]);
      if (before !== undefined) {
        // Joined: the item takes its ends from the first, and what is left over is closed below.
        this.#host.report(new ProtocolError(`a return of "${this.name}" names #${at} twice`));
      }
    }
    this.#returnSent(!this.#access.discarding, returned);
    if (returned.size > 0) {
      // Ports for items that did not come back here: the consumer is not baton's, or broken.
      for (const ports of returned.values()) for (const port of ports) port?.close();
      this.#host.report(
        new ProtocolError(`a return of "${this.name}" with pipe ends of items not given back`),
      );
    }
  }

  /**
   * Every item sent and not taken goes back to the queue (but direct
   * answers, if `keepDirect`), with the pipe ends it carried: on the ports
   * `returned` holds for its seq (taken from it), else as ends whose other
   * end is gone.
   */
  #returnSent(keepDirect = false, returned?: Map<number, readonly (MessagePort | null)[]>): void {
    if (this.#sent.length === 0) return;
    const back: Sent<T>[] = [];
    const kept: Sent<T>[] = [];
    for (const sent of this.#sent) (keepDirect && sent.direct ? kept : back).push(sent);
    this.#sent.clear();
    for (const sent of kept) this.#sent.push(sent);
    const discarding = this.#access.discarding;
    for (const sent of back) {
      if (sent.travelling === undefined) continue;
      const ports = returned?.get(sent.seq);
      returned?.delete(sent.seq);
      reviveEnds(sent.travelling, ports, discarding); // discarding: closed, so their peers hear
    }
    this.#access.requeue(this.#out, back);
  }

  /** The remote code marked `count` items it took as done. */
  done(count: number): void {
    if (count > this.#undone) {
      throw new ProtocolError(`done of ${count} for "${this.name}": ${this.#undone} taken`);
    }
    this.#undone -= count;
    for (let i = 0; i < count; i++) this.queue.taskDone();
  }

  #shutdown(immediate: boolean): void {
    // Closing the link stops watching the queue's shutdown: a guard only.
    // deno-coverage-ignore
    if (this.#host.closed) return;
    this.credits.shutdown(() => this.#push({ type: "shutdown", name: this.name, immediate }));
  }

  /**
   * The link closed. Credits and pulls end now. Items sent and not yet
   * taken stay held until `finish()`: the remote side's acks for items its
   * code took before it heard of the close may still come, and those must
   * not come back as well (exactly once).
   */
  close(): void {
    for (const unwatch of this.#unwatch) unwatch();
    this.#stopPulling();
    this.credits.close();
  }

  /**
   * The remote side has heard of the close (or is gone): what it was sent
   * and did not take goes back to the head of the queue, in order (W-8).
   */
  finish(): void {
    this.#returnSent();
    this.credits.finish();
    this.#access.dropHold(this.#out);
  }
}
