/**
 * The worker side of `web_worker.ts`: connects on the worker's `self` and
 * puts the run's items and probes.
 *
 * @module
 */

import type { Queue } from "../../mod.ts";
import { connect, type Endpoint } from "../../src/worker/mod.ts";
import { produce } from "./scenario.ts";

const remote = await connect<{ jobs: Queue<unknown> }>(globalThis as unknown as Endpoint);
await produce(remote.jobs);
await remote.close();
