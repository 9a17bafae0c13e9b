/**
 * Causal experiments on FFN neurons (ablation against random controls, steering), run on the
 * model graphs' intervention inputs (models/spec.ts `intervene`). A worker runs them as a job
 * (runner/causal-job.ts) through the one worker host, runner/host.ts:
 *
 * ```ts
 * const outcome = await runCausalInWorker({ type: "causal", runId: "c1", model: { kind: "onnx", dir }, rows, prompt,
 *   layout: { promptLength: 4 }, experiment: { kind: "ablation", neurons: [{ layer: 0, neuron: 7 }], mode: "mean", randomDraws: 8, seed: 1 } });
 * outcome.ablated.meanLoss - outcome.baseline.meanLoss;
 * ```
 */
export type * from "./types.js";
export { checkNeurons, countPerLayer, randomControlSets } from "./neurons.js";
