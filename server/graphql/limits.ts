import {
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValueNode,
  visit,
} from "graphql";
import { getComplexity, type ComplexityEstimator } from "graphql-query-complexity";
import { ApiError, badInput, limitExceeded } from "./errors.js";

/** Bounds on what one request may ask of the server. */
export interface Limits {
  /** Deepest field nesting of one operation (fragments expanded). */
  readonly maxDepth: number;
  /** Estimated cost of one operation: every field 1 (heavy ones more), list fields times their `first`/`k`. */
  readonly maxComplexity: number;
  /** Largest `first` / `k` a list argument accepts. */
  readonly maxPageSize: number;
  /** Largest HTTP request body in bytes (bigger ones get 413). */
  readonly maxBodyBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxDepth: 12,
  maxComplexity: 50_000,
  maxPageSize: 1000,
  maxBodyBytes: 1024 * 1024,
};

/** Declared own costs (type-graphql `complexity`) of fields that read many stored rows. */
export const FIELD_COST = {
  /** Reads one neuron's activations over all samples. */
  neuronScan: 50,
  /** Reads every score of a layer. */
  layerScan: 500,
  /** Runs one ranked query. */
  rankedPage: 10,
} as const;

/** Field selections the complexity walk may visit (fragments expanded) before refusing. */
const MAX_QUERY_NODES = 10_000;
/** What graphql-query-complexity throws when the walk passes MAX_QUERY_NODES. */
const NODE_CAP_MESSAGE = "Query exceeds the maximum allowed number of nodes.";

/** Arguments whose value says how many items a list field returns. */
const SIZE_ARGS = ["first", "k"] as const;

/**
 * `ofType` levels of one chain that do not count towards the depth: the standard introspection
 * query (graphql's getIntrospectionQuery, typeDepth 9) nests that many to unwrap any type. Every
 * `ofType` past them counts like any other field.
 */
export const FREE_OF_TYPE_LEVELS = 9;

/**
 * Field depth of the operation to execute, fragments expanded. Every field counts, introspection
 * included (`__type { fields { type { fields ...` is a known bomb), except the first
 * FREE_OF_TYPE_LEVELS of an unbroken `ofType` chain, so `ofType { ofType { ... } }` 200 deep is
 * as deep as it looks less 9. Each fragment's depth is computed once per chain position, so
 * spreading fragments many times (a fragment bomb) costs linear time.
 */
export function operationDepth(document: DocumentNode, operationName?: string | null): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const memo = new Map<string, number>();
  const active = new Set<string>();
  /** `chain`: how many `ofType` fields directly enclose this selection set. */
  const depthOf = (set: SelectionSetNode, chain: number): number => {
    let deepest = 0;
    for (const sel of set.selections) {
      let depth: number;
      if (sel.kind === Kind.FIELD) {
        const inChain = sel.name.value === "ofType" ? chain + 1 : 0;
        const own = inChain > 0 && inChain <= FREE_OF_TYPE_LEVELS ? 0 : 1;
        depth = sel.selectionSet ? own + depthOf(sel.selectionSet, inChain) : own;
      }
      else if (sel.kind === Kind.INLINE_FRAGMENT) depth = depthOf(sel.selectionSet, chain);
      else depth = fragmentDepth(sel.name.value, chain);
      if (depth > deepest) deepest = depth;
    }
    return deepest;
  };
  const fragmentDepth = (name: string, chain: number): number => {
    // past the free levels every chain position counts alike
    const key = `${name}\0${Math.min(chain, FREE_OF_TYPE_LEVELS)}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    // Unknown fragments and cycles are reported by graphql's own validation; here they only must not recurse.
    if (!fragment || active.has(name)) return 0;
    active.add(name);
    const depth = depthOf(fragment.selectionSet, chain);
    active.delete(name);
    memo.set(key, depth);
    return depth;
  };
  const operation = getOperationAST(document, operationName);
  return operation ? depthOf(operation.selectionSet, 0) : 0;
}

/**
 * Expected length of each introspection list ("__Type.fields", ...): its total over the schema
 * divided by the number of its parents, so lists nested as the standard introspection query nests
 * them multiply out to the size of the whole answer. Computed once per schema.
 */
const introspectionSizes = new WeakMap<GraphQLSchema, ReadonlyMap<string, number>>();

function introspectionListSizes(schema: GraphQLSchema): ReadonlyMap<string, number> {
  const known = introspectionSizes.get(schema);
  if (known) return known;
  const types = Object.values(schema.getTypeMap());
  const directives = schema.getDirectives();
  let fields = 0;
  let args = 0;
  let inputFields = 0;
  let enumValues = 0;
  let interfaces = 0;
  let possibleTypes = 0;
  for (const t of types) {
    if (isObjectType(t) || isInterfaceType(t)) {
      const own = Object.values(t.getFields());
      fields += own.length;
      for (const f of own) args += f.args.length;
      interfaces += t.getInterfaces().length;
    }
    if (isAbstractType(t)) possibleTypes += schema.getPossibleTypes(t).length;
    if (isInputObjectType(t)) inputFields += Object.keys(t.getFields()).length;
    if (isEnumType(t)) enumValues += t.getValues().length;
  }
  const per = (total: number, parents: number) => Math.max(1, total / Math.max(1, parents));
  const sizes = new Map<string, number>([
    ["__Schema.types", types.length],
    ["__Schema.directives", directives.length],
    ["__Type.fields", per(fields, types.length)],
    ["__Type.inputFields", per(inputFields, types.length)],
    ["__Type.enumValues", per(enumValues, types.length)],
    ["__Type.interfaces", per(interfaces, types.length)],
    ["__Type.possibleTypes", per(possibleTypes, types.length)],
    ["__Field.args", per(args, fields)],
    ["__Directive.args", per(directives.reduce((n, d) => n + d.args.length, 0), directives.length)],
  ]);
  introspectionSizes.set(schema, sizes);
  return sizes;
}

/**
 * Cost of a field: its own cost (type-graphql's `complexity` option, default 1) plus its
 * children's, the children counted once per item when a `first`/`k` argument of a query or
 * subscription field sizes the list (clamped to the page limit, so an oversized page gets the
 * argument's own error), or, for introspection lists, once per item they hold on average.
 */
function costEstimator(schema: GraphQLSchema, maxPageSize: number): ComplexityEstimator {
  const introspection = introspectionListSizes(schema);
  return ({ type, field, args, childComplexity }) => {
    const declared = field.extensions?.complexity;
    const own = typeof declared === "number" ? declared : 1;
    const listSize = introspection.get(`${type.name}.${field.name}`);
    if (listSize !== undefined) return own + listSize * Math.max(childComplexity, 1);
    // a mutation's `k` says how much work to do (e.g. neurons to ablate), not how many items come back
    if (type.name === "Mutation") return own + childComplexity;
    for (const name of SIZE_ARGS) {
      const value = args[name];
      if (typeof value === "number") return own + Math.min(Math.max(value, 1), maxPageSize) * Math.max(childComplexity, 1);
    }
    return own + childComplexity;
  };
}

/** One operation to check against the limits: a validated document, its variables and the limits. */
export interface LimitCheck {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  limits: Limits;
}

/**
 * Refuses an operation nested deeper than `limits.maxDepth` or whose estimated cost exceeds
 * `limits.maxComplexity` (ApiError LIMIT_EXCEEDED). Returns the complexity.
 * Run after graphql's own validation (the document must be valid). The depth and the estimate are
 * kept per document (see estimateKey), so a document sent again is not walked again.
 */
export function assertWithinLimits(options: LimitCheck): number {
  const { limits } = options;
  const kept = keptEstimates(options.schema, options.document);
  const depthKey = `depth\0${options.operationName ?? ""}`;
  let depth = kept.get(depthKey);
  if (depth === undefined) kept.set(depthKey, (depth = operationDepth(options.document, options.operationName)));
  if (depth > limits.maxDepth) {
    throw limitExceeded(
      "the depth of this operation",
      depth,
      limits.maxDepth,
      "ask for fewer nested levels and fetch deeper data with a second query",
    );
  }
  const key = estimateKey(options, limits.maxPageSize);
  let complexity = key === null ? undefined : kept.get(key);
  if (complexity === undefined) {
    complexity = estimateComplexity(options);
    if (key !== null) keep(kept, key, complexity);
  }
  if (complexity > limits.maxComplexity) {
    throw limitExceeded(
      "the estimated complexity of this operation",
      complexity,
      limits.maxComplexity,
      "request fewer fields, fewer aliases or smaller pages (first/k) and paginate with `after`",
    );
  }
  return complexity;
}

/** graphql-query-complexity's walk of the operation with costEstimator; ApiError for what it refuses. */
function estimateComplexity(options: LimitCheck): number {
  try {
    return getComplexity({
      schema: options.schema,
      query: options.document,
      operationName: options.operationName ?? undefined,
      variables: options.variables ?? {},
      maxQueryNodes: MAX_QUERY_NODES,
      estimators: [costEstimator(options.schema, options.limits.maxPageSize)],
    });
  } catch (error) {
    // A valid document raises two errors here: variables that do not fit their types (the caller's
    // input, as graphql itself would report it), and the node cap (fragments spread many times).
    if ((error as Error).message !== NODE_CAP_MESSAGE) throw new ApiError("BAD_USER_INPUT", (error as Error).message);
    throw new ApiError(
      "LIMIT_EXCEEDED",
      `this operation expands to more than ${MAX_QUERY_NODES} fields (${(error as Error).message}); spread fragments fewer times.`,
      { max: MAX_QUERY_NODES },
    );
  }
}

/** Estimates (and depths) kept per schema and parsed document; Apollo hands a document sent again as the same object. */
const estimates = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, number>>>();
/** Estimates kept per document: one per distinct page size asked, within reason. */
const MAX_ESTIMATES_PER_DOCUMENT = 64;
/** Per document: the variables whose values the estimate reads (see estimateKey). */
const estimateVariables = new WeakMap<DocumentNode, ReadonlySet<string>>();

function keptEstimates(schema: GraphQLSchema, document: DocumentNode): Map<string, number> {
  let bySchema = estimates.get(schema);
  if (!bySchema) estimates.set(schema, (bySchema = new WeakMap()));
  let kept = bySchema.get(document);
  if (!kept) bySchema.set(document, (kept = new Map()));
  return kept;
}

function keep(kept: Map<string, number>, key: string, complexity: number): void {
  if (kept.size >= MAX_ESTIMATES_PER_DOCUMENT) kept.clear();
  kept.set(key, complexity);
}

/**
 * What the estimate of one operation depends on besides the schema and the document, or null when
 * it must be walked every time (an operation that is not picked out alone, or variables that do
 * not fit their types: the walk then raises graphql's own error). The walk reads variables in three
 * ways: a size argument (SIZE_ARGS) or a directive argument (@skip/@include) takes its value; any
 * other argument only fails when a variable is null or absent where its argument is non-null. So
 * the key holds the coerced values of the first kind and only whether each other variable is
 * absent, null or set: the bench's `minAbsR: $min` with a new value each time finds its estimate.
 */
function estimateKey(
  options: Omit<LimitCheck, "limits">,
  maxPageSize: number,
): string | null {
  const { document, operationName } = options;
  // without a name the walk estimates every operation of the document (and sums them)
  if (!operationName && document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length !== 1) return null;
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const definitions = operation.variableDefinitions ?? [];
  let coerced: Record<string, unknown> = {};
  if (definitions.length > 0) {
    const values = getVariableValues(options.schema, definitions, options.variables ?? {});
    if (values.errors) return null;
    coerced = values.coerced;
  }
  const read = variablesTheEstimateReads(document);
  const parts: string[] = [String(maxPageSize), operationName ?? ""];
  for (const definition of definitions) {
    const name = definition.variable.name.value;
    const value = coerced[name];
    parts.push(read.has(name) ? JSON.stringify(value) ?? "absent" : !(name in coerced) ? "absent" : value === null ? "null" : "set");
  }
  return parts.join("\0");
}

/** Variables of `document` given as a size argument (SIZE_ARGS) or inside a directive's arguments, anywhere. */
function variablesTheEstimateReads(document: DocumentNode): ReadonlySet<string> {
  const known = estimateVariables.get(document);
  if (known) return known;
  const names = new Set<string>();
  const collect = (value: ValueNode): void => {
    if (value.kind === Kind.VARIABLE) names.add(value.name.value);
    else if (value.kind === Kind.LIST) value.values.forEach(collect);
    else if (value.kind === Kind.OBJECT) value.fields.forEach((f) => collect(f.value));
  };
  visit(document, {
    Argument(node) {
      if ((SIZE_ARGS as readonly string[]).includes(node.name.value)) collect(node.value);
    },
    Directive(node) {
      for (const argument of node.arguments ?? []) collect(argument.value);
    },
  });
  estimateVariables.set(document, names);
  return names;
}

/**
 * Checks a `first`/`k` argument inside a resolver: an integer in [1, maxPageSize].
 * `field` names the argument in the error.
 */
export function pageSize(value: number, field: string, limits: Limits): number {
  if (!Number.isInteger(value) || value < 1) throw badInput(field, `must be a positive integer, got ${value}`);
  if (value > limits.maxPageSize) {
    throw new ApiError(
      "BAD_USER_INPUT",
      `${field}: ${value} is above the page limit of ${limits.maxPageSize}; ask for at most ${limits.maxPageSize} and page on with \`after\`.`,
      { field, max: limits.maxPageSize },
    );
  }
  return value;
}
