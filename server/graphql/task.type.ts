import { GraphQLJSON } from "graphql-scalars";
import { Field, ID, ObjectType } from "type-graphql";

@ObjectType({ description: "An imported task: rows, instruction template and verbalizer." })
export class Task {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: "Where the rows came from (file path or <inline>)." })
  source!: string;

  @Field({ description: "Instruction template with {field} placeholders." })
  template!: string;

  @Field(() => GraphQLJSON, { nullable: true, description: "Label -> answer text, when the task has labels." })
  verbalizer!: unknown;

  @Field()
  createdAt!: Date;
}
