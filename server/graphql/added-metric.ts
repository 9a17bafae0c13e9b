import { maxAbsOverPositions, pearsonPValues, scoreMetricFromActivations } from "../analysis/index.js";
import { metricFromPairs, type SampleValue } from "../metrics/index.js";
import type { ScoreBatch } from "../store/scores.js";
import { ReservoirOnlyRunError, runStorage } from "../runs/run-options.js";
import type { Store } from "../store/store.js";
import { ApiError } from "./errors.js";

/**
 * Adds a metric to a finished run from (sample id, value) pairs and scores every stored neuron
 * against it from the stored activations: r per position, max |r| over positions, and r of the
 * max-over-positions activation, with analytic p-values. Everything is computed (and validated)
 * before anything is written. Returns the number of samples with a value.
 */
export async function addMetric(store: Store, runId: number, name: string, pairs: readonly SampleValue[], description?: string): Promise<number> {
  if (name.length === 0) throw new ApiError("BAD_USER_INPUT", "name: the metric needs a name", { field: "name" });
  const run = await store.getRun(runId);
  if (run.status !== "done") {
    throw new ApiError("CONFLICT", `run ${runId} is ${run.status}; metrics can be added once its extraction is done`, { status: run.status });
  }
  if (runStorage(run).mode === "topk") throw new ApiError("CONFLICT", new ReservoirOnlyRunError(runId, "adding a metric").message, { storage: "topk" });
  if ((await store.listMetrics(runId)).some((m) => m.name === name)) {
    throw new ApiError("CONFLICT", `run ${runId} already has a metric "${name}"; choose another name`, { field: "name" });
  }
  const outputs = await store.readSampleOutputs(runId);
  const values = metricFromPairs(outputs.sampleId, pairs, name);
  const valueOfIdx = new Map<number, number>();
  outputs.sampleIdx.forEach((idx, i) => valueOfIdx.set(idx, values[i]!));

  let samples = 0;
  const batches: ScoreBatch[] = [];
  for (const layer of run.layers ?? []) {
    const acts = await store.readActivations(runId, layer);
    const rowValues = Float64Array.from(acts.sampleIdx, (idx) => valueOfIdx.get(idx) ?? NaN);
    const P = acts.positions;
    const F = acts.dFF;
    const scored = scoreMetricFromActivations([acts.data], rowValues, P, F);
    samples = scored.samples;
    const r = scored.r[0]!;
    const neuronOfRow = Int32Array.from({ length: P * F }, (_, i) => i % F);
    const positionOfRow = Int32Array.from({ length: P * F }, (_, i) => Math.floor(i / F));
    const allNeurons = Int32Array.from({ length: F }, (_, f) => f);
    const best = maxAbsOverPositions(r, P, F);
    const rMax = scored.rMaxActivation[0]!;
    // A neuron whose r is undefined at every position has no best position (-1); its r stays NaN (unranked).
    const bestPosition = best.position.map((p) => Math.max(p, 0));
    batches.push(
      { metric: name, agg: "position", layer, position: positionOfRow, neuron: neuronOfRow, r, p: pearsonPValues(r, samples) },
      { metric: name, agg: "max_abs_r", layer, position: bestPosition, neuron: allNeurons, r: best.r, p: pearsonPValues(best.r, samples) },
      { metric: name, agg: "max_act", layer, position: null, neuron: allNeurons, r: rMax, p: pearsonPValues(rMax, samples) },
    );
  }
  await store.writeMetric(runId, { name, kind: "added", description, sampleId: outputs.sampleId, value: values });
  await store.writeScores(runId, batches);
  return samples;
}
