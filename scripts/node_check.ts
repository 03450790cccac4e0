/**
 * `deno task check:node`: baton's one-thread core as a Node user gets it.
 *
 * 1. TypeScript: a small Node consumer (`lib: ["es2022"]`, no DOM, Node's
 *    types only) that imports every symbol of the main entry, and one that
 *    imports each one-thread subpath, type-check with `tsc` with 0 errors.
 *    The worker and Redis entries are checked too and their error counts
 *    printed, but not gated (Node support for the worker adapters is its own
 *    work item).
 * 2. Inspect: an esbuild bundle of a program that makes each primitive runs
 *    on Node, and `util.inspect` shows each one's view under its name.
 *
 * Exits 1 when either fails.
 *
 * @module
 */

import { ensureTools, PREFIX, ROOT, run } from "./_node_tools.ts";

/** The one-thread entry points: gated. */
const CORE = [
  "mod.ts",
  "src/queues.ts",
  "src/lock.ts",
  "src/condition.ts",
  "src/event.ts",
  "src/semaphore.ts",
  "src/barrier.ts",
  "src/periodic_timer.ts",
  "src/errors.ts",
];
/** The cross-thread and cross-machine entry points: reported only. */
const OTHERS = ["src/worker/mod.ts", "src/redis/mod.ts"];

const TSCONFIG = {
  compilerOptions: {
    target: "es2022",
    module: "esnext",
    moduleResolution: "bundler",
    lib: ["es2022"],
    types: ["node"],
    typeRoots: [`${PREFIX}/node_modules/@types`],
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: false,
  },
};

/**
 * Type-checks one consumer per entry, in a single `tsc` run; returns tsc's
 * error lines by entry (an error in a module of baton counts for each entry).
 */
async function typeErrors(dir: string, entries: string[]): Promise<Map<string, string[]>> {
  const files: string[] = [];
  for (const entry of entries) {
    const module = await import(`${ROOT}${entry}`) as Record<string, unknown>;
    const consumer = `${dir}/${entry.replaceAll("/", "_")}`;
    // Every runtime export, used; `import *` brings the types in as well.
    await Deno.writeTextFile(
      consumer,
      `import * as baton from "${ROOT}${entry}";\n` +
        `const used: unknown[] = [${
          Object.keys(module).map((key) => `baton.${key}`).join(", ")
        }];\n` +
        `console.log(used.length);\n`,
    );
    files.push(consumer);
  }
  const config = `${dir}/tsconfig.json`;
  await Deno.writeTextFile(config, JSON.stringify({ ...TSCONFIG, files }));
  const { stdout } = await run("tsc", ["-p", config], dir);
  const errors = stdout.split("\n").filter((line) => line.includes("error TS"));
  return new Map(entries.map((entry) => [entry, errors]));
}

/** The program whose views Node prints: one line per primitive. */
const PROGRAM = (root: string) => `
import { inspect } from "node:util";
import {
  Barrier, BoundedSemaphore, Condition, Event, LifoQueue, Lock, PeriodicTimer, PriorityQueue, Queue, Semaphore,
} from "${root}mod.ts";
const queue = new Queue<string>(4);
queue.putNowait("a");
const lock = new Lock();
await lock.acquire();
const primitives = [
  queue, new LifoQueue(), new PriorityQueue(), lock, new Condition(), new Event(),
  new Semaphore(2), new BoundedSemaphore(1), new Barrier(2), new PeriodicTimer(10),
];
for (const primitive of primitives) console.log(inspect(primitive, { breakLength: Infinity }));
`;

/** What each line must start with and hold. */
const EXPECTED: [string, string[]][] = [
  ["Queue {", [
    "size: 1",
    "maxsize: 4",
    "waitingGetters: 0",
    "isShutdown: false",
    "items: [ 'a' ]",
  ]],
  ["LifoQueue {", ["size: 0"]],
  ["PriorityQueue {", ["size: 0"]],
  ["Lock {", ["locked: true", "waiters: 0"]],
  ["Condition {", ["locked: false", "waiters: 0"]],
  ["Event {", ["set: false", "waiters: 0"]],
  ["Semaphore {", ["value: 2", "waiters: 0"]],
  ["BoundedSemaphore {", ["value: 1", "waiters: 0"]],
  ["Barrier {", ["parties: 2", "waiting: 0", "broken: false"]],
  ["PeriodicTimer {", ["intervalMs: 10", "state: 'idle'", "waiters: 0"]],
];

/** Bundles the program, runs it on Node, and returns what does not match. */
async function nodeViews(dir: string): Promise<string[]> {
  const entry = `${dir}/views.ts`;
  const bundle = `${dir}/views.mjs`;
  await Deno.writeTextFile(entry, PROGRAM(ROOT));
  const built = await run("esbuild", [
    entry,
    "--bundle",
    "--minify",
    "--format=esm",
    "--platform=node",
    `--outfile=${bundle}`,
    "--log-level=warning",
  ]);
  if (built.code !== 0) return [`esbuild failed: ${built.stderr}`];
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [bundle],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) return [`node exited ${code}: ${new TextDecoder().decode(stderr)}`];
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  const problems: string[] = [];
  EXPECTED.forEach(([start, fields], index) => {
    const line = lines[index] ?? "";
    if (!line.startsWith(start)) problems.push(`expected ${start}..., Node printed: ${line}`);
    for (const field of fields) {
      if (!line.includes(field)) problems.push(`${start} lacks "${field}": ${line}`);
    }
  });
  if (problems.length === 0) { for (const line of lines) console.log(`  ${line}`); }
  return problems;
}

if (import.meta.main) {
  await ensureTools();
  const dir = await Deno.makeTempDir({ prefix: "baton-node-" });
  let failed = false;
  try {
    const version = await run("tsc", ["--version"]);
    console.log(`tsc (${version.stdout.trim()}), lib es2022, Node's types only:`);
    const core = await typeErrors(dir, CORE);
    const coreErrors = core.get(CORE[0]!)!;
    if (coreErrors.length > 0) failed = true;
    console.log(`  ${CORE.join(", ")}: ${coreErrors.length} error(s)`);
    for (const error of coreErrors) console.log(`    ${error}`);
    for (const entry of OTHERS) {
      const errors = (await typeErrors(dir, [entry])).get(entry)!;
      console.log(`  ${entry}: ${errors.length} error(s) (reported, not gated)`);
    }
    console.log("Node's util.inspect of a bundled program:");
    const problems = await nodeViews(dir);
    for (const problem of problems) console.log(`  ${problem}`);
    if (problems.length > 0) failed = true;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  if (failed) {
    console.log("check:node failed");
    Deno.exit(1);
  }
  console.log("check:node: 0 type errors in the core entries; Node shows every view");
}
