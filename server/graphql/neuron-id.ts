/** The field's neuron naming: layer and FFN neuron index, e.g. `L12.N3071`. */
export function neuronId(layer: number, index: number): string {
  return `L${layer}.N${index}`;
}
