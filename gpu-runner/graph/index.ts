/**
 * skillscope's tensor DSL: build an ONNX graph once, get forward values and reverse-mode
 * gradients from one onnxruntime session.
 *
 * ```ts
 * const g = new Graph({ dtype: "float32" });
 * const x = g.input("x", ["batch", "seq", 768]);
 * const w = g.weight("w", "BF16", [768, 3072]);    // fed at run time in its stored type, cast where used
 * const h = gelu(matmul(x, w));               // [batch, seq, 3072]
 * const loss = reduceMean(h, [0, 1, 2]);
 * const [dx] = g.grad(loss, [x]);             // appends backward nodes
 * g.output(h, "h"); g.output(loss, "loss"); g.output(dx, "dx");
 * const s = await GraphSession.create(g, { bound: { w: { data: bf16Bits, shape: [768, 3072], halfType: "uint16" } } });
 * const { loss: l } = await s.run({ x: { data, shape: [2, 5, 768] } });
 * ```
 *
 * Ops are free functions over Tensor (ops.ts); the graph is reached through the tensors.
 * Numbers passed as operands become float scalar constants.
 */
export {
  Graph,
  Tensor,
  GraphBuildError,
  OPSET,
  IR_VERSION,
  type Dim,
  type Shape,
  type GraphDtype,
  type TensorDtype,
  type WeightDtype,
  type WeightInput,
  type Vjp,
  type OpRecord,
  type Attrs,
  type AttrValue,
} from "./graph.js";
export {
  type Operand,
  add,
  sub,
  mul,
  div,
  neg,
  exp,
  log,
  tanh,
  sigmoid,
  sin,
  cos,
  sqrt,
  rsqrt,
  pow,
  gelu,
  silu,
  softmax,
  logSoftmax,
  layerNorm,
  rmsNorm,
  matmul,
  halfMatmul,
  halfGemm,
  linear,
  transpose,
  reshape,
  unsqueeze,
  squeeze,
  concat,
  slice,
  gather,
  takeAlongLastAxis,
  reduceSum,
  reduceMean,
  maxLastAxis,
  argMaxLastAxis,
  where,
  maskedFill,
  less,
  greater,
  equal,
  lessOrEqual,
  and,
  not,
  cast,
  range,
  crossEntropy,
  unbroadcast,
} from "./ops.js";
export { GraphSession, ExecutionProviderError, cudaProviderInstalled, type SessionConfig, type TensorValue } from "./session.js";
export { encodeModel, decodeModel, type ModelMsg } from "./onnx-proto.js";
