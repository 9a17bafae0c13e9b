/** A thin onnxruntime-node session over a built graph: typed-array feeds in, typed arrays out. */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Graph } from "./graph.js";

/** How to run a graph. */
export interface SessionConfig {
  /** "cpu" (default) or "cuda" (needs the CUDA build of onnxruntime-node; see cudaHelp). */
  executionProvider?: "cpu" | "cuda";
  /** Threads for one op (ORT intra-op pool); ORT's default when omitted. */
  intraOpThreads?: number;
  /** Feeds bound once for every run (model weights): wrapped once, never copied, shared with any
   * other session bound to the same arrays. */
  bound?: Record<string, TensorValue>;
  /** ORT graph optimisation level; "all" by default. */
  optimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

/** A run-time value: the typed array picks the ONNX type (Float32Array float32, Float64Array
 * float64, BigInt64Array int64, Uint8Array bool, Uint16Array `halfType`: IEEE float16 or raw uint16
 * bits such as BF16 weights). Data is row-major. */
export interface TensorValue {
  data: Float32Array | Float64Array | BigInt64Array | Uint8Array | Uint16Array;
  shape: readonly number[];
  /** Required with Uint16Array data. */
  halfType?: "float16" | "uint16";
}

/** Error thrown when a requested execution provider is not in this onnxruntime-node build. */
export class ExecutionProviderError extends Error {
  override name = "ExecutionProviderError";
}

const CUDA_HELP =
  "onnxruntime-node has no CUDA execution provider here: the provider library " +
  "(libonnxruntime_providers_cuda.so) is downloaded from NuGet by the package's install script, which " +
  "this project denies by default. Approve and rerun it: `npm install-scripts approve onnxruntime-node && " +
  "npm rebuild onnxruntime-node` (linux/x64 fetches the CUDA 12 build by default; force it with " +
  "ONNXRUNTIME_NODE_INSTALL=cuda12, or the older ONNXRUNTIME_NODE_INSTALL_CUDA=v12). CUDA 12 and cuDNN 9 " +
  "must be on the library path.";

/** An ORT session over one graph. Not thread-safe: run() blocks the calling thread's ORT work. */
export class GraphSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** Output names in the order the graph declared them. */
    readonly outputNames: readonly string[],
    private readonly bound: Readonly<Record<string, ort.Tensor>>,
  ) {}

  /** Creates a session from a graph (or serialized model bytes). */
  static async create(model: Graph | Uint8Array, config: SessionConfig = {}): Promise<GraphSession> {
    const bytes = model instanceof Uint8Array ? model : model.toBytes();
    const ep = config.executionProvider ?? "cpu";
    if (ep === "cuda" && !cudaProviderInstalled()) throw new ExecutionProviderError(CUDA_HELP);
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      graphOptimizationLevel: config.optimizationLevel ?? "all",
    };
    if (config.intraOpThreads !== undefined) options.intraOpNumThreads = config.intraOpThreads;
    // Without prepacking the weights stay where the external data maps them: measured on GPT-2 small,
    // a forward + gradient session pair peaked at 1.79 GB instead of 2.55 GB (ORT prepacks each weight
    // once per Gemm orientation), with no clear speed cost.
    // Common-subexpression elimination would merge a weight's backward-pass cast with its forward
    // one (Graph.recast), keeping a float copy of every half-precision weight alive through a gradient run.
    options.extra = { session: { disable_prepacking: "1" }, optimization: { disable_specified_optimizers: "CommonSubexpressionElimination" } };
    // No arena: an arena keeps each session's peak (a gradient run's activations, a head block's cast)
    // for the session's life; without it those return to the OS between runs. Measured on a
    // Qwen2.5-0.5B-shaped BF16 model, a forward + gradient pair: 3.6 GB peak instead of 6.1 GB and growing.
    options.enableCpuMemArena = false;
    const bound: Record<string, ort.Tensor> = {};
    for (const [name, v] of Object.entries(config.bound ?? {})) bound[name] = toOrt(name, v);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, options);
    } catch (e) {
      if (ep === "cuda") throw new ExecutionProviderError(`${CUDA_HELP} ORT said: ${(e as Error).message}`);
      throw e;
    }
    return new GraphSession(session, session.outputNames, bound);
  }

  /** Runs with named feeds; returns the requested outputs (all by default) as typed arrays. */
  async run(feeds: Record<string, TensorValue>, outputs: readonly string[] = this.outputNames): Promise<Record<string, TensorValue>> {
    const ortFeeds: Record<string, ort.Tensor> = { ...this.bound };
    for (const [name, v] of Object.entries(feeds)) ortFeeds[name] = toOrt(name, v);
    const res = await this.session.run(ortFeeds, [...outputs]);
    const out: Record<string, TensorValue> = {};
    for (const name of outputs) {
      const t = res[name];
      out[name] = { data: t.data as TensorValue["data"], shape: t.dims };
    }
    return out;
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Whether onnxruntime-node's CUDA provider library sits beside its native binding (the
 * package lists "cuda" as a backend even when the library was never downloaded). */
export function cudaProviderInstalled(): boolean {
  const bin = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin", "napi-v6", process.platform, process.arch);
  const lib = process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  return existsSync(join(bin, lib));
}

function toOrt(name: string, v: TensorValue): ort.Tensor {
  const n = v.shape.reduce((a, b) => a * b, 1);
  if (v.data.length !== n) throw new Error(`feed "${name}": ${v.data.length} values do not fill shape [${v.shape}]`);
  const dims = [...v.shape];
  if (v.data instanceof Float32Array) return new ort.Tensor("float32", v.data, dims);
  if (v.data instanceof Float64Array) return new ort.Tensor("float64", v.data, dims);
  if (v.data instanceof BigInt64Array) return new ort.Tensor("int64", v.data, dims);
  if (v.data instanceof Uint16Array) {
    if (!v.halfType) throw new Error(`feed "${name}": Uint16Array data needs halfType "float16" or "uint16"`);
    return new ort.Tensor(v.halfType, v.data, dims);
  }
  return new ort.Tensor("bool", v.data, dims);
}
