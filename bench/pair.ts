/**
 * Our side of the forward + gradient pair on a real-shaped checkpoint, the same inputs as
 * bench/peers/llama_pair_peer.py (4 rows of 84 ids, a 20-vector prompt after token 60, loss on the
 * last 4 tokens): two runs of each session, then the loss, the gradient's first values, the seconds
 * of each call and the peak RSS. Run it under /usr/bin/time -v for the process's own peak:
 *   node dist/bench/pair.js MODEL_DIR [THREADS] [stored|float32]
 */
import { readFileSync } from "node:fs";
import { createSession, loadModel } from "../gpu-runner/models/index.js";
import type { WeightPrecision } from "../gpu-runner/models/weights.js";

const [dir, threads = "2", weights = "stored"] = process.argv.slice(2);
if (!dir) throw new Error("usage: node dist/bench/pair.js MODEL_DIR [THREADS] [stored|float32]");
const model = loadModel(dir, { threads: Number(threads), weights: weights as WeightPrecision });
const d = model.config.dModel;
const sequences = Array.from({ length: 4 }, (_, b) => ({ ids: Array.from({ length: 84 }, (_, i) => (i * 7919 + b * 13) % 150000), insertAt: 60, lossLast: 4 }));
const softPrompt = Float32Array.from({ length: 20 * d }, (_, i) => Math.sin(i) * 0.02);
const out: Record<string, unknown> = { weights };
const forward = await createSession(model, { softPromptLength: 20, withLoss: true });
const grad = await createSession(model, { softPromptLength: 20, withPromptGrad: true });
for (let r = 0; r < 2; r++) {
  let t = performance.now();
  out.loss = (await forward.run({ sequences, softPrompt })).loss;
  out[`forwardSeconds${r}`] = (performance.now() - t) / 1000;
  t = performance.now();
  const g = await grad.run({ sequences, softPrompt });
  out[`stepSeconds${r}`] = (performance.now() - t) / 1000;
  out.grad = Array.from(g.promptGrad!.subarray(0, 3));
}
out.peakRssMb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
console.log(JSON.stringify(out));
