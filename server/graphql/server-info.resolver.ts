import { Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "./context.js";
import { ServerInfo } from "./server-info.type.js";

@Resolver(() => ServerInfo)
export class ServerInfoResolver {
  @Query(() => ServerInfo, { description: "Version, limits, and whether the caller's token allows mutations." })
  serverInfo(@Ctx() { services, auth }: GraphQLContext): ServerInfo {
    const { maxDepth, maxComplexity, maxPageSize, maxBodyBytes } = services.limits;
    return { version: services.version, canWrite: auth.canWrite, limits: { maxDepth, maxComplexity, maxPageSize, maxBodyBytes } };
  }
}
