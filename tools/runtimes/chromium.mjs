// Runs bundles of tools/runtimes/run.ts in headless Chromium, one page each,
// served from a local HTTP server (module workers need a real origin).
// Usage: node chromium.mjs <cache dir> <chromium executable> <bundle.mjs>...
// Prints what each page logs; each page ends with "<label>: N passed, M failed".
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const [cache, executable, ...bundles] = process.argv.slice(2);
const require = createRequire(`${cache}/package.json`);
const { chromium } = require("playwright-core");

/** Longest one page may take (the core suite takes seconds). */
const PAGE_LIMIT_MS = 10 * 60_000;

const server = createServer(async (request, response) => {
  const name = new URL(request.url, "http://localhost").pathname.slice(1);
  if (name === "favicon.ico") {
    response.writeHead(204);
    response.end();
    return;
  }
  if (name === "" || name.endsWith(".html")) {
    const bundle = new URL(request.url, "http://localhost").searchParams.get("bundle");
    response.writeHead(200, { "content-type": "text/html" });
    response.end(`<!doctype html><script type="module" src="/${bundle}"></script>`);
    return;
  }
  try {
    const body = await readFile(`${cache}/out/${name.replace(/[^\w.]/g, "")}`);
    response.writeHead(200, { "content-type": "text/javascript" });
    response.end(body);
  } catch {
    response.writeHead(404);
    response.end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: executable,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let failed = false;
try {
  for (const bundle of bundles) {
    const page = await browser.newPage();
    page.on("console", (message) => console.log(message.text()));
    page.on("pageerror", (error) => console.log(`FAILED page error in ${bundle}: ${error}`));
    // The page calls back when done (no polling: the page's timers are faked by some tests).
    let timer;
    const outcome = new Promise((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no outcome within ${PAGE_LIMIT_MS} ms`)),
        PAGE_LIMIT_MS,
      );
      page.exposeFunction("__batonDone", resolve).catch(reject);
    });
    try {
      await page.goto(`${origin}/index.html?bundle=${bundle}`);
      const { failed: count } = await outcome;
      if (count !== 0) failed = true;
    } catch (error) {
      failed = true;
      console.log(`chromium ${bundle}: 0 passed, 1 failed (${error.message.split("\n")[0]})`);
    } finally {
      clearTimeout(timer);
    }
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
process.exitCode = failed ? 1 : 0;
