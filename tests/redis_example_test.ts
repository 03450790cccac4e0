/**
 * `deno task example:distributed`: the crawler across four `deno run`
 * processes through a throwaway Redis server. It exits 0 by itself within
 * the examples' 10 s, writes nothing to stderr, and every URL is fetched
 * and printed exactly once.
 */

import { assert, assertEquals } from "@std/assert";

Deno.test("example distributed: every URL is fetched and printed once, by four processes", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "example:distributed"],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill(), 10_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, `exited ${code}:\n${out}${err}`);
  assertEquals(err.trim(), "");
  const lines = out.trimEnd().split("\n");
  assertEquals(lines.at(-1), "summary: urls=12 fetched=12 printed=12 processes=4");
  const pages = lines.filter((line) => line.includes("https://")).map((line) =>
    line.match(/page\/(\d+) /)![1]
  );
  assertEquals(
    pages.map(Number).sort((a, b) => a - b),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  assert(lines.filter((line) => /: fetched=\d+$/.test(line)).length === 4);
});

Deno.test("example distributed: without REDIS_URL or redis-server it says what to install", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-run",
      "examples/distributed/main.ts",
    ],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
    // no PATH: redis-server cannot be found
    env: { NO_COLOR: "1", PATH: "" },
    clearEnv: true,
  }).output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 1);
  assertEquals(new TextDecoder().decode(stdout), "");
  assert(err.includes("REDIS_URL") && err.includes("apt-get install redis-server"), err);
});
