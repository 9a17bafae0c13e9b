/** `runner`: serve a remote skillscope server's runs from this machine (its GPU / CPUs) over WebSocket. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { action, examples, int, oneOf } from "../command-kit.js";
import { CliError } from "../errors.js";

interface RunnerOptions {
  connect?: string;
  queue?: string;
  token?: string;
  model?: string;
  device?: "cpu" | "cuda";
  compute?: "f32" | "f16";
  threads?: number;
  leaseMs?: number;
  lake?: string;
}

export function registerRunnerCommand(program: Command): void {
  const runner = program
    .command("runner")
    .description("execute a server's runs: those it sends over --connect, or the shard jobs of a --queue, until stopped")
    .option("--connect <url>", "the server's runner endpoint, ws://HOST:PORT/ingest")
    .option("--queue <url>", "take shard jobs from this Redis work queue (the server's serve --queue URL)")
    .option("--token <token>", "with --connect: the server's bearer token (default: $SKILLSCOPE_TOKEN)")
    .option("--model <dir>", "this machine's copy of the model (config, weights, tokenizer); checked before connecting")
    .option("--device <device>", "with --queue: cpu or cuda", oneOf("cpu", "cuda"))
    .option("--compute <precision>", "with --queue: f32, or f16 (matrix products in half; norms, softmax, loss in float32)", oneOf("f32", "f16"))
    .option("--threads <n>", "with --queue: onnxruntime intra-op threads", int(1))
    .option("--lease-ms <ms>", "with --queue: job lease; a runner that dies has its shard redone after about this long", int(500), 30000)
    .option("--lake <dir>", "with --queue: this machine's path of the server's activation lake (default: the path the server gives)");
  examples(
    runner,
    "skillscope runner --connect ws://10.0.0.5:4000/ingest --token $(cat data/token) --model ./models/gpt2",
    "skillscope runner --queue redis://10.0.0.2:6379 --model ./models/Llama-2-7b --device cuda",
  );
  runner.action(
    action<RunnerOptions>(async (o) => {
      if ((o.connect === undefined) === (o.queue === undefined)) throw new CliError("give exactly one of --connect ws://HOST:PORT/ingest or --queue redis://HOST:PORT");
      if (o.queue !== undefined) return serveQueue(o.queue, o);
      const connect = o.connect!;
      if (!/^wss?:\/\//.test(connect)) throw new CliError(`--connect "${connect}" must be a ws:// or wss:// URL, e.g. ws://127.0.0.1:4000/ingest`);
      const token = o.token ?? process.env.SKILLSCOPE_TOKEN?.trim();
      if (!token) throw new CliError("the runner needs the server's token: pass --token T or set SKILLSCOPE_TOKEN");
      const { loadModelDir } = await import("../../../gpu-runner/hf/model-dir.js");
      const { connectRemoteRunner } = await import("../../../gpu-runner/runner/remote.js");
      if (o.model !== undefined) {
        const { config } = loadModelDir(resolve(o.model), { requireTokenizer: true });
        process.stderr.write(`model ${resolve(o.model)}: ${config.modelType}, ${config.nLayers} layers\n`);
      }
      const remote = await connectRemoteRunner(connect, { token });
      process.stderr.write(`runner connected to ${connect}; waiting for runs (Ctrl-C to stop)\n`);
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

/** Takes shard jobs from the queue until SIGINT/SIGTERM; logs each job to stderr. */
async function serveQueue(url: string, o: RunnerOptions): Promise<void> {
  if (o.model === undefined) throw new CliError("--queue needs --model DIR: this machine's copy of the model the server's runs use");
  const { loadModelDir } = await import("../../../gpu-runner/hf/model-dir.js");
  const { startQueueRunner } = await import("../../../server/queue/queue-runner.js");
  const modelDir = resolve(o.model);
  const { config } = loadModelDir(modelDir, { requireTokenizer: true });
  process.stderr.write(`model ${modelDir}: ${config.modelType}, ${config.nLayers} layers\n`);
  const runner = await startQueueRunner(url, {
    modelDir, device: o.device, compute: o.compute, threads: o.threads, leaseMs: o.leaseMs, lakeLocation: o.lake === undefined ? undefined : /^[a-z0-9]+:\/\//.test(o.lake) ? o.lake : resolve(o.lake), log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(`runner taking shard jobs from ${url} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
  await runner.close();
  process.stderr.write("runner stopped\n");
}
