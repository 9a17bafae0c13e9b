/**
 * Model loading end to end through onnxruntime: a Hugging Face cache layout (snapshot symlinks into
 * ../../blobs), and checkpoints that do not match their config (typed errors naming file and tensor).
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CheckpointError, ConfigError } from "../../../gpu-runner/hf/errors.js";
import { createSession, loadModel } from "../../../gpu-runner/models/session.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const fixture = (name: string) => `${root}test/fixtures/models/${name}`;
const tmp = mkdtempSync(join(tmpdir(), "skillscope-models-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function copyOf(name: string): string {
  const dir = mkdtempSync(join(tmp, name + "-"));
  for (const f of readdirSync(fixture(name))) copyFileSync(join(fixture(name), f), join(dir, f));
  return dir;
}

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

test("HF cache snapshot (symlinks into ../../blobs) runs and matches the reference", async () => {
  const cache = mkdtempSync(join(tmp, "hub-"));
  const snap = join(cache, "models--x--llama", "snapshots", "0123abc");
  const blobs = join(cache, "models--x--llama", "blobs");
  mkdirSync(blobs, { recursive: true });
  mkdirSync(snap, { recursive: true });
  for (const f of readdirSync(fixture("llama-tiny-bf16"))) {
    copyFileSync(join(fixture("llama-tiny-bf16"), f), join(blobs, `sha256-${f.length}${f.replace(/\W/g, "")}`));
    symlinkSync(join("..", "..", "blobs", `sha256-${f.length}${f.replace(/\W/g, "")}`), join(snap, f));
  }
  const model = loadModel(snap, { threads: 1 });
  const ref = JSON.parse(readFileSync(join(fixture("llama-tiny-bf16"), "reference.json"), "utf8")).cases[0];
  const s = await createSession(model, { logits: "all" });
  const r = await s.run({ sequences: [{ ids: ref.ids }] });
  const expected: number[] = ref.logits.flat();
  const scale = Math.max(...expected.map(Math.abs));
  expected.forEach((v, i) => assert.ok(Math.abs(r.logits![i]! - v) <= 1e-4 * scale, `logit ${i}`));
  await s.release();
});

test("tensor shape not matching config.json: CheckpointError naming file and tensor", () => {
  const dir = copyOf("qwen2-tiny");
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  cfg.intermediate_size = 40;
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  const model = loadModel(dir);
  return assert.rejects(createSession(model, { logits: "all" }), (e: unknown) =>
    e instanceof CheckpointError && e.file === "model.safetensors" && e.tensor === "model.layers.0.mlp.gate_proj.weight" &&
    e.message.includes("model.safetensors") && e.message.includes("model.layers.0.mlp.gate_proj.weight") && /\[48, 32\]/.test(e.message));
});

test("tensor missing from the checkpoint: CheckpointError naming it", () => {
  const dir = copyOf("llama-tiny-gqa");
  editHeader(join(dir, "model.safetensors"), (h) => {
    h["lm_head.weightX"] = h["lm_head.weight"];
    delete h["lm_head.weight"];
  });
  return assert.rejects(createSession(loadModel(dir), { logits: "all" }), (e: unknown) =>
    e instanceof CheckpointError && e.tensor === "lm_head.weight" && e.message.includes("model.safetensors"));
});

test("GPT-2 head shape mismatch in a sharded checkpoint names the shard", () => {
  const dir = copyOf("gpt2-tiny-sharded");
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  cfg.vocab_size = 65;
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  return assert.rejects(createSession(loadModel(dir), { logits: "all" }), (e: unknown) =>
    e instanceof CheckpointError && e.tensor === "transformer.wte.weight" && /model-0000\d-of-00002\.safetensors/.test(e.message));
});

test("unknown model_type is a ConfigError listing the supported ones", () => {
  const dir = copyOf("gpt2-tiny");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "falcon" }));
  assert.throws(() => loadModel(dir), (e: unknown) => e instanceof ConfigError && /falcon/.test(e.message) && /gpt2, llama, mistral, qwen2/.test(e.message));
});

test("an enabled sliding window masks attention: query i sees keys i - W < j <= i in every layer", async () => {
  const dir = copyOf("qwen2-tiny");
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  Object.assign(cfg, { use_sliding_window: true, sliding_window: 2, max_window_layers: 0 });
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  const windowed = await createSession(loadModel(dir), { logits: "last" });
  const full = await createSession(loadModel(copyOf("qwen2-tiny")), { logits: "last" });
  const last = async (s: typeof full, ids: number[]) => Array.from((await s.run({ sequences: [{ ids }] })).logits!);
  // Two layers of window 2 reach 2 positions back from the last (4): token 2 counts, tokens 0 and 1 do not.
  const base = [5, 6, 7, 8, 9];
  const at = (i: number) => base.map((v, j) => (j === i ? v + 10 : v));
  const w = await last(windowed, base);
  assert.deepEqual(await last(windowed, at(0)), w);
  assert.deepEqual(await last(windowed, at(1)), w);
  assert.notDeepEqual(await last(windowed, at(2)), w);
  // Without the window the first token does count (the check above is not vacuous).
  assert.notDeepEqual(await last(full, at(0)), await last(full, base));
  await windowed.release();
  await full.release();
});
