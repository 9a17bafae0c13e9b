import {
  DuckDBArrayVector,
  DuckDBBlobVector,
  DuckDBFloatVector,
  DuckDBListVector,
  type DuckDBVector,
} from "@duckdb/node-api";
import { StoreError } from "./errors.js";

/*
 * Bulk access to DuckDB vectors. The package keeps a numeric vector's values in a typed array that
 * `flush()` memcpys into the native vector, but does not expose it in its types; reading and writing
 * it directly is what makes copies chunk-wise instead of per value. These helpers are the only place
 * that reaches into those fields (pinned @duckdb/node-api 1.5.6-r.1; test/server/store covers them).
 */

interface WithItems<T> {
  items: T;
}

/** The float32 values behind a FLOAT vector (a copy the package flushes back on `flush()`). */
export function floatItems(vector: DuckDBVector): Float32Array {
  const items = vector instanceof DuckDBFloatVector ? (vector as unknown as WithItems<unknown>).items : undefined;
  if (!(items instanceof Float32Array)) {
    throw new StoreError("DUCKDB", `expected a FLOAT vector with Float32Array storage, got ${vector.constructor.name}`);
  }
  return items;
}

/** The typed array behind an INTEGER/DOUBLE/... vector. */
export function typedItems<T extends Int32Array | Float64Array | Uint8Array>(vector: DuckDBVector, kind: new (n: number) => T): T {
  const items = (vector as unknown as WithItems<unknown>).items;
  if (!(items instanceof kind)) {
    throw new StoreError("DUCKDB", `expected ${kind.name} storage in ${vector.constructor.name}`);
  }
  return items as T;
}

/** The flat child of a FLOAT[n] array vector: rows * n floats. */
export function arrayChildFloats(vector: DuckDBVector): DuckDBFloatVector {
  const child = vector instanceof DuckDBArrayVector ? (vector as unknown as { childData: unknown }).childData : undefined;
  if (!(child instanceof DuckDBFloatVector)) {
    throw new StoreError("DUCKDB", `expected a FLOAT[n] array vector, got ${vector.constructor.name}`);
  }
  return child;
}

/**
 * Copies row `row` of an activation column into `out` at `offset` (dFF floats). The column is a BLOB
 * of little-endian float32 (database) or a FLOAT[] list / FLOAT[n] array (Parquet export).
 */
export function copyFloatRow(vector: DuckDBVector, row: number, dFF: number, out: Float32Array, offset: number): void {
  if (vector instanceof DuckDBBlobVector) {
    const bytes = vector.getItemBytes(row);
    if (!bytes || bytes.byteLength !== dFF * 4) {
      throw new StoreError("CORRUPT", `activation row holds ${bytes?.byteLength ?? "NULL"} bytes, expected ${dFF * 4} (d_ff ${dFF})`);
    }
    new Uint8Array(out.buffer, out.byteOffset + offset * 4, dFF * 4).set(bytes);
    return;
  }
  if (vector instanceof DuckDBListVector) {
    const len = vector.getEntryLength(row);
    if (len !== dFF) throw new StoreError("CORRUPT", `activation row holds ${len} values, expected d_ff ${dFF}`);
    const start = vector.getEntryOffset(row);
    out.set(floatItems(vector.childVector).subarray(start, start + dFF), offset);
    return;
  }
  if (vector instanceof DuckDBArrayVector) {
    out.set(floatItems(arrayChildFloats(vector)).subarray(row * dFF, (row + 1) * dFF), offset);
    return;
  }
  throw new StoreError("CORRUPT", `activation column has unexpected type ${vector.constructor.name}`);
}

/** Reads one float32 from a 4-byte BLOB slice, a FLOAT, or NULL-free numeric vector. */
export function readFloatScalar(vector: DuckDBVector, row: number): number {
  if (vector instanceof DuckDBBlobVector) {
    const b = vector.getItemBytes(row);
    if (!b || b.byteLength !== 4) throw new StoreError("CORRUPT", `neuron value is ${b?.byteLength ?? "NULL"} bytes, expected 4`);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }
  const v = vector.getItem(row);
  if (typeof v !== "number") throw new StoreError("CORRUPT", `neuron value is not a number`);
  return v;
}
