import type { Hover } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { ActionsBlock, Item, RuleDecl } from "../ast/nodes.js";
import { BUILTIN_ATTRIBUTES, typeText } from "../check/schema.js";
import { durationMs } from "../syntax/lexer.js";
import { actionPatternMatches } from "../runtime/glob.js";
import type { Analysis } from "./analysis.js";
import { docMarkdown, KEYWORD_DOCS, OPERATOR_DOCS } from "./docs.js";
import { describeItem, listText, printItem } from "./items.js";
import { isKeyword, tokenAt, tokensAround } from "./lexing.js";
import type { Occurrence, PatternOccurrence, PolicySymbol } from "./symbols.js";
import { rangeOf } from "./text.js";

/**
 * Hover: for a name, what it is and where it is used (an action's declaration and tags and the
 * rules that target it, an attribute's schema type, a rule's effect and the tests that expect it,
 * ...); for a keyword or an operator, what it means; for a duration, its length.
 */
export function hover(doc: TextDocument, a: Analysis, offset: number): Hover | null {
  const o = a.symbols.at(offset);
  if (o !== undefined) return { contents: { kind: "markdown", value: symbolHover(a, o) }, range: rangeOf(doc, o.span) };
  const p = a.symbols.patternAt(offset);
  if (p !== undefined) return { contents: { kind: "markdown", value: patternHover(a, p) }, range: rangeOf(doc, p.span) };
  const t = tokenAt(tokensAround(a.text, offset), offset);
  if (t === undefined) return null;
  let value: string | null = null;
  if (isKeyword(t)) value = docMarkdown(t.image, KEYWORD_DOCS[t.image]);
  else if (Object.prototype.hasOwnProperty.call(OPERATOR_DOCS, t.image)) value = docMarkdown(`\`${t.image}\``, OPERATOR_DOCS[t.image]!);
  else if (t.type === "DurationLiteral") value = durationHover(t.image);
  return value === null ? null : { contents: { kind: "markdown", value }, range: rangeOf(doc, { offset: t.offset, endOffset: t.end }) };
}

function durationHover(text: string): string | null {
  const ms = durationMs(text);
  if (!Number.isSafeInteger(ms)) return null;
  return `**${text}** — a duration of ${ms.toLocaleString("en")} ms`;
}

function symbolHover(a: Analysis, o: Occurrence): string {
  const s = a.symbols.symbol(o.key)!;
  switch (s.kind) {
    case "rule":
      return ruleHover(a, s);
    case "workflow":
      return workflowHover(a, s);
    case "action":
    case "signal":
    case "event":
      return eventHover(a, s);
    case "label":
      return labelHover(s);
    case "attribute":
      return attributeHover(a, s);
  }
}

function code(text: string): string {
  return "```rules\n" + text + "\n```";
}

function places(list: readonly Occurrence[]): string[] {
  const seen = new Set<Item>();
  const out: string[] = [];
  for (const o of list) {
    if (seen.has(o.item)) continue;
    seen.add(o.item);
    out.push(`${describeItem(o.item)} (line ${o.span.line})`);
  }
  return out;
}

const EFFECT_WORDS: Readonly<Record<string, string>> = {
  allow: "allows",
  challenge: "challenges (step-up)",
  deny: "denies",
  revoke: "revokes",
  flag: "flags (monitor only)",
};

function ruleHover(a: Analysis, s: PolicySymbol): string {
  const decl = s.declarations[0];
  if (decl === undefined || decl.item.kind !== "RuleDecl") return `**rule \`${s.name}\`** — not declared in this file`;
  const rule = decl.item;
  const lines = [`**rule \`${s.name}\`** — ${EFFECT_WORDS[rule.effect]} ${rule.targets.map((t) => (t.kind === "SignalTarget" ? `signal \`${t.pattern.segments.join(".")}\`` : `\`${t.pattern.segments.join(".")}\``)).join(", ")}`, code(printItem(rule, a.ast.comments))];
  const labels = rule.clauses.flatMap((c) => (c.kind === "LabelClause" ? [`\`${c.label.value}\``] : []));
  if (labels.length > 0) lines.push(`Adds session label ${labels.join(", ")}.`);
  if (s.references.length > 0) lines.push(`Expected to decide in ${listText(places(s.references))}.`);
  if (s.declarations.length > 1) lines.push(`Declared ${s.declarations.length} times (C204).`);
  return lines.join("\n\n");
}

function workflowHover(a: Analysis, s: PolicySymbol): string {
  const decl = s.declarations[0];
  if (decl === undefined || decl.item.kind !== "WorkflowDecl") return `**workflow \`${s.name}\`** — not declared in this file`;
  const w = decl.item;
  const lines = [`**workflow \`${s.name}\`** — the allowed order of its actions for each ${w.key.kind === "SessionKey" ? "session" : w.key.kind === "PrincipalKey" ? "principal" : "key"}${w.onDeviation ? `; a deviation ${EFFECT_WORDS[w.onDeviation.effect]}` : ""}`, code(printItem(w, a.ast.comments))];
  const deviates = s.references.filter((o) => o.item.kind !== "TestDecl");
  const tests = s.references.filter((o) => o.item.kind === "TestDecl");
  if (deviates.length > 0) lines.push(`Read with \`deviates(${s.name})\` in ${listText(places(deviates))}.`);
  if (tests.length > 0) lines.push(`Expected to decide in ${listText(places(tests))}.`);
  return lines.join("\n\n");
}

function eventHover(a: Analysis, s: PolicySymbol): string {
  const what = s.kind === "action" ? "action" : s.kind === "signal" ? "signal" : "action or signal";
  const decl = s.declarations[0];
  const group = decl?.item.kind === "ActionsBlock" ? groupOf(decl.item, decl.span.offset) : undefined;
  const high = group?.tags.some((t) => t.value === "high") ?? false;
  const head = `**${what} \`${s.name}\`**${high ? " `[high]`" : ""}`;
  const lines: string[] = [];
  if (decl === undefined) lines.push(`${head} — not declared${s.kind === "signal" ? ": signals are observed with `observe`" : ""}`);
  else lines.push(`${head} — declared on line ${decl.span.line}${group && group.actions.length > 1 ? ` with ${group.actions.filter((x) => x.span !== decl.span).map((x) => `\`${x.segments.join(".")}\``).join(", ")}` : ""}`);
  if (high) lines.push("A `[high]` action is never allowed through a wildcard: only an allow rule that names it can allow it.");
  const targeting = rulesTargeting(a, s.name);
  if (targeting.length > 0) lines.push(`Decided by ${listText(targeting)}.`);
  const uses = s.references.filter((o) => o.item.kind !== "RuleDecl" || !isTarget(o.item, o.span.offset));
  if (uses.length > 0) lines.push(`Used in ${listText(places(uses))}.`);
  return lines.join("\n\n");
}

function groupOf(block: ActionsBlock, offset: number) {
  return block.groups.find((g) => g.span.offset <= offset && offset <= g.span.endOffset);
}

function isTarget(rule: RuleDecl, offset: number): boolean {
  return rule.targets.some((t) => t.pattern.span.offset === offset);
}

/** `rule \`x\` (deny)` for each rule whose targets name or match the action. */
function rulesTargeting(a: Analysis, name: string): string[] {
  const out: string[] = [];
  for (const item of a.ast.items) {
    if (item.kind !== "RuleDecl") continue;
    const t = item.targets.find((x) => actionPatternMatches(x.pattern.segments, name));
    if (t === undefined) continue;
    const via = t.pattern.segments.includes("*") ? ` via \`${t.pattern.segments.join(".")}\`` : "";
    out.push(`\`${item.name.value}\` (${item.effect}${via})`);
  }
  return out;
}

function labelHover(s: PolicySymbol): string {
  const lines = [`**session label \`${s.name}\`** — \`session has ${s.name}\` is true once a rule that adds it has decided in the session`];
  if (s.declarations.length > 0) lines.push(`Added by ${listText(places(s.declarations))}.`);
  else lines.push("No rule adds it (C212).");
  if (s.references.length > 0) lines.push(`Read in ${listText(places(s.references))}.`);
  return lines.join("\n\n");
}

function attributeHover(a: Analysis, s: PolicySymbol): string {
  const [root, attr] = s.name.split(".") as [string, string];
  const builtin = BUILTIN_ATTRIBUTES[root];
  const declared = a.attributes.get(root as "principal")?.get(attr);
  let head: string;
  if (declared) head = `**\`${s.name}${declared.optional ? "?" : ""}: ${typeText(declared.type)}${declared.secret ? " [secret]" : ""}\`** — declared in the schema on line ${declared.span.line}${declared.optional ? "; optional: test it with `has` before reading it" : ""}${declared.secret ? "; secret: decision logs redact its value" : ""}`;
  else if (builtin && Object.prototype.hasOwnProperty.call(builtin, attr)) head = `**\`${s.name}: ${typeText(builtin[attr]!)}\`** — always present on every request`;
  else if (a.attributes.has(root as "principal")) head = `**\`${s.name}\`** — not declared in the schema (C201)`;
  else head = `**\`${s.name}\`** — no schema for \`${root}\`: any value the request carries`;
  const lines = [head];
  if (s.references.length > 0) lines.push(`Read in ${listText(places(s.references))}.`);
  return lines.join("\n\n");
}

function patternHover(a: Analysis, p: PatternOccurrence): string {
  const text = p.segments.join(".");
  const names = a.symbols.symbols("action", "event").map((s) => s.name).filter((n) => actionPatternMatches(p.segments, n));
  const lines = [`**\`${text}\`** — a pattern: ${text === "*" ? "every action" : "`*` matches one segment; at the end, one or more"}`];
  if (names.length > 0) lines.push(`Matches ${listText(names.map((n) => `\`${n}\``), 12)}.`);
  lines.push("A `[high]` action is never allowed through a pattern.");
  return lines.join("\n\n");
}
