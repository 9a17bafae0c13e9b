import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { generate, loadCodegenConfig } from "@graphql-codegen/cli";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const COMMITTED = "clients/client/generated/";

describe("committed client types", () => {
  it("match what `npm run codegen` makes from schema/schema.graphql and documents.ts", async () => {
    const { config } = await loadCodegenConfig({ configFilePath: join(ROOT, "clients/client/codegen.yml") });
    const target = config.generates[COMMITTED];
    assert.ok(target, `codegen.yml must generate ${COMMITTED}`);
    const out = await mkdtemp(join(tmpdir(), "skillscope-codegen-"));
    try {
      await generate({ ...config, cwd: ROOT, silent: true, generates: { [`${out}/`]: target } }, true);
      const files = (await readdir(out)).sort();
      assert.deepEqual((await readdir(join(ROOT, COMMITTED))).sort(), files, "same generated files");
      for (const file of files) {
        const fresh = await readFile(join(out, file), "utf8");
        const committed = await readFile(join(ROOT, COMMITTED, file), "utf8");
        assert.ok(fresh === committed, `${COMMITTED}${file} is stale: run \`npm run codegen\` and commit the result`);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
