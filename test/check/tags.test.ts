import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/compile/compile.js";
import { formatSource } from "../../src/format/index.js";

describe("attribute tags", () => {
  it("[secret] compiles; the IR lists the secret attribute paths in schema order", () => {
    const r = compilePolicy(`schema {
  principal { kind: string, id: string, email: string [secret] }
  context { ip: string, card?: string [secret] }
}
rule r: allow x.y`);
    expect(r.diagnostics).toEqual([]);
    expect(r.policy!.ir.secrets).toEqual(["principal.email", "context.card"]);
  });

  it("a policy without secret attributes has none", () => {
    expect(compilePolicy("rule r: allow x.y").policy!.ir.secrets).toEqual([]);
  });

  it("an unknown attribute tag is C211 at the tag, with a did-you-mean", () => {
    const source = "schema { context { token: string [secrte] } }\nrule r: allow x.y";
    const r = compilePolicy(source, { file: "t.rules" });
    const d = r.diagnostics.find((x) => x.code === "C211")!;
    expect(d.message).toBe("unknown attribute tag `secrte`");
    expect(d.span).toMatchObject({ file: "t.rules", line: 1, column: 35 });
    expect(source.slice(d.span.offset, d.span.endOffset)).toBe("secrte");
    expect(d.help).toContain("secret");
    expect(r.policy).toBeNull();
  });

  it("[high] is an action tag, not an attribute tag", () => {
    const r = compilePolicy("schema { context { a: string [high] } }\nrule r: allow x.y");
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["C211", "unknown attribute tag `high`"]]);
  });

  it("the formatter prints the tags after the type and reads them back", () => {
    const out = formatSource("schema{context{ip:string,card?:string[ secret ]}}\n");
    expect(out.output).toBe("schema {\n  context { ip: string, card?: string [secret] }\n}\n");
    expect(formatSource(out.output!).output).toBe(out.output);
  });
});
