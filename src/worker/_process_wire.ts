/**
 * What a `Process` and its child say to each other beside baton's own
 * envelopes: the start data (`workerData`) and the exit report.
 *
 * Internal: not exported from an entry point.
 *
 * @module
 */

import type { WireError } from "./wire.ts";

/** The key of the exit report on the control port. */
export const EXIT_TAG = "@baton:exit";

/** Where the child keeps what `currentProcess()` returns. */
export const CURRENT_PROCESS: unique symbol = Symbol.for("baton.currentProcess");

/** `workerData` of a process's worker. */
export interface StartData {
  port: MessagePort;
  module: string;
  args: unknown[];
  /** The key of the tokens that stand for served names in `args` (a new one each start). */
  argKey: string;
  /** `args` hold travelling proxies' tokens (W-14). */
  travel: boolean;
  names: string[];
  name: string;
  daemon: boolean;
}

/** The child's last message on the control port. */
export interface ExitReport {
  [EXIT_TAG]: 0 | 1;
  error?: WireError;
}

/** Reads an exit report, or `undefined` for anything else. */
export function readExitReport(data: unknown): ExitReport | undefined {
  if (typeof data !== "object" || data === null || !(EXIT_TAG in data)) return undefined;
  const code = (data as ExitReport)[EXIT_TAG];
  return code === 0 || code === 1 ? data as ExitReport : undefined;
}
