import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Kind, getOperationAST, type DocumentNode, type ValueNode } from "graphql";
import { LRUCache } from "lru-cache";
import type { ResponseHints } from "../graphql/context.js";
import type { RunReadCache } from "../graphql/run-cache.js";

/**
 * Root query fields whose whole answer, every sub-field included, is a function of one run's stored
 * data (named by their `runId` argument). A field added under them must keep that so: anything
 * live (status, events, training progress) belongs elsewhere.
 */
export const IMMUTABLE_ROOT_FIELDS: ReadonlySet<string> = new Set(["neurons", "neuron", "correlationHistogram", "significance"]);

/** Bytes of serialised responses kept by default. */
export const DEFAULT_RESPONSE_CACHE_BYTES = 64 * 1024 * 1024;

/** What a kept response is sent with again. */
export interface KeptResponse {
  runId: number;
  status: number;
  headers: [string, string][];
  body: string;
  /** Strong validator of `body`, quoted; computed when first asked for (only GET answers carry it). */
  readonly etag: string;
}

/** A kept answer whose ETag is hashed on first use: a POST's answer is never sent with one. */
class KeptAnswer implements KeptResponse {
  private tag: string | undefined;

  constructor(
    readonly runId: number,
    readonly status: number,
    readonly headers: [string, string][],
    readonly body: string,
  ) {}

  get etag(): string {
    return (this.tag ??= etagOf(this.body));
  }
}

/**
 * Whole responses of queries that read only a finished run: a request the same as one answered
 * before (method, Accept, query string or body byte for byte) is answered without parsing or
 * executing anything. Entries of a run go when the run's reads are invalidated (addMetric,
 * deleteRun, a rescore); a response computed across an invalidation is not kept.
 */
export class ResponseCache {
  private readonly entries: LRUCache<string, KeptResponse>;

  constructor(
    private readonly reads: RunReadCache,
    maxBytes = DEFAULT_RESPONSE_CACHE_BYTES,
  ) {
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (e) => 256 + 2 * e.body.length });
    reads.onInvalidate((runId) => {
      for (const [key, entry] of [...this.entries.entries()]) if (entry.runId === runId) this.entries.delete(key);
    });
  }

  get epoch(): number {
    return this.reads.epoch;
  }

  /**
   * Marks a request's answer keepable when its operation reads only a done run (see
   * immutableRunOf). Called once the operation is resolved, before it executes; the transport
   * clears the mark when the answer carries errors.
   */
  async consider(hints: ResponseHints, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): Promise<void> {
    const runId = immutableRunOf(document, operationName, variables);
    if (runId === null) return;
    const epoch = this.reads.epoch;
    const done = await this.reads.run(runId).then((run) => run.status === "done", () => false);
    if (done) hints.keepable = { runId, epoch };
  }

  get(key: string): KeptResponse | undefined {
    return this.entries.get(key);
  }

  /** Keeps a 200 answer of a query over run `runId`, unless the run changed since `epoch`. */
  put(key: string, runId: number, epoch: number, headers: [string, string][], body: string): KeptResponse | undefined {
    if (epoch !== this.reads.epoch) return undefined;
    const entry = new KeptAnswer(runId, 200, headers, body);
    this.entries.set(key, entry);
    return entry;
  }
}

/** A strong ETag of a response body. */
export function etagOf(body: string): string {
  return `"${createHash("sha1").update(body).digest("base64url")}"`;
}

/**
 * The cache key of a GraphQL HTTP request, or null when it must go through Apollo whatever is kept:
 * a POST that is not plain application/json, or a GET that Apollo's CSRF prevention would refuse
 * (no preflight header and no non-simple content type).
 */
export function responseKey(req: IncomingMessage, search: string, body: string): string | null {
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (req.method === "POST") {
    if (contentType !== "application/json") return null;
    return JSON.stringify(["POST", req.headers.accept ?? "", body]);
  }
  if (req.method === "GET") {
    const preflighted = ["apollo-require-preflight", "x-apollo-operation-name"].some((h) => (req.headers[h] ?? "").length > 0)
      || (contentType !== "" && !["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"].includes(contentType));
    if (!preflighted) return null;
    return JSON.stringify(["GET", req.headers.accept ?? "", search]);
  }
  return null;
}

/**
 * The run a query operation reads when every root field is one of IMMUTABLE_ROOT_FIELDS (or
 * `__typename`) over the same `runId`, given literally or as a variable; null otherwise (mutations,
 * subscriptions, fragments or directives at the root, other fields, several runs).
 */
export function immutableRunOf(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): number | null {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== "query") return null;
  let runId: number | null = null;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || (selection.directives?.length ?? 0) > 0) return null;
    if (selection.name.value === "__typename") continue;
    if (!IMMUTABLE_ROOT_FIELDS.has(selection.name.value)) return null;
    const arg = selection.arguments?.find((a) => a.name.value === "runId");
    const id = arg ? idValue(arg.value, variables) : null;
    if (id === null || (runId !== null && id !== runId)) return null;
    runId = id;
  }
  return runId;
}

function idValue(node: ValueNode, variables: Record<string, unknown> | null | undefined): number | null {
  const raw = node.kind === Kind.VARIABLE ? variables?.[node.name.value] : node.kind === Kind.STRING || node.kind === Kind.INT ? node.value : undefined;
  if (typeof raw !== "string" && typeof raw !== "number") return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) && id >= 1 && String(raw).trim() === String(id) ? id : null;
}
