import type { ModelRecord, RunRecord, TaskRecord } from "../store/index.js";
import type { Model } from "./model.type.js";
import type { Run } from "./run.type.js";
import type { Task } from "./task.type.js";

/** Store records -> GraphQL objects (ids become strings, timestamps keep their Date). */
export function toModel(m: ModelRecord): Model {
  return { id: String(m.id), path: m.path, family: m.family, config: m.config, createdAt: m.created };
}

export function toTask(t: TaskRecord): Task {
  return { id: String(t.id), name: t.name, source: t.source, template: t.template, verbalizer: t.verbalizer, createdAt: t.created };
}

export function toRun(r: RunRecord): Run {
  return {
    id: String(r.id),
    modelId: r.modelId,
    taskId: r.taskId,
    status: r.status,
    error: r.error,
    config: r.config,
    neuronDefinition: r.neuronDefinition,
    layers: r.layers,
    positions: r.positions,
    dFF: r.dFF,
    timings: r.timings,
    trainFigures: r.trainFigures,
    ...trainedFrom(r.trainFigures),
    valFigures: r.valFigures,
    createdAt: r.created,
    updatedAt: r.updated,
  };
}

/** The kept prompt's step and the steps run, from the runner's training summary. */
function trainedFrom(figures: unknown): { keptPromptStep: number | null; trainedSteps: number | null } {
  const f = (figures ?? {}) as { bestStep?: unknown; steps?: unknown };
  const steps = typeof f.steps === "number" ? f.steps : null;
  // without a validation the final prompt is the one kept
  return { keptPromptStep: typeof f.bestStep === "number" ? f.bestStep : steps, trainedSteps: steps };
}
