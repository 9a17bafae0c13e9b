import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Serves the built dashboard (a single-page app) from `root`: files by path, `index.html` for
 * extension-less paths the app routes itself, 404 for missing assets. Paths that resolve outside
 * `root` (`..`, encoded `%2e%2e`, symlinks) are refused with 404.
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, pathname: string): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" }).end("use GET\n");
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" }).end("malformed percent-encoding in the path\n");
    return;
  }
  const file = (await insideRoot(root, decoded === "/" ? "/index.html" : decoded)) ?? (extname(decoded) ? undefined : await insideRoot(root, "/index.html"));
  if (!file) {
    const index = await insideRoot(root, "/index.html");
    const hint = index ? "no such file" : `the dashboard is not built (no ${resolve(root, "index.html")}); build it, or use /graphql directly`;
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end(`${hint}\n`);
    return;
  }
  res.writeHead(200, {
    "Content-Type": CONTENT_TYPES[extname(file.path).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": file.size,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": file.path.endsWith(".html") ? "no-cache" : "public, max-age=300",
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file.path)
    .on("error", () => res.destroy())
    .pipe(res);
}

/** The regular file at `relative` under `root`, after resolving symlinks, or undefined. */
async function insideRoot(root: string, relative: string): Promise<{ path: string; size: number } | undefined> {
  if (relative.includes("\0")) return undefined;
  try {
    const realRoot = await realpath(root);
    const real = await realpath(resolve(realRoot, `.${relative}`));
    if (!real.startsWith(realRoot + sep)) return undefined;
    const info = await stat(real);
    return info.isFile() ? { path: real, size: info.size } : undefined;
  } catch {
    return undefined;
  }
}
