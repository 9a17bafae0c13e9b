/**
 * Causal experiments on FFN neurons (ablation against random controls, steering), run on the
 * model graphs' intervention inputs (models/spec.ts `intervene`) in a worker.
 *
 * ```ts
 * const outcome = await runCausalInWorker({ type: "causal", runId: "c1", model: { kind: "onnx", dir }, rows, prompt,
 *   layout: { promptLength: 4 }, experiment: { kind: "ablation", neurons: [{ layer: 0, neuron: 7 }], mode: "mean", randomDraws: 8, seed: 1 } });
 * outcome.ablated.meanLoss - outcome.baseline.meanLoss;
 * ```
 */
export type * from "./types.js";
export { runCausalInWorker, type CausalWorkerOptions } from "./in-worker.js";
export { checkNeurons, countPerLayer, randomControlSets } from "./neurons.js";
