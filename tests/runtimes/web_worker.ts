/**
 * The producer/consumer run on Web Workers (Bun's `Worker`, a browser's):
 * the main thread serves a queue to a module worker running
 * `web_child.ts`, which connects on its `self` and puts the items and the
 * W-3 probes of `scenario.ts`. `deno task test:runtimes` bundles both sides
 * and runs this on Bun and in headless Chromium.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { Lock, Queue } from "../../mod.ts";
import { LinkClosed, serve } from "../../src/worker/mod.ts";
import { consume, RUN_DEADLINE_MS } from "./scenario.ts";

/** One check, run in the main thread; `child` is the URL of the bundled `web_child.ts`. */
export interface WebCheck {
  name: string;
  run(child: URL): Promise<void>;
}

/** The checks, in the order they run. */
export const checks: WebCheck[] = [
  {
    name:
      "W-15: a Queue served to a Web Worker gets every item the worker puts through self exactly once, in order; W-3: what the platform cannot clone rejects its put",
    async run(child) {
      const jobs = new Queue<unknown>(16);
      const worker = new Worker(child, { type: "module" });
      worker.postMessage({ role: "producer" });
      const link = serve(worker, { jobs });
      try {
        await consume(jobs);
      } finally {
        link.close();
        worker.terminate();
      }
      if (jobs.qsize() !== 0) throw new Error(`${jobs.qsize()} items more than were put`);
    },
  },
  {
    name:
      "W-9: a Web Worker that throws holding a Lock ends its link: the Lock passes to the next waiter and the release is reported",
    async run(child) {
      const lock = new Lock();
      const reports: unknown[] = [];
      const worker = new Worker(child, { type: "module" });
      worker.postMessage({ role: "holder" });
      // The worker's error is expected: handled here, so it is not the page's.
      worker.addEventListener("error", (event) => event.preventDefault());
      const link = serve(worker, { lock }, { onError: (error) => reports.push(error) });
      try {
        // The worker says "held" (its own message, which baton ignores: W-4), and throws when told.
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error("the worker never held the lock")),
            RUN_DEADLINE_MS,
          );
          const onMessage = (event: MessageEvent) => {
            if (event.data !== "held") return;
            clearTimeout(timer);
            worker.removeEventListener("message", onMessage);
            resolve();
          };
          worker.addEventListener("message", onMessage);
        });
        assert(lock.locked(), "the worker holds the lock");
        const next = lock.acquire({ timeout: RUN_DEADLINE_MS });
        worker.postMessage("throw now");
        assertEquals(await next, true, "the lock went to the next waiter");
        assertEquals(reports.length, 1, "one release reported");
        assertInstanceOf(reports[0], LinkClosed);
        assert(String((reports[0] as Error).message).includes('"lock"'), String(reports[0]));
        lock.release();
      } finally {
        link.close();
        worker.terminate();
      }
    },
  },
];
