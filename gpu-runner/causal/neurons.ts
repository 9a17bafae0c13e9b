/** Neuron sets: validation against a model's shape and seeded random control sets. */
import { neuronId } from "../neuron-id.js";
import { Rng } from "../train/rng.js";
import { badInput } from "../train/errors.js";
import type { NeuronRef } from "./types.js";


/** Throws BAD_INPUT naming the field unless every neuron is inside [0, nLayers) x [0, dFF) and distinct. */
export function checkNeurons(field: string, neurons: readonly NeuronRef[], nLayers: number, dFF: number): void {
  if (!Array.isArray(neurons) || neurons.length === 0) throw badInput(`${field} must be a non-empty list of { layer, neuron }`);
  const seen = new Set<string>();
  for (const n of neurons) {
    if (!n || !Number.isInteger(n.layer) || n.layer < 0 || n.layer >= nLayers || !Number.isInteger(n.neuron) || n.neuron < 0 || n.neuron >= dFF) {
      throw badInput(`${field}: ${JSON.stringify(n)} is outside layers 0..${nLayers - 1} x neurons 0..${dFF - 1}`);
    }
    const key = neuronId(n.layer, n.neuron);
    if (seen.has(key)) throw badInput(`${field}: ${key} appears twice`);
    seen.add(key);
  }
}

/** Neuron count per layer, layers ascending. */
export function countPerLayer(neurons: readonly NeuronRef[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const n of [...neurons].sort((a, b) => a.layer - b.layer)) counts.set(n.layer, (counts.get(n.layer) ?? 0) + 1);
  return counts;
}

/**
 * `draws` random neuron sets, each with as many neurons per layer as `targets` and none of the
 * targets (uniform without replacement within a layer; partial Fisher-Yates). Same seed, same sets.
 */
export function randomControlSets(targets: readonly NeuronRef[], dFF: number, draws: number, seed: number): NeuronRef[][] {
  if (!Number.isInteger(draws) || draws < 0) throw badInput(`randomDraws must be a non-negative integer, got ${String(draws)}`);
  const counts = countPerLayer(targets);
  const excluded = new Map<number, Set<number>>();
  for (const t of targets) {
    if (!excluded.has(t.layer)) excluded.set(t.layer, new Set());
    excluded.get(t.layer)!.add(t.neuron);
  }
  const pools = new Map<number, Int32Array>();
  for (const [layer, k] of counts) {
    const pool = Int32Array.from({ length: dFF }, (_, i) => i).filter((i) => !excluded.get(layer)!.has(i));
    // no random sets, no pool needed: a whole layer can be ablated without controls
    if (draws > 0 && pool.length < k) throw badInput(`layer ${layer} has only ${pool.length} neurons outside the ablated set; random sets need ${k}`);
    pools.set(layer, pool);
  }
  const rng = Rng.fromSeed(seed);
  const sets: NeuronRef[][] = [];
  for (let d = 0; d < draws; d++) {
    const set: NeuronRef[] = [];
    for (const [layer, k] of counts) {
      const pool = pools.get(layer)!;
      for (let i = 0; i < k; i++) {
        const j = i + rng.int(pool.length - i);
        const tmp = pool[i];
        pool[i] = pool[j];
        pool[j] = tmp;
        set.push({ layer, neuron: pool[i] });
      }
    }
    sets.push(set);
  }
  return sets;
}
