/**
 * Binary frames for protocol messages over WebSocket: a JSON header with typed arrays replaced by
 * placeholders, followed by the arrays' raw bytes (little-endian, each 8-byte aligned).
 *
 *   "SKR1" | u32 LE header byte length | header (UTF-8 JSON) | pad to 8 | payloads
 *
 * Non-finite numbers survive as {"$num":"NaN"|"Infinity"|"-Infinity"}. Any typed message (an object
 * with a string `type`) frames the same way; the runner protocol's messages are the default.
 */
import type { RunnerMessage } from "./protocol.js";

const MAGIC = 0x31524b53; // "SKR1" read as u32 LE

type ArrayCtor =
  | Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor
  | Int16ArrayConstructor | Uint16ArrayConstructor | Int8ArrayConstructor | Uint8ArrayConstructor;

const DTYPES: Record<string, ArrayCtor> = {
  f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array,
  i16: Int16Array, u16: Uint16Array, i8: Int8Array, u8: Uint8Array,
};

export class FrameError extends Error {
  constructor(message: string) {
    super(`bad runner frame: ${message}`);
    this.name = "FrameError";
  }
}

function dtypeOf(v: ArrayBufferView): string {
  for (const [name, ctor] of Object.entries(DTYPES)) if (v instanceof ctor) return name;
  throw new FrameError(`unsupported typed array ${v.constructor.name}`);
}

export function encodeFrame<T extends { readonly type: string } = RunnerMessage>(msg: T): Uint8Array {
  const payloads: ArrayBufferView[] = [];
  let offset = 0;
  const header = JSON.stringify(msg, function (this: unknown, key: string, value: unknown) {
    // JSON.stringify calls toJSON-less typed arrays with the array itself as value
    const raw = key === "" ? value : (this as Record<string, unknown>)[key];
    if (ArrayBuffer.isView(raw)) {
      const dt = dtypeOf(raw);
      const placeholder = { $ta: dt, o: offset, n: (raw as unknown as { length: number }).length };
      payloads.push(raw);
      offset += align8(raw.byteLength);
      return placeholder;
    }
    if (typeof value === "number" && !Number.isFinite(value)) return { $num: String(value) };
    return value;
  });
  const headerBytes = new TextEncoder().encode(header);
  const start = align8(8 + headerBytes.length);
  const out = new Uint8Array(start + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, headerBytes.length, true);
  out.set(headerBytes, 8);
  let at = start;
  for (const p of payloads) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += align8(p.byteLength);
  }
  return out;
}

/** Decode a frame; every typed array gets its own buffer (transferable). Throws FrameError on malformed input. */
export function decodeFrame<T extends { readonly type: string } = RunnerMessage>(frame: Uint8Array): T {
  if (frame.byteLength < 8) throw new FrameError(`${frame.byteLength} bytes is shorter than the 8-byte preamble`);
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new FrameError("missing SKR1 magic");
  const headerLen = dv.getUint32(4, true);
  if (8 + headerLen > frame.byteLength) throw new FrameError(`header length ${headerLen} runs past the frame (${frame.byteLength} bytes)`);
  const start = align8(8 + headerLen);
  let header: string;
  try {
    header = new TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(8, 8 + headerLen));
  } catch {
    throw new FrameError("header is not UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(header, (_key, value: unknown) => {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        const v = value as Record<string, unknown>;
        if (typeof v.$ta === "string") return readArray(frame, start, v);
        if (typeof v.$num === "string") return Number(v.$num);
      }
      return value;
    });
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw new FrameError(`header is not JSON (${(e as Error).message})`);
  }
  if (!parsed || typeof parsed !== "object" || typeof (parsed as { type?: unknown }).type !== "string") {
    throw new FrameError("header has no message type");
  }
  return parsed as T;
}

function readArray(frame: Uint8Array, start: number, p: Record<string, unknown>): ArrayBufferView {
  const ctor = DTYPES[p.$ta as string];
  const o = p.o;
  const n = p.n;
  if (!ctor || !Number.isInteger(o) || !Number.isInteger(n) || (o as number) < 0 || (n as number) < 0) {
    throw new FrameError(`bad array placeholder ${JSON.stringify(p)}`);
  }
  const bytes = (n as number) * ctor.BYTES_PER_ELEMENT;
  const from = start + (o as number);
  if (from + bytes > frame.byteLength) throw new FrameError(`array at ${o} (${bytes} bytes) runs past the frame`);
  const copy = new Uint8Array(bytes);
  copy.set(frame.subarray(from, from + bytes));
  return new ctor(copy.buffer);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
