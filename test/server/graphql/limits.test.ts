import "reflect-metadata";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  getIntrospectionQuery,
  getOperationAST,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  parse,
  print,
  typeFromAST,
  validate,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
} from "graphql";
import * as documents from "../../../clients/client/documents.js";
import { ApiError } from "../../../server/graphql/errors.js";
import { admitOperation } from "../../../server/graphql/gate.js";
import { assertWithinLimits, DEFAULT_LIMITS, FREE_OF_TYPE_LEVELS, operationDepth, pageSize } from "../../../server/graphql/limits.js";
import { LiveEvents } from "../../../server/graphql/live-events.js";
import { buildApiSchema } from "../../../server/graphql/schema.js";

let schema: GraphQLSchema;
before(async () => {
  schema = await buildApiSchema(new LiveEvents());
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${String(error)}`);
    return error.code;
  }
  return undefined;
}

describe("operationDepth", () => {
  it("counts nested fields through fragments and inline fragments", () => {
    const doc = parse(`
      query Q { serverInfo { ...F } }
      fragment F on ServerInfo { ... on ServerInfo { limits { maxDepth } } }`);
    assert.equal(operationDepth(doc, "Q"), 3);
  });

  it("takes the named operation of a multi-operation document", () => {
    const doc = parse(`query A { serverInfo { version } } query B { serverInfo { limits { maxDepth } } }`);
    assert.equal(operationDepth(doc, "A"), 2);
    assert.equal(operationDepth(doc, "B"), 3);
  });

  it("lets the standard introspection query through (the first 9 ofType levels of a chain are free)", () => {
    const doc = parse(getIntrospectionQuery());
    assert.ok(operationDepth(doc) <= DEFAULT_LIMITS.maxDepth);
    assert.doesNotThrow(() => assertWithinLimits({ schema, document: doc, limits: DEFAULT_LIMITS }));
  });

  it("counts every ofType past the free ones, also through fragments spread inside the chain", () => {
    const chain = (n: number, inner = "name"): string => (n === 0 ? inner : `ofType { ${chain(n - 1, inner)} }`);
    const depth = (q: string) => operationDepth(parse(q));
    assert.equal(depth(`{ __type(name: "Run") { ${chain(FREE_OF_TYPE_LEVELS)} } }`), 2);
    assert.equal(depth(`{ __type(name: "Run") { ${chain(FREE_OF_TYPE_LEVELS + 1)} } }`), 3);
    assert.equal(depth(`{ __type(name: "Run") { ${chain(200)} } }`), 1 + 200 - FREE_OF_TYPE_LEVELS + 1);
    // a fragment spread at chain position 5 and at position 0 nests its own ofTypes differently
    const viaFragment = `{ __type(name: "Run") { ...R ofType { ofType { ofType { ofType { ofType { ...R } } } } } } } fragment R on __Type { ${chain(8)} }`;
    assert.equal(depth(viaFragment), 1 + (5 + 8 - FREE_OF_TYPE_LEVELS) + 1);
    const doc = parse(`{ __type(name: "Run") { ${chain(200)} } }`);
    assert.equal(codeOf(() => assertWithinLimits({ schema, document: doc, limits: DEFAULT_LIMITS })), "LIMIT_EXCEEDED");
  });

  it("counts introspection lists at their size in the schema", () => {
    const one = assertWithinLimits({ schema, document: parse(`{ __schema { types { name } } }`), limits: DEFAULT_LIMITS });
    const types = Object.keys(schema.getTypeMap()).length;
    // __schema 1 + types 1 + one name per type
    assert.equal(one, 2 + types);
    const bomb = parse(`{ ${Array.from({ length: 200 }, (_, i) => `a${i}: __schema { types { fields { name } } }`).join(" ")} }`);
    assert.equal(codeOf(() => assertWithinLimits({ schema, document: bomb, limits: DEFAULT_LIMITS })), "LIMIT_EXCEEDED");
  });

  it("handles a fragment bomb (each fragment spreads the next twice) in linear time", () => {
    const n = 200;
    const fragments = Array.from({ length: n }, (_, i) =>
      i === n - 1 ? `fragment F${i} on ServerInfo { version }` : `fragment F${i} on ServerInfo { ...F${i + 1} ...F${i + 1} }`,
    );
    const doc = parse(`{ serverInfo { ...F0 } } ${fragments.join("\n")}`);
    assert.equal(operationDepth(doc), 2);
    assert.equal(codeOf(() => assertWithinLimits({ schema, document: doc, limits: DEFAULT_LIMITS })), "LIMIT_EXCEEDED");
  });

  it("does not loop on fragment cycles (graphql's validation reports them)", () => {
    const doc = parse(`{ serverInfo { ...A } } fragment A on ServerInfo { ...B } fragment B on ServerInfo { ...A version }`);
    assert.equal(operationDepth(doc), 2);
  });
});

describe("assertWithinLimits", () => {
  it("refuses an over-deep introspection query", () => {
    const deep = "{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } } } }";
    const doc = parse(deep);
    assert.equal(operationDepth(doc), 13);
    assert.equal(codeOf(() => assertWithinLimits({ schema, document: doc, limits: DEFAULT_LIMITS })), "LIMIT_EXCEEDED");
  });

  it("multiplies the cost of a list field by its k argument", () => {
    const query = (k: number) => parse(`subscription { neuronLeaderboard(runId: "1", metric: "m", k: ${k}) { neurons { id r } } }`);
    const small = assertWithinLimits({ schema, document: query(10), limits: DEFAULT_LIMITS });
    const large = assertWithinLimits({ schema, document: query(100), limits: DEFAULT_LIMITS });
    // 1 + k * (neurons 1 + id 1 + r 1)
    assert.equal(small, 1 + 10 * 3);
    assert.equal(large, 1 + 100 * 3);
  });

  it("does not multiply a mutation's cost by k: there k is work to do, not items returned", () => {
    const mutation = (k: number) => parse(`mutation { ablateNeurons(runId: "1", metric: "m", k: ${k}) { neurons { id } } }`);
    assert.equal(assertWithinLimits({ schema, document: mutation(1000), limits: DEFAULT_LIMITS }), assertWithinLimits({ schema, document: mutation(1), limits: DEFAULT_LIMITS }));
  });

  it("reads k from variables", () => {
    const doc = parse(`subscription ($k: Int!) { neuronLeaderboard(runId: "1", metric: "m", k: $k) { neurons { id } } }`);
    assert.equal(assertWithinLimits({ schema, document: doc, variables: { k: 7 }, limits: DEFAULT_LIMITS }), 1 + 7 * 2);
  });

  it("refuses an alias bomb by complexity", () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: neuronLeaderboard(runId: "1", metric: "m", k: 1000) { neurons { id layer index r } }`);
    const doc = parse(`subscription { ${aliases.join(" ")} }`);
    const error = (() => {
      try {
        assertWithinLimits({ schema, document: doc, limits: DEFAULT_LIMITS });
      } catch (e) {
        return e as ApiError;
      }
      return undefined;
    })();
    assert.equal(error?.code, "LIMIT_EXCEEDED");
    assert.match(error!.message, /complexity/);
    assert.equal(error!.extensions.max, DEFAULT_LIMITS.maxComplexity);
  });
});

/** The estimate or the refusal (code and message) of one call. */
function outcome(fn: () => number): unknown {
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${String(error)}`);
    return { code: error.code, message: error.message };
  }
}

/** A value of an input type (`size` for Int, so page sizes vary); required input fields only. */
function valueOf(type: GraphQLInputType, size: number): unknown {
  if (isNonNullType(type)) return valueOf(type.ofType, size);
  if (isListType(type)) return [valueOf(type.ofType, size)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined).map((f) => [f.name, valueOf(f.type, size)]));
  }
  return ({ Int: size, Float: 0.5, Boolean: size % 2 === 1, String: "m", ID: "1" } as Record<string, unknown>)[type.name] ?? null;
}

describe("kept estimates", () => {
  const committed = Object.entries(documents as Record<string, unknown>).filter((e): e is [string, DocumentNode] => (e[1] as DocumentNode)?.kind === "Document" && getOperationAST(e[1] as DocumentNode) !== null);

  it("equal a fresh walk for every committed client document, whatever its variables", () => {
    assert.ok(committed.length >= 10, `only ${committed.length} committed documents found`);
    let compared = 0;
    for (const [name, document] of committed) {
      const operation = getOperationAST(document)!;
      // optional variables absent, null, then set; sizes small, large, past the page limit
      const variableSets = [1, 7, 1000, 5000].flatMap((size) =>
        (["absent", "null", "set"] as const).map((optional) => {
          const variables: Record<string, unknown> = {};
          for (const definition of operation.variableDefinitions ?? []) {
            const required = isNonNullType(typeFromAST(schema, definition.type)) && definition.defaultValue === undefined;
            if (!required && optional === "absent") continue;
            variables[definition.variable.name.value] = !required && optional === "null" ? null : valueOf(typeFromAST(schema, definition.type) as GraphQLInputType, size);
          }
          return variables;
        }),
      );
      // the same document object every time (as Apollo's document cache hands it), twice each
      for (const variables of [...variableSets, ...variableSets]) {
        const kept = outcome(() => assertWithinLimits({ schema, document, variables, limits: DEFAULT_LIMITS }));
        const fresh = outcome(() => assertWithinLimits({ schema, document: parse(print(document)), variables, limits: DEFAULT_LIMITS }));
        assert.deepEqual(kept, fresh, `${name} with ${JSON.stringify(variables)}`);
        compared++;
      }
    }
    assert.ok(compared >= committed.length * 24);
  });

  it("still refuse an over-limit page size once a small one was kept, and refuse it again", () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: neuron(runId: "1", layer: 0, index: ${i}) { extremalSamples(k: $k) { rank sampleIdx sampleId } }`);
    const document = parse(`query ($k: Int!) { ${aliases.join(" ")} }`);
    assert.deepEqual(validate(schema, document), []);
    const admit = (k: number) => outcome(() => assertWithinLimits({ schema, document, variables: { k }, limits: DEFAULT_LIMITS }));
    const small = admit(10);
    assert.equal(typeof small, "number");
    assert.equal(admit(10), small);
    const refused = admit(1000);
    assert.equal((refused as { code: string }).code, "LIMIT_EXCEEDED");
    assert.deepEqual(admit(1000), refused);
    assert.equal(admit(10), small);
  });

  it("follow @include and @skip variables", () => {
    const document = parse(`query ($on: Boolean!) { serverInfo { version limits @include(if: $on) { maxDepth maxComplexity } } }`);
    assert.deepEqual(validate(schema, document), []);
    const on = assertWithinLimits({ schema, document, variables: { on: true }, limits: DEFAULT_LIMITS });
    const off = assertWithinLimits({ schema, document, variables: { on: false }, limits: DEFAULT_LIMITS });
    assert.equal(on, off + 3);
    assert.equal(assertWithinLimits({ schema, document, variables: { on: true }, limits: DEFAULT_LIMITS }), on);
  });

  it("refuse variables that do not fit their types with graphql's message, kept or not", () => {
    const document = parse(`query ($first: Int!) { neurons(runId: "1", metric: "m", first: $first) { totalCount } }`);
    assert.deepEqual(validate(schema, document), []);
    assert.equal(typeof assertWithinLimits({ schema, document, variables: { first: 5 }, limits: DEFAULT_LIMITS }), "number");
    const bad = outcome(() => assertWithinLimits({ schema, document, variables: { first: "five" }, limits: DEFAULT_LIMITS }));
    assert.equal((bad as { code: string }).code, "BAD_USER_INPUT");
    assert.match((bad as { message: string }).message, /first/);
  });
});

describe("pageSize", () => {
  it("accepts 1..max and refuses the rest with BAD_USER_INPUT naming the argument", () => {
    assert.equal(pageSize(1000, "first", DEFAULT_LIMITS), 1000);
    assert.equal(codeOf(() => pageSize(5000, "first", DEFAULT_LIMITS)), "BAD_USER_INPUT");
    assert.equal(codeOf(() => pageSize(0, "k", DEFAULT_LIMITS)), "BAD_USER_INPUT");
    assert.throws(() => pageSize(5000, "first", DEFAULT_LIMITS), /first: 5000 is above the page limit of 1000/);
  });
});

describe("admitOperation", () => {
  const readOnly = { canRead: true, canWrite: false };
  it("admits queries and subscriptions without the token", () => {
    assert.doesNotThrow(() => admitOperation({ schema, document: parse("{ serverInfo { version } }"), auth: readOnly, limits: DEFAULT_LIMITS }));
  });

  it("refuses a mutation without the token, whatever the operation name picks", () => {
    const doc = parse(`query Q { serverInfo { version } } mutation M { __typename }`);
    assert.doesNotThrow(() => admitOperation({ schema, document: doc, operationName: "Q", auth: readOnly, limits: DEFAULT_LIMITS }));
    assert.equal(codeOf(() => admitOperation({ schema, document: doc, operationName: "M", auth: readOnly, limits: DEFAULT_LIMITS })), "UNAUTHENTICATED");
    assert.doesNotThrow(() =>
      admitOperation({ schema, document: doc, operationName: "M", auth: { canRead: true, canWrite: true }, limits: DEFAULT_LIMITS }),
    );
  });
});
