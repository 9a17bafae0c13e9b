/** `neurons`, `neuron` and `samples`: ranked neurons of a run, one neuron's r per position, extremal samples. */
import { neuronId } from "../../../gpu-runner/neuron-id.js";
import type { Command } from "commander";
import {
  ExtremalSamplesDocument,
  NeuronCorrelationsDocument,
  RunSummaryDocument,
  TopNeuronsDocument,
} from "../../client/documents.js";
import type { Direction, NeuronAggregate, TopNeuronsQuery } from "../../client/generated/graphql.js";
import { action, connectionOptions, examples, int, oneOf, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";
import { clip, fmtP, fmtR, parseNeuronId, table } from "../format.js";

/** Neurons per request: the server's default page limit. */
const PAGE = 1000;

const AGGREGATES: Record<string, NeuronAggregate> = { "max-abs": "MAX_ABS_OVER_POSITIONS", "max-act": "MAX_ACTIVATION" };

interface NeuronsOptions extends ConnectionOptions {
  run: string;
  metric: string;
  layer?: number;
  top: number;
  aggregate: "max-abs" | "max-act";
  json?: boolean;
}

interface NeuronOptions extends ConnectionOptions {
  run: string;
  id: string;
  metric?: string;
  json?: boolean;
}

interface SamplesOptions extends ConnectionOptions {
  run: string;
  id: string;
  direction: "high" | "low";
  k: number;
  metric?: string;
  position?: number;
  maxOverPositions?: boolean;
  json?: boolean;
}

export function registerNeuronCommands(program: Command): void {
  const neurons = program
    .command("neurons")
    .description("neurons of a run ranked by |r| with a metric (table: L{layer}.N{index}, r, best position, p corrected for choosing that position, p at that position alone)")
    .requiredOption("--run <id>", "run id")
    .requiredOption("--metric <name>", "metric name (see the run's metrics)")
    .option("--layer <L>", "only this layer", int(0))
    .option("--top <K>", "how many neurons", int(1), 20)
    .option("--aggregate <how>", "over soft positions: max-abs (max |r|, with its position) or max-act (r of the max activation)", oneOf("max-abs", "max-act"), "max-abs")
    .option("--json", "print JSON");
  examples(connectionOptions(neurons), "skillscope neurons --run 1 --metric label --top 10", "skillscope neurons --run 1 --metric loss --layer 3 --json");
  neurons.action(
    action<NeuronsOptions>(async (o) => {
      const { rows, totalCount } = await withConnection(o, {}, async ({ transport }) => {
        // Pages of at most PAGE neurons (the server's page limit), following endCursor.
        const rows: TopNeuronsQuery["neurons"]["edges"][number]["node"][] = [];
        let after: string | null = null;
        for (;;) {
          const first = Math.min(PAGE, o.top - rows.length);
          const page: TopNeuronsQuery = await transport.execute(TopNeuronsDocument, { runId: o.run, metric: o.metric, layer: o.layer ?? null, first, after, aggregate: AGGREGATES[o.aggregate]! });
          rows.push(...page.neurons.edges.map((e) => e.node));
          after = page.neurons.pageInfo.endCursor ?? null;
          if (rows.length >= o.top || !page.neurons.pageInfo.hasNextPage || after === null) return { rows, totalCount: page.neurons.totalCount };
        }
      });
      if (o.json) {
        printJson({ runId: o.run, metric: o.metric, aggregate: AGGREGATES[o.aggregate], totalCount, neurons: rows });
        return;
      }
      process.stdout.write(table(["rank", "neuron", "r", "position", "p corrected", "p at position"], rows.map((n) => [n.rank, n.id, fmtR(n.r), n.bestPosition, fmtP(n.pCorrected), fmtP(n.pAtPosition)])));
      process.stdout.write(`${rows.length} of ${totalCount} neurons, metric ${o.metric}, run ${o.run}\n`);
    }),
  );

  const neuron = program
    .command("neuron")
    .description("one neuron's Pearson r with a metric at every soft position (every metric of the run without --metric)")
    .requiredOption("--run <id>", "run id")
    .requiredOption("--id <neuron>", "neuron id L{layer}.N{index}, e.g. L3.N17")
    .option("--metric <name>", "metric name (default: all the run's metrics)")
    .option("--json", "print JSON");
  examples(connectionOptions(neuron), "skillscope neuron --run 1 --id L3.N17 --metric label");
  neuron.action(
    action<NeuronOptions>(async (o) => {
      const { layer, index } = parseNeuronId(o.id);
      const result = await withConnection(o, {}, async ({ transport }) => {
        const metrics = o.metric !== undefined ? [o.metric] : (await transport.execute(RunSummaryDocument, { id: o.run })).run.metrics.map((m) => m.name);
        const out: { metric: string; correlations: { position: number; r?: number | null; pAtPosition?: number | null; samples: number }[] }[] = [];
        for (const metric of metrics) {
          const data = await transport.execute(NeuronCorrelationsDocument, { runId: o.run, layer, index, metric });
          out.push({ metric, correlations: data.neuron.correlations });
        }
        return out;
      });
      if (o.json) {
        printJson({ runId: o.run, id: neuronId(layer, index), layer, index, metrics: result });
        return;
      }
      for (const m of result) {
        process.stdout.write(`${neuronId(layer, index)} ~ ${m.metric}\n`);
        process.stdout.write(table(["position", "r", "p at position", "samples"], m.correlations.map((c) => [c.position, fmtR(c.r), fmtP(c.pAtPosition), c.samples])));
      }
    }),
  );

  const samples = program
    .command("samples")
    .description("a neuron's extremal validation samples: highest (or lowest) activations at its best position for --metric, with text, answer and prediction")
    .requiredOption("--run <id>", "run id")
    .requiredOption("--id <neuron>", "neuron id L{layer}.N{index}, e.g. L3.N17")
    .option("--direction <dir>", "high or low activations first", oneOf("high", "low"), "high")
    .option("--k <n>", "how many samples", int(1), 10)
    .option("--metric <name>", "read at the neuron's best position for this metric (the position that ranked it)")
    .option("--position <p>", "read at this soft position instead", int(0))
    .option("--max-over-positions", "read each sample's maximum over positions instead")
    .option("--json", "print JSON");
  examples(connectionOptions(samples), "skillscope samples --run 1 --id L3.N17 --metric label --direction low --k 5", "skillscope samples --run 1 --id L3.N17 --max-over-positions");
  samples.action(
    action<SamplesOptions>(async (o) => {
      const { layer, index } = parseNeuronId(o.id);
      const direction: Direction = o.direction === "low" ? "LOW" : "HIGH";
      const data = await withConnection(o, {}, ({ transport }) =>
        transport.execute(ExtremalSamplesDocument, {
          runId: o.run, layer, index, direction, k: o.k, metric: o.metric ?? null, position: o.position ?? null, maxOverPositions: o.maxOverPositions ?? null,
        }),
      );
      const rows = data.neuron.extremalSamples;
      if (o.json) {
        printJson({ runId: o.run, id: data.neuron.id, direction, metric: o.metric ?? null, reading: rows[0]?.reading ?? null, samples: rows });
        return;
      }
      if (rows[0]) process.stdout.write(`${data.neuron.id}: ${describeReading(rows[0], o.metric)}\n`);
      process.stdout.write(
        table(
          ["rank", "activation", "position", "sample", "answer", "prediction", "correct", "text"],
          rows.map((s) => [s.rank, s.activation.toPrecision(4), s.position ?? "-", s.sampleId, clip(s.answer, 16), clip(s.prediction, 16), s.correct === null || s.correct === undefined ? "-" : s.correct ? "yes" : "no", clip(s.text, 60)]),
        ),
      );
    }),
  );
}

/** What the samples' activations are: the server says which reading it used. */
function describeReading(row: { reading: string; position?: number | null }, metric: string | undefined): string {
  if (row.reading === "BEST_POSITION") return `activation at position ${row.position}, its best position for ${metric}`;
  if (row.reading === "POSITION") return `activation at position ${row.position}`;
  return "activation maximised over positions (the position column: where each sample peaked)";
}
