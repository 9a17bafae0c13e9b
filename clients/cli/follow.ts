/** Follows a run through its runStatus and trainingProgress subscriptions until it ends. */
import type { GraphQLTransport } from "../client/client.js";
import { RunStatusSubscription, TrainingProgressSubscription } from "../client/documents.js";
import type { RunStatus } from "../client/generated/graphql.js";
import type { ProgressView } from "./progress.js";

/** States a run does not leave by itself. */
const FINAL_STATUSES: readonly RunStatus[] = ["DONE", "FAILED", "CANCELLED", "INTERRUPTED"];

export interface FinalStatus {
  status: RunStatus;
  error: string | null;
}

/**
 * Shows status changes and progress reports on `view` and resolves with the first final status.
 * Both subscriptions replay the current state first, so a run that already ended resolves at once.
 */
export async function followRun(transport: GraphQLTransport, runId: string, view: ProgressView): Promise<FinalStatus> {
  const statuses = transport.subscribe(RunStatusSubscription, { runId });
  const progress = transport.subscribe(TrainingProgressSubscription, { runId });
  const reports = (async () => {
    for await (const { trainingProgress: p } of progress) view.progress(p);
  })();
  // Progress is informative: if its stream fails, say so once and keep following the status.
  reports.catch((e: unknown) => view.warn(`live progress stopped: ${(e as Error).message}`));
  try {
    let last: RunStatus | undefined;
    for await (const { runStatus } of statuses) {
      if (runStatus.status !== last) view.status(runStatus.status, runStatus.error);
      last = runStatus.status;
      if (FINAL_STATUSES.includes(runStatus.status)) return { status: runStatus.status, error: runStatus.error ?? null };
    }
    throw new Error(`the status subscription of run ${runId} ended before the run did`);
  } finally {
    await Promise.all([statuses.return?.(), progress.return?.()]);
    await reports.catch(() => undefined);
    view.stop();
  }
}
