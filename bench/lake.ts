/**
 * Activation-lake bench (`npm run bench -- lake`):
 * 1. bytes that reach the server per validation sample when a run is extracted by 2 local runners,
 *    lake on (runners write Parquet; the server gets partial statistics, outputs and a file list) vs
 *    off (activation batches pass through the server): the demo model, sentiment, full storage. Every
 *    event a runner hands the server is counted as its encoded protocol frame (what a queue carries);
 * 2. the Parquet writer: DuckDB (store/lake-writer.ts, the one used) vs hyparquet-writer writing the
 *    same shard layer (150 samples x 20 positions x 2048 neurons), and the f16 file size.
 */
import { readFile } from "node:fs/promises";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parquetWriteBuffer } from "hyparquet-writer";
import { encodeFrame } from "../gpu-runner/runner/codec.js";
import type { RunnerEvent } from "../gpu-runner/runner/protocol.js";
import { Rng } from "../gpu-runner/train/rng.js";
import { startServer, type RunningServer } from "../server/http/server.js";
import { localShardPool, type ShardPool } from "../server/runs/shard-pool.js";
import { LakeShardWriter } from "../server/store/lake-writer.js";
import type { BenchResult } from "./result.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEMO = join(ROOT, "demo");

async function gql<T>(server: RunningServer, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

/** One demo run over 2 local runners; returns the bytes of every event the runners handed the server, by type. */
async function demoRun(dir: string, lake: boolean): Promise<{ bytes: Map<string, number>; samples: number; seconds: number }> {
  const bytes = new Map<string, number>();
  const local = localShardPool(2);
  const counting: ShardPool = { ...local, run: (job, sink) => local.run(job, (ev: RunnerEvent) => {
    bytes.set(ev.type, (bytes.get(ev.type) ?? 0) + encodeFrame(ev).byteLength);
    sink(ev);
  }) };
  const dataDir = join(dir, lake ? "on" : "off");
  const server = await startServer({
    dataDir, port: 0, modelRoots: [DEMO], taskRoots: [DEMO], dashboardDir: join(dir, "none"),
    runner: { shards: counting, ...(lake ? { lake: { location: join(dataDir, "lake"), f16: false } } : {}) },
  });
  try {
    const token = (await readFile(join(dataDir, "token"), "utf8")).trim();
    const model = await gql<{ registerModel: { id: string } }>(server, token, `mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: join(DEMO, "model") });
    const task = await gql<{ importTask: { id: string; val: number } }>(server, token, `mutation ($i: ImportTaskInput!) { importTask(input: $i) { id val: sampleCount(split: "val") } }`, {
      i: { name: "sentiment", path: join(DEMO, "tasks/sentiment.jsonl"), template: "{text} ->" },
    });
    const t0 = performance.now();
    const run = await gql<{ startRun: { id: string } }>(server, token, `mutation ($m: ID!, $t: ID!) { startRun(modelId: $m, taskId: $t, options: { steps: 20, seed: 1, metrics: ["label"] }) { id } }`, {
      m: model.registerModel.id, t: task.importTask.id,
    });
    for (;;) {
      const { run: r } = await gql<{ run: { status: string; error: string | null } }>(server, token, `query ($r: ID!) { run(id: $r) { status error } }`, { r: run.startRun.id });
      if (r.status === "DONE") break;
      if (["FAILED", "CANCELLED"].includes(r.status)) throw new Error(`demo run ${r.status}: ${r.error}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    return { bytes, samples: task.importTask.val, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await server.close();
  }
}

function describe(bytes: Map<string, number>, samples: number): string {
  return [...bytes].map(([type, b]) => `${type} ${(b / samples / 1024).toFixed(1)} KiB`).join(", ");
}

async function bytesPerSample(dir: string, notes: string[]): Promise<BenchResult["figures"]> {
  const off = await demoRun(dir, false);
  const on = await demoRun(dir, true);
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const [perOn, perOff] = [total(on.bytes) / on.samples, total(off.bytes) / off.samples];
  notes.push(`demo sentiment (6 layers x 20 prompt positions x 512 neurons, metric label), ${on.samples} val samples in 2 shards; per sample, lake on: ${describe(on.bytes, on.samples)}; lake off: ${describe(off.bytes, off.samples)}`);
  notes.push(`lake on, the bytes are the two shards' partials (co-moments O(layers x positions x neurons x metrics) each), whatever the shard size; off, they grow with every sample's activations. Run wall time (train 20 steps + extract): lake on ${on.seconds.toFixed(1)} s, off ${off.seconds.toFixed(1)} s`);
  return [{ label: "bytes to the server per sample, lake on", ours: perOn, peer: "lake off (activations through the server)", peerValue: perOff, unit: "B", ratio: perOff / perOn }];
}

async function writers(dir: string, notes: string[]): Promise<BenchResult["figures"]> {
  const [S, P, F] = [150, 20, 2048];
  const rng = Rng.fromSeed(5);
  const data = Float32Array.from({ length: S * P * F }, () => rng.normal() * 0.3);
  const mb = data.byteLength / 2 ** 20;
  const duck = async (f16: boolean) => {
    const location = join(dir, f16 ? "w16" : "w32");
    const t0 = performance.now();
    const w = await LakeShardWriter.open({ location, f16 }, "1", 0);
    for (let s = 0; s < S; s += 8) {
      const n = Math.min(8, S - s);
      await w.write({ layer: 0, sampleIdx: Int32Array.from({ length: n }, (_, i) => s + i), nPositions: P, dFF: F, data: data.slice(s * P * F, (s + n) * P * F) });
    }
    const files = await w.finish();
    return { seconds: (performance.now() - t0) / 1000, size: files.reduce((a, f) => a + statSync(join(location, f.key)).size, 0) };
  };
  const d32 = await duck(false);
  const d16 = await duck(true);
  const t0 = performance.now();
  const buf = parquetWriteBuffer({
    columnData: [
      { name: "sample_idx", data: Int32Array.from({ length: S * P }, (_, r) => Math.floor(r / P)) },
      { name: "position", data: Int32Array.from({ length: S * P }, (_, r) => r % P) },
      { name: "data", data: Array.from({ length: S * P }, (_, r) => Array.from(data.subarray(r * F, (r + 1) * F))) },
    ],
    schema: [
      { name: "root", num_children: 3 },
      { name: "sample_idx", type: "INT32", repetition_type: "REQUIRED" },
      { name: "position", type: "INT32", repetition_type: "REQUIRED" },
      { name: "data", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: "FLOAT", repetition_type: "REQUIRED" },
    ],
  });
  const hySeconds = (performance.now() - t0) / 1000;
  notes.push(`writer: one shard layer (${S} samples x ${P} x ${F}, ${mb.toFixed(1)} MiB float32): DuckDB ${d32.seconds.toFixed(2)} s -> ${(d32.size / 2 ** 20).toFixed(1)} MiB (snappy), f16 ${d16.seconds.toFixed(2)} s -> ${(d16.size / 2 ** 20).toFixed(1)} MiB (zstd); hyparquet-writer ${hySeconds.toFixed(2)} s -> ${(buf.byteLength / 2 ** 20).toFixed(1)} MiB (snappy, in memory)`);
  return [
    { label: "lake writer throughput, DuckDB", ours: mb / d32.seconds, peer: "hyparquet-writer", peerValue: mb / hySeconds, unit: "MiB/s", ratio: hySeconds / d32.seconds },
    { label: "lake file size, f16", ours: d16.size / 2 ** 20, peer: "f32", peerValue: d32.size / 2 ** 20, unit: "MiB", ratio: d32.size / d16.size },
  ];
}

export async function benchLake(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-lake-"));
  try {
    const notes: string[] = [];
    const figures = [...(await bytesPerSample(dir, notes)), ...(await writers(dir, notes))];
    return { name: "lake", figures, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
