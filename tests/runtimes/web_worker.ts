/**
 * The producer/consumer run on Web Workers (Bun's `Worker`, a browser's):
 * the main thread serves a queue to a module worker running
 * `web_child.ts`, which connects on its `self` and puts the items and the
 * W-3 probes of `scenario.ts`. `deno task test:runtimes` bundles both sides
 * and runs this on Bun and in headless Chromium.
 *
 * @module
 */

import { Queue } from "../../mod.ts";
import { serve } from "../../src/worker/mod.ts";
import { consume } from "./scenario.ts";

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
];
