// Bundles the dashboard into dist/dashboard/ (index.html, app.js, app.css): `npm run build:dashboard`.
// Everything the browser loads is local (no CDN), so the dashboard works offline.
// Tests import buildDashboard(outDir) to bundle a fresh copy into a temporary folder.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** Writes index.html, app.js (+ map) and app.css into `outDir`. */
export async function buildDashboard(outDir = here("../../dist/dashboard/")) {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [here("src/main.ts")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: true,
    logLevel: "warning",
  });
  const css = await Promise.all([readFile(here("../../node_modules/uplot/dist/uPlot.min.css"), "utf8"), readFile(here("style.css"), "utf8")]);
  await writeFile(join(outDir, "app.css"), css.join("\n"));
  await copyFile(here("index.html"), join(outDir, "index.html"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildDashboard();
