import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Authenticator, bearerToken, isLoopback, loadOrCreateToken, TokenFileError, tokenMatches } from "../../../server/http/auth.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "skillscope-auth-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("loadOrCreateToken", () => {
  it("makes a random 64-hex-digit token with mode 0600 on first start and reuses it", async () => {
    const dir = join(await tempDir(), "nested", "data");
    const token = await loadOrCreateToken(dir);
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal((await stat(join(dir, "token"))).mode & 0o777, 0o600);
    assert.equal(await loadOrCreateToken(dir), token);
    assert.notEqual(await loadOrCreateToken(await tempDir()), token);
  });

  it("tightens a token file others can read to 0600", async () => {
    const dir = await tempDir();
    const file = join(dir, "token");
    await writeFile(file, `${"a".repeat(40)}\n`);
    await chmod(file, 0o644);
    assert.equal(await loadOrCreateToken(dir), "a".repeat(40));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it("refuses a token file without a usable token, naming the file and the fix", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "token"), "short\n", { mode: 0o600 });
    await assert.rejects(loadOrCreateToken(dir), (error: unknown) => {
      assert.ok(error instanceof TokenFileError);
      assert.match(error.message, /token: holds no usable token.*delete the file and restart/);
      return true;
    });
    assert.equal(await readFile(join(dir, "token"), "utf8"), "short\n");
  });
});

describe("token checks", () => {
  it("parses bearer headers", () => {
    assert.equal(bearerToken("Bearer abc"), "abc");
    assert.equal(bearerToken("bearer   abc  "), "abc");
    assert.equal(bearerToken("Basic abc"), undefined);
    assert.equal(bearerToken("Bearer a b"), undefined);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken(["Bearer abc"]), undefined);
  });

  it("compares tokens of any length without throwing", () => {
    assert.equal(tokenMatches("secret-token", "secret-token"), true);
    assert.equal(tokenMatches("secret-token", "secret-tokem"), false);
    assert.equal(tokenMatches("secret-token", "s"), false);
    assert.equal(tokenMatches("secret-token", ""), false);
    assert.equal(tokenMatches("secret-token", undefined), false);
  });

  it("knows loopback addresses", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) assert.equal(isLoopback(a), true, a);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "", undefined, "1270.0.0.1"]) assert.equal(isLoopback(a), false, String(a));
  });
});

describe("Authenticator", () => {
  const token = "t".repeat(64);
  it("opens reads on loopback only, and writes to the token alone", () => {
    const auth = new Authenticator(token, { allowRemoteReads: false });
    assert.deepEqual(auth.check(undefined, "127.0.0.1"), { canRead: true, canWrite: false });
    assert.deepEqual(auth.check(undefined, "192.168.1.5"), { canRead: false, canWrite: false });
    assert.deepEqual(auth.check(`Bearer ${token}`, "192.168.1.5"), { canRead: true, canWrite: true });
    assert.deepEqual(auth.check("Bearer wrong", "127.0.0.1"), { canRead: true, canWrite: false });
  });

  it("opens remote reads when configured", () => {
    const auth = new Authenticator(token, { allowRemoteReads: true });
    assert.deepEqual(auth.check(undefined, "192.168.1.5"), { canRead: true, canWrite: false });
  });
});
