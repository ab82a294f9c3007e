import { CodeActionKind, type CodeAction } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { ActionPattern, ActionsBlock, Item, Name, Path, PolicyFile, RuleDecl, SchemaBlock, StringLit } from "../ast/nodes.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { parsePolicy } from "../syntax/index.js";
import { produce, type Draft } from "immer";
import type { Analysis } from "./analysis.js";
import { toLspDiagnostic } from "./diagnostics.js";
import { findNode, itemEdits, rewriteAt, synthetic, type OffsetEdit } from "./rewrite.js";
import { overlaps, rangeOf, type OffsetRange } from "./text.js";

/**
 * Quick fixes for the diagnostics in a range: did-you-mean suggestions (C201, C202, C203, C205,
 * C211, C212, and P105 for a misspelt effect) and the lints with a mechanical fix — W409's missing
 * rule (allow the [high] action by name, or deny it explicitly), W407's duplicate and W401's
 * shadowed rule (remove it), W404's unused action and W405's unused attribute (remove the
 * declaration). Each is an AST rewrite (see rewrite.ts) except P105, whose rule did not parse and
 * so has no AST: that fix replaces the misspelt word.
 */
export function codeActions(doc: TextDocument, a: Analysis, range: OffsetRange, only?: readonly string[]): CodeAction[] {
  if (only && !only.some((k) => k === CodeActionKind.QuickFix || k === "" || CodeActionKind.QuickFix.startsWith(`${k}.`) || k === "quickfix")) return [];
  const out: CodeAction[] = [];
  for (const d of a.diagnostics) {
    if (!overlaps(d.span, range)) continue;
    for (const fix of fixesFor(a, d)) {
      out.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [toLspDiagnostic(doc, d)],
        isPreferred: fix.preferred,
        edit: { changes: { [doc.uri]: fix.edits.map((e) => ({ range: rangeOf(doc, e), newText: e.newText })) } },
      });
    }
  }
  return out;
}

interface Fix {
  readonly title: string;
  readonly edits: readonly OffsetEdit[];
  readonly preferred: boolean;
}

function fixesFor(a: Analysis, d: Diagnostic): Fix[] {
  const suggestion = suggestionOf(d);
  if (suggestion !== null) {
    if (d.code === "P105") return [{ title: `Change to \`${suggestion}\``, edits: [{ offset: d.span.offset, endOffset: d.span.endOffset, newText: suggestion }], preferred: true }];
    const after = replaceName(a.ast, d, suggestion);
    return after === null ? [] : [fix(a, `Change to \`${suggestion}\``, after, true)];
  }
  switch (d.code) {
    case "W409":
      return highActionFixes(a, d);
    case "W407":
    case "W401": {
      const after = removeItem(a.ast, d);
      const name = ruleAt(a.ast, d)?.name.value;
      return after === null ? [] : [fix(a, `Remove rule \`${name}\``, after, false)];
    }
    case "W404": {
      const after = removeDeclaredAction(a.ast, d);
      return after === null ? [] : [fix(a, `Remove \`${a.text.slice(d.span.offset, d.span.endOffset)}\` from the actions block`, after, false)];
    }
    case "W405": {
      const after = removeField(a.ast, d);
      return after === null ? [] : [fix(a, `Remove the attribute \`${a.text.slice(d.span.offset, d.span.endOffset)}\` from the schema`, after, false)];
    }
    default:
      return [];
  }
}

function fix(a: Analysis, title: string, after: PolicyFile, preferred: boolean): Fix {
  return { title, edits: itemEdits(a.text, a.ast, after), preferred };
}

/** The name a did-you-mean help suggests: `did you mean \`risk\`?` (checks), `did you mean "allow"?` (P105). */
export function suggestionOf(d: Diagnostic): string | null {
  const m = /^did you mean (?:`([^`]+)`|"([^"]+)")\?/.exec(d.help ?? "");
  return m === null ? null : (m[1] ?? m[2])!;
}

const sameSpan = (d: Diagnostic) => (n: { span: { offset: number; endOffset: number } }) => n.span.offset === d.span.offset && n.span.endOffset === d.span.endOffset;

/** The node the diagnostic points at, renamed to `suggestion`. */
function replaceName(ast: PolicyFile, d: Diagnostic, suggestion: string): PolicyFile | null {
  const at = sameSpan(d);
  const kinds: Readonly<Record<string, readonly string[]>> = {
    C201: ["Path"],
    C202: ["StringLit"],
    C203: ["ActionPattern"],
    C205: ["Name"],
    C211: ["Name"],
    C212: ["Name"],
  };
  const wanted = kinds[d.code];
  if (wanted === undefined) return null;
  const path = findNode(ast, d.span, (n) => wanted.includes(n.kind) && at(n));
  if (path === null) return null;
  return rewriteAt<Name | StringLit | ActionPattern | Path>(ast, path, (node) => {
    switch (node.kind) {
      case "Name":
      case "StringLit":
        node.value = suggestion;
        break;
      case "ActionPattern":
        node.segments = suggestion.split(".");
        break;
      case "Path":
        node.segments[0] = suggestion;
        break;
    }
  });
}

function ruleAt(ast: PolicyFile, d: Diagnostic): RuleDecl | undefined {
  return ast.items.find((i): i is RuleDecl => i.kind === "RuleDecl" && i.name.span.offset === d.span.offset);
}

function removeItem(ast: PolicyFile, d: Diagnostic): PolicyFile | null {
  const rule = ruleAt(ast, d);
  if (rule === undefined) return null;
  return produce(ast, (draft) => {
    draft.items.splice(ast.items.indexOf(rule), 1);
  });
}

function removeDeclaredAction(ast: PolicyFile, d: Diagnostic): PolicyFile | null {
  const path = findNode(ast, d.span, (n) => n.kind === "ActionPattern" && sameSpan(d)(n));
  if (path === null || path[0] !== "items") return null;
  const [, blockIndex, , groupIndex, , actionIndex] = path as [string, number, string, number, string, number];
  return produce(ast, (draft) => {
    const block = draft.items[blockIndex] as Draft<ActionsBlock>;
    const group = block.groups[groupIndex]!;
    group.actions.splice(actionIndex, 1);
    if (group.actions.length === 0) block.groups.splice(groupIndex, 1);
  });
}

function removeField(ast: PolicyFile, d: Diagnostic): PolicyFile | null {
  const path = findNode(ast, d.span, (n) => n.kind === "Name" && sameSpan(d)(n));
  if (path === null || path[0] !== "items" || path.length !== 7) return null;
  const [, blockIndex, , entityIndex, , fieldIndex] = path as [string, number, string, number, string, number];
  return produce(ast, (draft) => {
    (draft.items[blockIndex] as Draft<SchemaBlock>).entities[entityIndex]!.fields.splice(fieldIndex, 1);
  });
}

/**
 * W409: a [high] action only a wildcard allow reaches. The lint's help spells out both ways out —
 * `rule NAME: allow ACTION ...` and `deny ACTION ...` — so the fixes parse those and insert the
 * rule after the first wildcard rule.
 */
function highActionFixes(a: Analysis, d: Diagnostic): Fix[] {
  const snippets = [...(d.help ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  const allowText = snippets.find((s) => s.startsWith("rule "));
  const denyText = snippets.find((s) => s.startsWith("deny "));
  const anchorSpan = d.related?.[0]?.span;
  const anchor = a.ast.items.findIndex((i) => i.kind === "RuleDecl" && anchorSpan !== undefined && i.name.span.offset === anchorSpan.offset);
  if (allowText === undefined || anchor < 0) return [];
  const action = a.text.slice(d.span.offset, d.span.endOffset);
  const fixes: Fix[] = [];
  const allow = parseRule(allowText);
  if (allow) fixes.push(fix(a, `Allow \`${action}\` by name (new rule \`${unique(a.ast, allow.name.value)}\`)`, insertRule(a.ast, anchor, allow), true));
  const deny = denyText === undefined ? null : parseRule(`rule no-${action.replace(/\./g, "-")}: ${denyText}`);
  if (deny) fixes.push(fix(a, `Deny \`${action}\` explicitly (new rule \`${unique(a.ast, deny.name.value)}\`)`, insertRule(a.ast, anchor, deny), false));
  return fixes;
}

function parseRule(source: string): RuleDecl | null {
  const r = parsePolicy(source);
  const item = r.ast.items[0];
  return r.diagnostics.length === 0 && item?.kind === "RuleDecl" ? synthetic(item) : null;
}

/** `name`, or `name-2`, `name-3`, ... if the policy already has an item of that name. */
function unique(ast: PolicyFile, name: string): string {
  const taken = new Set(ast.items.flatMap((i: Item) => (i.kind === "RuleDecl" || i.kind === "WorkflowDecl" ? [i.name.value] : [])));
  if (!taken.has(name)) return name;
  let n = 2;
  while (taken.has(`${name}-${n}`)) n++;
  return `${name}-${n}`;
}

function insertRule(ast: PolicyFile, after: number, rule: RuleDecl): PolicyFile {
  const named = produce(rule, (r) => {
    r.name.value = unique(ast, rule.name.value);
  });
  return produce(ast, (draft) => {
    draft.items.splice(after + 1, 0, named as (typeof draft.items)[number]);
  });
}
