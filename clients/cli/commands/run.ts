/**
 * `run`: registers the model, imports the task, starts a run and follows it to the end, then
 * prints its figures and top neurons per metric.
 */
import { neuronId } from "../../../gpu-runner/neuron-id.js";
import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Command } from "commander";
import type { GraphQLTransport } from "../../client/client.js";
import {
  CancelRunDocument,
  ImportTaskDocument,
  ModelsDocument,
  RegisterModelDocument,
  RunSummaryDocument,
  StartRunDocument,
  TopNeuronsDocument,
} from "../../client/documents.js";
import { action, collect, connectionOptions, examples, int, intList, positive, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";
import { RUN_DEFAULTS } from "../../../server/runs/run-options.js";
import { CliError } from "../errors.js";
import { followRun } from "../follow.js";
import { fmtR, table } from "../format.js";
import { progressView } from "../progress.js";

interface RunCommandOptions extends ConnectionOptions {
  model: string;
  task: string;
  template: string;
  verbalizer?: string;
  metric?: string[];
  promptLength?: number;
  steps?: number;
  lr?: number;
  batch?: number;
  seed?: number;
  layers?: number[];
  valFraction?: number;
  top: number;
  json?: boolean;
  runners?: number;
  lake?: string;
  lakeF16?: boolean;
}

/** The `--json` result of `run`. */
export interface RunResult {
  runId: string;
  trainLoss: number | null;
  /** The training step whose prompt was kept (best dev loss) and extracted with. */
  keptPromptStep: number | null;
  trainedSteps: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  samples: number | null;
  top: { metric: string; layer: number; neuron: number; position: number | null; r: number }[];
}


export function registerRunCommand(program: Command): void {
  const run = program
    .command("run")
    .description("train a soft prompt on a task, extract FFN activations, correlate every neuron with the task's metrics")
    .requiredOption("--model <dir>", "Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json); with --server, a folder on the server inside its --model-root")
    .requiredOption("--task <file>", "task rows: .jsonl, .csv or .parquet (id, input fields, answer and/or label, split); with --server, a file on the server inside its --task-root")
    .option("--template <text>", "instruction template with {field} placeholders", "{text}")
    .option("--verbalizer <json>", 'label -> answer text, e.g. \'{"0":"negative","1":"positive"}\'')
    .option("--metric <name>", "score this metric (repeatable; default: every metric of the task)", collect)
    .option("--prompt-length <n>", `soft prompt tokens (default ${RUN_DEFAULTS.promptLength})`, int(1))
    .option("--steps <n>", `optimizer steps (default ${RUN_DEFAULTS.steps})`, int(1))
    .option("--lr <x>", "Adam learning rate", positive)
    .option("--batch <b>", "training batch size", int(1))
    .option("--seed <s>", "seed of prompt init and batching", int(0))
    .option("--layers <list>", "layers to record, e.g. 0,1 (default: all)", intList)
    .option("--val-fraction <x>", "share of rows without a split that go to validation", positive)
    .option("--top <k>", "top neurons per metric in the summary", int(1), 5)
    .option("--runners <n>", "embedded mode: local runners that extract shards of the validation set at once (training stays on one)", int(1))
    .option("--lake <dir>", "with --runners: the runners write activations as Parquet under this folder (or s3://bucket/prefix via DuckDB httpfs) instead of sending them to the database")
    .option("--lake-f16", "with --lake: round activations to float16 precision (smaller files)")
    .option("--json", "print the result as JSON (progress still goes to stderr)");
  examples(
    connectionOptions(run),
    `skillscope run --model ./models/gpt2 --task sst.jsonl --template "Review: {text}" --verbalizer '{"0":"negative","1":"positive"}' --steps 100`,
    "skillscope run --model ./models/gpt2 --task arith.csv --template \"{a} * {b} =\" --layers 0,1 --json",
    "skillscope run --model ./models/gpt2 --task arith.csv --template \"{a} * {b} =\" --runners 2 --json",
  );
  run.action(
    action<RunCommandOptions>(async (o) => {
      const modelDir = resolve(o.model);
      const taskFile = resolve(o.task);
      if (o.server === undefined) {
        if (!existsSync(modelDir)) throw new CliError(`--model ${o.model}: no such folder`);
        if (!existsSync(taskFile)) throw new CliError(`--task ${o.task}: no such file`);
      }
      const verbalizer = o.verbalizer === undefined ? null : parseVerbalizer(o.verbalizer);
      if (o.runners !== undefined && o.server !== undefined) throw new CliError("--runners applies to embedded runs; a server's runners are its queue's (skillscope serve --queue URL)");
      if (o.lake !== undefined && o.runners === undefined) throw new CliError("--lake applies with --runners N (the lake is where the runners write)");
      if (o.lakeF16 && o.lake === undefined) throw new CliError("--lake-f16 applies with --lake DIR");
      const lake = o.lake === undefined ? undefined : { location: /^[a-z0-9]+:\/\//.test(o.lake) ? o.lake : resolve(o.lake), f16: o.lakeF16 ?? false };
      const scope = { modelRoots: [modelDir], taskRoots: [dirname(taskFile)], runners: o.runners, lake };
      const result = await withConnection(o, scope, async ({ transport, mode }) => {
        // A folder registered before is reused, so repeated runs do not pile up model records.
        const { models } = await transport.execute(ModelsDocument);
        const model = models.find((m) => m.path === modelDir) ?? (await transport.execute(RegisterModelDocument, { path: modelDir })).registerModel;
        const { importTask: task } = await transport.execute(ImportTaskDocument, {
          input: { name: basename(taskFile), path: taskFile, template: o.template, verbalizer, ...(o.valFraction !== undefined ? { valFraction: o.valFraction } : {}) },
        });
        if (task.val === 0) throw new CliError(`--task ${o.task}: no validation rows; give rows split "val" or a --val-fraction`);
        const { startRun } = await transport.execute(StartRunDocument, {
          modelId: model.id,
          taskId: task.id,
          options: {
            promptLength: o.promptLength,
            steps: o.steps,
            lr: o.lr,
            batchSize: o.batch,
            seed: o.seed,
            layers: o.layers,
            metrics: o.metric,
          },
        });
        const runId = startRun.id;
        process.stderr.write(`run ${runId}: model ${model.id} (${model.family}), task ${task.id} (${task.train} train / ${task.val} val rows)\n`);
        const view = progressView({ tty: process.stderr.isTTY === true && !o.json, totalSteps: o.steps ?? RUN_DEFAULTS.steps });
        const final = await followUntilDone(transport, runId, mode, view);
        if (final.status !== "DONE") throw new CliError(`run ${runId} ${final.status.toLowerCase()}${final.error ? `: ${final.error}` : ""}`);
        return summarize(transport, runId, o.metric, o.top);
      });
      if (o.json) {
        printJson(result);
        return;
      }
      process.stdout.write(
        `run ${result.runId} done: train loss ${num(result.trainLoss)}, prompt kept from step ${result.keptPromptStep ?? "-"} of ${result.trainedSteps ?? "-"} (best dev loss), ` +
          `val loss ${num(result.valLoss)}, val accuracy ${num(result.valAccuracy)}, ${result.samples ?? "-"} samples\n`,
      );
      process.stdout.write(table(["metric", "neuron", "r", "position"], result.top.map((t) => [t.metric, neuronId(t.layer, t.neuron), fmtR(t.r), t.position])));
    }),
  );
}

/**
 * Follows the run; Ctrl-C cancels it in embedded mode (this process runs it) and detaches in
 * remote mode (the run goes on on the server).
 */
async function followUntilDone(transport: GraphQLTransport, runId: string, mode: "remote" | "embedded", view: ReturnType<typeof progressView>) {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    if (mode === "embedded") {
      process.stderr.write(`\ncancelling run ${runId}…\n`);
      void transport.execute(CancelRunDocument, { id: runId }).catch((e: Error) => process.stderr.write(`cancel failed: ${e.message}\n`));
    } else {
      process.stderr.write(`\nstopped following run ${runId}; it continues on the server\n`);
      void transport.close();
    }
  };
  process.on("SIGINT", onSignal);
  try {
    return await followRun(transport, runId, view);
  } catch (error) {
    if (interrupted && mode === "remote") throw new CliError(`stopped following run ${runId} (still running on the server)`);
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
  }
}

/** The finished run's figures and its top neurons for each metric. */
async function summarize(transport: GraphQLTransport, runId: string, metrics: string[] | undefined, k: number): Promise<RunResult> {
  const { run } = await transport.execute(RunSummaryDocument, { id: runId });
  const train = (run.trainFigures ?? {}) as { finalLoss?: number };
  const val = (run.valFigures ?? {}) as { meanLoss?: number; accuracy?: number; samples?: number };
  const top: RunResult["top"] = [];
  for (const metric of metrics ?? run.metrics.map((m) => m.name)) {
    const page = await transport.execute(TopNeuronsDocument, { runId, metric, layer: null, first: k, aggregate: "MAX_ABS_OVER_POSITIONS" });
    for (const { node } of page.neurons.edges) top.push({ metric, layer: node.layer, neuron: node.index, position: node.bestPosition ?? null, r: node.r });
  }
  return {
    runId,
    trainLoss: train.finalLoss ?? null,
    keptPromptStep: run.keptPromptStep ?? null,
    trainedSteps: run.trainedSteps ?? null,
    valLoss: val.meanLoss ?? null,
    valAccuracy: val.accuracy ?? null,
    samples: val.samples ?? null,
    top,
  };
}

function parseVerbalizer(text: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--verbalizer is not JSON (${(error as Error).message}); write e.g. '{"0":"negative","1":"positive"}'`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v) || !Object.values(v).every((s) => typeof s === "string")) {
    throw new CliError('--verbalizer must be a JSON object of label -> answer text, e.g. \'{"0":"negative","1":"positive"}\'');
  }
  return v as Record<string, string>;
}

function num(x: number | null): string {
  return x === null ? "-" : x.toFixed(4);
}
