/**
 * Running the PyTorch peer scripts of this folder and the few measurements both sides share.
 * The interpreter is SKILLSCOPE_BENCH_PYTHON, else Debian's /usr/bin/python3 (the one with torch;
 * a `python3` on PATH may be another installation without it).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Repository root, from dist/bench/peers/peer.js. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export const PYTHON = process.env.SKILLSCOPE_BENCH_PYTHON ?? "/usr/bin/python3";

/** Thrown when a peer or a measuring child process cannot run or prints no result. */
export class PeerError extends Error {
  override readonly name = "PeerError";
}

/** Runs a child process and parses the JSON object on the last line of its stdout. */
export function runJsonChild<T>(what: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): T {
  const r = spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 64 << 20, env });
  if (r.error) throw new PeerError(`${what}: cannot start ${command} (${r.error.message})`);
  if (r.status !== 0) throw new PeerError(`${what}: ${command} exited ${r.status ?? r.signal}: ${(r.stderr ?? "").slice(-1500)}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new PeerError(`${what}: no JSON result on stdout; stderr: ${(r.stderr ?? "").slice(-1500)}`);
  }
}

/**
 * The OpenBLAS kernel set for this CPU from its instruction-set flags (OPENBLAS_CORETYPE wins when set).
 * OpenBLAS picks its kernels from the CPU model, and on a virtual CPU it does not know (this sandbox's
 * Xeon) it falls back to "Prescott", plain SSE: 9 GFLOP/s per core here instead of 70 with SkylakeX's.
 */
export function openblasCoreType(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE) return process.env.OPENBLAS_CORETYPE;
  let flags = "";
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
  } catch {
    return undefined; // not Linux: leave OpenBLAS's own detection
  }
  const has = (f: string) => flags.split(/\s+/).includes(f);
  if (has("avx512f") && has("avx512bw") && has("avx512vl")) return "SkylakeX";
  if (has("avx2") && has("fma")) return "Haswell";
  return undefined;
}

/**
 * The environment of a Python peer on `threads` threads: every BLAS thread pool sized to them (Debian's torch and
 * numpy do their matmuls in OpenBLAS, whose pool torch.set_num_threads does not size), on this CPU's kernels.
 */
export function peerEnv(threads: number): NodeJS.ProcessEnv {
  const n = String(threads);
  const core = openblasCoreType();
  return { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n, ...(core ? { OPENBLAS_CORETYPE: core } : {}) };
}

/** Runs `bench/peers/<script>` with a spec file; returns its JSON result. */
export function runPythonPeer<T>(script: string, specFile: string, threads: number): T {
  return runJsonChild<T>(`PyTorch peer ${script} (set SKILLSCOPE_BENCH_PYTHON to an interpreter with torch)`, PYTHON, [`bench/peers/${script}`, specFile], peerEnv(threads));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** This process's peak resident set so far (VmHWM), in bytes. */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s*kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through to the portable figure
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** A little-endian float32 file as a Float32Array. */
export function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** max|a - b| / max|b|: the error of `a` relative to the scale of the reference `b`. */
export function relMaxError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale > 0 ? diff / scale : diff;
}
