/**
 * Bytes of a ReservoirSnapshot for the store: a uint32 (little endian) header length, the JSON
 * header `{ format, shape, present }`, zero padding to a multiple of 4, then for every present
 * layer its arrays in the order size, highValue, highSample, lowNegValue, lowSample as raw
 * little-endian bytes. Lengths follow from the shape, so the header carries no offsets.
 */
import { endianness } from "node:os";
import { ReservoirSet, type LayerReservoirs, type ReservoirShape, type ReservoirSnapshot } from "../analysis/reservoir.js";

const CODEC = "skillscope.reservoir-bytes/1";
const ARRAYS = ["size", "highValue", "highSample", "lowNegValue", "lowSample"] as const;
const LITTLE_ENDIAN_HOST = endianness() === "LE";

interface Header {
  codec: typeof CODEC;
  format: ReservoirSnapshot["format"];
  shape: Required<ReservoirShape>;
  /** present[l]: layer l has reservoirs (its arrays follow, in layer order). */
  present: boolean[];
}

export class ReservoirCodecError extends Error {
  constructor(message: string) {
    super(`reservoir bytes: ${message}`);
    this.name = "ReservoirCodecError";
  }
}

/** Encodes a snapshot (e.g. ReservoirSet.toSnapshot(), or one layer of it). */
export function encodeReservoirs(snap: ReservoirSnapshot): Uint8Array {
  const header: Header = { codec: CODEC, format: snap.format, shape: snap.shape, present: snap.layers.map((d) => d !== null) };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align4(4 + json.length);
  const arrays = snap.layers.flatMap((d) => (d ? ARRAYS.map((key) => d[key]) : []));
  const out = new Uint8Array(start + arrays.reduce((n, a) => n + a.byteLength, 0));
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let at = start;
  for (const a of arrays) {
    out.set(littleEndianBytes(a), at);
    at += a.byteLength;
  }
  return out;
}

/** Decodes bytes made by encodeReservoirs; checks every length against the header's shape. */
export function decodeReservoirs(bytes: Uint8Array): ReservoirSnapshot {
  if (bytes.length < 4) throw new ReservoirCodecError(`${bytes.length} bytes is too short for a header`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + headerLength > bytes.length) throw new ReservoirCodecError(`header of ${headerLength} bytes runs past the end (${bytes.length} bytes)`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as Header;
  } catch (e) {
    throw new ReservoirCodecError(`header is not JSON (${(e as Error).message})`);
  }
  if (header?.codec !== CODEC) throw new ReservoirCodecError(`codec is ${String(header?.codec)}, expected ${CODEC}`);
  const { shape, present } = header;
  if (!Array.isArray(present) || present.length !== shape.layers) {
    throw new ReservoirCodecError(`header lists ${present?.length} layers, the shape has ${shape.layers}`);
  }
  // the set's constructor checks the shape and gives the slot count
  const slots = new ReservoirSet(shape).slots;
  const heaps = slots * shape.neurons;
  const entries = heaps * shape.k;
  const perLayer = 4 * (heaps + 4 * entries);
  let at = align4(4 + headerLength);
  const expected = at + perLayer * present.filter(Boolean).length;
  if (bytes.length !== expected) throw new ReservoirCodecError(`${bytes.length} bytes, expected ${expected} for shape ${JSON.stringify(shape)}`);
  const take = <T extends Int32Array | Float32Array>(Kind: { new (n: number): T }, n: number): T => {
    const out = new Kind(n);
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + 4 * n));
    if (!LITTLE_ENDIAN_HOST) swap32(new Uint8Array(out.buffer));
    at += 4 * n;
    return out;
  };
  const layers = present.map((has): LayerReservoirs | null => has
    ? { size: take(Int32Array, heaps), highValue: take(Float32Array, entries), highSample: take(Int32Array, entries), lowNegValue: take(Float32Array, entries), lowSample: take(Int32Array, entries) }
    : null);
  return { format: header.format, shape, layers };
}

/** The snapshot with only `layer` kept (what the store holds per layer). */
export function layerSnapshot(snap: ReservoirSnapshot, layer: number): ReservoirSnapshot {
  return { ...snap, layers: snap.layers.map((d, l) => (l === layer ? d : null)) };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function littleEndianBytes(a: Int32Array | Float32Array): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN_HOST) return view;
  const copy = view.slice();
  swap32(copy);
  return copy;
}

/** Reverses the bytes of every 4-byte word in place. */
function swap32(b: Uint8Array): void {
  for (let i = 0; i + 3 < b.length; i += 4) {
    [b[i], b[i + 1], b[i + 2], b[i + 3]] = [b[i + 3]!, b[i + 2]!, b[i + 1]!, b[i]!];
  }
}
