/**
 * The demo model's architecture and parameters: a small GPT-2 with the published tensor names
 * (no `transformer.` prefix), Conv1D weights stored [in, out], and the head tied to `wte`.
 */
import { Rng } from "../train/rng.js";

export interface Gpt2Shape {
  readonly vocabSize: number;
  readonly nPositions: number;
  readonly dModel: number;
  readonly nLayers: number;
  readonly nHeads: number;
  /** FFN width (neurons per layer). */
  readonly dFF: number;
  readonly layerNormEps: number;
  /** FFN activation (config.json `activation_function`); GPT-2's gelu_new when absent, as in transformers. */
  readonly activation?: FfnActivation;
  /**
   * Attention window W (config.json `sliding_window`): query i sees keys j with 0 <= i - j < W, Hugging
   * Face's sliding-window convention; absent: full causal attention, as in GPT-2.
   */
  readonly attnWindow?: number;
}

/** The FFN activations the demo can train and the runner can load for gpt2: GPT-2's tanh GELU, or ReLU (sparse codes). */
export type FfnActivation = "gelu_new" | "relu";

/**
 * The demo model: 6 layers, 18432 ReLU FFN neurons, about 5.2M parameters (20.8 MB in float32); the
 * size that pretrains on the broad corpus within the hour on a shared 2-core machine. ReLU (with
 * the L1 penalty of DEFAULT_PRETRAIN.ffnL1) gives sparse FFN codes, as in ReLU LMs. The FFN is wide
 * (24 x d_model) because the share of neurons that track a skill fell with width at the same
 * per-neuron penalty (issue #15: sentiment 7.3%, 5.0%, 3.7% of neurons at d_ff 1024, 2048, 3072).
 * Attention sees the last 16 positions, fewer than the 20 soft tokens: an answer after the soft prompt
 * cannot read the instruction directly, so what it needs passes through the soft positions, where
 * the neurons are measured (with full attention the digits of a product read the operands directly
 * and no soft-position neuron moved them; issue #15, demo/README.md).
 */
export const DEMO_SHAPE: Omit<Gpt2Shape, "vocabSize"> = {
  nPositions: 64, dModel: 128, nLayers: 6, nHeads: 4, dFF: 3072, layerNormEps: 1e-5, activation: "relu", attnWindow: 16,
};

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** How the parameter starts: N(0, std^2), all ones, or all zeros. */
  readonly init: { kind: "normal"; std: number } | { kind: "ones" } | { kind: "zeros" };
  /** Gets weight decay (matrices) or not (biases, LayerNorm, positions). */
  readonly decay: boolean;
}

/** Every parameter in checkpoint order, with GPT-2's initialisation (std 0.02, residual projections 0.02/sqrt(2L)). */
export function gpt2ParamSpecs(s: Gpt2Shape): ParamSpec[] {
  const std = 0.02;
  const residStd = std / Math.sqrt(2 * s.nLayers);
  const normal = (sd: number) => ({ kind: "normal", std: sd }) as const;
  const ones = { kind: "ones" } as const;
  const zeros = { kind: "zeros" } as const;
  const specs: ParamSpec[] = [
    { name: "wte.weight", shape: [s.vocabSize, s.dModel], init: normal(std), decay: true },
    { name: "wpe.weight", shape: [s.nPositions, s.dModel], init: normal(0.01), decay: false },
  ];
  for (let l = 0; l < s.nLayers; l++) {
    const p = `h.${l}.`;
    specs.push(
      { name: `${p}ln_1.weight`, shape: [s.dModel], init: ones, decay: false },
      { name: `${p}ln_1.bias`, shape: [s.dModel], init: zeros, decay: false },
      { name: `${p}attn.c_attn.weight`, shape: [s.dModel, 3 * s.dModel], init: normal(std), decay: true },
      { name: `${p}attn.c_attn.bias`, shape: [3 * s.dModel], init: zeros, decay: false },
      { name: `${p}attn.c_proj.weight`, shape: [s.dModel, s.dModel], init: normal(residStd), decay: true },
      { name: `${p}attn.c_proj.bias`, shape: [s.dModel], init: zeros, decay: false },
      { name: `${p}ln_2.weight`, shape: [s.dModel], init: ones, decay: false },
      { name: `${p}ln_2.bias`, shape: [s.dModel], init: zeros, decay: false },
      { name: `${p}mlp.c_fc.weight`, shape: [s.dModel, s.dFF], init: normal(std), decay: true },
      { name: `${p}mlp.c_fc.bias`, shape: [s.dFF], init: zeros, decay: false },
      { name: `${p}mlp.c_proj.weight`, shape: [s.dFF, s.dModel], init: normal(residStd), decay: true },
      { name: `${p}mlp.c_proj.bias`, shape: [s.dModel], init: zeros, decay: false },
    );
  }
  specs.push(
    { name: "ln_f.weight", shape: [s.dModel], init: ones, decay: false },
    { name: "ln_f.bias", shape: [s.dModel], init: zeros, decay: false },
  );
  return specs;
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Fresh parameters drawn from `seed`, by name. */
export function initParams(specs: readonly ParamSpec[], seed: number): Map<string, Float32Array> {
  const rng = Rng.fromSeed(seed);
  const params = new Map<string, Float32Array>();
  for (const spec of specs) {
    const data = new Float32Array(numel(spec.shape));
    if (spec.init.kind === "ones") data.fill(1);
    else if (spec.init.kind === "normal") for (let i = 0; i < data.length; i++) data[i] = spec.init.std * rng.normal();
    params.set(spec.name, data);
  }
  return params;
}
