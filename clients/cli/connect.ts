/**
 * The one place the CLI picks its transport: `--server URL` talks to a running server over
 * HTTP + graphql-ws with the bearer token; otherwise the command opens the database in-process.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createClient, type GraphQLTransport } from "../client/client.js";
import { CliError } from "./errors.js";
import type { LlmConfig } from "../../server/explain/llm.js";
import type { LakeTarget } from "../../server/store/index.js";

/** Options every data command accepts. */
export interface ConnectionOptions {
  /** Base URL of a running `skillscope serve`; absent = embedded mode. */
  server?: string;
  /** Bearer token for --server (else SKILLSCOPE_TOKEN, else `<dataDir>/token`). */
  token?: string;
  /** Data directory: token, exports, and the default database. */
  dataDir: string;
  /** DuckDB file of embedded mode; `<dataDir>/skillscope.duckdb` by default. */
  db?: string;
}

/** What embedded mode may touch beyond the database (a remote server has its own roots). */
export interface EmbeddedScope {
  modelRoots?: readonly string[];
  taskRoots?: readonly string[];
  /** Folder exports go under; `<dataDir>/exports` by default. */
  exportRoot?: string;
  /** Local runners that extract each run's shards at once (absent: one runner, the whole run). */
  runners?: number;
  /** With runners: where they write activations instead of the database (the activation lake). */
  lake?: LakeTarget;
  /** An OpenAI-compatible LLM for explanations (explain --llm-url). */
  llm?: LlmConfig;
}

export interface Connection {
  readonly mode: "remote" | "embedded";
  readonly transport: GraphQLTransport;
}

/** Database file name inside the data directory (the server's default too). */
export const DB_FILE = "skillscope.duckdb";
export const DEFAULT_DATA_DIR = "./data";

export function databasePath(options: ConnectionOptions): string {
  return resolve(options.db ?? join(options.dataDir, DB_FILE));
}

/** The bearer token for a remote server: --token, SKILLSCOPE_TOKEN, or `<dataDir>/token` when present. */
export function remoteToken(options: ConnectionOptions): string | undefined {
  if (options.token) return options.token;
  const fromEnv = process.env.SKILLSCOPE_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = join(options.dataDir, "token");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}

export async function connect(options: ConnectionOptions, scope: EmbeddedScope = {}): Promise<Connection> {
  if (options.server !== undefined) {
    return { mode: "remote", transport: createClient({ url: options.server, token: remoteToken(options) }) };
  }
  if (options.token !== undefined) throw new CliError("--token only applies with --server URL");
  // Loaded lazily: remote commands never load DuckDB or the schema.
  const { openEmbedded } = await import("./embedded.js");
  mkdirSync(dirname(databasePath(options)), { recursive: true });
  const transport = await openEmbedded({
    dbPath: databasePath(options),
    modelRoots: scope.modelRoots,
    taskRoots: scope.taskRoots,
    exportRoot: resolve(scope.exportRoot ?? join(options.dataDir, "exports")),
    runners: scope.runners,
    lake: scope.lake,
    llm: scope.llm,
    version: packageVersion(),
  });
  return { mode: "embedded", transport };
}

/** Runs `body` with a connection and always closes it. */
export async function withConnection<T>(options: ConnectionOptions, scope: EmbeddedScope, body: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await connect(options, scope);
  try {
    return await body(connection);
  } finally {
    await connection.transport.close();
  }
}

let version: string | undefined;

/** skillscope's version from package.json. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return version;
}
