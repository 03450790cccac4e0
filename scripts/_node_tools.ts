/**
 * The npm tools the packaging checks run (esbuild, TypeScript's `tsc`, Node's
 * types), installed once at pinned versions into the git-ignored
 * `.node-tools/` folder with the machine's `npm`.
 *
 * @module
 */

/** The pinned tools: what `deno task size` and `deno task check:node` measure with. */
export const TOOLS: Record<string, string> = {
  "esbuild": "0.28.2",
  "typescript": "5.9.3",
  "@types/node": "20.19.25",
};

/** The repository's root folder. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** Where the tools are installed. */
export const PREFIX: string = `${ROOT}.node-tools`;

async function installed(name: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(`${PREFIX}/node_modules/${name}/package.json`);
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Installs the pinned tools unless they are there already. */
export async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const [name, version] of Object.entries(TOOLS)) {
    if (await installed(name) !== version) missing.push(`${name}@${version}`);
  }
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(" ")} into .node-tools/`);
  const specs = Object.entries(TOOLS).map(([name, version]) => `${name}@${version}`);
  const { code } = await new Deno.Command("npm", {
    args: [
      "install",
      "--silent",
      "--no-audit",
      "--no-fund",
      "--no-save",
      "--prefix",
      PREFIX,
      ...specs,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`npm install failed with exit code ${code}`);
}

/** Runs a tool's command (a file under `.node-tools/node_modules/.bin`) and returns its output. */
export async function run(
  bin: string,
  args: string[],
  cwd: string = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(`${PREFIX}/node_modules/.bin/${bin}`, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}
