/**
 * Pieces both model families share: graph inputs, token + soft-prompt embedding, attention core,
 * and the heads (taps, logits, loss, prompt gradient). Shapes: B batch, T padded length,
 * n soft length, d model width, F FFN width, V vocabulary.
 */
import { Graph, GraphBuildError, type Tensor } from "../graph/graph.js";
import { add, argMaxLastAxis, concat, gather, halfGemm, halfMatmul, logSoftmax, matmul, maxLastAxis, mul, neg, reduceMean, reshape, slice, softmax, sub, takeAlongLastAxis, transpose, unsqueeze } from "../graph/ops.js";
import type { ComputeDtype, GraphSpec } from "./spec.js";

export interface ModelInputs {
  /** [B,T] int64 */
  ids: Tensor;
  /** [B,T] int64 */
  positionIds: Tensor;
  /** [B,T] float, 1 at token slots */
  tokenMask: Tensor;
  /** [B,1,T,T] float additive mask */
  attnBias: Tensor;
  /** [n,d] */
  softPrompt?: Tensor;
  /** [B,T,n] */
  softOneHot?: Tensor;
  intervention?: InterventionInputs;
}

/** Inputs of an FFN intervention (see GraphSpec.intervene); `slot` maps a layer to its row in scale/offset. */
export interface InterventionInputs {
  /** [I,F] */
  scale: Tensor;
  /** [B,I,F] */
  offset: Tensor;
  /** [B,T] float, 1 where the intervention applies */
  mask: Tensor;
  slot: ReadonlyMap<number, number>;
}

export function declareInputs(g: Graph, spec: GraphSpec, dModel: number, dFF: number): ModelInputs {
  const inputs: ModelInputs = {
    ids: g.input("input_ids", ["batch", "seq"], "int64"),
    positionIds: g.input("position_ids", ["batch", "seq"], "int64"),
    tokenMask: g.input("token_mask", ["batch", "seq"]),
    attnBias: g.input("attn_bias", ["batch", 1, "seq", "seq"]),
  };
  if (spec.softLength > 0) {
    inputs.softPrompt = g.input("soft_prompt", [spec.softLength, dModel]);
    inputs.softOneHot = g.input("soft_onehot", ["batch", "seq", spec.softLength]);
  }
  if (spec.intervene) {
    const layers = spec.intervene.layers;
    if (layers.length === 0 || new Set(layers).size !== layers.length) {
      throw new GraphBuildError(`intervene.layers must be distinct layer indices, got [${layers}]`);
    }
    inputs.intervention = {
      scale: g.input("ffn_scale", [layers.length, dFF]),
      offset: g.input("ffn_offset", ["batch", layers.length, dFF]),
      mask: g.input("ffn_mask", ["batch", "seq"]),
      slot: new Map(layers.map((l, i) => [l, i])),
    };
  }
  return inputs;
}

/** FFN neurons a [B,T,F] of `layer` after the spec's intervention (a itself when the layer has none). */
export function intervene(inputs: ModelInputs, layer: number, a: Tensor): Tensor {
  const iv = inputs.intervention;
  const i = iv?.slot.get(layer);
  if (!iv || i === undefined) return a;
  const scale = slice(iv.scale, 0, i, i + 1); // [1,F]
  const offset = slice(iv.offset, 1, i, i + 1); // [B,1,F]
  const m = unsqueeze(iv.mask, [2]); // [B,T,1]
  return add(a, mul(m, add(mul(a, sub(scale, 1)), offset)));
}

/** Token embeddings with the soft prompt placed at its slots: [B,T,d]. The one-hot matmul keeps
 * the placement differentiable w.r.t. soft_prompt (its VJP is one Gemm). */
export function embed(inputs: ModelInputs, table: Tensor): Tensor {
  const tok = mul(table.graph.gatherRows(table, inputs.ids), unsqueeze(inputs.tokenMask, [2]));
  if (!inputs.softPrompt) return tok;
  return add(tok, matmul(inputs.softOneHot!, inputs.softPrompt));
}

/**
 * Dense layer over the last axis with the weight used in its stored layout: x [..., in] ->
 * [..., out], W [out, in] (nn.Linear, `layout` "outIn") or [in, out] (GPT-2 Conv1D, "inOut").
 * One Gemm over flattened rows, forward and backward, with transB/transA instead of Transpose
 * nodes: a transposed weight would be folded into a second resident copy by ORT (measured: a
 * 0.5 GB model went from 0.6 to 1.25 GB peak RSS with matmul(x, transpose(W)) in a gradient graph).
 * VJP: dx = g @ W (outIn) or g @ W^T (inOut); dW = g^T @ x (outIn) or x^T @ g (inOut).
 * A float16 weight (WeightReader.matrix under half compute) makes the product a half one (halfGemm);
 * the output and the bias add stay float.
 */
export function dense(x: Tensor, weight: Tensor, layout: "outIn" | "inOut", bias?: Tensor): Tensor {
  const g = x.graph;
  const [inDim, outDim] = layout === "outIn" ? [weight.shape[1]!, weight.shape[0]!] : weight.shape;
  if (x.shape[x.rank - 1] !== inDim || weight.rank !== 2) {
    throw new GraphBuildError(`dense: x [${x.shape}] does not fit weight [${weight.shape}] (${layout})`);
  }
  const x2 = x.rank === 2 ? x : reshape(x, [-1, inDim]); // [rows, in]
  const rows = x2.shape[0]!;
  const transB = layout === "outIn" ? 1 : 0;
  const y2 = weight.dtype === "float16" ? halfGemm(x2, weight, transB) : g.emit("Gemm", [x2, weight], { transB }, { shape: [rows, outDim] }, {
    inputs: [x2, weight],
    vjp: (gr, needs) => [
      needs[0] ? g.emit("Gemm", [gr, g.recast(weight, gr)], { transB: 1 - transB }, { shape: x2.shape }) : undefined,
      needs[1]
        ? layout === "outIn"
          ? g.emit("Gemm", [gr, x2], { transA: 1 }, { shape: weight.shape })
          : g.emit("Gemm", [x2, gr], { transA: 1 }, { shape: weight.shape })
        : undefined,
    ],
  });
  const y = x.rank === 2 ? y2 : reshape(y2, [...x.shape.slice(0, -1), outDim]);
  return bias ? add(y, bias) : y;
}

/** dense(x, W) for W given as row blocks [out_k, in] (WeightReader.rowBlocks): the blocks' outputs
 * concatenated along the last axis. */
export function denseBlocks(x: Tensor, blocks: readonly Tensor[]): Tensor {
  const parts = blocks.map((w) => dense(x, w, "outIn"));
  return parts.length === 1 ? parts[0]! : concat(parts, x.rank - 1);
}

/** softmax(q k^T / sqrt(hd) + bias) v. q [..., T, hd], kT [..., hd, T], v [..., T, hd], bias
 * broadcasting to [..., T, T]. Under "f16" compute both products run in half; the mask and the
 * softmax stay float. */
export function attend(q: Tensor, kT: Tensor, v: Tensor, bias: Tensor, headDim: number, compute: ComputeDtype): Tensor {
  const product = compute === "f16" ? halfMatmul : matmul;
  const scores = add(product(mul(q, 1 / Math.sqrt(headDim)), kT), bias);
  return product(softmax(scores), v);
}

/** [B,T,heads*hd] -> [B,heads,T,hd] */
export function splitHeads(x: Tensor, heads: number, headDim: number): Tensor {
  return transpose(reshape(x, [0, 0, heads, headDim]), [0, 2, 1, 3]);
}

/**
 * Marks the outputs the spec asks for. `hidden` [B,T,d] is the final-normed residual stream,
 * `ffn[l]` [B,T,F] the FFN neurons of layer l, `head` maps [..., d] to logits [..., V].
 */
export function finish(g: Graph, spec: GraphSpec, inputs: ModelInputs, hidden: Tensor, ffn: readonly Tensor[], head: (x: Tensor) => Tensor, dModel: number): void {
  const rows = (x: Tensor, width: number) => reshape(x, [-1, width]); // [B*T, width]
  if (spec.tapLayers.length > 0) {
    const tapPos = spec.tapPositions === "gather" ? g.input("tap_pos", ["n_tap"], "int64") : undefined;
    for (const l of spec.tapLayers) {
      const a = ffn[l]!;
      g.output(tapPos ? gather(rows(a, a.shape[2] as number), tapPos) : a, `ffn_${l}`);
    }
  }
  const flat = rows(hidden, dModel);
  if (spec.logits === "all") g.output(head(hidden), "logits");
  if (spec.logits === "gather") g.output(head(gather(flat, g.input("logit_pos", ["n_logit"], "int64"))), "logits");
  if (spec.logits === "scores") {
    // the log-softmax over V runs here instead of in JS: only three numbers per row leave the session
    const logits = head(gather(flat, g.input("logit_pos", ["n_logit"], "int64"))); // [P,V]
    const logProbs = logSoftmax(logits);
    g.output(takeAlongLastAxis(logProbs, g.input("logit_targets", ["n_logit"], "int64")), "target_logprob");
    g.output(maxLastAxis(logProbs), "max_logprob");
    g.output(argMaxLastAxis(logits), "argmax"); // on the logits: the argmax the [P,V] read-out gives
  }
  if (spec.withLoss) {
    const pos = g.input("loss_pos", ["n_loss"], "int64");
    const targets = g.input("loss_targets", ["n_loss"], "int64");
    const logits = head(gather(flat, pos)); // [Q,V]
    const loss = reduceMean(neg(takeAlongLastAxis(logSoftmax(logits), targets)), [0]);
    g.output(loss, "loss");
    if (spec.withPromptGrad) {
      if (!inputs.softPrompt) throw new Error("withPromptGrad needs softLength > 0");
      const [grad] = g.grad(loss, [inputs.softPrompt]);
      g.output(grad!, "prompt_grad");
    }
  }
}
