/**
 * Scale-out bench (`npm run bench -- scaleout`):
 * 1. wall time of `skillscope run --runners 2` against the one-runner run on the demo model (sentiment
 *    task, same seed; both summaries must agree, so the comparison is of the same work);
 * 2. bytes a shard runner sends the server per sample (its encoded partial) against the activation
 *    bytes one runner streams through the server, for the demo's shape;
 * 3. a 7B-shaped run (32 layers x 11008 neurons x 20 positions) in 64 shards: the server's merge time
 *    against streaming a shard's samples, and the server process's peak RSS against its merged statistics.
 * SKILLSCOPE_BENCH_SHARDS (default 64) and SKILLSCOPE_BENCH_SHARD_SAMPLES (default 2) size part 3.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeFrame, encodeFrame } from "../gpu-runner/runner/codec.js";
import { StreamingStats, type StatsSnapshot } from "../server/analysis/index.js";
import { Rng } from "../gpu-runner/train/rng.js";
import { RUN_DEFAULTS } from "../server/runs/run-options.js";
import type { BenchResult } from "./result.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = fileURLToPath(new URL("../clients/cli/main.js", import.meta.url));
const SEVEN_B_CHILD = fileURLToPath(new URL("./seven-b.js", import.meta.url));

interface RunSummary {
  samples: number;
  valLoss: number;
  top: { metric: string; layer: number; neuron: number; r: number }[];
}

function runCli(args: string[]): Promise<{ seconds: number; summary: RunSummary }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`skillscope ${args.join(" ")} failed: ${stderr}`));
      resolve({ seconds: (performance.now() - t0) / 1000, summary: JSON.parse(stdout) as RunSummary });
    });
  });
}

async function demoRunners(notes: string[]): Promise<BenchResult["figures"]> {
  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-scaleout-"));
  try {
    const args = (db: string, extra: string[]) => [
      "run", "--model", join(ROOT, "demo/model"), "--task", join(ROOT, "demo/tasks/sentiment.jsonl"), "--template", "{text} ->",
      "--steps", "20", "--seed", "1", "--metric", "label", "--json", "--data-dir", dir, "--db", join(dir, db), ...extra,
    ];
    const one = await runCli(args("one.duckdb", []));
    const two = await runCli(args("two.duckdb", ["--runners", "2"]));
    const dr = Math.max(...two.summary.top.map((t, i) => Math.abs(t.r - one.summary.top[i]!.r)));
    if (two.summary.samples !== one.summary.samples || !(dr < 1e-9)) throw new Error(`the 2-runner run disagrees with the 1-runner run (max |dr| ${dr})`);
    const { layers, positions, neurons } = demoShape();
    notes.push(`demo sentiment, 20 training steps (on one runner either way), ${one.summary.samples} val samples x ${layers} layers x ${neurons} neurons x ${positions} positions, full storage; top-r agree within ${dr.toExponential(1)}`);
    return [{ label: "demo run wall time, 2 local runners", ours: two.seconds, peer: "1 runner", peerValue: one.seconds, unit: "s", ratio: one.seconds / two.seconds }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Partial statistics of `samples` random samples at the given shape, as a shard runner would hold them. */
function shardStats(layers: number, positions: number, neurons: number, metrics: string[], samples: number, rng: Rng): StreamingStats {
  const stats = new StreamingStats({ layers, positions, neurons, metrics });
  const acts = new Float32Array(samples * positions * neurons);
  const y = new Float64Array(metrics.length * samples);
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < acts.length; i++) acts[i] = rng.normal();
    for (let i = 0; i < y.length; i++) y[i] = rng.normal();
    stats.update(l, acts, y);
  }
  return stats;
}

/** A 7B model's FFN (Llama-2-7b: 32 layers x 11008) at 20 soft-prompt positions, and the metrics its bench partials carry. */
const SEVEN_B = [32, 20, 11008] as const;
const SEVEN_B_METRICS = ["label", "loss", "confidence"];

/** The demo model's shape (read from its config, so a retrained demo is measured as it is) at the default prompt length. */
function demoShape(): { layers: number; positions: number; neurons: number } {
  const config = JSON.parse(readFileSync(join(ROOT, "demo/model/config.json"), "utf8")) as { n_layer: number; n_inner: number };
  return { layers: config.n_layer, positions: RUN_DEFAULTS.promptLength, neurons: config.n_inner };
}

/** The sentiment task's metrics, as a demo shard's partial carries them. */
const DEMO_METRICS = ["label", "label=positive", "label=negative", "negated", "loss", "confidence", "correct"];

/** A demo shard's encoded `done` with its partial statistics (its size does not depend on the shard's samples). */
export function demoPartialFrame(): { frame: Uint8Array; shape: string } {
  const { layers, positions, neurons } = demoShape();
  const stats = shardStats(layers, positions, neurons, DEMO_METRICS, 2, Rng.fromSeed(3));
  return { frame: encodeFrame({ type: "done", partial: { stats: stats.toSnapshot() } }), shape: `${layers} layers x ${neurons} neurons x ${positions} positions x ${DEMO_METRICS.length} metrics` };
}

/** A 7B-shaped shard's encoded `done` (32 x 11008 x 20, 3 metrics; about 310 MiB) from `samples` random samples, and the seconds streaming them took. */
export function sevenBPartial(samples = 2): { frame: Uint8Array; streamSeconds: number } {
  const [layers, positions, neurons] = SEVEN_B;
  const t0 = performance.now();
  const stats = shardStats(layers, positions, neurons, SEVEN_B_METRICS, samples, Rng.fromSeed(11));
  const streamSeconds = (performance.now() - t0) / 1000;
  return { frame: encodeFrame({ type: "done", partial: { stats: stats.toSnapshot() } }), streamSeconds };
}

/** What the server does with a 7B shard's arrival, `shards` times: the encoded result (read from a file, as it would come from the broker), decoded and merged. */
export function mergeSevenB(frameFile: string, shards: number): { decodeSeconds: number; mergeSeconds: number; count: number } {
  const [layers, positions, neurons] = SEVEN_B;
  const server = new StreamingStats({ layers, positions, neurons, metrics: SEVEN_B_METRICS });
  let decodeSeconds = 0;
  let mergeSeconds = 0;
  for (let s = 0; s < shards; s++) {
    const t0 = performance.now();
    const bytes = readFileSync(frameFile);
    const done = decodeFrame<{ type: "done"; partial: { stats: StatsSnapshot } }>(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const t1 = performance.now();
    server.merge(done.partial.stats);
    mergeSeconds += (performance.now() - t1) / 1000;
    decodeSeconds += (t1 - t0) / 1000;
  }
  return { decodeSeconds, mergeSeconds, count: server.count(0) };
}

function demoBytes(notes: string[]): BenchResult["figures"] {
  const shardSize = 150;
  const { layers, positions, neurons } = demoShape();
  const { frame, shape } = demoPartialFrame();
  const perSample = frame.byteLength / shardSize;
  const activations = layers * positions * neurons * 4;
  notes.push(`a demo shard's partial is ${(frame.byteLength / 2 ** 20).toFixed(1)} MiB whatever its size (O(layers x positions x neurons x metrics): ${shape}); per sample for a ${shardSize}-sample shard`);
  return [{ label: "bytes to the server per sample (partials)", ours: perSample, peer: "activations through the server", peerValue: activations, unit: "B", ratio: activations / perSample }];
}

/** Runs bench/seven-b.js in a fresh node process (so its peak RSS is its own); resolves with its JSON answer. */
function sevenBChild(args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SEVEN_B_CHILD, ...args], { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`seven-b ${args.join(" ")} failed: ${stderr}`));
      resolve(JSON.parse(stdout) as Record<string, number>);
    });
  });
}

/**
 * The server's side of a 7B-shaped run in `shards` shards: one runner process builds a shard's
 * partial (2 samples by default) and writes its encoded `done`; a fresh server process receives it
 * `shards` times, decoding and merging each before the next (as server/queue's pool does: one result
 * at a time), and reports its peak RSS.
 */
async function sevenB(notes: string[]): Promise<BenchResult["figures"]> {
  const shards = Number(process.env.SKILLSCOPE_BENCH_SHARDS ?? 64);
  const perShard = Number(process.env.SKILLSCOPE_BENCH_SHARD_SAMPLES ?? 2);
  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-7b-"));
  try {
    const frameFile = join(dir, "partial.skr");
    const shard = await sevenBChild(["shard", frameFile, String(perShard)]);
    const t0 = performance.now();
    const server = await sevenBChild(["server", frameFile, String(shards)]);
    const wall = (performance.now() - t0) / 1000;
    if (server.count !== shards * perShard) throw new Error(`merged count ${server.count}, expected ${shards * perShard}`);
    const gib = (b: number) => (b / 2 ** 30).toFixed(2);
    notes.push(`7B shape 32 x 11008 x 20, ${SEVEN_B_METRICS.length} metrics, ${shards} shards of ${perShard} samples: one partial is ${(shard.frameBytes / 2 ** 20).toFixed(0)} MiB encoded (the merged statistics have the same shape); the server process (fresh, merging one result at a time) peaked at ${gib(server.peakRss)} GiB RSS over ${shards} merges (${wall.toFixed(0)} s wall, decode ${(server.decodeSeconds / shards).toFixed(2)} s/shard incl. reading the file)`);
    notes.push(`merging is O(neurons x metrics) per shard whatever the shard's size; streaming is O(samples x neurons x metrics), so the ratio grows with the samples per shard (${perShard} here)`);
    return [
      { label: `7B merge, ${shards} shards`, ours: server.mergeSeconds / shards, peer: `streaming ${perShard} samples/shard`, peerValue: shard.streamSeconds, unit: "s/shard", ratio: shard.streamSeconds / (server.mergeSeconds / shards) },
      { label: `7B server peak RSS, ${shards} shards`, ours: server.peakRss / 2 ** 30, peer: "one partial's bytes", peerValue: shard.frameBytes / 2 ** 30, unit: "GiB", ratio: shard.frameBytes / server.peakRss },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchScaleout(): Promise<BenchResult> {
  const notes: string[] = [];
  const figures = [...(await demoRunners(notes)), ...demoBytes(notes), ...(await sevenB(notes))];
  return { name: "scaleout", figures, notes };
}
