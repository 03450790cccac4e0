/**
 * The outbox of one peer: it collects the frames of one burst of work into
 * one envelope (`wire.ts` has their shapes) and decides when it leaves. See
 * `PROTOCOL.md`, "Envelopes". Internal.
 *
 * @module
 */

import { encodeFrames } from "./travel.ts";
import { type Endpoint, type Envelope, type Frame, TAG, VERSION } from "./wire.ts";

/** Runs `task` after the current turn's microtasks: a few µs, unlike `setTimeout(0)`. */
export const afterTurn: (task: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (task: () => void) => unknown }).setImmediate;
  if (typeof immediate === "function") return (task: () => void) => void immediate(task);
  return (task: () => void) => void setTimeout(task, 0);
})();

/**
 * Items an envelope holds before it is posted at once, not at the end of the
 * turn: small enough that a consumer starts on one batch while its producer
 * fills the next (measured best between 128 and 512 here).
 */
const MAX_BATCH = 256;

/**
 * A frame queued when nothing was posted for this long (ms), nor heard
 * since, leaves unless more are queued in the same step: a put or a call on
 * an idle link waits one microtask, not three. Streams post far more often.
 */
const IDLE_MS = 0.5;

/** Microtasks without a new frame or item after which a batch leaves at once. */
const QUIET_TICKS = 3;
/** Microtasks a batch is watched for before it is left to the end of the turn. */
const MAX_PROBES = 32;

/** Frames to post, with the ports they move. */
interface Pending {
  frame: Frame;
  transfer?: Transferable[];
}

/**
 * Collects the frames of one burst of work into one envelope, posted once
 * the program has gone idle (`#probe`), after one microtask when the link
 * was quiet ({@linkcode IDLE_MS}) or a caller waits (`hurry`), when the
 * reading of an envelope ends if it was answered (`postAnswers`), at once
 * past {@linkcode MAX_BATCH} items or on `flush()`, and at the end of the
 * turn at the latest. Items
 * are checked before they join a frame (see `clone.ts`), so a post that
 * throws is a fault of the endpoint, reported and never retried.
 */
export class Outbox {
  #endpoint: Endpoint;
  #post: (message: unknown, transfer: Transferable[]) => void;
  #peer: string;
  #seq = 0;
  #frames: Pending[] = [];
  /** The last frame queued, while unsent (read on every put: kept, not looked up). */
  #last: Frame | undefined;
  #count = 0;
  /** A post at the end of the turn is scheduled. */
  #turnScheduled = false;
  /** A post at the end of the turn will be scheduled in a microtask or two. */
  #turnSoon = false;
  /** A microtask of the watch (see `#probe`) is queued. */
  #probing = false;
  /** The watch gave up on this batch: it leaves at MAX_BATCH or the end of the turn. */
  #gaveUp = false;
  /** This batch began after a quiet spell: it leaves after one microtask (or `postIfIdle`). */
  #idleBatch = false;
  /** Counts every frame queued and every change to a queued one: the probe's clock. */
  #activity = 0;
  #seen = 0;
  #quiet = 0;
  #probes = 0;
  /** When the last envelope was posted (ms). */
  #lastPost = -Infinity;
  /** An envelope arrived since the last post. */
  #heard = false;
  /** Called at the next flush, before it posts: last-moment frames (credit top-ups). */
  #beforeFlush: (() => void)[] = [];
  #closed = false;
  /** A frame queued now holds a travelling copy (`Travelling`): the flush encodes it. */
  #travel = false;
  /** A queued frame answers a call: its caller waits (`postAnswers`). */
  #answers = false;
  #onError: (error: unknown) => void;

  constructor(
    endpoint: Endpoint,
    peer: string,
    post: (message: unknown, transfer: Transferable[]) => void,
    onError: (error: unknown) => void,
  ) {
    this.#endpoint = endpoint;
    this.#post = post;
    this.#peer = peer;
    this.#onError = onError;
  }

  /** Whether nothing is waiting to be posted. */
  get empty(): boolean {
    return this.#frames.length === 0 && this.#beforeFlush.length === 0;
  }

  /**
   * Queues a frame for this turn's envelope; returns it, so items can be
   * appended while unsent. It leaves as soon as the program goes idle (see
   * `#probe`), unless it is `lazy`: then it rides with the next frame, or
   * leaves at the end of the turn (acknowledgements, done counts).
   */
  push<F extends Frame>(frame: F, transfer?: Transferable[], lazy = false): F {
    // Both sides stop pushing before their outbox closes: a guard against a late callback.
    // deno-coverage-ignore
    if (this.#closed) return frame;
    const pending: Pending = { frame };
    if (transfer !== undefined && transfer.length > 0) pending.transfer = transfer;
    this.#frames.push(pending);
    this.#last = frame;
    if (frame.type === "result" || frame.type === "error") this.#answers = true;
    this.#added(1, lazy);
    return frame;
  }

  /** The last frame queued, while it is unsent: items of the same stream join it. */
  last(): Frame | undefined {
    return this.#last;
  }

  /**
   * Appends `item` to `frame` when it is the last frame queued and unsent
   * (the items of one stream join one frame); false when it is not.
   */
  append(frame: { items: unknown[] } | undefined, item: unknown): boolean {
    if (frame === undefined || frame !== this.#last) return false;
    frame.items.push(item);
    this.#added(1);
    return true;
  }

  /** Says that a frame queued now holds a travelling copy (W-14). */
  travel(): void {
    this.#travel = true;
  }

  /** Counts `n` items appended to an unsent frame. */
  added(n: number): void {
    this.#added(n);
  }

  /**
   * Posts now when this batch began on a quiet link ({@linkcode IDLE_MS}):
   * for a caller at the end of a step that queued one request (a put, a
   * call). Never call it in the middle of a state change.
   */
  postIfIdle(): void {
    if (this.#idleBatch) this.flush();
  }

  /**
   * Posts now when a queued frame answers a call: for the end of reading an
   * envelope, so the answers its calls got at once leave together, without
   * waiting for the program to go idle.
   */
  postAnswers(): void {
    if (this.#answers) this.flush();
  }

  /** A caller waits for what was just queued: the batch leaves after one quiet microtask. */
  hurry(): void {
    if (this.#frames.length === 0) return;
    this.#gaveUp = false;
    this.#startProbe(); // a no-op while the watch runs
    this.#quiet = QUIET_TICKS - 1;
  }

  /** An envelope arrived: the link is not quiet (a producer resumed by credit keeps batching). */
  heard(): void {
    this.#heard = true;
  }

  /** Notes a change made in place to an unsent frame (an ack's seq, a done count). */
  touch(): void {
    this.#activity++;
  }

  /**
   * Calls `hook` at the next flush (the end of the turn at the latest),
   * before the envelope is posted, so what it pushes goes with it.
   */
  beforeFlush(hook: () => void): void {
    // deno-coverage-ignore
    if (this.#closed) return;
    this.#beforeFlush.push(hook);
    // At the end of the turn, as late as it can: a credit top-up then finds the most free slots.
    this.#scheduleTurn();
  }

  #added(count: number, lazy = false): void {
    this.#activity++;
    this.#count += count;
    if (this.#count >= MAX_BATCH) {
      this.flush();
      return;
    }
    if (lazy) this.#scheduleTurnSoon();
    else if (!this.#probing && !this.#gaveUp) {
      // The first frame after a quiet spell has nothing to wait for: it leaves after the
      // synchronous step that queued it (never inside it: its caller may not be done).
      this.#startProbe(
        this.#frames.length === 1 && !this.#heard && performance.now() - this.#lastPost > IDLE_MS,
      );
    }
  }

  /** The end-of-turn post, scheduled two microtasks later: not on the path of a get's answer. */
  #scheduleTurnSoon(): void {
    if (this.#turnScheduled || this.#turnSoon) return;
    this.#turnSoon = true;
    queueMicrotask(this.#turnSoonStep);
  }

  #turnSoonStep = (): void => queueMicrotask(this.#turnSoonDone);

  #turnSoonDone = (): void => {
    this.#turnSoon = false;
    if (!this.empty) this.#scheduleTurn();
  };

  /** Posts at the end of the turn (unless posted before). */
  #scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    afterTurn(this.#endOfTurn);
  }

  #endOfTurn = (): void => {
    this.#turnScheduled = false;
    this.flush();
  };

  #startProbe(idle = false): void {
    if (this.#probing) return;
    this.#probing = true;
    this.#quiet = idle ? QUIET_TICKS - 1 : 0;
    this.#idleBatch = idle;
    this.#probes = 0;
    this.#seen = this.#activity;
    queueMicrotask(this.#probe);
  }

  /**
   * Watches the microtasks after the first frame of a batch: once nothing
   * was queued for {@linkcode QUIET_TICKS} of them, the program has gone
   * idle (it awaits a timer, an event, an answer) and the batch leaves now,
   * not at the end of the turn: scheduling that alone costs a thread coming
   * back from idle about 20 µs here, and it runs tens of µs later. A program
   * that keeps queueing (a put loop) is left to {@linkcode MAX_BATCH} and
   * the end of the turn: the watch gives up after {@linkcode MAX_PROBES}.
   */
  #probe = (): void => {
    this.#probing = false;
    if (this.empty || this.#closed) return;
    if (this.#activity !== this.#seen) {
      this.#seen = this.#activity;
      this.#quiet = 0;
    } else if (++this.#quiet >= QUIET_TICKS) {
      this.flush();
      return;
    }
    if (++this.#probes < MAX_PROBES) {
      this.#probing = true;
      queueMicrotask(this.#probe);
      return;
    }
    this.#gaveUp = true;
    // A busy program: the batch leaves at MAX_BATCH or the end of the turn, unwatched (a
    // watch per microtask would cost a busy producer a second microtask per put).
    this.#scheduleTurn();
  };

  /** Posts what is queued now; returns false when the endpoint refused it (reported). */
  flush(): boolean {
    while (this.#beforeFlush.length > 0) {
      const pending = this.#beforeFlush;
      this.#beforeFlush = [];
      for (const hook of pending) hook();
    }
    if (this.#frames.length === 0 || this.#closed) return true;
    const pending = this.#frames;
    this.#frames = [];
    this.#last = undefined;
    this.#count = 0;
    this.#gaveUp = false;
    this.#idleBatch = false;
    this.#answers = false;
    this.#probes = 0;
    const transfer: Transferable[] = [];
    for (const { transfer: moved } of pending) if (moved !== undefined) transfer.push(...moved);
    const envelope: Envelope = {
      [TAG]: VERSION,
      peer: this.#peer,
      seq: this.#seq,
      frames: pending.map((entry) => entry.frame),
    };
    if (this.#travel) {
      this.#travel = false;
      envelope.travel = true;
      encodeFrames(envelope.frames, transfer);
    }
    try {
      this.#post.call(this.#endpoint, envelope, transfer);
    } catch (error) {
      this.#onError(error);
      return false;
    }
    this.#seq++;
    this.#lastPost = performance.now();
    this.#heard = false;
    return true;
  }

  /** Stops posting; what is queued is dropped. */
  close(): void {
    this.#closed = true;
    this.#beforeFlush = [];
    this.#frames = [];
    this.#last = undefined;
  }
}
