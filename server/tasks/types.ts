/** The two sample sets of a run: prompt training and neuron extraction / validation. */
/** train optimises the prompt, dev chooses it, val is analysed (see dev-split.ts). */
export type Split = "train" | "dev" | "val";

/** A task row after validation, before any split is assigned. */
export interface ParsedTaskRow {
  /** Unique within the task: the `id` column, else the row's 1-based line / row number. */
  readonly id: string;
  /** 1-based line (JSONL, CSV) or row (Parquet, inline) the row came from; for messages. */
  readonly line: number;
  /** Every column other than id/answer/label/split, as text: what templates can use. */
  readonly fields: Readonly<Record<string, string>>;
  /** Target text; wins over the verbalized label. */
  readonly answer?: string;
  readonly label?: string | number;
  readonly split?: Split;
  /**
   * Columns whose every present value in the task is a number or boolean (booleans as 0/1).
   * Every row has every such column; NaN where the row lacks it.
   */
  readonly columns: Readonly<Record<string, number>>;
}

/** A task row with its split decided. */
export interface TaskRow extends ParsedTaskRow {
  readonly split: Split;
}

/** Column names with a fixed meaning; all other columns are input fields (and maybe metrics). */
export const RESERVED_FIELDS = ["id", "answer", "label", "split"] as const;
