import { badInput } from "./errors.js";

/** A stored row id from a GraphQL ID argument: a positive integer, else BAD_USER_INPUT naming `field`. */
export function parseId(value: string | number, field: string): number {
  const text = String(value).trim();
  const id = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id)) throw badInput(field, `"${text}" is not an id (ids are positive integers, e.g. "12")`);
  return id;
}

/** A non-negative integer argument (layer, neuron index, position), else BAD_USER_INPUT. */
export function nonNegativeInt(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) throw badInput(field, `must be an integer >= 0, got ${value}`);
  return value;
}
