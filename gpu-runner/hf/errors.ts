/**
 * Typed errors for checkpoint loading. Every message names the file (and the tensor where one is
 * involved) and says what to do, so a user can fix the folder without reading code.
 */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  constructor(
    message: string,
    /** File the problem was found in, relative to the model folder (or absolute when outside). */
    readonly file: string,
    /** Tensor the problem concerns, when there is one. */
    readonly tensor?: string,
  ) {
    super(message);
  }
}

/** config.json is missing, unreadable or describes an unsupported architecture. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(message: string, readonly file: string, readonly field?: string) {
    super(message);
  }
}
