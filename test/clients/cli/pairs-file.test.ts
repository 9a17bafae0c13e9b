import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CliError } from "../../../clients/cli/errors.js";
import { readPairsFile } from "../../../clients/cli/pairs-file.js";

const dir = mkdtempSync(join(tmpdir(), "skillscope-pairs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("readPairsFile", () => {
  it("reads CSV with a sample_id/id/sampleId column, skipping empty values, booleans as 1/0", () => {
    assert.deepEqual(readPairsFile(file("a.csv", "sample_id,value\r\ns1,0.5\ns2,\ns3,-2e3\ns4,true\n")), [
      { sampleId: "s1", value: 0.5 },
      { sampleId: "s3", value: -2000 },
      { sampleId: "s4", value: 1 },
    ]);
    assert.deepEqual(readPairsFile(file("b.csv", "value,id,other\n3,x,9\n")), [{ sampleId: "x", value: 3 }]);
  });

  it("reads JSON as a list of {sampleId, value} or an object of id -> value", () => {
    assert.deepEqual(readPairsFile(file("a.json", '[{"sampleId":"s1","value":1},{"id":7,"value":false}]')), [
      { sampleId: "s1", value: 1 },
      { sampleId: "7", value: 0 },
    ]);
    assert.deepEqual(readPairsFile(file("b.json", '{"s1": 0.25, "s2": -1}')), [
      { sampleId: "s1", value: 0.25 },
      { sampleId: "s2", value: -1 },
    ]);
  });

  const bad: [string, string, string, RegExp][] = [
    ["a header without a value column", "c.csv", "sample_id,score\ns1,1\n", /"value" column/],
    ["a non-numeric CSV value", "d.csv", "id,value\ns1,abc\n", /line 2: value "abc" is not a finite number/],
    ["broken JSON", "e.json", "[{", /not valid JSON/],
    ["a JSON item without a value", "f.json", '[{"sampleId":"s1"}]', /item 0/],
    ["an infinite JSON value", "g.json", '{"s1": "Infinity"}', /key "s1"/],
    ["an empty file", "h.json", "[]", /holds no pairs/],
    ["an unknown extension", "i.txt", "s1 1", /\.csv or \.json/],
  ];
  for (const [what, name, text, message] of bad) {
    it(`refuses ${what} with a CliError naming the file`, () => {
      const path = file(name, text);
      assert.throws(() => readPairsFile(path), (e: unknown) => e instanceof CliError && message.test(e.message) && e.message.includes(path));
    });
  }
});
