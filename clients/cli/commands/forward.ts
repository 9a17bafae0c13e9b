/**
 * `forward`: one input through a local model, printing logits and FFN neuron activations (all
 * layers, all positions). It runs the model graph directly (gpu-runner), not through the server.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { createSession, loadModel, type Device } from "../../../gpu-runner/models/session.js";
import type { ComputeDtype } from "../../../gpu-runner/models/spec.js";
import { action, examples, int, intList, oneOf, printJson } from "../command-kit.js";
import { CliError } from "../errors.js";

export interface ForwardOptions {
  model: string;
  ids?: number[];
  text?: string;
  softPrompt?: string;
  insertAt?: number;
  gradLast?: number;
  device?: Device;
  compute?: ComputeDtype;
  threads?: number;
  json?: boolean;
}

/** What `skillscope forward --json` prints. */
export interface ForwardOutput {
  ids: number[];
  /** [T][V] over the full sequence (soft positions included). */
  logits: number[][];
  /** [L][T][F], layer-major. */
  ffn: number[][][];
  loss?: number;
  /** [n][d_model] */
  promptGrad?: number[][];
}

function readSoftPrompt(file: string, dModel: number): { n: number; data: Float32Array } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new CliError(`--soft-prompt ${file}: cannot read a JSON array (${(e as Error).message})`);
  }
  if (!Array.isArray(json) || json.length === 0) throw new CliError(`--soft-prompt ${file}: expected a non-empty n x ${dModel} array`);
  const data = new Float32Array(json.length * dModel);
  json.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== dModel || !row.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new CliError(`--soft-prompt ${file}: row ${i} must be ${dModel} finite numbers (d_model)`);
    }
    data.set(row as number[], i * dModel);
  });
  return { n: json.length, data };
}

/** Runs one sequence through the model and returns the `--json` object. */
export async function runForward(opts: ForwardOptions): Promise<ForwardOutput> {
  if ((opts.ids === undefined) === (opts.text === undefined)) throw new CliError("give exactly one of --ids or --text");
  const model = loadModel(opts.model, { device: opts.device ?? "cpu", compute: opts.compute ?? "f32", threads: opts.threads });
  const c = model.config;
  let ids: number[];
  if (opts.ids !== undefined) ids = opts.ids;
  else {
    if (!model.tokenizer) throw new CliError(`--text needs tokenizer.json in ${opts.model}; pass --ids instead`);
    ids = await model.tokenizer.encode(opts.text!);
  }
  const soft = opts.softPrompt !== undefined ? readSoftPrompt(opts.softPrompt, c.dModel) : undefined;
  if (soft && opts.insertAt === undefined) throw new CliError("--soft-prompt needs --insert-at K");
  if (!soft && opts.insertAt !== undefined) throw new CliError("--insert-at needs --soft-prompt");
  const gradLast = opts.gradLast;
  const n = soft?.n ?? 0;
  const session = await createSession(model, {
    softPromptLength: n, taps: "all", tapPositions: "all", logits: "all",
    withLoss: gradLast !== undefined, withPromptGrad: gradLast !== undefined && n > 0,
  });
  try {
    const r = await session.run({ sequences: [{ ids, insertAt: opts.insertAt, lossLast: gradLast }], softPrompt: soft?.data });
    const T = r.layout.seqLen;
    const rows = (a: Float32Array, width: number, count: number, start = 0) =>
      Array.from({ length: count }, (_, i) => Array.from(a.subarray(start + i * width, start + (i + 1) * width)));
    const out: ForwardOutput = {
      ids,
      logits: rows(r.logits!, c.vocabSize, T),
      ffn: session.tapLayers.map((l) => rows(r.ffn.get(l)!, c.dFF, T)),
    };
    if (r.loss !== undefined) out.loss = r.loss;
    if (r.promptGrad) out.promptGrad = rows(r.promptGrad, c.dModel, n);
    return out;
  } finally {
    await session.release();
  }
}

/** A few lines for people: shapes, the last position's top token, the loss. */
function summary(out: ForwardOutput): string {
  const last = out.logits.at(-1) ?? [];
  const top = last.reduce((best, v, i) => (v > last[best]! ? i : best), 0);
  const lines = [
    `ids: ${out.ids.join(",")}`,
    `positions ${out.logits.length}, layers ${out.ffn.length}, d_ff ${out.ffn[0]?.[0]?.length ?? 0}`,
    `last position: top token ${top} (logit ${last[top]?.toFixed(4)})`,
  ];
  if (out.loss !== undefined) lines.push(`loss: ${out.loss.toFixed(6)}`);
  if (out.promptGrad) lines.push(`soft prompt gradient: ${out.promptGrad.length} x ${out.promptGrad[0]?.length ?? 0} (in --json)`);
  return `${lines.join("\n")}\nlogits and FFN activations: add --json\n`;
}

/** Registers `skillscope forward` on the CLI program. */
export function registerForwardCommand(program: Command): void {
  const forward = program
    .command("forward")
    .description("run a local model on one input and print logits and FFN neuron activations (all layers, all positions)")
    .requiredOption("--model <dir>", "Hugging Face model folder (config.json, *.safetensors, tokenizer.json)")
    .option("--ids <list>", "comma-separated token ids, e.g. 5,17,3", intList)
    .option("--text <text>", "text to tokenize with the model's tokenizer.json (no special tokens)")
    .option("--soft-prompt <file>", "JSON n x d_model array of soft prompt vectors")
    .option("--insert-at <K>", "insert the soft prompt after the first K tokens", int(0))
    .option("--grad-last <N>", "add loss (mean CE of the last N tokens) and the soft prompt gradient", int(1))
    .option("--device <device>", "cpu or cuda", oneOf("cpu", "cuda"), "cpu")
    .option("--compute <precision>", "f32, or f16: matrix products in half (weights held as float16), norms, softmax and loss in float32", oneOf("f32", "f16"), "f32")
    .option("--threads <n>", "intra-op threads", int(1))
    .option("--json", "print JSON: ids, logits [T][V], ffn [L][T][F], loss, promptGrad");
  examples(forward, 'skillscope forward --model test/fixtures/models/gpt2-tiny --text "the cat sat" --json');
  forward.action(
    action<ForwardOptions>(async (o) => {
      const out = await runForward(o);
      if (o.json) printJson(out);
      else process.stdout.write(summary(out));
    }),
  );
}
