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
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(new BodyTooLargeError(maxBytes));
  // 'data' events, not an async iterator: a small body arrives in one chunk, read with no iterator machinery
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData);
        req.pause();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}
