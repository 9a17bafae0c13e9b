import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { serveFailure, startServe } from "./harness.js";

/**
 * A data dir or database path the server cannot use stops `skillscope serve` at start with a
 * message naming the path and the cause (exit code 1), and leaves what is there untouched.
 * (Permission bits do not stop root, which CI may be: the cases use paths no user can write.)
 */
let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), "skillscope-startup-"));
  writeFileSync(join(tmp, "a-file"), "not a folder\n");
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const CASES: { name: string; args: () => string[]; message: RegExp }[] = [
  { name: "a data dir under a regular file", args: () => ["--data-dir", join(tmp, "a-file", "data")], message: /ENOTDIR.*a-file\/data/ },
  { name: "a database under a regular file", args: () => ["--data-dir", join(tmp, "d1"), "--db", join(tmp, "a-file", "x.duckdb")], message: /opening .*a-file\/x\.duckdb.*Not a directory/ },
  { name: "a database on a read-only filesystem", args: () => ["--data-dir", join(tmp, "d2"), "--db", "/proc/skillscope.duckdb"], message: /opening \/proc\/skillscope\.duckdb/ },
  { name: "a database file that is not DuckDB", args: () => ["--data-dir", join(tmp, "d3"), "--db", join(tmp, "garbage.duckdb")], message: /garbage\.duckdb.*not a valid DuckDB database/ },
  { name: "a token file that holds no token", args: () => ["--data-dir", join(tmp, "bad-token")], message: /bad-token\/token: holds no usable token/ },
];

for (const c of CASES) {
  it(`refuses ${c.name} at start, with a clear message`, async () => {
    writeFileSync(join(tmp, "garbage.duckdb"), "garbage, not a database\n");
    mkdirSync(join(tmp, "bad-token"), { recursive: true });
    writeFileSync(join(tmp, "bad-token", "token"), "short\n");
    const { code, output } = await serveFailure(c.args());
    assert.equal(code, 1, output);
    assert.match(output, /^skillscope serve: /m);
    assert.match(output, c.message);
    assert.doesNotMatch(output, /\n\s+at /, "no stack trace");
    assert.equal(readFileSync(join(tmp, "garbage.duckdb"), "utf8"), "garbage, not a database\n", "the file is untouched");
    assert.equal(readFileSync(join(tmp, "bad-token", "token"), "utf8"), "short\n");
  });
}

it("a database another server holds is refused as locked, and the holder keeps serving", async () => {
  const dataDir = join(tmp, "held");
  const holder = await startServe(dataDir);
  try {
    const { code, output } = await serveFailure(["--data-dir", dataDir]);
    assert.equal(code, 1, output);
    assert.match(output, /another process/);
    const res = await fetch(`${holder.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(readdirSync(dataDir).filter((f) => !f.startsWith("skillscope.duckdb")).sort(), ["token"]);
  } finally {
    await holder.stop();
  }
});
