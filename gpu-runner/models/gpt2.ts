/**
 * GPT-2 (modeling_gpt2.py): learned positions, pre-LN blocks, Conv1D weights stored [in, out],
 * fused qkv, gelu_new (or relu) MLP, final LayerNorm, head tied to wte (or lm_head.weight when present).
 * FFN neurons = act(c_fc(x)) [B,T,F].
 */
import { Graph } from "../graph/graph.js";
import type { Tensor } from "../graph/graph.js";
import { add, gelu, greater, layerNorm, reshape, slice, transpose, where } from "../graph/ops.js";
import { ConfigError } from "../hf/errors.js";
import type { ModelDir } from "../hf/model-dir.js";
import { attend, declareInputs, dense, denseBlocks, embed, finish, intervene, splitHeads } from "./common.js";
import type { GraphSpec } from "./spec.js";
import { WeightReader, type WeightStore } from "./weights.js";

/** max(x, 0), spelled where(x > 0, x, 0) so that it is differentiable (gradient 0 where x <= 0). */
export function relu(x: Tensor): Tensor {
  return where(greater(x, 0), x, 0);
}

/** The FFN activations transformers' GPT-2 accepts that this graph implements, by config name. */
const ACTIVATIONS: ReadonlyMap<string, (x: Tensor) => Tensor> = new Map([["gelu_new", gelu], ["relu", relu]]);

export function buildGpt2Graph(model: ModelDir, weights: WeightStore, spec: GraphSpec): Graph {
  const c = model.config;
  const activation = ACTIVATIONS.get(c.activation);
  if (!activation) {
    throw new ConfigError(`config.json: activation_function "${c.activation}" is not supported for gpt2 (only ${[...ACTIVATIONS.keys()].join(", ")})`, "config.json", "activation_function");
  }
  const g = new Graph({ dtype: "float32", name: "gpt2" });
  // Published GPT-2 files have no "transformer." prefix; files saved from GPT2LMHeadModel do.
  const w = new WeightReader(model, weights, g, ["", "transformer."]);
  const { dModel: d, dFF: F, nHeads: H, headDim: hd, vocabSize: V, maxPositions: P, normEps: eps } = c;
  const inputs = declareInputs(g, spec, d, F);
  const wte = w.param("wte.weight", [V, d]);
  let h = add(embed(inputs, wte), g.gatherRows(w.param("wpe.weight", [P, d]), inputs.positionIds)); // [B,T,d]
  const ffn = [];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `h.${i}.`;
    const a = layerNorm(h, w.param(p + "ln_1.weight", [d]), w.param(p + "ln_1.bias", [d]), eps);
    const qkv = dense(a, w.matrix(p + "attn.c_attn.weight", [d, 3 * d]), "inOut", w.param(p + "attn.c_attn.bias", [3 * d]));
    const q = splitHeads(slice(qkv, 2, 0, d), H, hd); // [B,H,T,hd]
    const k = splitHeads(slice(qkv, 2, d, 2 * d), H, hd);
    const v = splitHeads(slice(qkv, 2, 2 * d, 3 * d), H, hd);
    const o = attend(q, transpose(k, [0, 1, 3, 2]), v, inputs.attnBias, hd, spec.compute); // [B,H,T,hd]
    const merged = reshape(transpose(o, [0, 2, 1, 3]), [0, 0, d]);
    h = add(h, dense(merged, w.matrix(p + "attn.c_proj.weight", [d, d]), "inOut", w.param(p + "attn.c_proj.bias", [d])));
    const m = layerNorm(h, w.param(p + "ln_2.weight", [d]), w.param(p + "ln_2.bias", [d]), eps);
    const act = intervene(inputs, i, activation(dense(m, w.matrix(p + "mlp.c_fc.weight", [d, F]), "inOut", w.param(p + "mlp.c_fc.bias", [F])))); // [B,T,F]
    ffn.push(act);
    h = add(h, dense(act, w.matrix(p + "mlp.c_proj.weight", [F, d]), "inOut", w.param(p + "mlp.c_proj.bias", [d])));
  }
  h = layerNorm(h, w.param("ln_f.weight", [d]), w.param("ln_f.bias", [d]), eps);
  const head = model.tensors.has("lm_head.weight") ? new WeightReader(model, weights, g).rowBlocks("lm_head.weight", [V, d]) : w.rowBlocks("wte.weight", [V, d]);
  finish(g, spec, inputs, h, ffn, (x) => denseBlocks(x, head), d);
  return g;
}
