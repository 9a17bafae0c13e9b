/** `compare`, `stability`, `counterexamples` and `scores`: comparisons across runs and scores beyond Pearson. */
import { type Command, InvalidArgumentError } from "commander";
import { AlternativeScoresDocument, CompareRunsDocument, CounterexamplesDocument, RunVerbalizerDocument, SeedStabilityDocument } from "../../client/documents.js";
import type { RunVerbalizerQuery } from "../../client/generated/graphql.js";
import { action, connectionOptions, examples, int, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";
import { CliError } from "../errors.js";
import { fmtR, table } from "../format.js";

interface CompareOptions extends ConnectionOptions {
  runs: string[];
  metric: string;
  k: number;
  scatter: number;
  json?: boolean;
}

interface StabilityOptions extends ConnectionOptions {
  runs: string[];
  metric?: string[];
  k: number;
  json?: boolean;
}

interface CounterexampleOptions extends ConnectionOptions {
  run: string;
  heuristic: string;
  predicts: string;
  label: string;
  onlyWhenFired?: boolean;
  json?: boolean;
}

interface ScoresOptions extends ConnectionOptions {
  run: string;
  metric: string;
  layer: number;
  k: number;
  bins: number;
  position?: number;
  maxOverPositions?: boolean;
  json?: boolean;
}

export function registerCompareCommands(program: Command): void {
  const compare = program
    .command("compare")
    .description("compare runs of one model on a metric: neurons in every top-K, per-layer mean |r| and KS shift against the first run")
    .requiredOption("--runs <ids>", "comma-separated run ids, at least two", runList)
    .requiredOption("--metric <name>", "metric name")
    .option("--k <n>", "top-K size", int(1), 10)
    .option("--scatter <n>", "r-vs-r points in --json output (largest |r| first)", int(0), 200)
    .option("--json", "print JSON");
  examples(connectionOptions(compare), "skillscope compare --runs 1,2,3 --metric label", "skillscope compare --runs 1,2 --metric label --k 50 --json");
  compare.action(
    action<CompareOptions>(async (o) => {
      const { compareRuns: c } = await withConnection(o, {}, ({ transport }) =>
        transport.execute(CompareRunsDocument, { runIds: o.runs, metric: o.metric, k: o.k, scatterLimit: o.scatter }),
      );
      if (o.json) {
        printJson(c);
        return;
      }
      const runCols = c.runIds.map((id) => `r run ${id}`);
      process.stdout.write(`metric ${c.metric}: ${c.shared.length} neuron(s) in every run's top ${c.k}\n`);
      if (c.shared.length) process.stdout.write(table(["neuron", ...runCols], c.shared.map((n) => [n.id, ...n.r.map(fmtR)])));
      process.stdout.write("\nper layer: mean |r| per run, KS statistic against the first run\n");
      process.stdout.write(
        table(
          ["layer", ...c.runIds.map((id) => `mean|r| ${id}`), ...c.runIds.slice(1).map((id) => `KS ${id}`)],
          c.layers.map((l) => [l.layer, ...l.meanAbsR.map((v) => (v == null ? "-" : v.toFixed(4))), ...l.ks.slice(1).map((v) => v.toFixed(3))]),
        ),
      );
    }),
  );

  const stability = program
    .command("stability")
    .description("stability of skill neurons across prompt seeds: top-K Jaccard and Spearman between runs of one model and task")
    .requiredOption("--runs <ids>", "comma-separated run ids, at least two", runList)
    .option("--metric <name>", "only this metric (repeatable; default: every metric all runs share)", (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option("--k <n>", "top-K size", int(1), 10)
    .option("--json", "print JSON");
  examples(connectionOptions(stability), "skillscope stability --runs 1,2,3", "skillscope stability --runs 1,2,3 --metric label --k 20 --json");
  stability.action(
    action<StabilityOptions>(async (o) => {
      const { seedStability: s } = await withConnection(o, {}, ({ transport }) =>
        transport.execute(SeedStabilityDocument, { runIds: o.runs, metrics: o.metric ?? null, k: o.k }),
      );
      if (o.json) {
        printJson(s);
        return;
      }
      process.stdout.write(`runs ${s.runIds.join(", ")}, top ${s.k}\n`);
      process.stdout.write(
        table(
          ["metric", "mean Jaccard", "mean Spearman", "stable", "stable neurons"],
          s.metrics.map((m) => [m.metric, fixed(m.meanJaccard, 3), fixed(m.meanSpearman, 3), m.stable.length, m.stable.map((n) => n.id).join(" ") || "-"]),
        ),
      );
    }),
  );

  const counter = program
    .command("counterexamples")
    .description("the model's accuracy where a 0/1 heuristic metric and the label disagree (counterexamples) versus where they agree")
    .requiredOption("--run <id>", "run id")
    .requiredOption("--heuristic <metric>", "a 0/1 metric of the run, e.g. lexical_overlap")
    .requiredOption("--predicts <label>", "label value the heuristic predicts when it fires: a number, or a class / answer word (e.g. entailment: then the label=<class> metric is used)")
    .option("--label <metric>", "label metric", "label")
    .option("--only-when-fired", "only count samples where the heuristic fires")
    .option("--json", "print JSON");
  examples(connectionOptions(counter), "skillscope counterexamples --run 1 --heuristic lexical_overlap --predicts entailment", "skillscope counterexamples --run 1 --heuristic lexical_overlap --predicts 0 --json");
  counter.action(
    action<CounterexampleOptions>(async (o) => {
      const c = await withConnection(o, {}, async ({ transport }) => {
        const { label, predicts } = await labelTarget(o, () => transport.execute(RunVerbalizerDocument, { id: o.run }));
        return (await transport.execute(CounterexamplesDocument, { runId: o.run, heuristic: o.heuristic, predicts, label, onlyWhenFired: o.onlyWhenFired === true })).counterexamples;
      });
      if (o.json) {
        printJson(c);
        return;
      }
      process.stdout.write(`run ${c.runId}: heuristic ${c.heuristic} against ${c.label}\n`);
      process.stdout.write(
        table(
          ["subset", "samples", "accuracy"],
          [["disagree (counterexamples)", c.disagree.count, fixed(c.disagree.accuracy, 4)], ["agree", c.agree.count, fixed(c.agree.accuracy, 4)]],
        ),
      );
    }),
  );

  const scores = program
    .command("scores")
    .description("one layer's neurons under Pearson, Spearman, mutual information and (0/1 metrics) threshold accuracy; top-K per score and their overlap")
    .requiredOption("--run <id>", "run id")
    .requiredOption("--metric <name>", "metric name")
    .requiredOption("--layer <L>", "layer", int(0))
    .option("--k <n>", "top-K size per score", int(1), 10)
    .option("--bins <n>", "bins per variable for mutual information", int(2), 16)
    .option("--position <p>", "read every neuron at this soft position (default: each neuron at its best position for the metric)", int(0))
    .option("--max-over-positions", "read each sample's maximum over positions instead")
    .option("--json", "print JSON");
  examples(connectionOptions(scores), "skillscope scores --run 1 --metric label --layer 3", "skillscope scores --run 1 --metric label --layer 3 --k 20 --json");
  scores.action(
    action<ScoresOptions>(async (o) => {
      const { alternativeScores: a } = await withConnection(o, {}, ({ transport }) =>
        transport.execute(AlternativeScoresDocument, {
          runId: o.run, metric: o.metric, layer: o.layer, k: o.k, bins: o.bins, position: o.position ?? null, maxOverPositions: o.maxOverPositions ?? null,
        }),
      );
      if (o.json) {
        printJson(a);
        return;
      }
      const read = a.reading === "BEST_POSITION" ? "each neuron at its best position" : a.reading === "POSITION" ? `position ${o.position}` : "max over positions";
      process.stdout.write(`run ${a.runId}, metric ${a.metric}, layer ${a.layer}, ${a.samples} samples, read at ${read}\n`);
      for (const t of a.topK) {
        process.stdout.write(`\ntop ${t.neurons.length} by ${t.score.toLowerCase().replace(/_/g, " ")}\n`);
        process.stdout.write(
          table(
            ["neuron", "position", "pearson", "spearman", "MI (nats)", "threshold acc"],
            t.neurons.map((n) => [n.id, n.position ?? "-", fmtR(n.pearson), fmtR(n.spearman), fixed(n.mutualInformation, 4), fixed(n.thresholdAccuracy, 3)]),
          ),
        );
      }
      process.stdout.write("\noverlap of the top-K sets (Jaccard)\n");
      process.stdout.write(table(["score", "score", "jaccard"], a.overlap.map((x) => [x.a.toLowerCase(), x.b.toLowerCase(), x.jaccard.toFixed(3)])));
    }),
  );
}

/** commander parser: comma-separated run ids (at least two). */
export function runList(value: string): string[] {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.length < 2 || parts.some((s) => !/^[1-9]\d*$/.test(s))) throw new InvalidArgumentError("expected at least two comma-separated run ids, e.g. 1,2,3.");
  return parts;
}

/**
 * The label metric and value for --predicts: a number applies to --label as given; a class name
 * or an answer word of the task's verbalizer (e.g. "entailment") becomes the class's indicator
 * metric `label=<class>` with value 1, which needs no knowledge of how classes are numbered.
 */
async function labelTarget(o: CounterexampleOptions, readVerbalizer: () => Promise<RunVerbalizerQuery>): Promise<{ label: string; predicts: number }> {
  const word = o.predicts.trim();
  const asNumber = Number(word);
  if (word !== "" && Number.isFinite(asNumber)) return { label: o.label, predicts: asNumber };
  if (o.label !== "label") throw new CliError(`--predicts "${word}" is not a number; with --label ${o.label} give the numeric value the heuristic predicts`);
  const verbalizer = ((await readVerbalizer()).run.task.verbalizer ?? {}) as Record<string, unknown>;
  const byAnswer = Object.entries(verbalizer).filter(([, answer]) => String(answer).trim().toLowerCase() === word.toLowerCase()).map(([cls]) => cls);
  const cls = Object.hasOwn(verbalizer, word) ? word : byAnswer.length === 1 ? byAnswer[0]! : word;
  return { label: `label=${cls}`, predicts: 1 };
}

function fixed(v: number | null | undefined, digits: number): string {
  return v === null || v === undefined ? "-" : v.toFixed(digits);
}
