/**
 * `probe`: a finished run's trained prompt on your inputs, and what chosen neurons read on them.
 * `explain`: the input features that best predict neurons on held-out samples. `find`: neurons by
 * what explains them.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import type { Command } from "commander";
import { ExplainNeuronsDocument, ProbeDocument, SearchNeuronsDocument } from "../../client/documents.js";
import type { NeuronExplanationFieldsFragment, ProbeQuery } from "../../client/generated/graphql.js";
import { action, collect, connectionOptions, examples, int, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";
import { CliError } from "../errors.js";
import type { LlmConfig } from "../../../server/explain/llm.js";
import { neuronId } from "../../../gpu-runner/neuron-id.js";
import { clip, fmtR, parseNeuronId, table } from "../format.js";

interface ProbeOptions extends ConnectionOptions {
  run: string;
  text?: string[];
  file?: string;
  samples?: string;
  raw?: boolean;
  answer?: string;
  neurons?: string;
  metric?: string;
  k: number;
  json?: boolean;
}

export function registerExplainCommands(program: Command): void {
  const probe = program
    .command("probe")
    .description("run a finished run's trained prompt on your inputs (in a worker) and show what its top neurons, or the ones you name, read on them")
    .requiredOption("--run <id>", "run id (a trained, scored run)")
    .option("--text <text>", "an input text; repeat for a list (fills the template's single field; the whole instruction with --raw)", collect)
    .option("--file <path>", "inputs: .jsonl or .csv rows in the task's format (fields, optional answer/label), or .txt with one text per line")
    .option("--samples <ids>", "comma-separated sample ids of the run's task (any split)")
    .option("--raw", "texts are whole instructions: do not apply the task's template")
    .option("--answer <text>", "gold answer text for every --text (gives gold probability, loss, correct)")
    .option("--neurons <ids>", "comma-separated neuron ids, e.g. L3.N232,L0.N7 (default: the metric's top --k)")
    .option("--metric <name>", "ranks the default neurons and picks each one's best position (default: label, else the run's first metric)")
    .option("--k <n>", "how many top neurons by default", int(1), 5)
    .option("--json", "print JSON");
  examples(
    connectionOptions(probe),
    'skillscope probe --run 1 --text "a wonderful, moving film" --text "a dull mess"',
    "skillscope probe --run 2 --metric lexical_overlap --k 3 --file my-pairs.jsonl",
    'skillscope probe --run 3 --raw --text "Q: 25 * 40 =" --neurons L3.N192 --json',
  );
  registerProbeAction(probe);

  const explain = program
    .command("explain")
    .description("explain neurons offline: the input features that best predict each one's activation at its best position, scored on held-out samples (stored for `find`)")
    .requiredOption("--run <id>", "run id (a trained, scored run whose task has samples outside the validation split)")
    .option("--neurons <ids>", "comma-separated neuron ids (default: the metric's top --k)")
    .option("--metric <name>", "picks the default neurons and each one's best position (default: label, else the run's first metric)")
    .option("--k <n>", "how many top neurons by default", int(1), 5)
    .option("--top <n>", "explanations per neuron", int(1), 3)
    .option("--llm", "with --server: also ask the LLM the server was started with (serve --llm-url)");
  llmOptions(explain).option("--json", "print JSON");
  examples(
    connectionOptions(explain),
    "skillscope explain --run 2 --metric lexical_overlap --k 3",
    "skillscope explain --run 3 --neurons L3.N192 --metric loss --top 5 --json",
    "SKILLSCOPE_LLM_KEY=sk-... skillscope explain --run 1 --k 3 --llm-url http://127.0.0.1:8000/v1 --llm-model Qwen2.5-7B-Instruct",
  );
  explain.action(
    action<ExplainOptions>(async (o) => {
      const llm = llmConfig(o);
      if (llm && o.server !== undefined) throw new CliError("--llm-url configures an LLM in this process; with --server, start the server with --llm-url and pass --llm");
      const { explainNeurons: found } = await withConnection(o, { llm }, ({ transport }) =>
        transport.execute(ExplainNeuronsDocument, { runId: o.run, neuronIds: neuronList(o.neurons), metric: o.metric ?? null, k: o.k, top: o.top, llm: llm !== undefined || o.llm === true }),
      );
      if (o.json) {
        printJson(found);
        return;
      }
      let last = "";
      for (const e of found) {
        if (e.neuronId !== last) process.stdout.write(`\n${e.neuronId} at position ${e.position} (metric ${e.metric}), ${e.heldOutSamples} held-out samples; ${o.server ?? ""}/${e.dashboardPath}\n`);
        last = e.neuronId;
        printExplanation(e);
      }
    }),
  );

  const find = program
    .command("find")
    .description("find neurons by what they do: stored explanations (from `explain`) by text, feature kind or driving word, in one run or all")
    .option("--run <id>", "one run (default: every run)")
    .option("--text <text>", "text in the explanation, e.g. digit, overlap, \"ends in 0\"")
    .option("--kind <kind>", "feature kind: word, bigram, word-set, metric, length, digit, overlap, llm")
    .option("--word <word>", "a word that drives the neuron")
    .option("--metric <name>", "only explanations read at this metric's best position")
    .option("--all", "every explanation of a neuron, not only its best")
    .option("--first <n>", "how many", int(1), 20)
    .option("--json", "print JSON");
  examples(connectionOptions(find), "skillscope find --text digit", "skillscope find --run 1 --word great", "skillscope find --kind overlap --json");
  find.action(
    action<FindOptions>(async (o) => {
      const { searchNeurons: found } = await withConnection(o, {}, ({ transport }) =>
        transport.execute(SearchNeuronsDocument, {
          runId: o.run ?? null, text: o.text ?? null, kind: o.kind ?? null, word: o.word ?? null, metric: o.metric ?? null, bestOnly: !o.all, first: o.first,
        }),
      );
      if (o.json) {
        printJson(found);
        return;
      }
      if (found.length === 0) {
        process.stdout.write("no stored explanation matches; explain neurons first (skillscope explain --run ID)\n");
        return;
      }
      process.stdout.write(
        table(
          ["run", "neuron", "metric", "#", "held-out r", "AUC", "explanation", "page"],
          found.map((e) => [e.runId, e.neuronId, e.metric, e.rank, fmtR(e.heldOutR), num(e.heldOutAuc), clip(e.description, 60), `${o.server ?? ""}/${e.dashboardPath}`]),
        ),
      );
    }),
  );
}

export interface LlmOptions {
  llmUrl?: string;
  llmModel?: string;
  llmKeyEnv: string;
}

/** Adds --llm-url, --llm-model and --llm-key-env (the `serve` command has them too). */
export function llmOptions(command: Command): Command {
  return command
    .option("--llm-url <url>", "OpenAI-compatible API base (vLLM, Ollama, llama.cpp server, hosted), e.g. http://127.0.0.1:8000/v1; nothing is sent anywhere without it")
    .option("--llm-model <name>", "model name the endpoint serves (needed with --llm-url)")
    .option("--llm-key-env <var>", "environment variable holding the API key (sent as a bearer token when set)", "SKILLSCOPE_LLM_KEY");
}

/** The LLM the options configure, or undefined; the key comes from the named environment variable. */
export function llmConfig(o: LlmOptions): LlmConfig | undefined {
  if (o.llmUrl === undefined) {
    if (o.llmModel !== undefined) throw new CliError("--llm-model needs --llm-url");
    return undefined;
  }
  if (!o.llmModel) throw new CliError("--llm-url needs --llm-model (the name of the model the endpoint serves)");
  const apiKey = process.env[o.llmKeyEnv]?.trim() || undefined;
  return { url: o.llmUrl, model: o.llmModel, apiKey };
}

interface ExplainOptions extends ConnectionOptions, LlmOptions {
  llm?: boolean;
  run: string;
  neurons?: string;
  metric?: string;
  k: number;
  top: number;
  json?: boolean;
}

interface FindOptions extends ConnectionOptions {
  run?: string;
  text?: string;
  kind?: string;
  word?: string;
  metric?: string;
  all?: boolean;
  first: number;
  json?: boolean;
}

function neuronList(list: string | undefined): string[] | null {
  return list === undefined ? null : list.split(",").map((id) => {
    const { layer, index } = parseNeuronId(id);
    return neuronId(layer, index);
  });
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? "-" : v.toFixed(3);
}

function printExplanation(e: NeuronExplanationFieldsFragment): void {
  process.stdout.write(`  ${e.rank}. ${e.description}\n`);
  process.stdout.write(`     held-out r ${fmtR(e.heldOutR)}, AUC ${num(e.heldOutAuc)}, Cohen's d ${num(e.effectSize)}; ranking-split r ${fmtR(e.selectionR)}; wrong on ${e.missCount ?? "-"} of ${e.heldOutSamples}\n`);
  if (e.equivalents.length) process.stdout.write(`     same as: ${e.equivalents.join("; ")}\n`);
  for (const m of e.misses.slice(0, 3)) process.stdout.write(`     miss ${m.sampleId}: activation ${m.activation.toFixed(3)}, feature ${m.feature}, predicted ${m.predicted.toLowerCase()}\n`);
}

function registerProbeAction(probe: Command): void {
  probe.action(
    action<ProbeOptions>(async (o) => {
      const inputs = probeInputs(o);
      const neuronIds = neuronList(o.neurons);
      const { probe: p } = await withConnection(o, {}, ({ transport }) =>
        transport.execute(ProbeDocument, { runId: o.run, ...inputs, neuronIds: neuronIds ?? null, metric: o.metric ?? null, k: o.k }),
      );
      if (o.json) {
        printJson(p);
        return;
      }
      printProbe(p);
    }),
  );
}

type ProbeInputVariables = { texts?: string[]; rows?: Record<string, unknown>[]; sampleIds?: string[]; raw?: boolean; answer?: string };

function probeInputs(o: ProbeOptions): ProbeInputVariables {
  const given = [o.text, o.file, o.samples].filter((x) => x !== undefined).length;
  if (given !== 1) throw new CliError("give exactly one of --text (repeatable), --file or --samples");
  const textOnly = { ...(o.raw ? { raw: true } : {}), ...(o.answer === undefined ? {} : { answer: o.answer }) };
  if (o.samples !== undefined) return { sampleIds: o.samples.split(",").map((s) => s.trim()).filter(Boolean) };
  if (o.text !== undefined) return { texts: o.text, ...textOnly };
  const file = o.file!;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read --file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  switch (extname(file).toLowerCase()) {
    case ".txt":
      return { texts: lines, ...textOnly };
    case ".jsonl":
    case ".ndjson":
      return {
        rows: lines.map((l, i) => {
          try {
            const row = JSON.parse(l) as unknown;
            if (typeof row !== "object" || row === null || Array.isArray(row)) throw new Error("not an object");
            return row as Record<string, unknown>;
          } catch (e) {
            throw new CliError(`--file ${file} line ${i + 1}: ${(e as Error).message}; write one JSON object per line`);
          }
        }),
      };
    case ".csv":
      return { rows: csvRows(text, file) };
    default:
      throw new CliError(`--file ${file}: use .jsonl, .csv or .txt`);
  }
}

function csvRows(text: string, file: string): Record<string, unknown>[] {
  const [header, ...body] = text.split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => l.split(","));
  if (!header || body.length === 0) throw new CliError(`--file ${file}: a header line and at least one row are needed`);
  return body.map((cells, i) => {
    if (cells.length !== header.length) throw new CliError(`--file ${file} row ${i + 2}: ${cells.length} cells for ${header.length} columns (quoted commas: use .jsonl)`);
    return Object.fromEntries(header.map((h, j) => [h.trim(), cells[j]!.trim()]));
  });
}

function printProbe(p: ProbeQuery["probe"]): void {
  const neurons = p.neurons.map((n) => `${n.id}@${n.bestPosition} (r ${fmtR(n.r)})`).join(", ");
  process.stdout.write(`run ${p.runId}, metric ${p.metric}: ${neurons}; ${p.samples.length} input(s) in ${p.seconds.toFixed(2)} s\n`);
  for (const s of p.samples) {
    const gold = s.answer === null || s.answer === undefined ? "no gold answer" : `gold ${JSON.stringify(s.answer)} p ${s.goldProb!.toFixed(4)}${s.correct ? " (correct)" : ""}`;
    process.stdout.write(`\n${s.id}: ${clip(s.instruction, 100)}\n  prediction ${JSON.stringify(s.prediction)}, ${gold}\n`);
    process.stdout.write(
      table(
        ["  neuron", "at best", "percentile", "soft positions 0..n-1"],
        s.readings.map((r) => [`  ${r.neuronId}`, r.atBest.toFixed(4), r.percentile.toFixed(1), r.activations.map((a) => a.toFixed(2)).join(" ")]),
      ),
    );
  }
}
