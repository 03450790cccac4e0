/**
 * The first module of every `Process`'s worker: it connects to what the
 * parent serves on the control port, loads the target module, calls its
 * default export with the arguments, and reports how it ended. The exit
 * report follows the connection's `bye` on the same port, so the parent has
 * read everything the target put, sent or released before it hears that
 * the process ended (P-3); the parent then ends the worker.
 *
 * Internal: started by `Process`, never imported by users.
 *
 * @module
 */

import process from "node:process";
import { workerData } from "node:worker_threads";
import { decodeArgs } from "./_process_args.ts";
import { CURRENT_PROCESS, EXIT_TAG, type ExitReport, type StartData } from "./_process_wire.ts";
import { connect } from "./connect.ts";
import { closeTravelLinks } from "./owner_side.ts";
import { Connection } from "./pipe.ts";
import { decodeValue, LIFELINE, sendLifelinesTo, tellTravelledEndsTo } from "./travel.ts";
import { closeTravelled } from "./travel_proxy.ts";
import { serializeError } from "./wire.ts";

const data = workerData as StartData;
const port = data.port;
(globalThis as Record<symbol, unknown>)[CURRENT_PROCESS] = Object.freeze({
  name: data.name,
  daemon: data.daemon,
});

// Each proxy this process connects to an owner gets a lifeline whose keeping end goes to the
// parent: if this process is terminated, the parent tells that owner (W-9, P-3).
sendLifelinesTo((keep) => port.postMessage({ [LIFELINE]: 1, port: keep }, [keep]));

// The pipe ends this process got (in its args, or inside values since): they close when it ends,
// so their peers' recv rejects PipeClosed after what was sent, as an exiting Python child's
// ends do (P-6). Weakly held: an end the target dropped is no longer this process's to close.
const ends = new Set<WeakRef<Connection>>();
tellTravelledEndsTo((end) => ends.add(new WeakRef(end)));

let finished = false;
let remote: { close(): Promise<void> } | undefined;

/** Ends the process once: the connection closes (its bye goes first), then the report. */
async function finish(code: 0 | 1, error?: unknown): Promise<void> {
  if (finished) return;
  finished = true;
  if (code !== 0) console.error(`Process ${data.name}:`, error);
  try {
    // What travelled here is let go (its owners release what it held, W-9), what this
    // process served to others through items ends (their proxies reject LinkClosed),
    // then the connection to the parent closes: its bye goes before the report.
    await closeTravelled();
    closeTravelLinks();
    // What was sent on them is posted first, then each end's close (a no-op for one moved on).
    for (const end of ends) end.deref()?.close();
    await remote?.close();
  } catch {
    // the report below still goes out
  }
  const report: ExitReport = { [EXIT_TAG]: code };
  if (code !== 0) report.error = serializeError(error);
  // The parent ends this worker when the report arrives, after every frame posted before it:
  // exiting here could end the thread before the port delivered them.
  port.postMessage(report);
  // Listening keeps this thread alive until the parent has read the report and ends it.
  port.addEventListener("message", () => {});
  port.start();
}

// An uncaught error or unhandled rejection ends the process with code 1 (P-6),
// after what the target already put has been posted.
process.on("uncaughtException", (error: unknown) => void finish(1, error));
process.on("unhandledRejection", (reason: unknown) => void finish(1, reason));

try {
  let proxies: Record<string, unknown> = {};
  if (data.names.length > 0) {
    const connected = await connect<Record<string, never>>(port);
    remote = connected;
    proxies = connected as unknown as Record<string, unknown>;
    for (const proxy of Object.values(proxies)) {
      if (proxy instanceof Connection) ends.add(new WeakRef(proxy));
    }
  }
  const received = data.travel
    ? decodeValue(data.args, (error) => console.error("baton:", error)) as unknown[]
    : data.args;
  const args = decodeArgs(received, proxies, data.argKey);
  const module = await import(data.module);
  const target = (module as { default?: unknown }).default;
  if (typeof target !== "function") {
    throw new TypeError(`${data.module} has no default-exported function to run`);
  }
  await target(...args);
  await finish(0);
} catch (error) {
  await finish(1, error);
}
