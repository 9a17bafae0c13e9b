import { realpathSync } from "node:fs";
import { isAbsolute, relative, sep } from "node:path";

/** A file a model folder would read resolves (symlinks, `..`) outside every allowed root. */
export class OutsideRootError extends Error {
  override readonly name = "OutsideRootError";
  constructor(
    message: string,
    /** The file as named in the model folder (or in its index), never its target or content. */
    readonly file: string,
  ) {
    super(message);
  }
}

/** Real paths of the roots that exist (a missing root holds nothing). */
export function realRoots(roots: readonly string[]): string[] {
  const out: string[] = [];
  for (const root of roots) {
    try {
      out.push(realpathSync(root));
    } catch {
      // a root that does not exist cannot contain anything
    }
  }
  return out;
}

/** True when the real path `real` is `root` itself or lies below it. */
export function isInside(real: string, root: string): boolean {
  const rel = relative(root, real);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Real path of `path` when it lies inside one of `realRootPaths` (from realRoots); undefined when
 * it does not exist (the loader reports that). Throws OutsideRootError naming `shown` otherwise.
 */
export function realPathInside(path: string, shown: string, realRootPaths: readonly string[]): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  if (realRootPaths.some((root) => isInside(real, root))) return real;
  throw new OutsideRootError(
    `${shown}: resolves outside the model roots (a symlink or ".." leads out of the folder); put the file itself inside the folder, or serve a root that holds it`,
    shown,
  );
}
