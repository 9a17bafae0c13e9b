import type { RunRecord } from "../store/index.js";
import type { RunManager } from "../runs/run-manager.js";
import { parseLeaderboardKey, type LiveEvents, type RunStatusEvent, type TrainingProgressEvent } from "./live-events.js";

/** Neurons a published leaderboard holds (subscribers take their top k of these). */
export const LEADERBOARD_SIZE = 1000;

/**
 * Forwards the run manager's events to the live event bus: progress and status always,
 * leaderboards only for (run, metric) pairs someone is subscribed to. Returns the unsubscribe.
 */
export function bridgeRunEvents(runs: RunManager, live: LiveEvents): () => void {
  return runs.on((event) => {
    if (event.type === "progress") {
      const progress = toProgressEvent(String(event.runId), event.seq, event.payload);
      if (progress) live.publish("TRAINING_PROGRESS", progress.runId, progress);
    } else if (event.type === "status") {
      live.publish("RUN_STATUS", String(event.run.id), toStatusEvent(event.run));
    } else {
      const runId = String(event.runId);
      for (const key of live.watchedKeys("NEURON_LEADERBOARD")) {
        const [keyRun, metric] = parseLeaderboardKey(key);
        if (keyRun !== runId) continue;
        const board = runs.leaderboard(event.runId, metric, LEADERBOARD_SIZE);
        if (board) live.publish("NEURON_LEADERBOARD", key, { runId, metric, samplesSeen: board.samplesSeen, entries: board.entries });
      }
    }
  });
}

export function toStatusEvent(run: RunRecord): RunStatusEvent {
  return { runId: String(run.id), status: run.status, error: run.error, at: run.updated };
}

/**
 * A runner progress payload (as stored, without its sequence number) as a live event, or null
 * when the payload lacks a required field (it is then not progress).
 */
export function toProgressEvent(runId: string, seq: number, payload: unknown): TrainingProgressEvent | null {
  const p = payload as Record<string, unknown> | null;
  if (typeof p !== "object" || p === null) return null;
  const num = (key: string): number | undefined => (typeof p[key] === "number" ? (p[key] as number) : undefined);
  const [step, epoch, loss, lr, tokensPerSec] = [num("step"), num("epoch"), num("loss"), num("lr"), num("tokensPerSec")];
  if (typeof p.phase !== "string" || step === undefined || epoch === undefined || loss === undefined || lr === undefined || tokensPerSec === undefined) {
    return null;
  }
  return {
    runId,
    seq,
    phase: p.phase,
    step,
    totalSteps: num("totalSteps") ?? null,
    epoch,
    loss,
    lr,
    gradNorm: num("gradNorm") ?? null,
    valLoss: num("valLoss") ?? null,
    valAccuracy: num("valAccuracy") ?? null,
    tokensPerSec,
    etaSec: num("etaSec") ?? null,
  };
}
