import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run as diffRun } from "../src/cli/commands/diff.js";
import { diffPolicies } from "../src/testing/diff.js";
import { testPolicySource } from "../src/testing/suite.js";
import { run as evalRun } from "../src/cli/commands/eval.js";
import { UsageError } from "../src/cli/io.js";
import { memoryIO, ROOT } from "./testing/helpers.js";

describe("leash diff", () => {
  it("finds that the broken deploy-bot is more permissive, with shrunk examples grouped by action", async () => {
    const io = memoryIO();
    const code = await diffRun(["examples/deploy-bot.rules", "examples/broken/deploy-bot.rules", "--seed", "3"], io);
    expect(code).toBe(1);
    expect(io.out).toMatch(/^examples\/deploy-bot\.rules -> examples\/broken\/deploy-bot\.rules: 1 difference \(\d+ directed, \d+ random traces, seed 3\)/);
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
    expect(io.out).toMatch(/^no difference found between examples\/one-secret\.rules and examples\/one-secret\.rules \(\d+ directed, 100 random traces, seed 1\)\n/);
    expect(io.out).toContain("searched: examples/one-secret.rules: 4/4 rules decided, 1/1 clauses seen true and false;");
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

const SUPPORT = "test/corpus/policies/support.rules";
const LOOSE = "test/corpus/policies/loosened/support.rules";

describe("leash diff on a 20-rule support policy loosened in three places", () => {
  // The default suite tries two seeds; `npm run test:deep` tries ten.
  const seeds = process.env.LEASH_DEEP === "1" ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [1, 2];
  for (const seed of seeds) {
    it(`finds all three changes at default settings (seed ${seed})`, async () => {
      const io = memoryIO();
      expect(await diffRun([SUPPORT, LOOSE, "--seed", String(seed), "--json"], io)).toBe(1);
      const r = JSON.parse(io.out);
      expect(r.changes.map((c: { name: string; parts: string[]; witnessed: boolean }) => [c.name, c.parts.join(","), c.witnessed])).toEqual([
        ["agents-refund", "limit", true],
        ["large-refund", "condition", true],
        ["no-email-after-card", "condition", true],
      ]);
      const more = r.groups.filter((g: { direction: string }) => g.direction === "more permissive").map((g: { action: string }) => g.action);
      expect(more).toEqual(["email.send", "refund.issue"]);
      expect(r.undecided).toEqual([]);
    });
  }

  it("each example's test block passes on the old policy and fails on the new one at the step it names; its JSONL replays", async () => {
    const io = memoryIO();
    expect(await diffRun([SUPPORT, LOOSE, "--seed", "1", "--json"], io)).toBe(1);
    const r = JSON.parse(io.out);
    const oldSource = readFileSync(join(ROOT, SUPPORT), "utf8");
    const newSource = readFileSync(join(ROOT, LOOSE), "utf8");
    for (const g of r.groups)
      for (const x of g.examples) {
        const onOld = testPolicySource(`${oldSource}\n${x.test}\n`, { seed: 1, runs: 1 });
        const onNew = testPolicySource(`${newSource}\n${x.test}\n`, { seed: 1, runs: 1 });
        const pasted = (rep: typeof onOld) => rep.tests.find((t) => t.name.startsWith("before the change"))!;
        expect(pasted(onOld).ok).toBe(true);
        expect(pasted(onNew).steps.find((s) => !s.ok)?.index).toBe(x.firstDifference + 1);
        expect(await evalRun([join(ROOT, SUPPORT), x.traceFile, "--check"], memoryIO(io.files))).toBe(0);
        expect(await evalRun([join(ROOT, LOOSE), x.traceFile, "--check"], memoryIO(io.files))).toBe(1);
      }
  });
});

describe("leash diff: a verdict only from a search that exercised something", () => {
  const never = 'rule reads: allow doc.read for agent *\nrule never: allow doc.write for human "nobody" when context.a > 1 and context.a < 0\n';

  it("lists the rules it never made decide; --strict fails on them", async () => {
    const files = { [join(ROOT, "n.rules")]: never };
    const io = memoryIO(files);
    expect(await diffRun(["n.rules", "n.rules", "--seed", "1", "--runs", "20"], io)).toBe(0);
    expect(io.out).toContain("  never decided: never\n");
    const strict = memoryIO(files);
    expect(await diffRun(["n.rules", "n.rules", "--seed", "1", "--runs", "20", "--strict"], strict)).toBe(1);
    expect(strict.out).toMatch(/^no difference found, but the search is inconclusive between n\.rules and n\.rules/);
    expect(strict.out).toContain("inconclusive: --strict: 1 rule never decided: never\n");
  });

  it("a search that made no rule decide gives no verdict (exit 1)", async () => {
    const io = memoryIO({ [join(ROOT, "z.rules")]: "rule r: allow doc.read when context.a > 1 and context.a < 0\n" });
    expect(await diffRun(["z.rules", "z.rules", "--seed", "1", "--runs", "20", "--json"], io)).toBe(1);
    const r = JSON.parse(io.out);
    expect(r).toMatchObject({ different: false, exercised: false, verdict: "inconclusive" });
    expect(r.reasons).toEqual(["no rule of either policy decided any request of the search: it exercised nothing"]);
  });

  it("--exhaustive proves no difference up to its bound; every number has a documented range", async () => {
    const io = memoryIO();
    expect(await diffRun(["examples/deploy-bot.rules", "examples/deploy-bot.rules", "--seed", "1", "--runs", "10", "--exhaustive", "2"], io)).toBe(0);
    expect(io.out).toMatch(/exhaustive: every trace of up to 2 events over \d+ letters and 3 gaps checked: no difference up to that bound/);
    for (const [opt, value, range] of [["--exhaustive", "7", "1 to 6"], ["--exhaustive", "0", "1 to 6"], ["--timeout", "3600001", "1 to 3,600,000"]]) {
      await expect(diffRun(["a.rules", "b.rules", opt!, value!], memoryIO())).rejects.toThrow(`${opt} takes a whole number from ${range}, got "${value}"`);
    }
  });

  it("an exhaustive search that cannot reach its bound is reported as such", () => {
    const r = diffPolicies({ source: readFileSync(join(ROOT, SUPPORT), "utf8") }, { source: readFileSync(join(ROOT, SUPPORT), "utf8") }, { seed: 1, runs: 10, exhaustive: 3, exhaustiveBudget: 2000 });
    expect(r.groups).toEqual([]);
    expect(r.exhaustive).toMatchObject({ complete: false, stopped: "budget", maxEvents: 3 });
    expect(r.exhaustive!.depth).toBeLessThan(3);
  });
});
