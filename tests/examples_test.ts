/**
 * Runs every example as a subprocess (`deno task example:<name>`, with the
 * deno that runs the tests) and checks what it printed: exit status 0 within
 * 10 s, nothing on stderr (so no baton `onError` report either), and the
 * facts each program promises in its `summary:` lines — what was produced
 * was consumed, the counts, and the order where the program keeps one.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);
const LIMIT_MS = 10_000;

/** Every example, in the order of the issue; the first test checks it matches the folders and tasks. */
const EXAMPLES = [
  "isolation",
  "producer-consumer",
  "sentinel",
  "joinable",
  "handshake",
  "flow-control",
  "priority",
  "odd-even",
  "pipe",
  "event-start",
  "semaphore",
  "periodic-timer",
  "crawler",
  "async-pipeline",
  "consumer-owned",
  "distributed",
];

interface Run {
  lines: string[];
  /** The `key=value` pairs of each `summary:` line, in order. */
  summaries: Record<string, string>[];
}

async function runExample(name: string): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", `example:${name}`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill();
  }, LIMIT_MS);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const out = decoder.decode(stdout);
  const err = decoder.decode(stderr);
  assert(!timedOut, `example:${name} did not exit within ${LIMIT_MS} ms:\n${out}${err}`);
  assertEquals(code, 0, `example:${name} exited ${code}:\n${out}${err}`);
  assertEquals(err.trim(), "", `example:${name} wrote to stderr:\n${err}`);
  const lines = out.trimEnd().split("\n");
  const summaries = lines.filter((line) => line.startsWith("summary: ")).map((line) =>
    Object.fromEntries(
      line.slice("summary: ".length).split(" ").map((pair) => pair.split("=") as [string, string]),
    )
  );
  assert(summaries.length > 0, `example:${name} printed no summary line:\n${out}`);
  return { lines, summaries };
}

const num = (value: string | undefined): number => {
  assert(value !== undefined && /^-?\d+$/.test(value), `not an integer: ${value}`);
  return Number(value);
};

Deno.test("examples: every folder has its task and a test here, and `deno task examples` exists", async () => {
  const folders: string[] = [];
  for await (const entry of Deno.readDir(new URL("examples/", ROOT))) {
    if (entry.isDirectory) folders.push(entry.name);
  }
  assertEquals(folders.sort(), [...EXAMPLES].sort());
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const tasks = Object.keys(config.tasks).filter((task) => task.startsWith("example:"));
  assertEquals(tasks.sort(), EXAMPLES.map((name) => `example:${name}`).sort());
  assert(typeof config.tasks.examples === "string", "deno.json has no `examples` task");
});

Deno.test("example isolation: module state stays per thread; data crosses only through the queue", async () => {
  const [summary] = (await runExample("isolation")).summaries;
  assertEquals(summary, {
    worker_seen_at_start: "0",
    worker_notes: "3",
    main_notes: "1",
    received: "3",
  });
});

Deno.test("example producer-consumer: everything produced is consumed, in order", async () => {
  const [summary] = (await runExample("producer-consumer")).summaries;
  assertEquals(summary, { produced: "20", consumed: "20", ordered: "true" });
});

Deno.test("example sentinel: all three ways stop every consumer and lose nothing", async () => {
  const { summaries } = await runExample("sentinel");
  assertEquals(summaries.map((s) => s.part), ["one-per-consumer", "put-back", "shutdown"]);
  for (const summary of summaries) {
    assertEquals([summary.produced, summary.consumed, summary.matched], ["20", "20", "true"]);
  }
  assertEquals(summaries.map((s) => s.sentinels), ["3", "1", "0"]);
  assertEquals(summaries.map((s) => s.left), ["0", "1", "0"]); // the put-back sentinel stays
});

Deno.test("example joinable: the producers' join returns once every item is processed", async () => {
  const [summary] = (await runExample("joinable")).summaries;
  assertEquals(summary, { produced: "15", processed: "15", unfinished: "0" });
});

Deno.test("example handshake: each item is confirmed after it is processed, before the next is sent", async () => {
  const { lines, summaries } = await runExample("handshake");
  assertEquals(summaries[0], { sent: "3", processed: "3", confirmed: "3", in_order: "true" });
  const expected = [1, 2, 3].flatMap((n) => [
    `producer: sent item ${n}, waiting for its Event`,
    `consumer: processed item ${n} (payload ${n}), setting its Event`,
    `producer: item ${n} was processed`,
  ]);
  assertEquals(lines.slice(0, expected.length), expected);
});

Deno.test("example flow-control: blocking puts lose nothing; putNowait drops only on QueueFull", async () => {
  const { lines, summaries } = await runExample("flow-control");
  const summary = summaries[0]!;
  const [blocking, tried, accepted, dropped, consumed] = [
    num(summary.blocking),
    num(summary.tried),
    num(summary.accepted),
    num(summary.dropped),
    num(summary.consumed),
  ];
  assertEquals([blocking, tried], [8, 6]);
  assertEquals(accepted + dropped, tried);
  assert(accepted >= 1, "the queue had room for at least one putNowait");
  assertEquals(consumed, blocking + accepted); // what got in was consumed, nothing else
  const dropLines = lines.filter((line) => /^producer: queue full, dropped item \d+$/.test(line));
  assertEquals(dropLines.length, dropped);
});

Deno.test("example priority: smallest priority first; equal priorities keep each producer's order", async () => {
  const { lines, summaries } = await runExample("priority");
  assertEquals(summaries[0], { produced: "12", taken: "12", priorities: "1,2,3" });
  const rows = lines.filter((line) => line.startsWith("priority "));
  assertEquals(rows.map((row) => row.split(":")[0]), ["priority 1", "priority 2", "priority 3"]);
  const names = rows.flatMap((row) => row.split(": ")[1]!.split(" "));
  assertEquals(new Set(names).size, 12);
  for (const row of rows) {
    const lastIndex = new Map<string, number>();
    for (const name of row.split(": ")[1]!.split(" ")) {
      const [producer, index] = [name[0]!, Number(name.slice(1))];
      assert((lastIndex.get(producer) ?? 0) < index, `${name} came out of order in "${row}"`);
      lastIndex.set(producer, index);
    }
  }
});

Deno.test("example odd-even: both ways deliver each number to its consumer; routing puts nothing back", async () => {
  const { summaries } = await runExample("odd-even");
  assertEquals(summaries.map((s) => s.part), ["naive", "routed"]);
  for (const summary of summaries) {
    assertEquals(
      [summary.consumed, summary.odd, summary.even, summary.correct],
      ["20", "10", "10", "true"],
    );
  }
  assertEquals([summaries[1]!.putback, summaries[1]!.ordered], ["0", "true"]);
});

Deno.test("example pipe: duplex exchange in order, one-way until end of stream", async () => {
  const { lines, summaries } = await runExample("pipe");
  assertEquals(summaries[0], {
    duplex_exchanges: "3",
    duplex_answered: "3",
    oneway_sent: "5",
    oneway_received: "5",
    oneway_same: "true",
  });
  assertEquals(lines.slice(0, 4), [
    `ping: sent "ping 1", got "pong 1"`,
    `ping: sent "ping 2", got "pong 2"`,
    `ping: sent "ping 3", got "pong 3"`,
    "pong: PipeClosed after 3 messages: end of stream",
  ]);
});

Deno.test("example event-start: no worker starts before set(); all three start after it", async () => {
  const [summary] = (await runExample("event-start")).summaries;
  assertEquals(summary, { waiting: "3", early: "0", started: "3", after_set: "3" });
});

Deno.test("example semaphore: never more than five connections at once; every permit returned", async () => {
  const { lines, summaries } = await runExample("semaphore");
  const summary = summaries[0]!;
  assertEquals([summary.tasks, summary.limit, summary.free_at_end], ["8", "5", "5"]);
  const maxLive = num(summary.max_live);
  assert(maxLive >= 1 && maxLive <= 5, `max_live=${maxLive}`);
  const live = lines.find((line) => line.startsWith("live connections: "))!
    .slice("live connections: ".length).split(" ").map(Number);
  assertEquals(live.length, 16);
  assertEquals(live.at(-1), 0);
  live.forEach((count, i) => assertEquals(Math.abs(count - (live[i - 1] ?? 0)), 1));
  assertEquals(Math.max(...live), maxLive);
});

Deno.test("example periodic-timer: countdown and countup move one step per tick, together", async () => {
  const { lines, summaries } = await runExample("periodic-timer");
  assertEquals(summaries[0], { ticks: "5", countdown: "5,4,3,2,1", countup: "1,2,3,4,5" });
  assertEquals(
    lines.slice(0, 5),
    [1, 2, 3, 4, 5].map((n) => `tick ${n}: countdown ${6 - n}, countup ${n}`),
  );
});

Deno.test("example crawler: every URL fetched once, every line printed whole", async () => {
  const { lines, summaries } = await runExample("crawler");
  assertEquals(summaries[0], { urls: "12", fetched: "12", printed: "12", workers: "5" });
  const pages = lines.filter((line) => !line.startsWith("summary: ")).map((line) => {
    const match = line.match(
      /^fetcher-[1-5]: (https:\/\/example\.test\/page\/\d+) \(\d+ bytes, \d+ ms\)$/,
    );
    if (match === null) throw new Error(`not a whole line: "${line}"`);
    return match[1];
  });
  assertEquals(pages.length, 12);
  assertEquals(new Set(pages).size, 12);
});

Deno.test("example async-pipeline: every job consumed once and printed through the print queue", async () => {
  const { lines, summaries } = await runExample("async-pipeline");
  assertEquals(summaries[0], { produced: "9", consumed: "9", printed: "9", all: "true" });
  const squares = lines.filter((line) => / squared is /.test(line));
  assertEquals(squares.length, 9);
});

Deno.test("example consumer-owned: a queue owned by the consumer worker gets every item once, in order, within maxsize", async () => {
  const [summary] = (await runExample("consumer-owned")).summaries;
  assertEquals(summary, {
    produced: "200000",
    consumed: "200000",
    ordered: "true",
    bounded: "true",
  });
});
