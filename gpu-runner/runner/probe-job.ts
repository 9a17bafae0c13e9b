/**
 * A probe job, start to finish: open the checkpoint, tokenize the rows, forward them with the
 * trained prompt through extract() (the code path that produced the stored activations) and keep
 * only the asked-for neurons. Reports through `send` like runner/job.ts: status events, then
 * `done` with summary.probe, or `error` (CANCELLED when the signal aborts).
 */
import { checkNeurons } from "../causal/neurons.js";
import { extract } from "../extract/extract.js";
import { badInput, toRunnerError } from "../train/errors.js";
import { openOnnxPromptModel } from "../train/onnx-prompt-model.js";
import { encodeRows, type Send } from "./job.js";
import { checkCheckpointJob, trainedPromptLayout } from "./checkpoint-job.js";
import type { EventBody, ProbeMessage, RunnerEvent } from "./protocol.js";
import type { ProbeOutcome } from "../probe/types.js";

/** Never throws: failures and cancellation end with an `error` event, success with `done`. */
export async function runProbeJob(msg: ProbeMessage, send: Send, signal: AbortSignal): Promise<void> {
  let seq = 0;
  const emit = (body: EventBody) => send({ ...body, runId: msg.runId, seq: seq++ } as RunnerEvent);
  const t0 = performance.now();
  let dispose: (() => Promise<void>) | undefined;
  try {
    checkMessage(msg);
    emit({ type: "status", phase: "loading", message: `opening ${msg.model.dir}` });
    const { model, codec } = openOnnxPromptModel(msg.model.dir, { device: msg.model.device, compute: msg.model.compute, threads: msg.model.threads, roots: msg.model.roots });
    dispose = () => model.dispose();
    const layout = trainedPromptLayout(msg, model, codec.padId);
    const neurons = msg.probe.neurons;
    checkNeurons("probe.neurons", neurons, model.nLayers, model.dFF);
    const samples = await encodeRows(msg.rows, codec, "rows", layout, signal);
    const n = samples.length;
    const K = neurons.length;
    const P = layout.promptLength;
    const F = model.dFF;
    const out = {
      loss: new Float64Array(n), goldProb: new Float64Array(n), confidence: new Float64Array(n),
      contentLoss: new Float64Array(n), contentConfidence: new Float64Array(n),
      prediction: new Array<string>(n).fill(""), correct: new Uint8Array(n), activations: new Float32Array(n * K * P),
    };
    // slot k of the output reads neuron neurons[k]; group the slots by layer for each tap
    const slotsOfLayer = new Map<number, number[]>();
    neurons.forEach((nr, k) => slotsOfLayer.set(nr.layer, [...(slotsOfLayer.get(nr.layer) ?? []), k]));
    emit({ type: "status", phase: "extracting", message: `probing ${K} neurons on ${n} rows` });
    await extract(model, samples, layout, msg.prompt, { batchSize: msg.probe.batchSize ?? 16, layers: [...slotsOfLayer.keys()], positions: "soft" }, {
      decode: (ids) => codec.decode(ids),
      signal,
      onSamples: (s) => s.sampleIdx.forEach((row, i) => {
        out.loss[row] = s.loss[i];
        out.goldProb[row] = s.goldProb[i];
        out.confidence[row] = s.confidence[i];
        out.contentLoss[row] = s.contentLoss[i];
        out.contentConfidence[row] = s.contentConfidence[i];
        out.prediction[row] = s.prediction[i];
        out.correct[row] = s.correct[i];
      }),
      onActivations: (a) => {
        const slots = slotsOfLayer.get(a.layer) ?? [];
        a.sampleIdx.forEach((row, i) => {
          for (const k of slots) {
            for (let p = 0; p < P; p++) out.activations[(row * K + k) * P + p] = a.data[(i * P + p) * F + neurons[k].neuron];
          }
        });
      },
      onBatchDone: (done, total) => emit({ type: "status", phase: "extracting", message: `probe: batch ${done} of ${total} done` }),
    });
    const probe: ProbeOutcome = { sampleIds: msg.rows.map((r) => r.id), nPositions: P, ...out };
    emit({ type: "done", summary: { neuronDefinition: model.neuronDefinition, prompt: Float32Array.from(msg.prompt), probe, seconds: (performance.now() - t0) / 1000 } });
  } catch (e) {
    const err = toRunnerError(e);
    emit({ type: "error", code: err.code, message: err.message });
  } finally {
    await dispose?.().catch(() => undefined);
  }
}

function checkMessage(msg: ProbeMessage): void {
  checkCheckpointJob("probe", msg, "a probe needs a checkpoint folder");
  const b = msg.probe?.batchSize;
  if (b !== undefined && !(Number.isInteger(b) && b >= 1)) throw badInput(`probe.batchSize must be a positive integer, got ${String(b)}`);
}
