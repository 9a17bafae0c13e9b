import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { CLI } from "./run-cli.js";

describe("skillscope runner", () => {
  it("connects with the bearer token, serves until the server closes the socket, then exits 0", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/ingest" });
    await new Promise((r) => wss.once("listening", r));
    const { port } = wss.address() as AddressInfo;
    const authorization = new Promise<string | undefined>((resolve) =>
      wss.once("connection", (socket, request) => {
        resolve(request.headers.authorization);
        setTimeout(() => socket.close(), 100);
      }),
    );
    const child = spawn(process.execPath, [CLI, "runner", "--connect", `ws://127.0.0.1:${port}/ingest`], {
      env: { ...process.env, SKILLSCOPE_TOKEN: "t0ken-from-env" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += String(d)));
    const exit = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    wss.close();
    assert.equal(await authorization, "Bearer t0ken-from-env");
    assert.equal(exit, 0, stderr);
    assert.match(stderr, /runner connected to ws:\/\/127\.0\.0\.1:\d+\/ingest/);
    assert.match(stderr, /runner disconnected/);
  });

  it("refuses to start without a token (one line, exit 1)", async () => {
    const child = spawn(process.execPath, [CLI, "runner", "--connect", "ws://127.0.0.1:9/ingest"], { env: { ...process.env, SKILLSCOPE_TOKEN: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += String(d)));
    const exit = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(exit, 1);
    assert.equal(stderr.trimEnd().split("\n").length, 1);
    assert.match(stderr, /--token/);
  });
});
