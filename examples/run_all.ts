/**
 * Runs every `example:<name>` task of deno.json, one after the other, and
 * prints one line each with its status and time; exits 1 if any failed
 * (its output is printed then) or ran longer than 10 s.
 *
 * Run: deno task examples
 */

const LIMIT_MS = 10_000;

const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
const tasks = Object.keys(config.tasks ?? {}).filter((name) => name.startsWith("example:"));

let failed = 0;
const started = performance.now();
for (const task of tasks) {
  const begin = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", task],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill(), LIMIT_MS);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const seconds = (performance.now() - begin) / 1000;
  const ok = code === 0 && seconds * 1000 < LIMIT_MS;
  console.log(`${ok ? "ok  " : "FAIL"}  ${seconds.toFixed(2).padStart(5)} s  ${task}`);
  if (!ok) {
    failed++;
    const decoder = new TextDecoder();
    const output = (decoder.decode(stdout) + decoder.decode(stderr)).trimEnd();
    console.log(output.replace(/^/gm, "        | "));
  }
}
const total = ((performance.now() - started) / 1000).toFixed(2);
console.log(`${tasks.length - failed} of ${tasks.length} examples ok in ${total} s`);
if (failed > 0) Deno.exit(1);
