/**
 * Which answer token carries content. BPE and SentencePiece tokenizers often start an answer with a
 * lone word-boundary piece (GPT-2/Qwen "Ġ" before digits, Metaspace "▁" before a number): that
 * token is nearly certain after any instruction, so a score read there says little about the answer.
 */

/** True when a token's text is empty, whitespace, or only word-boundary markers ("▁" Metaspace, "Ġ" byte-level space). */
export function isBoundaryOnly(text: string): boolean {
  return /^[\s\u2581\u0120]*$/u.test(text);
}

/**
 * A finder of the first answer token that carries content (its decoded text is not boundary-only),
 * decoding each distinct token id once. Returns -1 when no answer token carries content.
 */
export function contentTokenFinder(decode: (ids: readonly number[]) => Promise<string> | string): (answerIds: ArrayLike<number>) => Promise<number> {
  const boundary = new Map<number, boolean>();
  return async (answerIds) => {
    for (let j = 0; j < answerIds.length; j++) {
      const id = answerIds[j];
      let isBoundary = boundary.get(id);
      if (isBoundary === undefined) {
        isBoundary = isBoundaryOnly(await decode([id]));
        boundary.set(id, isBoundary);
      }
      if (!isBoundary) return j;
    }
    return -1;
  };
}
