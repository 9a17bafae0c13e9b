import "reflect-metadata";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { RunnerEvent } from "../../../gpu-runner/runner/protocol.js";
import { localShardPool, type ShardPool } from "../../../server/runs/shard-pool.js";
import { lakePath, lakeShardKey } from "../../../server/store/lake-catalog.js";
import { LakeShardWriter, roundToF16 } from "../../../server/store/lake-writer.js";
import { Store } from "../../../server/store/store.js";
import { addedValues, assertClose, serveAndAnswer, type LakeAnswers } from "../../fixtures/lake-answers.js";

/**
 * The activation lake: shard runners write activations as Parquet and the server reads them from
 * there. A run extracted by 2 local runners into the lake answers every activation read through the
 * server (extremal samples, histogram, significance, addMetric, export) like a one-runner run whose
 * activations went through the server, while no activation event reaches the server; a redone shard
 * replaces its files instead of adding to them; f16 reads match within binary16's rounding.
 */
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-lake-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Binary16 rounding computed in float64 from the definition: nearest multiple of the value's quantum, ties to even. */
function f16Oracle(x: number): number {
  if (x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  const quantum = 2 ** (Math.max(e, -14) - 10);
  const n = a / quantum;
  const f = Math.floor(n);
  const r = n - f > 0.5 || (n - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  return Math.sign(x) * r * quantum;
}

test("roundToF16 rounds to the nearest binary16 value, ties to even, and refuses values beyond its range", () => {
  const known: [number, number][] = [
    [1 + 2 ** -11, 1], // tie: to the even mantissa
    [1 + 3 * 2 ** -11, 1 + 2 ** -9],
    [65504, 65504],
    [65519, 65504],
    [2 ** -24, 2 ** -24], // smallest subnormal
    [3 * 2 ** -26, 2 ** -24], // 0.75 of it rounds up
    [2 ** -26, 0], // a quarter rounds to zero
    [-0.1, -0.0999755859375],
  ];
  for (const [x, want] of known) assert.equal(roundToF16(Float32Array.of(x))[0], want, `f16(${x})`);
  assert.throws(() => roundToF16(Float32Array.of(65520)), /binary16's range/);
  // random values across binary16's range, normal and subnormal, against the float64 oracle
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const values = Float32Array.from({ length: 20000 }, () => (rand() < 0.5 ? -1 : 1) * 2 ** (rand() * 40 - 26) * (1 + rand()));
  const rounded = roundToF16(Float32Array.from(values.filter((v) => Math.abs(v) < 65504)));
  values.filter((v) => Math.abs(v) < 65504).forEach((v, i) => assert.equal(rounded[i], f16Oracle(v), `f16(${v})`));
});

/** A run row for the catalog (the writer needs no model: it only writes files). */
async function bareRun(store: Store): Promise<number> {
  const modelId = await store.addModel({ path: join(dir, "model"), family: "gpt2", config: {} });
  const taskId = await store.addTask({ name: "t", source: "t", template: "{text}", verbalizer: null });
  return store.createRun({ modelId, taskId, config: { options: {} } });
}

/** Batches of `rows` samples x 3 positions x 5 neurons with distinct values (some beyond f16's precision). */
function batches(start: number, count: number, per: number, layer: number): { layer: number; sampleIdx: Int32Array; nPositions: number; dFF: number; data: Float32Array }[] {
  const out = [];
  for (let s = start; s < start + count; s += per) {
    const n = Math.min(per, start + count - s);
    const data = Float32Array.from({ length: n * 15 }, (_, i) => Math.sin(1000 * layer + 15 * s + i) * 37.123456);
    out.push({ layer, sampleIdx: Int32Array.from({ length: n }, (_, i) => s + i), nPositions: 3, dFF: 5, data });
  }
  return out;
}

async function writeShard(location: string, f16: boolean, runId: number, shard: number, start: number, count: number) {
  const w = await LakeShardWriter.open({ location, f16 }, String(runId), shard, { partBytes: 4 * 5 * 3 * 4 });
  for (const layer of [0, 2]) for (const b of batches(start, count, 3, layer)) await w.write(b);
  return w.finish();
}

test("a redone shard replaces its lake files (nothing counted twice); stray temp files are never read; f16 reads within binary16 rounding", async () => {
  const store = await Store.open(join(dir, "writer.duckdb"));
  try {
    for (const f16 of [false, true]) {
      const location = join(dir, f16 ? "lake16" : "lake32");
      const runId = await bareRun(store);
      // shard 1's first attempt "dies" after writing its files and a half-written temp file; the redo writes them again
      await writeShard(location, f16, runId, 1, 10, 7);
      writeFileSync(lakePath(location, `${lakeShardKey(runId, 0, 1)}/.part-0.parquet.tmp-1-dead`), "half a file");
      const shard0 = await writeShard(location, f16, runId, 0, 0, 10);
      const shard1 = await writeShard(location, f16, runId, 1, 10, 7);
      assert.ok(shard0.filter((f) => f.layer === 0).length > 1, "several part files per layer");
      assert.deepEqual(readdirSync(lakePath(location, lakeShardKey(runId, 0, 1))).sort(), [".part-0.parquet.tmp-1-dead", "part-0.parquet", "part-1.parquet"]);
      await store.catalogLakeShard(runId, 1, location, shard1, { positions: 3, dFF: 5 });
      await store.catalogLakeShard(runId, 0, location, shard0, { positions: 3, dFF: 5 });
      await store.catalogLakeShard(runId, 1, location, shard1, { positions: 3, dFF: 5 }); // the same shard merged again: replaced
      for (const layer of [0, 2]) {
        const got = await store.readActivations(runId, layer);
        assert.deepEqual([...got.sampleIdx], Array.from({ length: 17 }, (_, i) => i), "each sample once");
        const want = Float32Array.from(batches(0, 17, 17, layer)[0]!.data);
        if (f16) {
          // binary16 keeps 11 significant bits: relative error at most 2^-11 (values here are far above 2^-14)
          for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got.data[i]! - want[i]!) <= Math.abs(want[i]!) * 2 ** -11, `${got.data[i]} vs ${want[i]}`);
          assert.deepEqual(got.data, roundToF16(Float32Array.from(want)));
          assert.ok(want.some((v, i) => v !== got.data[i]), "f16 did round");
        } else {
          assert.deepEqual(got.data, want);
        }
        const neuron = await store.readNeuron(runId, layer, 3);
        assert.deepEqual([...neuron.data], Array.from({ length: 17 * 3 }, (_, i) => got.data[i * 5 + 3]!));
      }
      // deleting the run removes its cataloged files (the stray temp file was never the run's)
      await store.deleteRun(runId);
      assert.deepEqual(readdirSync(lakePath(location, lakeShardKey(runId, 0, 1))), [".part-0.parquet.tmp-1-dead"]);
      assert.deepEqual(readdirSync(lakePath(location, lakeShardKey(runId, 2, 0))), []);
    }
  } finally {
    await store.close();
  }
});

type AddedTop = { node: { id: string; r: number; bestPosition: number } }[];
const addedTop = (a: LakeAnswers): AddedTop => (a.added as { neurons: { edges: AddedTop } }).neurons.edges;

/** Pearson r (float64, two-pass) of neuron "L{l}.N{n}" at `position` in the exported activations with the added metric. */
function oracleR(a: LakeAnswers, id: string, position: number): number {
  const [, l, n] = /^L(\d+)\.N(\d+)$/.exec(id)!.map(Number);
  const layer = a.exported.find((e) => e.layer === l)!;
  const value = new Map(addedValues().map((v) => [v.sampleId, v.value]));
  const xs = layer.sampleIdx.map((_, i) => layer.data[(i * layer.positions + position) * layer.dFF + n!]!);
  const ys = layer.sampleIdx.map((s) => value.get(a.sampleIds.get(s)!)!);
  const mean = (v: number[]) => v.reduce((p, q) => p + q, 0) / v.length;
  const [mx, my] = [mean(xs), mean(ys)];
  let [sxy, sxx, syy] = [0, 0, 0];
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

/** The local pool, counting the events of each type that reach the server. */
function counting(pool: ShardPool, seen: Map<string, number>): ShardPool {
  return { ...pool, run: (job, sink) => pool.run(job, (ev: RunnerEvent) => {
    seen.set(ev.type, (seen.get(ev.type) ?? 0) + 1);
    sink(ev);
  }) };
}

test("through the server, a run extracted by 2 runners into the lake answers like a local run; no activation reaches the server", { timeout: 180000 }, async () => {
  const local = await serveAndAnswer(dir, "local", undefined);
  const seen = new Map<string, number>();
  const location = join(dir, "lake");
  const lake = await serveAndAnswer(dir, "lake", { shards: counting(localShardPool(2), seen), lake: { location, f16: false } });
  assert.equal(seen.get("activations"), undefined, "no activation event reached the server");
  assert.equal(seen.get("done"), 2, "two shards, each merged once");
  assert.ok(existsSync(join(location, "run=1", "layer=0", "shard=1", "part-0.parquet")));
  // the same activations bit for bit; statistics merged from two shards within 1e-9
  assertClose(lake, local, 1e-9);
  assert.deepEqual([...lake.sampleIds], [...local.sampleIds]);

  const f16 = await serveAndAnswer(dir, "lake16", { shards: localShardPool(2), lake: { location: join(dir, "lake16"), f16: true } });
  // f16: every exported activation within binary16 rounding of the f32 one, and the rankings' r close
  f16.exported.forEach((layer, i) => {
    const ref = local.exported[i]!;
    assert.deepEqual(layer.sampleIdx, ref.sampleIdx);
    assert.deepEqual(layer.data, roundToF16(Float32Array.from(ref.data)));
  });
  // the added metric's ranking over f16 activations: each r is Pearson's over the rounded values (float64
  // two-pass oracle on the export), and within 5e-3 of the float32 run's (observed up to ~2e-3 here)
  for (const answer of [local, f16]) {
    for (const { node } of addedTop(answer)) assert.ok(Math.abs(node.r - oracleR(answer, node.id, node.bestPosition)) < 1e-9, `${node.id}: ${node.r} vs ${oracleR(answer, node.id, node.bestPosition)}`);
  }
  assertClose(addedTop(f16).map((e) => Math.abs(e.node.r)), addedTop(local).map((e) => Math.abs(e.node.r)), 5e-3);
});
