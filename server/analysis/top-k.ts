/** Top-K selection with a bounded min-heap: O(n log k), no full sort. */

/**
 * Keeps the k entries with the largest key; among equal keys the smaller id wins (stable tie-break).
 * The root is the worst kept entry, so most candidates are rejected by one comparison.
 */
export class TopKHeap {
  readonly k: number;
  private readonly keys: Float64Array;
  private readonly ids: Float64Array;
  private size = 0;

  constructor(k: number) {
    this.k = k;
    this.keys = new Float64Array(k);
    this.ids = new Float64Array(k);
  }

  /** True when (ka, ia) ranks below (kb, ib). */
  private static worse(ka: number, ia: number, kb: number, ib: number): boolean {
    return ka < kb || (ka === kb && ia > ib);
  }

  /** Offers one candidate; NaN keys are ignored. */
  push(key: number, id: number): void {
    if (this.k === 0 || Number.isNaN(key)) return;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!TopKHeap.worse(key, id, this.keys[parent], this.ids[parent])) break;
        this.keys[i] = this.keys[parent];
        this.ids[i] = this.ids[parent];
        i = parent;
      }
      this.keys[i] = key;
      this.ids[i] = id;
      return;
    }
    if (!TopKHeap.worse(this.keys[0], this.ids[0], key, id)) return;
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && TopKHeap.worse(this.keys[r], this.ids[r], this.keys[l], this.ids[l])) c = r;
      if (!TopKHeap.worse(this.keys[c], this.ids[c], key, id)) break;
      this.keys[i] = this.keys[c];
      this.ids[i] = this.ids[c];
      i = c;
    }
    this.keys[i] = key;
    this.ids[i] = id;
  }

  /** Smallest key currently kept (−Infinity while not full). */
  threshold(): number {
    return this.size < this.k ? -Infinity : this.keys[0];
  }

  /** Kept entries, best first. */
  sorted(): { key: number; id: number }[] {
    const out: { key: number; id: number }[] = [];
    for (let i = 0; i < this.size; i++) out.push({ key: this.keys[i], id: this.ids[i] });
    return out.sort((a, b) => b.key - a.key || a.id - b.id);
  }
}

/** One ranked neuron. */
export interface RankedNeuron {
  layer: number;
  neuron: number;
  /** The signed score (r) that was ranked by its absolute value. */
  score: number;
}

/**
 * The k neurons with the largest |score| across the given layers (NaN skipped); ties broken by
 * (layer, neuron) ascending. scores[i] is layer layers[i]'s per-neuron score ([F_i]).
 */
export function topKByAbs(entries: { layer: number; scores: ArrayLike<number> }[], k: number): RankedNeuron[] {
  const sorted = [...entries].sort((a, b) => a.layer - b.layer);
  const offsets: number[] = [];
  let total = 0;
  for (const e of sorted) {
    offsets.push(total);
    total += e.scores.length;
  }
  const heap = new TopKHeap(Math.max(0, Math.min(k, total)));
  sorted.forEach((e, li) => {
    const s = e.scores;
    const base = offsets[li];
    for (let f = 0; f < s.length; f++) {
      const a = Math.abs(s[f]);
      if (a >= heap.threshold()) heap.push(a, base + f);
    }
  });
  return heap.sorted().map(({ id }) => {
    let li = sorted.length - 1;
    while (offsets[li] > id) li--;
    const neuron = id - offsets[li];
    return { layer: sorted[li].layer, neuron, score: sorted[li].scores[neuron] };
  });
}
