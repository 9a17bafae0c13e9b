/**
 * Greedy answers of a parameter set (no soft prompt): how well the pretrained model does each
 * demo task as pretrained. Decodes as many tokens as the gold answer has, each from the argmax
 * at the last filled position, and compares ids.
 */
import { GraphSession, type TensorValue } from "../graph/index.js";
import { lexicalOverlap } from "./corpus.js";
import { FILLER } from "./vocab.js";
import { gpt2ParamSpecs, type Gpt2Shape } from "./gpt2-params.js";
import { DEMO_TEMPLATES, type TaskFileRow } from "./tasks.js";
import { PAD_ID, type WordCodec } from "./tokenizer.js";
import { buildTrainGraph } from "./train-graph.js";

export interface EncodedQuestion {
  readonly instruction: readonly number[];
  readonly answer: readonly number[];
}

/** A forward-only session over given weights, fed [batch, seqLen] right-padded rows. */
export class LogitsRunner {
  private constructor(
    private readonly session: GraphSession,
    private readonly shape: Gpt2Shape,
    private readonly params: ReadonlyMap<string, Float32Array>,
    readonly batch: number,
    readonly seqLen: number,
  ) {}

  static async create(shape: Gpt2Shape, params: ReadonlyMap<string, Float32Array>, batch: number, seqLen = shape.nPositions, threads?: number): Promise<LogitsRunner> {
    const graph = buildTrainGraph(shape, { batch, seqLen, withGrad: false, withLogits: true });
    return new LogitsRunner(await GraphSession.create(graph, { intraOpThreads: threads }), shape, params, batch, seqLen);
  }

  /** Logits [batch, seqLen, V] for up to `batch` rows of ids (missing rows are padding). */
  async logits(rows: readonly (readonly number[])[]): Promise<Float32Array> {
    const { batch: B, seqLen: T } = this;
    const ids = new BigInt64Array(B * T).fill(BigInt(PAD_ID));
    rows.forEach((r, b) => {
      if (r.length > T) throw new RangeError(`a row of ${r.length} tokens exceeds ${T} positions`);
      r.forEach((id, t) => { ids[b * T + t] = BigInt(id); });
    });
    const feeds: Record<string, TensorValue> = {
      input_ids: { data: ids, shape: [B, T] },
      targets: { data: new BigInt64Array(B * T), shape: [B, T] },
      loss_mask: { data: new Float32Array(B * T).fill(1), shape: [B, T] },
    };
    for (const s of gpt2ParamSpecs(this.shape)) feeds[s.name] = { data: this.params.get(s.name)!, shape: s.shape };
    const out = await this.session.run(feeds, ["logits"]);
    return out.logits.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Greedy continuation of each instruction, as long as its gold answer, never choosing an id in `exclude`. */
export async function greedyAnswers(
  runner: LogitsRunner,
  questions: readonly EncodedQuestion[],
  vocabSize: number,
  exclude: readonly number[] = [],
): Promise<number[][]> {
  const allowed = Array.from({ length: vocabSize }, (_, v) => v).filter((v) => !exclude.includes(v));
  const preds: number[][] = [];
  for (let c = 0; c < questions.length; c += runner.batch) {
    const chunk = questions.slice(c, c + runner.batch);
    const rows = chunk.map((q) => [...q.instruction]);
    const out = chunk.map(() => [] as number[]);
    const steps = Math.max(...chunk.map((q) => q.answer.length));
    for (let j = 0; j < steps; j++) {
      const logits = await runner.logits(rows);
      chunk.forEach((q, b) => {
        if (j >= q.answer.length) return;
        const at = (b * runner.seqLen + rows[b].length - 1) * vocabSize;
        let best = allowed[0];
        for (const v of allowed) if (logits[at + v] > logits[at + best]) best = v;
        out[b].push(best);
        rows[b].push(best);
      });
    }
    preds.push(...out);
  }
  return preds;
}

/** Renders a demo template ("{a} {op} {b} =") with a task row's fields. */
export function renderDemoTemplate(template: string, row: TaskFileRow): string {
  return template.replace(/\{(\w+)\}/g, (_, f: string) => {
    if (!(f in row)) throw new RangeError(`template field {${f}} is not in row ${String(row.id)}`);
    return String(row[f]);
  });
}

export interface TaskAccuracy {
  readonly task: keyof typeof DEMO_TEMPLATES;
  /** Filler words between instruction and answer (20 stands where the demo puts its soft prompt). */
  readonly gap: number;
  readonly n: number;
  /** Exact-match accuracy of the greedy answer. */
  readonly accuracy: number;
  /** Extra breakdowns: per NLI overlap x label cell; arithmetic last / first digit. */
  readonly detail: Record<string, number>;
}

const mean = (xs: boolean[]): number => (xs.length === 0 ? NaN : xs.filter(Boolean).length / xs.length);

/**
 * Greedy accuracy on the val split of one demo task file's rows, with `gap` filler words after
 * the instruction. The filler itself is never an answer token: the corpus puts filler after half
 * of its instructions, so without the exclusion greedy decoding would just continue the filler.
 */
export async function taskAccuracy(
  runner: LogitsRunner,
  codec: WordCodec,
  task: keyof typeof DEMO_TEMPLATES,
  rows: readonly TaskFileRow[],
  gap = 0,
): Promise<TaskAccuracy> {
  const val = rows.filter((r) => r.split === "val");
  const filler = codec.encode(FILLER)[0];
  const questions = val.map((r) => ({
    instruction: [...codec.encode(renderDemoTemplate(DEMO_TEMPLATES[task], r)), ...new Array<number>(gap).fill(filler)],
    answer: codec.encode(String(r.answer)),
  }));
  const preds = await greedyAnswers(runner, questions, codec.vocabSize, [filler]);
  const right = questions.map((q, i) => q.answer.every((id, j) => preds[i][j] === id));
  const detail: Record<string, number> = {};
  if (task === "arith") {
    detail.lastDigit = mean(questions.map((q, i) => preds[i].at(-1) === q.answer.at(-1)));
    detail.firstDigit = mean(questions.map((q, i) => preds[i][1] === q.answer[1]));
  }
  if (task === "nli-hans") {
    for (const overlap of [true, false]) for (const label of ["entailment", "non-entailment"]) {
      const cell = (i: number) => lexicalOverlap(String(val[i].premise), String(val[i].hypothesis)) === overlap && val[i].label === label;
      detail[`overlap=${overlap},${label}`] = mean(right.filter((_, i) => cell(i)));
    }
  }
  return { task, gap, n: val.length, accuracy: mean(right), detail };
}
