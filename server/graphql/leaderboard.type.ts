import { Field, Float, ID, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "A neuron's place on a live leaderboard." })
export class LeaderboardNeuron {
  @Field(() => ID, { description: "L{layer}.N{index}" })
  id!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int)
  index!: number;

  @Field(() => Float, { description: "Signed Pearson r at the best position." })
  r!: number;

  @Field(() => Int, { description: "Soft-token position where |r| is largest." })
  bestPosition!: number;

  @Field(() => Int, { description: "1 = largest |r|." })
  rank!: number;
}

@ObjectType({ description: "Top neurons of a run for one metric by |r|, as statistics stream in." })
export class NeuronLeaderboard {
  @Field(() => ID)
  runId!: string;

  @Field()
  metric!: string;

  @Field(() => Int, {
    description: "Validation samples the statistics include: while a run is live, those streamed so far (the least-advanced layer's count); after it, all.",
  })
  samplesSeen!: number;

  @Field(() => [LeaderboardNeuron])
  neurons!: LeaderboardNeuron[];
}
