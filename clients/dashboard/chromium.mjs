// The one way skillscope starts a browser (dashboard tests, screenshots.mjs): a system Chromium when
// there is one, else the Chromium that the npm package @sparticuz/chromium ships (a devDependency),
// with that package's own flags (less --single-process: a single-process browser dies when a second
// context opens, and the tests open one per page). Nothing outside npm is needed.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

/** System browsers tried first; CHROMIUM_PATH (an executable) wins over all. */
const SYSTEM_CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

const SYSTEM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches headless Chromium through playwright-core. `env` replaces the browser's environment
 * (e.g. { ...process.env, LANG: "C.UTF-8" } for a POSIX locale). A browser that cannot start
 * throws: callers fail, they do not skip.
 * @param {{ env?: Record<string, string | undefined> }} [options]
 * @returns {Promise<import("playwright-core").Browser>}
 */
export async function launchChromium(options = {}) {
  const system = [process.env.CHROMIUM_PATH, ...SYSTEM_CHROMIUM].find((p) => p && existsSync(p));
  if (system) return chromium.launch({ executablePath: system, args: SYSTEM_ARGS, env: options.env });
  const { default: packaged } = await import("@sparticuz/chromium");
  const args = packaged.args.filter((a) => a !== "--single-process");
  return chromium.launch({ executablePath: await packaged.executablePath(), args, env: options.env });
}
