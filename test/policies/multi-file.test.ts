import { describe, expect, it } from "vitest";
import { compilePolicy, compileSources } from "../../src/compile/compile.js";
import { compileFiles, described, rendered } from "./helpers.js";

const SCHEMA = `schema {\n  context { ip: string }\n}\n\nactions {\n  login.attempt, payment.submit\n}\n`;

describe("a policy of several files", () => {
  it("merges declarations: schema attributes and actions from several files, rules from all", () => {
    const r = compileFiles({
      "shared/schema.rules": SCHEMA,
      "logins.rules": `import "shared/schema.rules"\n\nschema {\n  principal { team: string }\n  context { ip: string }\n}\n\nrule logins: allow login.attempt when principal.team == "web"\n`,
      "checkout.rules": `actions {\n  payment.submit, cart.add\n}\n\nrule pay: allow payment.submit, cart.add\n`,
    });
    expect(described(r)).toEqual([]);
    expect(r.policy!.ruleIds).toEqual(["logins", "pay"]);
    const d = r.policy!.decide(r.policy!.initialState(), { principal: { kind: "human", id: "a", team: "web" }, action: "login.attempt", context: { ip: "x" }, time: 0 });
    expect(d.decision.effect).toBe("allow");
    expect(d.decision.reasons[0]!.span?.file).toBe("policy/logins.rules");
  });

  it("a rule of one file may not target an action no file declares", () => {
    const r = compileFiles({ "a.rules": SCHEMA, "b.rules": "rule r: allow ticket.read\n" });
    expect(described(r)).toEqual(["C203 policy/b.rules:1:15 action `ticket.read` is not declared"]);
  });

  it("a duplicate rule name names both files (C275)", () => {
    const r = compileFiles({ "a.rules": "rule open: allow x.y\n", "b.rules": "rule open: allow x.z\n" });
    expect(described(r)).toEqual(["C275 policy/b.rules:1:6 rule name `open` is also defined in policy/a.rules", "  -> policy/a.rules:1:6 first defined in policy/a.rules"]);
  });

  it("a conflicting schema attribute names both files (C276); an agreeing one merges", () => {
    const r = compileFiles({
      "a.rules": "schema {\n  context { ip: string, risk: number }\n}\n",
      "b.rules": "schema {\n  context { ip: string, risk?: number }\n}\n\nrule r: deny x.y when context.risk > 1\n",
    });
    expect(described(r)).toEqual(["C276 policy/b.rules:2:25 `context.risk` is `optional number` here and `number` in policy/a.rules", "  -> policy/a.rules:2:25 declared `number` in policy/a.rules"]);
  });

  it("an action declared with other tags in another file is C277", () => {
    const r = compileFiles({ "a.rules": "actions {\n  support.refund [high]\n}\n", "b.rules": "actions {\n  support.refund\n}\n" });
    expect(described(r)).toEqual(["C277 policy/b.rules:2:3 action `support.refund` has no tags here and [high] in policy/a.rules", "  -> policy/a.rules:2:3 declared with [high] in policy/a.rules"]);
  });

  it("an import cycle is C272 at the import that closes it, with the other import of the cycle", () => {
    const r = compileFiles({ "a.rules": 'import "b.rules"\nrule a: allow x.y\n', "b.rules": 'import "./a.rules"\nrule b: allow x.z\n' }, ["a.rules"]);
    expect(described(r)).toEqual(["C272 policy/b.rules:1:8 import cycle: policy/a.rules -> policy/b.rules -> policy/a.rules", "  -> policy/a.rules:1:8 policy/a.rules imports policy/b.rules"]);
  });

  it("an import that escapes the policy's root is C271 naming the root, and nothing is read", () => {
    const read: string[] = [];
    const files: Record<string, string> = { "areas/a.rules": 'import "../../secret.rules"\nrule a: allow x.y\n' };
    const r = compileFilesTracking(files, read);
    expect(described(r)).toEqual(["C271 policy/areas/a.rules:1:8 `../../secret.rules` leaves the policy's root", "  -> policy/:1:1 the policy's root"]);
    expect(read).toEqual(["areas/a.rules"]);
  });

  it("a missing file is C270 at the import, naming the file it looked for", () => {
    const r = compileFiles({ "areas/a.rules": 'import "schema.rules"\nrule a: allow x.y\n', "schema.rules": SCHEMA }, ["areas/a.rules"]);
    expect(described(r)).toEqual(["C270 policy/areas/a.rules:1:8 policy/areas/schema.rules does not exist", "  -> policy/areas/schema.rules:1:1 the import names policy/areas/schema.rules"]);
    expect(rendered(r)).toContain("policy/areas/a.rules:1:8: error[C270]");
  });

  it("an import path that is absolute, a URL or not a .rules file is C274", () => {
    for (const [path, why] of [
      ["/etc/x.rules", "absolute"],
      ["https://example.com/x.rules", "URL"],
      ["x.txt", ".rules"],
      ["a\\\\b.rules", "backslash"],
    ] as const) {
      const r = compileFiles({ "a.rules": `import "${path}"\nrule a: allow x.y\n` });
      expect(r.diagnostics.map((d) => d.code)).toEqual(["C274"]);
      expect(r.diagnostics[0]!.message).toContain(why);
    }
  });

  it("a file imported twice (and also listed) is read and merged once", () => {
    const r = compileFiles({ "a.rules": 'import "s.rules"\nrule a: allow login.attempt\n', "b.rules": 'import "s.rules"\nrule b: allow payment.submit\n', "s.rules": SCHEMA });
    expect(described(r)).toEqual([]);
    expect(r.sources.size).toBe(3);
  });

  it("an import in a policy given as one text is C285", () => {
    const r = compilePolicy('import "schema.rules"\nrule a: allow x.y\n', { file: "one.rules" });
    expect(r.diagnostics.map((d) => `${d.code} ${d.span.file}:${d.span.line}`)).toEqual(["C285 one.rules:1"]);
  });

  it("the policy hash covers every file: changing any file changes it", () => {
    const base = { "a.rules": 'import "s.rules"\nrule a: allow login.attempt\n', "s.rules": SCHEMA };
    const h1 = compileFiles(base).policy!.hash;
    const h2 = compileFiles({ ...base, "s.rules": SCHEMA.replace("payment.submit", "payment.refund") }).policy!.hash;
    expect(h1).not.toBe(h2);
    expect(compileFiles(base).policy!.hash).toBe(h1);
  });
});

function compileFilesTracking(files: Record<string, string>, read: string[]) {
  return compileFilesWith(files, (p) => {
    read.push(p);
    return files[p];
  });
}

function compileFilesWith(files: Record<string, string>, read: (p: string) => string | undefined) {
  return compileSources({ files: Object.keys(files), read, root: "policy" });
}
