/** Opaque per-run state the store keeps as bytes: prompt checkpoints and top-k reservoirs. */
import { bytesOf } from "./columns.js";
import type { Db } from "./db.js";

export interface Checkpoint {
  step: number;
  /** [n_soft, d_model] flattened */
  prompt: Float32Array;
  /** The runner's whole encoded checkpoint frame (codec.ts encodeFrame): what a resumed run restarts from. */
  resumeFrame: Uint8Array | null;
  created: Date;
}

export async function saveCheckpoint(db: Db, runId: number, step: number, prompt: Float32Array, resumeFrame: Uint8Array | null): Promise<void> {
  return db.write(`saving checkpoint of run ${runId}`, async (conn) => {
    await conn.run("INSERT INTO prompt_checkpoints (run_id, step, prompt, resume_frame) VALUES ($1, $2, $3, $4)", [
      runId,
      step,
      bytesOf(prompt),
      resumeFrame ? bytesOf(resumeFrame) : null,
    ]);
  });
}

/** The checkpoint with the highest step, or null. */
export async function latestCheckpoint(db: Db, runId: number): Promise<Checkpoint | null> {
  return db.read(`reading checkpoint of run ${runId}`, async (conn) => {
    const reader = await conn.runAndReadAll(
      "SELECT step, prompt, resume_frame, created FROM prompt_checkpoints WHERE run_id = $1 ORDER BY step DESC, created DESC LIMIT 1",
      [runId],
    );
    const rows = reader.getRows();
    if (rows.length === 0) return null;
    const [step, prompt, frame, created] = rows[0]! as [number, { bytes: Uint8Array }, { bytes: Uint8Array } | null, { toString(): string }];
    const pb = new Uint8Array(prompt.bytes); // a copy: .bytes may be a pooled Buffer view
    return {
      step,
      prompt: new Float32Array(pb.buffer, 0, pb.byteLength / 4),
      resumeFrame: frame ? new Uint8Array(frame.bytes) : null,
      created: new Date(`${created.toString()}Z`),
    };
  });
}

/** Stores (replacing) one layer's serialized reservoirs (runs with storage "topk"). */
export async function putReservoir(db: Db, runId: number, layer: number, data: Uint8Array): Promise<void> {
  return db.tx(`saving reservoirs of run ${runId} layer ${layer}`, async (conn) => {
    await conn.run("DELETE FROM reservoirs WHERE run_id = $1 AND layer = $2", [runId, layer]);
    await conn.run("INSERT INTO reservoirs (run_id, layer, data) VALUES ($1, $2, $3)", [runId, layer, bytesOf(data)]);
  });
}

export async function getReservoir(db: Db, runId: number, layer: number): Promise<Uint8Array | null> {
  return db.read(`reading reservoirs of run ${runId} layer ${layer}`, async (conn) => {
    const rows = (await conn.runAndReadAll("SELECT data FROM reservoirs WHERE run_id = $1 AND layer = $2", [runId, layer])).getRows();
    return rows.length === 0 ? null : new Uint8Array((rows[0]![0] as { bytes: Uint8Array }).bytes);
  });
}
