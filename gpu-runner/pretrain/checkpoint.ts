/**
 * Writes the trained model as an ordinary Hugging Face GPT-2 folder: config.json (GPT-2 names),
 * model.safetensors (F32, published tensor names, Conv1D [in,out] layout, tied head so no
 * lm_head), tokenizer.json and generation_config.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { numel, type Gpt2Shape, type ParamSpec } from "./gpt2-params.js";
import { EOS_ID, PAD_ID, tokenizerJson } from "./tokenizer.js";

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The bytes of a .safetensors file holding F32 tensors in the given order. */
export function safetensorsBytes(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: "pt", ...metadata } };
  let offset = 0;
  for (const t of tensors) {
    if (t.data.length !== numel(t.shape)) throw new RangeError(`tensor ${t.name}: ${t.data.length} values do not fill shape [${t.shape}]`);
    header[t.name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // The header is padded with spaces to a multiple of 8 so the data stays 8-byte aligned.
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** config.json as transformers writes it for GPT2LMHeadModel. */
export function gpt2ConfigJson(s: Gpt2Shape): Record<string, unknown> {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: s.vocabSize,
    n_positions: s.nPositions,
    n_ctx: s.nPositions,
    n_embd: s.dModel,
    n_layer: s.nLayers,
    n_head: s.nHeads,
    n_inner: s.dFF,
    activation_function: s.activation ?? "gelu_new",
    // Not a GPT2Config field: transformers keeps it but attends fully; skillscope's loader applies it.
    ...(s.attnWindow !== undefined ? { sliding_window: s.attnWindow } : {}),
    layer_norm_epsilon: s.layerNormEps,
    initializer_range: 0.02,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    bos_token_id: EOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: PAD_ID,
    torch_dtype: "float32",
  };
}

/** Writes the checkpoint folder (created if missing); returns the files written. */
export function writeCheckpoint(
  dir: string,
  shape: Gpt2Shape,
  specs: readonly ParamSpec[],
  params: ReadonlyMap<string, Float32Array>,
  extra: Record<string, unknown> = {},
): string[] {
  mkdirSync(dir, { recursive: true });
  const tensors = specs.map((s) => ({ name: s.name, shape: s.shape, data: params.get(s.name)! }));
  writeFileSync(join(dir, "model.safetensors"), safetensorsBytes(tensors));
  writeFileSync(join(dir, "config.json"), JSON.stringify(gpt2ConfigJson(shape), null, 2) + "\n");
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(), null, 2) + "\n");
  writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ bos_token_id: EOS_ID, eos_token_id: EOS_ID, pad_token_id: PAD_ID }, null, 2) + "\n");
  const files = ["config.json", "model.safetensors", "tokenizer.json", "generation_config.json"];
  if (Object.keys(extra).length > 0) {
    writeFileSync(join(dir, "training.json"), JSON.stringify(extra, null, 2) + "\n");
    files.push("training.json");
  }
  return files;
}
