import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TaskFileError } from "../../../server/tasks/errors.js";
import { parseInlineRows, readTaskFile, type ReadTaskOptions } from "../../../server/tasks/read.js";
import type { TaskRow } from "../../../server/tasks/types.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const fixture = (name: string) => join(root, "test/fixtures/tasks", name);

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), "skillscope-tasks-")); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function writeTemp(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Asserts the promise rejects with a TaskFileError at (file, line, field) whose message contains `text`. */
async function rejectsAt(
  promise: Promise<unknown>, where: { file: string; line: number | undefined; field: string | undefined }, text: string,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TaskFileError, `expected TaskFileError, got ${String(err)}`);
    assert.equal(err.file, where.file);
    assert.equal(err.line, where.line);
    assert.equal(err.field, where.field);
    assert.ok(err.message.includes(text), `message "${err.message}" lacks "${text}"`);
    return true;
  });
}

const SPLIT = { valFraction: 0.5, seed: 7 };

/** The parts of a row that must not depend on the file format. */
const essence = (r: TaskRow) => ({ id: r.id, text: r.fields["text"], label: r.label, split: r.split, columns: r.columns });

describe("readTaskFile: good files", () => {
  test("JSONL, CSV and Parquet holding the same rows read the same", async () => {
    const jsonl = await readTaskFile(fixture("sst.jsonl"), { split: SPLIT });
    const csv = await readTaskFile(fixture("sst.csv"), { split: SPLIT });
    const parquet = await readTaskFile(fixture("sst.parquet"), { split: SPLIT });
    assert.equal(jsonl.length, 6);
    // The CSV's s4 text holds a quoted newline; the others a space.
    const csvFixed = csv.map((r) => ({ ...essence(r), text: r.fields["text"]!.replace("\n", " ") }));
    assert.deepEqual(csvFixed, jsonl.map(essence));
    assert.deepEqual(parquet.map(essence), jsonl.map(essence));
  });

  test("JSONL row contents: ids, labels, given splits, metric columns with NaN for gaps", async () => {
    const rows = await readTaskFile(fixture("sst.jsonl"), { split: SPLIT });
    assert.deepEqual(rows.map((r) => r.id), ["s1", "s2", "s3", "s4", "s5", "s6"]);
    assert.deepEqual(rows.map((r) => r.line), [1, 2, 3, 5, 6, 7]); // line 4 is blank
    assert.deepEqual(rows.map((r) => r.label), [1, 0, 1, 0, 0, 1]);
    assert.equal(rows[0]!.split, "train");
    assert.equal(rows[4]!.split, "val");
    assert.deepEqual(rows[0]!.columns, { n_words: 5, has_negation: 0 });
    assert.ok(Number.isNaN(rows[4]!.columns["n_words"]));
    assert.equal(rows[1]!.columns["has_negation"], 1);
    assert.equal(rows[3]!.fields["text"], 'Dull, "clever" and overlong.');
    assert.equal(rows[0]!.answer, undefined);
  });

  test("CSV: quoted fields, start line of a multi-line record, inferred numeric and boolean columns", async () => {
    const rows = await readTaskFile(fixture("sst.csv"), { split: SPLIT });
    assert.deepEqual(rows.map((r) => r.line), [2, 3, 4, 5, 7, 8]);
    assert.equal(rows[0]!.fields["text"], "A gripping, beautifully acted film.");
    assert.equal(rows[3]!.fields["text"], 'Dull, "clever" and\noverlong.');
    assert.equal(typeof rows[0]!.label, "number");
    assert.equal(rows[1]!.columns["has_negation"], 1); // "TRUE"
    assert.equal(rows[1]!.fields["has_negation"], "TRUE"); // templates see the text as written
  });

  test("CSV keeps numeric-looking text exactly in fields and answers; ids default to the line number", async () => {
    const path = await writeTemp("codes.csv", "code,answer,score\r\n007,0042,1.5\r\n010,10,-2e1\r\n");
    const rows = await readTaskFile(path, { split: SPLIT });
    assert.deepEqual(rows.map((r) => r.id), ["2", "3"]);
    assert.equal(rows[0]!.fields["code"], "007");
    assert.equal(rows[0]!.answer, "0042");
    assert.deepEqual(rows.map((r) => r.columns["score"]), [1.5, -20]);
    assert.deepEqual(rows.map((r) => r.columns["code"]), [7, 10]);
  });

  test("CSV: a boolean label column gives \"true\" / \"false\" labels whatever the case", async () => {
    const path = await writeTemp("bool-label.csv", "text,label\na,TRUE\nb,false\nc,True\n");
    const rows = await readTaskFile(path, { split: SPLIT });
    assert.deepEqual(rows.map((r) => r.label), ["true", "false", "true"]);
  });

  test("JSONL: mixed-type column is text, not a metric; number answers become text; ids from line numbers", async () => {
    const path = await writeTemp("mixed.jsonl", '{"x": 1, "answer": 42}\n{"x": "one", "answer": "7"}\n');
    const rows = await readTaskFile(path, { split: SPLIT });
    assert.deepEqual(rows.map((r) => r.id), ["1", "2"]);
    assert.deepEqual(rows.map((r) => r.answer), ["42", "7"]);
    assert.deepEqual(rows[0]!.columns, {});
    assert.deepEqual(rows.map((r) => r.fields["x"]), ["1", "one"]);
  });

  test("a UTF-8 BOM is dropped; .ndjson is JSONL", async () => {
    const path = await writeTemp("bom.ndjson", "\ufeff" + '{"id": "a", "answer": "x"}\n{"id": "b", "answer": "y"}');
    const rows = await readTaskFile(path, { split: SPLIT });
    assert.deepEqual(rows.map((r) => r.id), ["a", "b"]);
  });
});

describe("readTaskFile: bad input gives TaskFileError(file, line, field)", () => {
  const cases: { name: string; file: string; content: string | Uint8Array; line: number | undefined; field: string | undefined; text: string; options?: ReadTaskOptions }[] = [
    { name: "invalid JSON", file: "bad-json.jsonl", content: '{"answer": "a"}\n{"answer": "b"}\n{"answer": "c",}\n', line: 3, field: undefined, text: "invalid JSON" },
    { name: "a line that is not an object", file: "array.jsonl", content: '{"answer": "a"}\n[1, 2]\n', line: 2, field: undefined, text: "not a JSON object" },
    { name: "neither answer nor label", file: "no-target.jsonl", content: '{"answer": "a"}\n{"text": "b"}\n', line: 2, field: "answer", text: "neither" },
    { name: "duplicate ids", file: "dup.jsonl", content: '{"id": 1, "answer": "a"}\n{"id": 2, "answer": "b"}\n{"id": "1", "answer": "c"}\n', line: 3, field: "id", text: "line 1" },
    { name: "duplicate ids in CSV", file: "dup.csv", content: "id,answer\nx,1\ny,2\nx,3\n", line: 4, field: "id", text: "already appears on line 2" },
    { name: "non-UTF-8 bytes in JSONL", file: "latin1.jsonl", content: Buffer.concat([Buffer.from('{"answer": "a"}\n{"answer": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]), line: 2, field: undefined, text: "UTF-8" },
    { name: "non-UTF-8 bytes in CSV", file: "latin1.csv", content: Buffer.concat([Buffer.from("text,answer\nok,a\nok,b\nna"), Buffer.from([0xef, 0x76]), Buffer.from(",c\n")]), line: 4, field: undefined, text: "UTF-8" },
    { name: "a line over the limit", file: "huge.jsonl", content: `{"answer": "a"}\n{"answer": "${"x".repeat(200)}"}\n`, line: 2, field: undefined, text: "over the 100-byte limit", options: { maxLineBytes: 100 } },
    { name: "an empty file", file: "empty.jsonl", content: "", line: undefined, field: undefined, text: "empty" },
    { name: "only blank lines", file: "blank.jsonl", content: "\n  \n\n", line: undefined, field: undefined, text: "no rows" },
    { name: "a CSV with only a header", file: "header.csv", content: "text,answer\n", line: undefined, field: undefined, text: "no rows" },
    { name: "an empty val split", file: "all-train.jsonl", content: '{"answer": "a", "split": "train"}\n{"answer": "b", "split": "train"}\n', line: undefined, field: "split", text: "val has 0" },
    { name: "an empty train split", file: "one-row.jsonl", content: '{"answer": "a"}\n', line: undefined, field: "split", text: "train has 0" },
    { name: "an unknown split", file: "test-split.jsonl", content: '{"answer": "a"}\n{"answer": "b", "split": "test"}\n', line: 2, field: "split", text: '"train", "dev" or "val"' },
    { name: "a label the verbalizer lacks", file: "labels.jsonl", content: '{"label": "pos"}\n{"label": "neg"}\n{"label": "neutral"}\n', line: 3, field: "label", text: "not in the verbalizer", options: { verbalizer: { pos: "positive", neg: "negative" } } },
    { name: "a nested object", file: "nested.jsonl", content: '{"answer": "a", "meta": {"k": 1}}\n', line: 1, field: "meta", text: "an object" },
    { name: "a fractional id", file: "frac-id.jsonl", content: '{"id": 1.5, "answer": "a"}\n', line: 1, field: "id", text: "not an integer" },
    { name: "a CSV row with too many cells", file: "ragged.csv", content: "text,answer\na,b\nc,d,e\n", line: 3, field: undefined, text: "invalid CSV" },
    { name: "a CSV header naming a column twice", file: "dup-header.csv", content: "text,answer,text\na,b,c\n", line: 1, field: "text", text: "twice" },
    { name: "a row lacking a template field", file: "template.jsonl", content: '{"q": "a", "answer": "x"}\n{"answer": "y"}\n', line: 2, field: "q", text: "template", options: { template: "Q: {q}\nA:" } },
    { name: "an unsupported extension", file: "rows.txt", content: "a\n", line: undefined, field: undefined, text: ".jsonl" },
    { name: "a truncated Parquet file", file: "cut.parquet", content: Uint8Array.of(0x50, 0x41, 0x52, 0x31, 1, 2, 3), line: undefined, field: undefined, text: "Parquet" },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const path = await writeTemp(c.file, c.content);
      await rejectsAt(readTaskFile(path, { split: SPLIT, ...c.options }), { file: path, line: c.line, field: c.field }, c.text);
    });
  }

  test("invalid UTF-8 inside a Parquet string column names row and column", async () => {
    const path = fixture("bad-utf8.parquet");
    await rejectsAt(readTaskFile(path, { split: SPLIT }), { file: path, line: 2, field: "text" }, "UTF-8");
  });

  test("a missing file", async () => {
    const path = join(dir, "nope.jsonl");
    await rejectsAt(readTaskFile(path), { file: path, line: undefined, field: undefined }, "ENOENT");
  });
});

describe("parseInlineRows", () => {
  test("validates like a file and numbers rows from 1", () => {
    const rows = parseInlineRows([{ id: "a", premise: "p", hypothesis: "h", label: 0 }, { id: "b", premise: "p", hypothesis: "h", label: 1 }], { split: SPLIT });
    assert.deepEqual(rows.map((r) => [r.id, r.line, r.label]), [["a", 1, 0], ["b", 2, 1]]);
    assert.deepEqual(new Set(rows.map((r) => r.split)), new Set(["train", "val"]));
  });

  test("errors name the row index and field", () => {
    const check = (rows: unknown[], line: number, field: string | undefined, text: string, options?: ReadTaskOptions) =>
      assert.throws(() => parseInlineRows(rows, { split: SPLIT, ...options }), (err: unknown) =>
        err instanceof TaskFileError && err.file === "<inline>" && err.line === line && err.field === field && err.message.includes(text));
    check([{ answer: "a" }, "text"], 2, undefined, "not an object");
    check([{ answer: "a" }, { id: 2 }], 2, "answer", "neither");
    check([{ id: 1, answer: "a" }, { id: 1, answer: "b" }], 2, "id", "already appears");
    check([{ answer: "a" }, { answer: "b", tags: ["x"] }], 2, "tags", "a list");
    check([{ answer: "a" }, { answer: "y".repeat(50) }], 2, "answer", "limit", { maxLineBytes: 10 });
  });
});
