/**
 * GPT-2 as a training graph: every parameter is a graph INPUT (named as in the checkpoint), so
 * JS can update the weights between steps; one session run gives the next-token loss and its
 * gradient w.r.t. every parameter. The models helper's builder reads weights as initializers,
 * so pretraining builds its own (small) graph from the same DSL.
 *
 * Inputs (B batch, T sequence, both literal): input_ids [B,T] int64, targets [B,T] int64,
 * loss_mask [B,T] float (1 where the target counts), and each parameter by name.
 * Outputs: loss [] (the next-token cross-entropy), `ffn_l1` [] (mean |FFN activation| over every
 * layer, row, position and neuron), `grad:<name>` per parameter (withGrad: the gradient of
 * loss + ffnL1 x ffn_l1), logits [B,T,V] (withLogits).
 * Rows are right-padded and need no attention mask: causal attention never looks ahead, and
 * padded targets are masked out of the loss. Position ids are 0..T-1 in every row.
 */
import {
  add, crossEntropy, gather, gelu, Graph, greater, layerNorm, matmul, mul, neg, reduceMean, reshape, slice, softmax,
  transpose, where, type GraphDtype, type Tensor,
} from "../graph/index.js";
import { relu } from "../models/gpt2.js";
import { gpt2ParamSpecs, type FfnActivation, type Gpt2Shape } from "./gpt2-params.js";

export interface TrainGraphOptions {
  readonly batch: number;
  readonly seqLen: number;
  readonly dtype?: GraphDtype;
  /** Append the backward pass and output `grad:<name>` for every parameter. */
  readonly withGrad: boolean;
  readonly withLogits: boolean;
  /**
   * Weight of the L1 penalty on FFN activations added to the loss that is differentiated (0 or
   * absent: none). It pushes each neuron to fire for few inputs, as ReLU FFNs do in real LMs.
   */
  readonly ffnL1?: number;
}

export const gradName = (param: string): string => `grad:${param}`;

/** Additive causal mask [T,T]: 0 where 0 <= i - j < window (every j <= i without a window), else -1e9. */
function causalMask(g: Graph, t: number, window = Infinity): Tensor {
  const m = new Float64Array(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) if (j > i || i - j >= window) m[i * t + j] = -1e9;
  return g.constant(m, [t, t]);
}

function ffnActivation(kind: FfnActivation | undefined): (x: Tensor) => Tensor {
  return kind === "relu" ? relu : gelu;
}

const abs = (x: Tensor): Tensor => where(greater(x, 0), x, neg(x));

export function buildTrainGraph(shape: Gpt2Shape, o: TrainGraphOptions): Graph {
  const { batch: B, seqLen: T } = o;
  const { dModel: d, nHeads: H, nLayers, layerNormEps: eps } = shape;
  if (T > shape.nPositions) throw new RangeError(`sequence length ${T} exceeds n_positions ${shape.nPositions}`);
  if (d % H !== 0) throw new RangeError(`n_embd ${d} is not divisible by n_head ${H}`);
  const hd = d / H;
  const g = new Graph({ dtype: o.dtype ?? "float32", name: "gpt2-train" });
  const ids = g.input("input_ids", [B, T], "int64");
  const targets = g.input("targets", [B, T], "int64");
  const lossMask = g.input("loss_mask", [B, T]);
  const specs = gpt2ParamSpecs(shape);
  const p = new Map(specs.map((s) => [s.name, g.input(s.name, s.shape)]));
  const P = (name: string): Tensor => p.get(name)!;
  const mask = causalMask(g, T, shape.attnWindow);
  const act = ffnActivation(shape.activation);
  const l1Terms: Tensor[] = [];

  // x [B,T,d] = token embedding + position embedding (positions 0..T-1)
  let x = add(gather(P("wte.weight"), ids), slice(P("wpe.weight"), 0, 0, T));
  for (let l = 0; l < nLayers; l++) {
    const n = (s: string) => P(`h.${l}.${s}`);
    const h = layerNorm(x, n("ln_1.weight"), n("ln_1.bias"), eps);
    const qkv = add(matmul(h, n("attn.c_attn.weight")), n("attn.c_attn.bias")); // [B,T,3d]
    const heads = (k: number, perm: number[]) => transpose(reshape(slice(qkv, 2, k * d, (k + 1) * d), [B, T, H, hd]), perm);
    const q = mul(heads(0, [0, 2, 1, 3]), 1 / Math.sqrt(hd)); // [B,H,T,hd]
    const kT = heads(1, [0, 2, 3, 1]); // [B,H,hd,T]
    const v = heads(2, [0, 2, 1, 3]); // [B,H,T,hd]
    const att = softmax(add(matmul(q, kT), mask)); // [B,H,T,T]
    const y = reshape(transpose(matmul(att, v), [0, 2, 1, 3]), [B, T, d]);
    x = add(x, add(matmul(y, n("attn.c_proj.weight")), n("attn.c_proj.bias")));
    const h2 = layerNorm(x, n("ln_2.weight"), n("ln_2.bias"), eps);
    const a = act(add(matmul(h2, n("mlp.c_fc.weight")), n("mlp.c_fc.bias"))); // [B,T,F]
    l1Terms.push(reduceMean(abs(a), [0, 1, 2]));
    x = add(x, add(matmul(a, n("mlp.c_proj.weight")), n("mlp.c_proj.bias")));
  }
  const hf = layerNorm(x, P("ln_f.weight"), P("ln_f.bias"), eps);
  const logits = matmul(hf, transpose(P("wte.weight"), [1, 0])); // tied head: [B,T,V]
  const loss = crossEntropy(logits, targets, lossMask);
  const ffnL1 = mul(l1Terms.reduce((sum, t) => add(sum, t)), 1 / nLayers);
  g.output(loss, "loss");
  g.output(ffnL1, "ffn_l1");
  if (o.withLogits) g.output(logits, "logits");
  if (o.withGrad) {
    const objective = o.ffnL1 ? add(loss, mul(ffnL1, o.ffnL1)) : loss;
    const grads = g.grad(objective, specs.map((s) => P(s.name)));
    specs.forEach((s, i) => g.output(grads[i], gradName(s.name)));
  }
  return g;
}
