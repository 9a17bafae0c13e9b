/** `models`, `tasks` and `runs`: what the database holds. */
import type { Command } from "commander";
import { ModelsDocument, RunsDocument, TasksDocument } from "../../client/documents.js";
import { action, connectionOptions, examples, int, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";
import { clip, table } from "../format.js";

interface ListOptions extends ConnectionOptions {
  json?: boolean;
}

interface RunsOptions extends ListOptions {
  first: number;
}

export function registerCatalogCommands(program: Command): void {
  const models = program.command("models").description("registered models (Hugging Face checkpoint folders)").option("--json", "print JSON");
  examples(connectionOptions(models), "skillscope models", "skillscope models --server http://127.0.0.1:4000 --json");
  models.action(
    action<ListOptions>(async (o) => {
      const data = await withConnection(o, {}, ({ transport }) => transport.execute(ModelsDocument));
      if (o.json) printJson({ models: data.models });
      else process.stdout.write(table(["id", "family", "path", "registered"], data.models.map((m) => [m.id, m.family, m.path, m.createdAt])));
    }),
  );

  const tasks = program.command("tasks").description("imported tasks with their train / validation sizes").option("--json", "print JSON");
  examples(connectionOptions(tasks), "skillscope tasks --json");
  tasks.action(
    action<ListOptions>(async (o) => {
      const data = await withConnection(o, {}, ({ transport }) => transport.execute(TasksDocument));
      if (o.json) printJson({ tasks: data.tasks });
      else process.stdout.write(table(["id", "name", "train", "val", "template", "source"], data.tasks.map((t) => [t.id, t.name, t.train, t.val, clip(t.template, 40), clip(t.source, 50)])));
    }),
  );

  const runs = program
    .command("runs")
    .description("runs, newest first, with their status, model and task")
    .option("--first <n>", "how many", int(1), 50)
    .option("--json", "print JSON");
  examples(connectionOptions(runs), "skillscope runs --json");
  runs.action(
    action<RunsOptions>(async (o) => {
      const data = await withConnection(o, {}, ({ transport }) => transport.execute(RunsDocument, { first: o.first }));
      const rows = data.runs.edges.map((e) => e.node);
      if (o.json) {
        printJson({ totalCount: data.runs.totalCount, runs: rows });
        return;
      }
      process.stdout.write(table(["id", "status", "created", "model", "task", "error"], rows.map((r) => [r.id, r.status.toLowerCase(), r.createdAt, clip(r.model.path, 40), r.task.name, clip(r.error, 50)])));
    }),
  );
}
