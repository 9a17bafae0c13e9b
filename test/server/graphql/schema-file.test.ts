import "reflect-metadata";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { printApiSchema } from "../../../server/graphql/print-schema.js";

const committed = fileURLToPath(new URL("../../../../schema/schema.graphql", import.meta.url));

it("schema/schema.graphql matches the resolvers", async () => {
  const fresh = await printApiSchema();
  const onDisk = await readFile(committed, "utf8").catch(() => "");
  assert.ok(onDisk === fresh, "schema/schema.graphql is stale or missing: run `npm run schema` and commit the result");
});
