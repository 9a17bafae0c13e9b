import type { IncomingMessage } from "node:http";

/** The request body is larger than the server accepts (answer 413). */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`request body is larger than ${maxBytes} bytes; send a smaller request (split large inputs across several)`);
    this.name = "BodyTooLargeError";
  }
}

/**
 * Reads the whole request body, refusing (BodyTooLargeError) as soon as it passes `maxBytes`,
 * by its Content-Length up front or by counting as it streams in.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
