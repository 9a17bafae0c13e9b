import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CheckpointError } from "../../../gpu-runner/hf/errors.js";
import { readTensor, readTensorIndex } from "../../../gpu-runner/hf/safetensors.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const fixture = (name: string) => `${root}test/fixtures/models/${name}`;
const tmp = mkdtempSync(join(tmpdir(), "skillscope-st-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Copy of a fixture folder under tmp. */
function copyOf(name: string): string {
  const dir = mkdtempSync(join(tmp, name + "-"));
  for (const f of readdirSync(fixture(name))) copyFileSync(join(fixture(name), f), join(dir, f));
  return dir;
}

/** Rewrites a safetensors file with an edited header (data kept). */
function editHeader(file: string, edit: (h: Record<string, any>) => void): void {
  const buf = readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString());
  edit(header);
  const hb = Buffer.from(JSON.stringify(header));
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(hb.length));
  writeFileSync(file, Buffer.concat([lenBuf, hb, buf.subarray(8 + len)]));
}

function expectError(fn: () => unknown, file: RegExp, tensor?: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.match(e.file, file);
    assert.match(e.message, file);
    if (tensor !== undefined) {
      assert.equal(e.tensor, tensor);
      assert.ok(e.message.includes(tensor), e.message);
    }
    if (message) assert.match(e.message, message);
    return true;
  });
}

test("single file: offsets, lengths, buffers listed, metadata", () => {
  const { tensors, metadata } = readTensorIndex(fixture("gpt2-tiny"));
  const wte = tensors.get("wte.weight")!;
  assert.deepEqual(wte.shape, [64, 32]);
  assert.equal(wte.dtype, "F32");
  assert.equal(wte.length, 64 * 32 * 4);
  assert.equal(wte.file, "model.safetensors");
  const buf = readFileSync(join(fixture("gpt2-tiny"), "model.safetensors"));
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString());
  assert.equal(wte.offset, 8 + headerLen + header["wte.weight"].data_offsets[0]);
  assert.ok(tensors.has("h.0.attn.bias"));
  assert.deepEqual(metadata["model.safetensors"], { format: "pt" });
});

test("sharded: both shards indexed with their file names", () => {
  const { tensors } = readTensorIndex(fixture("gpt2-tiny-sharded"));
  const files = new Set([...tensors.values()].map((t) => t.file));
  assert.deepEqual([...files].sort(), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
  assert.equal(tensors.get("transformer.wte.weight")!.dtype, "F16");
});

test("readTensor converts F16 and BF16 exactly and reads row ranges", () => {
  // F16: compare with an independent decoding of the raw half-float bits.
  const t16 = readTensorIndex(fixture("gpt2-tiny-sharded")).tensors.get("transformer.ln_f.weight")!;
  const vals = readTensor(t16);
  const raw = readFileSync(t16.path).subarray(t16.offset, t16.offset + t16.length);
  for (let i = 0; i < vals.length; i++) {
    const h = raw.readUInt16LE(2 * i);
    const e = (h >> 10) & 31, f = h & 1023, s = h >> 15 ? -1 : 1;
    const expect = e === 0 ? s * f * 2 ** -24 : s * (1 + f / 1024) * 2 ** (e - 15);
    assert.equal(vals[i], Math.fround(expect));
  }
  const tb = readTensorIndex(fixture("llama-tiny-bf16")).tensors.get("model.embed_tokens.weight")!;
  const rows = readTensor(tb, 3, 5);
  assert.equal(rows.length, 2 * 32);
  const rawB = readFileSync(tb.path).subarray(tb.offset, tb.offset + tb.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  u32[0] = rawB.readUInt16LE(2 * (3 * 32 + 7)) << 16;
  assert.equal(rows[7], f32[0]);
  assert.throws(() => readTensor(tb, 5, 100), RangeError);
});

test("HF cache layout: symlinks into ../../blobs resolve to the blobs", () => {
  const cache = mkdtempSync(join(tmp, "hub-"));
  mkdirSync(join(cache, "blobs"));
  mkdirSync(join(cache, "snapshots", "abc123"), { recursive: true });
  for (const f of readdirSync(fixture("gpt2-tiny-sharded"))) {
    copyFileSync(join(fixture("gpt2-tiny-sharded"), f), join(cache, "blobs", "sha-" + f));
    symlinkSync(join("..", "..", "blobs", "sha-" + f), join(cache, "snapshots", "abc123", f));
  }
  const { tensors } = readTensorIndex(join(cache, "snapshots", "abc123"));
  const t = tensors.get("transformer.wte.weight")!;
  assert.ok(t.path.startsWith(join(cache, "blobs")), t.path);
  assert.match(t.path, /sha-model-0000\d-of-00002\.safetensors$/);
});

test("missing file", () => {
  const dir = copyOf("gpt2-tiny");
  rmSync(join(dir, "model.safetensors"));
  expectError(() => readTensorIndex(dir), /model\.safetensors/);
});

test("truncated file: data shorter than the header says", () => {
  const dir = copyOf("gpt2-tiny");
  const file = join(dir, "model.safetensors");
  const buf = readFileSync(file);
  writeFileSync(file, buf.subarray(0, buf.length - 100));
  expectError(() => readTensorIndex(dir), /model\.safetensors/, undefined, /truncated/);
});

test("file shorter than 8 bytes", () => {
  const dir = copyOf("gpt2-tiny");
  writeFileSync(join(dir, "model.safetensors"), Buffer.from([1, 2, 3]));
  expectError(() => readTensorIndex(dir), /model\.safetensors/, undefined, /truncated/);
});

test("header length past the end", () => {
  const dir = copyOf("gpt2-tiny");
  const file = join(dir, "model.safetensors");
  const buf = readFileSync(file);
  buf.writeBigUInt64LE(BigInt(buf.length * 2), 0);
  writeFileSync(file, buf);
  expectError(() => readTensorIndex(dir), /model\.safetensors/, undefined, /header length/);
});

test("corrupt JSON header", () => {
  const dir = copyOf("gpt2-tiny");
  const file = join(dir, "model.safetensors");
  const buf = readFileSync(file);
  buf.write("#", 9);
  writeFileSync(file, buf);
  expectError(() => readTensorIndex(dir), /model\.safetensors/, undefined, /JSON/);
});

test("offsets out of range", () => {
  const dir = copyOf("gpt2-tiny");
  editHeader(join(dir, "model.safetensors"), (h) => {
    const [b, e] = h["ln_f.bias"].data_offsets;
    h["ln_f.bias"].data_offsets = [b + 1e6, e + 1e6];
  });
  expectError(() => readTensorIndex(dir), /model\.safetensors/, "ln_f.bias", /past the end/);
});

test("overlapping offsets", () => {
  const dir = copyOf("gpt2-tiny");
  editHeader(join(dir, "model.safetensors"), (h) => {
    h["ln_f.bias"].data_offsets = [...h["ln_f.weight"].data_offsets];
  });
  assert.throws(() => readTensorIndex(dir), (e: unknown) =>
    e instanceof CheckpointError && /overlap/.test(e.message) && /ln_f\.(bias|weight)/.test(e.message) && /model\.safetensors/.test(e.message));
});

test("offsets not matching shape x dtype", () => {
  const dir = copyOf("gpt2-tiny");
  editHeader(join(dir, "model.safetensors"), (h) => {
    h["ln_f.bias"].shape = [31];
  });
  expectError(() => readTensorIndex(dir), /model\.safetensors/, "ln_f.bias", /needs 124/);
});

test("unsupported dtype", () => {
  const dir = copyOf("gpt2-tiny");
  editHeader(join(dir, "model.safetensors"), (h) => {
    h["ln_f.bias"].dtype = "I8";
  });
  expectError(() => readTensorIndex(dir), /model\.safetensors/, "ln_f.bias", /F32, F16, BF16/);
});

test("missing shard", () => {
  const dir = copyOf("gpt2-tiny-sharded");
  rmSync(join(dir, "model-00002-of-00002.safetensors"));
  expectError(() => readTensorIndex(dir), /model-00002-of-00002\.safetensors/, undefined, /missing/);
});

test("index naming a tensor its shard lacks", () => {
  const dir = copyOf("gpt2-tiny-sharded");
  const idx = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
  idx.weight_map["transformer.ghost.weight"] = "model-00001-of-00002.safetensors";
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(idx));
  expectError(() => readTensorIndex(dir), /model-00001-of-00002\.safetensors/, "transformer.ghost.weight");
});

test("a tensor stored in two shards", () => {
  const dir = copyOf("gpt2-tiny-sharded");
  const idx = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
  const inFirst = Object.keys(idx.weight_map).find((k) => idx.weight_map[k] === "model-00001-of-00002.safetensors")!;
  editHeader(join(dir, "model-00002-of-00002.safetensors"), (h) => {
    const [name] = Object.keys(h).filter((k) => k !== "__metadata__");
    h[inFirst] = h[name!];
    delete h[name!];
  });
  assert.throws(() => readTensorIndex(dir), (e: unknown) => e instanceof CheckpointError && e.tensor === inFirst && /also in model-00001-of-00002/.test(e.message));
});
