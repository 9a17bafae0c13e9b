/**
 * Llama / Mistral / Qwen2 (modeling_llama.py, modeling_qwen2.py): RMSNorm (pre-norm), rotate-half
 * RoPE with rope_theta over position ids, grouped-query attention (kv heads shared by groups of
 * query heads, as repeat_kv), SiLU-gated MLP, optional q/k/v (and o) biases, optional tied head.
 * FFN neurons = act(gate(x)) * up(x) [B,T,F].
 */
import { Graph, type Tensor } from "../graph/graph.js";
import { add, cast, concat, cos, mul, neg, reshape, rmsNorm, silu, sin, slice, transpose, unsqueeze } from "../graph/ops.js";
import { ConfigError } from "../hf/errors.js";
import type { ModelDir } from "../hf/model-dir.js";
import { attend, declareInputs, dense, denseBlocks, embed, finish, intervene } from "./common.js";
import type { GraphSpec } from "./spec.js";
import { ropeInvFreq } from "./rope.js";
import { WeightReader, type WeightStore } from "./weights.js";

/** x [B,T,heads,hd] rotated by RoPE: x*cos + rotate_half(x)*sin with cos/sin [B,T,1,hd]. */
function rope(x: Tensor, cosT: Tensor, sinT: Tensor, hd: number): Tensor {
  const half = hd / 2;
  const rotated = concat([neg(slice(x, 3, half, hd)), slice(x, 3, 0, half)], 3);
  return add(mul(x, cosT), mul(rotated, sinT));
}

export function buildLlamaGraph(model: ModelDir, weights: WeightStore, spec: GraphSpec): Graph {
  const c = model.config;
  if (c.activation !== "silu") {
    throw new ConfigError(`config.json: hidden_act "${c.activation}" is not supported for ${c.modelType} (only silu)`, "config.json", "hidden_act");
  }
  if (c.headDim % 2 !== 0) throw new ConfigError(`config.json: head_dim ${c.headDim} must be even for RoPE`, "config.json", "head_dim");
  const g = new Graph({ dtype: "float32", name: c.modelType });
  const w = new WeightReader(model, weights, g);
  const { dModel: d, dFF: F, nHeads: H, nKvHeads: KV, headDim: hd, vocabSize: V, normEps: eps } = c;
  const groups = H / KV;
  const inputs = declareInputs(g, spec, d, F);

  // RoPE tables from position ids, float32 as in HF.
  const invFreq = ropeInvFreq(c);
  const freqs = mul(unsqueeze(cast(inputs.positionIds, "float"), [2]), g.constant(invFreq, [hd / 2])); // [B,T,hd/2]
  const emb = unsqueeze(concat([freqs, freqs], 2), [2]); // [B,T,1,hd]
  const cosT = cos(emb);
  const sinT = sin(emb);
  const bias5 = unsqueeze(inputs.attnBias, [2]); // [B,1,1,T,T]

  const embedTable = w.param("model.embed_tokens.weight", [V, d]);
  let h = embed(inputs, embedTable); // [B,T,d]
  const ffn = [];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    const x = rmsNorm(h, w.param(p + "input_layernorm.weight", [d]), eps);
    const proj = (name: string, out: number, withBias: boolean) =>
      dense(x, w.matrix(p + `self_attn.${name}.weight`, [out, d]), "outIn", withBias ? w.param(p + `self_attn.${name}.bias`, [out]) : undefined);
    const q = rope(reshape(proj("q_proj", H * hd, c.qkvBias), [0, 0, H, hd]), cosT, sinT, hd); // [B,T,H,hd]
    const k = rope(reshape(proj("k_proj", KV * hd, c.qkvBias), [0, 0, KV, hd]), cosT, sinT, hd); // [B,T,KV,hd]
    const v = reshape(proj("v_proj", KV * hd, c.qkvBias), [0, 0, KV, hd]);
    // GQA without copies: query heads grouped [B,KV,g,T,hd] against k/v [B,KV,1,...] (broadcast).
    const q5 = transpose(reshape(q, [0, 0, KV, groups, hd]), [0, 2, 3, 1, 4]);
    const kT5 = unsqueeze(transpose(k, [0, 2, 3, 1]), [2]); // [B,KV,1,hd,T]
    const v5 = unsqueeze(transpose(v, [0, 2, 1, 3]), [2]); // [B,KV,1,T,hd]
    const o = attend(q5, kT5, v5, bias5, hd, spec.compute); // [B,KV,g,T,hd]
    const merged = reshape(transpose(o, [0, 3, 1, 2, 4]), [0, 0, H * hd]);
    h = add(h, dense(merged, w.matrix(p + "self_attn.o_proj.weight", [d, H * hd]), "outIn", c.oBias ? w.param(p + "self_attn.o_proj.bias", [d]) : undefined));
    const m = rmsNorm(h, w.param(p + "post_attention_layernorm.weight", [d]), eps);
    const act = intervene(inputs, i, mul(silu(dense(m, w.matrix(p + "mlp.gate_proj.weight", [F, d]), "outIn")), dense(m, w.matrix(p + "mlp.up_proj.weight", [F, d]), "outIn"))); // [B,T,F]
    ffn.push(act);
    h = add(h, dense(act, w.matrix(p + "mlp.down_proj.weight", [d, F]), "outIn"));
  }
  h = rmsNorm(h, w.param("model.norm.weight", [d]), eps);
  const head = w.rowBlocks(c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight", [V, d]);
  finish(g, spec, inputs, h, ffn, (y) => denseBlocks(y, head), d);
  return g;
}
