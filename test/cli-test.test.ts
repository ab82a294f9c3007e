import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run as evalRun } from "../src/cli/commands/eval.js";
import { run as testRun } from "../src/cli/commands/test.js";
import { UsageError } from "../src/cli/io.js";
import { main } from "../src/cli/main.js";
import { testPolicySource } from "../src/testing/suite.js";
import { EXAMPLES, memoryIO, ROOT } from "./testing/helpers.js";

describe("leash test", () => {
  it("passes on every example (leash test examples/)", async () => {
    const io = memoryIO();
    const code = await testRun(["examples/", "--seed", "1"], io);
    expect(io.err).toBe("");
    expect(code).toBe(0);
    for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith(".rules"))) expect(io.out).toContain(`examples/${f}`);
    expect(io.out).not.toContain("broken"); // a directory means its own files; --recursive goes deeper
    expect(io.out).toMatch(/✓ property "the bot never pushes": never allow release\.push for agent "deploy-bot" \(\d+ directed \+ 200 random traces, applied to \d+ requests\)/);
    expect(io.out).toMatch(/examples\/deploy-bot\.rules\n(?:.*\n)*? {2}searched: 3\/3 rules decided, 1\/1 clauses seen true and false\n/);
    expect(io.out).toContain('✓ test "the agent drafts but never approves" (4 steps)');
    const files = readdirSync(EXAMPLES).filter((x) => x.endsWith(".rules")).length;
    expect(io.out).toMatch(new RegExp(`\\nok: ${files} files; tests 3 passed; properties 2 held \\(seed 1, [\\d.]+ s\\)\\n$`));
  });

  it("is registered: `leash test` and `leash diff` through main, usage errors exit 2", async () => {
    const io = memoryIO();
    expect(await main(["test", "examples", "--seed", "2", "--runs", "50"], io)).toBe(0);
    expect(io.out).toContain(`\nok: ${readdirSync(EXAMPLES).filter((x) => x.endsWith(".rules")).length} files;`);
    const broken = memoryIO();
    expect(await main(["test", "examples/broken", "--seed", "2"], broken)).toBe(1);
    const usage = memoryIO();
    expect(await main(["test", "--runs", "many"], usage)).toBe(2);
    expect(usage.err).toBe('leash test: --runs takes a whole number from 1 to 1,000,000, got "many"\n');
    const diff = memoryIO();
    expect(await main(["diff", "examples/deploy-bot.rules", "examples/deploy-bot.rules", "--seed", "1", "--runs", "50"], diff)).toBe(0);
    const help = memoryIO();
    await main(["--help"], help);
    expect(help.out).toMatch(/ {2}test {5}run test blocks/);
    expect(help.out).toMatch(/ {2}diff {5}find requests/);
  });

  it("fails on the broken deploy-bot with a short counterexample that `leash eval` reproduces", async () => {
    const io = memoryIO();
    const code = await testRun(["examples/broken/deploy-bot.rules", "--seed", "7"], io);
    expect(code).toBe(1);
    const out = io.out;
    expect(out).toContain('✗ property "the bot never pushes": never allow release.push for agent "deploy-bot"');
    expect(out).toContain("event 1 (release.push) was allow by humans-release; the claim says never allow");
    const sizes = [...out.matchAll(/counterexample: (\d+) events?/g)].map((m) => Number(m[1]));
    expect(sizes).toHaveLength(2);
    for (const n of sizes) expect(n).toBeLessThanOrEqual(3);
    expect(out).toContain("rerun:  leash test examples/broken/deploy-bot.rules --seed 7");
    expect(out).toContain('test "counterexample: the bot never pushes" {');

    const replays = [...out.matchAll(/replay: leash eval (\S+) (\S+) --check/g)];
    expect(replays).toHaveLength(2);
    for (const [, policy, trace] of replays) {
      expect(policy).toBe("examples/broken/deploy-bot.rules");
      expect(io.files[trace!]).toBeDefined();
      const evalIO = memoryIO(io.files);
      expect(await evalRun([join(ROOT, policy!), trace!, "--check"], evalIO)).toBe(0);
      const last = evalIO.out.trim().split("\n").pop()!;
      expect(last).toMatch(/allow\s+release\.push\s+\S+\s+humans-release/);
    }
    expect(out).toMatch(/FAILED: 1 file; tests 1 passed; properties 0 held, 2 failed/);
  });

  it("--json reports every file, step, claim and counterexample", async () => {
    const io = memoryIO();
    const code = await testRun(["examples/broken/deploy-bot.rules", "examples/ticket-agent.rules", "--json", "--seed", "3", "--runs", "50"], io);
    expect(code).toBe(1);
    const report = JSON.parse(io.out);
    expect(report).toMatchObject({ ok: false, seed: 3 });
    const [broken, ticket] = report.files;
    expect(broken.ok).toBe(false);
    expect(ticket.ok).toBe(true);
    expect(ticket.tests[0].steps).toHaveLength(4);
    expect(ticket.properties[0]).toMatchObject({ ok: true, runs: 50 });
    const p = broken.properties[0];
    expect(p).toMatchObject({ property: "the bot never pushes", ok: false, line: 20 });
    expect(p.counterexample.trace.length).toBeLessThanOrEqual(3);
    expect(p.counterexample.replay).toBe(`leash eval examples/broken/deploy-bot.rules ${p.counterexample.traceFile} --check`);
    expect(p.counterexample.phase).toBe("directed");
    expect(p.counterexample.test).toMatch(/^test "counterexample: the bot never pushes" \{\n/);
  });

  it("--coverage lists each rule, its clauses and the rules never exercised", async () => {
    const io = memoryIO();
    expect(await testRun(["examples/deploy-bot.rules", "examples/one-secret.rules", "--coverage", "--seed", "1"], io)).toBe(0);
    expect(io.out).toMatch(/coverage: [23]\/3 rules decided, 1\/1 clauses seen true and false/);
    expect(io.out).toMatch(/ {4}validate-builds {3}decided \d+/);
    expect(io.out).toMatch(/unless after\(signal approval\.granted by session within 1h\) {2}true \d+, false \d+/);
    expect(io.out).toMatch(/not exercised: rotate-own, no-mass-rotation, no-config-export/);
  });

  it("the same seed gives the same report", async () => {
    const a = memoryIO();
    const b = memoryIO();
    await testRun(["examples/broken/deploy-bot.rules", "--seed", "11"], a);
    await testRun(["examples/broken/deploy-bot.rules", "--seed", "11"], b);
    expect(a.out.replace(/\([^)]* s\)/, "")).toBe(b.out.replace(/\([^)]* s\)/, ""));
  });

  it("a policy with errors fails with its diagnostics", async () => {
    const io = memoryIO({ [join(ROOT, "bad.rules")]: "rule x: allow\n" });
    expect(await testRun(["bad.rules"], io)).toBe(1);
    expect(io.out).toContain("bad.rules");
    expect(io.out).toMatch(/P1\d\d/);
    expect(io.out).toContain("1 file with errors");
  });

  it("a claim that does not compile fails on its own line; the other claims are still checked", async () => {
    const src = 'actions { build.validate }\nrule a: allow build.validate\nproperty "p" {\n  never allow release.push\n  never deny build.validate for human *\n}\n';
    const io = memoryIO({ [join(ROOT, "c.rules")]: src });
    expect(await testRun(["c.rules", "--seed", "1"], io)).toBe(1);
    expect(io.out).toContain("at c.rules:4:3\n      the claim does not compile: C203: action `release.push` is not declared");
    expect(io.out).toContain('✓ property "p": never deny build.validate for human *');
  });

  it("a failing test step shows where it is and what was decided", async () => {
    const src = 'rule a: allow x.read\ntest "t" {\n  human "h" x.read => deny\n}\n';
    const io = memoryIO({ [join(ROOT, "t.rules")]: src });
    expect(await testRun(["t.rules"], io)).toBe(1);
    expect(io.out).toContain('✗ test "t" (1 step)');
    expect(io.out).toContain("step 1 at t.rules:3:3: expected deny, got allow by a");
  });

  it("draws a progress bar on stderr only on a terminal outside CI", async () => {
    const quiet = memoryIO();
    await testRun(["examples/deploy-bot.rules", "--seed", "1", "--runs", "10"], quiet);
    expect(quiet.err).toBe("");
    const tty = { ...memoryIO(), quiet: false };
    let err = "";
    const io = { ...tty, stderr: (t: string) => void (err += t) };
    await testRun(["examples/deploy-bot.rules", "--seed", "1", "--runs", "10"], io);
    expect(err).toContain("\r[");
    expect(err).toContain("0/1 examples/deploy-bot.rules");
  });

  it("the current directory by default; usage errors", async () => {
    const io = memoryIO({}, EXAMPLES);
    expect(await testRun(["--seed", "1", "--runs", "20"], io)).toBe(0);
    expect(io.out).toContain("deploy-bot.rules");
    await expect(testRun(["--frobnicate"], memoryIO())).rejects.toThrow(UsageError);
    await expect(testRun(["--runs", "0", "examples"], memoryIO())).rejects.toThrow(/--runs takes a whole number from 1 to 1,000,000, got "0"/);
    await expect(testRun(["nope.rules"], memoryIO())).rejects.toThrow(/no such file: nope.rules/);
    await expect(testRun(["test"], memoryIO())).rejects.toThrow(/no \.rules files in test/);
    const help = memoryIO();
    expect(await testRun(["--help"], help)).toBe(0);
    expect(help.out).toContain("--coverage");
  });

  it("--recursive finds the broken copy under examples/", async () => {
    const io = memoryIO();
    expect(await testRun(["examples", "--recursive", "--seed", "1", "--runs", "30"], io)).toBe(1);
    expect(io.out).toContain("examples/broken/deploy-bot.rules");
  });
});

describe("leash test: counterexamples that paste, searches that say how deep they went", () => {
  const LOOSE = "test/corpus/policies/loosened/support.rules";

  it("each counterexample's test block, pasted into the policy, fails at the step that breaks the claim; its JSONL replays", async () => {
    const io = memoryIO();
    expect(await testRun([LOOSE, "--seed", "1", "--json"], io)).toBe(1);
    const report = JSON.parse(io.out);
    const failed = report.files[0].properties.filter((p: { ok: boolean }) => !p.ok);
    expect(failed.map((p: { property: string }) => p.property)).toEqual(["no email within five minutes of a card view", "large refunds are approved"]);
    const source = readFileSync(join(ROOT, LOOSE), "utf8");
    for (const p of failed) {
      const c = p.counterexample;
      expect(c.phase).toBe("directed");
      const pasted = testPolicySource(`${source}\n${c.test}\n`, { seed: 1, runs: 1 }).tests.find((t) => t.name === `counterexample: ${p.property}`)!;
      expect(pasted.steps.filter((s) => !s.ok).map((s) => s.index)).toEqual([c.index + 1]);
      expect(await evalRun([join(ROOT, LOOSE), c.traceFile, "--check"], memoryIO(io.files))).toBe(0);
    }
  });

  it("a claim no request was about fails as vacuous", async () => {
    const src = 'rule a: allow x.read\nproperty "nothing" {\n  never allow x.read when context.risk > 1 and context.risk < 0\n}\n';
    const io = memoryIO({ [join(ROOT, "v.rules")]: src });
    expect(await testRun(["v.rules", "--seed", "1", "--runs", "20"], io)).toBe(1);
    expect(io.out).toMatch(/✗ property "nothing": .*\n {6}at v\.rules:3:3\n {6}vacuous: no generated request was one the claim is about, so the search proved nothing \(\d+ directed \+ 20 random traces\)/);
  });

  it("--strict fails a file with a rule that never decided", async () => {
    const src = 'rule reads: allow doc.read for agent *\nrule never: allow doc.write for human "nobody" when context.a > 1 and context.a < 0\nproperty "p" {\n  never allow doc.write for agent *\n}\n';
    const files = { [join(ROOT, "s.rules")]: src };
    const plain = memoryIO(files);
    expect(await testRun(["s.rules", "--seed", "1", "--runs", "20"], plain)).toBe(0);
    expect(plain.out).toContain("  searched: 1/2 rules decided, 0/1 clauses seen true and false\n    never decided: never\n");
    const strict = memoryIO(files);
    expect(await testRun(["s.rules", "--seed", "1", "--runs", "20", "--strict"], strict)).toBe(1);
    expect(strict.out).toContain("  --strict: 1 rule never decided: never\n");
  });

  it("--exhaustive proves a claim up to its bound; every number has a documented range", async () => {
    const io = memoryIO();
    expect(await testRun(["examples/deploy-bot.rules", "--seed", "1", "--runs", "10", "--exhaustive", "3"], io)).toBe(0);
    expect(io.out).toMatch(/\(\d+ directed \+ [\d,]+ exhaustive \+ 10 random traces, applied to \d+ requests\)\n {6}proved for every trace of up to 3 events over \d+ letters and 3 gaps/);
    for (const [opt, value, range] of [["--exhaustive", "7", "1 to 6"], ["--exhaustive", "1.5", "1 to 6"]]) {
      await expect(testRun(["examples", opt!, value!], memoryIO())).rejects.toThrow(`${opt} takes a whole number from ${range}, got "${value}"`);
    }
  });
});
