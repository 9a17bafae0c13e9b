/**
 * Scale-out bench (`npm run bench -- scaleout`):
 * 1. wall time of `skillscope run --runners 2` against the one-runner run on the demo model (sentiment
 *    task, same seed; both summaries must agree, so the comparison is of the same work);
 * 2. bytes a shard runner sends the server per sample (its encoded partial) against the activation
 *    bytes one runner streams through the server, for the demo's shape;
 * 3. a 7B-shaped run (32 layers x 11008 neurons x 20 positions) in 64 shards: the server's merge time
 *    and peak RSS against streaming the same samples through one StreamingStats.
 * SKILLSCOPE_BENCH_SHARDS (default 64) and SKILLSCOPE_BENCH_SHARD_SAMPLES (default 2) size part 3.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeFrame } from "../gpu-runner/runner/codec.js";
import { StreamingStats } from "../server/analysis/index.js";
import { Rng } from "../gpu-runner/train/rng.js";
import { RUN_DEFAULTS } from "../server/runs/run-options.js";
import type { BenchResult } from "./result.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = fileURLToPath(new URL("../clients/cli/main.js", import.meta.url));

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

/** A 7B-shaped shard's encoded `done` (32 x 11008 x 20, 3 metrics): about 310 MiB. */
export function sevenBPartialFrame(): Uint8Array {
  const [layers, positions, neurons] = SEVEN_B;
  return encodeFrame({ type: "done", partial: { stats: shardStats(layers, positions, neurons, SEVEN_B_METRICS, 2, Rng.fromSeed(11)).toSnapshot() } });
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

async function sevenB(notes: string[]): Promise<BenchResult["figures"]> {
  const shards = Number(process.env.SKILLSCOPE_BENCH_SHARDS ?? 64);
  const perShard = Number(process.env.SKILLSCOPE_BENCH_SHARD_SAMPLES ?? 2);
  const [layers, positions, neurons] = SEVEN_B;
  const metrics = SEVEN_B_METRICS;
  const rng = Rng.fromSeed(11);
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const server = new StreamingStats({ layers, positions, neurons, metrics });
  let mergeSeconds = 0;
  let streamSeconds = 0;
  let frameBytes = 0;
  for (let s = 0; s < shards; s++) {
    // the shard's own work (what a runner does): stream its samples; the same cost one runner would pay on the server
    const t0 = performance.now();
    const partial = shardStats(layers, positions, neurons, metrics, perShard, rng);
    streamSeconds += (performance.now() - t0) / 1000;
    const snap = partial.toSnapshot();
    if (s === 0) frameBytes = encodeFrame({ type: "done", partial: { stats: snap } }).byteLength;
    const t1 = performance.now();
    server.merge(snap);
    mergeSeconds += (performance.now() - t1) / 1000;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  if (server.count(0) !== shards * perShard) throw new Error(`merged count ${server.count(0)}, expected ${shards * perShard}`);
  notes.push(`7B shape 32 x 11008 x 20, ${metrics.length} metrics, ${shards} shards of ${perShard} samples: one partial is ${(frameBytes / 2 ** 20).toFixed(0)} MiB on the wire; server peak RSS ${((peak) / 2 ** 30).toFixed(2)} GiB (${((peak - rss0) / 2 ** 30).toFixed(2)} GiB above start) holding its statistics plus one incoming partial`);
  notes.push(`merging is O(neurons x metrics) per shard whatever the shard's size; streaming is O(samples x neurons x metrics), so the ratio grows with the samples per shard (${perShard} here)`);
  return [
    { label: `7B merge, ${shards} shards`, ours: mergeSeconds / shards, peer: `streaming ${perShard} samples/shard`, peerValue: streamSeconds / shards, unit: "s/shard", ratio: streamSeconds / mergeSeconds },
  ];
}

export async function benchScaleout(): Promise<BenchResult> {
  const notes: string[] = [];
  const figures = [...(await demoRunners(notes)), ...demoBytes(notes), ...(await sevenB(notes))];
  return { name: "scaleout", figures, notes };
}
