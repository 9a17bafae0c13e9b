/** Opens the PromptModel and TextCodec a start message names. */
import { badInput } from "../train/errors.js";
import type { PromptModel, TextCodec } from "../train/prompt-model.js";
import { ToyPromptModel, ToyTextCodec } from "../train/toy-model.js";
import type { ModelSpec } from "./protocol.js";

export interface OpenedModel {
  readonly model: PromptModel;
  readonly codec: TextCodec;
}

export async function openPromptModel(spec: ModelSpec): Promise<OpenedModel> {
  switch (spec?.kind) {
    case "toy":
      return { model: new ToyPromptModel(spec.config), codec: new ToyTextCodec(spec.config.vocabSize) };
    case "onnx":
      return openOnnx(spec);
    default:
      throw badInput(`model.kind must be "toy" or "onnx", got ${JSON.stringify((spec as { kind?: unknown })?.kind)}`);
  }
}

async function openOnnx(spec: Extract<ModelSpec, { kind: "onnx" }>): Promise<OpenedModel> {
  if (typeof spec.dir !== "string" || spec.dir === "") throw badInput("model.dir must name a Hugging Face checkpoint folder");
  if (spec.device !== undefined && spec.device !== "cpu" && spec.device !== "cuda") throw badInput(`model.device must be "cpu" or "cuda", got ${String(spec.device)}`);
  // loaded on demand: the toy path must not pay for onnxruntime
  const { openOnnxPromptModel } = await import("../train/onnx-prompt-model.js");
  return openOnnxPromptModel(spec.dir, { device: spec.device, threads: spec.threads, roots: spec.roots });
}
