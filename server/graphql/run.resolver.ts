import { join } from "node:path";
import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { ACTIVE_STATUSES } from "../store/index.js";
import type { JobInfo } from "../runs/run-manager.js";
import type { GraphQLContext } from "./context.js";
import { ApiError, badInput } from "./errors.js";
import { parseId } from "./ids.js";
import { FIELD_COST, pageSize } from "./limits.js";
import { Model } from "./model.type.js";
import { idCursor, parseIdCursor } from "./pagination.js";
import { toModel, toRun, toTask } from "./records.js";
import { RunOptionsInput, toRunOptions } from "./run-options.input.js";
import { RunStatus } from "./run-status.type.js";
import { Job, Metric, Run, RunConnection, RunEvent } from "./run.type.js";
import { Task } from "./task.type.js";

@ArgsType()
class RunsArgs {
  @Field(() => [RunStatus], { nullable: true, description: "Only runs in one of these states." })
  status?: RunStatus[] | null;

  @Field(() => Int, { defaultValue: 20, description: "Page size, 1..1000." })
  first!: number;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page." })
  after?: string | null;
}

/** Export folder names: one path segment of safe characters. */
const EXPORT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

@Resolver(() => Run)
export class RunResolver {
  @Query(() => RunConnection, { description: "Runs, newest first, optionally filtered by status.", complexity: FIELD_COST.rankedPage })
  async runs(@Args() { status, first, after }: RunsArgs, @Ctx() { services }: GraphQLContext): Promise<RunConnection> {
    const size = pageSize(first, "first", services.limits);
    const before = after ? parseIdCursor(after) : Number.POSITIVE_INFINITY;
    const wanted = status && status.length > 0 ? new Set<string>(status) : undefined;
    const matching = (await services.store.listRuns()).filter((r) => !wanted || wanted.has(r.status)).sort((a, b) => b.id - a.id);
    const rest = matching.filter((r) => r.id < before);
    const page = rest.slice(0, size);
    return {
      edges: page.map((r) => ({ cursor: idCursor(r.id), node: toRun(r) })),
      pageInfo: { hasNextPage: rest.length > size, endCursor: page.length > 0 ? idCursor(page[page.length - 1]!.id) : null },
      totalCount: matching.length,
    };
  }

  @Query(() => Run, { description: "One run by id." })
  async run(@Arg("id", () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Run> {
    return toRun(await services.store.getRun(parseId(id, "id")));
  }

  @FieldResolver(() => [Job], { description: "Causal jobs on this run that are queued or running (they share the run queue's slots)." })
  jobs(@Root() run: Run, @Ctx() { services }: GraphQLContext): Job[] {
    return services.runs.listJobs(Number(run.id)).map(toJob);
  }

  @FieldResolver(() => Model)
  async model(@Root() run: Run, @Ctx() { loaders }: GraphQLContext): Promise<Model> {
    return toModel(await loaders.model.load(run.modelId));
  }

  @FieldResolver(() => Task)
  async task(@Root() run: Run, @Ctx() { loaders }: GraphQLContext): Promise<Task> {
    return toTask(await loaders.task.load(run.taskId));
  }

  @FieldResolver(() => [Metric], { description: "Metrics the run's samples have, by name." })
  async metrics(@Root() run: Run, @Ctx() { services }: GraphQLContext): Promise<Metric[]> {
    return services.store.listMetrics(Number(run.id));
  }

  @FieldResolver(() => [RunEvent], { description: "Stored training events after `afterSeq`, oldest first.", complexity: FIELD_COST.rankedPage })
  async events(
    @Root() run: Run,
    @Arg("afterSeq", () => Int, { defaultValue: 0 }) afterSeq: number,
    @Arg("first", () => Int, { defaultValue: 100, description: "At most this many, 1..1000." }) first: number,
    @Ctx() { services }: GraphQLContext,
  ): Promise<RunEvent[]> {
    const size = pageSize(first, "first", services.limits);
    const events = await services.store.listEvents(Number(run.id), afterSeq);
    return events.slice(0, size).map((e) => ({ seq: e.seq, payload: e.payload, createdAt: e.created }));
  }

  @Mutation(() => Run, { description: "Queues a run of a registered model on an imported task." })
  async startRun(
    @Arg("modelId", () => ID) modelId: string,
    @Arg("taskId", () => ID) taskId: string,
    @Arg("options", () => RunOptionsInput, { nullable: true }) options: RunOptionsInput | null | undefined,
    @Ctx() { services }: GraphQLContext,
  ): Promise<Run> {
    const run = await services.runs.start({ modelId: parseId(modelId, "modelId"), taskId: parseId(taskId, "taskId"), options: toRunOptions(options) });
    return toRun(run);
  }

  @Mutation(() => Run, { description: "Cancels a queued or running run; a running one stops at its next batch and keeps a checkpoint." })
  async cancelRun(@Arg("id", () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Run> {
    return toRun(await services.runs.cancel(parseId(id, "id")));
  }

  @Mutation(() => Job, { description: "Cancels a queued job (it never starts) or stops a running one; its mutation then fails with the reason. Returns the job as it was." })
  cancelJob(@Arg("id", () => ID) id: string, @Ctx() { services }: GraphQLContext): Job {
    return toJob(services.runs.cancelJob(id));
  }

  @Mutation(() => Run, { description: "Queues an interrupted, failed or cancelled run again; it continues from its last checkpoint." })
  async resumeRun(@Arg("id", () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Run> {
    return toRun(await services.runs.resume(parseId(id, "id")));
  }

  @Mutation(() => ID, { description: "Deletes a run that is neither queued nor running, with all its data. Returns its id." })
  async deleteRun(@Arg("id", () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<string> {
    const runId = parseId(id, "id");
    const run = await services.store.getRun(runId);
    if (services.runs.isActive(runId) || services.runs.listJobs(runId).length > 0 || (ACTIVE_STATUSES as readonly string[]).includes(run.status)) {
      throw new ApiError("CONFLICT", `run ${runId} is ${run.status}; cancel it and wait until it stops before deleting it`, { status: run.status });
    }
    await services.store.deleteRun(runId);
    services.live.forget(String(runId));
    return String(runId);
  }

  @Mutation(() => String, {
    description: "Writes the run as hive-partitioned Parquet under the server's export folder; returns the folder.",
  })
  async exportRun(
    @Arg("id", () => ID) id: string,
    @Arg("name", () => String, { nullable: true, description: "Folder name under the export root; run-<id> by default." }) name: string | null,
    @Ctx() { services }: GraphQLContext,
  ): Promise<string> {
    const runId = parseId(id, "id");
    const folder = name ?? `run-${runId}`;
    if (!EXPORT_NAME.test(folder)) throw badInput("name", "must be one folder name of letters, digits, '.', '_' or '-' (no slashes)");
    const dir = join(services.exportRoot, folder);
    await services.store.exportRun(runId, dir);
    return dir;
  }
}

function toJob(j: JobInfo): Job {
  return { id: j.id, kind: j.kind, state: j.state, status: j.status };
}
