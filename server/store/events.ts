/** A run's progress events, numbered per run (1, 2, ...) by the caller that streams them. */
import { listValue } from "@duckdb/node-api";
import { parseJson, rowObjects } from "./columns.js";
import type { Db } from "./db.js";

export interface RunEvent {
  seq: number;
  payload: unknown;
  created: Date;
}

/**
 * Appends events whose sequence numbers the caller assigned (continuing lastEventSeq), in one
 * transaction: the bulk path for fast progress streams.
 */
export async function appendEvents(db: Db, runId: number, events: readonly { seq: number; payload: unknown }[]): Promise<void> {
  if (events.length === 0) return;
  return db.tx(`appending ${events.length} events to run ${runId}`, async (conn) => {
    await conn.run("INSERT INTO run_events (run_id, seq, payload) SELECT $run, unnest($seqs::INTEGER[]), unnest($payloads::VARCHAR[])", {
      run: runId,
      seqs: listValue(events.map((e) => e.seq)),
      payloads: listValue(events.map((e) => JSON.stringify(e.payload))),
    });
  });
}

/** The run's highest event sequence number (0 when it has none). */
export async function lastEventSeq(db: Db, runId: number): Promise<number> {
  return db.read(`reading events of run ${runId}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT coalesce(max(seq), 0)::INTEGER AS s FROM run_events WHERE run_id = $1", [runId]);
    return rows[0]!.s as number;
  });
}

export async function listEvents(db: Db, runId: number, afterSeq = 0): Promise<RunEvent[]> {
  return db.read(`listing events of run ${runId}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT seq, payload, created FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq", [runId, afterSeq]);
    return rows.map((r) => ({ seq: r.seq as number, payload: parseJson(r.payload), created: r.created as Date }));
  });
}
