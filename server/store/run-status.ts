/**
 * The run status machine: the statuses, which may follow which, and the two sets readers ask about.
 * Pure (no DuckDB), so the dashboard bundles the same sets the store uses.
 */

export type RunStatus = "queued" | "running" | "training" | "extracting" | "scoring" | "done" | "failed" | "cancelled" | "interrupted";

/** Working now: a runner slot is held (a crash leaves these behind; Store.open marks them interrupted). */
export const ACTIVE_STATUSES: readonly RunStatus[] = ["running", "training", "extracting", "scoring"];

/** Queued or working: the status changes without anyone acting, so clients follow these runs live. */
export const LIVE_STATUSES: readonly RunStatus[] = ["queued", ...ACTIVE_STATUSES];

/** Allowed status changes. done is final; failed/cancelled/interrupted runs may be queued again. */
export const TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ["running", "training", "extracting", "scoring", "failed", "cancelled"],
  running: ["training", "extracting", "scoring", "done", "failed", "cancelled", "interrupted"],
  training: ["running", "extracting", "scoring", "done", "failed", "cancelled", "interrupted"],
  extracting: ["running", "training", "scoring", "done", "failed", "cancelled", "interrupted"],
  scoring: ["running", "training", "extracting", "done", "failed", "cancelled", "interrupted"],
  done: [],
  failed: ["queued"],
  cancelled: ["queued"],
  interrupted: ["queued", "running", "training", "extracting", "scoring", "failed", "cancelled"],
};
