import jsonc from "jsonc-parser";

/** What the first syntax error of a JSON text expected, in words. */
const EXPECTED: Record<string, string> = {
  InvalidSymbol: "a JSON value or punctuation, found another character",
  InvalidNumberFormat: "a valid number",
  PropertyNameExpected: "a property name in double quotes",
  ValueExpected: "a value",
  ColonExpected: "':'",
  CommaExpected: "','",
  CloseBraceExpected: "'}'",
  CloseBracketExpected: "']'",
  EndOfFileExpected: "the end of the text",
  InvalidCommentToken: "no comment (JSON has none)",
  UnexpectedEndOfComment: "the end of a comment",
  UnexpectedEndOfString: "the closing '\"' of a string on the same line",
  UnexpectedEndOfNumber: "more digits",
  InvalidUnicode: "a valid \\u escape",
  InvalidEscapeCharacter: "a valid escape after '\\'",
  InvalidCharacter: "no control character inside a string",
};

/**
 * Parses the JSON text of a file the user named. On a syntax error, throws `makeError` with a
 * message saying where (line, column, character offset) and what was expected, quoting none of
 * the text: the file may not be the caller's to read (a symlink, or a message that ends up in a
 * run's error, which readers without the token see). JSON.parse's own message is not used, as it
 * quotes the text.
 */
export function parseJsonText(text: string, makeError: (problem: string) => Error): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw makeError(describeJsonError(text));
  }
}

/** Where the first syntax error of a JSON text is (1-based line and column, 0-based character) and what it expected. */
export interface JsonErrorLocation {
  line: number;
  column: number;
  offset: number;
  expected: string;
}

/** The first syntax error of `text`; undefined when the scanner finds none (JSON.parse may still refuse). */
export function locateJsonError(text: string): JsonErrorLocation | undefined {
  let first: JsonErrorLocation | undefined;
  jsonc.visit(
    text,
    {
      onError: (code, offset, _length, line, column) =>
        void (first ??= { line: line + 1, column: column + 1, offset, expected: EXPECTED[jsonc.printParseErrorCode(code)] ?? "valid JSON" }),
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  return first;
}

/** "not valid JSON at line L, column C (character N): expected X" for text JSON.parse refused. */
export function describeJsonError(text: string): string {
  const at = locateJsonError(text);
  return at ? `not valid JSON at line ${at.line}, column ${at.column} (character ${at.offset}): expected ${at.expected}` : "not valid JSON";
}
