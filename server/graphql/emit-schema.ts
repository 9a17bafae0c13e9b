/** Writes schema/schema.graphql from the resolvers (`npm run schema`). */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { printApiSchema } from "./print-schema.js";

const target = fileURLToPath(new URL("../../../schema/schema.graphql", import.meta.url));
await writeFile(target, await printApiSchema());
console.log(`wrote ${target}`);
