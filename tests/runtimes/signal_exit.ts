/**
 * Conventions on every runtime: a wait whose only deadline is
 * `AbortSignal.timeout()` settles with the signal's reason. On Node the
 * signal's timer does not keep the process alive, so baton's wait does
 * (`src/_waiters.ts`). This file must run as a process of its own, with
 * nothing else holding the event loop: if a wait let the process end, the
 * closing count line is missing and the exit code is not 0.
 *
 * @module
 */

import { Barrier, Condition, Event, Lock, Queue, Semaphore } from "../../mod.ts";

/** Each case starts a wait that only `signal` can end. */
const cases: [string, (signal: AbortSignal) => Promise<unknown>][] = [
  ["Queue.get on an empty queue", (signal) => new Queue<number>().get({ signal })],
  ["Queue.put on a full queue", async (signal) => {
    const queue = new Queue<number>(1);
    queue.putNowait(1);
    await queue.put(2, { signal });
  }],
  ["Queue.join with an unfinished task", async (signal) => {
    const queue = new Queue<number>();
    queue.putNowait(1);
    await queue.join({ signal });
  }],
  ["Lock.acquire on a held lock", async (signal) => {
    const lock = new Lock();
    await lock.acquire();
    await lock.acquire({ signal });
  }],
  ["Condition.wait", async (signal) => {
    const condition = new Condition();
    await condition.acquire();
    await condition.wait({ signal });
  }],
  ["Event.wait", (signal) => new Event().wait({ signal })],
  ["Semaphore.acquire at zero", (signal) => new Semaphore(0).acquire({ signal })],
  ["Barrier.wait short of its parties", (signal) => new Barrier(2).wait({ signal })],
];

let passed = 0;
let failed = 0;
for (const [name, start] of cases) {
  const signal = AbortSignal.timeout(20);
  let outcome: string;
  try {
    await start(signal);
    outcome = "resolved";
  } catch (error) {
    outcome = error === signal.reason ? "reason" : `rejected with ${String(error)}`;
  }
  if (outcome === "reason") {
    passed++;
  } else {
    failed++;
    console.log(`FAILED Conventions: ${name} with AbortSignal.timeout(): ${outcome}`);
  }
}
const scope = globalThis as {
  Bun?: { version: string };
  Deno?: { version: { deno: string } };
  process?: { versions: { node: string } };
};
const runtime = scope.Bun !== undefined
  ? `bun ${scope.Bun.version}`
  : scope.Deno !== undefined
  ? `deno ${scope.Deno.version.deno}`
  : `node ${scope.process?.versions.node}`;
console.log(`${runtime} AbortSignal.timeout() waits: ${passed} passed, ${failed} failed`);
