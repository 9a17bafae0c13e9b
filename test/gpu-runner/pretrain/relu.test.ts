/**
 * ReLU FFNs: a relu checkpoint written by pretraining loads in the
 * runner's GPT-2 graph with the logits and FFN neurons of a float64 forward pass written out here
 * (the oracle). The training graph's gradient of loss + ffnL1 x ffn_l1 is checked with the others in
 * train-graph.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfig } from "../../../gpu-runner/hf/config.js";
import { createSession, loadModel } from "../../../gpu-runner/models/session.js";
import { writeCheckpoint } from "../../../gpu-runner/pretrain/checkpoint.js";
import { gpt2ParamSpecs, type Gpt2Shape } from "../../../gpu-runner/pretrain/gpt2-params.js";
import { WordCodec } from "../../../gpu-runner/pretrain/tokenizer.js";
import { spreadGpt2Params } from "../../fixtures/gpt2-params.js";

const codec = new WordCodec();
const SHAPE: Gpt2Shape = { vocabSize: codec.vocabSize, nPositions: 16, dModel: 16, nLayers: 2, nHeads: 2, dFF: 24, layerNormEps: 1e-5, activation: "relu" };

/** y[t, :] = x[t, :] @ w ([inn, out] row-major) + b, float64. */
function affine(x: Float64Array, rows: number, inn: number, w: Float32Array, b: Float32Array): Float64Array {
  const out = b.length;
  const y = new Float64Array(rows * out);
  for (let t = 0; t < rows; t++) for (let o = 0; o < out; o++) {
    let s = b[o];
    for (let i = 0; i < inn; i++) s += x[t * inn + i] * w[i * out + o];
    y[t * out + o] = s;
  }
  return y;
}

function layerNorm64(x: Float64Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < rows; t++) {
    let m = 0;
    for (let i = 0; i < d; i++) m += x[t * d + i];
    m /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[t * d + i] - m) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) y[t * d + i] = (x[t * d + i] - m) * inv * gamma[i] + beta[i];
  }
  return y;
}

/** GPT-2 with a ReLU MLP, one sequence, float64: logits [T,V] and FFN neurons per layer [T,F]. */
function referenceForward(s: Gpt2Shape, p: Map<string, Float32Array>, ids: number[]): { logits: Float64Array; ffn: Float64Array[] } {
  const { dModel: d, nHeads: H, dFF: F, vocabSize: V } = s;
  const T = ids.length;
  const hd = d / H;
  const P = (n: string) => p.get(n)!;
  let x = new Float64Array(T * d);
  for (let t = 0; t < T; t++) for (let i = 0; i < d; i++) x[t * d + i] = P("wte.weight")[ids[t] * d + i] + P("wpe.weight")[t * d + i];
  const ffn: Float64Array[] = [];
  for (let l = 0; l < s.nLayers; l++) {
    const n = (k: string) => P(`h.${l}.${k}`);
    const qkv = affine(layerNorm64(x, T, d, n("ln_1.weight"), n("ln_1.bias"), s.layerNormEps), T, d, n("attn.c_attn.weight"), n("attn.c_attn.bias"));
    const y = new Float64Array(T * d);
    for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
      const scores = Array.from({ length: t + 1 }, (_, u) => {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += qkv[t * 3 * d + h * hd + i] * qkv[u * 3 * d + d + h * hd + i];
        return dot / Math.sqrt(hd);
      });
      const mx = Math.max(...scores);
      const e = scores.map((v) => Math.exp(v - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let u = 0; u <= t; u++) acc += (e[u] / z) * qkv[u * 3 * d + 2 * d + h * hd + i];
        y[t * d + h * hd + i] = acc;
      }
    }
    const attn = affine(y, T, d, n("attn.c_proj.weight"), n("attn.c_proj.bias"));
    x = x.map((v, i) => v + attn[i]);
    const act = affine(layerNorm64(x, T, d, n("ln_2.weight"), n("ln_2.bias"), s.layerNormEps), T, d, n("mlp.c_fc.weight"), n("mlp.c_fc.bias")).map((v) => Math.max(v, 0));
    ffn.push(act);
    const mlp = affine(act, T, F, n("mlp.c_proj.weight"), n("mlp.c_proj.bias"));
    x = x.map((v, i) => v + mlp[i]);
  }
  const hf = layerNorm64(x, T, d, P("ln_f.weight"), P("ln_f.bias"), s.layerNormEps);
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) for (let v = 0; v < V; v++) {
    let acc = 0;
    for (let i = 0; i < d; i++) acc += hf[t * d + i] * P("wte.weight")[v * d + i];
    logits[t * V + v] = acc;
  }
  return { logits, ffn };
}

/** max |a - b| over the first n values <= 1e-4 x max |b|; returns max |b| for the caller's own checks. */
function assertClose(actual: ArrayLike<number>, expected: Float64Array, what: string): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  assert.ok(Number.isFinite(worst) && worst <= 1e-4 * scale, `${what}: max error ${worst} vs scale ${scale}`);
  return scale;
}

test("a relu checkpoint loads in the runner's GPT-2 graph with the logits and FFN neurons of a float64 reference", async () => {
  const params = new Map([...spreadGpt2Params(SHAPE, 11, 20)].map(([k, v]) => [k, Float32Array.from(v)]));
  const dir = mkdtempSync(join(tmpdir(), "relu-ckpt-"));
  try {
    writeCheckpoint(dir, SHAPE, gpt2ParamSpecs(SHAPE), params);
    assert.equal(readConfig(dir).activation, "relu");
    const texts = ["the movie was not good . ->", "12 * 7 = 84"];
    const rows = texts.map((t) => codec.encode(t));
    const session = await createSession(loadModel(dir, { threads: 1 }), { logits: "all", taps: "all", tapPositions: "all" });
    const out = await session.run({ sequences: rows.map((ids) => ({ ids })) });
    await session.release();
    const T = out.layout.seqLen;
    let zeros = 0;
    let cells = 0;
    rows.forEach((ids, b) => {
      const ref = referenceForward(SHAPE, params, ids);
      const scale = assertClose(out.logits!.subarray(b * T * SHAPE.vocabSize), ref.logits, `row ${b} logits`);
      assert.ok(scale > 1, "logits are all tiny: the comparison would be weak");
      for (let l = 0; l < SHAPE.nLayers; l++) {
        const got = out.ffn.get(l)!.subarray(b * T * SHAPE.dFF, (b * T + ids.length) * SHAPE.dFF);
        assertClose(got, ref.ffn[l], `row ${b} layer ${l} FFN`);
        for (const v of got) { cells++; if (v === 0) zeros++; }
      }
    });
    // ReLU, not GELU: a good share of neurons is exactly zero, and some are not.
    assert.ok(zeros > 0.2 * cells && zeros < 0.8 * cells, `${zeros} of ${cells} FFN values are exactly 0`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
