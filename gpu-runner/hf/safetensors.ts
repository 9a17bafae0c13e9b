import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError } from "./errors.js";
import { parseJsonText } from "./json-text.js";

export type SafetensorsDtype = "F32" | "F16" | "BF16";
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Where one tensor's bytes live; enough to load it as ONNX external data straight from disk. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** File as named in the folder (e.g. "model.safetensors"), relative to the model folder. */
  file: string;
  /** Real path of that file after resolving symlinks (Hugging Face cache blobs). */
  path: string;
  /** Absolute byte offset of the data in the file (= 8 + header length + data_offsets[0]). */
  offset: number;
  /** Byte length (= product(shape) * dtype size). */
  length: number;
}

/** All tensors of a checkpoint by name, plus each file's `__metadata__`. */
export interface TensorIndex {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, Record<string, string>>;
}

/** Header length sanity bound: real headers are at most a few MB. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Parses the header of one .safetensors file (reads 8 + header bytes only) and validates every
 * entry against the file size. `file` is relative to `dir`.
 */
export function readSafetensorsHeader(dir: string, file: string): TensorIndex {
  const shown = file;
  const full = join(dir, file);
  if (!existsSync(full)) {
    throw new CheckpointError(`${shown}: file not found in ${dir}; re-download the checkpoint`, shown);
  }
  const path = realpathSync(full);
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size < 8) {
      throw new CheckpointError(`${shown}: truncated (${size} bytes, no header); re-download the file`, shown);
    }
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > size - 8 || headerLen > MAX_HEADER_BYTES) {
      throw new CheckpointError(
        `${shown}: header length ${headerLen} runs past the end of the ${size}-byte file; the file is truncated or not safetensors, re-download it`,
        shown);
    }
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    const header = parseJsonText(headerBuf.toString("utf8"), (problem) =>
      new CheckpointError(`${shown}: header is ${problem}; the file is corrupt, re-download it`, shown));
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      throw new CheckpointError(`${shown}: header is not a JSON object; the file is corrupt, re-download it`, shown);
    }
    const dataStart = 8 + headerLen;
    const dataSize = size - dataStart;
    const tensors = new Map<string, TensorInfo>();
    const metadata: Record<string, Record<string, string>> = {};
    const ranges: Array<[number, number, string]> = [];
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === "__metadata__") {
        metadata[file] = entry as Record<string, string>;
        continue;
      }
      const info = parseEntry(shown, name, entry);
      const [begin, end] = info.range;
      if (end > dataSize) {
        throw new CheckpointError(
          `${shown}: tensor "${name}" data_offsets [${begin}, ${end}] run past the end of the data (${dataSize} bytes); the file is truncated, re-download it`,
          shown, name);
      }
      ranges.push([begin, end, name]);
      tensors.set(name, {
        name, dtype: info.dtype, shape: info.shape, file, path, offset: dataStart + begin, length: end - begin,
      });
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) {
      const [, prevEnd, prevName] = ranges[i - 1]!;
      const [begin, , name] = ranges[i]!;
      if (begin < prevEnd) {
        throw new CheckpointError(
          `${shown}: tensors "${prevName}" and "${name}" overlap (byte ${begin} < ${prevEnd}); the file is corrupt, re-download it`,
          shown, name);
      }
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

function parseEntry(file: string, name: string, entry: unknown): { dtype: SafetensorsDtype; shape: number[]; range: [number, number] } {
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e !== "object" || e === null) {
    throw new CheckpointError(`${file}: tensor "${name}" header entry is not an object; the file is corrupt`, file, name);
  }
  if (typeof e.dtype !== "string" || !(e.dtype in DTYPE_BYTES)) {
    throw new CheckpointError(
      `${file}: tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)}; supported: F32, F16, BF16 (convert the checkpoint)`,
      file, name);
  }
  const dtype = e.dtype as SafetensorsDtype;
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new CheckpointError(`${file}: tensor "${name}" shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`, file, name);
  }
  const shape = e.shape as number[];
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[1] < off[0]) {
    throw new CheckpointError(`${file}: tensor "${name}" data_offsets ${JSON.stringify(off)} are not [begin, end] with begin <= end`, file, name);
  }
  const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (off[1] - off[0] !== expected) {
    throw new CheckpointError(
      `${file}: tensor "${name}" spans ${off[1] - off[0]} bytes but shape [${shape.join(", ")}] x ${dtype} needs ${expected}; the file is corrupt`,
      file, name);
  }
  return { dtype, shape, range: [off[0], off[1]] };
}

/** The sharded checkpoint's index; without it the folder holds one `model.safetensors`. */
export const INDEX_FILE = "model.safetensors.index.json";
const SINGLE_FILE = "model.safetensors";

/**
 * Tensor name -> shard file of `<dir>/model.safetensors.index.json`, or undefined when the folder
 * has no index. Shard names are as written in the index, relative to the folder.
 */
export function readWeightMap(dir: string): Record<string, string> | undefined {
  const file = join(dir, INDEX_FILE);
  if (!existsSync(file)) return undefined;
  const invalid = (problem: string) => new CheckpointError(`${INDEX_FILE}: ${problem}; re-download the checkpoint`, INDEX_FILE);
  const json = parseJsonText(readFileSync(file, "utf8"), invalid) as { weight_map?: unknown } | null;
  const map = json?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw invalid('expected an object with a "weight_map" object');
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== "string" || shard === "") throw invalid(`weight_map entry of tensor "${name}" is not a file name`);
  }
  return map as Record<string, string>;
}

/** The weight files the tensor index of `dir` reads, as named in the folder (relative to it). */
export function weightFiles(dir: string): string[] {
  const weightMap = readWeightMap(dir);
  return weightMap ? shardsOf(weightMap) : [SINGLE_FILE];
}

function shardsOf(weightMap: Record<string, string>): string[] {
  return [...new Set(Object.values(weightMap))].sort();
}

/**
 * Reads the tensor index of a model folder: `model.safetensors.index.json` (sharded, every shard
 * in its weight_map) or else `model.safetensors`.
 */
export function readTensorIndex(dir: string): TensorIndex {
  const weightMap = readWeightMap(dir);
  if (weightMap) {
    const tensors = new Map<string, TensorInfo>();
    const metadata: Record<string, Record<string, string>> = {};
    for (const shard of shardsOf(weightMap)) {
      if (!existsSync(join(dir, shard))) {
        const example = Object.keys(weightMap).find((k) => weightMap[k] === shard);
        throw new CheckpointError(
          `${shard}: shard listed in ${INDEX_FILE} (e.g. for tensor "${example}") is missing; download all shards`,
          shard, example);
      }
      const part = readSafetensorsHeader(dir, shard);
      Object.assign(metadata, part.metadata);
      for (const [name, info] of part.tensors) {
        const prev = tensors.get(name);
        if (prev) {
          throw new CheckpointError(`${shard}: tensor "${name}" is also in ${prev.file}; the shards are inconsistent, re-download them`, shard, name);
        }
        tensors.set(name, info);
      }
    }
    for (const [name, shard] of Object.entries(weightMap)) {
      const info = tensors.get(name);
      if (!info || info.file !== shard) {
        throw new CheckpointError(`${shard}: tensor "${name}" listed in ${INDEX_FILE} is not in that shard; re-download the checkpoint`, shard, name);
      }
    }
    return { tensors, metadata };
  }
  if (!existsSync(join(dir, SINGLE_FILE))) {
    throw new CheckpointError(
      `${SINGLE_FILE}: neither ${SINGLE_FILE} nor ${INDEX_FILE} found in ${dir}; only safetensors checkpoints are supported`, SINGLE_FILE);
  }
  return readSafetensorsHeader(dir, SINGLE_FILE);
}

/** Decodes IEEE half floats to float32. */
function f16ToF32(bits: Uint16Array, out: Float32Array): void {
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
}

/**
 * Reads one tensor (or rows [rowStart, rowEnd) of its first axis) into float32, converting
 * F16/BF16. For the few tensors JS itself needs (embedding rows for prompt init); weights for the
 * graph go through external data instead.
 */
export function readTensor(info: TensorInfo, rowStart = 0, rowEnd = info.shape[0] ?? 1): Float32Array {
  const rows = info.shape[0] ?? 1;
  if (!(0 <= rowStart && rowStart <= rowEnd && rowEnd <= rows)) {
    throw new RangeError(`readTensor ${info.name}: rows [${rowStart}, ${rowEnd}) outside [0, ${rows})`);
  }
  const elemBytes = DTYPE_BYTES[info.dtype];
  const rowElems = info.shape.slice(1).reduce((a, b) => a * b, 1);
  const count = (rowEnd - rowStart) * rowElems;
  const buf = Buffer.alloc(count * elemBytes);
  const fd = openSync(info.path, "r");
  try {
    const got = readSync(fd, buf, 0, buf.length, info.offset + rowStart * rowElems * elemBytes);
    if (got !== buf.length) {
      throw new CheckpointError(`${info.file}: tensor "${info.name}" is truncated (read ${got} of ${buf.length} bytes); re-download`, info.file, info.name);
    }
  } finally {
    closeSync(fd);
  }
  // Copy into aligned storage: Buffer slices need not be 4-byte aligned.
  const out = new Float32Array(count);
  if (info.dtype === "F32") {
    new Uint8Array(out.buffer).set(buf);
  } else {
    const bits = new Uint16Array(count);
    new Uint8Array(bits.buffer).set(buf);
    if (info.dtype === "F16") f16ToF32(bits, out);
    else {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u32[i] = bits[i]! << 16;
    }
  }
  return out;
}
