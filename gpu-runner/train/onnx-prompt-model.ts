/**
 * PromptModel over a Hugging Face checkpoint compiled to ONNX graphs (gpu-runner/models).
 * Sessions are compiled lazily per (prompt length, purpose, taps) and reused: one with the loss
 * and prompt gradient for training, others with answer-position logits (+ FFN taps) for scoring
 * and extraction.
 */
import { ExecutionProviderError } from "../graph/session.js";
import { CheckpointError, ConfigError } from "../hf/errors.js";
import { assertModelFilesInside } from "../hf/model-dir.js";
import { OutsideRootError } from "../hf/roots.js";
import { readTensor } from "../hf/safetensors.js";
import type { TextTokenizer } from "../hf/tokenizer.js";
import { BatchInputError, type SequenceInput } from "../models/layout.js";
import { createSession, HalfOverflowError, loadModel, type Device, type LoadedModel, type LossPositionScores, type ModelSession, type SessionOptions } from "../models/session.js";
import { RunnerError, badInput } from "./errors.js";
import type { EncodedBatch, EncodedSample } from "./layout.js";
import type { EvalOutput, LossAndGrad, PromptModel, TapSpec, TextCodec } from "./prompt-model.js";
import type { AnswerTokenScores } from "./scoring.js";
import type { ComputeDtype } from "../models/spec.js";

/** Session-cache key prefix of the training (loss + prompt gradient) sessions. */
const GRAD_KEY = "grad:";
const EMBEDDING_NAMES = ["wte.weight", "transformer.wte.weight", "model.embed_tokens.weight", "embed_tokens.weight"];

export class OnnxPromptModel implements PromptModel {
  readonly dModel: number;
  readonly nLayers: number;
  readonly dFF: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly neuronDefinition: string;
  private readonly sessions = new Map<string, Promise<ModelSession>>();

  constructor(readonly loaded: LoadedModel) {
    const c = loaded.config;
    this.dModel = c.dModel;
    this.nLayers = c.nLayers;
    this.dFF = c.dFF;
    this.vocabSize = c.vocabSize;
    this.maxPositions = c.maxPositions;
    this.neuronDefinition = c.family === "gpt2" ? `${c.activation}(c_fc(x))` : `${c.activation}(gate_proj(x)) * up_proj(x)`;
  }

  async lossAndGrad(batch: EncodedBatch, prompt: Float32Array): Promise<LossAndGrad> {
    const session = await this.session(`${GRAD_KEY}${batch.promptLength}`, { softPromptLength: batch.promptLength, withPromptGrad: true });
    const out = await runMapped(session, batch, prompt);
    return { loss: out.loss!, grad: Float32Array.from(out.promptGrad!), tokens: batch.answerTokens };
  }

  async evaluate(batch: EncodedBatch, prompt: Float32Array, taps: TapSpec | null): Promise<EvalOutput> {
    const layers = taps?.layers ?? [];
    const key = `eval:${batch.promptLength}:${taps?.positions ?? "-"}:${layers.join(",")}`;
    const session = await this.session(key, {
      softPromptLength: batch.promptLength, logits: "scores", taps: layers, tapPositions: taps?.positions ?? "soft",
    });
    const out = await runMapped(session, batch, prompt);
    return { answers: toAnswerTokens(batch, out.scores!), taps: layers.map((l) => out.ffn.get(l)!) };
  }

  async embeddingRows(ids: ArrayLike<number>): Promise<Float32Array> {
    const name = EMBEDDING_NAMES.find((n) => this.loaded.tensors.has(n));
    if (!name) throw new RunnerError("MODEL_UNAVAILABLE", `${this.loaded.dir}: no input embedding tensor (${EMBEDDING_NAMES.join(", ")}); use train.init "normal"`);
    const info = this.loaded.tensors.get(name)!;
    const d = this.dModel;
    const out = new Float32Array(ids.length * d);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= info.shape[0]) throw badInput(`embedding row ${id} is outside 0..${info.shape[0] - 1}`);
      out.set(readTensor(info, id, id + 1), i * d);
    }
    return out;
  }

  async releaseTraining(): Promise<void> {
    await this.release((key) => key.startsWith(GRAD_KEY));
  }

  async dispose(): Promise<void> {
    await this.release(() => true);
  }

  private async release(which: (key: string) => boolean): Promise<void> {
    const keys = [...this.sessions.keys()].filter(which);
    const gone = keys.map((k) => this.sessions.get(k)!);
    for (const k of keys) this.sessions.delete(k);
    for (const s of gone) await (await s.catch(() => undefined))?.release();
  }

  private session(key: string, options: SessionOptions): Promise<ModelSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = createSession(this.loaded, options).catch((e: unknown) => {
        if (e instanceof ExecutionProviderError) throw new RunnerError("MODEL_UNAVAILABLE", e.message);
        if (e instanceof CheckpointError || e instanceof ConfigError || e instanceof BatchInputError) throw badInput(e.message);
        throw e;
      });
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }
}

/** Run a session on an EncodedBatch; the models layer re-lays the same rows out (same T, positions). */
async function runMapped(session: ModelSession, batch: EncodedBatch, prompt: Float32Array) {
  try {
    return await session.run({ sequences: toSequences(batch), softPrompt: prompt });
  } catch (e) {
    if (e instanceof BatchInputError) throw badInput(e.message);
    if (e instanceof HalfOverflowError) throw new RunnerError("NON_FINITE", e.message);
    throw e;
  }
}

/** [Q] loss-position scores in sequence-major answer order -> [B, A] (-1 / 0 past each row's answer). */
function toAnswerTokens(batch: EncodedBatch, s: LossPositionScores): AnswerTokenScores {
  const A = batch.maxAnswerLength;
  const logProb = new Float32Array(batch.size * A);
  const maxLogProb = new Float32Array(batch.size * A);
  const argmax = new Int32Array(batch.size * A).fill(-1);
  let q = 0;
  for (let r = 0; r < batch.size; r++) {
    for (let j = 0; j < batch.answerLength[r]; j++, q++) {
      logProb[r * A + j] = s.targetLogProb[q];
      maxLogProb[r * A + j] = s.maxLogProb[q];
      argmax[r * A + j] = s.argmax[q];
    }
  }
  if (q !== s.argmax.length) throw new RunnerError("INTERNAL", `the model scored ${s.argmax.length} answer tokens, the batch has ${q}`);
  return { logProb, maxLogProb, argmax };
}

/** EncodedBatch rows -> models/layout SequenceInput: token ids without soft slots, K, answer length. */
export function toSequences(batch: EncodedBatch): SequenceInput[] {
  const T = batch.seqLen;
  return Array.from({ length: batch.size }, (_, r) => {
    const ids: number[] = [];
    for (let t = 0; t < batch.lengths[r]; t++) if (batch.softIndex[r * T + t] < 0) ids.push(batch.inputIds[r * T + t]);
    return { ids, insertAt: batch.insertAt[r], lossLast: batch.answerLength[r] };
  });
}

/** Text codec over the checkpoint's tokenizer.json (TextTokenizer.encodePair: the answer tokenized as it continues the instruction). */
export class HfTextCodec implements TextCodec {
  readonly padId = 0;
  constructor(private readonly tokenizer: TextTokenizer) {}
  encodePair(instruction: string, answer: string): Promise<EncodedSample> {
    return this.tokenizer.encodePair(instruction, answer);
  }
  encodeAnswer(text: string): Promise<number[]> {
    return this.tokenizer.encode(text, false);
  }
  decode(ids: readonly number[]): Promise<string> {
    return this.tokenizer.decode([...ids], true);
  }
}

/**
 * Opens a checkpoint folder; bad folders become BAD_INPUT, a file resolving outside `roots` (when
 * given) FORBIDDEN before anything is read, a missing device MODEL_UNAVAILABLE.
 */
export function openOnnxPromptModel(
  dir: string, options: { device?: Device; compute?: ComputeDtype; threads?: number; roots?: readonly string[] } = {},
): { model: OnnxPromptModel; codec: HfTextCodec } {
  let loaded: LoadedModel;
  try {
    // the folder may have changed since it was registered: check every file again where it is opened
    if (options.roots) assertModelFilesInside(dir, options.roots);
    loaded = loadModel(dir, options);
  } catch (e) {
    if (e instanceof OutsideRootError) throw new RunnerError("FORBIDDEN", e.message);
    if (e instanceof CheckpointError || e instanceof ConfigError) throw badInput(e.message);
    throw e;
  }
  if (!loaded.tokenizer) throw badInput(`${dir}: tokenizer.json not found; download it with the model`);
  return { model: new OnnxPromptModel(loaded), codec: new HfTextCodec(loaded.tokenizer) };
}
