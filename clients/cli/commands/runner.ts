/** `runner`: serve a remote skillscope server's runs from this machine (its GPU / CPUs) over WebSocket. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { action, examples } from "../command-kit.js";
import { CliError } from "../errors.js";

interface RunnerOptions {
  connect: string;
  token?: string;
  model?: string;
}

export function registerRunnerCommand(program: Command): void {
  const runner = program
    .command("runner")
    .description("connect to a server's runner endpoint and execute the runs it sends until the connection closes")
    .requiredOption("--connect <url>", "the server's runner endpoint, ws://HOST:PORT/ingest")
    .option("--token <token>", "the server's bearer token (default: $SKILLSCOPE_TOKEN)")
    .option("--model <dir>", "check this model folder (config, weights, tokenizer) before connecting");
  examples(runner, "skillscope runner --connect ws://10.0.0.5:4000/ingest --token $(cat data/token) --model ./models/gpt2");
  runner.action(
    action<RunnerOptions>(async (o) => {
      if (!/^wss?:\/\//.test(o.connect)) throw new CliError(`--connect "${o.connect}" must be a ws:// or wss:// URL, e.g. ws://127.0.0.1:4000/ingest`);
      const token = o.token ?? process.env.SKILLSCOPE_TOKEN?.trim();
      if (!token) throw new CliError("the runner needs the server's token: pass --token T or set SKILLSCOPE_TOKEN");
      const { loadModelDir } = await import("../../../gpu-runner/hf/model-dir.js");
      const { connectRemoteRunner } = await import("../../../gpu-runner/runner/remote.js");
      if (o.model !== undefined) {
        const { config } = loadModelDir(resolve(o.model), { requireTokenizer: true });
        process.stderr.write(`model ${resolve(o.model)}: ${config.modelType}, ${config.nLayers} layers\n`);
      }
      const remote = await connectRemoteRunner(o.connect, { token });
      process.stderr.write(`runner connected to ${o.connect}; waiting for runs (Ctrl-C to stop)\n`);
      const stop = () => remote.close();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      await remote.closed;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stderr.write("runner disconnected\n");
    }),
  );
}
