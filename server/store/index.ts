export { Store, ACTIVE_STATUSES } from "./store.js";
export type {
  RunStatus,
  RunRecord,
  RunPatch,
  ModelRecord,
  TaskRecord,
  RunEvent,
  MetricKind,
  MetricInfo,
  MetricValues,
  Checkpoint,
  OpenOptions,
} from "./store.js";
export type { ActivationBatch, IngestResult, LayerActivations, NeuronActivations } from "./activations.js";
export type { ScoreAgg, ScoreBatch, ScoreQuery, RankedScore, ScorePage } from "./scores.js";
export type { SampleRow, SampleOutputs } from "./records.js";
export { StoreError, type StoreErrorCode } from "./errors.js";
