/**
 * A Guard process that holds decisions (hold-child.ts), driven from a test: `hold` a request,
 * `next` waits for the next change of a hold and says when this process received it.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface HoldEvent {
  readonly event: "held" | "change";
  readonly id: string;
  readonly effect: string;
  readonly cause?: string;
  readonly revoked?: boolean;
  readonly unavailable?: boolean;
  readonly reason?: string;
  /** `performance.now()` in the test's process when the line arrived. */
  readonly at: number;
}

export interface HoldProcess {
  /** Decides and holds `request` in the child; resolves with its decision's effect once held. */
  hold(id: string, request: object): Promise<string>;
  /** The next change reported for hold `id` that satisfies `ok` (earlier ones are skipped), within `ms`. */
  change(id: string, ok: (e: HoldEvent) => boolean, ms?: number): Promise<HoldEvent>;
  /** Takes every change reported so far for hold `id`, oldest first. */
  changes(id: string): HoldEvent[];
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL("./hold-child.ts", import.meta.url));

export async function holdProcess(config: { url?: string; cluster?: readonly string[]; prefix: string; policy: string }): Promise<HoldProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(config)], { stdio: ["pipe", "pipe", "inherit"] });
  const events: HoldEvent[] = [];
  let wake: (() => void) | null = null;
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    const at = performance.now();
    events.push({ ...(JSON.parse(l) as Omit<HoldEvent, "at">), at });
    wake?.();
  });
  const take = async (match: (e: HoldEvent) => boolean, ms: number): Promise<HoldEvent> => {
    const end = performance.now() + ms;
    for (;;) {
      const i = events.findIndex(match);
      if (i >= 0) return events.splice(i, 1)[0]!;
      if (proc.exitCode !== null) throw new Error(`hold process exited with ${proc.exitCode}`);
      const left = end - performance.now();
      if (left <= 0) throw new Error(`no matching hold event within ${ms} ms; events: ${JSON.stringify(events.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  };
  await take((e) => (e as { event: string }).event === "ready", 30_000);
  return {
    async hold(id, request) {
      proc.stdin!.write(`${JSON.stringify({ op: "hold", id, request })}\n`);
      return (await take((e) => e.event === "held" && e.id === id, 10_000)).effect;
    },
    changes(id) {
      const mine = events.filter((e) => e.event === "change" && e.id === id);
      for (const e of mine) events.splice(events.indexOf(e), 1);
      return mine;
    },
    change: (id, ok, ms = 10_000) => take((e) => e.event === "change" && e.id === id && ok(e), ms),
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.stdin!.end();
        setTimeout(() => proc.kill("SIGKILL"), 5_000).unref();
      }),
  };
}
