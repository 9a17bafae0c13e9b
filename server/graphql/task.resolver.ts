import { GraphQLJSON } from "graphql-scalars";
import { Arg, Ctx, Field, FieldResolver, Float, ID, InputType, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "./context.js";
import { ApiError, badInput } from "./errors.js";
import { parseId } from "./ids.js";
import { toTask } from "./records.js";
import { resolveInsideRoots } from "./roots.js";
import { importTask } from "./task-import.js";
import { Task } from "./task.type.js";

@InputType({ description: "A task to import: rows from a file inside the server's task roots, or inline." })
class ImportTaskInput {
  @Field()
  name!: string;

  @Field({ description: "Instruction template with {field} placeholders ({{ and }} for literal braces)." })
  template!: string;

  @Field(() => String, { nullable: true, description: "Absolute path of a .jsonl, .csv or .parquet file on the server." })
  path?: string | null;

  @Field(() => [GraphQLJSON], { nullable: true, description: "Rows as JSON objects (id, input fields, answer and/or label, split)." })
  rows?: unknown[] | null;

  @Field(() => GraphQLJSON, { nullable: true, description: 'Label -> answer text, e.g. {"0": "negative", "1": "positive"}.' })
  verbalizer?: unknown;

  @Field(() => Float, { defaultValue: 0.2, description: "Share of rows without a split that go to validation." })
  valFraction!: number;

  @Field(() => Int, { defaultValue: 0, description: "Seed of the split assignment." })
  seed!: number;
}

/** Inline rows one request may carry (larger tasks come as files). */
const MAX_INLINE_ROWS = 10_000;

@Resolver(() => Task)
export class TaskResolver {
  @Query(() => [Task], { description: "Every imported task, oldest first." })
  async tasks(@Ctx() { services }: GraphQLContext): Promise<Task[]> {
    return (await services.store.listTasks()).map(toTask);
  }

  @Query(() => Task, { description: "One imported task by id." })
  async task(@Arg("id", () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Task> {
    return toTask(await services.store.getTask(parseId(id, "id")));
  }

  @FieldResolver(() => Int, { description: "Number of samples, in one split (train or val) or all." })
  async sampleCount(
    @Root() task: Task,
    @Arg("split", () => String, { nullable: true }) split: string | null | undefined,
    @Ctx() { services }: GraphQLContext,
  ): Promise<number> {
    return (await services.store.listSamples(Number(task.id), split ?? undefined)).length;
  }

  @Mutation(() => Task, { description: "Imports a task: validates every row (all or nothing), splits, renders the template." })
  async importTask(@Arg("input", () => ImportTaskInput) input: ImportTaskInput, @Ctx() { services }: GraphQLContext): Promise<Task> {
    if ((input.path == null) === (input.rows == null)) throw badInput("input", "give exactly one of path and rows");
    if (input.rows && input.rows.length > MAX_INLINE_ROWS) {
      throw new ApiError("LIMIT_EXCEEDED", `input.rows: ${input.rows.length} rows inline is above ${MAX_INLINE_ROWS}; put them in a file under a task root and pass its path`);
    }
    const source = input.path != null ? { path: await resolveInsideRoots(input.path, services.taskRoots, "input.path", "task") } : { rows: input.rows! };
    const id = await importTask(services.store, {
      name: input.name,
      template: input.template,
      source,
      verbalizer: input.verbalizer,
      valFraction: input.valFraction,
      seed: input.seed,
    });
    return toTask(await services.store.getTask(id));
  }
}
