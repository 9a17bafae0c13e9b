/** `demo`: the server with the paper's three experiments (sentiment, HANS NLI, arithmetic) on the demo model. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { action, examples } from "../command-kit.js";
import { untilSignal, withOwnSignals } from "../serving.js";
import { announce, listenOptions, listenPaths, type ListenOptions } from "./serve.js";

interface DemoCommandOptions extends ListenOptions {
  demoDir?: string;
}

export function registerDemoCommand(program: Command): void {
  const demo = listenOptions(
    program
      .command("demo")
      .description("serve the demo: registers the demo model and tasks and queues the paper's three experiments (a restart resumes them)")
      .option("--demo-dir <dir>", "folder with model/ and tasks/ (default: the repository's demo/)"),
  );
  examples(demo, "skillscope demo --port 4000", "skillscope neurons --server http://127.0.0.1:4000 --run 1 --metric label");
  demo.action(
    action<DemoCommandOptions>(async (o) => {
      const { startDemo } = await import("../../../server/demo.js");
      const { dataDir, dbPath } = listenPaths(o);
      const log = (line: string) => {
        if (!o.json) process.stderr.write(`${line}\n`);
      };
      const { server, runs } = await withOwnSignals(() =>
        startDemo({
          host: o.host,
          port: o.port,
          dataDir,
          dbPath,
          allowRemoteReads: o.allowRemoteReads ?? false,
          ...(o.demoDir !== undefined ? { demoDir: resolve(o.demoDir) } : {}),
          log,
        }),
      );
      announce(o, server.url, { runs });
      if (!o.json) {
        for (const [task, id] of Object.entries(runs)) process.stdout.write(`experiment ${task}: run ${id} (follow it at ${server.url}/#/runs/${id})\n`);
      }
      await untilSignal("demo", () => server.close(), !o.json);
    }),
  );
}
