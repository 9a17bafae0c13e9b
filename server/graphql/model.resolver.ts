import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { loadModelDir } from "../../gpu-runner/hf/model-dir.js";
import type { GraphQLContext } from "./context.js";
import { parseId } from "./ids.js";
import { Model } from "./model.type.js";
import { toModel } from "./records.js";
import { resolveInsideRoots } from "./roots.js";

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], { description: "Every registered model, oldest first." })
  async models(@Ctx() { services }: GraphQLContext): Promise<Model[]> {
    return (await services.store.listModels()).map(toModel);
  }

  @Query(() => Model, { description: "One registered model by id." })
  async model(@Arg("id", () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Model> {
    return toModel(await services.store.getModel(parseId(id, "id")));
  }

  @Mutation(() => Model, {
    description:
      "Registers a Hugging Face checkpoint folder (inside the server's model roots) after checking its config, weights index and tokenizer, " +
      "every file of which must resolve inside the roots too. A folder already registered (same real path) returns that model.",
  })
  async registerModel(@Arg("path") path: string, @Ctx() { services }: GraphQLContext): Promise<Model> {
    const dir = await resolveInsideRoots(path, services.modelRoots, "path", "model");
    const { config } = loadModelDir(dir, { requireTokenizer: true, roots: services.modelRoots });
    const id = await services.store.addModel({ path: dir, family: config.modelType, config });
    return toModel(await services.store.getModel(id));
  }
}
