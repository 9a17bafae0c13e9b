/**
 * `npm start` / `skillscope demo`: the server with the paper's three experiments on the demo model
 * (`demo/model`, trained by `npm run pretrain`; `demo/tasks`). It registers the model and tasks and
 * queues one run per experiment through the public GraphQL API, unless earlier starts already did:
 * a restart reuses what is done, resumes what was interrupted and only queues what is missing.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, type RunningServer, type ServerOptions } from "./http/server.js";
import type { RunOptions } from "./runs/run-options.js";

export const DEMO_DIR = fileURLToPath(new URL("../../demo/", import.meta.url));

/** The paper's first three experiments, each a task of the demo and the metric it is read with. */
export const DEMO_EXPERIMENTS = [
  { task: "sentiment", metric: "label", reading: "top neurons separate the classes" },
  { task: "nli-hans", metric: "lexical_overlap", reading: "HANS lexical-overlap neurons: they split overlap within each label" },
  { task: "arith", metric: "loss", reading: "low-activation samples expose the last-digit shortcut" },
] as const;

/** The prompt starts as 20 copies of the filler word the demo model saw in that gap during pretraining. */
export const DEMO_RUN_OPTIONS: RunOptions = { promptLength: 20, initText: "_", steps: 150, batchSize: 16, lr: 0.03, evalEvery: 25, patience: 3, seed: 1 };

export interface DemoOptions extends Omit<ServerOptions, "modelRoots" | "taskRoots"> {
  /** Folder with model/ and tasks/ (the repository's demo/ by default). */
  demoDir?: string;
  runOptions?: RunOptions;
  /** Told what the demo does, line by line. */
  log?: (line: string) => void;
}

export interface DemoServer {
  server: RunningServer;
  /** Run id per experiment task name. */
  runs: Record<string, string>;
}

type Gql = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export async function startDemo(options: DemoOptions): Promise<DemoServer> {
  const demoDir = resolve(options.demoDir ?? DEMO_DIR);
  const modelDir = join(demoDir, "model");
  if (!existsSync(join(modelDir, "model.safetensors"))) {
    throw new Error(`no demo model in ${modelDir}: build it once with \`npm run pretrain\` (about 30 minutes on 2 cores)`);
  }
  const log = options.log ?? (() => {});
  const server = await startServer({ ...options, modelRoots: [demoDir], taskRoots: [demoDir] });
  try {
    const token = (await readFile(join(options.dataDir, "token"), "utf8")).trim();
    const gql: Gql = async (query, variables = {}) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: { message: string }[] };
      if (body.errors?.length) throw new Error(`demo setup: ${body.errors[0].message}`);
      return body.data as never;
    };
    const runs = await ensureExperiments(gql, demoDir, modelDir, options.runOptions ?? DEMO_RUN_OPTIONS, log);
    return { server, runs };
  } catch (e) {
    await server.close();
    throw e;
  }
}

async function ensureExperiments(gql: Gql, demoDir: string, modelDir: string, runOptions: RunOptions, log: (line: string) => void): Promise<Record<string, string>> {
  const state = await gql<{
    models: { id: string; path: string }[];
    tasks: { id: string; name: string }[];
    runs: { edges: { node: { id: string; status: string; task: { name: string } } }[] };
  }>(`{ models { id path } tasks { id name } runs(first: 1000) { edges { node { id status task { name } } } } }`);

  let modelId = state.models.find((m) => resolve(m.path) === modelDir)?.id;
  if (!modelId) {
    modelId = (await gql<{ registerModel: { id: string } }>(`mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: modelDir })).registerModel.id;
    log(`registered the demo model (${modelDir})`);
  }
  const templates = JSON.parse(await readFile(join(demoDir, "tasks", "templates.json"), "utf8")) as Record<string, string>;
  const runs: Record<string, string> = {};
  for (const exp of DEMO_EXPERIMENTS) {
    const name = `demo-${exp.task}`;
    let taskId = state.tasks.find((t) => t.name === name)?.id;
    if (!taskId) {
      const input = { name, path: join(demoDir, "tasks", `${exp.task}.jsonl`), template: templates[exp.task] };
      taskId = (await gql<{ importTask: { id: string } }>(`mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`, { i: input })).importTask.id;
      log(`imported task ${name}`);
    }
    // newest first: the latest run of this experiment decides what to do
    const existing = state.runs.edges.map((e) => e.node).find((r) => r.task.name === name && r.status !== "FAILED" && r.status !== "CANCELLED");
    if (existing?.status === "INTERRUPTED") {
      await gql(`mutation ($id: ID!) { resumeRun(id: $id) { id } }`, { id: existing.id });
      log(`resumed run ${existing.id} (${name}, metric ${exp.metric})`);
      runs[exp.task] = existing.id;
    } else if (existing) {
      runs[exp.task] = existing.id;
      log(`run ${existing.id} (${name}) is ${existing.status.toLowerCase()}`);
    } else {
      const started = await gql<{ startRun: { id: string } }>(
        `mutation ($m: ID!, $t: ID!, $o: RunOptionsInput) { startRun(modelId: $m, taskId: $t, options: $o) { id } }`,
        { m: modelId, t: taskId, o: runOptions },
      );
      runs[exp.task] = started.startRun.id;
      log(`queued run ${started.startRun.id}: ${name}, read with metric "${exp.metric}" (${exp.reading})`);
    }
  }
  return runs;
}
