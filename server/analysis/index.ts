/** The analysis engine: pure functions over typed arrays (no I/O, no GraphQL, no SQL). */
export { AnalysisError } from "./errors.js";
export { StreamingStats, gatherMetricValues, type StatsShape, type StatsSnapshot, type LayerMoments } from "./streaming-stats.js";
export { maxAbsOverPositions, type MaxAbsOverPositions } from "./position-aggregate.js";
export { TopKHeap, topKByAbs, type RankedNeuron } from "./top-k.js";
export { histogram, type Histogram } from "./histogram.js";
export { pearsonPValue, pearsonPValues, criticalAbsR, benjaminiHochberg, sidakCorrected, type BenjaminiHochberg } from "./significance.js";
export { permutationNull, sortedQuantile, NULL_HISTOGRAM_BINS, type PermutationNull, type PermutationNullOptions } from "./permutation-null.js";
export { extremalSamples, type ExtremalSamples } from "./extremal.js";
export { averageRanks, pearsonPair, spearman, spearmanColumns, discretize, mutualInformation, thresholdAccuracy, type ThresholdAccuracy } from "./rank-scores.js";
export { ReservoirSet, type ReservoirShape, type ReservoirSnapshot, type LayerReservoirs } from "./reservoir.js";
export { scoreMetricFromActivations, type AfterTheFactScores } from "./after-the-fact.js";
export { Prng } from "./prng.js";
export { scoreMetricInWorkers, permutationNullInWorker } from "./parallel.js";
