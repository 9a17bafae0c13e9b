import { GraphQLJSON } from "graphql-scalars";
import { Field, ID, ObjectType } from "type-graphql";

@ObjectType({ description: "A registered Hugging Face checkpoint folder." })
export class Model {
  @Field(() => ID)
  id!: string;

  @Field({ description: "Folder of the checkpoint on the server." })
  path!: string;

  @Field({ description: "Architecture family: gpt2, llama or qwen2." })
  family!: string;

  @Field(() => GraphQLJSON, { description: "The checkpoint's config.json." })
  config!: unknown;

  @Field()
  createdAt!: Date;
}
