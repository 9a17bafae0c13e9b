/**
 * Shared helpers of the reliability tests: a `skillscope serve` child process (so it can be
 * SIGKILLed), GraphQL over HTTP, and a planted task with as many validation rows as a test needs.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";

/** Repository root (this file compiles to dist/test/reliability/). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const PLANTED = join(ROOT, "test/fixtures/planted");
export const PLANTED_MODEL = join(PLANTED, "model");
const CLI = join(ROOT, "dist/clients/cli/main.js");

export interface GqlAnswer<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions: Record<string, unknown> & { code: string } }[];
}

/** POSTs one operation; `token` undefined sends no Authorization header. */
export async function gql<T>(url: string, token: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<GqlAnswer<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  try {
    return { status: res.status, ...(JSON.parse(text) as object) };
  } catch {
    throw new Error(`HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
}

export function ok<T>(answer: GqlAnswer<T>): T {
  assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
  return answer.data!;
}

/** A `skillscope serve` child process with its captured stdout and stderr. */
export interface ServeChild {
  readonly url: string;
  readonly token: string;
  readonly proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGKILL, resolving once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful: drains, closes the database), resolving with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `skillscope serve --port 0 --json` on `dataDir`; rejects with its output if it exits first. */
export async function startServe(dataDir: string, args: readonly string[] = []): Promise<ServeChild> {
  const proc = spawn(process.execPath, [CLI, "serve", "--port", "0", "--json", "--data-dir", dataDir, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 30 s:\n${out}`)), 30_000);
    const onData = () => {
      const line = out.split("\n").find((l) => l.startsWith("{") && l.includes('"url"'));
      if (!line) return;
      clearTimeout(timer);
      proc.stdout!.off("data", onData);
      resolve((JSON.parse(line) as { url: string }).url);
    };
    proc.stdout!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${out}`));
    });
  });
  const token = (await readFile(join(dataDir, "token"), "utf8")).trim();
  return {
    url,
    token,
    proc,
    output: () => out,
    async kill() {
      proc.kill("SIGKILL");
      await exited;
    },
    async stop() {
      proc.kill("SIGTERM");
      return exited;
    },
  };
}

/** Runs `skillscope serve` expecting it to fail; resolves with its exit code and output. */
export function serveFailure(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [CLI, "serve", "--port", "0", "--json", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output: out });
    });
  });
}

/**
 * Writes `<dir>/task.jsonl`: the planted fixture's train rows, and its val rows repeated
 * `valCopies` times (ids made unique) so extraction lasts long enough to be interrupted.
 */
export function writePlantedTask(dir: string, valCopies: number): string {
  const rows = readFileSync(join(PLANTED, "task.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const train = rows.filter((r) => r.split === "train");
  const val = rows.filter((r) => r.split === "val");
  const out = [...train];
  for (let c = 0; c < valCopies; c++) for (const r of val) out.push({ ...r, id: `${String(r.id)}-c${c}` });
  const file = join(dir, "task.jsonl");
  writeFileSync(file, out.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}

/** Registers the planted model and imports `taskFile`; returns their ids. */
export async function registerPlanted(url: string, token: string, taskFile: string): Promise<{ modelId: string; taskId: string }> {
  const model = ok(await gql<{ registerModel: { id: string } }>(url, token, `mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: PLANTED_MODEL }));
  const task = ok(
    await gql<{ importTask: { id: string } }>(url, token, `mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`, {
      i: { name: "colours", path: taskFile, template: "{text} question", verbalizer: { "0": "no", "1": "yes" } },
    }),
  );
  return { modelId: model.registerModel.id, taskId: task.importTask.id };
}

export async function startRun(url: string, token: string, ids: { modelId: string; taskId: string }, options: Record<string, unknown>): Promise<string> {
  const answer = await gql<{ startRun: { id: string } }>(url, token, `mutation ($m: ID!, $t: ID!, $o: RunOptionsInput) { startRun(modelId: $m, taskId: $t, options: $o) { id } }`, {
    m: ids.modelId,
    t: ids.taskId,
    o: options,
  });
  return ok(answer).startRun.id;
}

export async function runStatus(url: string, token: string | undefined, runId: string): Promise<{ status: string; error: string | null }> {
  return ok(await gql<{ run: { status: string; error: string | null } }>(url, token, `query ($id: ID!) { run(id: $id) { status error } }`, { id: runId })).run;
}

/** Polls until the run reaches one of `statuses` (or a terminal status); returns it. */
export async function waitForStatus(url: string, token: string, runId: string, statuses: readonly string[], timeoutMs = 60_000): Promise<{ status: string; error: string | null }> {
  const terminal = new Set([...statuses, "DONE", "FAILED", "CANCELLED", "INTERRUPTED"]);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await runStatus(url, token, runId);
    if (terminal.has(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** neuron id -> max|r| score of `metric`, for every neuron of the run (the planted model has 64). */
export async function allScores(url: string, token: string, runId: string, metric: string): Promise<Map<string, number>> {
  const answer = ok(
    await gql<{ neurons: { edges: { node: { id: string; r: number } }[] } }>(url, token, `query ($r: ID!, $m: String!) { neurons(runId: $r, metric: $m, first: 1000) { edges { node { id r } } } }`, { r: runId, m: metric }),
  );
  return new Map(answer.neurons.edges.map((e) => [e.node.id, e.node.r]));
}

/** Per activation batch of a run (sample_idx / batchSize): rows stored, and rows its ingested_batches record promises. */
export interface BatchCounts {
  batch: number;
  rows: number;
  promised: number;
}

/**
 * Reads a database file the way nothing in skillscope does (plain DuckDB, read-only), so the
 * check does not depend on the store's own recovery: activation rows per batch vs the batch records.
 */
export async function batchCounts(dbFile: string, runId: number, batchSize: number, positions: number): Promise<BatchCounts[]> {
  const instance = await DuckDBInstance.create(dbFile, { access_mode: "READ_ONLY" });
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(
      `WITH a AS (SELECT layer, (sample_idx // ${batchSize})::INTEGER AS batch, count(*)::INTEGER AS n FROM activations WHERE run_id = ${runId} GROUP BY ALL),
            b AS (SELECT layer, batch_id::INTEGER AS batch, (sample_count * ${positions})::INTEGER AS n FROM ingested_batches WHERE run_id = ${runId})
       SELECT coalesce(a.batch, b.batch) AS batch, coalesce(a.n, 0) AS rows, coalesce(b.n, 0) AS promised
       FROM a FULL OUTER JOIN b ON a.layer = b.layer AND a.batch = b.batch ORDER BY 1`,
    );
    return reader.getRows().map(([batch, rows, promised]) => ({ batch: Number(batch), rows: Number(rows), promised: Number(promised) }));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
