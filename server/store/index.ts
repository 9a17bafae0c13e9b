export { Store, type OpenOptions } from "./store.js";
export { ACTIVE_STATUSES, type RunStatus, type RunRecord, type RunPatch } from "./run-state.js";
export type { ModelRecord, TaskRecord, MetricKind, MetricInfo, AlignedMetric, SampleRow, StoredSampleRow, SampleOutputs } from "./records.js";
export { ANALYSIS_SPLIT } from "./records.js";
export type { RunEvent } from "./events.js";
export type { Checkpoint } from "./blobs.js";
export type { ActivationBatch, IngestResult, LayerActivations, NeuronActivations } from "./activations.js";
export type { ScoreAgg, ScoreBatch, ScoreQuery, RankedScore, ScorePage } from "./scores.js";
export { StoreError, type StoreErrorCode } from "./errors.js";
