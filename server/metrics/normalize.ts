/**
 * Words of a sentence for heuristic matching: lowercase (Unicode-aware), punctuation removed
 * (Unicode P category; apostrophes join, so "don't" -> "dont"), whitespace collapsed.
 */
export function normalizedWords(text: string): string[] {
  const cleaned = text.toLowerCase().replace(/['\u2019]/g, "").replace(/\p{P}+/gu, " ").trim();
  return cleaned.length === 0 ? [] : cleaned.split(/\s+/u);
}
