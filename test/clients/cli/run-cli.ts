/** Runs the built CLI (dist/clients/cli/main.js) as a child process, for the CLI tests. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../../clients/cli/main.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Never rejects: the exit code is part of the result. */
export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runNode(CLI, args, options);
}

/** Runs a Node script; never rejects. */
export function runNode(script: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Starts `skillscope serve --json` and resolves with its printed address. */
export function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--json", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += String(d);
      const line = out.split("\n")[0]!;
      if (out.includes("\n")) resolve({ child, url: (JSON.parse(line) as { url: string }).url, exit });
    });
    void exit.then(({ code }) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
  });
}
