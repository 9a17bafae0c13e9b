/**
 * Differentiable ops: each function emits its forward ONNX node(s) and states its
 * vector-Jacobian product right beside it. Backward nodes are built from ordinary ONNX ops
 * (ORT has no *Grad kernels). Shapes in comments use numpy notation; "..." is any leading axes.
 */
import { GraphBuildError, type Attrs, type Dim, type Graph, type Shape, type Tensor, type TensorDtype, type Vjp } from "./graph.js";
import { broadcastAxes, broadcastShapes, dimProduct, dimQuotient, isLiteral, normAxis } from "./shapes.js";

/** A tensor, or a number standing for a float scalar constant. */
export type Operand = Tensor | number;

function graphOf(op: string, ...xs: Operand[]): Graph {
  for (const x of xs) if (typeof x !== "number") return x.graph;
  throw new GraphBuildError(`${op}: at least one operand must be a tensor`);
}

function lift(g: Graph, x: Operand): Tensor {
  return typeof x === "number" ? g.scalar(x) : x;
}

function requireFloat(op: string, ...xs: Tensor[]): void {
  for (const x of xs) if (x.dtype !== "float") throw new GraphBuildError(`${op}: "${x.name}" is ${x.dtype}, a float tensor is required`);
}

/** Emits a node whose output is not differentiated through. */
function raw(g: Graph, opType: string, inputs: readonly (Tensor | null)[], shape: Shape, attrs: Attrs = {}, dtype: TensorDtype = "float"): Tensor {
  return g.emit(opType, inputs, attrs, { shape, dtype });
}

/** Emits a differentiable node: output of `shape`, VJP w.r.t. `inputs` (the tensors the
 * gradient flows to; usually the ONNX inputs minus constants). */
function diff(g: Graph, opType: string, onnxInputs: readonly (Tensor | null)[], attrs: Attrs, shape: Shape, inputs: readonly Tensor[], vjp: Vjp): Tensor {
  return g.emit(opType, onnxInputs, attrs, { shape }, { inputs, vjp });
}

/** Sums a broadcast gradient `grad` (shape of the op output) back to `target`'s shape. */
export function unbroadcast(grad: Tensor, target: Shape): Tensor {
  const g = grad.graph;
  const { leading, kept } = broadcastAxes(target, grad.shape);
  if (leading.length === 0 && kept.length === 0) return grad;
  if (kept.length === 0) return raw(g, "ReduceSum", [grad, g.ints(leading)], target, { keepdims: 0 });
  const keptShape = grad.shape.map((d, i) => (kept.includes(i) || leading.includes(i) ? 1 : d));
  const r = raw(g, "ReduceSum", [grad, g.ints([...leading, ...kept])], keptShape, { keepdims: 1 });
  if (leading.length === 0) return r;
  return raw(g, "Squeeze", [r, g.ints(leading)], target);
}

// ---------------------------------------------------------------------------------------------
// Elementwise binary ops (numpy broadcasting)

/** a + b. d/da = g, d/db = g (each summed over its broadcast axes). */
export function add(a: Operand, b: Operand): Tensor {
  const g = graphOf("add", a, b);
  const [x, y] = [lift(g, a), lift(g, b)];
  requireFloat("add", x, y);
  return diff(g, "Add", [x, y], {}, broadcastShapes("add", x.shape, y.shape), [x, y], (gr, needs) => [
    needs[0] ? unbroadcast(gr, x.shape) : undefined,
    needs[1] ? unbroadcast(gr, y.shape) : undefined,
  ]);
}

/** a - b. d/da = g, d/db = -g. */
export function sub(a: Operand, b: Operand): Tensor {
  const g = graphOf("sub", a, b);
  const [x, y] = [lift(g, a), lift(g, b)];
  requireFloat("sub", x, y);
  return diff(g, "Sub", [x, y], {}, broadcastShapes("sub", x.shape, y.shape), [x, y], (gr, needs) => [
    needs[0] ? unbroadcast(gr, x.shape) : undefined,
    needs[1] ? unbroadcast(neg(gr), y.shape) : undefined,
  ]);
}

/** a * b. d/da = g*b, d/db = g*a. */
export function mul(a: Operand, b: Operand): Tensor {
  const g = graphOf("mul", a, b);
  const [x, y] = [lift(g, a), lift(g, b)];
  requireFloat("mul", x, y);
  return diff(g, "Mul", [x, y], {}, broadcastShapes("mul", x.shape, y.shape), [x, y], (gr, needs) => [
    needs[0] ? unbroadcast(mul(gr, y), x.shape) : undefined,
    needs[1] ? unbroadcast(mul(gr, x), y.shape) : undefined,
  ]);
}

/** a / b. d/da = g/b, d/db = -g*out/b. */
export function div(a: Operand, b: Operand): Tensor {
  const g = graphOf("div", a, b);
  const [x, y] = [lift(g, a), lift(g, b)];
  requireFloat("div", x, y);
  const out: Tensor = diff(g, "Div", [x, y], {}, broadcastShapes("div", x.shape, y.shape), [x, y], (gr, needs) => {
    const gOverB = div(gr, y);
    return [needs[0] ? unbroadcast(gOverB, x.shape) : undefined, needs[1] ? unbroadcast(neg(mul(gOverB, out)), y.shape) : undefined];
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Elementwise unary ops

/** -x. */
export function neg(x: Tensor): Tensor {
  requireFloat("neg", x);
  return diff(x.graph, "Neg", [x], {}, x.shape, [x], (gr) => [neg(gr)]);
}

/** e^x. d = g*out. */
export function exp(x: Tensor): Tensor {
  requireFloat("exp", x);
  const out: Tensor = diff(x.graph, "Exp", [x], {}, x.shape, [x], (gr) => [mul(gr, out)]);
  return out;
}

/** ln x. d = g/x. */
export function log(x: Tensor): Tensor {
  requireFloat("log", x);
  return diff(x.graph, "Log", [x], {}, x.shape, [x], (gr) => [div(gr, x)]);
}

/** tanh x. d = g*(1-out^2). */
export function tanh(x: Tensor): Tensor {
  requireFloat("tanh", x);
  const out: Tensor = diff(x.graph, "Tanh", [x], {}, x.shape, [x], (gr) => [mul(gr, sub(1, mul(out, out)))]);
  return out;
}

/** 1/(1+e^-x). d = g*out*(1-out). */
export function sigmoid(x: Tensor): Tensor {
  requireFloat("sigmoid", x);
  const out: Tensor = diff(x.graph, "Sigmoid", [x], {}, x.shape, [x], (gr) => [mul(gr, mul(out, sub(1, out)))]);
  return out;
}

/** sin x. d = g*cos x. */
export function sin(x: Tensor): Tensor {
  requireFloat("sin", x);
  return diff(x.graph, "Sin", [x], {}, x.shape, [x], (gr) => [mul(gr, cos(x))]);
}

/** cos x. d = -g*sin x. */
export function cos(x: Tensor): Tensor {
  requireFloat("cos", x);
  return diff(x.graph, "Cos", [x], {}, x.shape, [x], (gr) => [neg(mul(gr, sin(x)))]);
}

/** sqrt x. d = g*0.5/out. */
export function sqrt(x: Tensor): Tensor {
  requireFloat("sqrt", x);
  const out: Tensor = diff(x.graph, "Sqrt", [x], {}, x.shape, [x], (gr) => [div(mul(gr, 0.5), out)]);
  return out;
}

/** 1/sqrt x. d = -0.5*g*out/x. */
export function rsqrt(x: Tensor): Tensor {
  requireFloat("rsqrt", x);
  const s = raw(x.graph, "Sqrt", [x], x.shape);
  const out: Tensor = diff(x.graph, "Reciprocal", [s], {}, x.shape, [x], (gr) => [mul(mul(gr, -0.5), div(out, x))]);
  return out;
}

/** x^p for a constant exponent p (p = 2 emits x*x). d = g*p*x^(p-1). */
export function pow(x: Tensor, p: number): Tensor {
  requireFloat("pow", x);
  if (p === 2) return mul(x, x);
  const g = x.graph;
  return diff(g, "Pow", [x, g.scalar(p)], {}, x.shape, [x], (gr) => [mul(gr, mul(pow(x, p - 1), p))]);
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/** GPT-2 "gelu_new": 0.5*x*(1+tanh(c*(x+0.044715*x^3))), c = sqrt(2/pi).
 * float32 graphs use ORT's fused Gelu(approximate="tanh"); float64 graphs the composite.
 * d = g*(0.5*(1+t) + 0.5*x*(1-t^2)*c*(1+3*0.044715*x^2)), t = tanh(u). */
export function gelu(x: Tensor): Tensor {
  requireFloat("gelu", x);
  const g = x.graph;
  const vjp: Vjp = (gr) => {
    const x2 = mul(x, x);
    const t = tanh(mul(mul(x, add(mul(x2, GELU_K), 1)), GELU_C));
    const du = mul(add(mul(x2, 3 * GELU_K), 1), GELU_C);
    const d = add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), du));
    return [mul(gr, d)];
  };
  if (g.dtype === "float32") return diff(g, "Gelu", [x], { approximate: "tanh" }, x.shape, [x], vjp);
  const x2 = raw(g, "Mul", [x, x], x.shape);
  const inner = raw(g, "Mul", [x, raw(g, "Add", [raw(g, "Mul", [x2, g.scalar(GELU_K)], x.shape), g.scalar(1)], x.shape)], x.shape);
  const t = raw(g, "Tanh", [raw(g, "Mul", [inner, g.scalar(GELU_C)], x.shape)], x.shape);
  const half = raw(g, "Mul", [x, g.scalar(0.5)], x.shape);
  return diff(g, "Mul", [half, raw(g, "Add", [t, g.scalar(1)], x.shape)], {}, x.shape, [x], vjp);
}

/** x*sigmoid(x) (SiLU / swish). d = g*s*(1 + x*(1-s)), s = sigmoid(x). */
export function silu(x: Tensor): Tensor {
  requireFloat("silu", x);
  const g = x.graph;
  const vjp: Vjp = (gr) => {
    const s = sigmoid(x);
    return [mul(mul(gr, s), add(mul(x, sub(1, s)), 1))];
  };
  if (g.dtype === "float32") return diff(g, "Mul", [x, raw(g, "Sigmoid", [x], x.shape)], {}, x.shape, [x], vjp);
  // ORT fuses x*Sigmoid(x) into QuickGelu, which has no float64 kernel: spell it x/(1+e^-x).
  const denom = raw(g, "Add", [raw(g, "Exp", [raw(g, "Neg", [x], x.shape)], x.shape), g.scalar(1)], x.shape);
  return diff(g, "Div", [x, denom], {}, x.shape, [x], vjp);
}

// ---------------------------------------------------------------------------------------------
// Softmax family (last axis)

/** softmax over the last axis. d = out*(g - sum(g*out, -1)). */
export function softmax(x: Tensor): Tensor {
  requireFloat("softmax", x);
  const out: Tensor = diff(x.graph, "Softmax", [x], { axis: -1 }, x.shape, [x], (gr) => [
    mul(out, sub(gr, reduceSum(mul(gr, out), [-1], true))),
  ]);
  return out;
}

/** log(softmax(x)) over the last axis. d = g - exp(out)*sum(g, -1). */
export function logSoftmax(x: Tensor): Tensor {
  requireFloat("logSoftmax", x);
  const out: Tensor = diff(x.graph, "LogSoftmax", [x], { axis: -1 }, x.shape, [x], (gr) => [
    sub(gr, mul(exp(out), reduceSum(gr, [-1], true))),
  ]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Normalisations (last axis)

/** LayerNorm over the last axis: (x-mean)/sqrt(var+eps)*gamma + beta. x [..., d], gamma/beta [d].
 * Forward: fused LayerNormalization. VJP (xhat = normalised x, r = 1/sqrt(var+eps)):
 * dx = r*(gh - mean(gh) - xhat*mean(gh*xhat)) with gh = g*gamma; dgamma = sum(g*xhat);
 * dbeta = sum(g) over leading axes. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  requireFloat("layerNorm", x, gamma, beta);
  const d = x.shape[x.rank - 1];
  if (gamma.rank !== 1 || beta.rank !== 1 || gamma.shape[0] !== d || beta.shape[0] !== d) {
    throw new GraphBuildError(`layerNorm: gamma [${gamma.shape}] and beta [${beta.shape}] must be [${d}] for x [${x.shape}]`);
  }
  return diff(x.graph, "LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: { f: eps }, stash_type: x.graph.onnxType("float") }, x.shape, [x, gamma, beta], (gr, needs) => {
    const xc = sub(x, reduceMean(x, [-1], true));
    // The epsilon attribute is a float32: use the same value the forward kernel sees.
    const r = rsqrt(add(reduceMean(mul(xc, xc), [-1], true), Math.fround(eps)));
    const xhat = mul(xc, r);
    let dx: Tensor | undefined;
    if (needs[0]) {
      const gh = mul(gr, gamma);
      dx = mul(r, sub(sub(gh, reduceMean(gh, [-1], true)), mul(xhat, reduceMean(mul(gh, xhat), [-1], true))));
    }
    return [dx, needs[1] ? unbroadcast(mul(gr, xhat), gamma.shape) : undefined, needs[2] ? unbroadcast(gr, beta.shape) : undefined];
  });
}

/** RMSNorm over the last axis (Llama): x/sqrt(mean(x^2)+eps)*weight. x [..., d], weight [d].
 * VJP (r = 1/sqrt(mean(x^2)+eps), xhat = x*r): dx = r*(gh - xhat*mean(gh*xhat)), gh = g*weight;
 * dweight = sum(g*xhat) over leading axes. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  requireFloat("rmsNorm", x, weight);
  const d = x.shape[x.rank - 1];
  if (weight.rank !== 1 || weight.shape[0] !== d) throw new GraphBuildError(`rmsNorm: weight [${weight.shape}] must be [${d}] for x [${x.shape}]`);
  const g = x.graph;
  const ms = raw(g, "ReduceMean", [raw(g, "Mul", [x, x], x.shape), g.ints([-1])], [...x.shape.slice(0, -1), 1], { keepdims: 1 });
  const r = raw(g, "Reciprocal", [raw(g, "Sqrt", [raw(g, "Add", [ms, g.scalar(eps)], ms.shape)], ms.shape)], ms.shape);
  const xhat = raw(g, "Mul", [x, r], x.shape);
  return diff(g, "Mul", [xhat, weight], {}, x.shape, [x, weight], (gr, needs) => {
    let dx: Tensor | undefined;
    if (needs[0]) {
      const gh = mul(gr, weight);
      dx = mul(r, sub(gh, mul(xhat, reduceMean(mul(gh, xhat), [-1], true))));
    }
    return [dx, needs[1] ? unbroadcast(mul(gr, xhat), weight.shape) : undefined];
  });
}

// ---------------------------------------------------------------------------------------------
// Linear algebra and layout

/** Batched matrix product a [..., m, k] @ b [..., k, n] -> [..., m, n], batch axes broadcast
 * (a 2-D weight b [k, n] is used by MatMul directly). dA = g @ b^T, dB = a^T @ g, each summed
 * over broadcast batch axes; for a 2-D b the batch sum is one Gemm over flattened rows. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat("matmul", a, b);
  if (a.rank < 2 || b.rank < 2) throw new GraphBuildError(`matmul: operands need rank >= 2, got [${a.shape}] and [${b.shape}]`);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (typeof k === "number" && typeof k2 === "number" ? k !== k2 : k !== k2 && typeof k === typeof k2) {
    throw new GraphBuildError(`matmul: inner dims differ: [${a.shape}] @ [${b.shape}]`);
  }
  const batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const g = a.graph;
  return diff(g, "MatMul", [a, b], {}, [...batch, m, n], [a, b], (gr, needs) => {
    let da: Tensor | undefined;
    let db: Tensor | undefined;
    if (a.rank === 2 && b.rank === 2) {
      if (needs[0]) da = raw(g, "Gemm", [gr, b], a.shape, { transB: 1 });
      if (needs[1]) db = raw(g, "Gemm", [a, gr], b.shape, { transA: 1 });
      return [da, db];
    }
    if (b.rank === 2) {
      // A 2-D weight: fold all batch rows into one Gemm each way (no transposed weight copy).
      const g2 = reshape(gr, [-1, n]);
      if (needs[0]) da = reshapeBack(raw(g, "Gemm", [g2, b], [g2.shape[0], k], { transB: 1 }), a);
      if (needs[1]) db = raw(g, "Gemm", [reshape(a, [-1, k]), g2], b.shape, { transA: 1 });
      return [da, db];
    }
    if (needs[0]) da = unbroadcast(matmul(gr, swapLast2(b)), a.shape);
    if (needs[1]) db = unbroadcast(matmul(swapLast2(a), gr), b.shape);
    return [da, db];
  });
}

// ---------------------------------------------------------------------------------------------
// Half-precision products: float tensors in and out, the product itself in IEEE half: operands
// rounded to half, products accumulated in float and the result rounded to half (ORT's CUDA
// kernels). Everything around them (norms, softmax, loss, residual stream) stays float.

const halves = new WeakMap<Tensor, Tensor>();

/** x rounded to half: one Cast per tensor, shared by every product that reads it. */
function toHalf(x: Tensor): Tensor {
  if (x.dtype === "float16") return x;
  let h = halves.get(x);
  if (!h) {
    h = keepRounding(raw(x.graph, "Cast", [x], x.shape, { to: x.graph.onnxType("float16") }, "float16"));
    halves.set(x, h);
  }
  return h;
}

/**
 * h (half) through a Reshape to its own shape. ORT's CPU provider has no half Gemm/MatMul on x86-64:
 * it runs them in float between casts it inserts, and then drops any float->half->float pair that a
 * cast of ours forms with one of its casts as "precision free", i.e. it would skip the very roundings
 * half compute makes. A node between the two casts keeps them, so the CPU computes what the CUDA
 * kernels compute (measured: a half Gemm's output is then a half value, and not without). On CUDA a
 * Reshape aliases its input: no copy.
 */
function keepRounding(h: Tensor): Tensor {
  return raw(h.graph, "Reshape", [h, h.graph.shapeTensor(h)], h.shape, {}, "float16");
}

function toFloat(x16: Tensor): Tensor {
  return raw(x16.graph, "Cast", [x16], x16.shape, { to: x16.graph.onnxType("float") });
}

/**
 * A backward product in half: `product(g16)` of the incoming gradient scaled to a largest magnitude
 * of 1, widened and scaled back. Gradients of real models reach 1e-6 and below, where half has no
 * precision left (its normal range starts at 6.1e-5); scaling the whole tensor (as loss scaling does
 * in mixed-precision training, but per tensor, so nothing can overflow) keeps every entry's error
 * within half's rounding of the largest one.
 */
function scaledHalfProduct(gr: Tensor, product: (g16: Tensor) => Tensor): Tensor {
  const g = gr.graph;
  const absMax = raw(g, "ReduceMax", [raw(g, "Abs", [gr], gr.shape)], [], { keepdims: 0 });
  const scale = raw(g, "Max", [absMax, g.scalar(1e-30)], []);
  const out = toFloat(keepRounding(product(toHalf(raw(g, "Div", [gr, scale], gr.shape)))));
  return raw(g, "Mul", [out, scale], out.shape);
}

/**
 * x [rows, in] times a half weight w (2-D, float16): w [out, in] with transB 1 (nn.Linear) or
 * [in, out] with transB 0 (GPT-2 Conv1D) -> [rows, out], computed in half. Only x is
 * differentiated (weights are not trained): dx = g @ w (transB 1) or g @ w^T (transB 0), in half.
 */
export function halfGemm(x: Tensor, w: Tensor, transB: 0 | 1): Tensor {
  requireFloat("halfGemm", x);
  if (w.dtype !== "float16" || w.rank !== 2 || x.rank !== 2) throw new GraphBuildError(`halfGemm: x [${x.shape}] must be 2-D float and w [${w.shape}] 2-D float16, got ${w.dtype}`);
  const [inDim, outDim] = transB ? [w.shape[1]!, w.shape[0]!] : w.shape;
  if (!sameDim(x.shape[1], inDim)) throw new GraphBuildError(`halfGemm: x [${x.shape}] does not fit w [${w.shape}] (transB ${transB})`);
  const g = x.graph;
  const y16 = keepRounding(raw(g, "Gemm", [toHalf(x), w], [x.shape[0]!, outDim], { transB }, "float16"));
  return diff(g, "Cast", [y16], { to: g.onnxType("float") }, y16.shape, [x], (gr) => [
    scaledHalfProduct(gr, (g16) => raw(g, "Gemm", [g16, w], x.shape, { transB: 1 - transB }, "float16")),
  ]);
}

/**
 * matmul(a, b) with the product in half: a [..., m, k] @ b [..., k, n], batch axes broadcast, float
 * in and out. dA = g @ b^T, dB = a^T @ g in half (on the forward's half operands), summed over
 * broadcast batch axes in float.
 */
export function halfMatmul(a: Tensor, b: Tensor): Tensor {
  requireFloat("halfMatmul", a, b);
  if (a.rank < 3 || b.rank < 3) throw new GraphBuildError(`halfMatmul: batched operands expected, got [${a.shape}] and [${b.shape}]`);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (!sameDim(k!, k2!)) throw new GraphBuildError(`halfMatmul: inner dims differ: [${a.shape}] @ [${b.shape}]`);
  const shape = [...broadcastShapes("halfMatmul", a.shape.slice(0, -2), b.shape.slice(0, -2)), m!, n!];
  const g = a.graph;
  const [a16, b16] = [toHalf(a), toHalf(b)];
  const y16 = keepRounding(raw(g, "MatMul", [a16, b16], shape, {}, "float16"));
  return diff(g, "Cast", [y16], { to: g.onnxType("float") }, shape, [a, b], (gr, needs) => [
    needs[0] ? unbroadcast(scaledHalfProduct(gr, (g16) => raw(g, "MatMul", [g16, halfSwapLast2(b16)], [...shape.slice(0, -2), m!, k!], {}, "float16")), a.shape) : undefined,
    needs[1] ? unbroadcast(scaledHalfProduct(gr, (g16) => raw(g, "MatMul", [halfSwapLast2(a16), g16], [...shape.slice(0, -2), k!, n!], {}, "float16")), b.shape) : undefined,
  ]);
}

function halfSwapLast2(x16: Tensor): Tensor {
  const perm = Array.from({ length: x16.rank }, (_, i) => i);
  [perm[x16.rank - 2], perm[x16.rank - 1]] = [perm[x16.rank - 1]!, perm[x16.rank - 2]!];
  return raw(x16.graph, "Transpose", [x16], perm.map((p) => x16.shape[p]!), { perm }, "float16");
}

/**
 * PyTorch-layout linear layer: x [..., in] @ w^T + bias, w [out, in], bias [out] (optional)
 * -> [..., out]. One Gemm(transB=1) over the flattened rows, so w is never transposed or copied.
 * VJP (x2, g2 = rows of x, g): dx = g2 @ w, dw = g2^T @ x2, dbias = sum of g2 over rows.
 */
export function linear(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  requireFloat("linear", x, w, ...(bias ? [bias] : []));
  const [out, inp] = w.shape;
  if (w.rank !== 2 || x.rank < 1 || !sameDim(x.shape[x.rank - 1], inp) || (bias && (bias.rank !== 1 || !sameDim(bias.shape[0], out)))) {
    throw new GraphBuildError(`linear: x [${x.shape}], w [${w.shape}]${bias ? `, bias [${bias.shape}]` : ""} do not fit x [..., in], w [out, in], bias [out]`);
  }
  const g = x.graph;
  const x2 = x.rank === 2 ? x : reshape(x, [-1, inp]);
  const y2 = diff(g, "Gemm", bias ? [x2, w, bias] : [x2, w], { transB: 1 }, [x2.shape[0], out], bias ? [x2, w, bias] : [x2, w], (gr, needs) => [
    needs[0] ? raw(g, "Gemm", [gr, w], x2.shape) : undefined,
    needs[1] ? raw(g, "Gemm", [gr, x2], w.shape, { transA: 1 }) : undefined,
    needs[2] ? unbroadcast(gr, [out]) : undefined,
  ]);
  if (x.rank === 2) return y2;
  const lead = raw(g, "Shape", [x], [x.rank - 1], { end: -1 }, "int64");
  const target = raw(g, "Concat", [lead, g.dimTensor(out)], [x.rank], { axis: 0 }, "int64");
  return diff(g, "Reshape", [y2, target], {}, [...x.shape.slice(0, -1), out], [y2], (gr) => [reshapeBack(gr, y2)]);
}

function sameDim(a: Dim, b: Dim): boolean {
  return a === b || typeof a !== typeof b;
}

function swapLast2(x: Tensor): Tensor {
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

/** Axis permutation: out.shape[i] = x.shape[perm[i]]. d = transpose(g, inverse(perm)). */
export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new GraphBuildError(`transpose: perm [${perm}] is not a permutation of the ${x.rank} axes of [${x.shape}]`);
  }
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return diff(x.graph, "Transpose", [x], { perm: [...perm] }, perm.map((p) => x.shape[p]), [x], (gr) => [transpose(gr, inv)]);
}

/**
 * Reshape. Each target entry: a literal size, 0 (copy x's dim at that axis), -1 (inferred;
 * at most one), or a symbolic dim name (its size is read at run time). d = reshape(g, x.shape).
 */
export function reshape(x: Tensor, shape: readonly Dim[]): Tensor {
  const g = x.graph;
  const fail = (why: string) => new GraphBuildError(`reshape: [${x.shape}] -> [${shape}]: ${why}`);
  if (shape.filter((d) => d === -1).length > 1) throw fail("at most one -1");
  const resolved: Dim[] = shape.map((d, i) => {
    if (d === 0) {
      if (i >= x.rank) throw fail(`0 at axis ${i} has no input dim to copy`);
      return x.shape[i];
    }
    if (typeof d === "number" && d < -1) throw fail(`invalid size ${d}`);
    return d;
  });
  const free = resolved.indexOf(-1);
  if (free >= 0) {
    const q = dimQuotient(x.shape, resolved.filter((_, i) => i !== free));
    if (q === undefined) throw fail("cannot infer -1 statically; give the size or a symbolic dim");
    resolved[free] = q;
  } else if (dimProduct(x.shape) !== dimProduct(resolved) && isLiteral(x.shape) && isLiteral(resolved)) {
    throw fail("element counts differ");
  }
  // Runtime target: copy (0) where the symbol matches x's axis, -1 for the inferred one.
  const runtime: Dim[] = shape.map((d, i) => (typeof d === "string" && x.shape[i] === d ? 0 : d));
  const target = runtime.every((d) => typeof d === "number") ? g.ints(runtime as number[]) : g.shapeTensorOf(runtime);
  return diff(g, "Reshape", [x, target], {}, resolved, [x], (gr) => [reshapeBack(gr, x)]);
}

/** Reshape of a gradient back to `like`'s (runtime) shape. */
function reshapeBack(gr: Tensor, like: Tensor): Tensor {
  const g = gr.graph;
  return diff(g, "Reshape", [gr, g.shapeTensor(like)], {}, like.shape, [gr], (gg) => [reshapeBack(gg, gr)]);
}

/** Inserts size-1 axes at `axes` (of the output). d = reshape(g, x.shape). */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis("unsqueeze", a, rank));
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]);
  if (x.dtype !== "float") return raw(x.graph, "Unsqueeze", [x, x.graph.ints(norm)], shape, {}, x.dtype);
  return diff(x.graph, "Unsqueeze", [x, x.graph.ints(norm)], {}, shape, [x], (gr) => [reshapeBack(gr, x)]);
}

/** Removes size-1 axes. d = reshape(g, x.shape). */
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => normAxis("squeeze", a, x.rank));
  for (const a of norm) if (x.shape[a] !== 1) throw new GraphBuildError(`squeeze: axis ${a} of [${x.shape}] is not 1`);
  const shape = x.shape.filter((_, i) => !norm.includes(i));
  if (x.dtype !== "float") return raw(x.graph, "Squeeze", [x, x.graph.ints(norm)], shape, {}, x.dtype);
  return diff(x.graph, "Squeeze", [x, x.graph.ints(norm)], {}, shape, [x], (gr) => [reshapeBack(gr, x)]);
}

/** Concatenation along `axis`. d = Split(g) into the inputs' sizes along axis. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new GraphBuildError("concat: no tensors");
  const g = xs[0].graph;
  const rank = xs[0].rank;
  const ax = normAxis("concat", axis, rank);
  for (const x of xs) {
    if (x.rank !== rank || x.dtype !== xs[0].dtype || x.shape.some((d, i) => i !== ax && d !== xs[0].shape[i] && typeof d === "number" && typeof xs[0].shape[i] === "number")) {
      throw new GraphBuildError(`concat: shapes [${xs.map((t) => `[${t.shape}]`).join(", ")}] differ off axis ${ax}`);
    }
  }
  const sizes = xs.map((x) => x.shape[ax]);
  const sum: Dim = sizes.every((d) => typeof d === "number") ? (sizes as number[]).reduce((p, q) => p + q, 0) : sizes.join("+");
  const shape = xs[0].shape.map((d, i) => (i === ax ? sum : d));
  if (xs[0].dtype !== "float") return raw(g, "Concat", xs, shape, { axis: ax }, xs[0].dtype);
  return diff(g, "Concat", xs, { axis: ax }, shape, xs, (gr, needs) => {
    const split = isLiteral(sizes) ? g.ints(sizes) : raw(g, "Concat", sizes.map((d) => g.dimTensor(d)), [xs.length], { axis: 0 }, "int64");
    const parts = g.emitMulti("Split", [gr, split], { axis: ax }, xs.map((x) => ({ shape: x.shape })));
    return parts.map((p, i) => (needs[i] ? p : undefined));
  });
}

/** x[start:end] along `axis` (static bounds; negative counts from the end; end omitted = to the
 * end). d = zero-pad g back to x's extent along axis. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const g = x.graph;
  const ax = normAxis("slice", axis, x.rank);
  const dim = x.shape[ax];
  const fail = () => new GraphBuildError(`slice: [${start}:${end ?? ""}] on axis ${ax} of [${x.shape}] is empty or out of range`);
  let size: Dim;
  if (typeof dim === "number") {
    const s = Math.max(0, start < 0 ? dim + start : start);
    const e = Math.min(dim, end === undefined ? dim : end < 0 ? dim + end : end);
    if (e <= s) throw fail();
    size = e - s;
  } else if (start >= 0 && end !== undefined && end > start) size = end - start;
  else if (start < 0 && (end === undefined || (end < 0 && end > start))) size = (end ?? 0) - start;
  else size = `${dim}[${start}:${end ?? ""}]`;
  const shape = x.shape.map((d, i) => (i === ax ? size : d));
  const ends = end === undefined ? Number.MAX_SAFE_INTEGER : end;
  const inputs = [x, g.ints([start]), g.ints([ends]), g.ints([ax])];
  if (x.dtype !== "float") return raw(g, "Slice", inputs, shape, {}, x.dtype);
  return diff(g, "Slice", inputs, {}, shape, [x], (gr) => {
    let pads: Tensor;
    if (typeof dim === "number") {
      const s = Math.max(0, start < 0 ? dim + start : start);
      const e = Math.min(dim, end === undefined ? dim : end < 0 ? dim + end : end);
      pads = g.ints([s, dim - e]);
    } else {
      const n = g.dimTensor(dim);
      const before = start >= 0 ? g.ints([start]) : raw(g, "Add", [n, g.ints([start])], [1], {}, "int64");
      const after = end === undefined ? g.ints([0]) : end < 0 ? g.ints([-end]) : raw(g, "Sub", [n, g.ints([end])], [1], {}, "int64");
      pads = raw(g, "Concat", [before, after], [2], { axis: 0 }, "int64");
    }
    return [diff(g, "Pad", [gr, pads, null, g.ints([ax])], {}, x.shape, [gr], (gg) => [slice(gg, ax, start, end)])];
  });
}

// ---------------------------------------------------------------------------------------------
// Indexing

/** Embedding lookup: table [V, ...rest], ids int64 [...] -> [...ids, ...rest] (rows of table).
 * d table = ScatterND(zeros [V, ...rest], ids[..., None], g, reduction=add): repeated ids add up. */
export function gather(table: Tensor, ids: Tensor): Tensor {
  requireFloat("gather", table);
  if (ids.dtype !== "int64") throw new GraphBuildError(`gather: ids "${ids.name}" must be int64`);
  const g = table.graph;
  return diff(g, "Gather", [table, ids], { axis: 0 }, [...ids.shape, ...table.shape.slice(1)], [table], (gr) => [
    raw(g, "ScatterND", [g.zeros(table.shape, table), unsqueeze(ids, [-1]), gr], table.shape, { reduction: "add" }),
  ]);
}

/** out[...] = x[..., idx[...]]: picks one entry of the last axis per position. x [..., V],
 * idx int64 [...] -> [...]. d x = ScatterElements(zeros, idx, g, axis=-1, reduction=add). */
export function takeAlongLastAxis(x: Tensor, idx: Tensor): Tensor {
  requireFloat("takeAlongLastAxis", x);
  if (idx.dtype !== "int64") throw new GraphBuildError(`takeAlongLastAxis: idx "${idx.name}" must be int64`);
  if (idx.rank !== x.rank - 1) throw new GraphBuildError(`takeAlongLastAxis: idx [${idx.shape}] must be x [${x.shape}] without its last axis`);
  const g = x.graph;
  const idx1 = unsqueeze(idx, [-1]);
  const picked = diff(g, "GatherElements", [x, idx1], { axis: -1 }, [...idx.shape, 1], [x], (gr) => [
    raw(g, "ScatterElements", [g.zeros(x.shape, x), idx1, gr], x.shape, { axis: -1, reduction: "add" }),
  ]);
  return squeeze(picked, [-1]);
}

// ---------------------------------------------------------------------------------------------
// Reductions

function reduced(op: string, x: Tensor, axes: readonly number[], keepdims: boolean): { norm: number[]; shape: Dim[] } {
  const norm = [...new Set(axes.map((a) => normAxis(op, a, x.rank)))].sort((p, q) => p - q);
  const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
  return { norm, shape };
}

/** Gradient of a reduction: g broadcast back over the reduced axes to x's shape. */
function expandBack(gr: Tensor, x: Tensor, norm: number[], keepdims: boolean): Tensor {
  const g = x.graph;
  const gk = keepdims ? gr : unsqueeze(gr, norm);
  return diff(g, "Expand", [gk, g.shapeTensor(x)], {}, x.shape, [gk], (gg) => [reduceSum(gg, norm, true)]);
}

/** Sum over `axes`. d = g broadcast back over the axes. */
export function reduceSum(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  requireFloat("reduceSum", x);
  const { norm, shape } = reduced("reduceSum", x, axes, keepdims);
  const g = x.graph;
  return diff(g, "ReduceSum", [x, g.ints(norm)], { keepdims: keepdims ? 1 : 0 }, shape, [x], (gr) => [expandBack(gr, x, norm, keepdims)]);
}

/** Mean over `axes`. d = g/N broadcast back (N = product of reduced sizes, read at run time
 * when symbolic). */
export function reduceMean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  requireFloat("reduceMean", x);
  const { norm, shape } = reduced("reduceMean", x, axes, keepdims);
  const g = x.graph;
  return diff(g, "ReduceMean", [x, g.ints(norm)], { keepdims: keepdims ? 1 : 0 }, shape, [x], (gr) => {
    const sizes = norm.map((a) => x.shape[a]);
    let inv: Operand;
    if (isLiteral(sizes)) inv = 1 / (sizes as number[]).reduce((p, q) => p * q, 1);
    else {
      const n = raw(g, "ReduceProd", [raw(g, "Concat", sizes.map((d) => g.dimTensor(d)), [sizes.length], { axis: 0 }, "int64"), g.ints([0])], [], { keepdims: 0 }, "int64");
      inv = raw(g, "Reciprocal", [raw(g, "Cast", [n], [], { to: g.onnxType("float") })], []);
    }
    return [expandBack(mul(gr, inv), x, norm, keepdims)];
  });
}

/** Max over the last axis: x [..., V] -> [...]. Not differentiated (read-out only). */
export function maxLastAxis(x: Tensor): Tensor {
  requireFloat("maxLastAxis", x);
  const g = x.graph;
  return raw(g, "ReduceMax", [x, g.ints([x.rank - 1])], x.shape.slice(0, -1), { keepdims: 0 });
}

/** Index of the max over the last axis, the first one on ties: x [..., V] -> int64 [...]. Not differentiated. */
export function argMaxLastAxis(x: Tensor): Tensor {
  requireFloat("argMaxLastAxis", x);
  return raw(x.graph, "ArgMax", [x], x.shape.slice(0, -1), { axis: -1, keepdims: 0, select_last_index: 0 }, "int64");
}

// ---------------------------------------------------------------------------------------------
// Masks and selection

/** cond ? a : b (broadcast). d a = where(cond, g, 0), d b = where(cond, 0, g). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  if (cond.dtype !== "bool") throw new GraphBuildError(`where: condition "${cond.name}" must be bool`);
  const g = cond.graph;
  const [x, y] = [lift(g, a), lift(g, b)];
  requireFloat("where", x, y);
  const shape = broadcastShapes("where", cond.shape, broadcastShapes("where", x.shape, y.shape));
  const zero = g.scalar(0);
  return diff(g, "Where", [cond, x, y], {}, shape, [x, y], (gr, needs) => [
    needs[0] ? unbroadcast(where(cond, gr, zero), x.shape) : undefined,
    needs[1] ? unbroadcast(where(cond, zero, gr), y.shape) : undefined,
  ]);
}

/** x with `value` wherever mask is true (mask broadcasts to x). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

/** Elementwise comparisons (bool result, not differentiated). */
export function less(a: Operand, b: Operand): Tensor {
  return compare("Less", a, b);
}
export function greater(a: Operand, b: Operand): Tensor {
  return compare("Greater", a, b);
}
export function equal(a: Operand, b: Operand): Tensor {
  return compare("Equal", a, b);
}
export function lessOrEqual(a: Operand, b: Operand): Tensor {
  return compare("LessOrEqual", a, b);
}

function compare(opType: string, a: Operand, b: Operand): Tensor {
  const g = graphOf(opType, a, b);
  const dtype = typeof a !== "number" ? a.dtype : (b as Tensor).dtype;
  const [x, y] = [typeof a === "number" ? g.scalar(a, dtype) : a, typeof b === "number" ? g.scalar(b, dtype) : b];
  if (x.dtype !== y.dtype || x.dtype === "bool") throw new GraphBuildError(`${opType}: operands must both be float or both int64, got ${x.dtype} and ${y.dtype}`);
  return raw(g, opType, [x, y], broadcastShapes(opType, x.shape, y.shape), {}, "bool");
}

/** Logical and / not of bool tensors. */
export function and(a: Tensor, b: Tensor): Tensor {
  return raw(a.graph, "And", [a, b], broadcastShapes("and", a.shape, b.shape), {}, "bool");
}
export function not(a: Tensor): Tensor {
  return raw(a.graph, "Not", [a], a.shape, {}, "bool");
}

/** Converts between float (graph dtype), int64 and bool; not differentiated. */
export function cast(x: Tensor, to: TensorDtype): Tensor {
  if (x.dtype === to) return x;
  return raw(x.graph, "Cast", [x], x.shape, { to: x.graph.onnxType(to) }, to);
}

/** int64 [n] = 0, 1, ..., n-1; n literal or a symbolic dim. */
export function range(graph: Graph, n: Dim): Tensor {
  const limit = typeof n === "number" ? graph.scalar(n, "int64") : raw(graph, "Squeeze", [graph.dimTensor(n), graph.ints([0])], [], {}, "int64");
  return raw(graph, "Range", [graph.scalar(0, "int64"), limit, graph.scalar(1, "int64")], [n], {}, "int64");
}

// ---------------------------------------------------------------------------------------------
// Loss

/** Mean token cross-entropy over selected positions: logits [..., V], targets int64 [...],
 * mask float [...] (1 = position counts). Returns the scalar
 * sum(mask * -log softmax(logits)[target]) / sum(mask). (NaN when the mask is all zero.) */
export function crossEntropy(logits: Tensor, targets: Tensor, mask: Tensor): Tensor {
  const nll = neg(takeAlongLastAxis(logSoftmax(logits), targets));
  const all = Array.from({ length: mask.rank }, (_, i) => i);
  return div(reduceSum(mul(nll, mask), all), reduceSum(mask, all));
}
