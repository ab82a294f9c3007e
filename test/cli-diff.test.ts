import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run as diffRun } from "../src/cli/commands/diff.js";
import { run as evalRun } from "../src/cli/commands/eval.js";
import { UsageError } from "../src/cli/io.js";
import { memoryIO, ROOT } from "./testing/helpers.js";

describe("leash diff", () => {
  it("finds that the broken deploy-bot is more permissive, with shrunk examples grouped by action", async () => {
    const io = memoryIO();
    const code = await diffRun(["examples/deploy-bot.rules", "examples/broken/deploy-bot.rules", "--seed", "3"], io);
    expect(code).toBe(1);
    expect(io.out).toMatch(/^examples\/deploy-bot\.rules -> examples\/broken\/deploy-bot\.rules: 1 difference \(\d+ traces, seed 3\)/);
    expect(io.out).toMatch(/release\.push: more permissive \([123] examples?\)/);
    expect(io.out).toContain("old deny, new allow by humans-release");
    expect(io.out).toContain("old challenge by release-approval, new allow by humans-release");
    expect(io.out).not.toContain("less permissive");
  });

  it("the other way round is less permissive; each example replays with leash eval", async () => {
    const io = memoryIO();
    expect(await diffRun(["examples/broken/deploy-bot.rules", "examples/deploy-bot.rules", "--seed", "4", "--json"], io)).toBe(1);
    const report = JSON.parse(io.out);
    expect(report).toMatchObject({ different: true, seed: 4 });
    expect(report.groups.map((g: { action: string; direction: string }) => `${g.action} ${g.direction}`)).toEqual(["release.push less permissive"]);
    const examples = report.groups[0].examples as { trace: unknown[]; traceFile: string; old: { effect: string }; new: { effect: string } }[];
    expect(examples.length).toBeGreaterThanOrEqual(1);
    expect(examples.length).toBeLessThanOrEqual(3);
    for (const x of examples) {
      expect(x.trace.length).toBeLessThanOrEqual(3);
      const effects: string[] = [];
      for (const policy of ["examples/broken/deploy-bot.rules", "examples/deploy-bot.rules"]) {
        const evalIO = memoryIO(io.files);
        await evalRun([join(ROOT, policy), x.traceFile, "--json"], evalIO);
        effects.push(JSON.parse(evalIO.out.trim().split("\n").pop()!).decision.effect);
      }
      expect(effects).toEqual([x.old.effect, x.new.effect]);
    }
  });

  it("finds no difference between a policy and itself (exit 0)", async () => {
    const io = memoryIO();
    expect(await diffRun(["examples/one-secret.rules", "examples/one-secret.rules", "--seed", "1", "--runs", "100"], io)).toBe(0);
    expect(io.out).toBe("no difference found between examples/one-secret.rules and examples/one-secret.rules (100 traces, seed 1)\n");
  });

  it("a history change: a longer window is less permissive for mail after a secret", async () => {
    const src = (w: string) => `rule tools: allow secret.read, email.send for agent *\nrule no-exfil: deny email.send when after(secret.read by session within ${w})\n`;
    const io = memoryIO({ [join(ROOT, "a.rules")]: src("10m"), [join(ROOT, "b.rules")]: src("20m") });
    expect(await diffRun(["a.rules", "b.rules", "--seed", "5", "--json"], io)).toBe(1);
    const report = JSON.parse(io.out);
    expect(report.groups).toHaveLength(1);
    expect(report.groups[0]).toMatchObject({ action: "email.send", direction: "less permissive" });
    const trace = report.groups[0].examples[0].trace as { time: number }[];
    const gap = trace[trace.length - 1]!.time - trace[0]!.time;
    expect(gap).toBeGreaterThanOrEqual(600_000);
    expect(gap).toBeLessThan(1_200_000);
  });

  it("usage errors and policies that do not compile", async () => {
    await expect(diffRun(["examples/deploy-bot.rules"], memoryIO())).rejects.toThrow(UsageError);
    await expect(diffRun(["a", "b", "--examples", "0"], memoryIO())).rejects.toThrow(/--examples takes a whole number from 1 to 100, got "0"/);
    const io = memoryIO({ [join(ROOT, "bad.rules")]: "rule x: allow\n" });
    expect(await diffRun(["examples/deploy-bot.rules", "bad.rules"], io)).toBe(1);
    expect(io.err).toMatch(/P1\d\d/);
  });
});
