/** `export`: a run as hive-partitioned Parquet (run=/layer=), ready for pandas, polars or DuckDB. */
import { basename, dirname, resolve } from "node:path";
import type { Command } from "commander";
import { ExportRunDocument } from "../../client/documents.js";
import { action, connectionOptions, examples, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";

interface ExportOptions extends ConnectionOptions {
  run: string;
  parquet: string;
  json?: boolean;
}

export function registerExportCommand(program: Command): void {
  const exp = program
    .command("export")
    .description("write a run as hive-partitioned Parquet; with --server the folder is created under the server's export root")
    .requiredOption("--run <id>", "run id")
    .requiredOption("--parquet <dir>", "output folder (with --server: a folder name under the server's <data-dir>/exports)")
    .option("--json", "print JSON");
  examples(connectionOptions(exp), "skillscope export --run 1 --parquet ./exports/run-1", "python -c \"import polars as pl; print(pl.read_parquet('exports/run-1/**/*.parquet'))\"");
  exp.action(
    action<ExportOptions>(async (o) => {
      // Embedded: the export root is the folder's parent, so the files land exactly at --parquet.
      const target = resolve(o.parquet);
      const scope = o.server === undefined ? { exportRoot: dirname(target) } : {};
      const data = await withConnection(o, scope, ({ transport }) => transport.execute(ExportRunDocument, { id: o.run, name: basename(target) }));
      if (o.json) printJson({ runId: o.run, folder: data.exportRun });
      else process.stdout.write(`exported run ${o.run} to ${data.exportRun}\n`);
    }),
  );
}
