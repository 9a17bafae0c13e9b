/** `metric add`: an after-the-fact metric from (sample id, value) pairs, scored against every stored neuron. */
import type { Command } from "commander";
import { AddMetricDocument } from "../../client/documents.js";
import { action, connectionOptions, examples, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";
import { readPairsFile } from "../pairs-file.js";

interface MetricAddOptions extends ConnectionOptions {
  run: string;
  name: string;
  file: string;
  description?: string;
  json?: boolean;
}

export function registerMetricCommands(program: Command): void {
  const metric = program.command("metric").description("metrics of a run");
  const add = metric
    .command("add")
    .description("add a metric to a finished run from (sample id, value) pairs and score every neuron against it")
    .requiredOption("--run <id>", "run id")
    .requiredOption("--name <name>", "name of the new metric")
    .requiredOption("--file <file>", "pairs: .csv with header sample_id,value, or .json [{sampleId, value}] / {sampleId: value}")
    .option("--description <text>", "what the metric measures")
    .option("--json", "print JSON");
  examples(connectionOptions(add), "skillscope metric add --run 1 --name negation --file negation.csv", "skillscope neurons --run 1 --metric negation --top 10");
  add.action(
    action<MetricAddOptions>(async (o) => {
      const values = readPairsFile(o.file);
      const data = await withConnection(o, {}, ({ transport }) =>
        transport.execute(AddMetricDocument, { runId: o.run, name: o.name, description: o.description ?? null, values }),
      );
      if (o.json) printJson({ runId: o.run, metric: data.addMetric, pairs: values.length });
      else process.stdout.write(`added metric ${data.addMetric.name} to run ${o.run} (${values.length} samples); rank neurons with: skillscope neurons --run ${o.run} --metric ${data.addMetric.name}\n`);
    }),
  );
}
