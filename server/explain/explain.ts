/**
 * Offline explanations: which candidate feature best predicts a neuron's activation at its best
 * position. A shortlist of distinct features is chosen by |r| on the selection split (the split
 * the neuron was ranked on); the shortlist is scored and ordered on held-out samples, so a feature
 * that only looks good by selection (a word set grown on those samples, the ranking metric itself)
 * falls back.
 */
import { averageRanks, pearsonPair } from "../analysis/index.js";
import { candidateFeatures, describeFeature, featureId, isBinary, type FeatureKind, type FeatureRows, type FeatureSpec } from "./features.js";

export interface Split {
  readonly rows: FeatureRows;
  /** [n] the neuron's activation at its best position, one per row. */
  readonly activation: Float64Array;
}

export interface Miss {
  readonly sampleId: string;
  readonly activation: number;
  readonly feature: number;
  /**
   * What the feature predicted: the activation above ("high") or at/below ("low") the held-out
   * median, by a cut on the feature fitted on the selection split.
   */
  readonly predicted: "high" | "low";
}

export interface Explanation {
  readonly featureId: string;
  readonly kind: FeatureKind;
  readonly description: string;
  readonly spec: FeatureSpec;
  readonly binary: boolean;
  /** r on the selection split (what chose the feature). */
  readonly selectionR: number;
  /** Pearson r of feature and activation on held-out samples. */
  readonly heldOutR: number;
  /**
   * Held-out ROC AUC of the feature (signed as on the selection split) as a score for "activation
   * above the held-out median"; ties count one half.
   */
  readonly heldOutAuc: number;
  /** Cohen's d of the activation, feature present (binary) or above its median vs not, held out. */
  readonly effectSize: number;
  readonly heldOutSamples: number;
  /** Held-out samples the feature gets wrong, the farthest from the median first. */
  readonly misses: readonly Miss[];
  /** How many held-out samples it gets wrong in all. */
  readonly missCount: number;
  /** Lower-ranked features that say the same on the selection split (|r| between them > 0.98). */
  readonly equivalents: readonly FeatureSpec[];
}

export interface ExplainOptions {
  /** Explanations returned (default 5). */
  readonly top?: number;
  /** Misses kept per explanation (default 5). */
  readonly misses?: number;
}

const MIN_SAMPLES = 10;
const WORD_SET_MAX = 8;
const WORD_SET_POOL = 30;
/** Two features whose values correlate beyond this on the selection split say the same thing. */
const SAME_FEATURE_R = 0.98;
const MAX_EQUIVALENTS = 5;
/** Distinct features scored on held-out samples. */
const SHORTLIST = 20;

/** The top explanations, best held-out |r| first (among the SHORTLIST best by selection |r|). */
export function explainActivations(selection: Split, heldOut: Split, metricKinds: ReadonlyMap<string, string>, options: ExplainOptions = {}): Explanation[] {
  const scored = candidateFeatures(selection.rows, metricKinds)
    .map((spec) => ({ spec, values: selection.rows.values(spec) }))
    .map((c) => ({ ...c, r: definedR(c.values, selection.activation) }))
    .filter((c) => Number.isFinite(c.r));
  scored.push(...wordSets(selection, scored));
  scored.sort((a, b) => Math.abs(b.r) - Math.abs(a.r) || (featureId(a.spec) < featureId(b.spec) ? -1 : 1));
  const chosen: (typeof scored[number] & { equivalents: FeatureSpec[] })[] = [];
  for (const c of scored) {
    const same = chosen.find((k) => Math.abs(definedR(k.values, c.values)) > SAME_FEATURE_R);
    if (same) {
      if (same.equivalents.length < MAX_EQUIVALENTS) same.equivalents.push(c.spec);
      continue;
    }
    if (chosen.length >= SHORTLIST) break;
    chosen.push({ ...c, equivalents: [] });
  }
  return chosen
    .map((c) => ({ ...scoreHeldOut(c.spec, c.r, fitThreshold(c.values, c.r, selection.activation), heldOut, options.misses ?? 5), equivalents: c.equivalents }))
    .sort((a, b) => (Math.abs(b.heldOutR) || 0) - (Math.abs(a.heldOutR) || 0))
    .slice(0, options.top ?? 5);
}

/**
 * Per text field and sign, a word set grown greedily from the words whose presence correlates
 * most with the activation: add the word that raises r of "how many words are in the set" most,
 * while it rises by at least 0.01.
 */
function wordSets(selection: Split, scored: readonly { spec: FeatureSpec; r: number }[]): { spec: FeatureSpec; values: Float64Array; r: number }[] {
  const out: { spec: FeatureSpec; values: Float64Array; r: number }[] = [];
  const fields = [...new Set(scored.flatMap((c) => (c.spec.kind === "word" ? [c.spec.field] : [])))];
  for (const field of fields) {
    for (const sign of [1, -1]) {
      const pool = scored
        .flatMap((c) => (c.spec.kind === "word" && c.spec.field === field && sign * c.r > 0 ? [{ word: c.spec.word, r: sign * c.r }] : []))
        .sort((a, b) => b.r - a.r)
        .slice(0, WORD_SET_POOL)
        .map((w) => w.word);
      if (pool.length < 2) continue;
      let words = [pool[0]!];
      let best = -Infinity;
      for (;;) {
        let next: { words: string[]; r: number } | undefined;
        for (const w of pool) {
          if (words.includes(w)) continue;
          const candidate = [...words, w];
          const r = sign * definedR(selection.rows.values({ kind: "word-set", field, words: candidate }), selection.activation);
          if (!next || r > next.r) next = { words: candidate, r };
        }
        const current = sign * definedR(selection.rows.values({ kind: "word-set", field, words }), selection.activation);
        best = Math.max(best, current);
        if (!next || next.r < best + 0.01 || words.length >= WORD_SET_MAX) break;
        words = next.words;
      }
      if (words.length < 2) continue;
      const spec: FeatureSpec = { kind: "word-set", field, words: [...words].sort() };
      const values = selection.rows.values(spec);
      out.push({ spec, values, r: definedR(values, selection.activation) });
    }
  }
  return out;
}

function scoreHeldOut(spec: FeatureSpec, selectionR: number, threshold: number, heldOut: Split, keepMisses: number): Omit<Explanation, "equivalents"> {
  const all = heldOut.rows.values(spec);
  const idx = [...all.keys()].filter((i) => Number.isFinite(all[i]!) && Number.isFinite(heldOut.activation[i]!));
  const x = Float64Array.from(idx, (i) => all[i]!);
  const y = Float64Array.from(idx, (i) => heldOut.activation[i]!);
  const sign = selectionR >= 0 ? 1 : -1;
  const binary = isBinary(spec, x);
  const yMedian = median(y);
  const high = Array.from(y, (v) => v > yMedian);
  const score = Float64Array.from(x, (v) => sign * v);
  const predictedHigh = Array.from(score, (v) => v > threshold);
  const featureHigh = binary ? Array.from(x, (v) => v === 1) : Array.from(x, (v) => v > median(x));
  const wrong = idx.flatMap((_, j) => (predictedHigh[j] !== high[j] ? [j] : []));
  const misses = wrong
    .sort((a, b) => Math.abs(y[b]! - yMedian) - Math.abs(y[a]! - yMedian))
    .slice(0, keepMisses)
    .map((j): Miss => ({ sampleId: heldOut.rows.samples[idx[j]!]!.id, activation: y[j]!, feature: x[j]!, predicted: predictedHigh[j] ? "high" : "low" }));
  return {
    featureId: featureId(spec), kind: spec.kind, description: describeFeature(spec), spec, binary, selectionR,
    heldOutR: x.length >= MIN_SAMPLES ? pearsonPair(x, y) : Number.NaN,
    heldOutAuc: rocAuc(score, high),
    effectSize: cohensD(y, featureHigh),
    heldOutSamples: x.length,
    misses,
    missCount: wrong.length,
  };
}

/**
 * The cut on the signed feature (sign of r) that best predicts "activation above its median" on
 * the selection split: predicted high where sign * feature > cut. Fitted there, applied held out.
 */
function fitThreshold(values: Float64Array, r: number, activation: Float64Array): number {
  const idx = [...values.keys()].filter((i) => Number.isFinite(values[i]!) && Number.isFinite(activation[i]!));
  const sign = r >= 0 ? 1 : -1;
  const yMedian = median(idx.map((i) => activation[i]!));
  const pairs = idx.map((i) => ({ score: sign * values[i]!, high: activation[i]! > yMedian })).sort((a, b) => a.score - b.score);
  // cut below everything: all predicted high; then move the cut past each distinct score
  let correct = pairs.filter((p) => p.high).length;
  let best = { cut: -Infinity, correct };
  for (let j = 0; j < pairs.length; j++) {
    correct += pairs[j]!.high ? -1 : 1;
    if (j + 1 < pairs.length && pairs[j + 1]!.score === pairs[j]!.score) continue;
    if (correct > best.correct) best = { cut: pairs[j]!.score, correct };
  }
  return best.cut;
}

/** r over the rows where both are finite; NaN with fewer than MIN_SAMPLES such rows or a constant side. */
function definedR(x: Float64Array, y: Float64Array): number {
  const idx = [...x.keys()].filter((i) => Number.isFinite(x[i]!) && Number.isFinite(y[i]!));
  if (idx.length < MIN_SAMPLES) return Number.NaN;
  return idx.length === x.length ? pearsonPair(x, y) : pearsonPair(idx.map((i) => x[i]!), idx.map((i) => y[i]!));
}

/** Mann-Whitney AUC of `score` for the positives in `label` (average ranks, so ties count 1/2); NaN without both classes. */
export function rocAuc(score: ArrayLike<number>, label: readonly boolean[]): number {
  const ranks = averageRanks(score);
  let pos = 0;
  let rankSum = 0;
  label.forEach((l, i) => {
    if (l) {
      pos++;
      rankSum += ranks[i]!;
    }
  });
  const neg = label.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** (mean in group - mean outside) / pooled sd; NaN when a group has fewer than 2 samples or no spread. */
export function cohensD(y: Float64Array, inGroup: readonly boolean[]): number {
  const a = Array.from(y).filter((_, i) => inGroup[i]);
  const b = Array.from(y).filter((_, i) => !inGroup[i]);
  if (a.length < 2 || b.length < 2) return Number.NaN;
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ss = (v: number[], m: number) => v.reduce((s, x) => s + (x - m) ** 2, 0);
  const ma = mean(a);
  const mb = mean(b);
  const pooled = Math.sqrt((ss(a, ma) + ss(b, mb)) / (a.length + b.length - 2));
  return pooled > 0 ? (ma - mb) / pooled : Number.NaN;
}

function median(v: ArrayLike<number>): number {
  const s = Float64Array.from(v).sort();
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
