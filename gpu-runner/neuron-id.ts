/**
 * The field's neuron naming, `L{layer}.N{index}` (e.g. `L12.N3071`): the one formatter and parser.
 * It lives at the bottom of the import graph (gpu-runner imports nothing of skillscope) so the runner,
 * the server, the CLI and the dashboard all name neurons through it.
 */
export function neuronId(layer: number, index: number): string {
  return `L${layer}.N${index}`;
}

/** What to tell someone whose id did not parse. */
export const NEURON_ID_HINT = "write L{layer}.N{index}, e.g. L3.N17";

/** `L3.N17` (surrounding space and the letters' case ignored) -> { layer: 3, index: 17 }; undefined when malformed. */
export function parseNeuronId(id: string): { layer: number; index: number } | undefined {
  const m = /^L(\d{1,6})\.N(\d{1,9})$/i.exec(id.trim());
  return m ? { layer: Number(m[1]), index: Number(m[2]) } : undefined;
}
