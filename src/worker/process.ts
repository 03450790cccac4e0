/**
 * `Process`: Python's `multiprocessing.Process` for Workers. A module's
 * default export runs in a new worker thread with arguments; baton
 * primitives among the arguments arrive there as proxies.
 *
 * @module
 */

import { checkWaitOptions, WaitList, type WaitOptions } from "../_waiters.ts";
import type { Barrier } from "../barrier.ts";
import type { Condition } from "../condition.ts";
import type { Event } from "../event.ts";
import type { Lock } from "../lock.ts";
import type { PeriodicTimer } from "../periodic_timer.ts";
import type { Queue } from "../queue.ts";
import type { Semaphore } from "../semaphore.ts";
import { argKey, encodeArgs } from "./_process_args.ts";
import { checkedCopy, encodeValue, GONE, LIFELINE, refPort, Travelling } from "./travel.ts";
import { CURRENT_PROCESS, EXIT_TAG, readExitReport, type StartData } from "./_process_wire.ts";
import type {
  RemoteBarrier,
  RemoteCondition,
  RemoteEvent,
  RemoteLock,
  RemotePeriodicTimer,
  RemoteQueue,
  RemoteSemaphore,
} from "./remote.ts";
import { Connection } from "./pipe.ts";
import { cannotMove, movable } from "./_pipe_access.ts";
import { type Link, type PipeEnd, type Servable, serve } from "./serve.ts";
import { waitable } from "./wait.ts";
import { deserializeError } from "./wire.ts";

/**
 * What the parent passes for a parameter the target declares: the local
 * primitive for a proxy type (`Queue<T>` for `RemoteQueue<T>`, ...), the
 * same type for anything else, inside arrays and objects too.
 *
 * @example
 * ```ts
 * import type { Queue } from "@baton/baton";
 * import type { LocalOf, RemoteQueue } from "@baton/baton/worker";
 *
 * const check: Queue<number> extends LocalOf<RemoteQueue<number>> ? true : false = true;
 * console.log(check); // true
 * ```
 */
export type LocalOf<P> = P extends RemoteQueue<infer T> ? Queue<T> | RemoteQueue<T>
  : P extends RemoteCondition ? Condition
  : P extends RemoteLock ? Lock
  : P extends RemoteEvent ? Event
  : P extends RemoteSemaphore ? Semaphore
  : P extends RemoteBarrier ? Barrier
  : P extends RemotePeriodicTimer ? PeriodicTimer
  : P extends (...args: never[]) => unknown ? P
  : P extends readonly unknown[] ? { [K in keyof P]: LocalOf<P[K]> }
  : P extends object ? { [K in keyof P]: LocalOf<P[K]> }
  : P;

/**
 * Options of {@linkcode Process}.
 *
 * @typeParam F The target's type (`typeof import("./producer.ts").default`),
 *   which types `args`.
 *
 * @example
 * ```ts
 * import { Queue } from "@baton/baton";
 * import type { ProcessOptions, RemoteQueue } from "@baton/baton/worker";
 *
 * type Target = (jobs: RemoteQueue<number>, n: number) => Promise<void>;
 * const options: ProcessOptions<Target> = { args: [new Queue<number>(), 10], name: "producer" };
 * console.log(options.name); // "producer"
 * ```
 */
export interface ProcessOptions<
  F extends (...args: never[]) => unknown = (...args: unknown[]) => unknown,
> {
  /**
   * The target's arguments, captured at `start()`: baton primitives and pipe
   * ends anywhere in them (arrays, plain objects, `Map`s, `Set`s) arrive as
   * proxies, everything else is structured-cloned.
   */
  args?: LocalOf<Parameters<F>>;
  /** The process's name; default `Process-N`. */
  name?: string;
  /** A daemon process does not keep the program alive, and ends with it. Default `false`. */
  daemon?: boolean;
  /** Told about problems with the link to the child that no caller can be told of. */
  onError?: (error: unknown) => void;
}

/** What `currentProcess()` returns. */
export interface ProcessInfo {
  /** The process's name (`MainProcess` outside any `Process`). */
  readonly name: string;
  /** Whether it is a daemon process. */
  readonly daemon: boolean;
}

const MAIN_PROCESS: ProcessInfo = Object.freeze({ name: "MainProcess", daemon: false });

/**
 * The process this code runs in: its `name` and `daemon` flag inside a
 * {@linkcode Process}'s target, `MainProcess` elsewhere (Python's
 * `multiprocessing.current_process()`).
 *
 * @returns The current process's name and daemon flag.
 *
 * @example
 * ```ts
 * import { currentProcess } from "@baton/baton/worker";
 *
 * console.log(currentProcess().name); // "MainProcess"
 * ```
 */
export function currentProcess(): ProcessInfo {
  const info = (globalThis as Record<symbol, unknown>)[CURRENT_PROCESS];
  return (info as ProcessInfo | undefined) ?? MAIN_PROCESS;
}

/** Exit code after `terminate()`: Python's `-SIGTERM`. */
const TERMINATED = -15;

let processCount = 0;

/** The part of `node:worker_threads`' `Worker` a process uses. */
interface ThreadWorker {
  on(event: "exit", listener: (code: number) => void): void;
  on(event: "error", listener: (error: unknown) => void): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

/** A port of `node:worker_threads`' `MessageChannel`, which can be unref'd. */
type RefPort = MessagePort & { ref?: () => void; unref?: () => void };

/**
 * What every copy of this module in the thread shares: whether the main
 * module has finished (its `load` event), and the daemon processes running.
 * Python ends daemon processes when the main program ends; here a daemon
 * keeps the program alive only until the main module has run to its end
 * (top-level `await`s included), or while someone joins it.
 */
interface Daemons {
  loaded: boolean;
  running: Set<{ refresh(): void }>;
}

const DAEMONS = Symbol.for("baton.daemons");

function daemons(): Daemons {
  const global = globalThis as unknown as Record<symbol, Daemons | undefined>;
  let state = global[DAEMONS];
  if (state === undefined) {
    const created: Daemons = { loaded: false, running: new Set() };
    state = global[DAEMONS] = created;
    const listen = (globalThis as { addEventListener?: typeof addEventListener }).addEventListener;
    if (
      typeof listen === "function" && typeof (globalThis as { Deno?: unknown }).Deno === "object"
    ) {
      listen("load", () => {
        created.loaded = true;
        for (const daemon of created.running) daemon.refresh();
      }, { once: true });
    } else created.loaded = true;
  }
  return state;
}

interface WorkerThreads {
  Worker: new (url: URL, options: Record<string, unknown>) => ThreadWorker;
  MessageChannel: new () => { port1: MessagePort; port2: MessagePort };
}

/**
 * Python's `multiprocessing.Process` on a worker thread: `start()` runs the
 * default export of `module` in a new worker with `args`, `join()` waits for
 * it and gives its exit code.
 *
 * - Baton primitives and pipe ends anywhere in `args` arrive as proxies
 *   (pipe ends move to the child); other values are structured-cloned, and
 *   one that cannot be makes `start()` throw `DataCloneError`.
 * - `exitCode` is `null` while it runs, `0` once the target returned (or its
 *   promise resolved), `1` when it threw, rejected, the module failed to
 *   load or had no default-exported function, an uncaught error or
 *   unhandled rejection ended it, or it closed itself before the target
 *   settled (`error` says what happened; the child prints it to stderr),
 *   `-15` after `terminate()`.
 * - By the time `join()` resolves, everything the target put, sent or
 *   released through its arguments has reached this thread, and what it
 *   still held (a lock, permits) was released (W-9).
 * - A non-daemon process keeps the program alive until it ends; a daemon
 *   process does not, and ends with the program.
 *
 * It runs on `node:worker_threads` (Deno, Node and Bun have it), so it is not
 * available in browsers; use `serve`/`connect` with a Web Worker there.
 *
 * @typeParam F The target's type, which types `args` (optional).
 *
 * @example
 * ```ts ignore
 * // main.ts
 * import { Queue } from "@baton/baton";
 * import { Process } from "@baton/baton/worker";
 *
 * const jobs = new Queue<number>(10);
 * const producer = new Process<typeof import("./producer.ts").default>(
 *   new URL("./producer.ts", import.meta.url),
 *   { args: [jobs, 100], name: "producer" },
 * );
 * producer.start();
 * for (let i = 0; i < 100; i++) await jobs.get();
 * console.log(await producer.join()); // 0
 *
 * // producer.ts
 * import type { RemoteQueue } from "@baton/baton/worker";
 *
 * export default async function producer(jobs: RemoteQueue<number>, n: number) {
 *   for (let i = 0; i < n; i++) await jobs.put(i);
 * }
 * ```
 */
export class Process<F extends (...args: never[]) => unknown = (...args: unknown[]) => unknown>
  implements AsyncDisposable {
  /** The module whose default export is the target. */
  readonly module: string;
  /** The process's name. */
  readonly name: string;
  #daemon: boolean;
  #args: readonly unknown[];
  /** One per proxy the child connected to an owner: how to tell it the child is gone (W-9). */
  #lifelines = new Set<MessagePort>();
  #onError: ((error: unknown) => void) | undefined;
  #state: "new" | "starting" | "running" | "ended" = "new";
  #exitCode: number | null = null;
  #error: Error | undefined;
  #worker: ThreadWorker | undefined;
  #port: MessagePort | undefined;
  #link: Link | undefined;
  /** The pipe ends moved out of `args` at `start()`, until the link serves them. */
  #ends: Connection[] = [];
  #terminated = false;
  /** The child's own exit report arrived: it said bye on every connection before it. */
  #finished = false;
  #report: { code: 0 | 1; error: Error | undefined } | undefined;
  #joiners = new WaitList<number | null>({
    onTimeout: () => null,
    onCancel: () => this.#refresh(),
  });
  #daemonHandle = { refresh: () => this.#refresh() };

  /**
   * Makes a process; nothing runs until `start()`.
   *
   * @param module The module to run (a `URL`, or a URL string); its default
   *   export is the target.
   * @param options `args`, `name`, `daemon`, `onError`.
   * @throws {TypeError} for a module that is not a URL, or bad options.
   */
  constructor(module: URL | string, options: ProcessOptions<F> = {}) {
    if (!(module instanceof URL) && typeof module !== "string") {
      throw new TypeError(`Process takes a module URL, received ${typeof module}`);
    }
    this.module = module instanceof URL ? module.href : new URL(module).href;
    if (options.args !== undefined && !Array.isArray(options.args)) {
      throw new TypeError("Process args must be an array");
    }
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new TypeError("Process name must be a string");
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError("Process onError must be a function");
    }
    if (options.daemon === true) daemons(); // learns when the main module ends
    processCount++;
    this.name = options.name ?? `Process-${processCount}`;
    this.#daemon = options.daemon === true;
    this.#args = (options.args as readonly unknown[] | undefined) ?? [];
    this.#onError = options.onError;
    // wait() sees a process as ready once it ended (M-1).
    waitable(this, (waitOptions) => {
      try {
        return this.join(waitOptions).then((code) => code !== null);
      } catch (error) {
        return Promise.reject(error);
      }
    });
  }

  /** Whether the process is a daemon; settable until `start()`. */
  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (this.#state !== "new") throw new Error("cannot set daemon of a started process");
    this.#daemon = value === true;
  }

  /** `null` while the process runs (or before it started), then its exit code. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** Why the process ended with code 1, rebuilt as in W-7; else `undefined`. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Whether the process was started and has not ended yet. */
  isAlive(): boolean {
    return this.#state === "starting" || this.#state === "running";
  }

  /**
   * Starts the process: the target runs in a new worker with the arguments
   * given (captured now).
   *
   * @throws {Error} when the process was started before.
   * @throws {DOMException} `DataCloneError` for an argument that cannot be cloned.
   */
  start(): void {
    if (this.#state !== "new") throw new Error(`process ${this.name} was already started`);
    const served: Record<string, Servable> = {};
    const key = argKey();
    const args = encodeArgs(this.#args, served, key);
    // Every pipe end can move, or none moves (P-1, P-6).
    for (const end of Object.values(served)) {
      if (end instanceof Connection && !movable(end)) throw cannotMove();
    }
    // The platform's verdict now (P-1), before anything starts; remote proxies in the
    // arguments travel to the child as copies that talk to their owners (W-14, P-6).
    const checked = checkedCopy(args);
    // A pipe end moves to the child now: the parent's copy is closed (P-6).
    this.#ends = moveEnds(served);
    this.#state = "starting";
    import("node:worker_threads").then(
      (threads) => this.#launch(threads as unknown as WorkerThreads, checked, served, key),
      (error) => this.#ended(1, error),
    );
  }

  #launch(
    threads: WorkerThreads,
    checked: unknown,
    served: Record<string, Servable>,
    argKey: string,
  ): void {
    if (this.#state !== "starting") return; // terminated before the worker existed
    try {
      const { port1, port2 } = new threads.MessageChannel();
      this.#port = port1;
      port1.addEventListener("message", this.#onMessage);
      const names = Object.keys(served);
      if (names.length > 0) {
        this.#link = serve(port1, served, this.#onError ? { onError: this.#onError } : {});
      }
      port1.start();
      const transfer: Transferable[] = [port2];
      const args = encodeValue(checked, transfer) as unknown[];
      const data: StartData = {
        port: port2,
        module: this.module,
        args,
        argKey,
        travel: checked instanceof Travelling,
        names,
        name: this.name,
        daemon: this.#daemon,
      };
      const worker = new threads.Worker(new URL("./_process_child.ts", import.meta.url), {
        workerData: data,
        transferList: transfer,
        name: this.name,
      });
      this.#worker = worker;
      this.#state = "running";
      if (this.#daemon) {
        daemons().running.add(this.#daemonHandle);
        this.#refresh();
      }
      worker.on("error", (error) => {
        this.#report ??= { code: 1, error: asError(error) };
      });
      worker.on("exit", () => this.#exited());
    } catch (error) {
      this.#ended(1, error);
    }
  }

  #onMessage = (event: MessageEvent): void => {
    const data = event.data as { [LIFELINE]?: unknown; port?: unknown } | null;
    if (data?.[LIFELINE] === 1 && data.port instanceof MessagePort) {
      const lifeline = data.port;
      if (this.#state === "ended") {
        lifeline.close();
        return;
      }
      this.#lifelines.add(lifeline);
      // Its link ended while the process runs: the serving side says so, and the end goes.
      lifeline.addEventListener("message", () => {
        this.#lifelines.delete(lifeline);
        lifeline.close();
      }, { once: true });
      lifeline.start();
      refPort(lifeline, false);
      return;
    }
    const report = readExitReport(event.data);
    if (report === undefined) return; // baton's own envelopes are the link's
    this.#finished = true;
    this.#report = {
      code: report[EXIT_TAG],
      error: report.error === undefined ? undefined : deserializeError(report.error),
    };
    // Everything the child posted before its report has been read: its worker can go.
    this.#worker?.terminate().catch((error) => this.#onError?.(error));
  };

  #exited(): void {
    if (this.#terminated) {
      this.#ended(TERMINATED, undefined);
      return;
    }
    const report = this.#report;
    if (report === undefined) {
      this.#ended(1, new Error(`process ${this.name} ended before its target settled`));
      return;
    }
    this.#ended(report.code, report.error);
  }

  /** The process ended: what its link held is released, and joiners hear the code. */
  #ended(code: number, error: unknown): void {
    if (this.#state === "ended") return;
    this.#state = "ended";
    this.#exitCode = code;
    this.#error = code === 1 ? asError(error) : undefined;
    this.#link?.close(); // closes the ports of pipe ends it has not handed to the child yet
    if (this.#link === undefined) {
      // Ended before the link served them (terminated before the worker existed): each end
      // closes, so its peer's recv rejects PipeClosed instead of waiting for ever (P-5).
      for (const end of this.#ends) end.close();
    }
    this.#ends = [];
    // A child that reported said bye to those owners itself, after what it posted to them:
    // telling them by another channel could overtake that. One that did not could not.
    for (const lifeline of this.#lifelines) {
      if (!this.#finished) lifeline.postMessage(GONE);
      lifeline.close();
    }
    this.#lifelines.clear();
    if (this.#port !== undefined) {
      this.#port.removeEventListener("message", this.#onMessage);
      this.#port.close();
    }
    this.#worker = undefined;
    if (this.#daemon) daemons().running.delete(this.#daemonHandle);
    this.#joiners.resolveAll(code);
  }

  /**
   * Waits until the process ended.
   *
   * @param options `timeout` (ms) and `signal`.
   * @returns The exit code, or `null` when the timeout ran out first.
   * @throws {Error} when the process was not started.
   */
  join(options?: WaitOptions): Promise<number | null> {
    if (this.#state === "new") throw new Error(`process ${this.name} was not started`);
    const error = checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    if (this.#state === "ended") {
      if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
      return Promise.resolve(this.#exitCode);
    }
    const joined = this.#joiners.wait(options, undefined);
    this.#refresh(); // a daemon stays alive while someone joins it
    return joined;
  }

  /** A running daemon keeps the program alive only until the main module ended, or while joined. */
  #refresh(): void {
    const worker = this.#worker;
    if (!this.#daemon || worker === undefined) return;
    const port = this.#port as RefPort | undefined;
    if (!daemons().loaded || this.#joiners.size > 0) {
      worker.ref();
      port?.ref?.();
    } else {
      worker.unref();
      port?.unref?.();
    }
  }

  /**
   * Ends the process at once (Python's `terminate()`): its exit code is
   * `-15`. What it had not yet posted is lost, as with SIGTERM; what it held
   * is released (W-9). Does nothing once it ended.
   */
  terminate(): void {
    if (this.#state === "new") throw new Error(`process ${this.name} was not started`);
    if (this.#state === "ended") return;
    this.#terminated = true;
    const worker = this.#worker;
    if (worker === undefined) {
      this.#ended(TERMINATED, undefined); // not launched yet
      return;
    }
    worker.terminate().catch((error) => this.#onError?.(error));
  }

  /** Terminates the process if it is alive and waits for it to end. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === "new") return;
    if (this.isAlive()) this.terminate();
    await this.join();
  }
}

/**
 * Detaches the pipe ends among `served`, leaving ends that carry the
 * detached ports; returns those.
 */
function moveEnds(served: Record<string, Servable>): Connection[] {
  const moved: Connection[] = [];
  for (const [name, end] of Object.entries(served)) {
    if (!isPipeEnd(end)) continue;
    const { readable, writable } = end;
    const carrier = Connection.fromPort(end.transfer(), { readable, writable });
    served[name] = carrier;
    moved.push(carrier);
  }
  return moved;
}

function isPipeEnd(value: unknown): value is PipeEnd {
  return typeof (value as PipeEnd).transfer === "function" && "readable" in (value as object);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
