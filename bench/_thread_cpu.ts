/**
 * How busy each thread of this process was, from Linux's per-thread
 * scheduler statistics (`/proc/self/task/<tid>/schedstat`: nanoseconds on a
 * CPU). Deno names a Worker's thread `worker-<n>`, n counting the workers
 * this process created, from 1. Deno lets a program read /proc only with
 * every permission (`-A`); without it, or elsewhere than Linux, every
 * reading is `undefined` and the bench prints no CPU figures.
 *
 * @module
 */

/** CPU nanoseconds per thread name at one moment, and that moment (ms). */
export interface CpuSnapshot {
  at: number;
  threads: Map<string, number>;
}

/** The main thread's name in the snapshots. */
export const MAIN_THREAD = "main";

/** Reads every thread's CPU time, or `undefined` where /proc cannot be read. */
export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const threads = new Map<string, number>();
    for (const task of Deno.readDirSync("/proc/self/task")) {
      const dir = `/proc/self/task/${task.name}`;
      const name = Number(task.name) === Deno.pid
        ? MAIN_THREAD
        : Deno.readTextFileSync(`${dir}/comm`).trim();
      const onCpu = Number(Deno.readTextFileSync(`${dir}/schedstat`).split(" ")[0]);
      // Names repeat (tokio's and V8's pools); only the ones asked for are unique.
      threads.set(name, (threads.get(name) ?? 0) + onCpu);
    }
    return { at: performance.now(), threads };
  } catch {
    return undefined;
  }
}

/**
 * The share of the wall time between two snapshots that the named threads
 * spent on a CPU, averaged over them; `undefined` when a thread is missing.
 */
export function busy(
  before: CpuSnapshot | undefined,
  after: CpuSnapshot | undefined,
  names: string[],
): number | undefined {
  if (!before || !after || names.length === 0) return undefined;
  const wallNs = (after.at - before.at) * 1e6;
  let total = 0;
  for (const name of names) {
    const start = before.threads.get(name);
    const end = after.threads.get(name);
    if (start === undefined || end === undefined) return undefined;
    total += end - start;
  }
  return total / names.length / wallNs;
}
