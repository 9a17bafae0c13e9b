import type { ModelConfig } from "../hf/config.js";

/**
 * RoPE inverse frequencies [headDim/2] as transformers computes them (modeling_rope_utils.py):
 * default theta^(-2i/hd); "linear" divides by factor; "llama3" divides long wavelengths by factor,
 * keeps short ones and interpolates smoothly in between. Rounded to float32 as HF holds them.
 */
export function ropeInvFreq(c: Pick<ModelConfig, "headDim" | "ropeTheta" | "ropeScaling">): Float32Array {
  const hd = c.headDim;
  const base = Float32Array.from({ length: hd / 2 }, (_, i) => 1 / c.ropeTheta ** ((2 * i) / hd));
  const s = c.ropeScaling;
  if (s.type === "default") return base;
  if (s.type === "linear") return base.map((f) => f / s.factor);
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}
