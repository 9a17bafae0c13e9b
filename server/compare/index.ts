/** Comparison services: seed stability, cross-run comparison, counterexample sets, alternative scores. */
export { seedStability, type StabilityOptions, type StabilityReport, type MetricStability, type RunPair } from "./seed-stability.js";
export { compareRuns, type CompareOptions, type RunComparison, type LayerShift } from "./compare-runs.js";
export { counterexampleAccuracy, type CounterexampleOptions, type CounterexampleReport, type SubsetAccuracy } from "./counterexamples.js";
export { alternativeScores, type AlternativeScoreOptions, type AlternativeScores, type ScoreKind } from "./alternative-scores.js";
export { readScoreTable, neuronKey, type ScoreTable, type ScoredNeuron } from "./score-table.js";
export { jaccard, ksStatistic } from "./set-stats.js";
