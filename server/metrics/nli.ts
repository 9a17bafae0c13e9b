import { normalizedWords } from "./normalize.js";

/**
 * HANS lexical overlap (McCoy et al. 2019): every hypothesis word occurs in the premise.
 * 1 or 0; NaN when the hypothesis has no words.
 */
export function lexicalOverlap(premise: string, hypothesis: string): number {
  const hyp = normalizedWords(hypothesis);
  if (hyp.length === 0) return Number.NaN;
  const words = new Set(normalizedWords(premise));
  return hyp.every((w) => words.has(w)) ? 1 : 0;
}

/**
 * HANS subsequence: the hypothesis words appear contiguously, in order, in the premise.
 * 1 or 0; NaN when the hypothesis has no words.
 */
export function subsequence(premise: string, hypothesis: string): number {
  const hyp = normalizedWords(hypothesis);
  if (hyp.length === 0) return Number.NaN;
  const pre = normalizedWords(premise);
  for (let start = 0; start + hyp.length <= pre.length; start++) {
    let k = 0;
    while (k < hyp.length && pre[start + k] === hyp[k]) k++;
    if (k === hyp.length) return 1;
  }
  return 0;
}
