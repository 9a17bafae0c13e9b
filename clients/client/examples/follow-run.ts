/**
 * Follows a run live: status changes, training progress and the neuron leaderboard of a metric.
 *   node dist/clients/client/examples/follow-run.js RUN_ID [METRIC]
 * Server: $SKILLSCOPE_URL (default http://127.0.0.1:4000).
 */
import { createClient, NeuronLeaderboardSubscription, RunStatusSubscription, TrainingProgressSubscription } from "../index.js";

const [runId, metric = "label"] = process.argv.slice(2);
if (!runId) {
  console.error("usage: follow-run RUN_ID [METRIC]");
  process.exit(1);
}
const client = createClient({ url: process.env.SKILLSCOPE_URL ?? "http://127.0.0.1:4000" });
const progress = client.subscribe(TrainingProgressSubscription, { runId });
const board = client.subscribe(NeuronLeaderboardSubscription, { runId, metric, k: 5 });

// Each stream prints as it comes; the status stream decides when to stop.
void (async () => {
  for await (const { trainingProgress: p } of progress) {
    const val = p.valLoss != null ? ` val_loss=${p.valLoss.toFixed(4)} val_acc=${p.valAccuracy?.toFixed(3)}` : "";
    console.log(`[${p.phase}] step ${p.step} loss=${p.loss.toFixed(4)}${val}`);
  }
})().catch((e: Error) => console.error(`progress: ${e.message}`));
void (async () => {
  for await (const { neuronLeaderboard: b } of board) {
    console.log(`leaderboard after ${b.samplesSeen} samples: ${b.neurons.map((n) => `${n.id} r=${n.r.toFixed(3)}`).join(", ")}`);
  }
})().catch((e: Error) => console.error(`leaderboard: ${e.message}`));

try {
  for await (const { runStatus } of client.subscribe(RunStatusSubscription, { runId })) {
    console.log(`status ${runStatus.status}${runStatus.error ? `: ${runStatus.error}` : ""}`);
    if (["DONE", "FAILED", "CANCELLED", "INTERRUPTED"].includes(runStatus.status)) break;
  }
} finally {
  await client.close();
}
