import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CodeAction, CompletionList, FoldingRange, Hover, Location, SemanticTokens, TextEdit, WorkspaceEdit } from "vscode-languageserver";
import { checkSource } from "../../src/check/source.js";
import { formatSource } from "../../src/format/index.js";
import { applyEdits, LspClient, positionOf } from "./harness.js";

/**
 * `leash lsp` over real stdio with a JSON-RPC client: every request an editor makes, against the
 * server process, with the answers checked to the character.
 */

const POLICY = `schema {
  context { risk: number, ip: string }
}

actions {
  secret.read, email.send, login.attempt
  secret.rotate [high]
}

rule readers: allow secret.read, email.send, login.attempt for agent *
rule no-exfil: deny email.send when after(secret.read by session within 10m)
  reason "no email right after a secret"
rule risky: deny secret.* when context.risk >= 0.9 or context.ip like "10.*"
`;

const WITH_ERRORS = POLICY.replace("context.risk >= 0.9", "context.rsk >= 0.9").replace("deny email.send when", "deny emial.send when");

let client: LspClient;
beforeAll(async () => {
  client = await LspClient.start();
});
afterAll(async () => {
  expect(await client.stop()).toBe(0);
});

let docs = 0;
/** A fresh document URI per test, so tests do not see each other's diagnostics. */
function uri(): string {
  return `file:///work/policy-${++docs}.rules`;
}

describe("leash lsp over stdio", () => {
  it("answers initialize with the features it serves", () => {
    const c = client.initialized.capabilities;
    expect(client.initialized.serverInfo?.name).toBe("leash");
    expect(c.textDocumentSync).toEqual({ openClose: true, change: 2 });
    expect(c.hoverProvider).toBe(true);
    expect(c.completionProvider?.triggerCharacters).toContain(".");
    expect(c.definitionProvider).toBe(true);
    expect(c.referencesProvider).toBe(true);
    expect(c.renameProvider).toEqual({ prepareProvider: true });
    expect(c.documentFormattingProvider).toBe(true);
    expect(c.codeActionProvider).toEqual({ codeActionKinds: ["quickfix"] });
    expect(c.semanticTokensProvider?.legend.tokenTypes).toContain("event");
    expect(c.foldingRangeProvider).toBe(true);
  });

  it("publishes diagnostics with codes, ranges and help on didOpen, and none once didChange fixes them", async () => {
    const u = uri();
    await client.open(u, WITH_ERRORS);
    const first = await client.diagnostics(u, 1);
    expect(first.diagnostics.map((d) => ({ code: d.code, severity: d.severity, range: d.range }))).toEqual([
      { code: "C203", severity: 1, range: { start: positionOf(WITH_ERRORS, "emial.send"), end: positionOf(WITH_ERRORS, "emial.send", 10) } },
      { code: "C201", severity: 1, range: { start: positionOf(WITH_ERRORS, "context.rsk"), end: positionOf(WITH_ERRORS, "context.rsk", 11) } },
    ]);
    expect(first.diagnostics[0]!.message).toBe("action `emial.send` is not declared\n= help: did you mean `email.send`?");
    expect(first.diagnostics[1]!.message).toBe("`context.rsk` is not declared in the schema\n= help: did you mean `risk`?");
    expect(first.diagnostics.every((d) => d.source === "leash")).toBe(true);

    const rsk = positionOf(WITH_ERRORS, "rsk");
    const emial = positionOf(WITH_ERRORS, "emial");
    await client.change(u, 2, [
      { range: { start: rsk, end: { line: rsk.line, character: rsk.character + 3 } }, text: "risk" },
      { range: { start: emial, end: { line: emial.line, character: emial.character + 5 } }, text: "email" },
    ]);
    expect((await client.diagnostics(u, 2)).diagnostics).toEqual([]);
  });

  it("publishes what leash check reports: parse errors only, for a half-typed rule", async () => {
    const u = uri();
    const text = `${POLICY}rule new: alow login.attempt when context.\n`;
    await client.open(u, text);
    const d = (await client.diagnostics(u, 1)).diagnostics;
    expect(d.map((x) => x.code)).toEqual(["P105", "P106"]);
    expect(d[0]!.range).toEqual({ start: positionOf(text, "alow"), end: positionOf(text, "alow", 4) });
    expect(d[0]!.message).toContain('did you mean "allow"?');
    const cli = checkSource(text, { file: "policy.rules" });
    expect(d.map((x) => [x.code, x.range.start.line + 1, x.range.start.character + 1, x.message])).toEqual(cli.map((x) => [x.code, x.span.line, x.span.column, `${x.message}\n= help: ${x.help}`]));
  });

  it("hovers keywords, actions, attributes and rules", async () => {
    const u = uri();
    await client.open(u, POLICY);
    const hover = async (needle: string, delta = 0, n = 0) => (await client.request<Hover | null>("textDocument/hover", { textDocument: { uri: u }, position: positionOf(POLICY, needle, delta, n) })) as { contents: { value: string }; range: unknown } | null;
    const after = await hover("after(");
    expect(after?.contents.value).toContain("`after(X by K [within D] [until Z])`");
    const action = await hover("secret.read", 3, 2);
    expect(action?.contents.value).toContain("**action `secret.read`** — declared on line 6");
    expect(action?.contents.value).toContain("Decided by `readers` (allow), `risky` (deny via `secret.*`)");
    expect(action?.range).toEqual({ start: positionOf(POLICY, "secret.read", 0, 2), end: positionOf(POLICY, "secret.read", 11, 2) });
    const high = await hover("secret.rotate");
    expect(high?.contents.value).toContain("`[high]`");
    expect((await hover("risk >=", 1))?.contents.value).toContain("**`context.risk: number`** — declared in the schema on line 2");
    expect((await hover("no-exfil"))?.contents.value).toContain("**rule `no-exfil`** — denies `email.send`");
    expect((await hover("10m"))?.contents.value).toContain("600,000 ms");
  });

  it("completes attributes after context., events after an effect, clause keywords after a target", async () => {
    const u = uri();
    const text = `${POLICY}rule fresh: deny email.send when context.\n`;
    await client.open(u, text);
    const complete = async (line: number, character: number) => (await client.request<CompletionList>("textDocument/completion", { textDocument: { uri: u }, position: { line, character } })).items;
    const end = positionOf(text, "context.\n", 8);
    const attrs = await complete(end.line, end.character);
    expect(attrs.map((i) => i.label).sort()).toEqual(["ip", "risk"]);
    expect(attrs.find((i) => i.label === "risk")?.detail).toBe("number");

    const afterEffect = positionOf(text, "email.send when context.", 0);
    const events = await complete(afterEffect.line, afterEffect.character);
    expect(events.map((i) => i.label)).toEqual(expect.arrayContaining(["secret.read", "email.send", "login.attempt", "secret.rotate", "signal", "*"]));
    const target = events.find((i) => i.label === "email.send")!;
    expect(target.textEdit).toEqual({ range: { start: afterEffect, end: afterEffect }, newText: "email.send" });

    const afterTarget = positionOf(text, " when context.", 1);
    const clauses = (await complete(afterTarget.line, afterTarget.character)).map((i) => i.label);
    expect(clauses).toEqual(expect.arrayContaining(["when", "unless", "reason", "for", "on", "valid for", "label session +="]));
  });

  it("goes to the definition and finds every reference of an action", async () => {
    const u = uri();
    await client.open(u, POLICY);
    const use = positionOf(POLICY, "secret.read by", 2);
    const defs = await client.request<Location[]>("textDocument/definition", { textDocument: { uri: u }, position: use });
    expect(defs).toEqual([{ uri: u, range: { start: positionOf(POLICY, "secret.read"), end: positionOf(POLICY, "secret.read", 11) } }]);
    const refs = await client.request<Location[]>("textDocument/references", { textDocument: { uri: u }, position: use, context: { includeDeclaration: true } });
    expect(refs.map((r) => r.range.start)).toEqual([positionOf(POLICY, "secret.read", 0, 0), positionOf(POLICY, "secret.read", 0, 1), positionOf(POLICY, "secret.read", 0, 2)]);
    const without = await client.request<Location[]>("textDocument/references", { textDocument: { uri: u }, position: use, context: { includeDeclaration: false } });
    expect(without).toHaveLength(2);
  });

  it("renames an action everywhere with one WorkspaceEdit, and the result checks clean", async () => {
    const u = uri();
    await client.open(u, POLICY);
    const at = positionOf(POLICY, "secret.read", 4, 1);
    const prepared = await client.request<{ range: unknown; placeholder: string }>("textDocument/prepareRename", { textDocument: { uri: u }, position: at });
    expect(prepared.placeholder).toBe("secret.read");
    const edit = await client.request<WorkspaceEdit>("textDocument/rename", { textDocument: { uri: u }, position: at, newName: "vault.read" });
    const edits = edit.changes![u]!;
    expect(edits).toHaveLength(3);
    const renamed = applyEdits(POLICY, edits);
    expect(renamed).not.toContain("secret.read");
    expect(renamed.split("vault.read").length - 1).toBe(3);
    await client.change(u, 2, [{ text: renamed }]);
    expect((await client.diagnostics(u, 2)).diagnostics).toEqual([]);
  });

  it("renames rules, workflows, signals and labels with all their uses", async () => {
    const u = uri();
    const text = `rule logins: allow login.attempt, report.read
rule taint: flag secret.read label session += tainted for 1h
rule no-mail: deny email.send when session has tainted
rule approval: challenge release.push unless after(signal approval.granted by session within 1h)
  require human-approval satisfied by approval.granted
workflow export by session: customer.lookup -> report.read on deviation flag
rule strays: deny report.* when deviates(export)
test "taint" {
  signal approval.granted
  agent "a" email.send => deny by no-mail
}
`;
    await client.open(u, text);
    const rename = async (needle: string, newName: string, n = 0) => {
      const edit = await client.request<WorkspaceEdit>("textDocument/rename", { textDocument: { uri: u }, position: positionOf(text, needle, 1, n), newName });
      return applyEdits(text, edit.changes![u]!);
    };
    expect(await rename("no-mail", "no-email")).toContain("rule no-email: deny email.send");
    expect((await rename("no-mail", "no-email", 1)).split("no-email").length - 1).toBe(2);
    const workflow = await rename("export", "export-flow");
    expect(workflow).toContain("workflow export-flow by session");
    expect(workflow).toContain("deviates(export-flow)");
    const signal = await rename("approval.granted", "approval.given", 1);
    expect(signal.split("approval.given").length - 1).toBe(3);
    expect(signal).not.toContain("approval.granted");
    const label = await rename("tainted", "secret-read", 1);
    expect(label).toContain("label session += secret-read for 1h");
    expect(label).toContain("session has secret-read");
    await expect(client.request("textDocument/rename", { textDocument: { uri: u }, position: positionOf(text, "no-mail"), newName: "not a name" })).rejects.toThrow(/not a name/);
    await expect(client.request("textDocument/rename", { textDocument: { uri: u }, position: positionOf(text, "no-mail"), newName: "taint" })).rejects.toThrow(/already used/);
  });

  it("formats the document as leash fmt does", async () => {
    const u = uri();
    const messy = "rule   a :  allow x.y   when context.risk<0.5\n\n\n\nrule b: deny x.y // why\n";
    await client.open(u, messy);
    const edits = await client.request<TextEdit[]>("textDocument/formatting", { textDocument: { uri: u }, options: { tabSize: 2, insertSpaces: true } });
    expect(applyEdits(messy, edits)).toBe(formatSource(messy).output);
    const broken = uri();
    await client.open(broken, "rule a: allow\n");
    expect(await client.request<TextEdit[]>("textDocument/formatting", { textDocument: { uri: broken }, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });

  it("offers a quick fix for a did-you-mean that fixes it", async () => {
    const u = uri();
    await client.open(u, WITH_ERRORS);
    const published = await client.diagnostics(u, 1);
    const c201 = published.diagnostics.find((d) => d.code === "C201")!;
    const actions = await client.request<CodeAction[]>("textDocument/codeAction", { textDocument: { uri: u }, range: c201.range, context: { diagnostics: [c201] } });
    const fix = actions.find((a) => a.title === "Change to `risk`")!;
    expect(fix.kind).toBe("quickfix");
    expect(fix.isPreferred).toBe(true);
    expect(fix.diagnostics?.[0]?.code).toBe("C201");
    // The edit replaces exactly the misspelt name, nothing around it.
    expect(fix.edit!.changes![u]).toEqual([{ range: { start: positionOf(WITH_ERRORS, "rsk"), end: positionOf(WITH_ERRORS, "rsk", 3) }, newText: "risk" }]);
    const fixed = applyEdits(WITH_ERRORS, fix.edit!.changes![u]!);
    await client.change(u, 2, [{ text: fixed }]);
    expect((await client.diagnostics(u, 2)).diagnostics.map((d) => d.code)).toEqual(["C203"]);
  });

  it("serves semantic tokens that tell names from keywords", async () => {
    const u = uri();
    const text = "// a comment\nrule count: revoke signal session.revoked\nrule r: deny x.y when count(x.z by session within 1m) >= 3\n";
    await client.open(u, text);
    const tokens = await client.request<SemanticTokens>("textDocument/semanticTokens/full", { textDocument: { uri: u } });
    const legend = client.initialized.capabilities.semanticTokensProvider!.legend;
    const decoded = decode(tokens.data, legend.tokenTypes, legend.tokenModifiers, text);
    expect(decoded).toContainEqual({ text: "// a comment", type: "comment", modifiers: [] });
    expect(decoded).toContainEqual({ text: "count", type: "function", modifiers: ["declaration"] });
    expect(decoded).toContainEqual({ text: "session.revoked", type: "event", modifiers: [] });
    expect(decoded).toContainEqual({ text: "count", type: "function", modifiers: ["defaultLibrary"] });
    expect(decoded).toContainEqual({ text: "1m", type: "number", modifiers: [] });
    expect(decoded).toContainEqual({ text: "revoke", type: "keyword", modifiers: [] });
  });

  it("folds blocks, long rules and comment runs", async () => {
    const u = uri();
    const text = `// one\n// two\n${POLICY}`;
    await client.open(u, text);
    const ranges = await client.request<FoldingRange[]>("textDocument/foldingRange", { textDocument: { uri: u } });
    expect(ranges).toEqual([
      { startLine: 0, endLine: 1, kind: "comment" },
      { startLine: 2, endLine: 4 },
      { startLine: 6, endLine: 9 },
      { startLine: 12, endLine: 13 },
    ]);
  });
});

describe("leash lsp never fails a request", () => {
  it("answers positions outside the document and unknown documents with empty results", async () => {
    const u = uri();
    await client.open(u, POLICY);
    const outside = [{ line: 999, character: 0 }, { line: 0, character: 500 }, { line: -1, character: 0 }, { line: 1.5, character: 0 }];
    for (const position of outside) {
      expect(await client.request("textDocument/hover", { textDocument: { uri: u }, position })).toBeNull();
      expect(await client.request("textDocument/definition", { textDocument: { uri: u }, position })).toEqual([]);
      expect(await client.request("textDocument/references", { textDocument: { uri: u }, position, context: { includeDeclaration: true } })).toEqual([]);
      expect(await client.request("textDocument/completion", { textDocument: { uri: u }, position })).toEqual([]);
      expect(await client.request("textDocument/rename", { textDocument: { uri: u }, position, newName: "x" })).toBeNull();
    }
    const unknown = { textDocument: { uri: "file:///never/opened.rules" }, position: { line: 0, character: 0 } };
    expect(await client.request("textDocument/hover", unknown)).toBeNull();
    expect(await client.request("textDocument/formatting", { ...unknown, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
    expect(await client.request("textDocument/semanticTokens/full", unknown)).toEqual({ data: [] });
  });

  it("gives diagnostics for binary, huge and truncated input and keeps serving", async () => {
    const binary = uri();
    const bytes = Array.from({ length: 4096 }, (_, i) => String.fromCharCode((i * 7919) % 256)).join("");
    await client.open(binary, bytes);
    const b = (await client.diagnostics(binary, 1)).diagnostics;
    expect(b.length).toBeGreaterThan(0);
    expect(b.map((d) => d.code)).toContain("L005");

    const huge = uri();
    await client.open(huge, "rule a: allow x.y\n".repeat(1_000_000));
    expect((await client.diagnostics(huge, 1)).diagnostics.map((d) => d.code)).toEqual(["L008"]);
    expect(await client.request("textDocument/semanticTokens/full", { textDocument: { uri: huge } })).toEqual({ data: [] });
    expect(await client.request("textDocument/foldingRange", { textDocument: { uri: huge } })).toEqual([]);
    // Completion reads only the item at the cursor, so it still works in a file too large to parse.
    const items = (await client.request<CompletionList>("textDocument/completion", { textDocument: { uri: huge }, position: { line: 500_000, character: 8 } })).items;
    expect(items.map((i) => i.label)).toEqual(expect.arrayContaining(["allow", "deny"]));
    await client.close(huge);

    const cut = uri();
    const prefixes = [POLICY.slice(0, 10), POLICY.slice(0, 57), POLICY.slice(0, 200), "rule", "rule x", "rule x:", "rule x: allow", "workflow w by", "test \"t\" {", '"unterminated', "/* open comment"];
    await client.open(cut, prefixes[0]!);
    for (const [i, text] of prefixes.entries()) await client.change(cut, i + 2, [{ text }]);
    const last = await client.diagnostics(cut, prefixes.length + 1);
    expect(last.diagnostics.map((d) => d.code)).toEqual(["L002"]);
    // Still alive and answering.
    const u = uri();
    await client.open(u, POLICY);
    expect((await client.diagnostics(u, 1)).diagnostics).toEqual([]);
  });
});

function decode(data: readonly number[], types: readonly string[], modifiers: readonly string[], text: string): { text: string; type: string; modifiers: string[] }[] {
  const lines = text.split("\n");
  const out: { text: string; type: string; modifiers: string[] }[] = [];
  let line = 0;
  let char = 0;
  for (let i = 0; i < data.length; i += 5) {
    line += data[i]!;
    char = data[i]! === 0 ? char + data[i + 1]! : data[i + 1]!;
    out.push({ text: lines[line]!.slice(char, char + data[i + 2]!), type: types[data[i + 3]!]!, modifiers: modifiers.filter((_, k) => (data[i + 4]! & (1 << k)) !== 0) });
  }
  return out;
}
