/**
 * What bench/worker_bench.ts and its workers (bench/_worker_agent.ts) agree
 * on: the items, their checksum, the control messages and the shared clock.
 *
 * @module
 */

/** The two item shapes every throughput case is run with. */
export type Kind = "numbers" | "objects";

/** A small object, the shape a real job message might have. */
export interface SmallObject {
  id: number;
  v: string;
}

/** Item `i` of a run: the number `i`, or `{ id: i, v: "x" }`. */
export function item(kind: Kind, i: number): number | SmallObject {
  return kind === "numbers" ? i : { id: i, v: "x" };
}

/** The id an item was made from, for the checksum. */
export function idOf(value: unknown): number {
  return typeof value === "number" ? value : (value as SmallObject).id;
}

/**
 * Checksums are kept below 2^30 so they stay small integers (a sum past that
 * would cost an allocation per item in an async loop).
 */
export const CHECKSUM_MASK = 0x3fffffff;

/** The checksum of the ids `0 .. count - 1`, as the consumers compute it. */
export function expectedChecksum(count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum = (sum + i) & CHECKSUM_MASK;
  return sum;
}

/**
 * A control message between the main thread and an agent. They are plain
 * objects under the `bench` key, so they never look like baton's envelopes
 * (which baton's listeners then ignore, W-4) nor like raw data.
 */
export type Control =
  | { bench: "command"; command: unknown; origin: number }
  | { bench: "go" }
  | { bench: "end" }
  | { bench: "warmed" }
  | { bench: "ready" }
  | { bench: "result"; value: unknown }
  | { bench: "error"; message: string };

/** Whether a message is one of the bench's control messages. */
export function isControl(data: unknown): data is Control {
  return typeof data === "object" && data !== null && "bench" in data;
}

/**
 * A clock shared by every thread: milliseconds since the main thread's time
 * origin. `performance.timeOrigin + performance.now()` agree across Deno's
 * threads to about a microsecond (the latency case measures and prints the
 * skew); subtracting the main thread's origin keeps the doubles small and
 * their resolution fine.
 */
export function sharedClock(mainOrigin: number): () => number {
  const offset = performance.timeOrigin - mainOrigin;
  return () => offset + performance.now();
}
