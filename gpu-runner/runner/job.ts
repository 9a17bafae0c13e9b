/**
 * One run, start to finish: open the model, tokenize the rows, train (or take the given prompt),
 * extract, and report everything through `send` as protocol events with runId and seq.
 * The same function serves the worker thread and a remote runner process.
 */
import { extract, type ExtractSummary } from "../extract/extract.js";
import { badInput, toRunnerError } from "../train/errors.js";
import { resolveLayout, type EncodedSample, type LayoutOptions } from "../train/layout.js";
import type { TextCodec } from "../train/prompt-model.js";
import { throwIfCancelled, trainPrompt, type TrainResult } from "../train/train.js";
import { openPromptModel } from "./model-factory.js";
import type { EventBody, RunnerEvent, RunSummary, StartMessage, TaskRow } from "./protocol.js";

export type Send = (ev: RunnerEvent) => void;

/** Runs the job; never throws: failures and cancellation end with an `error` event, success with `done`. */
export async function runJob(start: StartMessage, send: Send, signal: AbortSignal): Promise<void> {
  let seq = 0;
  const emit = (body: EventBody) => send({ ...body, runId: start.runId, seq: seq++ } as RunnerEvent);
  const t0 = performance.now();
  let dispose: (() => Promise<void>) | undefined;
  try {
    checkStart(start);
    emit({ type: "status", phase: "loading", message: `opening ${start.model.kind} model` });
    const { model, codec } = await openPromptModel(start.model);
    dispose = () => model.dispose();
    const layout = resolveLayout({ ...start.layout, padId: codec.padId, maxLength: start.layout?.maxLength ?? model.maxPositions });
    const devRows = start.rows.dev ?? [];
    emit({ type: "status", phase: "tokenizing", message: `tokenizing ${start.rows.train.length} train, ${devRows.length} dev and ${start.rows.val.length} val rows` });
    const train = await encodeRows(start.rows.train, codec, "train", layout, signal);
    const dev = await encodeRows(devRows, codec, "dev", layout, signal);
    const val = await encodeRows(start.rows.val, codec, "val", layout, signal);
    const shard = start.shard ?? { index: 0, count: 1 };
    const shardIdx = shardRows(val.length, shard);
    emit({
      type: "status", phase: start.prompt ? "extracting" : "training", message: "model and rows loaded",
      info: {
        dModel: model.dModel, nLayers: model.nLayers, dFF: model.dFF, vocabSize: model.vocabSize,
        neuronDefinition: model.neuronDefinition, promptLength: layout.promptLength, placement: layout.placement,
        nTrain: train.length, nVal: val.length, nExtract: shardIdx.length,
        truncatedRows: countTruncated([...train, ...val], layout),
      },
    });

    let prompt: Float32Array;
    let trained: TrainResult | undefined;
    if (start.prompt) {
      if (!(start.prompt instanceof Float32Array) || start.prompt.length !== layout.promptLength * model.dModel) {
        throw badInput(`prompt must be a Float32Array of promptLength*dModel = ${layout.promptLength}*${model.dModel} values`);
      }
      prompt = start.prompt;
    } else {
      const trainConfig = start.initText === undefined ? start.train ?? {} : { ...start.train, init: { kind: "ids" as const, ids: await codec.encodeAnswer(start.initText) } };
      // the prompt is chosen on dev when there is one: the val rows extracted below never select it
      trained = await trainPrompt(model, { train, val: start.rows.dev ? dev : val }, layout, trainConfig, {
        signal,
        resume: start.resume,
        onProgress: (p) => emit({ type: "progress", phase: "training", ...p }),
        onCheckpoint: (c) => emit({ type: "checkpoint", step: c.step, checkpoint: c }),
      });
      prompt = trained.prompt;
      // the gradient session's graph and buffers would otherwise stay alive beside extraction's
      await model.releaseTraining();
    }

    let extracted: (ExtractSummary & { shard: number }) | undefined;
    let extractSeconds: number | undefined;
    if (start.extract?.enabled !== false && shardIdx.length > 0) {
      emit({ type: "status", phase: "extracting", message: `extracting ${shardIdx.length} val rows` });
      const rows = shardIdx.map((i) => val[i]);
      const toGlobal = (local: Int32Array) => local.map((i) => shardIdx[i]);
      const te = performance.now();
      let tokens = 0;
      let lossSum = 0;
      let seen = 0;
      const summary = await extract(model, rows, layout, prompt, start.extract ?? {}, {
        decode: (ids) => codec.decode(ids),
        signal,
        startBatch: start.startBatch,
        onSamples: (s) => {
          const sampleIdx = toGlobal(s.sampleIdx);
          for (let r = 0; r < s.loss.length; r++) lossSum += s.loss[r];
          seen += s.loss.length;
          for (const i of sampleIdx) tokens += val[i].instructionIds.length + layout.promptLength + val[i].answerIds.length;
          emit({
            type: "samples", shard: shard.index, batchId: s.batchId, sampleIdx, sampleIds: Array.from(sampleIdx, (i) => start.rows.val[i].id),
            loss: s.loss, goldProb: s.goldProb, confidence: s.confidence,
            contentToken: s.contentToken, contentLoss: s.contentLoss, contentConfidence: s.contentConfidence,
            prediction: s.prediction, correct: s.correct,
          });
        },
        onActivations: (a) => emit({
          type: "activations", shard: shard.index, batchId: a.batchId, layer: a.layer, sampleIdx: toGlobal(a.sampleIdx),
          positions: a.positions, positionKind: (start.extract?.positions ?? "soft") === "soft" ? "soft" : "absolute",
          nPositions: a.nPositions, dFF: a.dFF, data: a.data,
        }),
        onBatchDone: (done, total) => {
          const sec = (performance.now() - te) / 1000;
          const first = start.startBatch ?? 0;
          emit({
            type: "progress", phase: "extracting", step: done, totalSteps: total, epoch: 0, loss: seen ? lossSum / seen : 0, lr: 0,
            tokensPerSec: sec > 0 ? tokens / sec : 0, etaSec: done > first ? (sec / (done - first)) * (total - done) : 0,
          });
        },
      });
      extracted = { ...summary, shard: shard.index };
      extractSeconds = (performance.now() - te) / 1000;
    }

    const summary: RunSummary = {
      neuronDefinition: model.neuronDefinition,
      prompt: Float32Array.from(prompt),
      train: trained && {
        steps: trained.steps, epochs: trained.epochs, stoppedEarly: trained.stoppedEarly, finalLoss: trained.finalLoss,
        bestStep: trained.best?.step, bestValLoss: trained.best?.valLoss, bestValAccuracy: trained.best?.valAccuracy,
      },
      extract: extracted,
      // training finished in earlier attempts counts; work an attempt redid does not
      seconds: (performance.now() - t0) / 1000 + (trained ? start.resume?.seconds ?? 0 : 0),
      trainSeconds: trained?.seconds,
      extractSeconds,
    };
    emit({ type: "done", summary });
  } catch (e) {
    const err = toRunnerError(e);
    emit({ type: "error", code: err.code, message: err.message });
  } finally {
    await dispose?.().catch(() => undefined);
  }
}

/** Rows tokenized between two looks at the cancel signal. */
const ROWS_PER_CANCEL_CHECK = 256;

/**
 * Tokenize rows; a row too long for the layout is an error naming it (unless truncation is on).
 * Every ROWS_PER_CANCEL_CHECK rows it yields to the event loop, so that a `cancel` message can
 * arrive, and stops if `signal` has aborted: 10,000 rows take a few hundred ms.
 */
export async function encodeRows(rows: readonly TaskRow[], codec: TextCodec, split: string, layout: LayoutOptions, signal?: AbortSignal): Promise<EncodedSample[]> {
  const out: EncodedSample[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (signal && i > 0 && i % ROWS_PER_CANCEL_CHECK === 0) {
      await new Promise((resolve) => setImmediate(resolve));
      throwIfCancelled(signal);
    }
    const row = rows[i];
    if (!row || typeof row.id !== "string" || typeof row.instruction !== "string" || typeof row.answer !== "string") {
      throw badInput(`rows.${split}[${i}] must have string id, instruction and answer`);
    }
    try {
      const sample = await codec.encodePair(row.instruction, row.answer);
      const { instructionIds, answerIds } = sample;
      if (answerIds.length === 0) throw badInput(`answer "${row.answer}" encodes to no tokens`);
      const len = instructionIds.length + layout.promptLength + answerIds.length;
      if (layout.maxLength !== undefined && len > layout.maxLength && (layout.truncate !== "left" || (sample.keepFirst ?? 0) + answerIds.length + layout.promptLength > layout.maxLength)) {
        throw badInput(`${len} tokens (instruction ${instructionIds.length} + prompt ${layout.promptLength} + answer ${answerIds.length}) exceed the limit ${layout.maxLength}; shorten it or set layout.truncate "left"`);
      }
      out.push(sample);
    } catch (e) {
      throw badInput(`rows.${split}[${i}] (id ${row.id}): ${(e as Error).message}`);
    }
  }
  return out;
}

/** The val row indices a shard extracts, ascending. */
export function shardRows(nVal: number, shard: NonNullable<StartMessage["shard"]>): number[] {
  const all = Array.from({ length: nVal }, (_, i) => i);
  if (shard.start !== undefined && shard.end !== undefined) return all.slice(shard.start, shard.end);
  return all.filter((i) => i % shard.count === shard.index);
}

function countTruncated(samples: readonly EncodedSample[], layout: LayoutOptions): number {
  if (layout.maxLength === undefined) return 0;
  return samples.filter((s) => s.instructionIds.length + layout.promptLength + s.answerIds.length > layout.maxLength!).length;
}

function checkStart(start: StartMessage): void {
  if (typeof start.runId !== "string" || start.runId === "") throw badInput("start.runId must be a non-empty string");
  if (!start.rows || !Array.isArray(start.rows.train) || !Array.isArray(start.rows.val)) {
    throw badInput("start.rows must be { train: TaskRow[], val: TaskRow[] }");
  }
  if (!start.prompt && start.rows.train.length === 0) throw badInput("start.rows.train is empty: give training rows or a trained prompt");
  const s = start.shard;
  if (s && !(Number.isInteger(s.count) && s.count >= 1 && Number.isInteger(s.index) && s.index >= 0 && s.index < s.count)) {
    throw badInput(`start.shard must satisfy 0 <= index < count, got ${JSON.stringify(s)}`);
  }
  if (s && (s.start !== undefined || s.end !== undefined)) {
    const ok = Number.isInteger(s.start) && Number.isInteger(s.end) && s.start! >= 0 && s.start! <= s.end! && s.end! <= start.rows.val.length;
    if (!ok) throw badInput(`start.shard rows [start, end) must both be given with 0 <= start <= end <= ${start.rows.val.length} val rows, got ${JSON.stringify(s)}`);
  }
}
