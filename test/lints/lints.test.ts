import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPolicy } from "../../src/check/check.js";
import { globCovers, lintPolicy, patternCovers } from "../../src/check/lints.js";
import { compilePolicy } from "../../src/compile/compile.js";

function lint(source: string) {
  const compiled = compilePolicy(source, { file: "p.rules" });
  expect(compiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return lintPolicy(compiled.ast, checkPolicy(compiled.ast).schema);
}
const codes = (source: string) => lint(source).map((d) => `${d.code} ${d.span.line}:${d.span.column}`);

describe("coverage helpers", () => {
  it("action patterns", () => {
    expect(patternCovers(["*"], ["a", "*"])).toBe(true);
    expect(patternCovers(["a", "*"], ["a", "b"])).toBe(true);
    expect(patternCovers(["a", "*"], ["a", "b", "*"])).toBe(true);
    expect(patternCovers(["a", "*"], ["a", "*"])).toBe(true);
    expect(patternCovers(["a", "b"], ["a", "*"])).toBe(false);
    expect(patternCovers(["a", "*", "c"], ["a", "*"])).toBe(false);
    expect(patternCovers(["b", "*"], ["a", "b"])).toBe(false);
  });
  it("globs", () => {
    expect(globCovers("*", "repo/x")).toBe(true);
    expect(globCovers("repo/*", "repo/app")).toBe(true);
    expect(globCovers("repo/*", "repo/app/*")).toBe(true);
    expect(globCovers("repo/app/*", "repo/*")).toBe(false);
    expect(globCovers("ci-*", "ci-bot")).toBe(true);
    expect(globCovers("*-bot", "ci-*")).toBe(false);
  });
});

describe("W401 shadowed rules", () => {
  it("an unconditional deny over the same or broader selectors shadows an allow", () => {
    expect(codes(`rule d: deny secret.* for service *\nrule a: allow secret.read for service "billing" on secret/billing/*`)).toEqual(["W401 2:6"]);
  });
  it("names both rules and points at the one that wins", () => {
    const [d] = lint(`rule d: deny * \nrule a: allow x.y for agent *`);
    expect(d!.message).toContain("`a`");
    expect(d!.message).toContain("`d`");
    expect(d!.related?.[0]?.span.line).toBe(1);
  });
  it("not when the deny has a condition, narrower selectors or other actions", () => {
    expect(codes(`rule d: deny x.y when context.risk > 0.5\nrule a: allow x.y`)).toEqual([]);
    expect(codes(`rule d: deny x.y for agent "a"\nrule a: allow x.y for agent *`)).toEqual([]);
    expect(codes(`rule d: deny x.y on repo/a/*\nrule a: allow x.y on repo/*`)).toEqual([]);
    expect(codes(`rule d: deny x.y\nrule a: allow x.y, x.z`)).toEqual([]);
  });
  it("not an allow under an unconditional challenge: the challenge needs the allow", () => {
    expect(codes(`rule c: challenge x.y\nrule a: allow x.y`)).toEqual([]);
  });
  it("a challenge under an unconditional revoke", () => {
    expect(codes(`rule r: revoke *\nrule c: challenge x.y when context.risk > 0.5`)).toEqual(["W401 2:6"]);
  });
});

describe("W403 constant conditions", () => {
  it("contradictions across clauses, through unless and not", () => {
    expect(codes(`rule r: deny x.y when context.a == 1 unless context.a == 1`)).toEqual(["W403 1:45"]);
    expect(codes(`rule r: deny x.y when context.a > 5 and not context.a > 3`)).toEqual(["W403 1:45"]);
    expect(codes(`rule r: deny x.y when context.a > 5 and context.a < 5.2`)).toEqual([]);
    expect(codes(`rule r: deny x.y when context.a == 1 or context.a == 2`)).toEqual([]);
  });
  it("an enumeration excluded entirely", () => {
    const src = `schema { context { tier: "a" | "b" } }\nrule r: deny x.y when context.tier != "a" and context.tier != "b"`;
    expect(codes(src)).toEqual(["W403 2:47"]);
  });
  it("a selector kind the schema's principal.kind excludes", () => {
    expect(codes(`schema { principal { kind: "human" | "service" } }\nrule r: allow x.y for agent *`)).toEqual(["W403 2:23"]);
  });
  it("a bool literal compared with an attribute is not itself a constant condition", () => {
    expect(codes(`rule r: deny x.y when context.mfa == true`)).toEqual([]);
  });
  it("`has` on a required attribute is always true; on an optional one it is not", () => {
    expect(codes(`schema { context { risk: number } }\nrule r: deny x.y when context has risk and context.risk > 1`)).toEqual(["W403 2:23"]);
    expect(codes(`schema { context { risk?: number } }\nrule r: deny x.y when context has risk and context.risk > 1`)).toEqual([]);
  });
});

describe("W406 and W408 details", () => {
  it("a signal marked `signal` needs no declaration", () => {
    expect(codes(`actions { x.y }\nsignals { ok.given }\nrule r: allow x.y when after(signal ok.given by session within 1h)`)).toEqual([]);
  });
  it("a longer window on the same key keeps the state long enough", () => {
    expect(codes(`rule r: allow x.y valid for 2d\nrule s: deny x.z when count(x.y by session within 3d) >= 5`)).toEqual([]);
  });
  it("keyTtlMs is an option", () => {
    const c = compilePolicy(`rule r: allow x.y valid for 2d`);
    expect(lintPolicy(c.ast, undefined, { keyTtlMs: 3 * 24 * 3600 * 1000 })).toEqual([]);
  });
});

describe("the example scenarios", () => {
  const dir = join(__dirname, "..", "..", "examples");
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".rules"))) {
    it(`${f} has no shadowed, constant, duplicate or never-deciding rule`, () => {
      const found = lint(readFileSync(join(dir, f), "utf8")).map((d) => d.code);
      expect(found.filter((c) => !["W404", "W405", "W409"].includes(c))).toEqual([]);
    });
  }
});
