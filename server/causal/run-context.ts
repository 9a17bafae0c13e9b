/**
 * What a causal experiment needs from a finished run: its checkpoint folder, S_val as the runner
 * saw it (same rows, same order), the layout and the trained prompt (the latest checkpoint's best
 * validation prompt, which is the one extraction used).
 */
import { decodeFrame } from "../../gpu-runner/runner/codec.js";
import type { CausalMessage, TaskRow } from "../../gpu-runner/runner/protocol.js";
import { runnerConfig, type RunOptions } from "../runs/run-options.js";
import { toRunnerRow } from "../runs/samples.js";
import type { StoredRunConfig } from "../runs/run-manager.js";
import type { RunRecord, Store } from "../store/index.js";
import { ServiceError } from "../errors.js";

export interface RunContext {
  readonly run: RunRecord;
  readonly model: CausalMessage["model"];
  readonly rows: readonly TaskRow[];
  readonly layout: NonNullable<CausalMessage["layout"]>;
  /** [n, dModel] */
  readonly prompt: Float32Array;
}

/** `modelRoots` travel with the model to the job, which checks the folder again when it opens it. */
export async function loadRunContext(store: Store, runId: number, modelRoots?: readonly string[]): Promise<RunContext> {
  const run = await store.getRun(runId).catch((e: Error) => {
    throw new ServiceError("NOT_FOUND", `run ${runId}: ${e.message}`, { cause: e });
  });
  const options: RunOptions = (run.config as StoredRunConfig | null)?.options ?? {};
  const model = await store.getModel(run.modelId);
  // the same call and filter as the run manager, so rows keep the order extraction saw
  const val = (await store.listSamples(run.taskId)).filter((s) => s.split === "val");
  if (val.length === 0) throw new ServiceError("BAD_STATE", `run ${runId}: its task has no validation samples`);
  const cp = await store.latestCheckpoint(runId);
  if (!cp) throw new ServiceError("BAD_STATE", `run ${runId} has no prompt checkpoint yet: wait until it has trained`);
  let prompt = cp.prompt;
  if (cp.resumeFrame) {
    const ev = decodeFrame(cp.resumeFrame);
    if (ev.type === "checkpoint") prompt = ev.checkpoint.best?.prompt ?? ev.checkpoint.prompt;
  }
  return {
    run,
    model: { kind: "onnx", dir: model.path, threads: options.threads, device: options.device, roots: modelRoots },
    rows: val.map(toRunnerRow),
    layout: runnerConfig(options).layout ?? {},
    prompt: Float32Array.from(prompt),
  };
}
