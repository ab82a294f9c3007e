import { describe, expect, it } from "vitest";
import { testPolicySource, type SuiteProgress } from "../../src/testing/index.js";

const SOURCE = `rule readers: allow doc.read for agent *
rule no-deletes: deny doc.delete

test "agents read" {
  agent "a" doc.read => allow
}
test "nobody deletes" {
  agent "a" doc.delete => deny
}
property "deletes are denied" {
  never allow doc.delete
}
`;

describe("testPolicySource reports its progress", () => {
  it("before each test block and each claim, then once at the end", () => {
    const seen: SuiteProgress[] = [];
    const report = testPolicySource(SOURCE, { runs: 20, seed: 1, onProgress: (p) => seen.push(p) });
    expect(report.ok).toBe(true);
    expect(seen).toEqual([
      { done: 0, total: 3, running: 'test "agents read"' },
      { done: 1, total: 3, running: 'test "nobody deletes"' },
      { done: 2, total: 3, running: 'property "deletes are denied": never allow doc.delete' },
      { done: 3, total: 3, running: "" },
    ]);
  });

  it("gives the same results with and without it", () => {
    const a = testPolicySource(SOURCE, { runs: 20, seed: 7 });
    const b = testPolicySource(SOURCE, { runs: 20, seed: 7, onProgress: () => undefined });
    expect({ ...b, ms: 0 }).toEqual({ ...a, ms: 0 });
  });
});
