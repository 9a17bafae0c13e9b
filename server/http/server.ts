import "reflect-metadata";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../store/store.js";
import type { LlmConfig } from "../explain/llm.js";
import { buildApi } from "../graphql/api.js";
import type { LiveEvents } from "../graphql/live-events.js";
import { createContext, type GraphQLContext, type Services } from "../graphql/context.js";
import { DEFAULT_LIMITS, type Limits } from "../graphql/limits.js";
import { RunManager, type RunManagerOptions } from "../runs/run-manager.js";
import { startApollo } from "./apollo.js";
import { Authenticator, loadOrCreateToken } from "./auth.js";
import { BodyTooLargeError, readBody } from "./body.js";
import { ResponseCache, responseKey, type KeptResponse } from "./response-cache.js";
import { serveStatic } from "./static.js";
import { logSocketErrors } from "./socket-errors.js";
import { warmUp } from "./warm-up.js";
import { attachGraphQLWebSocket } from "./websocket.js";
import { WebSocketServer } from "ws";
import type { Duplex } from "node:stream";
import { startRunInWorker } from "../../gpu-runner/runner/host.js";
import type { RunnerEvent, StartMessage } from "../../gpu-runner/runner/protocol.js";
import { RemoteRunnerPool } from "../runs/remote-pool.js";

export const GRAPHQL_PATH = "/graphql";
/** Where remote runners connect (`skillscope runner --connect ws://HOST:PORT/ingest`). */
export const INGEST_PATH = "/ingest";

export interface ServerOptions {
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Holds the bearer token (`<dataDir>/token`, made on first start) and exports (`<dataDir>/exports`). */
  dataDir: string;
  /** The DuckDB file; `<dataDir>/skillscope.duckdb` by default. */
  dbPath?: string;
  /**
   * Serve an exported run (a folder written by exportRun, or an s3:// / https:// URL through DuckDB's
   * httpfs) read-only instead of a database file: queries work as on the original; mutations fail.
   */
  attach?: string;
  /** Folders models may be registered from (none by default: registerModel refuses). */
  modelRoots?: readonly string[];
  /** Folders task files may be imported from (none by default: only inline rows). */
  taskRoots?: readonly string[];
  /** Serve reads (queries, subscriptions) to non-loopback callers without a token. */
  allowRemoteReads?: boolean;
  /** Origins allowed to call /graphql from a browser; none (CORS off) by default. */
  corsOrigins?: readonly string[];
  /** Run manager settings (concurrency, runner host options, executor). */
  runner?: RunManagerOptions;
  /** Overrides of the request limits. */
  limits?: Partial<Limits>;
  /** The built dashboard; `dist/dashboard` by default. */
  dashboardDir?: string;
  /** An OpenAI-compatible LLM for explainNeurons(llm: true); without it nothing is sent anywhere. */
  llm?: LlmConfig;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:4000 (GraphQL at `${url}/graphql`). */
  readonly url: string;
  /** Live event bus: publish run progress, status and leaderboards here. */
  readonly live: LiveEvents;
  /** Stops accepting, lets in-flight requests finish, closes WebSocket clients. Idempotent. */
  close(): Promise<void>;
}

/** Database file name inside the data directory. */
export const DB_FILE = "skillscope.duckdb";
const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../dashboard/", import.meta.url));
const PACKAGE_JSON = new URL("../../../package.json", import.meta.url);

/**
 * One node:http server: GraphQL (HTTP + graphql-ws) at /graphql, /healthz, the dashboard at /.
 * Opens the store; `close()` drains requests and subscriptions, then closes the store.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const token = await loadOrCreateToken(options.dataDir);
  const authenticator = new Authenticator(token, {
    allowRemoteReads: options.allowRemoteReads ?? false,
  });
  const store = options.attach !== undefined ? await Store.attachExport(options.attach) : await Store.open(options.dbPath ?? join(options.dataDir, DB_FILE));
  const remotes = new RemoteRunnerPool();
  const local = options.runner?.executor ?? ((s: StartMessage, sink: (ev: RunnerEvent) => void) => startRunInWorker(s, sink, options.runner?.host));
  // With model roots, a model is checked against them again whenever a run opens it. Without any, the
  // server registers no model, and opens those its database already holds (registered by the
  // embedded CLI, which names its own files) unchecked.
  const modelRoots = options.modelRoots?.length ? options.modelRoots : undefined;
  const runs = new RunManager(store, { ...options.runner, modelRoots, executor: remotes.executor(local) });
  try {
    return await serve(options, limits, authenticator, token, store, runs, remotes);
  } catch (error) {
    remotes.close();
    await runs.close();
    await store.close();
    throw error;
  }
}

async function serve(
  options: ServerOptions,
  limits: Limits,
  authenticator: Authenticator,
  token: string,
  store: Store,
  runs: RunManager,
  remotes: RemoteRunnerPool,
): Promise<RunningServer> {
  const { services, schema, unbridge } = await buildApi(store, runs, {
    limits,
    modelRoots: options.modelRoots,
    taskRoots: options.taskRoots,
    exportRoot: join(options.dataDir, "exports"),
    version: await packageVersion(),
    llm: options.llm,
  });
  const live = services.live;
  const responses = new ResponseCache(services.reads);
  await services.reads.keepDoneRuns();
  // Runs a previous process left queued start again.
  await runs.init();
  const dashboardDir = options.dashboardDir ?? DEFAULT_DASHBOARD_DIR;
  const cors = new Set(options.corsOrigins ?? []);

  const httpServer = createServer();
  // Set once the GraphQL side is up; until then /graphql answers 503.
  let apollo: ApolloServer<GraphQLContext> | undefined;
  let closing = false;

  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const handle = async (): Promise<void> => {
      if (url.pathname === "/healthz") {
        const status = closing ? "closing" : apollo ? "ok" : "starting";
        sendJson(res, status === "ok" ? 200 : 503, { status, version: services.version });
      } else if (url.pathname === GRAPHQL_PATH) {
        if (applyCors(req, res, cors)) return;
        if (!apollo) sendErrors(res, 503, "UNAVAILABLE", "the server is starting; retry in a moment");
        else await serveGraphQL(req, res, url, apollo, services, authenticator, responses);
      } else {
        await serveStatic(req, res, dashboardDir, url.pathname);
      }
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent) sendErrors(res, 500, "INTERNAL_SERVER_ERROR", `internal error: ${(error as Error).message}`);
      else res.destroy();
    });
  });

  // Listen before the WebSocket server attaches, so a busy port is one plain error.
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port ?? 4000, options.host ?? "127.0.0.1", () => {
      httpServer.off("error", reject);
      resolve();
    });
  });
  const ws = attachGraphQLWebSocket({ schema, services, authenticator });
  const ingestMaxBytes = 1 << 30;
  const ingest = new WebSocketServer({ noServer: true, maxPayload: ingestMaxBytes });
  httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === GRAPHQL_PATH) {
      ws.wss.handleUpgrade(req, socket, head, (client) => ws.wss.emit("connection", client, req));
    } else if (path === INGEST_PATH && !closing) {
      // runners write results: the same token as mutations, from any address
      if (!authenticator.check(req.headers.authorization, req.socket.remoteAddress).canWrite) {
        socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n\r\nremote runners need --token (the server's bearer token)\n");
        return;
      }
      ingest.handleUpgrade(req, socket, head, (client) => {
        logSocketErrors(client, req, ingestMaxBytes);
        remotes.attach(client, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
      });
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
    }
  });
  try {
    apollo = await startApollo(schema, httpServer, () => ws.dispose(), responses);
  } catch (error) {
    await ws.dispose();
    await new Promise((resolve) => httpServer.close(resolve));
    throw error;
  }
  const running = apollo;
  const address = httpServer.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  await warmUp({ url: `http://${host}:${address.port}`, path: GRAPHQL_PATH, token, store });

  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    live,
    close() {
      closing = true;
      // apollo.stop() drains: closes the listener, waits for in-flight requests, disposes graphql-ws;
      // then running work stops (marked interrupted, resumable), and only then is the store closed.
      closed ??= (async () => {
        remotes.close();
        await running.stop();
        await runs.close();
        unbridge();
        await store.close();
      })();
      return closed;
    },
  };
}

async function serveGraphQL(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  apollo: ApolloServer<GraphQLContext>,
  services: Services,
  authenticator: Authenticator,
  responses: ResponseCache,
): Promise<void> {
  const auth = authenticator.check(req.headers.authorization, req.socket.remoteAddress);
  if (!auth.canRead) {
    sendErrors(res, 401, "UNAUTHENTICATED", 'reads from other machines need "Authorization: Bearer <token>" (or start the server with remote reads allowed)');
    return;
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, services.limits.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    res.setHeader("Connection", "close");
    sendErrors(res, 413, "LIMIT_EXCEEDED", error.message);
    return;
  }
  const text = raw.toString("utf8");
  const key = responseKey(req, url.search, text);
  const kept = key === null ? undefined : responses.get(key);
  if (kept) {
    sendKept(req, res, kept);
    return;
  }
  let body: unknown = raw.length > 0 ? text : undefined;
  if (typeof body === "string" && /^application\/(.+\+)?json\b/i.test(req.headers["content-type"] ?? "")) {
    try {
      body = JSON.parse(body);
    } catch (error) {
      sendErrors(res, 400, "BAD_REQUEST", `the request body is not valid JSON (${(error as Error).message}); send {"query": "...", "variables": {...}}`);
      return;
    }
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  // a client that hangs up cancels what its request started (a probe's worker job)
  const hangUp = new AbortController();
  res.once("close", () => res.writableFinished || hangUp.abort());
  const context = createContext(services, auth, hangUp.signal);
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? "GET", headers, search: url.search, body },
    context: async () => context,
  });
  const mark = context.hints.keepable;
  if (key !== null && mark && (response.status ?? 200) === 200 && response.body.kind === "complete") {
    const fresh = responses.put(key, mark.runId, mark.epoch, [...response.headers], response.body.string);
    if (fresh) {
      sendKept(req, res, fresh);
      return;
    }
  }
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === "complete") {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * Sends a kept answer of a finished run's query. A GET carries its ETag and must be revalidated
 * (`no-cache`: addMetric may change it), and a matching If-None-Match gets 304 without a body.
 */
function sendKept(req: IncomingMessage, res: ServerResponse, kept: KeptResponse): void {
  for (const [name, value] of kept.headers) res.setHeader(name, value);
  if (req.method === "GET") {
    res.setHeader("ETag", kept.etag);
    res.setHeader("Cache-Control", "private, no-cache");
    const ifNoneMatch = req.headers["if-none-match"];
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((tag) => tag.trim() === kept.etag || tag.trim() === `W/${kept.etag}`)) {
      res.removeHeader("Content-Length");
      res.statusCode = 304;
      res.end();
      return;
    }
  }
  res.statusCode = kept.status;
  res.end(kept.body);
}

/** Sets CORS headers for allowed origins; answers preflights. True when the request is done. */
function applyCors(req: IncomingMessage, res: ServerResponse, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (!origin || !allowed.has(origin)) return false;
  res.setHeader("Access-Control-Allow-Origin", origin);
  res.setHeader("Vary", "Origin");
  if (req.method !== "OPTIONS") return false;
  res.writeHead(204, {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type, apollo-require-preflight",
    "Access-Control-Max-Age": "600",
  });
  res.end();
  return true;
}

function sendErrors(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(PACKAGE_JSON, "utf8")) as { version: string }).version;
}
