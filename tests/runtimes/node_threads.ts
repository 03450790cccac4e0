/**
 * W-15 with real Node threads: `serve` and `connect` take Node's
 * `worker_threads` `Worker`, `MessagePort` and `parentPort` as they are.
 *
 * The checks run in the main thread; this same module is the worker (it
 * runs its part when loaded off the main thread with baton's `workerData`).
 * `tests/node_worker_test.ts` runs them on Deno's `node:worker_threads`, and
 * `deno task test:runtimes` bundles them and runs them on Node and Bun.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from "node:worker_threads";
import { Lock, Queue } from "../../mod.ts";
import { connect, LinkClosed, serve } from "../../src/worker/mod.ts";
import { consume, produce, RUN_DEADLINE_MS } from "./scenario.ts";

/** What the main thread tells the worker to do. */
type Job =
  | { baton: "producer" }
  | { baton: "producer-port"; port: MessagePort }
  | { baton: "holder" }
  | { baton: "getter" };

/** Resolves with the first message `worker` posts of its own (baton ignores them, W-4), or its exit. */
function said(worker: Worker, ended: Promise<number>, word: string): Promise<string> {
  let onMessage!: (data: unknown) => void;
  const heard = new Promise<string>((resolve) => {
    onMessage = (data) => {
      if (data === word) resolve(word);
    };
    worker.on("message", onMessage);
  });
  return Promise.race([heard, ended.then((code) => `exit ${code}`)]).finally(() =>
    worker.off("message", onMessage)
  );
}

/** One check, run in the main thread; `module` is where this file's worker part is. */
export interface Check {
  name: string;
  run(module: URL): Promise<void>;
  /** Why Deno's `node:worker_threads` cannot run it, if it cannot. */
  notOnDeno?: string;
  /** It waits for the worker thread to exit by itself. */
  waitsForExit?: boolean;
}

function start(module: URL, job: Job, transferList: MessagePort[] = []): Worker {
  return new Worker(module, { workerData: job, transferList });
}

/** Resolves with the exit code once `worker` has ended (bounded). */
function exited(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`the worker did not end within ${RUN_DEADLINE_MS} ms`));
    }, RUN_DEADLINE_MS);
    worker.once("exit", (code: number) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The checks, in the order they run. */
export const checks: Check[] = [
  {
    name:
      "W-15: a Queue served to a worker_threads Worker gets every item put through parentPort exactly once, in order; W-3: what the platform cannot clone rejects its put",
    waitsForExit: true,
    async run(module) {
      const jobs = new Queue<unknown>(16);
      const worker = start(module, { baton: "producer" });
      const ended = exited(worker);
      const link = serve(worker, { jobs });
      try {
        await consume(jobs);
        assertEquals(await ended, 0);
        assertEquals(jobs.qsize(), 0, "nothing more than what was put");
      } finally {
        link.close();
        await worker.terminate();
      }
    },
  },
  {
    name:
      "W-15: a Queue served on a Node MessagePort gets every item put from the worker's end exactly once, in order",
    waitsForExit: true,
    async run(module) {
      const jobs = new Queue<unknown>(16);
      const { port1, port2 } = new MessageChannel();
      const worker = start(module, { baton: "producer-port", port: port2 }, [port2]);
      const ended = exited(worker);
      const link = serve(port1, { jobs });
      try {
        await consume(jobs);
        assertEquals(await ended, 0);
        assertEquals(jobs.qsize(), 0, "nothing more than what was put");
      } finally {
        link.close();
        port1.close();
        await worker.terminate();
      }
    },
  },
  {
    name:
      "W-15/W-9: a worker_threads Worker that exits holding a Lock ends its link: the Lock passes to the next waiter and the release is reported",
    async run(module) {
      const lock = new Lock();
      const reports: unknown[] = [];
      const worker = start(module, { baton: "holder" });
      const ended = exited(worker);
      const link = serve(worker, { lock }, { onError: (error) => reports.push(error) });
      try {
        assertEquals(await said(worker, ended, "held"), "held");
        assert(lock.locked(), "the worker holds the lock");
        const next = lock.acquire({ timeout: RUN_DEADLINE_MS });
        worker.postMessage("exit now");
        assertEquals(await ended, 3);
        assertEquals(await next, true, "the lock went to the next waiter");
        assertEquals(reports.length, 1, "one release reported");
        assertInstanceOf(reports[0], LinkClosed);
        assert(String((reports[0] as Error).message).includes('"lock"'), String(reports[0]));
        lock.release();
      } finally {
        link.close();
        await worker.terminate();
      }
    },
  },
  {
    name:
      "W-15/W-6: a worker_threads Worker that throws ends its link: the get it left pending takes no later item",
    notOnDeno:
      "Deno 2.9 reports a node:worker_threads Worker's uncaught error as the main program's own, 'error' listener or not",
    async run(module) {
      const jobs = new Queue<number>();
      const errors: unknown[] = [];
      const worker = start(module, { baton: "getter" });
      worker.on("error", (error) => errors.push(error)); // else Node ends this process too
      const ended = exited(worker);
      const link = serve(worker, { jobs }, { onError: () => {} });
      try {
        // Its get left before "waiting" (baton posts what it queued before the program's own message).
        assertEquals(await said(worker, ended, "waiting"), "waiting");
        worker.postMessage("throw now");
        assertEquals(await ended, 1);
        assertEquals(errors.length, 1, "the worker's error reached its 'error' listeners");
        jobs.putNowait(7);
        assertEquals(jobs.qsize(), 1, "the dead worker's get took nothing");
        assertEquals(jobs.getNowait(), 7);
      } finally {
        link.close();
        await worker.terminate();
      }
    },
  },
];

async function work(job: Job): Promise<void> {
  const port = parentPort!;
  if (job.baton === "producer") {
    const remote = await connect<{ jobs: Queue<unknown> }>(port);
    await produce(remote.jobs);
    await remote.close();
  } else if (job.baton === "producer-port") {
    const remote = await connect<{ jobs: Queue<unknown> }>(job.port);
    await produce(remote.jobs);
    await remote.close();
    job.port.close();
  } else if (job.baton === "holder") {
    const remote = await connect<{ lock: Lock }>(port);
    await remote.lock.acquire();
    // Told to, ends the thread at once with the lock still held: only the owner can give it back.
    port.on("message", (data: unknown) => {
      if (data === "exit now") {
        (globalThis as { process?: { exit(code: number): never } }).process!.exit(3);
      }
    });
    port.postMessage("held");
  } else if (job.baton === "getter") {
    const remote = await connect<{ jobs: Queue<number> }>(port, { prefetch: 0 });
    remote.jobs.get().catch(() => {});
    port.on("message", (data: unknown) => {
      if (data === "throw now") throw new Error("the worker fails with a get pending");
    });
    port.postMessage("waiting");
  }
}

if (!isMainThread && typeof (workerData as Partial<Job> | undefined)?.baton === "string") {
  await work(workerData as Job);
}
