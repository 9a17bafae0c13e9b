/**
 * The graph builder: tensors with static (possibly symbolic) shapes, ONNX node emission,
 * inputs / constants / parameters (inline or external data), outputs, reverse-mode autodiff
 * and serialization to an ONNX ModelProto.
 *
 * Ops live in ops.ts (forward and VJP side by side); this file knows nothing about any op's
 * mathematics.
 */
import {
  encodeModel,
  OnnxAttributeType,
  OnnxDataType,
  type AttributeMsg,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from "./onnx-proto.js";

/** One axis of a static shape: a literal size or a symbolic name such as "batch". */
export type Dim = number | string;
export type Shape = readonly Dim[];
/** Float type of every float tensor in a graph: float32 for models, float64 for gradient tests. */
export type GraphDtype = "float32" | "float64";
/** Element type of a tensor: "float" means the graph's float dtype. */
export type TensorDtype = "float" | "int64" | "bool" | "uint16" | "float16";

/** ONNX opset of the default domain that graphs are emitted for (26 for BitCast, which turns BF16
 * weights fed as raw uint16 bits into bfloat16 without arithmetic), and the IR version. */
export const OPSET = 26;
export const IR_VERSION = 10;

/** Vector-Jacobian product of one op: given dLoss/dOutput, returns dLoss/dInput for every input
 * whose `needs` flag is set (undefined elsewhere). */
export type Vjp = (gradOut: Tensor, needs: readonly boolean[]) => (Tensor | undefined)[];

/** How a tensor was made: its differentiable inputs and the VJP back to them. */
export interface OpRecord {
  readonly opType: string;
  readonly inputs: readonly Tensor[];
  readonly vjp: Vjp;
}

/** A value in a graph. Immutable; carries its static shape so ops can check and infer shapes. */
export class Tensor {
  constructor(
    readonly graph: Graph,
    /** ONNX value name. */
    readonly name: string,
    readonly dtype: TensorDtype,
    readonly shape: Shape,
    /** Creation order, used as a topological order by grad(). */
    readonly id: number,
    /** Set for tensors produced by differentiable ops; absent for leaves (inputs, params, consts). */
    readonly op?: OpRecord,
  ) {}

  get rank(): number {
    return this.shape.length;
  }
}

/** Attribute values: integer -> INT, integer[] -> INTS, string -> STRING, {f} -> FLOAT,
 * {floats} -> FLOATS, {t} -> TENSOR. */
export type AttrValue = number | number[] | string | { f: number } | { floats: number[] } | { t: TensorMsg };
export type Attrs = Record<string, AttrValue>;

/** Element type a weight is stored and fed in: F16 as IEEE half, BF16 as its raw 16 bits (uint16). */
export type WeightDtype = "F32" | "F16" | "BF16";

/** A weight input of a graph: fed at run time in its stored type, once per session (see GraphSession bound feeds). */
export interface WeightInput {
  name: string;
  dtype: WeightDtype;
  shape: readonly number[];
}

/** Thrown for shape/dtype errors while building a graph: names the op and the offending shapes. */
export class GraphBuildError extends Error {
  override name = "GraphBuildError";
}

/** How a stored weight is declared as an input. */
const FED_DTYPE: Record<WeightDtype, TensorDtype> = { F32: "float", F16: "float16", BF16: "uint16" };

/** Builds one ONNX graph. Make tensors with input/param/constant, combine them with the ops
 * of ops.ts, mark outputs, optionally append gradients with grad(), then toBytes(). */
export class Graph {
  readonly dtype: GraphDtype;
  readonly name: string;
  private readonly nodes: NodeMsg[] = [];
  private readonly initializers: TensorMsg[] = [];
  private readonly inputs: ValueInfoMsg[] = [];
  private readonly outputs: ValueInfoMsg[] = [];
  private readonly names = new Set<string>();
  private nextId = 0;
  /** First tensor (and axis) seen with each symbolic dim: where runtime sizes are read from. */
  private readonly dimSources = new Map<string, { tensor: Tensor; axis: number }>();
  private readonly memo = new Map<string, Tensor>();
  /** Weight inputs by name, and the fed input behind each cast weight tensor (by tensor id). */
  private readonly weightInputs = new Map<string, WeightInput>();
  private readonly castWeights = new Map<number, { fed: Tensor; dtype: WeightDtype }>();

  constructor(options: { dtype: GraphDtype; name?: string }) {
    this.dtype = options.dtype;
    this.name = options.name ?? "skillscope";
  }

  /** ONNX element type of a tensor dtype in this graph. */
  onnxType(dtype: TensorDtype): number {
    if (dtype === "int64") return OnnxDataType.INT64;
    if (dtype === "bool") return OnnxDataType.BOOL;
    if (dtype === "uint16") return OnnxDataType.UINT16;
    if (dtype === "float16") return OnnxDataType.FLOAT16;
    return this.dtype === "float32" ? OnnxDataType.FLOAT : OnnxDataType.DOUBLE;
  }

  /** A graph input fed at run time. Symbolic dims (strings) become dim_params. */
  input(name: string, shape: Shape, dtype: TensorDtype = "float"): Tensor {
    this.claim(name);
    const t = this.makeTensor(name, dtype, shape);
    this.inputs.push(this.valueInfo(t, name));
    return t;
  }

  /** A parameter with inline data (converted to the graph dtype). Data is row-major. */
  param(name: string, data: Float32Array | Float64Array, shape: readonly number[]): Tensor {
    this.claim(name);
    checkLength(name, data.length, shape);
    const t = this.makeTensor(name, "float", shape);
    this.initializers.push({ name, dims: [...shape], data_type: this.onnxType("float"), raw_data: this.floatBytes(data) });
    return t;
  }

  /**
   * A model weight, fed at run time in its stored type (a graph input named `name`; see weights()),
   * as a float32 tensor. F16/BF16 are cast where the
   * weight is used, so no session holds a float copy of the whole model: ORT neither folds a cast of
   * an input nor copies a CPU input, so every session of a process reads the one buffer it is fed.
   * Ops whose VJP reuses a weight call recast() so that the backward pass casts it again instead of
   * keeping the forward pass's copy alive. Declaring a name again returns the same tensor.
   */
  weight(name: string, dtype: WeightDtype, shape: readonly number[]): Tensor {
    const fed = this.storedWeight(name, dtype, shape);
    const known = this.memo.get(`weight:${name}`);
    if (known) return known;
    const t = dtype === "F32" ? fed : this.castStored(fed, dtype);
    if (t !== fed) this.castWeights.set(t.id, { fed, dtype });
    this.memo.set(`weight:${name}`, t);
    return t;
  }

  /**
   * A model weight as it is fed (see weight()), not cast: float16 for F16, raw uint16 bits for BF16,
   * float for F32. For ops that compute in the stored type (half-precision products read F16 weights
   * with no float copy at all). Declaring a name again returns the same input.
   */
  storedWeight(name: string, dtype: WeightDtype, shape: readonly number[]): Tensor {
    // Model graphs are float32; float64 graphs (gradient checks) take inline params.
    if (this.dtype !== "float32") throw new GraphBuildError(`weight "${name}": weights are fed to float32 graphs only`);
    const known = this.weightInputs.get(name);
    if (known) {
      if (known.dtype !== dtype || known.shape.join() !== shape.join()) throw new GraphBuildError(`weight "${name}" declared twice as ${known.dtype} [${known.shape}] and ${dtype} [${shape}]`);
      return this.memo.get(`fed:${name}`)!;
    }
    const fed = this.input(name, shape, FED_DTYPE[dtype]);
    this.weightInputs.set(name, { name, dtype, shape: [...shape] });
    this.memo.set(`fed:${name}`, fed);
    return fed;
  }

  /**
   * `w` cast anew from its stored input, by nodes that cannot run before `after` exists (w itself
   * when it needs no cast). A VJP passes its incoming gradient: ORT orders nodes that depend only on
   * inputs first, so a plain second cast would hold its float copy from the start of the run; the
   * stored input goes through a Reshape to its own shape computed from `after`'s Shape (a view, no
   * copy). Sessions disable common-subexpression elimination so ORT keeps the two casts apart.
   */
  recast(w: Tensor, after: Tensor): Tensor {
    const c = this.castWeights.get(w.id);
    if (!c) return w;
    this.checkOwn(after);
    const first = this.emit("Shape", [after], { start: 0, end: 1 }, { shape: [1], dtype: "int64" });
    const zero = this.emit("Mul", [first, this.ints([0])], {}, { shape: [1], dtype: "int64" });
    const shape = this.emit("Add", [zero, this.ints(c.fed.shape as number[])], {}, { shape: [c.fed.rank], dtype: "int64" });
    const fed = this.emit("Reshape", [c.fed, shape], {}, { shape: c.fed.shape, dtype: c.fed.dtype });
    return this.castStored(fed, c.dtype);
  }

  /** Rows `ids` of a weight [V, ...] -> [...ids.shape, ...]: gathered in the stored type, then cast
   * (an embedding lookup casts B*T rows, not the table). Not differentiated w.r.t. the weight. */
  gatherRows(w: Tensor, ids: Tensor): Tensor {
    if (ids.dtype !== "int64") throw new GraphBuildError(`gatherRows: ids "${ids.name}" must be int64`);
    const c = this.castWeights.get(w.id);
    const src = c ? c.fed : w;
    const rows = this.emit("Gather", [src, ids], { axis: 0 }, { shape: [...ids.shape, ...w.shape.slice(1)], dtype: src.dtype });
    return c ? this.castStored(rows, c.dtype) : rows;
  }

  /** The weight inputs declared so far (what a session must be fed besides the data). */
  weights(): WeightInput[] {
    return [...this.weightInputs.values()];
  }

  private castStored(fed: Tensor, dtype: WeightDtype): Tensor {
    const to = { to: this.onnxType("float") };
    // BF16 bits -> bfloat16 (BitCast, no arithmetic) -> float.
    // (The BitCast output is bfloat16; TensorDtype has no name for it because only this Cast reads it.)
    const half = dtype === "BF16" ? this.emit("BitCast", [fed], { to: OnnxDataType.BFLOAT16 }, { shape: fed.shape, dtype: "uint16" }) : fed;
    return this.emit("Cast", [half], to, { shape: fed.shape });
  }

  /** A small constant tensor stored inline. Floats are converted to the graph dtype. */
  constant(values: ArrayLike<number> | ArrayLike<boolean>, shape: readonly number[], dtype: TensorDtype = "float"): Tensor {
    checkLength("constant", values.length, shape);
    const name = this.freshName("const");
    let raw: Uint8Array;
    if (dtype === "float") raw = this.floatBytes(Float64Array.from(values as ArrayLike<number>));
    else if (dtype === "int64") raw = new Uint8Array(BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(v))).buffer);
    else raw = Uint8Array.from(Array.from(values as ArrayLike<boolean>, (v) => (v ? 1 : 0)));
    this.initializers.push({ name, dims: [...shape], data_type: this.onnxType(dtype), raw_data: raw });
    return this.makeTensor(name, dtype, shape);
  }

  /** A rank-0 constant, shared between uses of the same value. */
  scalar(value: number, dtype: TensorDtype = "float"): Tensor {
    return this.memoize(`scalar:${dtype}:${value}`, () => this.constant([value], [], dtype));
  }

  /** A 1-D int64 constant, shared between uses of the same values. */
  ints(values: readonly number[]): Tensor {
    return this.memoize(`ints:${values.join(",")}`, () => this.constant(values, [values.length], "int64"));
  }

  /** The same value with a different static shape (e.g. to equate two symbolic dims that are
   * equal at run time); emits no node. The caller vouches that the shapes agree at run time. */
  assumeShape(t: Tensor, shape: Shape): Tensor {
    this.checkOwn(t);
    if (shape.length !== t.rank) throw new GraphBuildError(`assumeShape: rank ${shape.length} differs from "${t.name}" of shape [${t.shape}]`);
    shape.forEach((d, i) => {
      const o = t.shape[i];
      if (typeof d === "number" && typeof o === "number" && d !== o) throw new GraphBuildError(`assumeShape: [${shape}] contradicts [${t.shape}] of "${t.name}"`);
    });
    return this.makeTensor(t.name, t.dtype, shape, { opType: "assumeShape", inputs: [t], vjp: (g) => [g] });
  }

  /** Marks `t` as a graph output named `name` (an Identity node when the names differ). */
  output(t: Tensor, name: string): void {
    this.checkOwn(t);
    if (t.name !== name) {
      this.claim(name);
      this.nodes.push({ op_type: "Identity", input: [t.name], output: [name], name: `out_${name}`, attribute: [] });
    }
    this.outputs.push(this.valueInfo(t, name));
  }

  /** Names of the outputs marked so far, in order. */
  outputNames(): string[] {
    return this.outputs.map((o) => o.name);
  }

  /**
   * Emits one ONNX node with a single output and returns that output. With `op`, the output is
   * differentiable through `op.vjp` w.r.t. `op.inputs`; without it the output is a constant of
   * the differentiation (indices, masks, shapes, and the backward nodes themselves).
   */
  emit(opType: string, inputs: readonly (Tensor | null)[], attrs: Attrs, out: { shape: Shape; dtype?: TensorDtype }, op?: { inputs: readonly Tensor[]; vjp: Vjp }): Tensor {
    return this.emitMulti(opType, inputs, attrs, [out], op)[0];
  }

  /** emit() for nodes with several outputs (e.g. Split). `op` applies to the first output only
   * and so is allowed only with a single output. Null inputs become empty names (omitted optional inputs). */
  emitMulti(opType: string, inputs: readonly (Tensor | null)[], attrs: Attrs, outs: readonly { shape: Shape; dtype?: TensorDtype }[], op?: { inputs: readonly Tensor[]; vjp: Vjp }, domain?: string): Tensor[] {
    if (op && outs.length !== 1) throw new GraphBuildError(`${opType}: a differentiable op must have one output`);
    for (const t of inputs) if (t) this.checkOwn(t);
    const outputs = outs.map((o, i) =>
      this.makeTensor(this.freshName(opType), o.dtype ?? "float", o.shape, i === 0 && op ? { opType, inputs: op.inputs, vjp: op.vjp } : undefined),
    );
    const node: NodeMsg = {
      op_type: opType,
      input: inputs.map((t) => (t ? t.name : "")),
      output: outputs.map((t) => t.name),
      name: outputs[0].name,
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    };
    if (domain) node.domain = domain;
    this.nodes.push(node);
    return outputs;
  }

  /** Runtime size of one symbolic or literal dim, as an int64 tensor of shape [1]. */
  dimTensor(dim: Dim): Tensor {
    if (typeof dim === "number") return this.ints([dim]);
    return this.memoize(`dim:${dim}`, () => {
      const src = this.dimSources.get(dim);
      if (!src && dim.includes("*")) {
        // A product of symbols (e.g. from reshape's -1): multiply the factors' sizes.
        const parts = dim.split("*").map((f) => this.dimTensor(/^\d+$/.test(f) ? Number(f) : f));
        return parts.reduce((acc, p) => this.emit("Mul", [acc, p], {}, { shape: [1], dtype: "int64" }));
      }
      if (!src) throw new GraphBuildError(`symbolic dim "${dim}" has no tensor that carries it; declare it on an input`);
      return this.emit("Shape", [src.tensor], { start: src.axis, end: src.axis + 1 }, { shape: [1], dtype: "int64" });
    });
  }

  /** Runtime shape of `t` as a 1-D int64 tensor: a constant when the shape is fully literal. */
  shapeTensor(t: Tensor): Tensor {
    return this.shapeTensorOf(t.shape, t);
  }

  /** Runtime value of a static shape: constant when literal, else Concat of per-dim sizes
   * (reading from `like`'s Shape where it carries the symbol at the same axis). */
  shapeTensorOf(shape: Shape, like?: Tensor): Tensor {
    if (shape.every((d) => typeof d === "number")) return this.ints(shape as number[]);
    if (like && like.shape.length === shape.length && like.shape.every((d, i) => d === shape[i])) {
      return this.memoize(`shape:${like.name}`, () => this.emit("Shape", [like], {}, { shape: [shape.length], dtype: "int64" }));
    }
    const parts = shape.map((d) => this.dimTensor(d));
    return this.emit("Concat", parts, { axis: 0 }, { shape: [shape.length], dtype: "int64" });
  }

  /** Tensor of zeros with the given static shape (ConstantOfShape; folded by ORT when literal). */
  zeros(shape: Shape, like?: Tensor): Tensor {
    const value: TensorMsg = { name: "", dims: [1], data_type: this.onnxType("float"), raw_data: this.floatBytes(new Float64Array(1)) };
    return this.emit("ConstantOfShape", [this.shapeTensorOf(shape, like)], { value: { t: value } }, { shape });
  }

  /** Tensor filled with `v` in the given shape. */
  filled(shape: Shape, v: number, like?: Tensor): Tensor {
    const value: TensorMsg = { name: "", dims: [1], data_type: this.onnxType("float"), raw_data: this.floatBytes(Float64Array.of(v)) };
    return this.emit("ConstantOfShape", [this.shapeTensorOf(shape, like)], { value: { t: value } }, { shape });
  }

  /**
   * Reverse-mode autodiff: appends VJP nodes and returns dLoss/dX for each X in `wrt` (same
   * shapes as X). Seeds with ones of loss's shape. Walks only ops on a path from `wrt` to
   * `loss`; fan-out gradients are summed with Add. A `wrt` tensor that loss does not depend on
   * gets zeros.
   */
  grad(loss: Tensor, wrt: readonly Tensor[]): Tensor[] {
    this.checkOwn(loss);
    if (loss.dtype !== "float") throw new GraphBuildError(`grad: loss "${loss.name}" must be a float tensor`);
    for (const w of wrt) {
      this.checkOwn(w);
      if (w.dtype !== "float") throw new GraphBuildError(`grad: cannot differentiate w.r.t. non-float tensor "${w.name}"`);
    }
    const targets = new Set(wrt.map((w) => w.id));
    const depends = new Map<number, boolean>();
    const tensors = new Map<number, Tensor>();
    // Iterative DFS (models are deep): does t depend on any wrt tensor?
    const visit = (root: Tensor): void => {
      const stack: { t: Tensor; expanded: boolean }[] = [{ t: root, expanded: false }];
      while (stack.length) {
        const top = stack[stack.length - 1];
        if (depends.has(top.t.id)) {
          stack.pop();
          continue;
        }
        const ins = top.t.op?.inputs ?? [];
        if (!top.expanded) {
          top.expanded = true;
          for (const i of ins) if (!depends.has(i.id)) stack.push({ t: i, expanded: false });
          continue;
        }
        stack.pop();
        tensors.set(top.t.id, top.t);
        depends.set(top.t.id, targets.has(top.t.id) || ins.some((i) => depends.get(i.id) === true));
      }
    };
    visit(loss);

    const grads = new Map<number, Tensor>();
    const accumulate = (t: Tensor, g: Tensor): void => {
      const prev = grads.get(t.id);
      grads.set(t.id, prev ? this.emit("Add", [prev, g], {}, { shape: t.shape }) : g);
    };
    if (depends.get(loss.id)) {
      accumulate(loss, loss.rank === 0 ? this.scalar(1) : this.filled(loss.shape, 1, loss));
    }
    const order = [...tensors.values()].filter((t) => depends.get(t.id) && t.op).sort((a, b) => b.id - a.id);
    for (const t of order) {
      const g = grads.get(t.id);
      if (!g || !t.op) continue;
      const needs = t.op.inputs.map((i) => depends.get(i.id) === true);
      const ins = t.op.vjp(g, needs);
      t.op.inputs.forEach((inp, k) => {
        if (!needs[k]) return;
        const gi = ins[k];
        if (!gi) throw new GraphBuildError(`grad: op ${t.op!.opType} returned no gradient for input ${k}`);
        accumulate(inp, gi);
      });
    }
    return wrt.map((w) => grads.get(w.id) ?? this.zeros(w.shape, w));
  }

  /** The ModelProto as plain objects. */
  toModel(): ModelMsg {
    return {
      ir_version: IR_VERSION,
      opset_import: [{ domain: "", version: OPSET }],
      producer_name: "skillscope",
      graph: {
        name: this.name,
        node: this.liveNodes(),
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  /**
   * The nodes some output depends on, in emission order. Dead nodes are dropped here because ORT
   * runs them: weight() casts every half-precision weight eagerly, and a weight read only through
   * gatherRows (an embedding whose head is cast in row blocks) would otherwise be cast whole on every
   * run (measured: a 0.78 GB transient per forward on a Qwen2.5-0.5B-shaped BF16 model).
   */
  private liveNodes(): NodeMsg[] {
    const producer = new Map<string, NodeMsg>();
    for (const n of this.nodes) for (const o of n.output) producer.set(o, n);
    const live = new Set<NodeMsg>();
    const stack = this.outputs.map((o) => o.name);
    while (stack.length > 0) {
      const n = producer.get(stack.pop()!);
      if (!n || live.has(n)) continue;
      live.add(n);
      for (const i of n.input) if (i !== "") stack.push(i);
    }
    return this.nodes.filter((n) => live.has(n));
  }

  /** Serialized ONNX model bytes. */
  toBytes(): Uint8Array {
    if (this.outputs.length === 0) throw new GraphBuildError("graph has no outputs: mark at least one with graph.output()");
    return encodeModel(this.toModel());
  }

  private makeTensor(name: string, dtype: TensorDtype, shape: Shape, op?: OpRecord): Tensor {
    for (const d of shape) {
      if (typeof d === "number" && (!Number.isInteger(d) || d < 0)) {
        throw new GraphBuildError(`tensor "${name}": invalid dim ${d} in shape [${shape}]`);
      }
    }
    const t = new Tensor(this, name, dtype, [...shape], this.nextId++, op);
    shape.forEach((d, axis) => {
      if (typeof d === "string" && !this.dimSources.has(d)) this.dimSources.set(d, { tensor: t, axis });
    });
    return t;
  }

  private memoize(key: string, make: () => Tensor): Tensor {
    let t = this.memo.get(key);
    if (!t) {
      t = make();
      this.memo.set(key, t);
    }
    return t;
  }

  private freshName(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.nextId}_${this.names.size}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): void {
    if (!name) throw new GraphBuildError("tensor names must be non-empty");
    if (this.names.has(name)) throw new GraphBuildError(`duplicate tensor name "${name}" in graph "${this.name}"`);
    this.names.add(name);
  }

  private checkOwn(t: Tensor): void {
    if (t.graph !== this) throw new GraphBuildError(`tensor "${t.name}" belongs to another graph`);
  }

  private valueInfo(t: Tensor, name: string): ValueInfoMsg {
    return {
      name,
      type: {
        tensor_type: {
          elem_type: this.onnxType(t.dtype),
          shape: { dim: t.shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
        },
      },
    };
  }

  private floatBytes(data: ArrayLike<number>): Uint8Array {
    const arr = this.dtype === "float32" ? Float32Array.from(data) : Float64Array.from(data);
    return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  }
}

function checkLength(what: string, n: number, shape: readonly number[]): void {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (n !== expected) throw new GraphBuildError(`${what}: ${n} values do not fill shape [${shape}] (${expected} expected)`);
}

function attr(name: string, v: AttrValue): AttributeMsg {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new GraphBuildError(`attribute ${name}: ${v} is not an integer; use { f: ${v} } for floats`);
    return { name, type: OnnxAttributeType.INT, i: v };
  }
  if (typeof v === "string") return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: OnnxAttributeType.INTS, ints: v };
  if ("f" in v) return { name, type: OnnxAttributeType.FLOAT, f: v.f };
  if ("floats" in v) return { name, type: OnnxAttributeType.FLOATS, floats: v.floats };
  return { name, type: OnnxAttributeType.TENSOR, t: v.t };
}
