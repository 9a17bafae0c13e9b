/**
 * Testing hypotheses about a finished run's neurons: probe them on new inputs (in a worker),
 * explain them by input features scored on held-out samples (offline, or with an LLM the user
 * configures), and find neurons by what explains them.
 */
export { probeRun, MAX_PROBE_INPUTS, type ProbeInputs, type ProbeOptions, type ProbeResult, type ProbeReading, type ProbeSampleResult } from "./probe.js";
export { explainNeurons, type ExplainNeuronsOptions, type NeuronExplanations } from "./service.js";
export { explainActivations, rocAuc, cohensD, type Explanation, type Miss } from "./explain.js";
export { FeatureRows, candidateFeatures, describeFeature, featureId, type FeatureSpec, type FeatureKind, type FeatureSample } from "./features.js";
export { explainWithLlm, checkLlmConfig, type LlmConfig, type LlmExplanation, type LlmSample } from "./llm.js";
