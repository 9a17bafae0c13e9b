/**
 * One shard of a run's extraction, as a runner executes it: forward rows [start, end) of the val set
 * with the trained prompt, keep the shard's partial statistics (co-moments, reservoirs, outputs) and
 * end with a `done` event that carries them. The same code runs in a local worker thread and in a
 * queue runner process; the server merges the partials (PartialStats.merge) exactly once per shard.
 */
import { runJob } from "../../gpu-runner/runner/job.js";
import type { DoneEvent, RunnerEvent, StartMessage } from "../../gpu-runner/runner/protocol.js";
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
}

/** The terminal event of a shard job: a `done` whose `partial` holds the shard's statistics. */
export type ShardDoneEvent = DoneEvent & { readonly partial: ShardPartial };

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
        return;
      case "done":
        {
        const shardDone: ShardDoneEvent = { ...ev, partial: partial.toPartial() };
        return send(shardDone);
      }
      default:
        return send(ev);
    }
  }, signal);
}
