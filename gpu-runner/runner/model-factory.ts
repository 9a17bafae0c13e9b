/** Opens the PromptModel and TextCodec a start message names. */
import { badInput } from "../train/errors.js";
import type { PromptModel, TextCodec } from "../train/prompt-model.js";
import type { ModelSpec } from "./protocol.js";

export interface OpenedModel {
  readonly model: PromptModel;
  readonly codec: TextCodec;
}

/** Opens spec's checkpoint; a message from the wire that names anything else is a BAD_INPUT. */
export async function openPromptModel(spec: ModelSpec): Promise<OpenedModel> {
  if (spec?.kind !== "onnx") throw badInput(`model.kind must be "onnx", got ${JSON.stringify((spec as { kind?: unknown })?.kind)}`);
  if (typeof spec.dir !== "string" || spec.dir === "") throw badInput("model.dir must name a Hugging Face checkpoint folder");
  if (spec.device !== undefined && spec.device !== "cpu" && spec.device !== "cuda") throw badInput(`model.device must be "cpu" or "cuda", got ${String(spec.device)}`);
  if (spec.compute !== undefined && spec.compute !== "f32" && spec.compute !== "f16") throw badInput(`model.compute must be "f32" or "f16", got ${String(spec.compute)}`);
  // loaded on demand: modules that only import the runner (the server) do not load onnxruntime
  const { openOnnxPromptModel } = await import("../train/onnx-prompt-model.js");
  return openOnnxPromptModel(spec.dir, { device: spec.device, compute: spec.compute, threads: spec.threads, roots: spec.roots });
}
