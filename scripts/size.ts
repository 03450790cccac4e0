/**
 * `deno task size`: what a bundler keeps of baton. For each one-thread
 * primitive, a minified esbuild bundle of `import { X } from "@baton/baton"`
 * (mod.ts) against the same import from its own subpath: importing from the
 * main entry must cost at most 1.25 times as much (issue 11), which holds
 * only while every module of mod.ts can be dropped when unused (no top-level
 * side effects, no computed keys; see src/_inspect.ts). Prints a table and
 * exits 1 above the limit.
 *
 * @module
 */

import { ensureTools, ROOT, run } from "./_node_tools.ts";

/** The most a bundle from the main entry may weigh against one from the subpath. */
export const LIMIT = 1.25;

/** Each symbol with the module of its subpath export. */
const CASES: [string, string][] = [
  ["Lock", "src/lock.ts"],
  ["Queue", "src/queues.ts"],
  ["Condition", "src/condition.ts"],
  ["Event", "src/event.ts"],
  ["Semaphore", "src/semaphore.ts"],
  ["Barrier", "src/barrier.ts"],
  ["PeriodicTimer", "src/periodic_timer.ts"],
];

/** The size in bytes of a minified ESM bundle of `import { name } from module`. */
async function bundleSize(dir: string, name: string, module: string): Promise<number> {
  const entry = `${dir}/${name}_${module.replaceAll("/", "_")}.ts`;
  await Deno.writeTextFile(entry, `export { ${name} } from "${ROOT}${module}";\n`);
  const { code, stdout, stderr } = await run("esbuild", [
    entry,
    "--bundle",
    "--minify",
    "--format=esm",
    "--log-level=warning",
  ]);
  if (code !== 0) throw new Error(`esbuild failed on ${module}: ${stderr}`);
  return new TextEncoder().encode(stdout).length;
}

if (import.meta.main) {
  await ensureTools();
  const dir = await Deno.makeTempDir({ prefix: "baton-size-" });
  let failed = 0;
  try {
    console.log("symbol          from mod.ts   from subpath   ratio");
    for (const [name, module] of CASES) {
      const fromMain = await bundleSize(dir, name, "mod.ts");
      const fromSubpath = await bundleSize(dir, name, module);
      const ratio = fromMain / fromSubpath;
      const over = ratio > LIMIT;
      if (over) failed++;
      console.log(
        `${name.padEnd(15)} ${String(fromMain).padStart(8)} B   ${
          String(fromSubpath).padStart(9)
        } B   ${ratio.toFixed(3)}${over ? `  over ${LIMIT}` : ""}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  if (failed > 0) {
    console.log(`size: ${failed} bundle(s) from mod.ts above ${LIMIT}x their subpath's`);
    Deno.exit(1);
  }
  console.log(`size: every bundle from mod.ts within ${LIMIT}x its subpath's`);
}
