#!/usr/bin/env node
/**
 * Renders dashboard figures to PNG in Chromium (chromium.mjs picks the browser), for the README:
 *   node clients/dashboard/screenshots.mjs http://127.0.0.1:4000 docs/figures 1:label 2:lexical_overlap 3:loss
 * Each RUN:METRIC gives run-RUN.png (the run page with METRIC selected) and the run's figures one by one.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { launchChromium } from "./chromium.mjs";

const [url, out, ...specs] = process.argv.slice(2);
if (!url || !out || specs.length === 0) {
  console.error("usage: node clients/dashboard/screenshots.mjs URL OUTDIR RUN:METRIC [RUN:METRIC ...]");
  process.exit(1);
}
/** How long a page may take to load and its panels to answer (a first `significance` of 18432 neurons: about 20 s). */
const LOAD_TIMEOUT_MS = 180_000;
await mkdir(out, { recursive: true });
const browser = await launchChromium();
try {
  for (const spec of specs) {
    const [run, metric] = spec.split(":");
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${url}/#/runs/${run}?metric=${encodeURIComponent(metric)}`);
    await page.waitForLoadState("networkidle", { timeout: LOAD_TIMEOUT_MS });
    const picker = page.locator("select").filter({ has: page.locator(`option[value="${metric}"]`) }).first();
    if (await picker.count()) await picker.selectOption(metric);
    await page.waitForTimeout(1500);
    // a panel says "loading…" until its query answers; a wide model's significance takes a while
    await page.waitForFunction(() => ![...document.querySelectorAll("[data-figure]")].some((f) => f.textContent.includes("loading…")), null, { timeout: LOAD_TIMEOUT_MS });
    await page.screenshot({ path: join(out, `run-${run}.png`), fullPage: true });
    for (const figure of await page.locator("[data-figure]").all()) {
      const name = (await figure.getAttribute("data-figure")).replace(/[^A-Za-z0-9.-]+/g, "_");
      await figure.screenshot({ path: join(out, `run-${run}-${name}.png`) });
    }
    console.log(`run ${run} (${metric}) -> ${out}`);
  }
} finally {
  await browser.close();
}
