import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy, compileSources } from "../../src/compile/compile.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { arbScopePolicy, arbSequencePolicy, arbTrace, DEFAULT_VOCABULARY } from "../../src/testing/arbitraries-policy.js";
import { DEPTH, runEngine, TIMEOUT } from "./harness.js";

/**
 * A policy of several files decides as the same rules in one file: on random policies split at
 * random into files (each item to a random file, in random directories, some files importing
 * others), decide(policy from the files) = decide(the files concatenated into one text) on random
 * traces — every step's effect, deciding rules and flags, and the final state's keys.
 */

const V = DEFAULT_VOCABULARY;

/** The policy's items as texts (each its source span). */
function itemTexts(source: string): string[] {
  const { ast } = parsePolicy(source);
  return ast.items.map((i) => source.slice(i.span.offset, i.span.endOffset));
}

const arbSplit = (policy: fc.Arbitrary<string>) =>
  policy.chain((source) => {
    const items = itemTexts(source);
    return fc.record({
      items: fc.constant(items),
      files: fc.integer({ min: 1, max: 4 }),
      // Each item's file, each file's directory, and whether file i imports file i-1.
      place: fc.array(fc.nat(3), { minLength: items.length, maxLength: items.length }),
      dirs: fc.array(fc.constantFrom("", "shared/", "areas/a/"), { minLength: 4, maxLength: 4 }),
      imports: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    });
  });

function split(s: { items: string[]; files: number; place: number[]; dirs: string[]; imports: boolean[] }): { files: Map<string, string>; listed: string[]; concatenated: string } {
  const n = s.files;
  const paths = Array.from({ length: n }, (_, i) => `${s.dirs[i]}part${i}.rules`);
  const bodies: string[][] = paths.map(() => []);
  s.items.forEach((text, i) => bodies[s.place[i]! % n]!.push(text));
  const files = new Map<string, string>();
  const listed: string[] = [];
  paths.forEach((path, i) => {
    // File i may import file i-1 instead of being listed: the policy is then reached through imports.
    const importsPrev = i > 0 && s.imports[i]!;
    const prev = paths[i - 1];
    const header = importsPrev ? `import "${relativePath(path, prev!)}"\n\n` : "";
    files.set(path, header + bodies[i]!.join("\n\n") + "\n");
    if (i === n - 1 || !s.imports[i + 1]) listed.push(path);
  });
  return { files, listed, concatenated: paths.map((_, i) => bodies[i]!.join("\n\n")).join("\n\n") + "\n" };
}

/** The path of `to` relative to the directory of `from` (both root-relative). */
function relativePath(from: string, to: string): string {
  const up = from.split("/").length - 1;
  return `${"../".repeat(up)}${to}`;
}

function check(policy: fc.Arbitrary<string>, runs: number) {
  fc.assert(
    fc.property(arbSplit(policy), fc.array(arbTrace(V, { minLength: 1, maxLength: 10 }), { minLength: 3, maxLength: 3 }), (s, traces) => {
      const { files, listed, concatenated } = split(s);
      const many = compileSources({ files: listed, read: (p) => files.get(p) });
      const one = compilePolicy(concatenated);
      expect(many.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.span.file}:${d.span.line} ${d.message}`)).toEqual([]);
      expect(one.policy).not.toBeNull();
      expect([...many.policy!.ruleIds].sort()).toEqual([...one.policy!.ruleIds].sort());
      for (const trace of traces) {
        const a = runEngine(many.policy!, trace);
        const b = runEngine(one.policy!, trace);
        expect(a.outcomes).toEqual(b.outcomes);
        expect(Object.keys(a.state).sort()).toEqual(Object.keys(b.state).sort());
      }
    }),
    { numRuns: runs * DEPTH },
  );
}

describe("decide(policy from several files) = decide(the same rules in one file)", () => {
  it("on random splits of random scope policies (200 policies x 3 traces)", () => check(arbScopePolicy(V), 200), TIMEOUT);
  it("on random splits of random sequence policies (200 policies x 3 traces)", () => check(arbSequencePolicy(V), 200), TIMEOUT);
});
