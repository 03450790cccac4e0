/**
 * The work a Redis queue batches: puts, hand-outs, taskDones, items a
 * blocked get moved, shutdown markers to give back and the ends of blocked
 * waits for a slot, sent as one script call, and the calls in flight whose failure the next `flush()` reports.
 * Internal: `RedisQueue` owns one.
 *
 * @module
 */

/** Ops sent in one script call, at most: a full batch is sent at once. */
const MAX_BATCH = 128;

/** What a batch needs from its queue. */
export interface BatchHooks {
  /** Runs the script's `batch` operation with these ops. */
  call(ops: (string | number)[]): Promise<unknown>;
  /** The script's reply to a batch. */
  onReply(reply: unknown): void;
  /** Called after each send. */
  onSent(): void;
  /** Asks the client to flush this queue soon. */
  schedule(): void;
}

/** One queue's batched ops, in the order {@linkcode Batch.send} sends them. */
export class Batch {
  readonly #hooks: BatchHooks;
  #failure: unknown = undefined;
  #moved = 0;
  #markItems = false;
  #markSlots = false;
  #unwaited = 0;
  #puts: string[] = [];
  #returned = 0;
  #done = 0;
  readonly #sending = new Set<Promise<void>>();

  constructor(hooks: BatchHooks) {
    this.#hooks = hooks;
  }

  /** Ops waiting to be sent (puts, hand-outs and taskDones), for the inspect view. */
  get size(): number {
    return this.#puts.length + this.#returned + this.#done;
  }

  /**
   * Batches one op: `p` a put (its encoded item), `r` an item handed to the
   * caller (its slot goes back), `d` a taskDone, `w` an item a blocked get
   * moved, `m`/`M` a shutdown marker to give back (items/slots), `u` the end
   * of a blocked wait for a slot (the server counted it as blocked).
   */
  add(op: "p" | "r" | "d" | "w" | "m" | "M" | "u", text?: string): void {
    switch (op) {
      case "p":
        this.#puts.push(text!);
        break;
      case "r":
        this.#returned++;
        break;
      case "d":
        this.#done++;
        break;
      case "w":
        this.#moved++;
        break;
      case "m":
        this.#markItems = true;
        break;
      case "M":
        this.#markSlots = true;
        break;
      case "u":
        this.#unwaited++;
        break;
    }
    // a full batch goes at once; the rest on the client's flush timer
    if (this.#puts.length + this.#returned + this.#done >= MAX_BATCH) this.send();
    else this.#hooks.schedule();
  }

  /**
   * Sends the batch as one script call. Within a batch, moved items come
   * first (they become prefetched before they are handed out), then puts,
   * then hand-outs, then taskDones: a taskDone never runs ahead of a put made
   * before it, so `join` never wakes early.
   */
  send(): void {
    const ops: (string | number)[] = [];
    if (this.#moved > 0) ops.push("W", this.#moved);
    if (this.#markItems) ops.push("m");
    if (this.#markSlots) ops.push("M");
    if (this.#unwaited > 0) ops.push("U", this.#unwaited);
    if (this.#puts.length > 0) ops.push("P", this.#puts.length, ...this.#puts);
    if (this.#returned > 0) ops.push("R", this.#returned);
    if (this.#done > 0) ops.push("D", this.#done);
    if (ops.length === 0) return;
    this.#moved = this.#returned = this.#done = 0;
    this.#unwaited = 0;
    this.#markItems = this.#markSlots = false;
    this.#puts = [];
    this.track(this.#hooks.call(ops).then((reply) => this.#hooks.onReply(reply)));
    this.#hooks.onSent();
  }

  /** Keeps a call in flight until it settles; its failure is thrown by the next `flush()`. */
  track(call: Promise<unknown>): void {
    const sending: Promise<void> = call.then(
      () => {},
      (error) => this.fail(error),
    ).finally(() => this.#sending.delete(sending));
    this.#sending.add(sending);
  }

  /** Keeps the first failure for the next `flush()`. */
  fail(error: unknown): void {
    this.#failure ??= error;
  }

  /** The client was reaped: hand-outs and taskDones batched about its old items are void. */
  forgetHandedOut(): void {
    this.#returned = 0;
    this.#done = 0;
  }

  /** Sends what was batched and waits for every call in flight; throws the first failure. */
  async flush(): Promise<void> {
    this.send();
    while (this.#sending.size > 0) await Promise.all([...this.#sending]);
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      throw failure;
    }
  }
}
