/**
 * The worker side of `web_worker.ts`: connects on the worker's `self` and
 * puts the run's items and probes, or (role "holder") takes the served
 * Lock and throws when told.
 *
 * @module
 */

import type { Lock, Queue } from "../../mod.ts";
import { connect, type Endpoint } from "../../src/worker/mod.ts";
import { produce } from "./scenario.ts";

const self = globalThis as unknown as Endpoint;
// The first message says which part to play (a query string does not reach a Bun worker).
const role = await new Promise((resolve) => {
  self.addEventListener!("message", function first(event) {
    self.removeEventListener!("message", first);
    resolve(((event as MessageEvent).data as { role?: string }).role);
  });
});
if (role === "holder") {
  const remote = await connect<{ lock: Lock }>(self);
  await remote.lock.acquire();
  // Told to, fails with the lock still held: only the owner can give it back.
  self.addEventListener!("message", (event) => {
    if ((event as MessageEvent).data === "throw now") {
      throw new Error("the worker fails holding the lock");
    }
  });
  self.postMessage("held", []);
} else {
  const remote = await connect<{ jobs: Queue<unknown> }>(self);
  await produce(remote.jobs);
  await remote.close();
}
