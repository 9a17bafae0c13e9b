/** `serve`: the GraphQL server (HTTP + WebSocket at /graphql, dashboard at /) until SIGINT/SIGTERM. */
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { action, collect, examples, int, printJson } from "../command-kit.js";
import { DB_FILE, DEFAULT_DATA_DIR } from "../connect.js";
import { CliError } from "../errors.js";
import { llmConfig, llmOptions, type LlmOptions } from "./explain.js";
import { untilSignal, withOwnSignals } from "../serving.js";

/** Options `serve` and `demo` share. */
export interface ListenOptions {
  db?: string;
  host: string;
  port: number;
  dataDir: string;
  allowRemoteReads?: boolean;
  json?: boolean;
}

interface ServeOptions extends ListenOptions, LlmOptions {
  modelRoot?: string[];
  taskRoot?: string[];
  attach?: string;
  queue?: string;
  shards?: number;
  lake?: string;
  lakeF16?: boolean;
}

/** Adds --db, --host, --port, --data-dir, --allow-remote-reads and --json. */
export function listenOptions(command: Command): Command {
  return command
    .option("--db <file>", "DuckDB file (default: <data-dir>/skillscope.duckdb)")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "TCP port (0 picks a free one)", int(0), 4000)
    .option("--data-dir <dir>", "holds the bearer token (<data-dir>/token), exports and the default database", DEFAULT_DATA_DIR)
    .option("--allow-remote-reads", "let other machines query without the token (mutations always need it)")
    .option("--json", "print the address as JSON");
}

/** Absolute data folder and database path of the listen options. */
export function listenPaths(o: ListenOptions): { dataDir: string; dbPath: string } {
  const dataDir = resolve(o.dataDir);
  return { dataDir, dbPath: resolve(o.db ?? join(dataDir, DB_FILE)) };
}

/** Prints where the server is (one JSON line with --json), merged with `extra`. */
export function announce(o: ListenOptions, url: string, extra: Record<string, unknown> = {}): void {
  const { dataDir, dbPath } = listenPaths(o);
  const tokenFile = join(dataDir, "token");
  if (o.json) {
    printJson({ url, graphql: `${url}/graphql`, tokenFile, db: dbPath, ...extra });
    return;
  }
  process.stdout.write(`skillscope serving at ${url} (GraphQL ${url}/graphql, dashboard ${url}/)\n`);
  process.stdout.write(`database ${dbPath}; bearer token for mutations in ${tokenFile}\n`);
}

export function registerServeCommand(program: Command): void {
  const serve = listenOptions(
    program
      .command("serve")
      .description("serve the GraphQL API (HTTP and WebSocket at /graphql) and the dashboard (at /) until Ctrl-C")
      .option("--model-root <dir>", "folder models may be registered from (repeatable)", collect)
      .option("--task-root <dir>", "folder task files may be imported from (repeatable)", collect)
      .option("--attach <dir>", "serve a run exported with `skillscope export` (a folder, or s3:// / https:// via DuckDB httpfs) read-only instead of --db")
      .option("--queue <url>", "extract runs in shards on the runners of this Redis work queue (redis://HOST:PORT or redis+unix:///path.sock; runners: skillscope runner --queue URL)")
      .option("--shards <n>", "with --queue: shards per run unless the run sets its own (default 8)", int(1))
      .option("--lake <dir>", "with --queue: runners write activations (storage full) as Parquet here, a folder they all see or s3://bucket/prefix (DuckDB httpfs), not through the server")
      .option("--lake-f16", "with --lake: round activations to float16 precision (smaller files)"),
  );
  examples(
    serve,
    "skillscope serve --port 4000 --model-root ~/models --task-root ./tasks",
    "skillscope serve --attach ./exports/run-7 --port 4001",
    "skillscope serve --queue redis://10.0.0.2:6379 --shards 16 --model-root ~/models",
    "skillscope serve --queue redis://10.0.0.2:6379 --lake s3://bucket/skillscope-lake --model-root ~/models",
  );
  llmOptions(serve);
  serve.action(
    action<ServeOptions>(async (o) => {
      // Loaded here, not at startup: other commands (and --help) need not load the server.
      const { startServer } = await import("../../../server/http/server.js");
      const { dataDir, dbPath } = listenPaths(o);
      if (o.shards !== undefined && o.queue === undefined) throw new CliError("--shards applies with --queue URL");
      if (o.lake !== undefined && o.queue === undefined) throw new CliError("--lake applies with --queue URL (the lake is where the queue's runners write)");
      if (o.lakeF16 && o.lake === undefined) throw new CliError("--lake-f16 applies with --lake DIR");
      const lake = o.lake === undefined ? undefined : { location: /^[a-z0-9]+:\/\//.test(o.lake) ? o.lake : resolve(o.lake), f16: o.lakeF16 ?? false };
      const shards = o.queue === undefined ? undefined : await (await import("../../../server/queue/queue-pool.js")).QueueShardPool.open(o.queue, { shardsPerRun: o.shards });
      const server = await withOwnSignals(() =>
        startServer({
          host: o.host,
          port: o.port,
          dataDir,
          dbPath,
          modelRoots: (o.modelRoot ?? []).map((d) => resolve(d)),
          taskRoots: (o.taskRoot ?? []).map((d) => resolve(d)),
          allowRemoteReads: o.allowRemoteReads ?? false,
          ...(shards ? { runner: { shards, lake } } : {}),
          llm: llmConfig(o),
          ...(o.attach !== undefined ? { attach: /^[a-z0-9]+:\/\//.test(o.attach) ? o.attach : resolve(o.attach) } : {}),
        }),
      );
      announce(o, server.url);
      await untilSignal("serve", () => server.close(), !o.json);
    }),
  );
}
