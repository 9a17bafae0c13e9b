/**
 * The first-content-token metrics through a whole run: the runner, the server's ingest, DuckDB and
 * GraphQL. The gpt2-tiny checkpoint's tokenizer gets a lone word-boundary token ("▁", in place of an
 * unused word) and every answer starts with it, as Qwen's and the demo's numbers do. The values the
 * server serves are checked against the training graph's loss on single samples (another ONNX
 * session): the cross-entropy of answer token 1 is 2 L([▁, gold]) - L([▁]), the top probability there
 * the largest exp(-(2 L([▁, v]) - L([▁]))) over the vocabulary.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildBatch, resolveLayout } from "../../../gpu-runner/train/layout.js";
import { openOnnxPromptModel } from "../../../gpu-runner/train/onnx-prompt-model.js";
import { loadRunContext } from "../../../server/causal/index.js";
import { startServer, type RunningServer } from "../../../server/http/server.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import { Store } from "../../../server/store/store.js";
import { TINY_DIR, tinyRows } from "../../fixtures/tiny-checkpoint.js";

const BOUNDARY = "\u2581";
let dir: string;
let modelDir: string;
let runId: number;
let server: RunningServer;
let ctx: Awaited<ReturnType<typeof loadRunContext>>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-content-run-"));
  modelDir = join(dir, "model");
  cpSync(TINY_DIR, modelDir, { recursive: true });
  const tokenizer = JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8"));
  assert.equal(tokenizer.model.vocab.plus, 29);
  delete tokenizer.model.vocab.plus; // unused by the task's words
  tokenizer.model.vocab[BOUNDARY] = 29;
  writeFileSync(join(modelDir, "tokenizer.json"), JSON.stringify(tokenizer));

  const store = await Store.open(join(dir, "runs.duckdb"));
  const manager = new RunManager(store, { leaderboardIntervalMs: 0 });
  const taskId = await store.addTask({ name: "boundary", source: "<inline>", template: "{text}", verbalizer: null });
  const rows = [...tinyRows(24, 3, "t").map((r) => ({ ...r, split: "train" })), ...tinyRows(12, 4, "v").map((r) => ({ ...r, split: "val" }))];
  await store.addSamples(taskId, rows.map((r) => ({
    sampleId: r.id, split: r.split, fields: { text: r.instruction }, rendered: r.instruction, answer: `${BOUNDARY} ${r.answer}`, label: null,
  })));
  const modelId = await store.addModel({ path: modelDir, family: "gpt2", config: {} });
  const run = await manager.start({ modelId, taskId, options: { promptLength: 3, steps: 4, batchSize: 8, evalEvery: 2, seed: 1, threads: 1, init: "normal" } });
  runId = run.id;
  await manager.whenIdle();
  assert.equal((await store.getRun(runId)).status, "done", String((await store.getRun(runId)).error));
  ctx = await loadRunContext(store, runId);
  await manager.close();
  await store.close();
  server = await startServer({ dataDir: dir, dbPath: join(dir, "runs.duckdb"), port: 0, dashboardDir: join(dir, "none") });
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ok<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!;
}

test("confidence and loss_first_content read the token after the boundary; confidence_first_position the boundary; all selectable", async () => {
  const data = await ok<{
    run: { metrics: { name: string; description: string }[] };
    neurons: { edges: { node: { layer: number; index: number } }[] };
  }>(
    `query ($r: ID!) { run(id: $r) { metrics { name description } }
      neurons(runId: $r, metric: "confidence", first: 1) { edges { node { layer index } } } }`,
    { r: String(runId) },
  );
  const names = data.run.metrics.map((m) => m.name);
  for (const name of ["loss", "loss_first_content", "confidence", "confidence_first_position"]) assert.ok(names.includes(name), `${name} in ${names}`);
  assert.match(data.run.metrics.find((m) => m.name === "confidence")!.description, /first answer token that carries content/);
  const top = data.neurons.edges[0]!.node;

  // every val sample's served values, through the neuron's extremal samples (k = all of them)
  type S = { sampleId: string; metrics: { name: string; value: number | null }[] };
  const served = await ok<{ neuron: { extremalSamples: S[] } }>(
    `query ($r: ID!, $l: Int!, $i: Int!) { neuron(runId: $r, layer: $l, index: $i) {
      extremalSamples(metric: "confidence", k: 12) { sampleId metrics(names: ["loss", "loss_first_content", "confidence", "confidence_first_position"]) { name value } } } }`,
    { r: String(runId), l: top.layer, i: top.index },
  );
  assert.equal(served.neuron.extremalSamples.length, 12);
  const value = (s: S, name: string) => s.metrics.find((m) => m.name === name)!.value!;

  // oracle: the training graph's mean loss on one sample at a time, with the run's prompt
  const { model, codec } = openOnnxPromptModel(modelDir, { threads: 1 });
  try {
    const layout = resolveLayout({ ...ctx.layout, padId: codec.padId });
    const meanLoss = async (instructionIds: readonly number[], answerIds: number[]) =>
      (await model.lossAndGrad(buildBatch([{ instructionIds, answerIds }], [0], layout), ctx.prompt)).loss;
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-4 * Math.max(1, Math.abs(b)), `${what}: served ${a}, oracle ${b}`);
    for (const s of served.neuron.extremalSamples.slice(0, 4)) {
      const row = ctx.rows.find((r) => r.id === s.sampleId)!;
      const pair = await codec.encodePair(row.instruction, row.answer);
      assert.equal(pair.answerIds.length, 2);
      assert.equal(pair.answerIds[0], 29, "the answer starts with the boundary token");
      const instruction = Array.from(pair.instructionIds);
      const first = await meanLoss(instruction, [29]);
      const ceAfterBoundary = async (v: number) => 2 * (await meanLoss(instruction, [29, v])) - first;
      close(value(s, "loss_first_content"), await ceAfterBoundary(Number(pair.answerIds[1])), `loss_first_content of ${s.sampleId}`);
      close(value(s, "loss"), await meanLoss(instruction, Array.from(pair.answerIds)), `loss of ${s.sampleId}`);
      let top1 = 0;
      let top0 = 0;
      for (let v = 0; v < model.vocabSize; v++) {
        top1 = Math.max(top1, Math.exp(-(await ceAfterBoundary(v))));
        top0 = Math.max(top0, Math.exp(-(await meanLoss(instruction, [v]))));
      }
      close(value(s, "confidence"), top1, `confidence of ${s.sampleId}`);
      close(value(s, "confidence_first_position"), top0, `confidence_first_position of ${s.sampleId}`);
    }
  } finally {
    await model.dispose();
  }
});
