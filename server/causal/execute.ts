/** Runs a causal job for a service: in a worker thread by default; RunnerErrors become service errors. */
import { runCausalInWorker } from "../../gpu-runner/runner/host.js";
import type { CausalOutcome } from "../../gpu-runner/causal/types.js";
import type { CausalMessage } from "../../gpu-runner/runner/protocol.js";
import { RunnerError } from "../../gpu-runner/train/errors.js";
import { ServiceError } from "../errors.js";

/** Starts the job and resolves with its outcome (tests and remote runners can supply their own). */
export type CausalExecutor = (msg: CausalMessage, options: ExecuteOptions) => Promise<CausalOutcome>;

export interface ExecuteOptions {
  /** Aborting cancels the job (it rejects with a RUNNER error, code CANCELLED). */
  signal?: AbortSignal;
  /** Status lines from the job ("ablation: batch 3 of 10 done"). */
  onStatus?: (message: string) => void;
}

export const workerExecutor: CausalExecutor = (msg, { signal, onStatus }) =>
  runCausalInWorker(msg, { signal, onStatus: onStatus && ((ev) => onStatus(ev.message)) });

let jobCounter = 0;

export function causalJobId(runId: number, kind: string): string {
  return `run${runId}-${kind}-${++jobCounter}`;
}

export async function executeCausal(execute: CausalExecutor, msg: CausalMessage, options: ExecuteOptions): Promise<CausalOutcome> {
  try {
    return await execute(msg, options);
  } catch (e) {
    if (e instanceof RunnerError) {
      throw new ServiceError(e.code === "BAD_INPUT" ? "BAD_INPUT" : "RUNNER", `${msg.experiment.kind} job: ${e.code}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
