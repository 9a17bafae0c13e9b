/**
 * Causal services over a finished run (ablation against random controls, steering), each run as
 * a job in a worker thread. Entry points for GraphQL and the CLI.
 */
export { runAblation, topNeurons, MEASURES, type AblationOptions, type AblationReport, type Effect, type Measure, type ServiceDeps } from "./ablation.js";
export { steerNeuron, DEFAULT_FACTORS, type SteeringOptions, type SteeringReport } from "./steering.js";
export { workerExecutor, type CausalExecutor, type ExecuteOptions } from "./execute.js";
export { pairedBootstrap, tInterval, studentTQuantile, type Interval } from "./intervals.js";
export { loadRunContext, type RunContext } from "./run-context.js";
