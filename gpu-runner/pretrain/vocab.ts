/**
 * The closed word lists of the demo corpus. Every word the generators can write is listed here,
 * so the tokenizer's vocabulary is exactly this list (plus digits and specials) and nothing in
 * the corpus maps to `<unk>`.
 */

/** People for NLI sentences. */
export const NOUNS = [
  "doctor", "lawyer", "judge", "artist", "student", "teacher", "banker", "actor",
  "author", "senator", "tourist", "manager", "secretary", "president", "scientist", "athlete",
] as const;

/**
 * Transitive verbs whose past tense equals their past participle, so that a passive premise
 * ("the lawyer was paid by the doctor") contains every word of the active hypothesis
 * ("the lawyer paid the doctor"): the HANS lexical-overlap trap.
 */
export const VERBS = [
  "watched", "helped", "called", "paid", "thanked", "admired",
  "recognized", "avoided", "supported", "visited", "believed", "introduced",
] as const;

/** Adjectives on NLI subjects; sentiment-neutral on purpose. */
export const NLI_ADJECTIVES = ["old", "young", "tall", "famous", "rich", "new"] as const;

/** Prepositions for a prepositional phrase on the subject ("the doctor near the judge ..."). */
export const PREPOSITIONS = ["near", "behind", "beside"] as const;

/** Sentiment subjects (each follows "the"). */
export const TOPICS = [
  "movie", "food", "service", "hotel", "book", "show", "game", "room", "music", "staff",
] as const;

export const POSITIVE_WORDS = ["good", "great", "excellent", "wonderful", "amazing", "nice", "pleasant", "fantastic"] as const;
export const NEGATIVE_WORDS = ["bad", "terrible", "awful", "boring", "poor", "horrible", "dull", "disappointing"] as const;
export const INTENSIFIERS = ["very", "really", "quite"] as const;

/** Task answers as single words. */
export const NLI_LABELS = ["entailment", "non-entailment"] as const;
export const SENTIMENT_LABELS = ["positive", "negative"] as const;

/** Separates premise and hypothesis. A plain word, not a special token, so it tokenizes like text. */
export const SEP = "<sep>";
/** Ends a classification instruction; the answer follows. */
export const ARROW = "->";
/** Filler between an instruction and its answer in part of the corpus (see corpus.ts). */
export const FILLER = "_";

/** Function words and punctuation (each a whitespace-separated word in the corpus). */
export const FUNCTION_WORDS = [
  "the", "was", "by", "who", "and", "but", "not", "is", ".", "=", "+", "*", SEP, ARROW, FILLER,
] as const;

/** Every word the corpus writes except digits, in a fixed order (the tokenizer's id order). */
export function corpusWords(): string[] {
  const all = [
    ...FUNCTION_WORDS, ...NOUNS, ...VERBS, ...NLI_ADJECTIVES, ...PREPOSITIONS, ...TOPICS,
    ...POSITIVE_WORDS, ...NEGATIVE_WORDS, ...INTENSIFIERS, ...NLI_LABELS, ...SENTIMENT_LABELS,
  ];
  return [...new Set(all)];
}
