export { TaskFileError } from "./errors.js";
export { readTaskFile, parseInlineRows, type ReadTaskOptions } from "./read.js";
export { assignSplits, seededHash, DEFAULT_SPLIT, type SplitOptions } from "./splits.js";
export { runSplits, DEV_FRACTION, type RunSplits } from "./dev-split.js";
export { renderTemplate, templateFields, parseTemplate, TemplateError } from "./template.js";
export { answerText, parseVerbalizer, verbalizerClasses, VerbalizerError, type Verbalizer } from "./verbalizer.js";
export { DEFAULT_MAX_LINE_BYTES } from "./text.js";
export type { ParsedTaskRow, Split, TaskRow } from "./types.js";
