/** One benchmark's figures; every figure is ours against a peer measured in the same run. */
export interface BenchResult {
  name: string;
  figures: {
    label: string;
    ours: number;
    peer: string;
    peerValue: number;
    unit: string;
    /** ours / peer, oriented so that > 1 means skillscope is better. */
    ratio: number;
  }[];
  notes?: string[];
}
