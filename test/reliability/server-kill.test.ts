import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import {
  PLANTED,
  allScores,
  batchCounts,
  gql,
  ok,
  registerPlanted,
  startRun,
  startServe,
  waitForStatus,
  writePlantedTask,
  type ServeChild,
} from "./harness.js";

/**
 * kill -9 of the server process (`skillscope serve`, a child process) in the middle of training
 * and in the middle of extraction: the restarted server opens the same data dir, the run is
 * INTERRUPTED, no partial activation batch is visible, and resumeRun ends with the same scores
 * as an uninterrupted run of the same seed.
 */
const VAL_COPIES = 6; // 900 val rows: 57 extraction batches of 16, long enough to be cut
const EXTRACT_BATCH = 16;
const PROMPT_LENGTH = 4;
const OPTIONS = { promptLength: PROMPT_LENGTH, steps: 40, batchSize: 8, evalEvery: 0, checkpointEvery: 5, seed: 11, threads: 1 };
const DB = "skillscope.duckdb";

let tmp: string;
let taskFile: string;
const children: ServeChild[] = [];
/** Scores of an uninterrupted run with OPTIONS: the oracle. */
let reference: Map<string, number>;
/** The whole `run { ... }` of that uninterrupted run. */
let referenceRun: Record<string, unknown>;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "skillscope-kill-"));
  taskFile = writePlantedTask(tmp, VAL_COPIES);
});

after(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) await c.kill();
  rmSync(tmp, { recursive: true, force: true });
});

async function serve(dataDir: string): Promise<ServeChild> {
  const child = await startServe(dataDir, ["--model-root", PLANTED, "--task-root", tmp]);
  children.push(child);
  return child;
}

/** SIGKILLs `server` as soon as a progress event of `runId` satisfies `when`; returns that event. */
async function killWhen(server: ServeChild, runId: string, when: (p: { phase: string; step: number }) => boolean): Promise<{ phase: string; step: number }> {
  const ws = createClient({ url: `${server.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  try {
    for await (const r of ws.iterate<{ trainingProgress: { phase: string; step: number } }>({
      query: `subscription { trainingProgress(runId: "${runId}") { phase step } }`,
    })) {
      const p = r.data!.trainingProgress;
      if (when(p)) {
        await server.kill();
        return p;
      }
    }
    throw new Error("the progress subscription ended before the kill point");
  } finally {
    void ws.dispose();
  }
}

async function finish(server: ServeChild, runId: string): Promise<void> {
  const end = await waitForStatus(server.url, server.token, runId, ["DONE"], 120_000);
  assert.equal(end.status, "DONE", `run ${runId} ended ${end.status}: ${end.error}`);
}

type Json = Record<string, unknown>;

/**
 * The selection of every argument-free field of Run, one level into object fields, from the
 * schema itself: a field added to Run is compared too.
 */
async function wholeRunSelection(server: ServeChild): Promise<string> {
  type Field = { name: string; args: unknown[]; type: TypeRef };
  type TypeRef = { kind: string; name: string | null; ofType: TypeRef | null };
  const named = (t: TypeRef): TypeRef => (t.ofType ? named(t.ofType) : t);
  const fieldsOf = async (type: string): Promise<Field[]> =>
    ok(await gql<{ __type: { fields: Field[] } }>(server.url, server.token,
      `query ($n: String!) { __type(name: $n) { fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }`, { n: type })).__type.fields;
  const select = async (type: string, depth: number): Promise<string> => {
    const parts: string[] = [];
    for (const f of await fieldsOf(type)) {
      if (f.args.length > 0) continue;
      const t = named(f.type);
      if (t.kind === "OBJECT") {
        if (depth > 0) parts.push(`${f.name} { ${await select(t.name!, depth - 1)} }`);
      } else {
        parts.push(f.name);
      }
    }
    return parts.join(" ");
  };
  return select("Run", 1);
}

/** Fields that name a row or a moment, not an outcome. */
const IDENTITY = new Set(["id", "createdAt", "updatedAt", "modelId", "taskId"]);

/**
 * Field by field, `got` (a resumed run) has what `want` (an uninterrupted run) has: every figure
 * equal, except timings, which must be there with the same keys, each a positive number.
 */
function assertSameRun(got: Json, want: Json, path = "run"): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${path}: fields`);
  for (const [key, w] of Object.entries(want)) {
    const g = got[key];
    const at = `${path}.${key}`;
    if (IDENTITY.has(key)) continue;
    if (key === "timings") {
      assert.ok(w && g, `${at}: ${JSON.stringify(g)} vs ${JSON.stringify(w)}`);
      assert.deepEqual(Object.keys(g as Json).sort(), Object.keys(w as Json).sort(), `${at}: keys`);
      for (const [k, v] of Object.entries(g as Json)) assert.ok(typeof v === "number" && v > 0, `${at}.${k} = ${JSON.stringify(v)}`);
    } else if (w !== null && typeof w === "object" && !Array.isArray(w) && path === "run" && key !== "config" && !key.endsWith("Figures")) {
      assertSameRun(g as Json, w as Json, at);
    } else {
      assert.deepEqual(g, w, at);
    }
  }
}

async function wholeRun(server: ServeChild, runId: string): Promise<Json> {
  const selection = await wholeRunSelection(server);
  return ok(await gql<{ run: Json }>(server.url, server.token, `query ($id: ID!) { run(id: $id) { ${selection} } }`, { id: runId })).run;
}

function assertSameScores(got: Map<string, number>, want: Map<string, number>): void {
  assert.equal(got.size, want.size);
  assert.ok(want.size > 0);
  for (const [id, r] of want) {
    const g = got.get(id);
    assert.ok(g !== undefined && Math.abs(g - r) <= 1e-6, `${id}: r ${g} after the kill vs ${r} uninterrupted`);
  }
}

/** Every batch with rows has exactly the rows its record promises, and every record has its rows. */
function assertWholeBatches(counts: { batch: number; rows: number; promised: number }[]): void {
  for (const c of counts) assert.equal(c.rows, c.promised, `batch ${c.batch}: ${c.rows} activation rows stored, its record promises ${c.promised}`);
}

it("a server killed mid-training restarts with the run INTERRUPTED, and resumeRun reproduces an uninterrupted run, every field of run { ... }", async () => {
  const dataDir = join(tmp, "training");
  const first = await serve(dataDir);
  const ids = await registerPlanted(first.url, first.token, taskFile);
  const runId = await startRun(first.url, first.token, ids, OPTIONS);
  const at = await killWhen(first, runId, (p) => p.phase === "training" && p.step >= 12);
  assert.ok(at.step < OPTIONS.steps, `killed at step ${at.step}`);
  assert.deepEqual(await batchCounts(join(dataDir, DB), Number(runId), EXTRACT_BATCH, PROMPT_LENGTH), [], "no activations before extraction");

  const second = await serve(dataDir);
  const run = ok(await gql<{ run: { status: string; error: string } }>(second.url, second.token, `{ run(id: "${runId}") { status error } }`)).run;
  assert.equal(run.status, "INTERRUPTED");
  assert.match(run.error, /server stopped/);
  ok(await gql(second.url, second.token, `mutation { resumeRun(id: "${runId}") { id } }`));
  await finish(second, runId);

  const fresh = await startRun(second.url, second.token, ids, OPTIONS);
  await finish(second, fresh);
  reference = await allScores(second.url, second.token, fresh, "colors");
  assert.ok(Math.abs(reference.get("L0.N7")!) > 0.9, "the uninterrupted run finds the planted neuron");
  assertSameScores(await allScores(second.url, second.token, runId, "colors"), reference);
  referenceRun = await wholeRun(second, fresh);
  const train = referenceRun.trainFigures as Json;
  assert.ok(typeof train.finalLoss === "number" && train.bestStep === OPTIONS.steps, JSON.stringify(train));
  assertSameRun(await wholeRun(second, runId), referenceRun);
  await second.stop();
});

it("a server killed mid-extraction leaves whole batches only; the resumed run completes them once, with the uninterrupted scores and figures", async () => {
  assert.ok(reference, "needs the reference run of the first test");
  const dataDir = join(tmp, "extraction");
  const first = await serve(dataDir);
  const ids = await registerPlanted(first.url, first.token, taskFile);
  const runId = await startRun(first.url, first.token, ids, OPTIONS);
  await killWhen(first, runId, (p) => p.phase === "extracting" && p.step >= 3);

  const nVal = 150 * VAL_COPIES;
  const totalBatches = Math.ceil(nVal / EXTRACT_BATCH);
  const cut = await batchCounts(join(dataDir, DB), Number(runId), EXTRACT_BATCH, PROMPT_LENGTH);
  assertWholeBatches(cut);
  assert.ok(cut.length >= 3 && cut.length < totalBatches, `${cut.length} of ${totalBatches} batches stored when killed`);

  const second = await serve(dataDir);
  const run = ok(await gql<{ run: { status: string } }>(second.url, second.token, `{ run(id: "${runId}") { status } }`)).run;
  assert.equal(run.status, "INTERRUPTED");
  ok(await gql(second.url, second.token, `mutation { resumeRun(id: "${runId}") { id } }`));
  await finish(second, runId);
  assertSameScores(await allScores(second.url, second.token, runId, "colors"), reference);
  assertSameRun(await wholeRun(second, runId), referenceRun);
  assert.equal(await second.stop(), 0);

  const whole = await batchCounts(join(dataDir, DB), Number(runId), EXTRACT_BATCH, PROMPT_LENGTH);
  assertWholeBatches(whole);
  assert.equal(whole.length, totalBatches);
  assert.equal(whole.reduce((s, c) => s + c.rows, 0), nVal * PROMPT_LENGTH, "every val sample stored once");
});
