import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DuckDBConnection } from "@duckdb/node-api";
import { StoreError } from "./errors.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** schema/migrations at the repository root; this file compiles to dist/server/store/. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../schema/migrations/", import.meta.url));

/** Reads `NNN_name.sql` files in version order; refuses gaps and duplicates. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2]!, sql: readFileSync(`${dir}/${file}`, "utf8") });
  }
  out.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new StoreError("SCHEMA", `migrations in ${dir} must be numbered 001, 002, ... without gaps; found ${mig.version} at position ${i + 1}`);
    }
  });
  return out;
}

async function appliedVersion(conn: DuckDBConnection): Promise<number> {
  const reader = await conn.runAndReadAll("SELECT coalesce(max(version), 0)::INTEGER FROM schema_migrations");
  return reader.getRows()[0]![0] as number;
}

/** Applies pending migrations, each in its own transaction. Returns the schema version reached. */
export async function migrate(conn: DuckDBConnection, migrations: Migration[] = loadMigrations()): Promise<number> {
  await conn.run(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied TIMESTAMP NOT NULL DEFAULT current_timestamp)",
  );
  let version = await appliedVersion(conn);
  if (version > migrations.length) {
    throw new StoreError("SCHEMA", `database schema version ${version} is newer than this skillscope (${migrations.length}); upgrade skillscope`);
  }
  const pending = migrations.length - version;
  for (const mig of migrations.slice(version)) {
    await conn.run("BEGIN TRANSACTION");
    try {
      await conn.run(mig.sql);
      await conn.run("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [mig.version, mig.name]);
      await conn.run("COMMIT");
    } catch (err) {
      await conn.run("ROLLBACK");
      throw new StoreError("SCHEMA", `migration ${String(mig.version).padStart(3, "0")}_${mig.name} failed: ${(err as Error).message}`, { cause: err });
    }
    version = mig.version;
  }
  // Schema changes go into the database file now, not the WAL: DuckDB 1.5 fails to replay an
  // ALTER of a table with a DEFAULT current_timestamp column from the WAL after a crash.
  if (pending > 0) await conn.run("CHECKPOINT");
  return version;
}

/** For read-only opens: the file must already be at the current version. */
export async function checkVersion(conn: DuckDBConnection, migrations: Migration[] = loadMigrations()): Promise<void> {
  let version = 0;
  try {
    version = await appliedVersion(conn);
  } catch {
    version = 0;
  }
  if (version !== migrations.length) {
    throw new StoreError(
      "SCHEMA",
      `database is at schema version ${version}, this skillscope needs ${migrations.length}; open it once read-write to migrate`,
    );
  }
}
