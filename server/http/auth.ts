import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdir, open, readFile, stat } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import type { RequestAuth } from "../graphql/context.js";

/** Name of the token file inside the data directory. */
export const TOKEN_FILE = "token";

/** Random bytes in a new token (hex-encoded: 64 characters). */
const TOKEN_BYTES = 32;
const MIN_TOKEN_LENGTH = 32;

/** Thrown when the token file exists but cannot serve as a token. */
export class TokenFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "TokenFileError";
  }
}

/**
 * The server's bearer token: read from `<dataDir>/token`, or made (crypto random) and written there
 * with mode 0600 on first start. A token file readable by others is tightened to 0600.
 */
export async function loadOrCreateToken(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, TOKEN_FILE);
  const fresh = randomBytes(TOKEN_BYTES).toString("hex");
  try {
    const handle = await open(file, "wx", 0o600);
    try {
      await handle.writeFile(`${fresh}\n`);
    } finally {
      await handle.close();
    }
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  const token = (await readFile(file, "utf8")).trim();
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new TokenFileError(
      file,
      `holds no usable token (need one line of at least ${MIN_TOKEN_LENGTH} non-space characters); delete the file and restart to make a new one`,
    );
  }
  return token;
}

/** The token of an `Authorization: Bearer <token>` value, or undefined. */
export function bearerToken(authorization: unknown): string | undefined {
  if (typeof authorization !== "string") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

/** Constant-time comparison: both sides are hashed to equal-length digests first. */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(presented).digest();
  return timingSafeEqual(a, b);
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return address === "::1";
}

/** Decides what a caller may do from its Authorization value and remote address. */
export class Authenticator {
  constructor(
    private readonly token: string,
    private readonly options: { allowRemoteReads: boolean },
  ) {}

  check(authorization: unknown, remoteAddress: string | undefined): RequestAuth {
    const canWrite = tokenMatches(this.token, bearerToken(authorization));
    return { canWrite, canRead: canWrite || this.options.allowRemoteReads || isLoopback(remoteAddress) };
  }
}
