/**
 * The little of `Deno` that the core test files use, for Node, Bun and
 * browsers: `Deno.test` collects, `Deno.inspect` renders a primitive's own
 * inspect view the way Deno prints it, `Deno.env.get` sees no variables (the
 * default counts of the property tests). esbuild injects this module wherever
 * a bundled file names `Deno`; `run` then runs what was collected, one test
 * at a time as `deno test` does within a file.
 *
 * @module
 */

type TestFn = () => void | Promise<void>;

const collected: { name: string; fn: TestFn }[] = [];

/** The real timers, kept before any test installs fake time. */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Longest a single test may take before it counts as failed (hung). */
const TEST_LIMIT_MS = 120_000;

const DENO_INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** Most entries shown per array, object, Map or Set (the tests inspect huge sparse arrays). */
const MAX_ENTRIES = 50;

function key(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

function list(parts: string[], total: number): string {
  const more = total > parts.length ? [`... ${total - parts.length} more`] : [];
  return [...parts, ...more].join(", ");
}

/** Deno's rendering, closely enough for the tests' substring checks, and bounded. */
function inspect(value: unknown, depth = 0): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "function") return `[Function: ${value.name || "(anonymous)"}]`;
  if (value === null || typeof value !== "object") return String(value);
  const custom = (value as Record<symbol, unknown>)[DENO_INSPECT];
  if (typeof custom === "function") {
    return custom.call(value, (inner: unknown) => inspect(inner, depth + 1), {});
  }
  const node = (value as Record<symbol, unknown>)[NODE_INSPECT];
  if (typeof node === "function") {
    return node.call(value, 4 - depth, { stylize: (text: string) => text }, inspect);
  }
  if (depth > 4) return "[Object]";
  const inner = (v: unknown) => inspect(v, depth + 1);
  if (value instanceof Map) {
    const entries = [...value].slice(0, MAX_ENTRIES).map(([k, v]) => `${inner(k)} => ${inner(v)}`);
    return `Map(${value.size}) { ${list(entries, value.size)} }`;
  }
  if (value instanceof Set) {
    return `Set(${value.size}) { ${
      list([...value].slice(0, MAX_ENTRIES).map(inner), value.size)
    } }`;
  }
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  const keys: string[] = [];
  let total = 0;
  for (const name in value) {
    if (!Object.hasOwn(value, name)) continue;
    total++;
    if (keys.length < MAX_ENTRIES) keys.push(name);
  }
  const body = keys.map((name) =>
    Array.isArray(value) && /^\d+$/.test(name)
      ? inner((value as unknown as Record<string, unknown>)[name])
      : `${key(name)}: ${inner((value as Record<string, unknown>)[name])}`
  );
  if (Array.isArray(value)) return total === 0 ? "[]" : `[ ${list(body, total)} ]`;
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  const prefix = name && name !== "Object" ? `${name} ` : "";
  return total === 0 ? `${prefix}{}` : `${prefix}{ ${list(body, total)} }`;
}

/** What the bundled test files see as `Deno`. */
export const Deno = {
  test(name: string, fn: TestFn): void {
    if (typeof name !== "string" || typeof fn !== "function") {
      throw new TypeError("the runtime shim takes Deno.test(name, fn) only");
    }
    collected.push({ name, fn });
  },
  inspect: (value: unknown): string => inspect(value),
  env: { get: (_name: string): string | undefined => undefined },
};

/**
 * Tests left out on one runtime, each with the reason, printed and counted
 * as ignored. Only for a cost of the platform itself, never for a failure.
 */
const IGNORED: { runtime: string; name: string; reason: string }[] = [
  {
    runtime: "bun",
    name: "W-3: snapshot of a sparse array walks its keys, not its length",
    reason: "Bun's own structuredClone of a 2^32-1 long sparse array takes over a minute",
  },
];

/** The outcome of one run, as the host reads it. */
export interface Outcome {
  runtime: string;
  passed: number;
  failed: number;
  ignored: number;
  failures: { name: string; error: string }[];
}

/** Adds a hook for unhandled rejections and uncaught errors; returns the undo. */
function watchUnhandled(record: (error: unknown) => void): () => void {
  const process = (globalThis as {
    process?: {
      on(type: string, fn: (e: unknown) => void): void;
      off(type: string, fn: (e: unknown) => void): void;
    };
  }).process;
  const onRejection = (event: Event) => {
    event.preventDefault();
    record((event as PromiseRejectionEvent).reason);
  };
  const onError = (event: Event) => {
    event.preventDefault();
    record((event as ErrorEvent).error);
  };
  // Node reports through `process` only; browsers and Bun through the global scope.
  if (process !== undefined && typeof process.on === "function") {
    process.on("unhandledRejection", record);
    process.on("uncaughtException", record);
    return () => {
      process.off("unhandledRejection", record);
      process.off("uncaughtException", record);
    };
  }
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Runs `tests` one after the other; prints failures and a closing count line. */
export async function runTests(
  runtime: string,
  tests: readonly { name: string; fn: TestFn }[] = collected,
): Promise<Outcome> {
  const outcome: Outcome = { runtime, passed: 0, failed: 0, ignored: 0, failures: [] };
  let stray: unknown[] = [];
  const unwatch = watchUnhandled((error) => stray.push(error));
  const verbose = (globalThis as { __batonVerbose?: boolean }).__batonVerbose === true;
  for (const { name, fn } of tests) {
    const ignored = IGNORED.find((entry) =>
      runtime.startsWith(entry.runtime) && entry.name === name
    );
    if (ignored !== undefined) {
      outcome.ignored++;
      console.log(`ignored ${name}: ${ignored.reason}`);
      continue;
    }
    if (verbose) console.log(`start ${name}`);
    stray = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let error: unknown = undefined;
    let failed = false;
    try {
      await Promise.race([
        Promise.resolve().then(fn),
        new Promise((_, reject) => {
          timer = realSetTimeout(
            () => reject(new Error(`did not settle within ${TEST_LIMIT_MS} ms`)),
            TEST_LIMIT_MS,
          );
        }),
      ]);
    } catch (thrown) {
      failed = true;
      error = thrown;
    } finally {
      realClearTimeout(timer);
    }
    // As deno test does: an unhandled rejection during a test fails it.
    await new Promise((resolve) => realSetTimeout(resolve, 0));
    if (!failed && stray.length > 0) {
      failed = true;
      error = new Error(`unhandled during the test: ${stray.map(describe).join("; ")}`);
    }
    if (failed) {
      outcome.failed++;
      outcome.failures.push({ name, error: describe(error) });
      console.log(`FAILED ${name}\n  ${describe(error)}`);
    } else {
      outcome.passed++;
    }
  }
  unwatch();
  const ignored = outcome.ignored > 0 ? `, ${outcome.ignored} ignored` : "";
  console.log(`${runtime}: ${outcome.passed} passed, ${outcome.failed} failed${ignored}`);
  return outcome;
}

/** Ends a Node or Bun process with a status that says whether all passed. */
export function exitWith(outcome: Outcome): void {
  const process = (globalThis as { process?: { exitCode?: number } }).process;
  if (process !== undefined) process.exitCode = outcome.failed === 0 ? 0 : 1;
  // In a browser page, tell the driver (tools/runtimes/chromium.mjs).
  (globalThis as { __batonDone?: (outcome: Outcome) => void }).__batonDone?.(outcome);
}
