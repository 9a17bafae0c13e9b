/** GraphQL Float cannot carry NaN or Infinity: such values (and missing ones) go out as null. */
export function finiteOrNull(v: number | null | undefined): number | null {
  return v !== null && v !== undefined && Number.isFinite(v) ? v : null;
}
