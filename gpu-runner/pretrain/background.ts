/**
 * The background of the demo corpus: everything the model reads besides the three experiments'
 * skills, so that most of its neurons serve other things and skill neurons are a sparse minority
 * (the paper's observation on real LMs). Grammar-generated stories and dialogue, lists, facts
 * about a fixed small world, counting, copying and nine unrelated `instruction -> answer`
 * tasks. The stories and dialogue reuse the task words (people of the NLI world, sentiment
 * adjectives and topics, numbers), so those words are not task-only either.
 *
 * Every generator is a pure function of an `Rng`; the world's facts come from a fixed seed, so
 * they are the same whatever the corpus seed.
 */
import { Rng } from "../train/rng.js";
import {
  ANIMALS, ARROW, COLORS, FEELINGS, HANDLING, INTENSIFIERS, LETTERS, MOTIONS, NAMES, NEGATIVE_WORDS, NOUNS, OPPOSITES, PLACES,
  POSITIVE_WORDS, SIZES, THINGS, TIMES, TOPICS, VERBS, WEATHER,
} from "./vocab.js";

export type BackgroundKind =
  | "story" | "dialogue" | "list" | "fact" | "fact-question" | "counting" | "copy"
  | "reverse" | "sort" | "next-letter" | "compare" | "parity" | "opposite" | "first-last" | "length" | "subtract";

/** A background document: plain text (`answer` empty) or an `instruction -> answer` task. */
export interface BackgroundDoc {
  readonly kind: BackgroundKind;
  readonly instruction: string;
  readonly answer: string;
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];
const chance = (rng: Rng, p: number): boolean => rng.uniform() < p;

function distinct<T>(rng: Rng, list: readonly T[], k: number): T[] {
  const copy = [...list];
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, k);
}

// ---------------------------------------------------------------- the fixed world

interface Creature { readonly home: string; readonly color: string; readonly food: string }
interface Person { readonly job: string; readonly place: string; readonly pet: string }

/** Facts every corpus shares: each animal's home, colour and food, each name's job, place and pet. */
export const WORLD = (() => {
  const rng = Rng.fromSeed(0x5eed);
  const animals = new Map<string, Creature>(ANIMALS.map((a) => [a, { home: pick(rng, PLACES), color: pick(rng, COLORS), food: pick(rng, THINGS) }]));
  const people = new Map<string, Person>(NAMES.map((n) => [n, { job: pick(rng, NOUNS), place: pick(rng, PLACES), pet: pick(rng, ANIMALS) }]));
  return { animals, people };
})();

// ---------------------------------------------------------------- stories and dialogue

const subject = (rng: Rng): string =>
  chance(rng, 0.5) ? pick(rng, NAMES) : `the ${chance(rng, 0.3) ? `${pick(rng, [...SIZES, ...COLORS])} ` : ""}${pick(rng, [...ANIMALS, ...NOUNS])}`;

function storySentence(rng: Rng, who: string): string {
  switch (rng.int(8)) {
    case 0: return `${who} ${pick(rng, MOTIONS)} to the ${pick(rng, PLACES)} .`;
    case 1: return `${who} ${pick(rng, HANDLING)} a ${pick(rng, COLORS)} ${pick(rng, THINGS)} .`;
    case 2: return `${who} ${pick(rng, VERBS)} the ${pick(rng, NOUNS)} in the ${pick(rng, PLACES)} .`;
    case 3: return `${who} felt ${pick(rng, FEELINGS)} .`;
    case 4: return `the ${pick(rng, TIMES)} was ${pick(rng, WEATHER)} .`;
    case 5: return `${who} saw ${rng.int(9) + 2} ${pick(rng, ANIMALS)} near the ${pick(rng, PLACES)} .`;
    case 6: {
      const good = chance(rng, 0.5);
      return `${who} said the ${pick(rng, TOPICS)} was ${pick(rng, INTENSIFIERS.map((i) => `${i} `).concat([""]))}${pick(rng, good ? POSITIVE_WORDS : NEGATIVE_WORDS)} .`;
    }
    default: return `then ${who} ${pick(rng, MOTIONS)} home .`;
  }
}

/** "once upon a time the old fox lived in the forest . the fox found a red key . ..." */
export function story(rng: Rng): string {
  const hero = subject(rng);
  const opening = chance(rng, 0.5) ? `once upon a time ${hero} lived in the ${pick(rng, PLACES)} .` : `one ${pick(rng, TIMES)} ${hero} ${pick(rng, MOTIONS)} to the ${pick(rng, PLACES)} .`;
  const pronoun = (ANIMALS as readonly string[]).includes(hero.split(" ").at(-1)!) ? "it" : pick(rng, ["he", "she"]);
  const rest = Array.from({ length: 1 + rng.int(3) }, (_, i) => storySentence(rng, i === 0 || chance(rng, 0.5) ? pronoun : hero));
  return [opening, ...rest].join(" ");
}

/** "mary : where is the key ? tom : the key is in the kitchen . mary : thanks ." */
export function dialogue(rng: Rng): string {
  const [a, b] = distinct(rng, NAMES, 2);
  switch (rng.int(4)) {
    case 0: {
      const thing = pick(rng, THINGS);
      return `${a} : where is the ${thing} ? ${b} : the ${thing} is in the ${pick(rng, PLACES)} . ${a} : thanks .`;
    }
    case 1: {
      const good = chance(rng, 0.5);
      return `${a} : how was the ${pick(rng, TOPICS)} ? ${b} : it was ${pick(rng, good ? POSITIVE_WORDS : NEGATIVE_WORDS)} . ${a} : ${pick(rng, ["ok", "sure", "i see"])} .`;
    }
    case 2: {
      const n = rng.int(20) + 1;
      return `${a} : how many ${pick(rng, THINGS)} do you have ? ${b} : i have ${n} . ${a} : ${pick(rng, ["ok", "good", "sure"])} .`;
    }
    default:
      return `${a} : hello ${b} . ${b} : hello ${a} . ${a} : i feel ${pick(rng, FEELINGS)} today . ${b} : ${pick(rng, ["me too", "why ?", "ok"])}`;
  }
}

// ---------------------------------------------------------------- lists, facts, counting, copying

const LIST_SOURCES: readonly (readonly [string, readonly string[]])[] = [
  ["animals", ANIMALS], ["things", THINGS], ["places", PLACES], ["colors", COLORS], ["names", NAMES], ["people", NOUNS],
];

/** "list of animals : fox , owl , cow ." */
export function list(rng: Rng): string {
  const [name, source] = pick(rng, LIST_SOURCES);
  return `list of ${name} : ${distinct(rng, source, 3 + rng.int(4)).join(" , ")} .`;
}

/** A statement about the fixed world: "the fox lives in the forest ." */
export function fact(rng: Rng): string {
  if (chance(rng, 0.5)) {
    const a = pick(rng, ANIMALS);
    const c = WORLD.animals.get(a)!;
    return pick(rng, [`the ${a} lives in the ${c.home} .`, `the color of the ${a} is ${c.color} .`, `the ${a} eats the ${c.food} .`]);
  }
  const n = pick(rng, NAMES);
  const p = WORLD.people.get(n)!;
  return pick(rng, [`${n} is a ${p.job} .`, `${n} lives near the ${p.place} .`, `${n} has a ${p.pet} .`]);
}

/** A question about the fixed world: "where does the fox live ?" -> "forest". */
export function factQuestion(rng: Rng): { instruction: string; answer: string } {
  if (chance(rng, 0.5)) {
    const a = pick(rng, ANIMALS);
    const c = WORLD.animals.get(a)!;
    return pick(rng, [
      { instruction: `q : where does the ${a} live ? ${ARROW}`, answer: c.home },
      { instruction: `q : what color is the ${a} ? ${ARROW}`, answer: c.color },
      { instruction: `q : what does the ${a} eat ? ${ARROW}`, answer: c.food },
    ]);
  }
  const n = pick(rng, NAMES);
  const p = WORLD.people.get(n)!;
  return pick(rng, [
    { instruction: `q : what is the job of ${n} ? ${ARROW}`, answer: p.job },
    { instruction: `q : what pet does ${n} have ? ${ARROW}`, answer: p.pet },
  ]);
}

/** "count from 3 to 7 : 3 4 5 6 7" or "count the dog : dog dog dog -> 3". */
export function counting(rng: Rng): { instruction: string; answer: string } {
  if (chance(rng, 0.5)) {
    const from = rng.int(40);
    const to = from + 2 + rng.int(6);
    const steps = Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    return { instruction: `count from ${from} to ${to} :`, answer: steps.join(" ") };
  }
  const w = pick(rng, [...ANIMALS, ...THINGS]);
  const other = pick(rng, [...ANIMALS, ...THINGS].filter((x) => x !== w));
  const n = 1 + rng.int(6);
  const items = [...new Array<string>(n).fill(w), ...new Array<string>(rng.int(3)).fill(other)];
  const shuffled = distinct(rng, items, items.length);
  return { instruction: `count ${w} : ${shuffled.join(" ")} ${ARROW}`, answer: String(n) };
}

const wordsOf = (rng: Rng, k: number): string[] => Array.from({ length: k }, () => pick(rng, [...ANIMALS, ...THINGS, ...COLORS, ...LETTERS]));

/** "copy : red fox lamp ->" -> "red fox lamp". */
export function copy(rng: Rng): { instruction: string; answer: string } {
  const w = wordsOf(rng, 2 + rng.int(5));
  return { instruction: `copy : ${w.join(" ")} ${ARROW}`, answer: w.join(" ") };
}

// ---------------------------------------------------------------- unrelated tasks

type Task = (rng: Rng) => { instruction: string; answer: string };

const UNRELATED: Record<Exclude<BackgroundKind, "story" | "dialogue" | "list" | "fact" | "fact-question" | "counting" | "copy">, Task> = {
  reverse: (rng) => {
    const w = wordsOf(rng, 2 + rng.int(4));
    return { instruction: `reverse : ${w.join(" ")} ${ARROW}`, answer: [...w].reverse().join(" ") };
  },
  sort: (rng) => {
    const d = Array.from({ length: 3 + rng.int(4) }, () => rng.int(10));
    return { instruction: `sort : ${d.join(" ")} ${ARROW}`, answer: [...d].sort((a, b) => a - b).join(" ") };
  },
  "next-letter": (rng) => {
    const i = rng.int(LETTERS.length - 1);
    return chance(rng, 0.5)
      ? { instruction: `next : ${LETTERS[i]} ${ARROW}`, answer: LETTERS[i + 1] }
      : { instruction: `previous : ${LETTERS[i + 1]} ${ARROW}`, answer: LETTERS[i] };
  },
  compare: (rng) => {
    const [a, b] = distinct(rng, Array.from({ length: 100 }, (_, i) => i), 2);
    const bigger = chance(rng, 0.5);
    return { instruction: `${bigger ? "bigger" : "smaller"} : ${a} ${b} ${ARROW}`, answer: String(bigger ? Math.max(a, b) : Math.min(a, b)) };
  },
  parity: (rng) => {
    const n = rng.int(100);
    const even = chance(rng, 0.5);
    return { instruction: `is ${n} ${even ? "even" : "odd"} ? ${ARROW}`, answer: (n % 2 === 0) === even ? "yes" : "no" };
  },
  opposite: (rng) => {
    const pair = pick(rng, OPPOSITES);
    const k = rng.int(2);
    return { instruction: `opposite : ${pair[k]} ${ARROW}`, answer: pair[1 - k] };
  },
  "first-last": (rng) => {
    const w = wordsOf(rng, 3 + rng.int(3));
    const first = chance(rng, 0.5);
    return { instruction: `${first ? "first" : "last"} : ${w.join(" ")} ${ARROW}`, answer: first ? w[0] : w[w.length - 1] };
  },
  length: (rng) => {
    const w = wordsOf(rng, 1 + rng.int(8));
    return { instruction: `length : ${w.join(" ")} ${ARROW}`, answer: String(w.length) };
  },
  subtract: (rng) => {
    const a = 10 + rng.int(90);
    const b = rng.int(a);
    return { instruction: `${a} - ${b} =`, answer: String(a - b) };
  },
};

/** Shares of the background kinds (normalised by the caller's draw). */
export const BACKGROUND_MIX: Readonly<Record<BackgroundKind, number>> = {
  story: 0.22, dialogue: 0.14, list: 0.06, fact: 0.08, "fact-question": 0.08, counting: 0.06, copy: 0.06,
  reverse: 0.035, sort: 0.035, "next-letter": 0.03, compare: 0.035, parity: 0.03, opposite: 0.03, "first-last": 0.035, length: 0.03, subtract: 0.04,
};

const KINDS = Object.keys(BACKGROUND_MIX) as BackgroundKind[];
const TOTAL = KINDS.reduce((s, k) => s + BACKGROUND_MIX[k], 0);

/** One background document drawn from `BACKGROUND_MIX`. */
export function backgroundDoc(rng: Rng): BackgroundDoc {
  let u = rng.uniform() * TOTAL;
  const kind = KINDS.find((k) => (u -= BACKGROUND_MIX[k]) < 0) ?? KINDS[KINDS.length - 1];
  return { kind, ...backgroundOf(rng, kind) };
}

function backgroundOf(rng: Rng, kind: BackgroundKind): { instruction: string; answer: string } {
  switch (kind) {
    case "story": return { instruction: story(rng), answer: "" };
    case "dialogue": return { instruction: dialogue(rng), answer: "" };
    case "list": return { instruction: list(rng), answer: "" };
    case "fact": return { instruction: fact(rng), answer: "" };
    case "fact-question": return factQuestion(rng);
    case "counting": return counting(rng);
    case "copy": return copy(rng);
    default: return UNRELATED[kind](rng);
  }
}
