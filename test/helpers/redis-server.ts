/**
 * Real Redis servers for tests and benchmarks: a standalone `redis-server` or a local 3-node
 * Cluster, each on free loopback ports in a temporary directory, started and stopped by the test
 * file that needs them. Nothing listens beyond 127.0.0.1.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Whether `redis-server` and `redis-cli` can be run here. */
export const hasRedis = ["redis-server", "redis-cli"].every((p) => spawnSync(p, ["--version"], { stdio: "ignore" }).status === 0);

/** Why Redis tests did not run (printed by the suites that skip; `.ci/run` installs redis-server). */
export const noRedis = "redis-server / redis-cli not found: the Redis store tests need Debian's redis-server package (apt-get install -y redis-server)";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Starts the server again on the same port and directory (after `kill` or `stop`). */
  start(): Promise<void>;
  /** SIGKILL: the server dies at once, as in a crash. */
  kill(): Promise<void>;
  /** Shuts the server down and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Append-only file with `appendfsync always`: every acknowledged write is on disk. */
  readonly aof?: boolean;
  readonly cluster?: boolean;
}

/** A free loopback port whose +10000 neighbour (the Cluster bus) is free too. */
export async function freePort(): Promise<number> {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portFree(p)) && (await portFree(p + 10_000))) return p;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "leash-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", "--logfile", ""];
  args.push(...(options.aof ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
  if (options.cluster) args.push("--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"), "--cluster-node-timeout", "5000");
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const c = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    // A server never outlives the process that started it (a test worker that exits early).
    const reap = () => c.kill("SIGKILL");
    process.once("exit", reap);
    c.once("exit", () => process.off("exit", reap));
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start: ${out}`)), 15_000);
      c.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${port} exited with ${code}: ${out}`));
      });
    });
    c.stdout!.resume();
    c.stderr!.resume();
  };

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill(signal);
    });
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    start,
    kill: () => end("SIGKILL"),
    async stop() {
      await end("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** Seed URLs for `redisStore({ cluster })`. */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

/** A Cluster of `size` masters without replicas on loopback, slots spread evenly. */
export async function startCluster(size = 3): Promise<RedisCluster> {
  const nodes = await Promise.all(Array.from({ length: size }, () => startRedis({ cluster: true })));
  const stop = async () => void (await Promise.all(nodes.map((n) => n.stop())));
  try {
    await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"]);
    const deadline = Date.now() + 20_000;
    for (const n of nodes) {
      for (;;) {
        const { stdout } = await run("redis-cli", ["-p", String(n.port), "cluster", "info"]);
        if (stdout.includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} did not reach cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, urls: nodes.map((n) => n.url), stop };
}
