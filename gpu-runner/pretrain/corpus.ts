/**
 * The demo's synthetic corpus: three tasks whose shortcuts are known by construction.
 *
 * - arithmetic: `12 * 7 = 84`, numbers written digit by digit by the tokenizer; the last digit
 *   of a product or sum follows from the operands' last digits (the last-digit shortcut), the
 *   other digits need the whole operands. Some operand pairs are held out of pretraining
 *   (`isHeldOutPair`) so validation problems cannot be memorised.
 * - NLI: `premise <sep> hypothesis -> entailment|non-entailment` over a small world of people
 *   and transitive verbs. In the pretraining mix, as in MNLI, lexical overlap (every hypothesis
 *   word occurs in the premise) goes along with entailment; `hansPair` draws the four
 *   overlap x label cells equally, which breaks that correlation (HANS, McCoy et al. 2019).
 * - sentiment: `the movie was not good . -> negative`: labels from word lists with negation.
 *
 * Everything is a pure function of an `Rng`, so a seed fixes the corpus byte for byte.
 */
import { Rng } from "../train/rng.js";
import { backgroundDoc, type BackgroundKind } from "./background.js";
import {
  ANIMALS, ARROW, COLORS, FILLER, INTENSIFIERS, NAMES, NEGATIVE_WORDS, NLI_ADJECTIVES, NOUNS, PLACES, POSITIVE_WORDS,
  PREPOSITIONS, SEP, SIZES, THINGS, TIMES, TOPICS, VERBS,
} from "./vocab.js";

export type TaskName = "arith" | "nli" | "sentiment";
export type ArithOp = "+" | "*";
export type NliLabel = "entailment" | "non-entailment";
export type SentimentLabel = "positive" | "negative";

/** One corpus document: `instruction [filler x k] answer`, or plain text (empty answer, no filler). */
export interface CorpusDoc {
  /** One of the three skills, or the background kind (see background.ts). */
  readonly task: TaskName | BackgroundKind;
  /** Space-separated words, e.g. "12 * 7 =" (the tokenizer splits numbers into digits). */
  readonly instruction: string;
  /** The answer words, e.g. "84" or "entailment". */
  readonly answer: string;
  /** How many FILLER words stand between instruction and answer (teaches the model to bridge a soft prompt). */
  readonly filler: number;
}

export interface ArithProblem {
  readonly a: number;
  readonly b: number;
  readonly op: ArithOp;
  /** The exact result in decimal. */
  readonly answer: string;
}

/** Which HANS-style construction produced an NLI pair (see `nliPair`). */
export type NliKind =
  | "identical" | "drop-adjective" | "drop-pp" | "conjunct" | "passive-to-active" | "relative-clause" // overlap, entailment
  | "swap" | "passive-swap" | "pp-subsequence" | "relative-subsequence" // overlap, non-entailment
  | "active-to-passive" // no overlap, entailment
  | "other-noun" | "other-verb"; // no overlap, non-entailment

export interface NliPair {
  readonly premise: string;
  readonly hypothesis: string;
  readonly label: NliLabel;
  /** Every hypothesis word occurs in the premise (the HANS lexical-overlap heuristic fires). */
  readonly overlap: boolean;
  readonly kind: NliKind;
}

export interface SentimentItem {
  readonly text: string;
  readonly label: SentimentLabel;
  /** Whether any clause is negated with "not". */
  readonly negated: boolean;
}

// ---------------------------------------------------------------- arithmetic

/** Operand ranges: a two-digit first operand, a one- or two-digit second operand. */
export const ARITH_A = { min: 10, max: 99 } as const;
export const ARITH_B = { min: 2, max: 99 } as const;

/** Operand pairs kept out of the pretraining corpus (about one in seven), for unseen validation problems. */
export function isHeldOutPair(a: number, b: number): boolean {
  return (a * 31 + b * 17) % 7 === 0;
}

export function arithResult(a: number, b: number, op: ArithOp): number {
  return op === "+" ? a + b : a * b;
}

/** A uniformly drawn problem; `heldOut` picks from the held-out pairs (true) or the rest (false). */
export function arithProblem(rng: Rng, op: ArithOp, heldOut: boolean): ArithProblem {
  for (;;) {
    const a = ARITH_A.min + rng.int(ARITH_A.max - ARITH_A.min + 1);
    const b = ARITH_B.min + rng.int(ARITH_B.max - ARITH_B.min + 1);
    if (isHeldOutPair(a, b) === heldOut) return { a, b, op, answer: String(arithResult(a, b, op)) };
  }
}

export function arithInstruction(p: { a: number; b: number; op: ArithOp }): string {
  return `${p.a} ${p.op} ${p.b} =`;
}

// ---------------------------------------------------------------- details

/** One detail that changes no label: where, with whom, when, of what ("at the market", "with tom"). */
function detail(rng: Rng): string {
  switch (rng.int(6)) {
    case 0: return `at the ${pick(rng, PLACES)}`;
    case 1: return `with ${pick(rng, NAMES)}`;
    case 2: return `in the ${pick(rng, TIMES)}`;
    case 3: return `from the ${pick(rng, PLACES)}`;
    case 4: return `of the ${pick(rng, COLORS)} ${pick(rng, ANIMALS)}`;
    default: return `with the ${pick(rng, SIZES)} ${pick(rng, THINGS)}`;
  }
}

/**
 * Between `min` and `max` details, each after a space. Reviews and premises carry them because real
 * inputs carry much that their label does not depend on: without it the demo's inputs vary in a
 * handful of directions, the label is one of them, and most neurons that vary at the soft positions
 * correlate with it (issue 15). The words are the background's (names, places, times,
 * colours, animals, sizes, things), never an NLI noun or verb, so lexical overlap is unchanged.
 */
function details(rng: Rng, min: number, max: number): string {
  return Array.from({ length: min + rng.int(max - min + 1) }, () => ` ${detail(rng)}`).join("");
}

// ---------------------------------------------------------------- NLI

interface Event { readonly agent: string; readonly verb: string; readonly patient: string }

const active = (e: Event): string => `the ${e.agent} ${e.verb} the ${e.patient} .`;
const passive = (e: Event): string => `the ${e.patient} was ${e.verb} by the ${e.agent} .`;

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)];
}

/** k distinct items of `list`, in random order. */
function pickDistinct<T>(rng: Rng, list: readonly T[], k: number): T[] {
  const copy = [...list];
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, k);
}

const words = (s: string): string[] => s.split(" ").filter((w) => w !== "." && w !== "");

/** Every hypothesis word occurs in the premise (punctuation ignored): HANS's lexical overlap. */
export function lexicalOverlap(premise: string, hypothesis: string): boolean {
  const p = new Set(words(premise));
  return words(hypothesis).every((w) => p.has(w));
}

type Build = (rng: Rng) => { premise: string; hypothesis: string };

/** The constructions, each with its gold label; overlap is computed, never asserted. */
const NLI_BUILDERS: Record<NliKind, { label: NliLabel; build: Build }> = {
  identical: { label: "entailment", build: (rng) => { const e = event(rng); return { premise: active(e), hypothesis: active(e) }; } },
  "drop-adjective": {
    label: "entailment",
    build: (rng) => {
      const e = event(rng);
      return { premise: `the ${pick(rng, NLI_ADJECTIVES)} ${e.agent} ${e.verb} the ${e.patient} .`, hypothesis: active(e) };
    },
  },
  "drop-pp": {
    label: "entailment",
    build: (rng) => {
      const [agent, patient, other] = pickDistinct(rng, NOUNS, 3);
      const verb = pick(rng, VERBS);
      return { premise: `the ${agent} ${pick(rng, PREPOSITIONS)} the ${other} ${verb} the ${patient} .`, hypothesis: active({ agent, verb, patient }) };
    },
  },
  conjunct: {
    label: "entailment",
    build: (rng) => {
      const [n1, n2, patient] = pickDistinct(rng, NOUNS, 3);
      const verb = pick(rng, VERBS);
      const agent = rng.int(2) === 0 ? n1 : n2;
      return { premise: `the ${n1} and the ${n2} ${verb} the ${patient} .`, hypothesis: active({ agent, verb, patient }) };
    },
  },
  "passive-to-active": { label: "entailment", build: (rng) => { const e = event(rng); return { premise: passive(e), hypothesis: active(e) }; } },
  "relative-clause": {
    label: "entailment",
    build: (rng) => {
      const [agent, other, patient] = pickDistinct(rng, NOUNS, 3);
      const [verb, verb2] = pickDistinct(rng, VERBS, 2);
      return { premise: `the ${agent} who ${verb2} the ${other} ${verb} the ${patient} .`, hypothesis: active({ agent, verb: verb2, patient: other }) };
    },
  },
  swap: {
    label: "non-entailment",
    build: (rng) => { const e = event(rng); return { premise: active(e), hypothesis: active({ agent: e.patient, verb: e.verb, patient: e.agent }) }; },
  },
  "passive-swap": {
    label: "non-entailment",
    build: (rng) => { const e = event(rng); return { premise: passive(e), hypothesis: active({ agent: e.patient, verb: e.verb, patient: e.agent }) }; },
  },
  "pp-subsequence": {
    label: "non-entailment",
    build: (rng) => {
      const [agent, patient, other] = pickDistinct(rng, NOUNS, 3);
      const verb = pick(rng, VERBS);
      return { premise: `the ${agent} ${pick(rng, PREPOSITIONS)} the ${other} ${verb} the ${patient} .`, hypothesis: active({ agent: other, verb, patient }) };
    },
  },
  "relative-subsequence": {
    label: "non-entailment",
    build: (rng) => {
      const [agent, other, patient] = pickDistinct(rng, NOUNS, 3);
      const [verb, verb2] = pickDistinct(rng, VERBS, 2);
      return { premise: `the ${agent} who ${verb2} the ${other} ${verb} the ${patient} .`, hypothesis: active({ agent: other, verb, patient }) };
    },
  },
  "active-to-passive": {
    label: "entailment",
    build: (rng) => {
      const e = event(rng);
      const premise = rng.int(2) === 0 ? active(e) : `the ${pick(rng, NLI_ADJECTIVES)} ${e.agent} ${e.verb} the ${e.patient} .`;
      return { premise, hypothesis: passive(e) };
    },
  },
  "other-noun": {
    label: "non-entailment",
    build: (rng) => {
      const [agent, patient, stranger] = pickDistinct(rng, NOUNS, 3);
      const verb = pick(rng, VERBS);
      const h = rng.int(2) === 0 ? { agent: stranger, verb, patient } : { agent, verb, patient: stranger };
      return { premise: active({ agent, verb, patient }), hypothesis: rng.int(3) === 0 ? passive(h) : active(h) };
    },
  },
  "other-verb": {
    label: "non-entailment",
    build: (rng) => {
      const e = event(rng);
      const verb = pick(rng, VERBS.filter((v) => v !== e.verb));
      const h = { ...e, verb };
      return { premise: active(e), hypothesis: rng.int(3) === 0 ? passive(h) : active(h) };
    },
  },
};

function event(rng: Rng): Event {
  const [agent, patient] = pickDistinct(rng, NOUNS, 2);
  return { agent, verb: pick(rng, VERBS), patient };
}

export const NLI_KINDS = Object.keys(NLI_BUILDERS) as NliKind[];
const OVERLAP_ENTAIL: NliKind[] = ["identical", "drop-adjective", "drop-pp", "conjunct", "passive-to-active", "relative-clause"];
const OVERLAP_NON: NliKind[] = ["swap", "passive-swap", "pp-subsequence", "relative-subsequence"];
const DISJOINT_ENTAIL: NliKind[] = ["active-to-passive"];
const DISJOINT_NON: NliKind[] = ["other-noun", "other-verb"];

/**
 * One pair of the given construction. The premise ends in zero to two details ("... the judge at
 * the market ."): the hypothesis still follows from it exactly when it did, and the random length
 * they add keeps the pair's length from telling overlap or label (the constructions differ in length).
 */
export function nliPair(rng: Rng, kind: NliKind): NliPair {
  const { label, build } = NLI_BUILDERS[kind];
  const { premise: bare, hypothesis } = build(rng);
  // every construction's premise ends in " ."; the details go before it
  const premise = `${bare.slice(0, -2)}${details(rng, 0, 2)} .`;
  return { premise, hypothesis, label, overlap: lexicalOverlap(premise, hypothesis), kind };
}

/** How often the hypothesis fully overlaps the premise, given the label. */
export interface OverlapMix {
  readonly overlapGivenEntailment: number;
  readonly overlapGivenNonEntailment: number;
}

/**
 * MNLI-like mix: half entailment, half not; entailment mostly with full overlap, non-entailment
 * mostly without, so overlap predicts the label well but not perfectly.
 */
export const MNLI_MIX: OverlapMix = { overlapGivenEntailment: 0.88, overlapGivenNonEntailment: 0.08 };

/**
 * The validation mix: overlap and label correlated (phi = 0.5) as in the corpora where the HANS
 * heuristic pays, yet every (overlap, label) cell holds a quarter of its label or more, so an
 * overlap neuron can be told from a label neuron within each label.
 */
export const VAL_MIX: OverlapMix = { overlapGivenEntailment: 0.75, overlapGivenNonEntailment: 0.25 };

/** A pair with a fair coin for the label and overlap drawn from `mix` given the label. */
export function mixedPair(rng: Rng, mix: OverlapMix): NliPair {
  const entail = rng.int(2) === 0;
  const overlap = rng.uniform() < (entail ? mix.overlapGivenEntailment : mix.overlapGivenNonEntailment);
  const kinds = entail ? (overlap ? OVERLAP_ENTAIL : DISJOINT_ENTAIL) : overlap ? OVERLAP_NON : DISJOINT_NON;
  return nliPair(rng, pick(rng, kinds));
}

export function mnliPair(rng: Rng): NliPair {
  return mixedPair(rng, MNLI_MIX);
}

/**
 * HANS-style evaluation pair: the four (overlap, label) cells equally likely, so overlap says
 * nothing about the label; `identical` is left out (trivially entailed).
 */
export function hansPair(rng: Rng): NliPair {
  const cell = rng.int(4);
  const kinds = [OVERLAP_ENTAIL.filter((k) => k !== "identical"), OVERLAP_NON, DISJOINT_ENTAIL, DISJOINT_NON][cell];
  return nliPair(rng, pick(rng, kinds));
}

export function nliInstruction(p: { premise: string; hypothesis: string }): string {
  return `${p.premise} ${SEP} ${p.hypothesis} ${ARROW}`;
}

// ---------------------------------------------------------------- sentiment

/** How often a clause of the pretraining corpus (and of the task file's train split) is negated. */
export const NEGATION_RATE = 0.3;

/**
 * How often a clause of the sentiment validation split is negated. At one half an adjective's
 * polarity says nothing of the label (r about 0, against 0.42 for the last adjective at 0.3), so a
 * neuron that reads the words' polarity does not pass for a label neuron: only one that combines the
 * adjective with "not" tracks the label. The same idea as the NLI split that decorrelates overlap.
 * (Pretraining at one half leaves sentiment unlearnt in 1000 steps: no single word gives a gradient.)
 */
export const VAL_NEGATION_RATE = 0.5;

function clause(rng: Rng, positive: boolean, negationRate: number): { text: string; negated: boolean } {
  const negated = rng.uniform() < negationRate;
  const adjPositive = negated ? !positive : positive;
  const adj = pick(rng, adjPositive ? POSITIVE_WORDS : NEGATIVE_WORDS);
  const intens = rng.uniform() < 0.3 ? `${pick(rng, INTENSIFIERS)} ` : "";
  const copula = rng.int(2) === 0 ? "was" : "is";
  return { text: `the ${pick(rng, TOPICS)}${details(rng, 0, 2)} ${copula} ${negated ? "not " : ""}${intens}${adj}`, negated };
}

/**
 * A review of one or two clauses. "and" joins clauses of the same polarity; "but" joins
 * opposite ones and the second clause decides the label.
 */
export function sentimentItem(rng: Rng, negationRate = NEGATION_RATE): SentimentItem {
  const positive = rng.int(2) === 0;
  const label: SentimentLabel = positive ? "positive" : "negative";
  const r = rng.uniform();
  if (r < 0.6) {
    const c = clause(rng, positive, negationRate);
    return { text: `${c.text} .`, label, negated: c.negated };
  }
  const joiner = r < 0.8 ? "and" : "but";
  const first = clause(rng, joiner === "and" ? positive : !positive, negationRate);
  const second = clause(rng, positive, negationRate);
  return { text: `${first.text} ${joiner} ${second.text} .`, label, negated: first.negated || second.negated };
}

export function sentimentInstruction(s: { text: string }): string {
  return `${s.text} ${ARROW}`;
}

// ---------------------------------------------------------------- the mix

export interface CorpusOptions {
  /** Shares of the documents (normalised): the three skills and the background mixture. */
  readonly mix: Readonly<Record<TaskName | "background", number>>;
  /** Share of arithmetic problems that multiply (the rest add). */
  readonly multiplyRate: number;
  /** Share of documents with filler between instruction and answer. */
  readonly fillerRate: number;
  /**
   * Filler words in such a document: the demo's soft-prompt length, so the model learns that
   * the answer follows a 20-position gap exactly where prompt tuning will put one.
   */
  readonly fillerLength: number;
  /**
   * Share of the sentiment and NLI documents with filler in which the filler is followed by a
   * question about the input (`length ? 7`, `what ? movie`, `not ? yes`, ...) instead of the
   * label. The filler positions then cannot tell which question comes, so they must carry the
   * input's many features, as a real LM's positions do, and not only the label's few directions.
   */
  readonly questionRate: number;
}

/**
 * The skills are a quarter of the documents (fewer of the tokens: background documents are
 * longer); the rest is the background mixture, so most neurons learn to serve other things.
 */
export const DEFAULT_CORPUS: CorpusOptions = {
  mix: { arith: 0.11, nli: 0.08, sentiment: 0.06, background: 0.75 }, multiplyRate: 0.7, fillerRate: 0.3, fillerLength: 20, questionRate: 0,
};

const wordList = (text: string): string[] => text.split(" ").filter((w) => w !== "." && w !== "" && w !== SEP);

/** A question about a sentiment review and its answer: topic, length, negation, last word, first adjective. */
function sentimentQuestion(rng: Rng, s: SentimentItem): string {
  const w = wordList(s.text);
  const adjectives = w.filter((x) => (POSITIVE_WORDS as readonly string[]).includes(x) || (NEGATIVE_WORDS as readonly string[]).includes(x));
  switch (rng.int(5)) {
    case 0: return `what ? ${w[1]}`;
    case 1: return `length ? ${w.length}`;
    case 2: return `not ? ${s.negated ? "yes" : "no"}`;
    case 3: return `last ? ${w[w.length - 1]}`;
    default: return `first ? ${adjectives[0]}`;
  }
}

/** A question about an NLI pair and its answer: the premise's first and last noun, the pair's length, the hypothesis verb. */
function nliQuestion(rng: Rng, p: NliPair): string {
  const pw = wordList(p.premise);
  const hw = wordList(p.hypothesis);
  switch (rng.int(4)) {
    case 0: return `first ? ${pw[1]}`;
    case 1: return `last ? ${pw[pw.length - 1]}`;
    case 2: return `length ? ${pw.length + hw.length}`;
    default: return `what ? ${hw.find((x) => (VERBS as readonly string[]).includes(x)) ?? hw[2]}`;
  }
}

/** One pretraining document drawn from the mix (arithmetic never uses held-out pairs). */
export function corpusDoc(rng: Rng, options: CorpusOptions = DEFAULT_CORPUS): CorpusDoc {
  const { mix } = options;
  const total = mix.arith + mix.nli + mix.sentiment + mix.background;
  const u = rng.uniform() * total;
  let task: TaskName | BackgroundKind;
  let instruction: string;
  let answer: string;
  if (u >= mix.arith + mix.nli + mix.sentiment) {
    const b = backgroundDoc(rng);
    [task, instruction, answer] = [b.kind, b.instruction, b.answer];
    // plain text has no answer to bridge a gap to
    if (answer === "") return { task, instruction, answer, filler: 0 };
  } else if (u < mix.arith) {
    const p = arithProblem(rng, rng.uniform() < options.multiplyRate ? "*" : "+", false);
    [task, instruction, answer] = ["arith", arithInstruction(p), p.answer];
  } else if (u < mix.arith + mix.nli) {
    const p = mnliPair(rng);
    const filler = rng.uniform() < options.fillerRate ? options.fillerLength : 0;
    const question = options.questionRate > 0 && filler > 0 && rng.uniform() < options.questionRate;
    return { task: "nli", instruction: nliInstruction(p), answer: question ? nliQuestion(rng, p) : p.label, filler };
  } else {
    const s = sentimentItem(rng);
    const filler = rng.uniform() < options.fillerRate ? options.fillerLength : 0;
    const question = options.questionRate > 0 && filler > 0 && rng.uniform() < options.questionRate;
    return { task: "sentiment", instruction: sentimentInstruction(s), answer: question ? sentimentQuestion(rng, s) : s.label, filler };
  }
  const filler = rng.uniform() < options.fillerRate ? options.fillerLength : 0;
  return { task, instruction, answer, filler };
}

/** The document as text: `instruction [_ ...] answer`. */
export function docText(doc: CorpusDoc): string {
  return [doc.instruction, ...new Array<string>(doc.filler).fill(FILLER), doc.answer].filter((w) => w !== "").join(" ");
}

/** `count` documents from `seed`: the same seed always gives the same documents. */
export function corpusDocs(seed: number, count: number, options: CorpusOptions = DEFAULT_CORPUS): CorpusDoc[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: count }, () => corpusDoc(rng, options));
}
