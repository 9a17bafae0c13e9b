/**
 * The import graph of the source tree, read from the .ts files themselves (value, type and dynamic
 * imports alike): no file imports itself back through others, no folder imports a folder that
 * imports it back, dependencies go one way (clients -> server -> gpu-runner), and only server/store
 * opens DuckDB. docs/ARCHITECTURE.md states these rules; this test keeps them.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PARTS = ["gpu-runner", "server", "clients"];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Every specifier a file imports, as written. */
function specifiers(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

/** file -> the source files it imports (relative specifiers). */
const graph = new Map<string, string[]>();
const packages = new Map<string, string[]>();
for (const file of PARTS.flatMap(sourceFiles)) {
  const local: string[] = [];
  const external: string[] = [];
  for (const spec of specifiers(file)) {
    if (spec.startsWith(".")) local.push(relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, ".ts"));
    else external.push(spec);
  }
  graph.set(file, local);
  packages.set(file, external);
}

/** Strongly connected components with more than one member (Tarjan). */
function cycles(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

test("the source tree is read: every relative import names a file that exists", () => {
  assert.ok(graph.size > 200, `${graph.size} files`);
  for (const [file, imports] of graph) for (const target of imports) assert.ok(graph.has(target), `${file} imports ${target}, which is not a source file`);
});

test("no file imports itself back through other files", () => {
  assert.deepEqual(cycles(graph), []);
});

test("no folder imports a sibling folder that imports it back", () => {
  // A folder and its own subfolder may import each other (a page registry and its pages); siblings may not.
  const folders = new Map<string, Set<string>>();
  for (const [file, imports] of graph) {
    const from = dirname(file);
    for (const target of imports) {
      const to = dirname(target);
      if (to === from || to.startsWith(`${from}/`) || from.startsWith(`${to}/`)) continue;
      folders.set(from, (folders.get(from) ?? new Set()).add(to));
    }
  }
  assert.deepEqual(cycles(new Map([...folders].map(([k, v]) => [k, [...v]]))), []);
});

test("dependencies go one way: clients -> server -> gpu-runner", () => {
  const rank = (file: string) => PARTS.indexOf(file.split("/")[0]!);
  const upward = [...graph].flatMap(([file, imports]) => imports.filter((t) => rank(t) > rank(file)).map((t) => `${file} -> ${t}`));
  assert.deepEqual(upward, []);
});

test("only server/store opens DuckDB", () => {
  const users = [...packages].filter(([, specs]) => specs.some((s) => s.startsWith("@duckdb/"))).map(([file]) => file);
  assert.ok(users.length > 0);
  assert.deepEqual(users.filter((file) => !file.startsWith("server/store/")), []);
});
