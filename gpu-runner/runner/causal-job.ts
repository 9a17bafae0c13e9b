/**
 * A causal job, start to finish: open the checkpoint, tokenize the rows, run the ablation or
 * steering experiment, and report through `send` (status events, then `done` with summary.causal,
 * or `error`). Serves the worker thread like job.ts; the experiments themselves live in ../causal/.
 */
import { badInput, toRunnerError } from "../train/errors.js";
import { openOnnxPromptModel } from "../train/onnx-prompt-model.js";
import { CausalEvaluator } from "../causal/evaluator.js";
import { checkNeurons } from "../causal/neurons.js";
import { experimentLayers, runAblation, runSteering, type ExperimentContext } from "../causal/experiment.js";
import type { CausalOutcome } from "../causal/types.js";
import { encodeRows, type Send } from "./job.js";
import { checkCheckpointJob, trainedPromptLayout } from "./checkpoint-job.js";
import type { CausalMessage, EventBody, RunnerEvent } from "./protocol.js";

/** Never throws: failures and cancellation end with an `error` event, success with `done`. */
export async function runCausalJob(msg: CausalMessage, send: Send, signal: AbortSignal): Promise<void> {
  let seq = 0;
  const emit = (body: EventBody) => send({ ...body, runId: msg.runId, seq: seq++ } as RunnerEvent);
  const t0 = performance.now();
  let evaluator: CausalEvaluator | undefined;
  let dispose: (() => Promise<void>) | undefined;
  try {
    checkMessage(msg);
    emit({ type: "status", phase: "loading", message: `opening ${msg.model.dir}` });
    const { model, codec } = openOnnxPromptModel(msg.model.dir, { device: msg.model.device, compute: msg.model.compute, threads: msg.model.threads, roots: msg.model.roots });
    dispose = () => model.dispose();
    const layout = trainedPromptLayout(msg, model, codec.padId);
    emit({ type: "status", phase: "tokenizing", message: `tokenizing ${msg.rows.length} rows` });
    const samples = await encodeRows(msg.rows, codec, "rows", layout, signal);
    const spec = msg.experiment;
    const positions = spec.positions ?? "soft";
    if (positions !== "soft" && positions !== "all") throw badInput(`experiment.positions must be "soft" or "all", got ${String(positions)}`);
    // named errors before any session compiles
    if (spec.kind === "ablation") checkNeurons("experiment.neurons", spec.neurons, model.nLayers, model.dFF);
    else checkNeurons("experiment.neuron", [spec.neuron], model.nLayers, model.dFF);
    evaluator = await CausalEvaluator.open(model.loaded, experimentLayers(spec), positions, layout.promptLength);
    emit({ type: "status", phase: "extracting", message: `${spec.kind} on ${samples.length} rows` });
    const ctx: ExperimentContext = {
      evaluator, samples, sampleIds: msg.rows.map((r) => r.id), layout, prompt: msg.prompt,
      batchSize: msg.batchSize ?? 16, decode: (ids) => codec.decode(ids), signal,
      onBatch: (done, total) => emit({ type: "status", phase: "extracting", message: `${spec.kind}: batch ${done} of ${total} done` }),
    };
    const causal: CausalOutcome = spec.kind === "ablation" ? await runAblation(ctx, spec) : await runSteering(ctx, spec);
    emit({ type: "done", summary: { neuronDefinition: model.neuronDefinition, prompt: Float32Array.from(msg.prompt), causal, seconds: (performance.now() - t0) / 1000 } });
  } catch (e) {
    const err = toRunnerError(e);
    emit({ type: "error", code: err.code, message: err.message });
  } finally {
    await evaluator?.release().catch(() => undefined);
    // released here, not by terminating the worker: the host lets a worker that finished exit by itself
    await dispose?.().catch(() => undefined);
  }
}

function checkMessage(msg: CausalMessage): void {
  checkCheckpointJob("causal", msg, "causal experiments need a checkpoint folder");
  const kind = (msg.experiment as { kind?: unknown } | undefined)?.kind;
  if (kind !== "ablation" && kind !== "steering") throw badInput(`causal.experiment.kind must be "ablation" or "steering", got ${JSON.stringify(kind)}`);
  if (msg.batchSize !== undefined && !(Number.isInteger(msg.batchSize) && msg.batchSize >= 1)) throw badInput(`causal.batchSize must be a positive integer, got ${String(msg.batchSize)}`);
}
