import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { PLANTED, startServe, type ServeChild } from "./harness.js";

/**
 * Access rules of a `skillscope serve` process, seen from outside: mutations, exports and /ingest
 * need the token; reads are loopback-only unless --allow-remote-reads; the token file is 0600; and
 * the token never appears in a response or in the process's stdout/stderr, however requests fail.
 */
let tmp: string;
let server: ServeChild;
let open: ServeChild;
/** This machine's first non-loopback IPv4 address: requests to it arrive from a non-loopback address. */
let external: string;
/** Every response body and close reason seen, to search for the token at the end. */
const seen: string[] = [];

function externalIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("this machine has no non-loopback IPv4 interface: the remote-read rules cannot be exercised");
}

/** The URL of `child` through the external address instead of 127.0.0.1. */
const viaExternal = (child: ServeChild) => child.url.replace("0.0.0.0", external).replace("127.0.0.1", external);

async function post(url: string, query: string, headers: Record<string, string> = {}, variables: Record<string, unknown> = {}): Promise<{ status: number; code?: string; body: string }> {
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query, variables }) });
  const body = await res.text();
  seen.push(body);
  const parsed = JSON.parse(body) as { errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, code: parsed.errors?.[0]?.extensions?.code, body };
}

/** Opens a graphql-ws client and runs one query; resolves with its data, or the close code / errors it got. */
async function overWebSocket(url: string, query: string, connectionParams?: Record<string, unknown>): Promise<string> {
  const client = createClient({ url: `${url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams });
  try {
    const r = await client.iterate({ query }).next();
    const text = JSON.stringify(r.value);
    seen.push(text);
    return r.value?.errors?.length ? String(r.value.errors[0]!.extensions?.code) : "data";
  } catch (e) {
    const text = e instanceof Error ? e.message : JSON.stringify(e) ?? String(e);
    seen.push(text);
    if (Array.isArray(e)) return String((e[0] as { extensions?: { code?: string } }).extensions?.code);
    const code = (e as { code?: number }).code;
    return code !== undefined ? `close ${code}` : JSON.stringify(e);
  } finally {
    await client.dispose();
  }
}

before(async () => {
  external = externalIPv4();
  tmp = mkdtempSync(join(tmpdir(), "skillscope-access-"));
  server = await startServe(join(tmp, "data"), ["--host", "0.0.0.0", "--model-root", PLANTED, "--task-root", PLANTED]);
  open = await startServe(join(tmp, "open"), ["--host", "0.0.0.0", "--allow-remote-reads"]);
});

after(async () => {
  await server?.stop();
  await open?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const READ = "{ serverInfo { version canWrite } }";

describe("the token file", () => {
  it("is made 0600 in a 0700 data dir", () => {
    assert.equal(statSync(join(tmp, "data", "token")).mode & 0o777, 0o600);
    assert.equal(statSync(join(tmp, "data")).mode & 0o777, 0o700);
    assert.match(server.token, /^[0-9a-f]{64}$/);
  });
});

describe("reads", () => {
  it("are open on loopback", async () => {
    const r = await post(server.url.replace("0.0.0.0", "127.0.0.1"), READ);
    assert.equal(r.status, 200, r.body);
  });

  it("from another address need the token, whatever X-Forwarded-For claims", async () => {
    const url = viaExternal(server);
    assert.equal((await post(url, READ)).code, "UNAUTHENTICATED");
    assert.equal((await post(url, READ, { "x-forwarded-for": "127.0.0.1", forwarded: "for=127.0.0.1" })).status, 401);
    assert.equal((await post(url, READ, { authorization: `Bearer ${server.token}x` })).status, 401);
    const authed = await post(url, READ, { authorization: `Bearer ${server.token}` });
    assert.equal(authed.status, 200, authed.body);
    assert.match(authed.body, /"canWrite":true/);
  });

  it("over WebSocket from another address need the token too (4403 without it)", async () => {
    const url = viaExternal(server);
    assert.equal(await overWebSocket(url, READ), "close 4403");
    assert.equal(await overWebSocket(url, READ, { authorization: "Bearer wrong-token" }), "close 4403");
    assert.equal(await overWebSocket(url, READ, { authorization: `Bearer ${server.token}` }), "data");
  });

  it("from another address are open with --allow-remote-reads, mutations still need the token", async () => {
    const url = viaExternal(open);
    const r = await post(url, READ);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /"canWrite":false/);
    assert.equal(await overWebSocket(url, READ), "data");
    assert.equal((await post(url, `mutation { deleteRun(id: "1") }`)).code, "UNAUTHENTICATED");
  });
});

describe("writes", () => {
  const loopback = () => server.url.replace("0.0.0.0", "127.0.0.1");
  const mutations = [
    `mutation { exportRun(id: "1") }`,
    `mutation { exportRun(id: "1", name: "../../etc") }`,
    `mutation { deleteRun(id: "1") }`,
    `mutation { registerModel(path: "${join(PLANTED, "model")}") { id } }`,
  ];

  it("mutations and exports need the token, also on loopback, and a wrong token is no token", async () => {
    for (const m of mutations) {
      for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${server.token.slice(0, 63)}` }, { authorization: `Basic ${server.token}` }, { authorization: server.token }]) {
        const r = await post(loopback(), m, headers);
        assert.equal(r.status, 401, `${m} with ${JSON.stringify(Object.keys(headers))}: ${r.body}`);
        assert.equal(r.code, "UNAUTHENTICATED");
      }
    }
    assert.equal(await overWebSocket(loopback(), mutations[0]!), "UNAUTHENTICATED");
  });

  it("a wrong token on /ingest is refused with 401 before the upgrade", async () => {
    const status = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${loopback().replace("http", "ws")}/ingest`, { headers: { authorization: `Bearer ${server.token}0` } });
      ws.on("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
      ws.on("open", () => resolve("open"));
      ws.on("error", (e) => resolve(e.message));
    });
    assert.equal(status, "401");
  });

  it("with the token, failing mutations answer typed errors", async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    assert.equal((await post(loopback(), `mutation { exportRun(id: "424242") }`, auth)).code, "NOT_FOUND");
    assert.equal((await post(loopback(), `mutation { exportRun(id: "1", name: "../x") }`, auth)).code, "BAD_USER_INPUT");
    assert.equal((await post(loopback(), `mutation { registerModel(path: "/etc") { id } }`, auth)).code, "FORBIDDEN");
    assert.equal((await post(loopback(), `mutation { deleteRun(id: "x1") }`, auth)).code, "BAD_USER_INPUT");
  });
});

describe("the token", () => {
  it("never appears in responses, close reasons or the server's output", async () => {
    // The server writes its log to stdout/stderr; give it a moment to flush what the requests above caused.
    await new Promise((r) => setTimeout(r, 200));
    const output = server.output() + open.output();
    assert.ok(output.length > 0, "the server printed its address at least");
    for (const text of [output, ...seen]) {
      assert.ok(!text.includes(server.token), `the token leaked: ${text.slice(0, 300)}`);
      assert.ok(!text.includes(open.token), `the token leaked: ${text.slice(0, 300)}`);
    }
  });
});
