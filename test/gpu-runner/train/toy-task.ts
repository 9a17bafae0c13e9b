/** A seeded toy task for the toy model (test helper, not a test). */
import type { EncodedSample } from "../../../gpu-runner/train/layout.js";
import { Rng } from "../../../gpu-runner/train/rng.js";
import type { ToyModelConfig } from "./toy-model.js";
import type { TaskRow } from "../../../gpu-runner/runner/protocol.js";

export const TOY: ToyModelConfig = { vocabSize: 24, dModel: 8, dFF: 16, nLayers: 2, seed: 11 };

/**
 * Instruction: 3 content tokens in 6..23. Answer: "2" when the first content token is < 12, else "3"
 * (about 1/3 vs 2/3, so a constant prompt can already lower the loss a lot); `suffix` appends
 * answer tokens (multi-token answers).
 */
export function toyRows(n: number, seed: number, prefix = "r", suffix = ""): TaskRow[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, (_, i) => {
    const words = [6 + rng.int(18), 6 + rng.int(18), 6 + rng.int(18)];
    return { id: `${prefix}${i}`, instruction: words.join(" "), answer: (words[0] < 12 ? "2" : "3") + suffix };
  });
}

/** The same rows tokenized as ToyTextCodec does (BOS 1 first). */
export function toySamples(rows: readonly TaskRow[]): EncodedSample[] {
  return rows.map((r) => ({ instructionIds: [1, ...r.instruction.split(" ").map(Number)], answerIds: r.answer.split(" ").map(Number) }));
}
