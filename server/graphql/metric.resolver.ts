import { Arg, Ctx, Field, Float, ID, InputType, Mutation, Resolver } from "type-graphql";
import { addMetric } from "./added-metric.js";
import type { GraphQLContext } from "./context.js";
import { parseId } from "./ids.js";
import { Metric, MetricKind } from "./run.type.js";

@InputType({ description: "A metric value of one validation sample." })
class SampleValueInput {
  @Field()
  sampleId!: string;

  @Field(() => Float)
  value!: number;
}

@Resolver(() => Metric)
export class MetricResolver {
  @Mutation(() => Metric, {
    description: "Adds a metric to a finished run (samples left out have no value) and scores every stored neuron against it.",
  })
  async addMetric(
    @Arg("runId", () => ID) runIdArg: string,
    @Arg("name") name: string,
    @Arg("values", () => [SampleValueInput]) values: SampleValueInput[],
    @Arg("description", () => String, { nullable: true }) description: string | null | undefined,
    @Ctx() { services }: GraphQLContext,
  ): Promise<Metric> {
    const runId = parseId(runIdArg, "runId");
    const trimmed = name.trim();
    await addMetric(services.store, runId, trimmed, values.map((v) => ({ id: v.sampleId, value: v.value })), description ?? undefined);
    return { name: trimmed, kind: MetricKind.ADDED, description: description ?? null };
  }
}
