import { describe, expect, it } from "vitest";
import { checkPolicy } from "../../src/check/check.js";
import { lintPolicy } from "../../src/check/lints.js";
import { compilePolicy } from "../../src/compile/compile.js";

function lint(source: string) {
  const compiled = compilePolicy(source, { file: "p.rules" });
  expect(compiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return lintPolicy(compiled.ast, checkPolicy(compiled.ast).schema);
}
const codes = (source: string) => lint(source).map((d) => `${d.code} ${d.span.line}:${d.span.column}`);

/** Two unused actions (W404 at 2:3 and 3:3) and a rule that uses neither. */
const UNUSED = (before2 = "", after2 = "", before3 = "") => `actions {\n${before2}  a.one${after2}\n${before3}  a.two\n  x.y\n}\nrule r: allow x.y for agent *\n`;

describe("allow comments", () => {
  it("the warnings are reported without one", () => {
    expect(codes(UNUSED())).toEqual(["W404 2:3", "W404 3:3"]);
  });

  it("a comment after code covers its own line only", () => {
    expect(codes(UNUSED("", " // leash: allow W404 -- kept for the next release"))).toEqual(["W404 3:3"]);
  });

  it("a comment on its own line covers the next line with code", () => {
    expect(codes(UNUSED("  // leash: allow W404 -- kept for the next release\n  // (more words about it)\n"))).toEqual(["W404 5:3"]);
  });

  it("a comment before an item covers the whole item", () => {
    expect(codes(`// leash: allow W404 -- both are kept for the next release\n${UNUSED()}`)).toEqual([]);
  });

  it("covers only the codes it names, and lists several", () => {
    const source = `schema { context { note: string } }\n// leash: allow W405 -- read by the next release\n${UNUSED()}`;
    expect(codes(source)).toEqual(["W405 1:20", "W490 2:1", "W404 4:3", "W404 5:3"]);
    expect(codes(`schema { context { note: string } } // leash: allow W405 -- read by the next release\n// leash: allow W404, W405 -- kept\n${UNUSED()}`)).toEqual(["W490 2:1"]);
    expect(lint(`schema { context { note: string } } // leash: allow W405 -- read by the next release\n// leash: allow W404, W405 -- kept\n${UNUSED()}`)[0]!.message).toBe(
      "this allow comment allows no W405 warning: none is reported in the item on line 3",
    );
  });

  it("one that covers no warning is W490, so a stale one fails --deny-warnings", () => {
    const [d, ...rest] = lint("// leash: allow W404 -- the action is kept\nrule readers: allow doc.read for agent *\n");
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: "W490", severity: "warning", span: { line: 1, column: 1 } });
    expect(d!.message).toBe("this allow comment allows no W404 warning: none is reported in the item on line 2");
    expect(codes("rule readers: allow doc.read for agent *\n// leash: allow W404 -- nothing follows\n")).toEqual(["W490 2:1"]);
  });

  it("malformed ones are W490 with what to write, and cover nothing", () => {
    const problems = (comment: string) => lint(`${comment}\n${UNUSED()}`).filter((d) => d.code === "W490").map((d) => d.message);
    expect(problems("// leash: allow W404")).toEqual(["an allow comment says why the warning stays: `// leash: allow W404 -- REASON`"]);
    expect(problems("// leash: allow W404 --   ")).toEqual(["an allow comment says why the warning stays: `// leash: allow W404 -- REASON`"]);
    expect(problems("// leash: allow C201 -- x")).toEqual(["cannot allow C201: only warnings (W4xx) can be allowed; C201 is an error"]);
    expect(problems("// leash: allow W999 -- x")).toEqual(["cannot allow W999: `W999` is not a warning code"]);
    expect(problems("// leash: allow W490 -- x")).toEqual(["cannot allow W490: a problem with an allow comment cannot itself be allowed"]);
    expect(problems("// leash: alow W404 -- x")).toEqual(["unknown comment directive `leash: alow`; did you mean `allow`?"]);
    expect(problems("// leash: allow -- x")).toEqual(["an allow comment names the warnings it allows"]);
    expect(codes(`// leash: allow W404\n${UNUSED()}`)).toEqual(["W490 1:1", "W404 3:3", "W404 4:3"]);
  });

  it("only line comments starting with `leash:` are allow comments", () => {
    expect(codes(`/* leash: allow W404 -- x */\n// note: leash: allow W404 -- x\n${UNUSED()}`)).toEqual(["W404 4:3", "W404 5:3"]);
  });

  it("errors are never dropped: allow comments filter lint warnings only", () => {
    const r = compilePolicy("// leash: allow W404 -- x\nrule r: deny x.y when context.nope > 1\nschema { context { a: number } }\n", { file: "p.rules" });
    expect(r.diagnostics.map((d) => d.code)).toContain("C201");
  });
});
