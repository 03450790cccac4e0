/**
 * `deno task test:runtimes`: the core test suite and the worker checks on
 * Node (this machine's and the current LTS), Bun and headless Chromium, and
 * the Redis checks on Node and Bun, from the same test files, bundled with
 * esbuild from the package's own entry points the way a consumer's bundler
 * would take them.
 *
 * What it needs (esbuild, Bun, Node LTS, playwright-core, ioredis, and the
 * test files' npm imports at the versions deno.json maps) is installed with
 * npm into `.ci/cache/runtimes/` (git-ignored) on first use; Chromium is the
 * system's (`chromium` on PATH, or `BATON_CHROMIUM`). The Redis checks get
 * one throwaway `redis-server` (on PATH; `.ci/run` installs it), stopped at
 * the end whatever happens, and each run a database of its own. Every run prints
 * `<runtime> <suite>: N passed, M failed`; the task ends with the sum and
 * fails when any test failed or any run did not report.
 *
 * @module
 */

import { createRequire } from "node:module";
import { type RedisServer, startRedisServer } from "../../tests/fixtures/redis_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CACHE = `${ROOT}.ci/cache/runtimes`;
const OUT = `${CACHE}/out`;

/** Tools, pinned. `node` is the current LTS line (the machine's Node runs too). */
const TOOLS: Record<string, string> = {
  "esbuild": "0.28.2",
  "bun": "1.4.5",
  "playwright-core": "1.65.1",
  "node": "24.21.0",
};

/** The one-thread primitives' test files (no Worker, no Redis). */
const CORE_TESTS = [
  "queue",
  "lock",
  "condition",
  "event",
  "semaphore",
  "barrier",
  "periodic_timer",
  "property",
  "errors",
  "containers",
  "waiters",
  "clone",
].map((name) => `tests/${name}_test.ts`);

/**
 * npm packages left out of the bundles and resolved by the runtime from
 * `.ci/cache/runtimes/node_modules`, as a consumer's bundler leaves a
 * package's npm dependency to the package manager: ioredis, the one
 * dependency of `@baton/baton/redis`.
 */
const EXTERNAL = ["ioredis"];

/** Longest a Redis run may stay alive after its count line: it must end by itself. */
const EXIT_GRACE_MS = 5_000;

/**
 * The npm packages the test files import, as deno.json maps them: bare name
 * → npm package path. `ioredis` is installed too, but stays out of the
 * bundles (see `EXTERNAL`).
 */
async function npmImports(): Promise<
  { packages: Record<string, string>; alias: Record<string, string> }
> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    imports: Record<string, string>;
  };
  const packages: Record<string, string> = {};
  const alias: Record<string, string> = {};
  for (const name of ["@std/assert", "@sinonjs/fake-timers", "fast-check", ...EXTERNAL]) {
    const target = config.imports[name];
    const match = target && /^npm:((?:@[^/]+\/)?[^@/]+)@([^/]+)(\/.*)?$/.exec(target);
    if (!match) throw new Error(`deno.json maps ${name} to ${target}: not an npm: import`);
    const [, pkg, version, path = ""] = match;
    packages[pkg!] = version!;
    if (!EXTERNAL.includes(name)) alias[name] = `${pkg}${path}`;
  }
  return { packages, alias };
}

async function run(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd ?? ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
  }, options.timeoutMs ?? 10 * 60_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

async function install(packages: Record<string, string>): Promise<void> {
  const wanted = JSON.stringify(packages);
  const marker = `${CACHE}/installed.json`;
  const installed = await Deno.readTextFile(marker).catch(() => "");
  if (installed === wanted) return;
  console.log(`installing into .ci/cache/runtimes: ${Object.keys(packages).join(", ")}`);
  await Deno.mkdir(CACHE, { recursive: true });
  const specs = Object.entries(packages).map(([name, version]) => `${name}@${version}`);
  const { code, output } = await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    "--prefix",
    CACHE,
    ...specs,
  ]);
  if (code !== 0) throw new Error(`npm install failed:\n${output}`);
  await Deno.writeTextFile(marker, wanted);
}

interface Bundle {
  /** File name under `.ci/cache/runtimes/out/`. */
  file: string;
  /** The entry module's source, resolved from the repository root. */
  entry: string;
  platform: "browser" | "node";
  /** Imports left to the runtime (see `EXTERNAL`). */
  external?: string[];
}

/** Where each run's label comes from: the runtime itself. */
const LABEL = `(() => {
  const g = globalThis;
  if (g.Bun) return "bun " + g.Bun.version;
  if (g.Deno?.version) return "deno " + g.Deno.version.deno;
  if (g.process?.versions?.node) return "node " + g.process.versions.node;
  const chrome = /Chrome\\/([\\d.]+)/.exec(g.navigator?.userAgent ?? "");
  return chrome ? "chromium " + chrome[1] : "browser";
})()`;

const SHIM = "./tools/runtimes/shim.ts";

const POLYFILLS = `import "./tools/runtimes/polyfills.ts";`;

const CORE_ENTRY = [
  POLYFILLS,
  ...CORE_TESTS.map((file) => `import "./${file}";`),
  `import { exitWith, runTests } from "${SHIM}";`,
  `exitWith(await runTests(${LABEL} + " core"));`,
].join("\n");

const BUNDLES: Bundle[] = [
  { file: "core.mjs", platform: "node", entry: CORE_ENTRY },
  { file: "core.browser.mjs", platform: "browser", entry: CORE_ENTRY },
  {
    file: "node_threads.mjs",
    platform: "node",
    entry: [
      POLYFILLS,
      `import { isMainThread } from "node:worker_threads";`,
      `import { checks } from "./tests/runtimes/node_threads.ts";`,
      `import { exitWith, runTests } from "${SHIM}";`,
      `if (isMainThread) {`,
      `  const module = new URL(import.meta.url);`,
      `  const tests = checks.map((check) => ({ name: check.name, fn: () => check.run(module) }));`,
      `  exitWith(await runTests(${LABEL} + " worker_threads", tests));`,
      `}`,
    ].join("\n"),
  },
  {
    file: "web_worker.mjs",
    platform: "browser",
    entry: [
      POLYFILLS,
      `import { checks } from "./tests/runtimes/web_worker.ts";`,
      `import { exitWith, runTests } from "${SHIM}";`,
      `const child = new URL("./web_child.mjs", import.meta.url);`,
      `const tests = checks.map((check) => ({ name: check.name, fn: () => check.run(child) }));`,
      `exitWith(await runTests(${LABEL} + " Web Worker", tests));`,
    ].join("\n"),
  },
  { file: "web_child.mjs", platform: "browser", entry: `import "./tests/runtimes/web_child.ts";` },
  { file: "signal_exit.mjs", platform: "node", entry: `import "./tests/runtimes/signal_exit.ts";` },
  {
    // The server's socket and the run's own database come from the runner. No exit call:
    // the process must end by itself once every client is closed, or the watchdog (whose
    // timer keeps nothing alive) fails the run.
    file: "redis.mjs",
    platform: "node",
    external: EXTERNAL,
    entry: [
      POLYFILLS,
      `import process from "node:process";`,
      `import { checks } from "./tests/runtimes/redis.ts";`,
      `import { exitWith, runTests } from "${SHIM}";`,
      `const path = process.env.BATON_REDIS_SOCKET;`,
      `if (!path) throw new Error("BATON_REDIS_SOCKET is not set: run deno task test:runtimes");`,
      `const place = { path, db: Number(process.env.BATON_REDIS_DB) };`,
      `const tests = checks.map((check) => ({ name: check.name, fn: () => check.run(place) }));`,
      `exitWith(await runTests(${LABEL} + " redis", tests));`,
      `setTimeout(() => {`,
      `  console.log("FAILED the process did not end by itself within ${EXIT_GRACE_MS} ms of its last check");`,
      `  process.exit(1);`,
      `}, ${EXIT_GRACE_MS}).unref();`,
    ].join("\n"),
  },
];

async function bundle(alias: Record<string, string>): Promise<void> {
  const esbuild = createRequire(`${CACHE}/package.json`)("esbuild") as {
    build(options: unknown): Promise<unknown>;
    stop(): Promise<void> | void;
  };
  await Deno.mkdir(OUT, { recursive: true });
  try {
    await Promise.all(BUNDLES.map((entry) =>
      esbuild.build({
        stdin: { contents: entry.entry, resolveDir: ROOT, loader: "ts", sourcefile: entry.file },
        bundle: true,
        format: "esm",
        platform: entry.platform,
        target: "es2022",
        outfile: `${OUT}/${entry.file}`,
        alias,
        nodePaths: [`${CACHE}/node_modules`],
        inject: [`${ROOT}tools/runtimes/shim.ts`],
        // fake-timers reaches for node's util only where \`process\` exists: a real
        // require on Node and Bun, never called in the browser.
        ...(entry.platform === "node"
          ? {
            banner: {
              js:
                `import { createRequire } from "node:module"; const require = createRequire(import.meta.url);`,
            },
          }
          : { external: ["util"] }),
        ...(entry.external ? { external: entry.external } : {}),
        logLevel: "error",
      })
    ));
  } finally {
    await esbuild.stop();
  }
}

/** One run's reported counts, read from its output. */
interface Result {
  label: string;
  passed: number;
  failed: number;
  ignored?: number;
}

function results(output: string, what: string, code: number): Result[] {
  const found: Result[] = [];
  for (const line of output.split("\n")) {
    const match = /^(.+): (\d+) passed, (\d+) failed(?:, (\d+) ignored)?$/.exec(line.trim());
    if (match) {
      const [, label, passed, failed, ignored] = match;
      found.push({ label: label!, passed: Number(passed), failed: Number(failed) });
      if (ignored !== undefined) found.at(-1)!.ignored = Number(ignored);
    }
  }
  if (found.length === 0) {
    console.log(output);
    return [{ label: `${what} (no count line, exit code ${code})`, passed: 0, failed: 1 }];
  }
  if (code !== 0 && found.every((result) => result.failed === 0)) {
    console.log(output);
    found.push({ label: `${what} (exit code ${code})`, passed: 0, failed: 1 });
  }
  return found;
}

async function runFile(
  runtime: string,
  label: string,
  file: string,
  env?: Record<string, string>,
): Promise<Result[]> {
  const { code, output } = await run(runtime, [`${OUT}/${file}`], env ? { env } : {});
  // Failures are printed by the run itself; pass them on.
  for (const line of output.split("\n")) {
    if (/^(FAILED|ignored| {2})/.test(line)) console.log(line);
  }
  return results(output, `${label} ${file}`, code);
}

async function chromium(): Promise<Result[]> {
  const executable = Deno.env.get("BATON_CHROMIUM") ??
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
  if (executable === undefined) {
    return [{ label: "chromium (not installed: apt-get install chromium)", passed: 0, failed: 1 }];
  }
  const { code, output } = await run("node", [
    `${ROOT}tools/runtimes/chromium.mjs`,
    CACHE,
    executable,
    "core.browser.mjs",
    "web_worker.mjs",
  ]);
  for (const line of output.split("\n")) {
    if (/^(FAILED|ignored| {2})/.test(line)) console.log(line);
  }
  return results(output, "chromium", code);
}

/** A polyfill for the tests must not stand in for something baton's own code needs. */
async function checkSourceNeedsNoPolyfill(): Promise<void> {
  const { POLYFILLED } = await import("./polyfills.ts");
  const used: string[] = [];
  for await (const file of walk(`${ROOT}src`)) {
    // Code only: JSDoc examples run on Deno.
    const code = (await Deno.readTextFile(file)).split("\n")
      .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
    for (const name of POLYFILLED) if (code.includes(name)) used.push(`${file}: ${name}`);
  }
  if (used.length > 0) {
    throw new Error(`src/ uses what only the tests' polyfills provide:\n${used.join("\n")}`);
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const started = performance.now();
await checkSourceNeedsNoPolyfill();
const { packages, alias } = await npmImports();
await install({ ...TOOLS, ...packages });
await bundle(alias);
if (Deno.args.includes("--bundle-only")) Deno.exit(0);

const node24 = `${CACHE}/node_modules/node/bin/node`;
const bun = `${CACHE}/node_modules/bun/bin/bun.exe`;

/** The throwaway server of the Redis runs, or why there is none. */
let server: RedisServer | string;
try {
  server = await startRedisServer();
} catch (error) {
  server = (error as Error).message;
}
// An interrupted task stops its server too.
const interrupted = async () => {
  if (typeof server !== "string") await server.stop();
  Deno.exit(130);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, interrupted);

/** The Redis checks on `runtime`, in a database no other run uses. */
function redis(runtime: string, label: string, db: number): Promise<Result[]> {
  if (typeof server === "string") {
    return Promise.resolve([{
      label: `${label} redis (no server: ${server})`,
      passed: 0,
      failed: 1,
    }]);
  }
  return runFile(runtime, label, "redis.mjs", {
    BATON_REDIS_SOCKET: server.path,
    BATON_REDIS_DB: String(db),
  });
}

// Two at a time: the machine has two cores, and the runs do not share state.
const jobs: (() => Promise<Result[]>)[] = [
  () => chromium(), // the longest: first, while the other lane takes the rest
  () => runFile("node", "node", "core.mjs"),
  () => runFile(node24, "node 24", "core.mjs"),
  () => runFile(bun, "bun", "core.mjs"),
  () => runFile("node", "node", "node_threads.mjs"),
  () => runFile(node24, "node 24", "node_threads.mjs"),
  () => runFile(bun, "bun", "node_threads.mjs"),
  () => runFile(bun, "bun", "web_worker.mjs"),
  () => redis("node", "node", 1),
  () => redis(node24, "node 24", 2),
  () => redis(bun, "bun", 3),
  () => runFile("node", "node", "signal_exit.mjs"),
  () => runFile(node24, "node 24", "signal_exit.mjs"),
  () => runFile(bun, "bun", "signal_exit.mjs"),
  () => runFile(Deno.execPath(), "deno", "signal_exit.mjs"),
];
let next = 0;
const lane = async () => {
  const done: Result[] = [];
  while (next < jobs.length) done.push(...await jobs[next++]!());
  return done;
};
let all: Result[];
try {
  all = (await Promise.all([lane(), lane()])).flat();
} finally {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.removeSignalListener(signal, interrupted);
  }
  if (typeof server !== "string") await server.stop();
}
all.sort((a, b) => a.label.localeCompare(b.label));
let passed = 0;
let failed = 0;
for (const result of all) {
  const ignored = result.ignored ? `, ${result.ignored} ignored` : "";
  console.log(`${result.label}: ${result.passed} passed, ${result.failed} failed${ignored}`);
  passed += result.passed;
  failed += result.failed;
}
const seconds = ((performance.now() - started) / 1000).toFixed(0);
console.log(`runtimes (${seconds} s): ${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
