import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { createSession, loadModel, type Device } from "../../gpu-runner/models/session.js";

export interface ForwardOptions {
  model: string;
  ids?: string;
  text?: string;
  softPrompt?: string;
  insertAt?: string;
  gradLast?: string;
  device?: string;
  threads?: string;
}

/** JSON printed by `skillscope forward --json`. */
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

/** A user error: printed as one line, exit code 1. */
export class ForwardError extends Error {
  override readonly name = "ForwardError";
}

function int(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new ForwardError(`${flag} must be an integer >= ${min}, got "${value}"`);
  return v;
}

function readSoftPrompt(file: string, dModel: number): { n: number; data: Float32Array } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ForwardError(`--soft-prompt ${file}: cannot read a JSON array (${(e as Error).message})`);
  }
  if (!Array.isArray(json) || json.length === 0) throw new ForwardError(`--soft-prompt ${file}: expected a non-empty n x ${dModel} array`);
  const data = new Float32Array(json.length * dModel);
  json.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== dModel || !row.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new ForwardError(`--soft-prompt ${file}: row ${i} must be ${dModel} finite numbers (d_model)`);
    }
    data.set(row as number[], i * dModel);
  });
  return { n: json.length, data };
}

/** Runs one sequence through the model and returns the `--json` object. */
export async function runForward(opts: ForwardOptions): Promise<ForwardOutput> {
  if ((opts.ids === undefined) === (opts.text === undefined)) throw new ForwardError("give exactly one of --ids or --text");
  const device = (opts.device ?? "cpu") as Device;
  if (device !== "cpu" && device !== "cuda") throw new ForwardError(`--device must be cpu or cuda, got "${opts.device}"`);
  const model = loadModel(opts.model, { device, threads: int(opts.threads, "--threads", 1) });
  const c = model.config;
  let ids: number[];
  if (opts.ids !== undefined) {
    ids = opts.ids.split(",").map((s) => {
      const v = Number(s.trim());
      if (s.trim() === "" || !Number.isInteger(v)) throw new ForwardError(`--ids must be comma-separated integers, got "${s}"`);
      return v;
    });
  } else {
    if (!model.tokenizer) throw new ForwardError(`--text needs tokenizer.json in ${opts.model}; pass --ids instead`);
    ids = await model.tokenizer.encode(opts.text!);
  }
  const soft = opts.softPrompt !== undefined ? readSoftPrompt(opts.softPrompt, c.dModel) : undefined;
  const insertAt = int(opts.insertAt, "--insert-at", 0);
  if (soft && insertAt === undefined) throw new ForwardError("--soft-prompt needs --insert-at K");
  if (!soft && insertAt !== undefined) throw new ForwardError("--insert-at needs --soft-prompt");
  const gradLast = int(opts.gradLast, "--grad-last", 1);
  const n = soft?.n ?? 0;
  const session = await createSession(model, {
    softPromptLength: n, taps: "all", tapPositions: "all", logits: "all",
    withLoss: gradLast !== undefined, withPromptGrad: gradLast !== undefined && n > 0,
  });
  try {
    const r = await session.run({ sequences: [{ ids, insertAt, lossLast: gradLast }], softPrompt: soft?.data });
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

/** Registers `skillscope forward` on the CLI program. */
export function registerForward(program: Command): void {
  program
    .command("forward")
    .description("run a model on one input and print logits and FFN neuron activations (all layers, all positions)")
    .requiredOption("--model <dir>", "Hugging Face model folder (config.json, *.safetensors, tokenizer.json)")
    .option("--ids <list>", "comma-separated token ids, e.g. 5,17,3")
    .option("--text <text>", "text to tokenize with the model's tokenizer.json (no special tokens)")
    .option("--soft-prompt <file>", "JSON n x d_model array of soft prompt vectors")
    .option("--insert-at <K>", "insert the soft prompt after the first K tokens")
    .option("--grad-last <N>", "add loss (mean CE of the last N tokens) and the soft prompt gradient")
    .option("--device <device>", "cpu or cuda", "cpu")
    .option("--threads <n>", "intra-op threads")
    .option("--json", "print JSON (the only output format)", true)
    .action(async (opts: ForwardOptions) => {
      try {
        process.stdout.write(JSON.stringify(await runForward(opts)) + "\n");
      } catch (e) {
        process.stderr.write(`skillscope forward: ${(e as Error).message.split("\n")[0]}\n`);
        process.exitCode = 1;
      }
    });
}
