import type { RunManager } from "../runs/run-manager.js";
import { StoreError } from "../store/errors.js";
import type { Store } from "../store/store.js";
import { LEADERBOARD_SIZE, toProgressEvent, toStatusEvent } from "./live-bridge.js";
import { parseLeaderboardKey, type LatestLoaders } from "./live-events.js";

/**
 * Latest state per topic for subscribers that join when nothing was published in this process
 * (e.g. after a restart): the run's stored status and last progress event, and the leaderboard
 * of a live run from the run manager, else of its stored scores.
 */
export function storeLoaders(store: Store, runs: RunManager): LatestLoaders {
  return {
    RUN_STATUS: async (runId) => {
      const run = await orNull(runId, (id) => store.getRun(id));
      return run && toStatusEvent(run);
    },
    TRAINING_PROGRESS: async (runId) => {
      const events = await orNull(runId, (id) => store.listEvents(id));
      const last = events?.[events.length - 1];
      return last ? toProgressEvent(runId, last.seq, last.payload) : null;
    },
    NEURON_LEADERBOARD: async (key) => {
      const [runId, metric] = parseLeaderboardKey(key);
      const live = await orNull(runId, async (id) => runs.leaderboard(id, metric, LEADERBOARD_SIZE));
      if (live) return { runId, metric, samplesSeen: live.samplesSeen, entries: live.entries };
      const page = await orNull(runId, (id) => store.queryScores(id, { metric, agg: "max_abs_r", first: LEADERBOARD_SIZE }));
      if (!page || page.rows.length === 0) return null;
      const outputs = await store.readSampleOutputs(Number(runId));
      return {
        runId,
        metric,
        samplesSeen: outputs.sampleIdx.length,
        entries: page.rows.map((s) => ({ layer: s.layer, index: s.neuron, r: s.r, bestPosition: s.position ?? 0 })),
      };
    },
  };
}

/** Runs that do not exist (or ids that are not run ids) simply have no state yet. */
async function orNull<T>(runId: string, read: (id: number) => Promise<T>): Promise<T | null> {
  const id = Number(runId);
  if (!Number.isSafeInteger(id) || id < 1) return null;
  try {
    return await read(id);
  } catch (error) {
    if (error instanceof StoreError && error.code === "NOT_FOUND") return null;
    throw error;
  }
}
