import { realpath } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { isInside, realRoots } from "../../gpu-runner/hf/roots.js";
import { ApiError, badInput } from "./errors.js";

/**
 * The real path of `path` (symlinks resolved) when it lies inside one of `roots`; otherwise
 * FORBIDDEN (outside) or BAD_USER_INPUT (missing). `field` and `what` name it in messages.
 */
export async function resolveInsideRoots(path: string, roots: readonly string[], field: string, what: string): Promise<string> {
  if (roots.length === 0) {
    throw new ApiError("FORBIDDEN", `${field}: the server has no ${what} roots configured; start it with the folders it may read ${what}s from`, { field });
  }
  if (!isAbsolute(path)) throw badInput(field, `"${path}" must be an absolute path on the server`);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw badInput(field, `"${path}" does not exist on the server`);
  }
  if (realRoots(roots).some((root) => isInside(real, root))) return real;
  throw new ApiError("FORBIDDEN", `${field}: "${path}" is outside the configured ${what} roots (${roots.join(", ")}); move it under one of them`, { field });
}
