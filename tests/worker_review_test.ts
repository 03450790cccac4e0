/**
 * A user's review of the cross-worker layer against API.md: rule
 * combinations the other worker tests do not reach, each through the public
 * API (serve/connect over a MessageChannel in this thread, or real workers).
 *
 * @module
 */

import { assertEquals, assertRejects } from "@std/assert";
import { Condition, Queue } from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";
import { flush, withRemote } from "./_helpers.ts";

Deno.test("W-9/C-1: a remote Condition wait without the lock rejects Error before a bad timeout or an aborted signal", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote) => {
    const aborted = AbortSignal.abort(new TypeError("mine"));
    // Misuse wins over a bad argument and over an aborted signal, as locally.
    await assertRejects(() => condition.wait({ timeout: NaN }), Error, "without holding");
    await assertRejects(() => remote.condition.wait({ timeout: NaN }), Error, "without holding");
    await assertRejects(() => remote.condition.wait({ timeout: -1 }), Error, "without holding");
    await assertRejects(() => remote.condition.wait({ signal: aborted }), Error, "without holding");
    // Held through the link: the argument's own outcome, and the lock stays held.
    assertEquals(await remote.condition.acquire(), true);
    await assertRejects(() => remote.condition.wait({ timeout: NaN }), RangeError);
    await assertRejects(() => remote.condition.wait({ signal: aborted }), TypeError, "mine");
    assertEquals(condition.locked(), true);
    await remote.condition.release();
    assertEquals(condition.locked(), false);
  });
});

Deno.test("W-9/C-1: a remote waitFor needs the lock through this link, not merely a locked lock", async () => {
  const condition = new Condition();
  await withRemote({ condition }, async (remote) => {
    await condition.acquire(); // held in the owner's thread, not through the link
    let calls = 0;
    await assertRejects(
      () => remote.condition.waitFor(() => ++calls > 0),
      Error,
      "without holding",
    );
    assertEquals(calls, 0, "the predicate is not run without the lock");
    await assertRejects(
      () => remote.condition.waitFor(() => true, { timeout: NaN }),
      Error,
      "without holding",
    );
    condition.release();
    assertEquals(await remote.condition.acquire(), true);
    assertEquals(await remote.condition.waitFor(() => "ready"), "ready");
    await remote.condition.release();
  });
});

Deno.test("W-2: an item a cancelled stream read kept still needs valid options: RangeError or the aborted signal, and it stays", async () => {
  const { port1, port2 } = new MessageChannel();
  const jobs = new Queue<string>();
  const link = serve(port1, { jobs });
  const remote = await connect<{ jobs: Queue<string> }>(port2, { prefetch: 0 });
  try {
    const reader = remote.jobs.toReadableStream().getReader();
    const reading = reader.read();
    await flush(8); // the read's get waits in the owner's line
    jobs.putNowait("kept"); // handed to that get: its answer is on its way
    await reader.cancel(); // the read is cancelled after the hand-off: the item is kept here
    await reading;
    await assertRejects(() => remote.jobs.get({ timeout: NaN }), RangeError);
    await assertRejects(() => remote.jobs.get({ timeout: -1 }), RangeError);
    const aborted = AbortSignal.abort(new TypeError("mine"));
    await assertRejects(() => remote.jobs.get({ signal: aborted }), TypeError, "mine");
    assertEquals(await remote.jobs.get({ timeout: 0 }), "kept");
  } finally {
    await remote.close();
    link.close();
    port1.close();
    port2.close();
  }
});
