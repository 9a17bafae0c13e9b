import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "Bounds every request must respect." })
export class ServerLimits {
  @Field(() => Int, { description: "Deepest field nesting of one operation." })
  maxDepth!: number;

  @Field(() => Int, { description: "Largest estimated cost of one operation (list fields count times first/k)." })
  maxComplexity!: number;

  @Field(() => Int, { description: "Largest first/k a list argument accepts." })
  maxPageSize!: number;

  @Field(() => Int, { description: "Largest HTTP request body in bytes." })
  maxBodyBytes!: number;
}

@ObjectType({ description: "This server and what the caller may do on it." })
export class ServerInfo {
  @Field()
  version!: string;

  @Field({ description: "True when the request carried the server's bearer token (mutations allowed)." })
  canWrite!: boolean;

  @Field(() => ServerLimits)
  limits!: ServerLimits;
}
