/**
 * The in-process transport: opens the DuckDB file itself, builds the server's schema over real
 * services and runs the same typed documents with graphql-js `execute` / `subscribe`, through the
 * same admission gate (limits) as the HTTP server, so embedded and remote commands behave alike.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import {
  execute,
  getOperationAST,
  GraphQLError,
  specifiedRules,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from "graphql";
import type { LlmConfig } from "../../server/explain/llm.js";
import { buildApi } from "../../server/graphql/api.js";
import { createContext, type RequestAuth, type Services } from "../../server/graphql/context.js";
import { ApiError } from "../../server/graphql/errors.js";
import { admitOperation } from "../../server/graphql/gate.js";
import { DEFAULT_LIMITS } from "../../server/graphql/limits.js";
import { RunManager } from "../../server/runs/run-manager.js";
import { localShardPool } from "../../server/runs/shard-pool.js";
import type { LakeTarget } from "../../server/store/index.js";
import { Store } from "../../server/store/store.js";
import type { GraphQLTransport } from "../client/client.js";
import { GraphQLRequestError } from "../client/errors.js";
import { mapAsyncIterator, OpenIterators } from "../client/map-iterator.js";

export interface EmbeddedOptions {
  /** The DuckDB file (created when missing). */
  dbPath: string;
  /** Folders registerModel may read from. */
  modelRoots?: readonly string[];
  /** Folders importTask may read from. */
  taskRoots?: readonly string[];
  /** Folder exportRun writes under. */
  exportRoot: string;
  version: string;
  /** Local runners per run (absent: one runner runs the whole run). */
  runners?: number;
  /** With runners: the activation lake they write to. */
  lake?: LakeTarget;
  /** The LLM `explain --llm-url` configured. */
  llm?: LlmConfig;
}

/**
 * Opens the database and builds the schema over the same services `serve` builds (run manager
 * bridged to the live events). Runs that a previous process left queued are not started: a read
 * command must not begin training; `serve` (or `run`) picks them up.
 */
export async function openEmbedded(options: EmbeddedOptions): Promise<GraphQLTransport> {
  const store = await Store.open(options.dbPath);
  const runs = new RunManager(store, options.runners === undefined ? {} : { shards: localShardPool(options.runners), lake: options.lake });
  const close = async (api?: { unbridge(): void }) => {
    // Work still running (a `run` interrupted by Ctrl-C) stops and is marked resumable first.
    await runs.close();
    api?.unbridge();
    await store.close();
  };
  let api;
  try {
    api = await buildApi(store, runs, { ...options, limits: DEFAULT_LIMITS });
  } catch (error) {
    await close();
    throw error;
  }
  const built = api;
  return embeddedTransport(built.schema, built.services, () => close(built));
}

/** A transport over a built schema and its services; `close()` ends open subscriptions, then calls `onClose`. */
export function embeddedTransport(schema: GraphQLSchema, services: Services, onClose: () => Promise<void>): GraphQLTransport {
  // The local user owns the database file: same powers as a holder of the server's token.
  const auth: RequestAuth = { canRead: true, canWrite: true };
  const open = new OpenIterators();

  const admit = (document: DocumentNode, variables: unknown): void => {
    const errors = validate(schema, document, specifiedRules);
    if (errors.length > 0) throw requestError(errors, document);
    try {
      admitOperation({ schema, document, variables: variables as Record<string, unknown>, auth, limits: services.limits });
    } catch (error) {
      if (error instanceof ApiError) throw requestError([error], document);
      throw error;
    }
  };

  const run = async <R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R> => {
    admit(document, variables);
    const contextValue = createContext(services, auth);
    const result = await execute({ schema, document, variableValues: variables as Record<string, unknown>, contextValue });
    return unwrap(result as ExecutionResult<R>, document);
  };

  const sub = <R, V>(document: TypedDocumentNode<R, V>, variables?: V): AsyncIterableIterator<R> => {
    const source = (async (): Promise<AsyncIterator<ExecutionResult>> => {
      admit(document, variables);
      const contextValue = createContext(services, auth);
      const result = await subscribe({ schema, document, variableValues: variables as Record<string, unknown>, contextValue });
      if (Symbol.asyncIterator in result) return result;
      // Errors before the stream starts (unknown run, bad arguments) come as one result.
      unwrap(result as ExecutionResult<R>, document);
      throw new GraphQLRequestError([{ message: "the subscription did not start" }], operationName(document));
    })();
    const results = mapAsyncIterator(source, (result) => unwrap(result as ExecutionResult<R>, document));
    return open.track(results);
  };

  return {
    execute: run as GraphQLTransport["execute"],
    subscribe: sub as GraphQLTransport["subscribe"],
    async close() {
      await open.closeAll();
      await onClose();
    },
  };
}

function unwrap<R>(result: ExecutionResult<R>, document: DocumentNode): R {
  if (result.errors && result.errors.length > 0) throw requestError(result.errors, document);
  if (result.data == null) throw new GraphQLRequestError([{ message: "the operation returned no data" }], operationName(document));
  return result.data;
}

/** GraphQL errors as the HTTP server would format them, keeping the first original error as cause. */
function requestError(errors: readonly GraphQLError[], document: DocumentNode): GraphQLRequestError {
  const error = new GraphQLRequestError(errors.map((e) => e.toJSON()), operationName(document));
  const original = errors[0]?.originalError;
  if (original) (error as { cause?: unknown }).cause = original;
  return error;
}

function operationName(document: DocumentNode): string {
  return getOperationAST(document)?.name?.value ?? "anonymous";
}
