import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run as checkRun } from "../../src/cli/commands/check.js";
import { testPolicySource } from "../../src/testing/suite.js";
import { memoryIO, ROOT } from "./helpers.js";

/**
 * The corpus of realistic policies (test/corpus/policies/) that the mutation benchmark and the
 * directed-trace tests run on: each is clean under `leash check --deny-warnings`, its tests pass,
 * its properties hold, and its search makes every rule decide. `loosened/` holds copies changed on
 * purpose (the support policy loosened in three places), which `leash diff` must tell apart.
 */
const DIR = join(ROOT, "test", "corpus", "policies");
const files = readdirSync(DIR).filter((f) => f.endsWith(".rules")).sort();

describe("the policy corpus", () => {
  it("has at least twenty policies, with revoke signals, labels, limits per customer, workflows and challenges among them", () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    const all = files.map((f) => readFileSync(join(DIR, f), "utf8"));
    const count = (re: RegExp) => all.filter((s) => re.test(s)).length;
    expect(count(/revoke signal /)).toBeGreaterThanOrEqual(5);
    expect(count(/label session \+= /)).toBeGreaterThanOrEqual(4);
    expect(count(/limit \d+ per context\.customer|by context\.customer/)).toBeGreaterThanOrEqual(2);
    expect(count(/^workflow /m)).toBeGreaterThanOrEqual(3);
    expect(count(/: challenge /)).toBeGreaterThanOrEqual(10);
  });

  for (const f of files) {
    it(`${f}: leash check --deny-warnings passes, tests pass, properties hold, every rule decided`, async () => {
      const source = readFileSync(join(DIR, f), "utf8");
      const io = memoryIO();
      expect(await checkRun(["--deny-warnings", join(DIR, f)], io), io.err).toBe(0);
      const r = testPolicySource(source, { file: f, seed: 1, runs: 20, strict: true });
      expect(r.tests.filter((t) => !t.ok).map((t) => t.name)).toEqual([]);
      expect(r.properties.filter((p) => !p.ok).map((p) => `${p.property}: ${p.error ?? p.counterexample?.message}`)).toEqual([]);
      expect(r.undecided).toEqual([]);
      expect(r.ok).toBe(true);
    });
  }
});
