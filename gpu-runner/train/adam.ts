/**
 * Adam over one Float32Array parameter (the soft prompt), with PyTorch's update rule:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 * Weight decay is off by default; "l2" adds wd*p to g (torch.optim.Adam), "decoupled" scales
 * p by (1 - lr*wd) first (torch.optim.AdamW). Arithmetic is float64 per element, stored as float32.
 */
import { RunnerError, badInput } from "./errors.js";

export interface AdamOptions {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly weightDecayMode: "l2" | "decoupled";
}

export const DEFAULT_ADAM: AdamOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, weightDecayMode: "decoupled" };

/** Serialisable optimizer state (structured-clone and codec friendly). */
export interface AdamState {
  readonly step: number;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

export class Adam {
  readonly options: AdamOptions;
  private t: number;
  private readonly m: Float32Array;
  private readonly v: Float32Array;

  constructor(size: number, options: Partial<AdamOptions> = {}, state?: AdamState) {
    this.options = resolveAdam(options);
    if (state) {
      if (!(state.m instanceof Float32Array) || !(state.v instanceof Float32Array) || state.m.length !== size || state.v.length !== size) {
        throw new RunnerError("BAD_CHECKPOINT", `optimizer state has moments of length ${state.m?.length}/${state.v?.length}; the prompt has ${size} values`);
      }
      if (!Number.isInteger(state.step) || state.step < 0) throw new RunnerError("BAD_CHECKPOINT", `optimizer state step ${String(state.step)} is not a non-negative integer`);
      this.t = state.step;
      this.m = Float32Array.from(state.m);
      this.v = Float32Array.from(state.v);
    } else {
      this.t = 0;
      this.m = new Float32Array(size);
      this.v = new Float32Array(size);
    }
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update of params in place with gradient grad; lr overrides options.lr (for schedules). */
  step(params: Float32Array, grad: Float32Array, lr = this.options.lr): void {
    if (grad.length !== params.length || params.length !== this.m.length) {
      throw new RangeError(`Adam.step: params ${params.length}, grad ${grad.length}, state ${this.m.length} must match`);
    }
    const { beta1, beta2, eps, weightDecay, weightDecayMode } = this.options;
    this.t += 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const decay = weightDecayMode === "decoupled" ? 1 - lr * weightDecay : 1;
    const l2 = weightDecayMode === "l2" ? weightDecay : 0;
    const m = this.m;
    const v = this.v;
    for (let i = 0; i < params.length; i++) {
      const p = params[i] * decay;
      const g = grad[i] + l2 * params[i];
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] = p - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  }

  /** A copy of the state (safe to transfer). */
  state(): AdamState {
    return { step: this.t, m: Float32Array.from(this.m), v: Float32Array.from(this.v) };
  }
}

export function resolveAdam(options: Partial<AdamOptions>): AdamOptions {
  const o = { ...DEFAULT_ADAM, ...options };
  const pos = (name: keyof AdamOptions, v: number) => {
    if (!Number.isFinite(v) || v <= 0) throw badInput(`adam.${name} must be a positive number, got ${String(v)}`);
  };
  pos("lr", o.lr);
  pos("eps", o.eps);
  for (const k of ["beta1", "beta2"] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0 || o[k] >= 1) throw badInput(`adam.${k} must be in [0, 1), got ${String(o[k])}`);
  }
  if (!Number.isFinite(o.weightDecay) || o.weightDecay < 0) throw badInput(`adam.weightDecay must be >= 0, got ${String(o.weightDecay)}`);
  if (o.weightDecayMode !== "l2" && o.weightDecayMode !== "decoupled") {
    throw badInput(`adam.weightDecayMode must be "l2" or "decoupled", got ${String(o.weightDecayMode)}`);
  }
  return o;
}
