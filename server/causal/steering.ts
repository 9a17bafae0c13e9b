/** Steering: scale one neuron by factors at the intervened positions and report how predictions move. */
import type { ConditionOutcome, InterventionPositions, SteeringOutcome } from "../../gpu-runner/causal/types.js";
import type { Store } from "../store/store.js";
import type { ServiceDeps } from "./ablation.js";
import { ServiceError } from "../errors.js";
import { causalJobId, executeCausal, workerExecutor } from "./execute.js";
import { loadRunContext } from "./run-context.js";

export interface SteeringOptions {
  /** Default "soft". */
  positions?: InterventionPositions;
  batchSize?: number;
}

export interface SteeringReport {
  runId: number;
  layer: number;
  neuron: number;
  positions: InterventionPositions;
  sampleIds: readonly string[];
  baseline: ConditionOutcome;
  /** One per factor, in the order given: accuracy, mean loss, mean gold probability, fraction of predictions changed. */
  factors: readonly ConditionOutcome[];
}

/** Default factors: -2 .. 3 in steps of 1 (factor 1 reproduces the baseline). */
export const DEFAULT_FACTORS: readonly number[] = [-2, -1, 0, 1, 2, 3];

export async function steerNeuron(
  store: Store, runId: number, layer: number, neuron: number, factors: readonly number[] = DEFAULT_FACTORS,
  options: SteeringOptions = {}, deps: ServiceDeps = {},
): Promise<SteeringReport> {
  if (!Array.isArray(factors) || factors.length === 0 || factors.length > 64 || factors.some((f) => !Number.isFinite(f))) {
    throw new ServiceError("BAD_INPUT", "steering factors: give 1..64 finite numbers");
  }
  const ctx = await loadRunContext(store, runId, deps.modelRoots);
  if (ctx.run.dFF !== null && !(Number.isInteger(neuron) && neuron >= 0 && neuron < ctx.run.dFF)) {
    throw new ServiceError("BAD_INPUT", `steering neuron ${neuron} is outside 0..${ctx.run.dFF - 1}`);
  }
  const outcome = (await executeCausal(deps.execute ?? workerExecutor, {
    type: "causal", runId: causalJobId(runId, "steering"), model: ctx.model, rows: ctx.rows, layout: ctx.layout, prompt: ctx.prompt,
    batchSize: options.batchSize,
    experiment: { kind: "steering", neuron: { layer, neuron }, factors: [...factors], positions: options.positions ?? "soft" },
  }, deps)) as SteeringOutcome;
  return { runId, layer, neuron, positions: outcome.positions, sampleIds: outcome.sampleIds, baseline: outcome.baseline, factors: outcome.factors };
}
