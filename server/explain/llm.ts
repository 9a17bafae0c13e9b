/**
 * Explanations written by an LLM the user configures, scored by simulation (after OpenAI's
 * automated interpretability): the LLM reads a neuron's extremal samples from the ranking split
 * and writes one sentence; then, given only that sentence, it predicts the activation (0-10) of
 * held-out samples, and the score is the correlation of its predictions with the true ones.
 * Speaks the OpenAI chat-completions protocol (vLLM, Ollama, llama.cpp server, hosted APIs).
 * Nothing is sent anywhere unless a config is given.
 */
import { pearsonPair } from "../analysis/index.js";
import { ServiceError } from "../errors.js";
import { rocAuc } from "./explain.js";

export interface LlmConfig {
  /** Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1 (…/chat/completions is appended). */
  readonly url: string;
  readonly model: string;
  /** Sent as "Authorization: Bearer <key>" when given (read from an environment variable by the caller). */
  readonly apiKey?: string;
  /** Per request (default 60000). */
  readonly timeoutMs?: number;
}

export interface LlmSample {
  readonly id: string;
  readonly text: string;
  readonly activation: number;
}

export interface LlmExplanation {
  readonly model: string;
  readonly explanation: string;
  /** r of the simulated with the true held-out activations. */
  readonly simulationR: number;
  /** AUC of the simulated activations for "true activation above its median". */
  readonly simulationAuc: number;
  readonly simulated: readonly { id: string; activation: number; simulated: number }[];
}

/** Extremal samples shown to the LLM, per end. */
const SHOWN_PER_END = 10;
/** Held-out samples simulated at most, and per request. */
const SIMULATED = 40;
const PER_REQUEST = 20;
const MAX_TEXT = 400;

/** Checks a config before anything is sent; throws BAD_INPUT naming the field. */
export function checkLlmConfig(c: LlmConfig): LlmConfig {
  let url: URL;
  try {
    url = new URL(c.url);
  } catch {
    throw new ServiceError("BAD_INPUT", `llm url "${c.url}" is not a URL; give the API base, e.g. http://127.0.0.1:8000/v1`, { field: "llmUrl" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ServiceError("BAD_INPUT", `llm url must be http(s), got ${url.protocol}`, { field: "llmUrl" });
  if (typeof c.model !== "string" || c.model.trim() === "") throw new ServiceError("BAD_INPUT", "llm model is empty: name the model the endpoint serves", { field: "llmModel" });
  return c;
}

/** Asks for an explanation from the ranking split's extremal samples, then scores it by simulating the held-out ones. */
export async function explainWithLlm(config: LlmConfig, selection: readonly LlmSample[], heldOut: readonly LlmSample[], signal?: AbortSignal): Promise<LlmExplanation> {
  checkLlmConfig(config);
  const scale = scaler(selection.map((s) => s.activation));
  const sorted = [...selection].sort((a, b) => b.activation - a.activation);
  const shown = [...sorted.slice(0, SHOWN_PER_END), ...sorted.slice(-SHOWN_PER_END).reverse()];
  const explanation = firstLine(await complete(config, [
    { role: "system", content: "You explain what a neuron of a language model responds to, from texts and its activations. Answer with one short sentence." },
    {
      role: "user",
      content:
        "Each line is a text with the neuron's activation on a 0-10 scale (highest first, then lowest).\n" +
        shown.map((s) => `${scale(s.activation)}\t${clip(s.text)}`).join("\n") +
        "\nWhat property of a text makes this neuron's activation high? One sentence.",
    },
  ], signal));
  if (explanation === "") throw new ServiceError("RUNNER", `the LLM at ${config.url} answered with an empty explanation`);

  const simulatedSamples = heldOut.slice(0, SIMULATED);
  const simulated: number[] = [];
  for (let start = 0; start < simulatedSamples.length; start += PER_REQUEST) {
    const batch = simulatedSamples.slice(start, start + PER_REQUEST);
    const reply = await complete(config, [
      { role: "system", content: "You predict a neuron's activation from an explanation of what it responds to." },
      {
        role: "user",
        content:
          `Explanation of the neuron: ${explanation}\n` +
          `Predict its activation on a 0-10 scale for each numbered text. Reply with a JSON array of ${batch.length} numbers, nothing else.\n` +
          batch.map((s, i) => `${i + 1}. ${clip(s.text)}`).join("\n"),
      },
    ], signal);
    simulated.push(...numbers(reply, batch.length, config.url));
  }
  const truth = simulatedSamples.map((s) => s.activation);
  const median = [...truth].sort((a, b) => a - b)[truth.length >> 1]!;
  return {
    model: config.model,
    explanation,
    simulationR: truth.length >= 3 ? pearsonPair(simulated, truth) : Number.NaN,
    simulationAuc: rocAuc(simulated, truth.map((t) => t > median)),
    simulated: simulatedSamples.map((s, i) => ({ id: s.id, activation: s.activation, simulated: simulated[i]! })),
  };
}

interface Message {
  readonly role: "system" | "user";
  readonly content: string;
}

/** One chat completion; the first choice's text. */
async function complete(config: LlmConfig, messages: readonly Message[], signal?: AbortSignal): Promise<string> {
  const endpoint = `${config.url.replace(/\/+$/, "")}/chat/completions`;
  const timeout = AbortSignal.timeout(config.timeoutMs ?? 60_000);
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}) },
      body: JSON.stringify({ model: config.model, messages, temperature: 0 }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (e) {
    throw new ServiceError("RUNNER", `cannot reach the LLM at ${endpoint}: ${(e as Error).message}`, { cause: e });
  }
  const text = await response.text();
  if (!response.ok) throw new ServiceError("RUNNER", `the LLM at ${endpoint} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  let content: unknown;
  try {
    content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
  } catch {
    content = undefined;
  }
  if (typeof content !== "string") throw new ServiceError("RUNNER", `the LLM at ${endpoint} did not answer in the chat-completions format (choices[0].message.content)`);
  return content;
}

/** The first JSON array of `n` finite numbers in the reply. */
function numbers(reply: string, n: number, url: string): number[] {
  const match = /\[[^\]]*\]/.exec(reply);
  let parsed: unknown;
  try {
    parsed = match ? JSON.parse(match[0]) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== n || !parsed.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new ServiceError("RUNNER", `the LLM at ${url} did not reply to the simulation with a JSON array of ${n} numbers: "${reply.slice(0, 120)}"`);
  }
  return parsed as number[];
}

/** Activation -> integer 0..10 over the range of `values`. */
function scaler(values: readonly number[]): (v: number) => number {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return (v) => (hi > lo ? Math.round((10 * (v - lo)) / (hi - lo)) : 5);
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT)}…` : flat;
}

function firstLine(text: string): string {
  return (text.trim().split("\n")[0] ?? "").trim().slice(0, 300);
}
