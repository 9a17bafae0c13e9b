/**
 * Model engine for the runner: load a Hugging Face folder, compile a session that computes what
 * a step needs (logits, FFN taps, loss, soft-prompt gradient), run batches of sequences.
 *
 * ```ts
 * const model = loadModel(dir, { device: "cpu", threads: 4 });
 * const train = await createSession(model, { softPromptLength: 20, withPromptGrad: true });
 * const { loss, promptGrad } = await train.run({ sequences: [{ ids, insertAt: K, lossLast: answerLen }], softPrompt });
 * const extract = await createSession(model, { softPromptLength: 20, taps: "all", logits: "loss" });
 * const { ffn, logits } = await extract.run({ sequences, softPrompt }); // ffn.get(l): [B*n, F]
 * // FFN intervention (ablation / steering) at the soft positions of layer 3: a -> a * scale + offset
 * const ablate = await createSession(model, { softPromptLength: 20, logits: "loss", intervene: { layers: [3] } });
 * await ablate.run({ sequences, softPrompt, intervention: { scale, offset } }); // scale [I*F], offset [I*F] or [B*I*F]
 * ```
 */
export { loadModel, createSession, ModelSession, type LoadedModel, type SessionOptions, type RunInput, type RunResult, type Device, type InterventionValues, type ResolvedSessionOptions } from "./session.js";
export { layoutBatch, BatchInputError, MASKED, type SequenceInput, type BatchLayout } from "./layout.js";
export { embeddingTensor, readEmbeddingRows } from "./embedding.js";
export { ropeInvFreq } from "./rope.js";
export type { GraphSpec, GraphBuilder } from "./spec.js";
export { buildGpt2Graph } from "./gpt2.js";
export { buildLlamaGraph } from "./llama.js";
