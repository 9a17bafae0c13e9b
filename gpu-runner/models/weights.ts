import { closeSync, openSync, readSync } from "node:fs";
import type { Graph, Tensor, WeightDtype } from "../graph/graph.js";
import type { TensorValue } from "../graph/session.js";
import { CheckpointError } from "../hf/errors.js";
import type { ModelDir } from "../hf/model-dir.js";
import type { TensorInfo } from "../hf/safetensors.js";
import { halfBitsOf, halfTable } from "./half.js";

/**
 * How a process holds a checkpoint's weights: "stored" keeps F16/BF16 bytes as they are on disk and
 * casts each weight to float32 inside the graph where it is used (half the memory, a cast per use);
 * "float32" widens them once at load (no cast at run time). F32 checkpoints are the same either way.
 * "float16" holds every weight as IEEE half (F32 and BF16 rounded once at load), for graphs whose
 * matrix products compute in half (ComputeDtype "f16"): those read the weights with no cast at all.
 */
export type WeightPrecision = "stored" | "float32" | "float16";

/**
 * The one in-memory copy of a checkpoint's weights for every session of a LoadedModel: each tensor is
 * read from its safetensors file on first use and then fed, as the same typed array, to every
 * session (ORT wraps a CPU input without copying it). Little-endian hosts only, as safetensors.
 */
export class WeightStore {
  private readonly arrays = new Map<string, Float32Array | Uint16Array>();

  constructor(
    private readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly precision: WeightPrecision,
    /** Largest float copy of one block of a weight cast in blocks (see WeightReader.rowBlocks). */
    readonly blockBytes = 64 * 2 ** 20,
  ) {}

  /** The type a tensor is fed in. */
  fedDtype(info: TensorInfo): WeightDtype {
    return this.precision === "float32" ? "F32" : this.precision === "float16" ? "F16" : info.dtype;
  }

  /** The feed of weight input `name`: a tensor of the checkpoint (read on first call), or rows
   * [r0, r1) of one named "tensor#r0:r1" (a view of the same memory). */
  feed(name: string): TensorValue {
    const rows = /^(.*)#(\d+):(\d+)$/.exec(name);
    if (rows) {
      const whole = this.feed(rows[1]!);
      const [r0, r1] = [Number(rows[2]), Number(rows[3])];
      const width = whole.shape.slice(1).reduce((a, b) => a * b, 1);
      return { ...whole, data: whole.data.subarray(r0 * width, r1 * width), shape: [r1 - r0, ...whole.shape.slice(1)] };
    }
    const info = this.tensors.get(name);
    if (!info) throw new CheckpointError(`tensor "${name}" is not in the checkpoint`, name);
    let data = this.arrays.get(name);
    if (!data) {
      data = convert(readBytes(info), this.fedDtype(info), info);
      this.arrays.set(name, data);
    }
    const fed = this.fedDtype(info);
    return fed === "F32" ? { data, shape: info.shape } : { data, shape: info.shape, halfType: fed === "F16" ? "float16" : "uint16" };
  }

  /** Bytes held in memory now. */
  residentBytes(): number {
    let n = 0;
    for (const a of this.arrays.values()) n += a.byteLength;
    return n;
  }
}

/** A tensor's bytes, read in chunks (one read call moves at most 2 GB). */
function readBytes(info: TensorInfo): ArrayBuffer {
  const buf = new ArrayBuffer(info.length);
  const fd = openSync(info.path, "r");
  try {
    let done = 0;
    while (done < info.length) {
      const n = readSync(fd, new Uint8Array(buf, done, Math.min(info.length - done, 2 ** 30)), 0, Math.min(info.length - done, 2 ** 30), info.offset + done);
      if (n <= 0) throw new CheckpointError(`${info.file}: tensor "${info.name}" ends past the end of the file; re-download it`, info.file, info.name);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** Stored bytes as the typed array they are fed in: F32 from F16/BF16 when widening, F16 from
 * F32/BF16 when rounding to half (a weight beyond half's range is an error, not an Infinity). */
function convert(buf: ArrayBuffer, fed: WeightDtype, info: TensorInfo): Float32Array | Uint16Array {
  const stored = info.dtype;
  if (stored === fed) return stored === "F32" ? new Float32Array(buf) : new Uint16Array(buf);
  if (fed === "F16") return toHalf(buf, info);
  const half = new Uint16Array(buf);
  const out = new Float32Array(half.length);
  if (stored === "BF16") {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < half.length; i++) bits[i] = half[i]! << 16;
  } else {
    const table = halfTable();
    for (let i = 0; i < half.length; i++) out[i] = table[half[i]!]!;
  }
  return out;
}

function toHalf(buf: ArrayBuffer, info: TensorInfo): Uint16Array {
  const stored = info.dtype;
  const n = stored === "F32" ? buf.byteLength / 4 : buf.byteLength / 2;
  const out = new Uint16Array(n);
  const f32 = stored === "F32" ? new Uint32Array(buf) : undefined;
  const bf16 = stored === "BF16" ? new Uint16Array(buf) : undefined;
  for (let i = 0; i < n; i++) {
    const bits = f32 ? f32[i]! : bf16![i]! << 16;
    const h = halfBitsOf(bits);
    if ((h & 0x7c00) === 0x7c00 && ((bits >>> 23) & 0xff) !== 0xff) {
      throw new CheckpointError(`${info.file}: tensor "${info.name}" holds ${new Float32Array(Uint32Array.of(bits).buffer)[0]}, beyond float16's range (65504): it cannot be computed in f16; use f32 compute`, info.file, info.name);
    }
    out[i] = h;
  }
  return out;
}

/**
 * Declares checkpoint tensors as weight inputs of a graph, checking each one's shape against what
 * the config implies. `prefixes` are tried in order (GPT-2 checkpoints are published both with and
 * without "transformer.").
 */
export class WeightReader {
  constructor(
    private readonly model: ModelDir,
    private readonly store: WeightStore,
    private readonly graph: Graph,
    private readonly prefixes: readonly string[] = [""],
  ) {}

  /** True when the checkpoint has the tensor under one of the prefixes. */
  has(name: string): boolean {
    return this.prefixes.some((p) => this.model.tensors.has(p + name));
  }

  /** The tensor as a float32 graph weight of the given shape (cast in-graph when fed as F16/BF16). */
  param(name: string, shape: readonly number[]): Tensor {
    const [full, info] = this.find(name, shape);
    return this.graph.weight(full, this.store.fedDtype(info), info.shape);
  }

  /** A weight read only by matrix products (dense): the stored float16 input when the store holds
   * half weights (half compute, no cast), else as param(). */
  matrix(name: string, shape: readonly number[]): Tensor {
    if (this.store.precision !== "float16") return this.param(name, shape);
    const [full, info] = this.find(name, shape);
    return this.graph.storedWeight(full, "F16", info.shape);
  }

  /**
   * A large 2-D weight cast in-graph (an LM head) as blocks of rows, each cast on its own, so a run
   * holds one block's float copy at a time (at most store.blockBytes), not the whole matrix's. F32 weights
   * and small ones come back as one block.
   */
  rowBlocks(name: string, shape: readonly [number, number]): Tensor[] {
    const [full, info] = this.find(name, shape);
    const fed = this.store.fedDtype(info);
    const [rows, width] = shape;
    const per = Math.max(1, Math.floor(this.store.blockBytes / (4 * width)));
    const half = this.store.precision === "float16";
    if (fed === "F32" || per >= rows) return [half ? this.matrix(name, shape) : this.graph.weight(full, fed, info.shape)];
    // Half blocks are read uncast where the device has half kernels; onnxruntime's CPU provider casts
    // each block to float32 for its product, so blocks bound that copy there too.
    const blocks: Tensor[] = [];
    for (let r0 = 0; r0 < rows; r0 += per) {
      const r1 = Math.min(rows, r0 + per);
      const block = `${full}#${r0}:${r1}`;
      blocks.push(half ? this.graph.storedWeight(block, "F16", [r1 - r0, width]) : this.graph.weight(block, fed, [r1 - r0, width]));
    }
    return blocks;
  }

  private find(name: string, shape: readonly number[]): [string, TensorInfo] {
    const full = this.prefixes.map((p) => p + name).find((n) => this.model.tensors.has(n));
    if (full === undefined) {
      const where = [...new Set([...this.model.tensors.values()].map((t) => t.file))].join(", ");
      throw new CheckpointError(
        `${where}: tensor "${this.prefixes[0]}${name}" needed by the ${this.model.config.modelType} graph is missing; the checkpoint does not match config.json`,
        where, this.prefixes[0] + name);
    }
    const info = this.model.tensors.get(full)!;
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `${info.file}: tensor "${full}" has shape [${info.shape.join(", ")}] but config.json implies [${shape.join(", ")}]; the config and weights do not match`,
        info.file, full);
    }
    return [full, info];
  }
}
