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
    ...BACKGROUND_WORDS, ...NAMES, ...ANIMALS, ...PLACES, ...THINGS, ...COLORS, ...SIZES, ...MOTIONS, ...HANDLING,
    ...TIMES, ...FEELINGS, ...WEATHER, ...OPPOSITES.flat(), ...LETTERS,
  ];
  return [...new Set(all)];
}

// ------------------------------------------------ the background mixture (see background.ts)

/** First names for stories and dialogue. */
export const NAMES = ["mary", "tom", "anna", "ben", "lucy", "sam", "kate", "jack", "emma", "leo", "nina", "paul"] as const;
export const ANIMALS = [
  "dog", "cat", "fox", "bird", "horse", "cow", "sheep", "duck", "mouse", "rabbit", "bear", "wolf", "frog", "owl", "fish", "goat",
] as const;
export const PLACES = ["river", "forest", "market", "garden", "school", "kitchen", "village", "hill", "beach", "library", "station", "park"] as const;
export const THINGS = ["book", "apple", "ball", "cup", "key", "hat", "box", "letter", "lamp", "bag", "coin", "map", "bread", "chair", "pen", "shoe"] as const;
export const COLORS = ["red", "blue", "green", "yellow", "black", "white", "brown", "gray"] as const;
export const SIZES = ["small", "big", "little", "long", "short"] as const;
/** Intransitive past-tense verbs for stories. */
export const MOTIONS = ["walked", "ran", "went", "came", "sat", "slept", "waited", "smiled", "laughed", "jumped", "sang", "stayed"] as const;
/** Verbs that take a thing: "found the key". */
export const HANDLING = ["found", "took", "lost", "saw", "wanted", "bought", "dropped", "carried", "opened", "made"] as const;
export const TIMES = ["morning", "evening", "night", "day", "week", "summer", "winter"] as const;
export const FEELINGS = ["happy", "sad", "tired", "hungry", "angry", "calm", "afraid", "glad"] as const;
export const WEATHER = ["sunny", "rainy", "windy", "cold", "warm", "dark", "bright", "quiet"] as const;
/** Antonym pairs for the `opposite` task (both directions are used). */
export const OPPOSITES = [
  ["big", "small"], ["long", "short"], ["happy", "sad"], ["cold", "warm"], ["dark", "bright"], ["good", "bad"],
  ["old", "young"], ["rich", "poor"], ["tall", "short"], ["yes", "no"], ["first", "last"], ["calm", "angry"],
] as const;
export const LETTERS = "abcdefghijklmnopqrstuvwxyz".split("").map((c) => `${c}`) as readonly string[];
/** Task keywords and the function words of stories and dialogue. */
export const BACKGROUND_WORDS = [
  "a", "to", "in", "on", "at", "of", "with", "from", "he", "she", "it", "they", "i", "you", "we", "his", "her", "their", "my", "your",
  "then", "there", "said", "says", "asked", "saw", "had", "has", "have", "lived", "lives", "once", "upon", "time", "one", "every",
  "where", "what", "how", "many", "are", "were", "does", "did", "do", "eat", "eats", "ate", "live", "like", "likes", "liked",
  "yes", "no", "hello", "thanks", "ok", "sure", "home", "back", "away", "again", "today", "now", "very", "so", "too", "also",
  "after", "before", "because", "when", "that", "this", "weather", "felt", "feel", "color", "name", "job", "lost", "end",
  "?", ",", ":", "-", ">", "<", "q", "answer",
  "copy", "reverse", "sort", "count", "next", "previous", "first", "last", "length", "opposite", "bigger", "smaller", "even", "odd",
  "list", "fact", "story", "up", "down", "me", "why", "see", "pet", "animals", "things", "places", "colors", "names", "people",
] as const;
