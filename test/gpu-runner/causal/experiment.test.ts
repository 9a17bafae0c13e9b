/**
 * Causal experiments on the planted checkpoint (L0.N7 carries the colour share): mean ablation of
 * the planted neuron moves the output far more than random neurons; steering by 1 is the identity;
 * neuron statistics match a two-pass float64 oracle over extraction taps; the worker path agrees.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CausalEvaluator } from "../../../gpu-runner/causal/evaluator.js";
import { runAblation, runSteering, type ExperimentContext } from "../../../gpu-runner/causal/experiment.js";
import { runCausalInWorker } from "../../../gpu-runner/runner/host.js";
import { randomControlSets } from "../../../gpu-runner/causal/neurons.js";
import { createSession } from "../../../gpu-runner/models/session.js";
import { encodeRows } from "../../../gpu-runner/runner/job.js";
import type { TaskRow } from "../../../gpu-runner/runner/protocol.js";
import { RunnerError } from "../../../gpu-runner/train/errors.js";
import { buildBatch, resolveLayout } from "../../../gpu-runner/train/layout.js";
import { openOnnxPromptModel, toSequences } from "../../../gpu-runner/train/onnx-prompt-model.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const DIR = join(root, "test/fixtures/planted/model");
const N_PROMPT = 4;
const rows: TaskRow[] = readFileSync(join(root, "test/fixtures/planted/task.jsonl"), "utf8").trim().split("\n")
  .map((l) => JSON.parse(l) as { id: string; text: string; label: number; split: string })
  .filter((r) => r.split === "val").slice(0, 40)
  .map((r) => ({ id: r.id, instruction: `${r.text} question`, answer: r.label ? "yes" : "no" }));

const opened = openOnnxPromptModel(DIR, { threads: 1 });
const layout = resolveLayout({ promptLength: N_PROMPT, padId: opened.codec.padId });
const prompt = Float32Array.from({ length: N_PROMPT * opened.model.dModel }, (_, i) => 0.5 * Math.sin(1.3 * i));
let ctx: ExperimentContext;

before(async () => {
  const samples = await encodeRows(rows, opened.codec, "val", layout);
  const evaluator = await CausalEvaluator.open(opened.model.loaded, [0], "soft", N_PROMPT);
  ctx = { evaluator, samples, sampleIds: rows.map((r) => r.id), layout, prompt, batchSize: 16, decode: (ids) => opened.codec.decode(ids) };
});
after(async () => {
  await ctx.evaluator.release();
});

test("random control sets: same seed same sets, per-layer counts kept, targets excluded", () => {
  const targets = [{ layer: 0, neuron: 7 }, { layer: 2, neuron: 1 }, { layer: 2, neuron: 5 }];
  const a = randomControlSets(targets, 8, 50, 3);
  assert.deepEqual(a, randomControlSets(targets, 8, 50, 3));
  assert.notDeepEqual(a, randomControlSets(targets, 8, 50, 4));
  for (const set of a) {
    assert.deepEqual(set.map((n) => n.layer), [0, 2, 2]);
    assert.notEqual(set[1]!.neuron, set[2]!.neuron);
    assert.ok(!set.some((n) => targets.some((t) => t.layer === n.layer && t.neuron === n.neuron)));
  }
  // every non-target neuron of layer 0 turns up: the draw is not stuck
  assert.equal(new Set(a.map((s) => s[0]!.neuron)).size, 7);
  assert.throws(() => randomControlSets([{ layer: 0, neuron: 0 }, { layer: 0, neuron: 1 }], 3, 1, 0), /only 1 neurons outside/);
  // without random sets a whole layer may be the target
  assert.deepEqual(randomControlSets([{ layer: 0, neuron: 0 }, { layer: 0, neuron: 1 }], 2, 0, 0), []);
});

test("neuron statistics equal a two-pass float64 mean and sd over the taps at soft positions and at all positions", async () => {
  const stats = await ctx.evaluator.neuronStats(ctx.samples, layout, prompt, 7);
  const session = await createSession(opened.model.loaded, { softPromptLength: N_PROMPT, taps: [0] });
  const out = await session.run({ sequences: toSequences(buildBatch(ctx.samples, ctx.samples.map((_, i) => i), layout)), softPrompt: prompt });
  const a = out.ffn.get(0)!; // [N*n, F]
  const F = opened.model.dFF;
  const rowsN = a.length / F;
  for (const f of [0, 7, 33, 63]) {
    let m = 0;
    for (let r = 0; r < rowsN; r++) m += a[r * F + f]!;
    m /= rowsN;
    let v = 0;
    for (let r = 0; r < rowsN; r++) v += (a[r * F + f]! - m) ** 2;
    assert.ok(Math.abs(stats.mean[f]! - m) < 1e-6 * Math.max(1, Math.abs(m)), `mean of neuron ${f}`);
    assert.ok(Math.abs(stats.sd[f]! - Math.sqrt(v / rowsN)) < 1e-5, `sd of neuron ${f}`);
  }
  await session.release();

  // every real position: against the [B,T,F] taps with padding skipped
  const allEv = await CausalEvaluator.open(opened.model.loaded, [0], "all", N_PROMPT);
  const allStats = await allEv.neuronStats(ctx.samples, layout, prompt, 16);
  const full = await createSession(opened.model.loaded, { softPromptLength: N_PROMPT, taps: [0], tapPositions: "all" });
  const fo = await full.run({ sequences: toSequences(buildBatch(ctx.samples, ctx.samples.map((_, i) => i), layout)), softPrompt: prompt });
  const T = fo.layout.seqLen;
  const vals: number[] = [];
  fo.layout.lengths.forEach((len, b) => { for (let t = 0; t < len; t++) vals.push(fo.ffn.get(0)![(b * T + t) * F + 7]!); });
  const m7 = vals.reduce((x, y) => x + y, 0) / vals.length;
  assert.ok(Math.abs(allStats.mean[7]! - m7) < 1e-6 * Math.abs(m7), "mean of L0.N7 over all positions");
  assert.ok(Math.abs(allStats.sd[7]! - Math.sqrt(vals.reduce((x, y) => x + (y - m7) ** 2, 0) / vals.length)) < 1e-5);
  await full.release();
  await allEv.release();
});

test("zero-ablating the planted neuron moves the output far more than random neurons of its layer", async () => {
  // L0.N7 sits at about 4 + 3 * (colour share) (its GELU bias): removing it moves every answer.
  const o = await runAblation(ctx, { kind: "ablation", neurons: [{ layer: 0, neuron: 7 }], mode: "zero", randomDraws: 12, seed: 5 });
  assert.equal(o.random.length, 12);
  assert.equal(o.baseline.meanKl, 0);
  assert.equal(o.baseline.changed, 0);
  const worstRandom = Math.max(...o.random.map((r) => r.meanKl));
  assert.ok(o.ablated.meanKl > 100 * worstRandom, `planted KL ${o.ablated.meanKl} vs largest random ${worstRandom}`);
  const dLoss = (c: typeof o.baseline) => Math.abs(c.meanLoss - o.baseline.meanLoss);
  assert.ok(dLoss(o.ablated) > 10 * Math.max(...o.random.map(dLoss)), "loss moves more for the planted neuron");
  // mean ablation keeps the planted neuron's average: far smaller than zero ablation
  const m = await runAblation(ctx, { kind: "ablation", neurons: [{ layer: 0, neuron: 7 }], mode: "mean", randomDraws: 0, seed: 5 });
  assert.ok(m.ablated.meanKl > 0 && m.ablated.meanKl < o.ablated.meanKl / 10);
  assert.equal(o.ablated.perSample.prediction.length, rows.length);
  // noise ablation is reproducible from its seed
  const spec = { kind: "ablation" as const, neurons: [{ layer: 0, neuron: 7 }], mode: "noise" as const, randomDraws: 2, seed: 9 };
  const n1 = await runAblation(ctx, spec);
  const n2 = await runAblation(ctx, spec);
  assert.deepEqual(n1.ablated.perSample.loss, n2.ablated.perSample.loss);
  assert.notDeepEqual(n1.ablated.perSample.loss, o.ablated.perSample.loss);
});

test("steering: factor 1 reproduces the baseline exactly; other factors move the planted neuron's output", async () => {
  const o = await runSteering(ctx, { kind: "steering", neuron: { layer: 0, neuron: 7 }, factors: [1, 0, 3] });
  const [one, zero, three] = o.factors;
  assert.deepEqual(one!.perSample.loss, o.baseline.perSample.loss);
  assert.deepEqual(one!.perSample.goldProb, o.baseline.perSample.goldProb);
  assert.deepEqual(one!.perSample.prediction, o.baseline.perSample.prediction);
  assert.equal(one!.changed, 0);
  assert.equal(one!.meanKl, 0);
  assert.equal(one!.factor, 1);
  assert.ok(zero!.meanKl > 0 && three!.meanKl > zero!.meanKl / 100);
  await assert.rejects(runSteering(ctx, { kind: "steering", neuron: { layer: 0, neuron: 64 }, factors: [2] }), /outside/);
});

test("the worker job returns the same outcome as the in-process experiment, and typed errors", async () => {
  const spec = { kind: "steering" as const, neuron: { layer: 0, neuron: 7 }, factors: [2] };
  const local = await runSteering(ctx, spec);
  const statuses: string[] = [];
  const remote = await runCausalInWorker({
    type: "causal", runId: "t1", model: { kind: "onnx", dir: DIR, threads: 1 }, rows, layout: { promptLength: N_PROMPT }, prompt, experiment: spec, batchSize: 16,
  }, { onStatus: (ev) => statuses.push(ev.message) });
  assert.deepEqual(statuses.filter((m) => m.includes("batch")), ["steering: batch 1 of 3 done", "steering: batch 2 of 3 done", "steering: batch 3 of 3 done"]);
  assert.equal(remote.kind, "steering");
  assert.deepEqual(remote.sampleIds, rows.map((r) => r.id));
  if (remote.kind === "steering") assert.deepEqual(remote.factors[0]!.perSample.loss, local.factors[0]!.perSample.loss);
  await assert.rejects(
    runCausalInWorker({ type: "causal", runId: "t2", model: { kind: "onnx", dir: DIR, threads: 1 }, rows, layout: { promptLength: N_PROMPT }, prompt,
      experiment: { kind: "ablation", neurons: [{ layer: 3, neuron: 0 }], mode: "zero", randomDraws: 1, seed: 0 } }),
    (e: unknown) => e instanceof RunnerError && e.code === "BAD_INPUT" && /layers 0\.\.0/.test(e.message),
  );
  await assert.rejects(
    runCausalInWorker({ type: "causal", runId: "t3", model: { kind: "onnx", dir: DIR, threads: 1 }, rows, layout: { promptLength: N_PROMPT }, prompt: new Float32Array(3),
      experiment: spec }),
    (e: unknown) => e instanceof RunnerError && e.code === "BAD_INPUT" && /prompt must be/.test(e.message),
  );
  const cancelled = new AbortController();
  cancelled.abort();
  await assert.rejects(
    runCausalInWorker({ type: "causal", runId: "t4", model: { kind: "onnx", dir: DIR, threads: 1 }, rows, layout: { promptLength: N_PROMPT }, prompt, experiment: spec }, { signal: cancelled.signal }),
    (e: unknown) => e instanceof RunnerError && e.code === "CANCELLED",
  );
});
