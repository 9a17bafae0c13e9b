import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { StoreError, toStoreError } from "./errors.js";
import { SerialQueue } from "./serial.js";

/**
 * DuckDB's buffer pool for a database file (its default is 80% of RAM). For a file the pool only
 * caches blocks that are also on disk, yet it keeps them until that limit: during a run it held every
 * activation batch just stored (0.57 GB of a 60-row Qwen2.5-0.5B run, measured: whole run 2.92 GB
 * peak RSS, 2.57 GB with this limit). 256 MB holds what one query reads (ranking one metric's 2.3 M
 * per-position scores of that run used 47 MB of the pool); larger sorts spill to the file's .tmp
 * folder. In-memory databases keep the default: their pool is their only copy.
 */
const FILE_MEMORY_LIMIT = "256MB";

/**
 * One DuckDB database: a writer connection whose jobs run one at a time (so transactions never
 * interleave) and short-lived reader connections, which see committed data only.
 */
/** Files open in this process: a second Db on the same file would share DuckDB's instance and close it under the first. */
const openFiles = new Set<string>();

export class Db {
  private readonly queue = new SerialQueue();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    readonly readOnly: boolean,
    readonly label: string,
    private readonly fileKey: string | null,
  ) {}

  /** ':memory:' gives a private in-memory database; files go through the instance cache (never two instances per file). */
  static async open(path: string, readOnly: boolean): Promise<Db> {
    const key = path === ":memory:" ? null : resolve(path);
    if (key !== null && readOnly && !existsSync(key)) {
      throw new StoreError("NOT_FOUND", `database file ${path} does not exist; open it read-write once to create it`);
    }
    if (key !== null && openFiles.has(key)) {
      throw new StoreError("LOCKED", `database file ${path} is already open in this process; share that Store instead of opening another`);
    }
    try {
      const instance =
        path === ":memory:"
          ? await DuckDBInstance.create(":memory:")
          : await DuckDBInstance.fromCache(path, readOnly ? { access_mode: "READ_ONLY" } : {});
      const writer = await instance.connect();
      // Nothing is downloaded at run time: an extension DuckDB would fetch on first use must be installed already.
      await writer.run("SET autoinstall_known_extensions = false");
      // a SET, not instance config: DuckDB refuses a second fromCache of the file with another config
      if (key !== null) await writer.run(`SET memory_limit = '${FILE_MEMORY_LIMIT}'`);
      const db = new Db(instance, writer, readOnly, path, key);
      if (key !== null) openFiles.add(key);
      return db;
    } catch (err) {
      throw toStoreError(err, `opening ${path}`);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError("CLOSED", `store ${this.label} is closed`);
  }

  private assertWritable(what: string): void {
    if (this.readOnly) throw new StoreError("READ_ONLY", `${what}: store ${this.label} is read-only`);
  }

  /** Runs `fn` on the writer connection, alone. */
  write<T>(what: string, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    this.assertWritable(what);
    return this.writeFiles(what, fn);
  }

  /** Like write, also on a read-only store: for jobs that change files or temp tables only (export). */
  writeFiles<T>(what: string, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.queue.run(async () => {
      try {
        return await fn(this.writer);
      } catch (err) {
        throw toStoreError(err, what);
      }
    });
  }

  /** Runs `fn` inside BEGIN/COMMIT on the writer; any throw rolls the whole transaction back. */
  tx<T>(what: string, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.write(what, async (conn) => {
      await conn.run("BEGIN TRANSACTION");
      try {
        const out = await fn(conn);
        await conn.run("COMMIT");
        return out;
      } catch (err) {
        await conn.run("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  /** Runs `fn` on a fresh connection (committed data only; concurrent with writes). */
  async read<T>(what: string, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    this.assertOpen();
    const conn = await this.instance.connect();
    try {
      return await fn(conn);
    } catch (err) {
      throw toStoreError(err, what);
    } finally {
      conn.closeSync();
    }
  }

  /** The same database refusing writes (used for attached exports once their views exist). */
  asReadOnly(): Db {
    return new Db(this.instance, this.writer, true, this.label, this.fileKey);
  }

  /** Waits for queued writes, then releases the file (its lock included). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.run(async () => undefined);
    this.closed = true;
    this.writer.closeSync();
    this.instance.closeSync();
    if (this.fileKey !== null) openFiles.delete(this.fileKey);
  }
}
