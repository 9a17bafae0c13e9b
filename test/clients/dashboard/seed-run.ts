/**
 * Puts one finished run with real data into a Store for the dashboard tests, through the store's
 * and the analysis engine's public APIs: samples, outputs, metrics, activations (ingested in
 * batches), and scores computed from those activations. One neuron is planted: its activation at
 * PLANTED.position follows the label, so it must rank first for the metric "label".
 */
import { maxAbsOverPositions, pearsonPValues, Prng, scoreMetricFromActivations } from "../../../server/analysis/index.js";
import type { ScoreBatch, SampleRow, Store } from "../../../server/store/index.js";

export const SHAPE = { layers: [0, 1, 2, 3], positions: 6, dFF: 48, samples: 160 } as const;
export const PLANTED = { layer: 2, index: 17, position: 3 } as const;

const WORDS = ["great", "awful", "plot", "acting", "boring", "lovely", "never", "again", "fine", "music", "slow", "brilliant"];

export interface SeededRun {
  runId: number;
  modelId: number;
  taskId: number;
  sampleIds: string[];
}

/** Model, task and a finished run with everything the dashboard reads. */
export async function seedFinishedRun(store: Store, seed = 7): Promise<SeededRun> {
  const rng = new Prng(seed);
  const { layers, positions, dFF, samples: n } = SHAPE;
  const modelId = await store.addModel({ path: "/models/demo/tiny-gpt2", family: "gpt2", config: { n_layer: layers.length, n_embd: 16 } });
  const taskId = await store.addTask({
    name: "review-sentiment",
    source: "<inline>",
    template: "Review: {text}\nIs this review positive?",
    verbalizer: { "0": "no", "1": "yes" },
  });

  const label = new Float64Array(n);
  const rows: SampleRow[] = [];
  for (let i = 0; i < n; i++) {
    label[i] = i % 2;
    const words = Array.from({ length: 5 + (i % 4) }, () => WORDS[rng.nextInt(WORDS.length)]!);
    const text = words.join(" ");
    rows.push({
      sampleId: `s${String(i).padStart(3, "0")}`,
      split: "val",
      fields: { text },
      rendered: `Review: ${text}\nIs this review positive?`,
      answer: label[i] ? "yes" : "no",
      label: String(label[i]),
    });
  }
  await store.addSamples(taskId, rows);
  const sampleIds = rows.map((r) => r.sampleId);

  const runId = await store.createRun({ modelId, taskId, config: { softTokens: positions, seed, layers } });
  await store.setRunStatus(runId, "training");
  for (let step = 0; step < 40; step += 5) {
    await store.appendEvents(runId, [{ seq: step / 5 + 1, payload: { runId: String(runId), seq: step / 5, phase: "train", step, epoch: 0, loss: 2.2 * Math.exp(-step / 15) + 0.3, lr: 0.01, tokensPerSec: 900, valLoss: step % 10 === 0 ? 2.3 * Math.exp(-step / 18) + 0.35 : null, valAccuracy: step % 10 === 0 ? Math.min(0.95, 0.5 + step / 60) : null } }]);
  }
  await store.setRunStatus(runId, "extracting");
  await store.updateRun(runId, { neuronDefinition: "act(c_fc(x)) (GPT-2 MLP, input of c_proj)", layers: [...layers] });

  // Model outputs: the model is right on most samples, less confident on odd ones.
  const loss = Float64Array.from({ length: n }, (_, i) => 0.2 + 0.8 * rng.nextFloat() + (i % 5 === 0 ? 1 : 0));
  const confidence = Float64Array.from(loss, (l) => Math.exp(-l / 2));
  const correct = Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1));
  await store.writeSampleOutputs(runId, {
    sampleIdx: Int32Array.from({ length: n }, (_, i) => i),
    sampleId: sampleIds,
    loss,
    goldProb: Float64Array.from(loss, (l) => Math.exp(-l)),
    confidence,
    prediction: Array.from({ length: n }, (_, i) => ((label[i] === 1) === (correct[i] === 1) ? "yes" : "no")),
    correct,
  });
  const metrics: { name: string; kind: "builtin" | "column"; value: Float64Array; description: string }[] = [
    { name: "label", kind: "builtin", value: label, description: "gold label (0 = no, 1 = yes)" },
    { name: "loss", kind: "builtin", value: loss, description: "cross-entropy of the answer tokens" },
    { name: "correct", kind: "builtin", value: Float64Array.from(correct), description: "prediction equals the answer" },
  ];
  for (const m of metrics) await store.writeMetric(runId, { ...m, sampleId: sampleIds });

  // Activations [N, P, F] per layer: noise, plus the planted neuron.
  const acts = layers.map((layer) => {
    const a = new Float32Array(n * positions * dFF);
    for (let i = 0; i < a.length; i++) a[i] = rng.nextGaussian() * 0.5;
    if (layer === PLANTED.layer) {
      for (let s = 0; s < n; s++) a[(s * positions + PLANTED.position) * dFF + PLANTED.index] = 2 * label[s]! - 1 + rng.nextGaussian() * 0.3;
    }
    return a;
  });
  const batch = 64;
  for (const [l, layer] of layers.entries()) {
    for (let start = 0; start < n; start += batch) {
      const b = Math.min(batch, n - start);
      await store.ingestActivations(runId, {
        shard: 0,
        batchId: `b${start}`,
        layer,
        sampleIdx: Int32Array.from({ length: b }, (_, i) => start + i),
        nPositions: positions,
        dFF,
        data: acts[l]!.slice(start * positions * dFF, (start + b) * positions * dFF),
      });
    }
  }

  await store.setRunStatus(runId, "scoring");
  const neuron = Int32Array.from({ length: dFF }, (_, f) => f);
  const everyNeuron = Int32Array.from({ length: positions * dFF }, (_, i) => i % dFF);
  const everyPosition = Int32Array.from({ length: positions * dFF }, (_, i) => Math.floor(i / dFF));
  const scores: ScoreBatch[] = [];
  for (const m of metrics) {
    const scored = scoreMetricFromActivations(acts, m.value, positions, dFF);
    for (const [l, layer] of layers.entries()) {
      const r = scored.r[l]!;
      const best = maxAbsOverPositions(r, positions, dFF);
      scores.push(
        { metric: m.name, agg: "position", layer, position: everyPosition, neuron: everyNeuron, r, p: pearsonPValues(r, scored.samples) },
        { metric: m.name, agg: "max_abs_r", layer, position: best.position, neuron, r: best.r, p: pearsonPValues(best.r, scored.samples) },
        { metric: m.name, agg: "max_act", layer, position: null, neuron, r: scored.rMaxActivation[l]!, p: pearsonPValues(scored.rMaxActivation[l]!, scored.samples) },
      );
    }
  }
  await store.writeScores(runId, scores);
  await store.setRunStatus(runId, "done");
  return { runId, modelId, taskId, sampleIds };
}

/**
 * A second run of the same model and task, queued (a run left active would be marked interrupted
 * when the server opens the store), with its label metric known; the test then drives it live
 * through the server's event bus.
 */
export async function seedQueuedRun(store: Store, seeded: SeededRun): Promise<number> {
  const runId = await store.createRun({ modelId: seeded.modelId, taskId: seeded.taskId, config: { softTokens: SHAPE.positions, seed: 11 } });
  const label = Float64Array.from(seeded.sampleIds, (_, i) => i % 2);
  await store.writeMetric(runId, { name: "label", kind: "builtin", description: "gold label (0 = no, 1 = yes)", sampleId: seeded.sampleIds, value: label });
  return runId;
}
