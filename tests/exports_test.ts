/**
 * The entry points as the contract's conventions say (issue 11): `deno doc`
 * lists each public symbol of an entry once, `mod.ts` holds the one-thread
 * primitives and their errors and nothing of the worker or Redis layers, and
 * no published class shows a `_`-prefixed member or a computed-symbol member
 * other than the language's protocols (`Symbol.asyncIterator`,
 * `Symbol.dispose`, ...). The inspect views live on the prototypes, out of the
 * published surface (see `src/_inspect.ts`).
 */

import { assert, assertEquals } from "@std/assert";
import * as mod from "../mod.ts";
import * as workerModule from "../src/worker/mod.ts";
import * as redisModule from "../src/redis/mod.ts";

const ROOT = new URL("../", import.meta.url);

/** The computed members a class may have: the protocols of the language. */
const PROTOCOLS = new Set([
  "[Symbol.asyncIterator]",
  "[Symbol.iterator]",
  "[Symbol.dispose]",
  "[Symbol.asyncDispose]",
]);

interface DocDeclaration {
  kind: string;
  def?: {
    methods?: { name: string }[];
    properties?: { name: string }[];
  };
}

interface DocSymbol {
  name: string;
  declarations: DocDeclaration[];
}

async function docSymbols(entry: string): Promise<DocSymbol[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const doc = JSON.parse(new TextDecoder().decode(stdout)) as {
    nodes: Record<string, { symbols: DocSymbol[] }>;
  };
  const modules = Object.values(doc.nodes);
  assertEquals(modules.length, 1, `one module documented for ${entry}`);
  return modules[0]!.symbols;
}

/** The entry points of deno.json, by export name. */
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
  exports: Record<string, string>;
};
const ENTRIES = Object.entries(config.exports);

for (const [exportName, entry] of ENTRIES) {
  Deno.test(`Conventions: deno doc lists each symbol of ${exportName} once, with one declaration`, async () => {
    const symbols = await docSymbols(entry);
    assert(symbols.length > 0, `${entry} documents something`);
    const seen = new Map<string, number>();
    for (const symbol of symbols) seen.set(symbol.name, (seen.get(symbol.name) ?? 0) + 1);
    const repeated = [...seen].filter(([, count]) => count > 1).map(([name]) => name);
    assertEquals(repeated, [], `listed more than once in ${entry}`);
    const doubled = symbols
      .filter((symbol) => symbol.declarations.length !== 1)
      .map((symbol) => `${symbol.name}: ${symbol.declarations.map((d) => d.kind).join(", ")}`);
    assertEquals(doubled, [], `symbols of ${entry} with more than one declaration`);
  });

  Deno.test(`Conventions: no published class of ${exportName} has a _ member or a computed one beyond the protocols`, async () => {
    const offending: string[] = [];
    for (const symbol of await docSymbols(entry)) {
      for (const declaration of symbol.declarations) {
        if (declaration.kind !== "class") continue;
        const members = [
          ...(declaration.def?.methods ?? []),
          ...(declaration.def?.properties ?? []),
        ];
        for (const { name } of members) {
          const computed = name.startsWith("[") && !PROTOCOLS.has(name);
          if (name.startsWith("_") || computed) offending.push(`${symbol.name}#${name}`);
        }
      }
    }
    assertEquals(offending, []);
  });
}

Deno.test("Conventions: mod.ts holds the one-thread primitives and their errors, nothing of the worker or Redis layers", async () => {
  const names = (await docSymbols("mod.ts")).map((symbol) => symbol.name).sort();
  assertEquals(names, [
    "Barrier",
    "BarrierOptions",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "Held",
    "LifoQueue",
    "Lock",
    "PeriodicTimer",
    "PriorityQueue",
    "PriorityQueueOptions",
    "Queue",
    "QueueEmpty",
    "QueueFull",
    "QueueOptions",
    "QueueShutDown",
    "Semaphore",
    "WaitOptions",
    "defaultCompare",
  ]);
  // The runtime values too, against what the other entries export.
  const values = new Set<unknown>(Object.values(mod));
  const leaked = [
    ...Object.entries(workerModule),
    ...Object.entries(redisModule),
  ].filter(([, value]) => values.has(value)).map(([name]) => name);
  assertEquals(leaked, []);
});
