/**
 * One shard of a run's extraction, as a runner executes it: forward rows [start, end) of the val set
 * with the trained prompt, keep the shard's partial statistics (co-moments, reservoirs, outputs) and
 * end with a `done` event that carries them. The same code runs in a local worker thread and in a
 * queue runner process; the server merges the partials (PartialStats.merge) exactly once per shard.
 * With the activation lake, the shard's activations go to Parquet files (store/lake-writer.ts) and
 * the `done` lists those files instead of the activations passing through the server.
 */
import { runJob } from "../../gpu-runner/runner/job.js";
import type { DoneEvent, RunnerEvent, StartMessage } from "../../gpu-runner/runner/protocol.js";
import type { LakeFile, LakeTarget } from "../store/index.js";
import { LakeShardWriter } from "../store/lake-writer.js";
import { parseVerbalizer } from "../tasks/index.js";
import { PartialStats, type ShardPartial } from "./partial-stats.js";
import type { RunStorage } from "./run-options.js";
import type { MetricRow } from "./samples.js";

export interface ShardJob {
  readonly type: "shard";
  readonly runId: string;
  /** The runner's start: extraction only, with the trained `prompt` and this shard's `shard` range. */
  readonly start: StartMessage;
  /** The val rows as the metrics library sees them (every row: metrics are indexed by val row). */
  readonly metricRows: readonly MetricRow[];
  readonly verbalizer: Record<string, string> | null;
  readonly metrics?: readonly string[];
  readonly storage: RunStorage;
  /** true: activation batches also go back as events (the server stores them); false: only the partial. */
  readonly sendActivations: boolean;
  /** Storage "full" without sendActivations: where the shard writes its activations (null: nowhere). */
  readonly lake: LakeTarget | null;
}

/** The terminal event of a shard job: a `done` whose `partial` holds the shard's statistics, `lake` the files it wrote. */
export type ShardDoneEvent = DoneEvent & { readonly partial: ShardPartial; readonly lake: readonly LakeFile[] };

export function isShardDone(ev: RunnerEvent): ev is ShardDoneEvent {
  return ev.type === "done" && "partial" in ev;
}

/** Runs the shard; never throws: ends with a ShardDoneEvent or an `error` event, like runJob. */
export async function runShardJob(job: ShardJob, send: (ev: RunnerEvent) => void, signal: AbortSignal): Promise<void> {
  let partial: PartialStats;
  try {
    partial = new PartialStats({ rows: job.metricRows, verbalizer: job.verbalizer ? parseVerbalizer(job.verbalizer) : undefined }, job.storage, job.metrics);
  } catch (e) {
    send({ type: "error", runId: job.runId, seq: 0, code: "BAD_INPUT", message: (e as Error).message });
    return;
  }
  let lake: LakeShardWriter | null = null;
  try {
    if (job.lake) lake = await LakeShardWriter.open(job.lake, job.runId, job.start.shard?.index ?? 0);
  } catch (e) {
    send({ type: "error", runId: job.runId, seq: 0, code: "BAD_INPUT", message: (e as Error).message });
    return;
  }
  // lake writes are asynchronous: they run one after another behind the extraction, and the shard is
  // done only once they all are (a failed write fails the shard)
  let writes = Promise.resolve();
  let nLayers = 0;
  // an exception thrown here (a bad batch) ends runJob with an error event, as any runner failure does
  await runJob(job.start, (ev) => {
    switch (ev.type) {
      case "status":
        if (ev.info) nLayers = ev.info.nLayers;
        return send(ev);
      case "samples":
        return partial.observeSamples(ev);
      case "activations":
        partial.observeActivations(ev, nLayers);
        if (job.sendActivations) send(ev);
        else if (lake) {
          const writer = lake;
          writes = writes.then(() => writer.write(ev));
        }
        return;
      case "done": {
        const stats = partial.toPartial();
        const writer = lake;
        lake = null;
        writes = writes
          .then(async () => {
            const shardDone: ShardDoneEvent = { ...ev, partial: stats, lake: writer ? await writer.finish() : [] };
            send(shardDone);
          })
          .catch((e: Error) => send({ type: "error", runId: job.runId, seq: ev.seq, code: "INTERNAL", message: `writing shard ${job.start.shard?.index ?? 0} to the activation lake: ${e.message}` }));
        return;
      }
      default:
        return send(ev);
    }
  }, signal);
  await writes.catch(() => undefined);
  // a shard that ended without its done (cancelled, failed) drops what it staged
  await lake?.close();
}
