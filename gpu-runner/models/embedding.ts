import { CheckpointError } from "../hf/errors.js";
import type { ModelDir } from "../hf/model-dir.js";
import { readTensor, type TensorInfo } from "../hf/safetensors.js";

const EMBEDDING_NAMES = { gpt2: ["wte.weight", "transformer.wte.weight"], llama: ["model.embed_tokens.weight"] } as const;

/** The input embedding matrix [V, d] of a checkpoint. */
export function embeddingTensor(model: ModelDir): TensorInfo {
  const names = EMBEDDING_NAMES[model.config.family];
  for (const n of names) {
    const t = model.tensors.get(n);
    if (t) return t;
  }
  throw new CheckpointError(`model.safetensors: input embedding "${names[0]}" not found in ${model.dir}`, "model.safetensors", names[0]);
}

/** Rows `ids` of the input embedding matrix as float32 [ids.length, d] (e.g. to initialise a soft
 * prompt from vocabulary embeddings). Reads only those rows from disk. */
export function readEmbeddingRows(model: ModelDir, ids: readonly number[]): Float32Array {
  const t = embeddingTensor(model);
  const [V, d] = t.shape as [number, number];
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`readEmbeddingRows: id ${id} outside the vocabulary [0, ${V})`);
    out.set(readTensor(t, id, id + 1), i * d);
  });
  return out;
}
