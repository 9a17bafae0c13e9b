/**
 * What the jobs on a checkpoint with a trained prompt share (causal, probe): the checks of their
 * message, and the layout their prompt must fit.
 */
import { badInput } from "../train/errors.js";
import { resolveLayout, type LayoutOptions } from "../train/layout.js";
import type { OnnxPromptModel } from "../train/onnx-prompt-model.js";
import type { CausalMessage, ProbeMessage } from "./protocol.js";

/** Throws BAD_INPUT naming `kind`'s first bad field; `why` says what the job needs the checkpoint folder for. */
export function checkCheckpointJob(kind: "causal" | "probe", msg: CausalMessage | ProbeMessage, why: string): void {
  if (typeof msg.runId !== "string" || msg.runId === "") throw badInput(`${kind}.runId must be a non-empty string`);
  if (msg.model?.kind !== "onnx" || typeof msg.model.dir !== "string" || msg.model.dir === "") {
    throw badInput(`${kind}.model must be { kind: "onnx", dir } (${why})`);
  }
  if (!Array.isArray(msg.rows) || msg.rows.length === 0) throw badInput(`${kind}.rows must be a non-empty list of rows`);
}

/** The message's layout on this model and tokenizer; throws BAD_INPUT when its prompt does not fit it. */
export function trainedPromptLayout(msg: CausalMessage | ProbeMessage, model: OnnxPromptModel, padId: number): LayoutOptions {
  const layout = resolveLayout({ ...msg.layout, padId, maxLength: msg.layout?.maxLength ?? model.maxPositions });
  if (!(msg.prompt instanceof Float32Array) || msg.prompt.length !== layout.promptLength * model.dModel) {
    throw badInput(`prompt must be a Float32Array of promptLength*dModel = ${layout.promptLength}*${model.dModel} values`);
  }
  return layout;
}
