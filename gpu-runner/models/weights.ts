import type { Graph, Tensor } from "../graph/graph.js";
import { CheckpointError } from "../hf/errors.js";
import type { ModelDir } from "../hf/model-dir.js";
import { externalLocation } from "../hf/safetensors.js";

/**
 * Reads checkpoint tensors into a graph as external-data parameters, checking each one's shape
 * against what the config implies. `prefixes` are tried in order (GPT-2 checkpoints are published
 * both with and without "transformer.").
 */
export class WeightReader {
  constructor(
    private readonly model: ModelDir,
    private readonly graph: Graph,
    private readonly externalFolder: string,
    private readonly prefixes: readonly string[] = [""],
  ) {}

  /** True when the checkpoint has the tensor under one of the prefixes. */
  has(name: string): boolean {
    return this.prefixes.some((p) => this.model.tensors.has(p + name));
  }

  /** The tensor as a graph parameter of the given shape (cast to float in-graph when F16/BF16). */
  param(name: string, shape: readonly number[]): Tensor {
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
    return this.graph.externalParam(full, {
      location: externalLocation(this.externalFolder, info), offset: info.offset, length: info.length, dtype: info.dtype, shape: info.shape,
    });
  }
}
