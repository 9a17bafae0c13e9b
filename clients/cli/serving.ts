/** What `serve` and `demo` share: owning SIGINT/SIGTERM, and a graceful shutdown on them. */

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Runs `start` (which starts the server) and removes the signal listeners it added: Apollo stops
 * itself on SIGINT/SIGTERM and re-raises the signal, which can end the process before the database
 * is closed. The command owns shutdown instead (see `untilSignal`).
 */
export async function withOwnSignals<T>(start: () => Promise<T>): Promise<T> {
  const before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
  try {
    return await start();
  } finally {
    for (const signal of SIGNALS) {
      for (const l of process.listeners(signal)) if (!before.get(signal)!.includes(l)) process.off(signal, l);
    }
  }
}

/**
 * Resolves after the first SIGINT/SIGTERM once `close()` (drain requests and subscriptions, stop
 * runs, close the database) has finished; a failed close sets exit code 1.
 */
export function untilSignal(command: string, close: () => Promise<void>, announce: boolean): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      for (const s of SIGNALS) process.off(s, stop);
      if (announce) process.stderr.write(`${signal}: shutting down (finishing requests, closing the database)\n`);
      close().then(done, (error: unknown) => {
        process.stderr.write(`skillscope ${command}: shutdown failed: ${(error as Error).message}\n`);
        process.exitCode = 1;
        done();
      });
    };
    for (const s of SIGNALS) process.on(s, stop);
  });
}
