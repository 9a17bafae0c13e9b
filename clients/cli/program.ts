/**
 * The `skillscope` program. Every command but `forward` and `runner` speaks GraphQL, in-process or
 * to `--server URL`; `forward` runs a local model graph directly, `runner` serves jobs to a server.
 */
import { Command } from "commander";
import { registerCatalogCommands } from "./commands/catalog.js";
import { registerCausalCommands } from "./commands/causal.js";
import { registerCompareCommands } from "./commands/compare.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerExplainCommands } from "./commands/explain.js";
import { registerExportCommand } from "./commands/export.js";
import { registerForwardCommand } from "./commands/forward.js";
import { registerMetricCommands } from "./commands/metric.js";
import { registerNeuronCommands } from "./commands/neurons.js";
import { registerRunCommand } from "./commands/run.js";
import { registerRunnerCommand } from "./commands/runner.js";
import { registerServeCommand } from "./commands/serve.js";
import { examples } from "./command-kit.js";
import { packageVersion } from "./connect.js";

/** The program with every command registered (main() parses argv with it). */
export function buildProgram(): Command {
  const program = new Command("skillscope")
    .description("find skill neurons in transformer language models: train a soft prompt, correlate FFN neurons with metrics")
    .version(packageVersion())
    .option("--verbose", "print stack traces with errors")
    .showSuggestionAfterError(true)
    // One line per error: commander puts its "(Did you mean ...?)" on a line of its own.
    .configureOutput({ outputError: (text, write) => write(text.replace(/\n(?=\(Did you mean)/, " ")) });
  registerServeCommand(program);
  registerDemoCommand(program);
  registerRunCommand(program);
  registerRunnerCommand(program);
  registerForwardCommand(program);
  registerNeuronCommands(program);
  registerMetricCommands(program);
  registerExportCommand(program);
  registerCatalogCommands(program);
  registerCausalCommands(program);
  registerCompareCommands(program);
  registerExplainCommands(program);
  program.addHelpText("after", "\nExample:\n  $ skillscope run --model ./models/gpt2 --task sst.jsonl --template \"Review: {text}\" --json\n  $ skillscope neurons --run 1 --metric label --top 10\n");
  return program;
}
