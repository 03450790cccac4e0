/**
 * Reads a V8 tick log (`deno run --v8-flags=--prof,--prof-sampling-interval=100 ...`
 * writes one `isolate-*.log` per thread: the main thread and every worker)
 * and prints where the ticks fell: per function, and for ticks in native code
 * (Deno's binary, libc) the first JavaScript function on the stack that led
 * there (`postMessage`, a baton function that called `Atomics.notify`, ...).
 *
 * Why not `node --prof-process`: Node 20's tick processor does not read the
 * code records of V8 15's optimised (Turbofan) code and counts their ticks as
 * "unaccounted" (in one two-hop run, 911 of the main thread's 4,914 ticks,
 * most of baton's own code there). This reads every `code-creation` record by
 * its address range and lists them.
 *
 * ```sh
 * deno run --allow-read tools/v8_ticks.ts isolate-0x...-v8.log [rows=30]
 * ```
 *
 * Code that V8 moves after creating it (`code-move`) is rare in these runs
 * and not followed: a tick in moved code is counted as unknown.
 *
 * @module
 */

interface Code {
  start: number;
  end: number;
  name: string;
}

function parse(text: string) {
  const codes: Code[] = [];
  const libraries: Code[] = [];
  const ticks: number[][] = [];
  for (const line of text.split("\n")) {
    const parts = line.split(",");
    if (parts[0] === "code-creation" && parts.length >= 7) {
      const start = parseInt(parts[4]!, 16);
      const size = Number(parts[5]);
      if (Number.isNaN(start) || Number.isNaN(size)) continue;
      codes.push({
        start,
        end: start + size,
        name: `${parts[1]}: ${parts.slice(6).join(",").slice(0, 100)}`,
      });
    } else if (parts[0] === "shared-library" && parts.length >= 4) {
      const name = parts[1]!.split("/").at(-1)!;
      libraries.push({ start: parseInt(parts[2]!, 16), end: parseInt(parts[3]!, 16), name });
    } else if (parts[0] === "tick" && parts.length >= 6) {
      // tick,pc,time,is-external-callback,tos-or-callback,vm-state,stack...
      ticks.push([parts[1]!, ...parts.slice(6)].map((address) => parseInt(address, 16)));
    }
  }
  codes.sort((a, b) => a.start - b.start);
  return { codes, libraries, ticks };
}

/** The code record holding `address` (binary search over sorted starts), if any. */
function find(codes: Code[], address: number): Code | undefined {
  let low = 0;
  let high = codes.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (codes[middle]!.start <= address) low = middle + 1;
    else high = middle - 1;
  }
  const code = codes[high];
  return code !== undefined && address < code.end ? code : undefined;
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function print(title: string, map: Map<string, number>, total: number, rows: number): void {
  console.log(`\n${title}`);
  const sorted = [...map].sort((a, b) => b[1] - a[1]).slice(0, rows);
  for (const [name, ticks] of sorted) {
    console.log(
      `${String(ticks).padStart(7)} ${(ticks / total * 100).toFixed(1).padStart(5)}%  ${name}`,
    );
  }
}

if (import.meta.main) {
  const [file, rowsText] = Deno.args;
  if (file === undefined) {
    console.error("usage: deno run --allow-read tools/v8_ticks.ts isolate-...-v8.log [rows]");
    Deno.exit(2);
  }
  const rows = rowsText === undefined ? 30 : Number(rowsText);
  const { codes, libraries, ticks } = parse(await Deno.readTextFile(file));
  const where = new Map<string, number>();
  const native = new Map<string, number>();
  for (const [pc, ...stack] of ticks) {
    const code = find(codes, pc!);
    if (code !== undefined) {
      count(where, code.name);
      continue;
    }
    const library = libraries.find((lib) => lib.start <= pc! && pc! < lib.end);
    count(where, library === undefined ? "unknown" : `native: ${library.name}`);
    if (library === undefined) continue;
    // The first JavaScript function on the stack: who called into native code.
    const caller = stack.map((address) => find(codes, address)).find((frame) =>
      frame !== undefined && frame.name.startsWith("JS:")
    );
    count(native, `${library.name} ← ${caller?.name ?? "no JavaScript frame"}`);
  }
  console.log(`${file}: ${ticks.length} ticks`);
  print("where the ticks fell", where, ticks.length, rows);
  print("native ticks, by the first JavaScript function on the stack", native, ticks.length, rows);
}
