/**
 * Several guard processes (guard-child.ts) against one Redis deployment, driven round by round:
 * every process gets the same round at once and answers with the effects it decided.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface RoundResult {
  readonly effects: Record<string, number>;
  readonly codes: Record<string, number>;
  /** The process's store's cross-slot commits so far. */
  readonly crossSlot: number;
}

export interface GuardProcesses {
  /** Each process decides `n` concurrent requests from `request` (`$round`, `$i` filled in); results per process. */
  round(round: number, n: number, request: object): Promise<RoundResult[]>;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL("./guard-child.ts", import.meta.url));

export async function guardProcesses(count: number, config: { url?: string; cluster?: readonly string[]; prefix: string; policy: string; timeoutMs: number }): Promise<GuardProcesses> {
  const children: { proc: ChildProcess; lines: Interface; next: (() => Promise<string>) }[] = [];
  for (let i = 0; i < count; i++) {
    const proc = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(config)], { stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: proc.stdout! });
    const queue: string[] = [];
    const waiting: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
    lines.on("line", (l) => (waiting.length > 0 ? waiting.shift()!.resolve(l) : queue.push(l)));
    proc.once("exit", (code) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`guard process exited with ${code}`));
    });
    const next = () =>
      new Promise<string>((resolve, reject) => {
        if (queue.length > 0) return resolve(queue.shift()!);
        if (proc.exitCode !== null) return reject(new Error(`guard process exited with ${proc.exitCode}`));
        waiting.push({ resolve, reject });
      });
    children.push({ proc, lines, next });
  }
  for (const c of children) if ((await c.next()) !== "ready") throw new Error("guard process did not start");
  return {
    async round(round, n, request) {
      const answers = children.map((c) => c.next());
      for (const c of children) c.proc.stdin!.write(`${JSON.stringify({ round, n, request })}\n`);
      return (await Promise.all(answers)).map((l) => JSON.parse(l) as RoundResult);
    },
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.proc.exitCode !== null) return resolve();
              c.proc.once("exit", () => resolve());
              c.proc.stdin!.end();
              setTimeout(() => c.proc.kill("SIGKILL"), 5_000).unref();
            }),
        ),
      );
    },
  };
}
