import { describe, expect, it } from "vitest";
import type { CodeAction, CompletionItem, TextEdit } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { checkSource } from "../../src/check/source.js";
import { DocumentAnalyser, type Analysis } from "../../src/lsp/analysis.js";
import { codeActions } from "../../src/lsp/code-actions.js";
import { complete } from "../../src/lsp/completion.js";
import { KEYWORD_DOCS, OPERATOR_DOCS } from "../../src/lsp/docs.js";
import { hover } from "../../src/lsp/hover.js";
import { definition, highlights, prepareRename, references, rename, RenameError } from "../../src/lsp/navigation.js";
import { documentSymbols } from "../../src/lsp/outline.js";
import { KEYWORDS, parsePolicy } from "../../src/syntax/index.js";
import { applyEdits } from "./harness.js";

/**
 * The features behind the protocol, called in-process on documents: the contexts completion
 * recognises, every quick fix, hover texts, symbols of every kind. The stdio tests
 * (protocol.test.ts) show the same functions answering over the wire.
 */

function open(text: string): { doc: TextDocument; a: Analysis } {
  const doc = TextDocument.create("file:///p.rules", "leash", 1, text);
  return { doc, a: new DocumentAnalyser("p.rules").analyse(text, 1) };
}

/** `text` with the cursor where `‸` is. */
function at(marked: string): { doc: TextDocument; a: Analysis; offset: number; text: string } {
  const offset = marked.indexOf("‸");
  const text = marked.slice(0, offset) + marked.slice(offset + 1);
  return { ...open(text), offset, text };
}

const SCHEMA = `schema {
  principal { kind: "human" | "agent", team: string }
  context { risk: number, ip: string, tier: "gold" | "basic" }
}
actions {
  secret.read, email.send, login.attempt, ticket.read
  secret.rotate [high]
}
workflow support by session: ticket.read -> email.send
rule readers: allow secret.read, email.send for agent * label session += tainted
`;

function labels(marked: string, snippets = false): string[] {
  const { doc, a, offset } = at(marked);
  return complete(doc, a, offset, { snippets }).map((i: CompletionItem) => i.label);
}

describe("completion", () => {
  const cases: [string, string, readonly string[], readonly string[]][] = [
    ["item keywords in an empty file", "‸", ["rule", "workflow", "schema", "actions", "signals", "test", "property"], ["when"]],
    ["effects after rule NAME:", `${SCHEMA}rule r: ‸`, ["allow", "challenge", "deny", "revoke", "flag"], ["when"]],
    ["events after an effect", `${SCHEMA}rule r: deny ‸`, ["secret.read", "email.send", "secret.rotate", "signal", "*"], ["when"]],
    ["a dotted name being typed", `${SCHEMA}rule r: deny secret.r‸`, ["secret.read", "secret.rotate"], ["when"]],
    ["clauses after the targets", `${SCHEMA}rule r: deny email.send ‸`, ["when", "unless", "for", "on", "reason", "require", "target"], ["allow"]],
    ["principal kinds after for", `${SCHEMA}rule r: deny email.send for ‸`, ["human", "agent", "*"], ["service", "when"]],
    ["condition starters after when", `${SCHEMA}rule r: deny email.send when ‸`, ["context", "principal", "after", "count", "session has", "not"], ["allow"]],
    ["attributes after context.", `${SCHEMA}rule r: deny email.send when context.‸`, ["risk", "ip", "tier"], ["team", "kind"]],
    ["attributes after principal.", `${SCHEMA}rule r: deny email.send when principal.t‸`, ["team", "kind", "id"], ["risk"]],
    ["built-ins after action.", `${SCHEMA}rule r: deny email.send when action.‸`, ["name", "domain"], ["risk"]],
    ["enumeration values after ==", `${SCHEMA}rule r: deny email.send when context.tier == ‸`, ['"gold"', '"basic"'], ["risk"]],
    ["filters and events inside count(", `${SCHEMA}rule r: deny email.send when count(‸`, ["allowed", "attempted", "denied", "signal", "secret.read"], ["risk"]],
    ["actions after attempted", `${SCHEMA}rule r: deny email.send when count(attempted ‸`, ["secret.read"], ["signal"]],
    ["keys after by", `${SCHEMA}rule r: deny email.send when count(secret.read by ‸`, ["session", "principal", "context.ip"], ["secret.read"]],
    ["what follows the events", `${SCHEMA}rule r: deny email.send when count(secret.read ‸`, ["by"], ["within"]],
    ["what follows the key", `${SCHEMA}rule r: deny email.send when after(secret.read by session ‸`, ["within", "until"], ["by"]],
    ["durations after within", `${SCHEMA}rule r: deny email.send when after(secret.read by session within ‸`, ["10m", "1h", "300ms"], ["session"]],
    ["durations after a gap comparison", `${SCHEMA}rule r: flag login.attempt when gap(login.attempt by context.ip) < ‸`, ["300ms", "1s"], ["when"]],
    ["workflows in deviates(", `${SCHEMA}rule r: flag email.send when deviates(‸`, ["support"], ["readers"]],
    ["labels after session has", `${SCHEMA}rule r: deny email.send when session has ‸`, ["tainted"], ["risk"]],
    ["attributes after context has", `${SCHEMA}rule r: deny email.send when context has ‸`, ["risk", "ip"], ["tainted"]],
    ["durations after valid for", `${SCHEMA}rule r: allow ticket.read valid for ‸`, ["15m", "1h"], ["human"]],
    ["keys after limit N per", `${SCHEMA}rule r: allow ticket.read limit 1 per ‸`, ["session", "principal"], ["10m"]],
    ["obligations after require", `${SCHEMA}rule r: challenge secret.rotate require ‸`, ["mfa", "human-approval"], ["session"]],
    ["signals after satisfied by", `${SCHEMA}rule a: revoke signal session.revoked\nrule r: challenge secret.rotate require mfa satisfied by ‸`, ["session.revoked"], ["mfa"]],
    ["declared signals only, with a signals block", `${SCHEMA}signals { approval.granted }\nrule a: revoke signal session.revokd\nrule r: challenge secret.rotate require mfa satisfied by ‸`, ["approval.granted"], ["session.revokd"]],
    ["labels after +=", `${SCHEMA}rule r: flag secret.read label session += ‸`, ["tainted"], ["risk"]],
    ["keys after target", `${SCHEMA}rule r: revoke * when context.risk > 0.9 target ‸`, ["session", "principal", "context.ip"], ["when"]],
    ["actions in a workflow step", `${SCHEMA}workflow w by session: ticket.read -> ‸`, ["email.send", "secret.read"], ["when"]],
    ["keys after workflow NAME by", `${SCHEMA}workflow w by ‸`, ["session", "principal"], ["email.send"]],
    ["schema entities", "schema {\n  ‸", ["principal", "resource", "context"], ["string"]],
    ["schema types", "schema {\n  context { risk: ‸", ["string", "number", "bool", "duration", "set"], ["principal"]],
    ["the high tag", "actions {\n  a.b [‸", ["high"], ["a.b"]],
    ["test steps", `${SCHEMA}test "t" {\n  ‸`, ["at", "signal", "human", "agent"], ["when"]],
    ["actions in a test request", `${SCHEMA}test "t" {\n  agent "a" ‸`, ["secret.read"], ["agent"]],
    ["effects after =>", `${SCHEMA}test "t" {\n  agent "a" secret.read => ‸`, ["allow", "deny"], ["secret.read"]],
    ["rules and workflows after => deny by", `${SCHEMA}test "t" {\n  agent "a" secret.read => deny by ‸`, ["readers", "support"], ["deny"]],
    ["attributes in a test context", `${SCHEMA}test "t" {\n  agent "a" secret.read context { ‸`, ["risk", "ip"], ["team"]],
    ["claims in a property", `${SCHEMA}property "p" {\n  ‸`, ["never", "always"], ["rule"]],
    ["effects after never", `${SCHEMA}property "p" {\n  never ‸`, ["allow", "deny"], ["never"]],
    ["items and clauses at a new line after a rule", `${SCHEMA}rule r: deny email.send\n‸`, ["rule", "when", "reason"], ["allow"]],
  ];
  for (const [what, marked, present, absent] of cases) {
    it(what, () => {
      const got = labels(marked);
      expect(got).toEqual(expect.arrayContaining([...present]));
      for (const a of absent) expect(got).not.toContain(a);
    });
  }

  it("offers nothing in a comment, a string or a name being declared", () => {
    expect(labels(`${SCHEMA}// rule r: deny ‸`)).toEqual([]);
    expect(labels(`${SCHEMA}/* rule r: deny ‸`)).toEqual([]);
    expect(labels(`${SCHEMA}rule r: deny x.y reason "no ‸`)).toEqual([]);
    expect(labels(`${SCHEMA}rule ‸`)).toEqual([]);
  });

  it("works in a file that does not parse, with the names of the items that do", () => {
    const got = labels(`${SCHEMA}rule r: alow x.y when (\nrule s: deny ‸\nrule t: deny when when`);
    expect(got).toContain("secret.read");
  });

  it("replaces the whole dotted name, or only the attribute after the root", () => {
    const { doc, a, offset } = at(`${SCHEMA}rule r: deny secret.r‸ when context.risk > 1`);
    const item = complete(doc, a, offset, { snippets: false }).find((i) => i.label === "secret.read")!;
    const edit = item.textEdit as TextEdit;
    expect(doc.offsetAt(edit.range.start)).toBe(offset - "secret.r".length);
    expect(doc.offsetAt(edit.range.end)).toBe(offset);
    const attr = at(`${SCHEMA}rule r: deny x.y when context.ri‸`);
    const risk = complete(attr.doc, attr.a, attr.offset, { snippets: false }).find((i) => i.label === "risk")!;
    expect(attr.doc.offsetAt((risk.textEdit as TextEdit).range.start)).toBe(attr.offset - 2);
  });

  it("gives snippets only to clients that take them", () => {
    const withSnippets = at(`${SCHEMA}rule r: deny x.y when ‸`);
    const after = complete(withSnippets.doc, withSnippets.a, withSnippets.offset, { snippets: true }).find((i) => i.label === "after")!;
    expect(after.insertTextFormat).toBe(2);
    expect((after.textEdit as TextEdit).newText).toBe("after(${1:event} by ${2:session} within ${3:10m})");
    const plain = complete(withSnippets.doc, withSnippets.a, withSnippets.offset, { snippets: false }).find((i) => i.label === "after")!;
    expect(plain.insertTextFormat).toBeUndefined();
    expect((plain.textEdit as TextEdit).newText).toBe("after");
  });
});

/** The document after the quick fix titled `title` for the diagnostic with `code`. */
function fixed(text: string, code: string, title: RegExp): string {
  const { doc, a } = open(text);
  const d = a.diagnostics.find((x) => x.code === code);
  if (d === undefined) throw new Error(`no ${code} in ${JSON.stringify(a.diagnostics.map((x) => x.code))}`);
  const actions = codeActions(doc, a, d.span);
  const action = actions.find((x: CodeAction) => title.test(x.title));
  if (action === undefined) throw new Error(`no fix ${title} among ${JSON.stringify(actions.map((x) => x.title))}`);
  return applyEdits(text, action.edit!.changes![doc.uri]!);
}

const codes = (text: string) => checkSource(text, "p.rules").map((d) => d.code);

describe("quick fixes", () => {
  const didYouMean: [string, string, string, string][] = [
    ["C203", "an undeclared action", `${SCHEMA}rule r: deny emial.send`, `${SCHEMA}rule r: deny email.send`],
    ["C201", "an unknown attribute", `${SCHEMA}rule r: deny email.send when context.rsk > 1`, `${SCHEMA}rule r: deny email.send when context.risk > 1`],
    ["C205", "an unknown workflow", `${SCHEMA}rule r: deny email.send when deviates(suport)`, `${SCHEMA}rule r: deny email.send when deviates(support)`],
    ["C212", "an unknown label", `${SCHEMA}rule r: deny email.send when session has tainte`, `${SCHEMA}rule r: deny email.send when session has tainted`],
    ["C202", "an enumeration value", `${SCHEMA}rule r: deny email.send when context.tier == "golf"`, `${SCHEMA}rule r: deny email.send when context.tier == "gold"`],
    ["C211", "an unknown tag", "actions {\n  a.b [hgh]\n}\nrule r: allow a.b\n", "actions {\n  a.b [high]\n}\nrule r: allow a.b\n"],
    ["P105", "a misspelt effect (a text edit: the rule has no AST)", `${SCHEMA}rule r: alow email.send`, `${SCHEMA}rule r: allow email.send`],
  ];
  for (const [code, what, before, after] of didYouMean) {
    it(`fixes the did-you-mean of ${code}, ${what}`, () => {
      const out = fixed(before, code, /^Change to `/);
      expect(out).toBe(after);
      expect(codes(out)).not.toContain(code);
    });
  }

  it("keeps the layout and comments of everything the fix does not touch", () => {
    const rule = 'rule r: deny email.send\n  when context.rsk > 1 // the typo\n  reason "x" /* kept */\n';
    const before = `// header\n${SCHEMA}\n\nrule   spaced :   deny  email.send   // odd layout\n${rule}rule  after:deny x.y\n`;
    expect(fixed(before, "C201", /risk/)).toBe(before.replace("context.rsk", "context.risk"));
  });

  it("prints the item it changes in the canonical layout, and only that item", () => {
    const before = `${SCHEMA}rule   spaced :   deny  email.send\nrule r:  deny email.send  when context.rsk > 1\nrule  after:deny x.y\n`;
    expect(fixed(before, "C201", /risk/)).toBe(before.replace("rule r:  deny email.send  when context.rsk > 1", "rule r: deny email.send when context.risk > 1"));
  });

  const W409 = "actions {\n  release.build, release.tag\n  release.push [high]\n}\n\n// deployers\nrule deployers: allow release.* for agent \"deploy-bot\"\n// after\nrule other: deny release.tag\n";

  it("W409: allows the [high] action by name in a new rule after the wildcard rule", () => {
    const out = fixed(W409, "W409", /^Allow `release.push` by name/);
    expect(out).toBe(W409.replace('"deploy-bot"\n', '"deploy-bot"\nrule deployers-release-push: allow release.push for agent "deploy-bot"\n'));
    expect(codes(out)).toEqual([]);
  });

  it("W409: or denies it explicitly", () => {
    const out = fixed(W409, "W409", /^Deny `release.push` explicitly/);
    expect(out).toContain('rule deployers: allow release.* for agent "deploy-bot"\nrule no-release-push: deny release.push for agent "deploy-bot"\n// after');
    expect(codes(out)).not.toContain("W409");
  });

  it("W409: a new rule's name never clashes", () => {
    const taken = W409.replace("rule other:", "rule deployers-release-push:");
    expect(fixed(taken, "W409", /^Allow/)).toContain("rule deployers-release-push-2: allow release.push");
  });

  it("W407: removes the duplicate rule with its line", () => {
    const text = "rule a: allow x.y\n\nrule b: allow x.y // same\n\nrule c: deny z.w\n";
    expect(fixed(text, "W407", /^Remove rule `b`/)).toBe("rule a: allow x.y\n\nrule c: deny z.w\n");
  });

  it("W401: removes the shadowed rule", () => {
    const text = "rule a: deny x.*\nrule b: allow x.y\nrule c: flag x.z\n";
    expect(fixed(text, "W401", /^Remove rule `b`/)).toBe("rule a: deny x.*\nrule c: flag x.z\n");
  });

  it("W404: removes the unused action from its group, and the group when it empties", () => {
    const text = "actions {\n  a.b, a.c\n  a.d [high]\n}\nrule r: allow a.b\nrule s: allow a.d\n";
    expect(fixed(text, "W404", /^Remove `a.c`/)).toBe("actions {\n  a.b\n  a.d [high]\n}\nrule r: allow a.b\nrule s: allow a.d\n");
    const alone = "actions {\n  a.b\n  a.c [high]\n}\nrule r: allow a.b\n";
    expect(fixed(alone, "W404", /^Remove `a.c`/)).toBe("actions {\n  a.b\n}\nrule r: allow a.b\n");
  });

  it("W405: removes the unused attribute", () => {
    const text = "schema {\n  context { risk: number, ip: string }\n}\nrule r: deny x.y when context.risk > 1\n";
    const out = fixed(text, "W405", /^Remove the attribute `ip`/);
    expect(out).toBe("schema {\n  context { risk: number }\n}\nrule r: deny x.y when context.risk > 1\n");
    expect(codes(out)).toEqual([]);
  });

  it("offers nothing outside the range of a diagnostic, and only quick fixes", () => {
    const { doc, a } = open(`${SCHEMA}rule r: deny emial.send\n`);
    expect(codeActions(doc, a, { offset: 0, endOffset: 5 })).toEqual([]);
    const d = a.diagnostics[0]!;
    expect(codeActions(doc, a, d.span, ["refactor"])).toEqual([]);
    expect(codeActions(doc, a, d.span, ["quickfix"])).toHaveLength(1);
  });
});

describe("hover", () => {
  it("documents every keyword, and every example in the documentation compiles", () => {
    expect(Object.keys(KEYWORD_DOCS).sort()).toEqual([...KEYWORDS].sort());
    for (const [word, doc] of [...Object.entries(KEYWORD_DOCS), ...Object.entries(OPERATOR_DOCS)]) {
      expect(doc.summary.length, word).toBeGreaterThan(5);
      if (doc.example === undefined) continue;
      // An example that imports a file is given one (empty) to read; library modules are bundled.
      const errors = checkSource(doc.example, { file: `policy/examples/${word}.rules`, root: "policy", readFile: () => "" }).filter((d) => d.severity === "error");
      expect(errors, `example of ${word}`).toEqual([]);
    }
  });

  const show = (marked: string) => {
    const { doc, a, offset } = at(marked);
    return (hover(doc, a, offset)?.contents as { value: string } | undefined)?.value ?? null;
  };

  it("says what each kind of name is", () => {
    expect(show(`${SCHEMA}rule r: deny email.send when session has tai‸nted`)).toContain("**session label `tainted`**");
    expect(show(`${SCHEMA}rule r: deny email.send when deviates(supp‸ort)`)).toContain("**workflow `support`**");
    expect(show(`${SCHEMA}rule r: revoke signal session.rev‸oked`)).toContain("**signal `session.revoked`** — not declared");
    expect(show(`${SCHEMA}rule r: deny email.send when principal.te‸am == "x"`)).toContain("**`principal.team: string`**");
    expect(show(`${SCHEMA}rule r: deny email.send when principal.i‸d == "x"`)).toContain("always present");
    expect(show(`${SCHEMA}rule r: deny emai‸l.send`)).toContain("Decided by `readers` (allow), `r` (deny)");
    expect(show(`${SCHEMA}rule r: deny secr‸et.*`)).toContain("Matches `secret.read`, `secret.rotate`");
    expect(show(`${SCHEMA}rule r: deny email.send  ‸  when context.risk >= 0.9`)).toBeNull();
    expect(show(`${SCHEMA}rule r: deny email.send when context.risk >= 0.9 ‸or x`)).toContain("**or** — Boolean or");
    expect(show(`${SCHEMA}rule r: deny email.send when context.risk ‸>= 0.9`)).toContain("Greater than or equal");
  });

  it("shows a rule with the tests that expect it", () => {
    const text = `${SCHEMA}test "t" {\n  agent "a" secret.read => allow by readers\n}\n`;
    const value = show(text.replace("rule readers", "rule rea‸ders"))!;
    expect(value).toContain("**rule `readers`** — allows `secret.read`, `email.send`");
    expect(value).toContain('Expected to decide in test "t"');
    expect(value).toContain("Adds session label `tainted`.");
  });
});

describe("navigation and rename", () => {
  const TEXT = `${SCHEMA}rule teams: deny email.send for agent * { team: "x" } when context has risk and context.risk > 0.5
test "t" {
  agent "a" email.send context { risk: 0.7 } => deny by teams
}
`;

  it("finds every use of a schema attribute and renames them all", () => {
    const { doc, a } = open(TEXT);
    const offset = TEXT.indexOf("risk: number");
    expect(references(doc, a, offset, true)).toHaveLength(4);
    expect(prepareRename(doc, a, offset)?.placeholder).toBe("risk");
    const edit = rename(doc, a, offset, "score")!;
    const out = applyEdits(TEXT, edit.changes![doc.uri]!);
    expect(out).toContain("context { score: number");
    expect(out).toContain("context has score and context.score > 0.5");
    expect(out).toContain("context { score: 0.7 }");
    expect(codes(out).filter((c) => c.startsWith("C"))).toEqual([]);
    const team = TEXT.indexOf("team: string");
    expect(applyEdits(TEXT, rename(doc, a, team, "principal.squad")!.changes![doc.uri]!)).toContain('{ squad: "x" }');
  });

  it("refuses to rename a built-in attribute, and finds no definition for one", () => {
    const text = `${SCHEMA}rule r: deny x.y when principal.id == "a"`;
    const { doc, a } = open(text);
    const offset = text.indexOf("id ==");
    expect(prepareRename(doc, a, offset)).toBeNull();
    expect(() => rename(doc, a, offset, "ident")).toThrow(RenameError);
    expect(definition(doc, a, offset)).toEqual([]);
  });

  it("finds a signal's declaration in the signals block, and renames it everywhere", () => {
    const text = "signals { idp.revoked }\nrule a: revoke signal idp.revoked\nrule b: deny x.y when after(signal idp.revoked by session)\ntest \"t\" {\n  signal idp.revoked\n}\n";
    const { doc, a } = open(text);
    expect(definition(doc, a, text.lastIndexOf("idp.revoked")).map((l) => l.range.start)).toEqual([{ line: 0, character: 10 }]);
    expect(references(doc, a, text.indexOf("idp.revoked"), true)).toHaveLength(4);
    const out = applyEdits(text, rename(doc, a, text.lastIndexOf("idp.revoked"), "idp.session.revoked")!.changes![doc.uri]!);
    expect(out.match(/idp\.session\.revoked/g)).toHaveLength(4);
    expect(codes(out).filter((c) => c.startsWith("C"))).toEqual([]);
  });

  it("defines an undeclared signal where it first occurs, and highlights reads and writes", () => {
    const text = "rule a: revoke signal idp.revoked\nrule b: deny x.y when after(signal idp.revoked by session)\n";
    const { doc, a } = open(text);
    expect(definition(doc, a, text.lastIndexOf("idp.revoked")).map((l) => l.range.start)).toEqual([{ line: 0, character: 22 }]);
    const label = "rule a: flag x.y label session += t\nrule b: deny z.w when session has t\n";
    const l = open(label);
    expect(highlights(l.doc, l.a, label.lastIndexOf("t\n")).map((h) => h.kind)).toEqual([3, 2]);
  });
});

describe("outline", () => {
  it("lists the items, with the schema's attributes and the declared actions", () => {
    const { doc, a } = open(SCHEMA);
    const outline = documentSymbols(doc, a);
    expect(outline.map((s) => s.name)).toEqual(["schema", "actions", "support", "readers"]);
    expect(outline[0]!.children!.map((e) => `${e.name}: ${e.children!.map((f) => f.name).join(",")}`)).toEqual(["principal: kind,team", "context: risk,ip,tier"]);
    expect(outline[1]!.children!.find((c) => c.name === "secret.rotate")?.detail).toBe("[high]");
    expect(outline[3]!.detail).toBe("allow secret.read, email.send");
  });

  it("parses the fixture policy", () => {
    expect(parsePolicy(SCHEMA).diagnostics).toEqual([]);
  });
});
