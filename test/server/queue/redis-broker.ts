/**
 * A real Redis for the work-queue tests: Debian's redis-server on a unix socket in a temp folder
 * (no TCP port, no persistence). A missing binary fails the test with the install line, never skips.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";

export interface RedisBroker {
  /** redis+unix:///…/redis.sock */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedis(dir: string): Promise<RedisBroker> {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.error) {
    throw new Error("redis-server is not installed: `apt-get install redis-server` (Debian 12 ships 7.0; `npm test` installs it first where it may: test/setup/ensure-redis.sh). The work-queue tests start their own broker from it.");
  }
  const socket = join(dir, "redis.sock");
  const child: ChildProcess = spawn("redis-server", ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += String(d)));
  child.stderr!.on("data", (d: Buffer) => (output += String(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10000;
  for (;;) {
    const client = new Redis({ path: socket, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined); // connect() rejects with it until the socket is up
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      break;
    } catch {
      client.disconnect();
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis+unix://${socket}`,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
