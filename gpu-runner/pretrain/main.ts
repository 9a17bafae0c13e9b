/**
 * `npm run pretrain`: writes the demo task files, pretrains the demo GPT-2 on the synthetic
 * corpus, writes it as a Hugging Face checkpoint and reports greedy accuracy per task.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { DEMO_SHAPE, type FfnActivation, type Gpt2Shape } from "./gpt2-params.js";
import { writeCheckpoint } from "./checkpoint.js";
import { lossCurve, lossCurveSvg } from "./curve.js";
import { LogitsRunner, taskAccuracy, type TaskAccuracy } from "./evaluate.js";
import { DEFAULT_CORPUS, type CorpusOptions } from "./corpus.js";
import { DEFAULT_PRETRAIN, pretrain } from "./pretrain.js";
import { arithRows, nliRows, sentimentRows, writeTaskFiles } from "./tasks.js";
import { WordCodec } from "./tokenizer.js";

function int(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a number >= 0");
  return n;
}

function unitInterval(v: string): number {
  const n = nonNegative(v);
  if (n > 1) throw new InvalidArgumentError("expected a number in [0, 1]");
  return n;
}

function activation(v: string): FfnActivation {
  if (v !== "gelu_new" && v !== "relu") throw new InvalidArgumentError("expected gelu_new or relu");
  return v;
}

const program = new Command()
  .name("pretrain")
  .description("Pretrain skillscope's demo GPT-2 on its synthetic corpus (a broad background mixture with arithmetic, NLI and sentiment a quarter of it) and write it as a Hugging Face checkpoint")
  .option("--seed <n>", "seed for parameters, corpus and task files", int(0), 1)
  .option("--steps <n>", "optimizer steps", int(1), DEFAULT_PRETRAIN.steps)
  .option("--batch <n>", "rows of packed documents per step", int(1), DEFAULT_PRETRAIN.batch)
  .option("--lr <x>", "peak learning rate", positive, DEFAULT_PRETRAIN.lr)
  .option("--d-ff <n>", "FFN neurons per layer", int(1), DEMO_SHAPE.dFF)
  .option("--activation <name>", "FFN activation: gelu_new or relu", activation, DEMO_SHAPE.activation ?? "gelu_new")
  .option("--attn-window <n>", "positions each query attends to, itself included (0: full causal attention)", int(0), DEMO_SHAPE.attnWindow ?? 0)
  .option("--ffn-l1 <x>", "weight of the L1 penalty on FFN activations (0: none)", nonNegative, DEFAULT_PRETRAIN.ffnL1)
  .option("--question-rate <x>", "share of filled sentiment and NLI documents that ask about the input instead of the label", unitInterval, DEFAULT_CORPUS.questionRate)
  .option("--threads <n>", "ONNX Runtime intra-op threads (default: ORT's choice)", int(1))
  .option("--out <dir>", "checkpoint folder to write", "demo/model")
  .option("--tasks <dir>", "folder for the demo task files", "demo/tasks")
  .option("--log-every <n>", "progress line every n steps", int(1), 25)
  .option("--no-eval", "skip the greedy accuracy report");

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{ seed: number; steps: number; batch: number; lr: number; ffnL1: number; dFf: number; attnWindow: number; activation: FfnActivation; questionRate: number; threads?: number; out: string; tasks: string; logEvery: number; eval: boolean }>();
  const codec = new WordCodec();
  const shape: Gpt2Shape = { ...DEMO_SHAPE, vocabSize: codec.vocabSize, dFF: o.dFf, activation: o.activation, attnWindow: o.attnWindow || undefined };
  const corpus: CorpusOptions = { ...DEFAULT_CORPUS, questionRate: o.questionRate };
  const tasksDir = resolve(o.tasks);
  mkdirSync(tasksDir, { recursive: true });
  const taskFiles = writeTaskFiles(tasksDir, o.seed);
  console.log(`wrote ${taskFiles.join(", ")} to ${tasksDir}`);
  console.log(`model: gpt2 ${shape.nLayers} layers, d_model ${shape.dModel}, ${shape.nHeads} heads, d_ff ${shape.dFF} (${shape.activation ?? "gelu_new"}), vocab ${shape.vocabSize}, n_positions ${shape.nPositions}, attention ${shape.attnWindow ? `window ${shape.attnWindow}` : "full"}`);

  const result = await pretrain(shape, codec, {
    ...DEFAULT_PRETRAIN, seed: o.seed, steps: o.steps, batch: o.batch, lr: o.lr, ffnL1: o.ffnL1, corpus, threads: o.threads,
    onStep: (s) => {
      if (s.step % o.logEvery !== 0 && s.step !== s.steps && s.step !== 1) return;
      const eta = (s.elapsedSec / s.step) * (s.steps - s.step);
      console.log(`step ${s.step}/${s.steps}  loss ${s.loss.toFixed(4)}  ffn |a| ${s.ffnL1.toFixed(4)}  lr ${s.lr.toExponential(2)}  |g| ${s.gradNorm.toFixed(2)}  ` +
        `${Math.round(s.tokens / s.elapsedSec)} tok/s  ${s.elapsedSec.toFixed(0)}s elapsed, eta ${eta.toFixed(0)}s`);
    },
  });
  const tail = result.losses.slice(-50);
  const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
  console.log(`trained ${o.steps} steps (${result.tokens} tokens) in ${result.seconds.toFixed(1)}s; mean loss of the last ${tail.length} steps ${finalLoss.toFixed(4)}`);

  const accuracies: TaskAccuracy[] = [];
  if (o.eval) {
    const runner = await LogitsRunner.create(shape, result.params, 100, shape.nPositions, o.threads);
    try {
      for (const [task, rows] of [["sentiment", sentimentRows(o.seed + 1)], ["nli-hans", nliRows(o.seed + 2)], ["arith", arithRows(o.seed + 3)]] as const) {
        for (const gap of [0, 20]) {
          const acc = await taskAccuracy(runner, codec, task, rows, gap);
          accuracies.push(acc);
          const detail = Object.entries(acc.detail).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ");
          console.log(`val accuracy ${task}, ${gap} filler words: ${acc.accuracy.toFixed(3)} (n=${acc.n})${detail ? `; ${detail}` : ""}`);
        }
      }
    } finally {
      await runner.release();
    }
  }
  const out = resolve(o.out);
  const curve = lossCurve(result.losses, 25);
  const files = writeCheckpoint(out, shape, result.specs, result.params, {
    seed: o.seed, steps: o.steps, batch: o.batch, lr: o.lr, ffnL1: o.ffnL1, corpus, seconds: Math.round(result.seconds), tokens: result.tokens,
    finalLoss, lossCurve: curve, valAccuracy: accuracies.map((a) => ({ task: a.task, fillerGap: a.gap, n: a.n, accuracy: a.accuracy, ...a.detail })),
  });
  writeFileSync(join(out, "pretraining-loss.svg"), lossCurveSvg(curve, `demo GPT-2 pretraining, seed ${o.seed}: mean loss per 25 steps`));
  console.log(`wrote ${[...files, "pretraining-loss.svg"].join(", ")} to ${out}`);
}

main().catch((e: unknown) => {
  console.error(`pretrain: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
