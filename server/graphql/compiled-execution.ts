import {
  execute,
  GraphQLError,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isInputObjectType,
  typeFromAST,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";

/** One operation to run: what graphql's `execute` takes. */
export interface Operation {
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  contextValue: unknown;
}

/**
 * Runs operations of `schema`: a query whose variables are scalars, enums or lists of them is
 * compiled with graphql-jit once its document is run a second time (the same parsed document
 * object: Apollo hands a document sent again as the one it parsed before); everything else, a
 * document's first run and variables that do not fit their types (graphql-js reports them) run on
 * graphql-js. graphql-js allocates a resolve-info, an argument map and a dictionary object per field
 * it completes: on a page of 50 edges that was most of the execution's time and garbage; a document
 * run once never pays for a compilation. Mutations gain nothing (one field, heavy work), and
 * graphql-jit's coercion of input objects leaves out their fields' defaults, so neither is compiled.
 * The answers are the same: test/server/graphql/compiled-execution.test.ts and
 * test/server/http/read-cache.test.ts compare every committed client document.
 */
export class CompiledExecutor {
  /** Per document and operation name: the compiled operation, or null where graphql-js runs it. */
  private readonly compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();

  constructor(private readonly schema: GraphQLSchema) {}

  async execute(op: Operation): Promise<ExecutionResult> {
    const compiled = this.compiledFor(op.document, op.operationName ?? undefined);
    const variables = op.variables ?? {};
    if (!compiled || this.variableErrors(op, variables)) {
      return execute({ schema: this.schema, document: op.document, operationName: op.operationName, variableValues: variables, contextValue: op.contextValue });
    }
    return withoutEmptyLocations(await compiled.query(undefined, op.contextValue, variables));
  }

  /** Whether the operation now runs compiled (it ran before and graphql-jit compiled it). */
  compiles(document: DocumentNode, operationName?: string | null): boolean {
    return (this.compiled.get(document)?.get(operationName ?? "") ?? null) !== null;
  }

  /** undefined the first time a document runs (it is noted), then its compiled operation or null. */
  private compiledFor(document: DocumentNode, operationName: string | undefined): CompiledQuery | null | undefined {
    const byName = this.compiled.get(document);
    if (!byName) {
      this.compiled.set(document, new Map());
      return undefined;
    }
    const name = operationName ?? "";
    let compiled = byName.get(name);
    if (compiled === undefined) {
      const operation = getOperationAST(document, operationName);
      const result = operation && this.compilable(operation) ? compileQuery(this.schema, document, operationName) : null;
      compiled = result && isCompiledQuery(result) ? result : null;
      byName.set(name, compiled);
    }
    return compiled;
  }

  private compilable(operation: OperationDefinitionNode): boolean {
    if (operation.operation !== "query") return false;
    return (operation.variableDefinitions ?? []).every((v) => {
      const type = typeFromAST(this.schema, v.type);
      return type !== undefined && !isInputObjectType(getNamedType(type));
    });
  }

  /** True when graphql-js would refuse the variables before executing (it then reports them, as always). */
  private variableErrors(op: Operation, variables: Record<string, unknown>): boolean {
    const definitions = getOperationAST(op.document, op.operationName)?.variableDefinitions ?? [];
    return definitions.length > 0 && getVariableValues(this.schema, definitions, variables).errors !== undefined;
  }
}

/**
 * graphql-jit gives an error whose field nodes carry no source locations (a document built without
 * them) `locations: []` where graphql-js leaves locations out: answer as graphql-js does.
 */
function withoutEmptyLocations(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.some((e) => e.locations?.length === 0)) return result;
  const errors = result.errors.map((e) =>
    e.locations?.length === 0 ? new GraphQLError(e.message, { path: e.path, originalError: e.originalError, extensions: e.extensions }) : e,
  );
  return { ...result, errors };
}
