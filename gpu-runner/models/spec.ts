import type { Graph } from "../graph/graph.js";
import type { ModelDir } from "../hf/model-dir.js";
import type { WeightStore } from "./weights.js";

/**
 * What one compiled model graph computes. Inputs (B batch, T padded length, n soft length,
 * d model width, F FFN width, V vocabulary):
 *   input_ids [B,T] int64, position_ids [B,T] int64, token_mask [B,T] float, attn_bias [B,1,T,T] float,
 *   soft_prompt [n,d] + soft_onehot [B,T,n]            when softLength > 0,
 *   tap_pos [M] int64 (flat b*T+t)                      when tapPositions = "gather",
 *   logit_pos [P] int64 (flat b*T+t)                    when logits = "gather" or "scores",
 *   logit_targets [P] int64 (the token each row scores)  when logits = "scores",
 *   loss_pos [Q] int64 + loss_targets [Q] int64         when withLoss,
 *   ffn_scale [I,F] + ffn_offset [B,I,F] + ffn_mask [B,T] when intervene (I = intervene.layers.length).
 * Outputs:
 *   logits [B,T,V] ("all") or [P,V] ("gather");
 *   ("scores", log-softmax over V in the graph, f32) target_logprob [P], max_logprob [P], argmax [P] int64
 *   (first index on ties); ffn_<layer> [B,T,F] ("all") or [M,F] ("gather");
 *   loss [] (mean cross-entropy over the Q targets); prompt_grad [n,d] (d loss / d soft_prompt).
 */
/**
 * Precision of the matrix products: "f32", or "f16": every product (attention projections and
 * scores, FFN, LM head; forward and prompt gradient) in IEEE half on half weights (the model's
 * WeightStore holds them as float16), while embeddings, norms, softmax, log-softmax, loss, the FFN
 * nonlinearity and the residual stream stay float32, and every output is float32.
 */
export type ComputeDtype = "f32" | "f16";

export interface GraphSpec {
  softLength: number;
  compute: ComputeDtype;
  /** Layers whose FFN neuron activations leave the session. */
  tapLayers: readonly number[];
  tapPositions: "all" | "gather";
  logits: "all" | "gather" | "scores" | "none";
  withLoss: boolean;
  withPromptGrad: boolean;
  /**
   * FFN neuron intervention (ablation, steering) at these layers: the neurons a of layer
   * intervene.layers[i] become a + m * (a * (scale[i] - 1) + offset[b, i]) with m = ffn_mask[b, t],
   * before the down projection and before any tap. scale = 1, offset = 0 leaves every output
   * bit-identical (a + 0 = a). Absent: no intervention inputs.
   */
  intervene?: { readonly layers: readonly number[] };
}

/** Builds the graph of one family; weights become weight inputs (Graph.weight) fed from `weights`. */
export type GraphBuilder = (model: ModelDir, weights: WeightStore, spec: GraphSpec) => Graph;
