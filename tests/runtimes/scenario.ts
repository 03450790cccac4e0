/**
 * The producer/consumer run shared by the runtime checks (Node
 * `worker_threads`, Bun and browser Web Workers, Deno's `node:worker_threads`):
 * a worker connects to a queue served by the main thread and puts `ITEMS`
 * items, then one probe value of each kind whose crossing only the platform's
 * structured clone can judge (W-3), each followed by a marker saying what the
 * platform's `structuredClone` made of it and what the put did. The main
 * thread takes everything and checks: every item exactly once and in order,
 * and each probe's put resolved exactly when the platform could clone it
 * (delivering what the platform's clone gives) and else rejected with the
 * platform's error.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import type { Queue } from "../../mod.ts";
import type { QueueLike } from "../../src/worker/mod.ts";

/** Items each producer puts. */
export const ITEMS = 3000;

/** A deadline for one whole run: a broken adapter fails instead of hanging. */
export const RUN_DEADLINE_MS = 60_000;

/** One item of the run. */
export interface Item {
  n: number;
  text: string;
}

/** What the worker reports after each probe. */
export interface Marker {
  probe: number;
  /** `"ok"` or the name of the error the platform's `structuredClone` threw. */
  clone: string;
  /** `"ok"` or the name of the error the remote `put` rejected with. */
  put: string;
  /** The platform's clone of the probe, when it could make one. */
  cloned?: unknown;
}

/** Values whose crossing is for the platform to decide (W-3). */
export function probes(): unknown[] {
  return [
    { label: "holds a function", fn: () => 1 },
    { label: "holds a URL", url: new URL("https://example.org/a?b=1") },
    { label: "plain data", when: new Date(0), tags: new Set(["x"]), sizes: new Map([["a", 1]]) },
    { label: "holds a symbol", symbol: Symbol("s") },
  ];
}

function outcomeOf(run: () => unknown): { name: string; value?: unknown } {
  try {
    return { name: "ok", value: run() };
  } catch (error) {
    return { name: (error as Error)?.name ?? String(error) };
  }
}

/** The worker's part: put the items in order, then each probe and its marker. */
export async function produce(jobs: QueueLike<unknown>): Promise<void> {
  for (let n = 0; n < ITEMS; n++) await jobs.put({ n, text: `item ${n}` } satisfies Item);
  const values = probes();
  for (let probe = 0; probe < values.length; probe++) {
    const clone = outcomeOf(() => structuredClone(values[probe]));
    let put = "ok";
    try {
      await jobs.put(values[probe]);
    } catch (error) {
      put = (error as Error)?.name ?? String(error);
    }
    const marker: Marker = { probe, clone: clone.name, put };
    if (clone.name === "ok") marker.cloned = clone.value;
    await jobs.put(marker);
  }
}

/** The main thread's part: takes and checks everything the producer sends. */
export async function consume(jobs: Queue<unknown>): Promise<void> {
  const options = { timeout: RUN_DEADLINE_MS };
  for (let n = 0; n < ITEMS; n++) {
    assertEquals(await jobs.get(options), { n, text: `item ${n}` }, `item ${n}`);
  }
  const count = probes().length;
  for (let probe = 0; probe < count; probe++) {
    const received: unknown[] = [];
    let marker: Marker | undefined;
    while (marker === undefined) {
      const item = await jobs.get(options);
      if (isMarker(item)) marker = item;
      else received.push(item);
    }
    assertEquals(marker.probe, probe, "markers arrive in order");
    // W-3: the put resolved exactly when the platform could clone the value,
    // and then what arrived is what the platform's clone gives.
    assertEquals(marker.put, marker.clone, `probe ${probe}: put outcome vs structuredClone`);
    assertEquals(
      received,
      marker.clone === "ok" ? [marker.cloned] : [],
      `probe ${probe} delivered`,
    );
  }
}

function isMarker(item: unknown): item is Marker {
  return typeof item === "object" && item !== null && "probe" in item && "put" in item;
}
