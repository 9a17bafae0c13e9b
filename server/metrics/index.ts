export { MetricError, type MetricInfo, type MetricKind, type SampleOutput } from "./types.js";
export { listMetrics, computeMetric, computeAvailableMetrics, assertNewMetricName, MAX_ONE_VS_REST, type MetricContext } from "./registry.js";
export { metricFromPairs, type SampleValue } from "./pairs.js";
export { counterexampleIndices, type CounterexampleOptions } from "./counterexamples.js";
export { lexicalOverlap, subsequence } from "./nli.js";
export { normalizedWords } from "./normalize.js";
export { digitFeatures, lastDigit, shortcutDigit, firstInteger, parseInteger, type ArithmeticOp, type DigitFeatures } from "./arithmetic.js";
export { labelClasses, labelMetric, oneVsRest } from "./labels.js";
export type { HeuristicConfig, NliFields, ArithmeticFields } from "./heuristics.js";
