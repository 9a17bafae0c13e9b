import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "./errors.js";
import { parseJsonText } from "./json-text.js";

/** Architectures the graphs implement; mistral is built by the llama graph. */
export const SUPPORTED_MODEL_TYPES = ["gpt2", "llama", "mistral", "qwen2"] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];
/** Graph family: which builder in gpu-runner/models handles the model. */
export type ModelFamily = "gpt2" | "llama";
export type CheckpointDtype = "float32" | "float16" | "bfloat16";

/** One normalised view of config.json across families and transformers 4.x / 5.x spellings. */
export interface ModelConfig {
  modelType: ModelType;
  family: ModelFamily;
  vocabSize: number;
  /** Residual width (GPT-2 n_embd, llama hidden_size). */
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads (GQA); equals nHeads without GQA. */
  nKvHeads: number;
  headDim: number;
  /** FFN width = number of neurons per layer (GPT-2 n_inner, llama intermediate_size). */
  dFF: number;
  /** Longest position the checkpoint supports (GPT-2 n_positions, llama max_position_embeddings). */
  maxPositions: number;
  /** LayerNorm / RMSNorm epsilon. */
  normEps: number;
  /** FFN activation as named by transformers (gelu_new, silu, ...). */
  activation: string;
  /** RoPE base (llama family only; 0 for gpt2). */
  ropeTheta: number;
  /** RoPE frequency scaling (rope_scaling / rope_parameters); "default" = none. */
  ropeScaling: RopeScaling;
  /** Attention window W (sliding_window: query i sees keys i - W < j <= i), when the config enables one. */
  slidingWindow: number | undefined;
  /** q/k/v projections carry biases (qwen2; llama with attention_bias). */
  qkvBias: boolean;
  /** Attention output projection carries a bias (llama with attention_bias; gpt2 always). */
  oBias: boolean;
  /** Output head reuses the input embedding matrix. */
  tieWordEmbeddings: boolean;
  /** dtype the config declares (torch_dtype or dtype); the tensors' own dtypes rule when loading. */
  dtype: CheckpointDtype | undefined;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
}

/** RoPE variants whose inv_freq the graphs compute (attention scaling stays 1 for all of them). */
export type RopeScaling =
  | { type: "default" }
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

type Json = Record<string, unknown>;

const DTYPES: Record<string, CheckpointDtype> = {
  float32: "float32", float16: "float16", bfloat16: "bfloat16", fp32: "float32", fp16: "float16", bf16: "bfloat16",
};

/** Reads and normalises `<dir>/config.json`. Throws ConfigError naming the field on bad input. */
export function readConfig(dir: string): ModelConfig {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config.json (${(e as Error).message}); point --model at a Hugging Face model folder`, file);
  }
  const json = parseJsonText(text, (problem) => new ConfigError(`${file}: ${problem}; re-download the model`, file));
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(`${file}: expected a JSON object`, file);
  }
  return parseConfig(json as Json, file);
}

/** Normalises an already parsed config object; `file` only labels errors. */
export function parseConfig(raw: Json, file = "config.json"): ModelConfig {
  const rawType = raw["model_type"];
  if (typeof rawType !== "string" || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(rawType)) {
    throw new ConfigError(
      `${file}: unsupported model_type ${JSON.stringify(rawType)}; supported: ${SUPPORTED_MODEL_TYPES.join(", ")}`,
      file, "model_type");
  }
  const modelType = rawType as ModelType;
  const int = (key: string, fallback?: number): number => {
    const v = raw[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${file}: missing field "${key}" (needed for ${modelType})`, file, key);
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new ConfigError(`${file}: field "${key}" must be a positive integer, got ${JSON.stringify(v)}`, file, key);
    }
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = raw[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`${file}: field "${key}" must be a positive number, got ${JSON.stringify(v)}`, file, key);
    }
    return v;
  };
  const optId = (key: string): number | undefined => {
    const v = raw[key];
    if (typeof v === "number") return v;
    if (Array.isArray(v) && typeof v[0] === "number") return v[0];
    return undefined;
  };
  // sliding_window (query i sees keys j with i - j < W, as transformers masks): mistral applies any
  // it declares; gpt2 has no such field in transformers, but skillscope's demo writes and reads it.
  const window = (): number | undefined => (raw["sliding_window"] == null ? undefined : int("sliding_window"));
  // qwen2 declares a window but applies it only with use_sliding_window, and then only in the layers
  // from max_window_layers on (transformers' default 28); one window for all layers is what runs here.
  const qwen2Window = (): number | undefined => {
    if (raw["use_sliding_window"] !== true) return undefined;
    const nLayers = int("num_hidden_layers");
    const from = raw["max_window_layers"] ?? 28;
    if (typeof from !== "number" || !Number.isInteger(from) || from < 0) {
      throw new ConfigError(`${file}: field "max_window_layers" must be an integer >= 0, got ${JSON.stringify(from)}`, file, "max_window_layers");
    }
    if (from >= nLayers) return undefined;
    if (from > 0) {
      throw new ConfigError(`${file}: layers ${from}-${nLayers - 1} use a sliding window and layers 0-${from - 1} full attention; ` +
        "skillscope applies one attention pattern to all layers: set max_window_layers to 0 or to num_hidden_layers", file, "max_window_layers");
    }
    return window();
  };
  const dtypeRaw = raw["dtype"] ?? raw["torch_dtype"];
  let dtype: CheckpointDtype | undefined;
  if (typeof dtypeRaw === "string") {
    dtype = DTYPES[dtypeRaw];
    if (!dtype) {
      throw new ConfigError(`${file}: dtype ${JSON.stringify(dtypeRaw)} is not supported; use float32, float16 or bfloat16`, file, "dtype");
    }
  }
  const common = { bosTokenId: optId("bos_token_id"), eosTokenId: optId("eos_token_id"), dtype };

  if (modelType === "gpt2") {
    const dModel = int("n_embd");
    const nHeads = int("n_head");
    if (dModel % nHeads !== 0) {
      throw new ConfigError(`${file}: n_embd ${dModel} is not divisible by n_head ${nHeads}`, file, "n_head");
    }
    const act = raw["activation_function"] ?? "gelu_new";
    for (const flag of ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"]) {
      if (raw[flag] === true) throw new ConfigError(`${file}: ${flag}=true is not supported`, file, flag);
    }
    return {
      modelType, family: "gpt2", vocabSize: int("vocab_size"), dModel, nLayers: int("n_layer"), nHeads,
      nKvHeads: nHeads, headDim: dModel / nHeads, dFF: int("n_inner", 4 * dModel), maxPositions: int("n_positions"),
      normEps: num("layer_norm_epsilon", 1e-5), activation: String(act), ropeTheta: 0, ropeScaling: { type: "default" },
      slidingWindow: window(), qkvBias: true, oBias: true,
      tieWordEmbeddings: raw["tie_word_embeddings"] !== false, ...common,
    };
  }
  const dModel = int("hidden_size");
  const nHeads = int("num_attention_heads");
  const nKvHeads = int("num_key_value_heads", nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw new ConfigError(`${file}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`, file, "num_key_value_heads");
  }
  if (raw["head_dim"] === undefined && dModel % nHeads !== 0) {
    throw new ConfigError(`${file}: hidden_size ${dModel} is not divisible by num_attention_heads ${nHeads}; add head_dim`, file, "head_dim");
  }
  const headDim = int("head_dim", dModel / nHeads);
  const ropeParams = (raw["rope_parameters"] ?? null) as Json | null;
  const ropeScalingRaw = (raw["rope_scaling"] ?? null) as Json | null;
  const rp: Json = { ...(ropeScalingRaw ?? {}), ...(ropeParams ?? {}) };
  const thetaRaw = rp["rope_theta"] ?? raw["rope_theta"] ?? 10000;
  if (typeof thetaRaw !== "number" || !(thetaRaw > 0)) {
    throw new ConfigError(`${file}: rope_theta must be a positive number, got ${JSON.stringify(thetaRaw)}`, file, "rope_theta");
  }
  const ropeScaling = parseRopeScaling(rp, file, raw);
  const slidingWindow = modelType === "qwen2" ? qwen2Window() : window();
  const hiddenAct = raw["hidden_act"] ?? "silu";
  if (raw["mlp_bias"] === true) {
    throw new ConfigError(`${file}: mlp_bias=true is not supported`, file, "mlp_bias");
  }
  return {
    modelType, family: "llama", vocabSize: int("vocab_size"), dModel, nLayers: int("num_hidden_layers"), nHeads,
    nKvHeads, headDim, dFF: int("intermediate_size"), maxPositions: int("max_position_embeddings", 2048),
    normEps: num("rms_norm_eps", 1e-6), activation: String(hiddenAct), ropeTheta: thetaRaw,
    ropeScaling, slidingWindow,
    // qwen2 always has q/k/v biases; llama/mistral only with attention_bias.
    qkvBias: modelType === "qwen2" || raw["attention_bias"] === true,
    oBias: modelType !== "qwen2" && raw["attention_bias"] === true,
    tieWordEmbeddings: raw["tie_word_embeddings"] === true, ...common,
  };
}

function parseRopeScaling(rp: Json, file: string, raw: Json): RopeScaling {
  const type = (rp["rope_type"] ?? rp["type"] ?? "default") as string;
  const pos = (key: string, fallback?: number): number => {
    const v = rp[key] ?? fallback;
    if (typeof v !== "number" || !(v > 0)) {
      throw new ConfigError(`${file}: rope ${type} needs a positive "${key}", got ${JSON.stringify(v)}`, file, "rope_parameters");
    }
    return v;
  };
  if (type === "default") return { type };
  if (type === "linear") return { type, factor: pos("factor") };
  if (type === "llama3") {
    return {
      type, factor: pos("factor"), lowFreqFactor: pos("low_freq_factor"), highFreqFactor: pos("high_freq_factor"),
      originalMaxPositions: pos("original_max_position_embeddings", raw["max_position_embeddings"] as number | undefined),
    };
  }
  throw new ConfigError(`${file}: rope type "${type}" is not supported; supported: default, linear, llama3`, file, "rope_parameters");
}
