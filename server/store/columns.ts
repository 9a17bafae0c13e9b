/** Low-level row helpers shared by the store modules: bulk appends, length checks, BLOB and JSON values. */
import type { DuckDBConnection } from "@duckdb/node-api";
import { blobValue, DuckDBDataChunk, DuckDBDoubleType, DuckDBIntegerType, DuckDBVarCharType, DuckDBBooleanType } from "@duckdb/node-api";
import { StoreError } from "./errors.js";
import { typedItems } from "./vectors.js";

const CHUNK_ROWS = 2048;

type Column =
  | { kind: "int"; values: Int32Array | number }
  | { kind: "double"; values: Float64Array }
  | { kind: "text"; values: readonly (string | null)[] | string }
  | { kind: "bool"; values: Uint8Array };

const TYPES = {
  int: DuckDBIntegerType.instance,
  double: DuckDBDoubleType.instance,
  text: DuckDBVarCharType.instance,
  bool: DuckDBBooleanType.instance,
} as const;

/** Appends n rows given as columns in table order (typed arrays copied per chunk; strings set per row). */
export async function appendColumns(conn: DuckDBConnection, table: string, n: number, columns: Column[]): Promise<void> {
  const appender = await conn.createAppender(table);
  try {
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - start);
      const chunk = DuckDBDataChunk.create(columns.map((c) => TYPES[c.kind]), m);
      columns.forEach((c, ci) => {
        const v = chunk.getColumnVector(ci);
        if (c.kind === "int") {
          if (typeof c.values === "number") typedItems(v, Int32Array).fill(c.values);
          else typedItems(v, Int32Array).set(c.values.subarray(start, start + m));
        } else if (c.kind === "double") {
          typedItems(v, Float64Array).set(c.values.subarray(start, start + m));
        } else if (c.kind === "bool") {
          for (let i = 0; i < m; i++) v.setItem(i, c.values[start + i] !== 0);
        } else {
          for (let i = 0; i < m; i++) v.setItem(i, typeof c.values === "string" ? c.values : (c.values[start + i] ?? null));
        }
        v.flush();
      });
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

export function checkLengths(what: string, n: number, cols: Record<string, { length: number }>): void {
  for (const [name, col] of Object.entries(cols)) {
    if (col.length !== n) throw new StoreError("INVALID_INPUT", `${what}: ${name} has ${col.length} entries, expected ${n}; nothing written`);
  }
}

export function bytesOf(view: ArrayBufferView): ReturnType<typeof blobValue> {
  return blobValue(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

export type Row = Record<string, unknown>;

export async function rowObjects(conn: DuckDBConnection, sql: string, params: (string | number | null)[] = []): Promise<Row[]> {
  return (await conn.runAndReadAll(sql, params)).getRowObjectsJS() as Row[];
}

/** A JSON column's value (DuckDB may hand back the text or the parsed value). */
export const parseJson = (v: unknown): unknown => (typeof v === "string" ? JSON.parse(v) : v ?? null);
/** The text stored in a JSON column; undefined stays NULL. */
export const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
