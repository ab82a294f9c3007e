import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { compilePolicy } from "../../src/compile/compile.js";
import { formatSource } from "../../src/format/index.js";
import { libraryModule, LIBRARY_MODULE_NAMES } from "../../src/library/index.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { memoryIO } from "../testing/helpers.js";
import { compileFiles, described } from "../policies/helpers.js";
import { observe } from "../../src/runtime/operations.js";

const root = join(__dirname, "..", "..");

describe("the library of interaction-layer modules", () => {
  it("has the modules the guide lists", () => {
    expect(LIBRARY_MODULE_NAMES).toEqual(["leash/login", "leash/signup", "leash/checkout", "leash/token", "leash/api"]);
  });

  for (const name of LIBRARY_MODULE_NAMES) {
    const source = libraryModule(name)!;
    const short = name.slice("leash/".length);
    it(`${name} is formatted, and compiles with its defaults`, () => {
      expect(formatSource(source, `${name}.rules`).output).toBe(source);
      const r = compilePolicy(`use ${name}\n\nrule open: allow *\n`, { file: "p.rules" });
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    });
    it(`${name}: its guide page documents every parameter with its default`, () => {
      const page = readFileSync(join(root, "docs", "guides", `library-${short}.md`), "utf8");
      const params = (parsePolicy(source).ast.header ?? []).flatMap((h) => (h.kind === "ParamDecl" ? [h] : []));
      expect(params.length).toBeGreaterThan(0);
      for (const p of params) {
        const text = source.slice(p.default.span.offset, p.default.span.endOffset);
        expect(page, `${p.name.value} = ${text}`).toContain(`| \`${p.name.value}\` | \`${text}\` |`);
      }
    });
  }

  it("leash test test/library: each module's tests pass and its properties hold", async () => {
    const io = memoryIO();
    const code = await main(["test", "test/library", "--runs", "100"], io);
    expect(io.out).toMatch(/ok: 5 files; tests \d+ passed; properties \d+ held/);
    for (const f of ["login", "signup", "checkout", "token", "api"]) expect(io.out).toContain(`test/library/${f}.rules`);
    expect(io.out).not.toContain("✗");
    expect(code).toBe(0);
  }, 120_000);

  it("parameters are set where the module is used; the rest keep their defaults", () => {
    const decide = (params: string) => {
      const r = compilePolicy(`use leash/login${params}\n\nrule open: allow login.attempt\n`);
      const p = r.policy!;
      let s = p.initialState();
      for (let t = 0; t < 2; t++) s = observe(p, s, { signal: "login.fail", principal: { kind: "human", id: `u${t}` }, context: { ip: "1.2.3.4" }, time: t }).state;
      return p.decide(s, { principal: { kind: "human", id: "v" }, action: "login.attempt", context: { ip: "1.2.3.4" }, time: 10 }).decision;
    };
    expect(decide("").effect).toBe("allow");
    expect(decide(" { failures-per-ip: 2 }")).toMatchObject({ effect: "challenge", rules: ["login-stuffing-by-ip"] });
  });

  it("a module used by two files with the same parameters joins once; with others it is C278 naming both", () => {
    const same = compileFiles({ "a.rules": "use leash/login { window: 2m }\n\nrule a: allow login.attempt\n", "b.rules": "use leash/login { window: 2m }\n" });
    expect(described(same)).toEqual([]);
    expect(same.policy!.ruleIds.filter((r) => r === "login-stuffing-by-ip")).toHaveLength(1);
    const other = compileFiles({ "a.rules": "use leash/login { window: 2m }\n\nrule a: allow login.attempt\n", "b.rules": "use leash/login { window: 5m }\n" });
    expect(described(other)).toEqual(["C278 policy/b.rules:1:1 `leash/login` is used with other parameters in policy/a.rules", "  -> policy/a.rules:1:1 used with window: 2m here"]);
  });

  it("a diagnostic in a rule a module brings names the module's file; a reason span too", () => {
    const r = compilePolicy("use leash/checkout\n\nrule open: allow payment.submit\n", { file: "shop.rules" });
    const p = r.policy!;
    let s = p.initialState();
    for (let t = 0; t < 3; t++) s = observe(p, s, { signal: "payment.declined", session: "s", context: { ip: "x" }, time: t }).state;
    const d = p.decide(s, { principal: { kind: "human", id: "h" }, action: "payment.submit", session: "s", context: { ip: "x" }, time: 5 }).decision;
    expect(d.effect).toBe("deny");
    expect(d.reasons.find((x) => x.rule === "checkout-card-testing")?.span?.file).toBe("leash/checkout.rules");
  });
});
