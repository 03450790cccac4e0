/**
 * The coverage threshold: reads what `deno test --coverage=cov` collected,
 * writes `cov/lcov.info` and `cov/summary.txt`, prints lines and branches per
 * file of `src/`, and exits 1 when either total is below the threshold.
 *
 *   deno run --allow-read --allow-write --allow-run .ci/coverage.ts [cov] [--min=97]
 *
 * The figures are lcov's: LH/LF (lines hit of lines found) and BRH/BRF
 * (branches taken of branches found), summed over every file of `src/`, so a
 * large file weighs by its size. `deno task coverage` runs the suite and then
 * this; `.ci/run` runs it on the coverage of its one test run.
 *
 * @module
 */

const args = Deno.args.filter((arg) => !arg.startsWith("--"));
const minArg = Deno.args.find((arg) => arg.startsWith("--min="));
const min = minArg === undefined ? 97 : Number(minArg.slice("--min=".length));
if (!(min >= 0 && min <= 100)) throw new RangeError(`--min must be 0..100, received ${minArg}`);
const dir = args[0] ?? "cov";
const lcovPath = `${dir}/lcov.info`;

// Tests kill `deno run` subprocesses on purpose (SIGKILL of a Redis client, a program whose
// non-daemon process never ends); they inherit DENO_COVERAGE_DIR, and a process killed while
// it wrote its profile leaves a file cut short, which `deno coverage` refuses whole. Those
// profiles cover no `src/` line the suite's own run does not: set them aside, and say so.
let cut = 0;
for await (const entry of Deno.readDir(dir)) {
  if (!entry.isFile || !entry.name.endsWith(".json")) continue;
  try {
    JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}`));
  } catch {
    await Deno.remove(`${dir}/${entry.name}`);
    cut++;
  }
}
if (cut > 0) console.log(`set aside ${cut} profile(s) cut short by a killed subprocess`);

const deno = Deno.execPath();

/** Every TypeScript module under `src/`. */
async function sources(path: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) found.push(...await sources(child));
    else if (entry.isFile && entry.name.endsWith(".ts")) found.push(child);
  }
  return found.sort();
}

// A doc test's snippet is transpiled into the cache entry of the module it came from (the cache
// path drops the `#12-20.ts` part), so the last snippet run leaves that module's entry holding
// the snippet, and `deno coverage` skips the whole module ("missing transpiled source"). The
// modules are transpiled again first, which puts their own code back in the cache.
const cached = await new Deno.Command(deno, {
  args: ["cache", "--quiet", ...await sources("src")],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!cached.success) {
  console.error("deno cache failed on src/: the coverage of src/ cannot be read");
  Deno.exit(1);
}

const out = await new Deno.Command(deno, {
  // A doc test's snippet is a module of its own (`src/x.ts#12-20.ts`); counted with `src/`, it made
  // `deno coverage` skip the whole file it came from (missing transpiled source): set aside.
  args: [
    "coverage",
    dir,
    "--include=^file://.*/src/",
    "--exclude=\\.ts#",
    "--lcov",
    `--output=${lcovPath}`,
  ],
  stdout: "piped",
  stderr: "piped",
}).output();
const warnings = new TextDecoder().decode(out.stderr);
if (warnings.length > 0) console.error(warnings.trimEnd());
if (!out.success) {
  console.error(`deno coverage failed on ${dir}/ (run the suite with --coverage=${dir} first)`);
  Deno.exit(1);
}
// A module of src/ that deno coverage skipped would leave the threshold measured without it.
const skipped = [
  ...warnings.matchAll(/Missing transpiled source code for: "([^"]*\/src\/[^"#]*)"/g),
]
  .map((match) => match[1]);
if (skipped.length > 0) {
  console.error(`deno coverage skipped ${skipped.length} module(s) of src/: ${skipped.join(", ")}`);
  Deno.exit(1);
}

interface FileFigures {
  file: string;
  linesFound: number;
  linesHit: number;
  branchesFound: number;
  branchesHit: number;
}

const files: FileFigures[] = [];
const srcMarker = "/src/";
for (const record of (await Deno.readTextFile(lcovPath)).split("end_of_record")) {
  const field = (name: string): string | undefined =>
    record.match(new RegExp(`^${name}:(.*)$`, "m"))?.[1];
  const source = field("SF");
  if (source === undefined) continue;
  const count = (name: string): number => Number(field(name) ?? 0);
  files.push({
    file: source.slice(source.lastIndexOf(srcMarker) + 1),
    linesFound: count("LF"),
    linesHit: count("LH"),
    branchesFound: count("BRF"),
    branchesHit: count("BRH"),
  });
}
if (files.length === 0) {
  console.error(`no file of src/ in ${lcovPath}`);
  Deno.exit(1);
}
files.sort((a, b) => a.file.localeCompare(b.file));

const percent = (hit: number, found: number): number => found === 0 ? 100 : (100 * hit) / found;
const cell = (hit: number, found: number): string =>
  `${percent(hit, found).toFixed(1).padStart(6)}% ${`${found - hit}`.padStart(4)} missed`;
const width = Math.max(...files.map((f) => f.file.length), "total".length);
const lines = [
  `${"file".padEnd(width)} | ${"lines".padEnd(19)} | branches`,
  `${"-".repeat(width)}-|-${"-".repeat(19)}-|-${"-".repeat(19)}`,
];
const total: FileFigures = {
  file: "total",
  linesFound: 0,
  linesHit: 0,
  branchesFound: 0,
  branchesHit: 0,
};
for (const f of files) {
  lines.push(
    `${f.file.padEnd(width)} | ${cell(f.linesHit, f.linesFound)} | ${
      cell(f.branchesHit, f.branchesFound)
    }`,
  );
  total.linesFound += f.linesFound;
  total.linesHit += f.linesHit;
  total.branchesFound += f.branchesFound;
  total.branchesHit += f.branchesHit;
}
const linePercent = percent(total.linesHit, total.linesFound);
const branchPercent = percent(total.branchesHit, total.branchesFound);
lines.push(
  `${"-".repeat(width)}-|-${"-".repeat(19)}-|-${"-".repeat(19)}`,
  `${"total".padEnd(width)} | ${cell(total.linesHit, total.linesFound)} | ${
    cell(total.branchesHit, total.branchesFound)
  }`,
);
const passed = linePercent >= min && branchPercent >= min;
lines.push(
  `coverage of src/: lines ${linePercent.toFixed(2)}%, branches ${
    branchPercent.toFixed(2)
  }% (threshold ${min}%): ${passed ? "ok" : "BELOW THRESHOLD"}`,
);
const summary = lines.join("\n") + "\n";
await Deno.writeTextFile(`${dir}/summary.txt`, summary);
console.log(summary + `report: ${lcovPath}, ${dir}/summary.txt`);
if (!passed) Deno.exit(1);
