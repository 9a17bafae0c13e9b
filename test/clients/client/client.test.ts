import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient, graphqlEndpoints } from "../../../clients/client/client.js";
import { ConnectionError, GraphQLRequestError } from "../../../clients/client/errors.js";
import { RegisterModelDocument, RunStatusSubscription, ServerInfoDocument } from "../../../clients/client/documents.js";
import { startServer, type RunningServer } from "../../../server/http/server.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const MODELS = join(ROOT, "test/fixtures/models");

describe("typed client against a real server on 127.0.0.1", () => {
  let dataDir: string;
  let server: RunningServer;
  let token: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "skillscope-client-"));
    server = await startServer({ host: "127.0.0.1", port: 0, dataDir, modelRoots: [MODELS] });
    token = (await readFile(join(dataDir, "token"), "utf8")).trim();
  });

  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("queries over HTTP; the token decides canWrite", async () => {
    const anonymous = createClient({ url: server.url });
    const writer = createClient({ url: `${server.url}/graphql`, token });
    try {
      const a = await anonymous.query(ServerInfoDocument);
      const w = await writer.query(ServerInfoDocument);
      assert.equal(a.serverInfo.canWrite, false);
      assert.equal(w.serverInfo.canWrite, true);
      assert.match(w.serverInfo.version, /^\d+\.\d+\.\d+/);
    } finally {
      await Promise.all([anonymous.close(), writer.close()]);
    }
  });

  it("mutates with the token and gets a typed UNAUTHENTICATED error without it", async () => {
    const path = join(MODELS, "gpt2-tiny");
    const anonymous = createClient({ url: server.url });
    const writer = createClient({ url: server.url, token });
    try {
      await assert.rejects(anonymous.mutate(RegisterModelDocument, { path }), (e: unknown) => e instanceof GraphQLRequestError && e.code === "UNAUTHENTICATED");
      const { registerModel } = await writer.mutate(RegisterModelDocument, { path });
      assert.equal(registerModel.family, "gpt2");
      assert.equal(registerModel.path, path);
      await assert.rejects(writer.mutate(RegisterModelDocument, { path: "/nonexistent/model" }), (e: unknown) => e instanceof GraphQLRequestError && e.code !== undefined);
    } finally {
      await Promise.all([anonymous.close(), writer.close()]);
    }
  });

  it("subscribes over graphql-ws: the current state first, then each change in order", async () => {
    const client = createClient({ url: server.url, token });
    const runId = "4242";
    server.live.publish("RUN_STATUS", runId, { runId, status: "training", at: new Date("2026-01-01T00:00:00Z") });
    const events = client.subscribe(RunStatusSubscription, { runId });
    try {
      const first = await events.next();
      assert.equal(first.done, false);
      assert.equal(first.value!.runStatus.status, "TRAINING");
      assert.equal(first.value!.runStatus.at, "2026-01-01T00:00:00.000Z");
      // The snapshot came through, so the server-side subscription is live.
      server.live.publish("RUN_STATUS", runId, { runId, status: "extracting", at: new Date() });
      server.live.publish("RUN_STATUS", runId, { runId, status: "failed", error: "boom", at: new Date() });
      const second = await events.next();
      const third = await events.next();
      assert.equal(second.value!.runStatus.status, "EXTRACTING");
      assert.deepEqual([third.value!.runStatus.status, third.value!.runStatus.error], ["FAILED", "boom"]);
    } finally {
      await client.close();
    }
    // close() ended the open subscription instead of leaving it pending.
    assert.deepEqual(await events.next(), { done: true, value: undefined });
  });

  it("ends a quiet subscription on return() without waiting for an event", async () => {
    const client = createClient({ url: server.url });
    const events = client.subscribe(RunStatusSubscription, { runId: "999999" });
    const pending = events.next();
    await new Promise((r) => setTimeout(r, 100));
    await events.return!();
    assert.deepEqual(await pending.then((r) => r.done, () => true), true);
    await client.close();
  });

  it("reports an unreachable server as a ConnectionError naming the URL", async () => {
    const client = createClient({ url: "http://127.0.0.1:9" });
    await assert.rejects(client.query(ServerInfoDocument), (e: unknown) => e instanceof ConnectionError && /127\.0\.0\.1:9/.test((e as Error).message));
    await client.close();
  });
});

describe("graphqlEndpoints", () => {
  it("maps a base URL to the HTTP and WebSocket endpoints", () => {
    assert.deepEqual(graphqlEndpoints("http://127.0.0.1:4000"), { http: "http://127.0.0.1:4000/graphql", ws: "ws://127.0.0.1:4000/graphql" });
    assert.deepEqual(graphqlEndpoints("https://x.org/api/graphql"), { http: "https://x.org/api/graphql", ws: "wss://x.org/api/graphql" });
  });

  it("refuses what is not an http(s) URL", () => {
    assert.throws(() => graphqlEndpoints("localhost:4000"), ConnectionError);
    assert.throws(() => graphqlEndpoints("not a url"), ConnectionError);
  });
});
