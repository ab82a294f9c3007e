import { CompletionItemKind, InsertTextFormat, type CompletionItem, type Range } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { EFFECTS } from "../ast/nodes.js";
import { BUILTIN_ATTRIBUTES, typeText, type Entity } from "../check/schema.js";
import type { Analysis } from "./analysis.js";
import { COMMON_DURATIONS, COMMON_OBLIGATIONS, KEYWORD_DOCS, type KeywordDoc } from "./docs.js";
import { chunkAt } from "./incremental.js";
import { isKeyword, lexWithComments, type Tok } from "./lexing.js";
import { rangeOf } from "./text.js";

/**
 * Completion from the tokens of the item being typed (lexed up to the cursor; the item need not
 * parse) and the names of the last analysis: keywords that fit the place, declared actions and
 * signals where an event goes, schema attributes after `principal.`, `resource.`, `context.` and
 * `action.`, rule and workflow names, labels, keys and durations. It never parses the file, so it
 * costs the same in a 2,000-rule policy as in a small one.
 */
export interface CompletionOptions {
  /** The client inserts snippets (`${1:name}` placeholders). */
  readonly snippets: boolean;
}

export function complete(doc: TextDocument, a: Analysis, offset: number, options: CompletionOptions): CompletionItem[] {
  const text = doc.getText();
  const chunk = chunkAt(text, offset);
  const lexed = lexWithComments(text, chunk.offset, offset);
  if (lexed.openComment || lexed.comments.some((c) => c.offset < offset && (offset < c.end || c.image.startsWith("//")) && sameLine(text, c.offset, offset))) return [];
  const tokens = lexed.tokens;
  const last = tokens[tokens.length - 1];
  // Inside a string being typed, or right after a number: nothing to offer.
  if (last && last.end === offset && /String|Number|Duration/.test(last.type)) return [];
  const ctx = new Context(doc, a, text, tokens, offset, options);
  return ctx.items();
}

function sameLine(text: string, from: number, to: number): boolean {
  return !text.slice(from, to).includes("\n");
}

const ROOTS = ["principal", "resource", "context", "action"] as const;
const TEMPORAL = ["after", "since", "gap", "count", "distinct", "rate", "regularity", "sequence"] as const;
const CLAUSES = ["when", "unless", "reason", "limit", "valid", "label", "require", "target"] as const;
const FILTERS = ["allowed", "attempted", "denied", "signal"] as const;
const PRINCIPAL_KINDS = ["human", "service", "agent", "token"];

const ITEM_SNIPPETS: readonly [string, string, string][] = [
  ["rule", "rule ${1:name}: ${2|allow,challenge,deny,revoke,flag|} ${3:action}", "rule NAME: EFFECT ACTION"],
  ["workflow", "workflow ${1:name} by ${2:session}:\n  ${3:first.step} -> ${4:next.step}", "workflow NAME by KEY: a -> b"],
  ["schema", "schema {\n  ${1|principal,resource,context|} { ${2:name}: ${3:string} }\n}", "schema { ... }"],
  ["actions", "actions {\n  ${1:action.name}\n}", "actions { ... }"],
  ["signals", "signals {\n  ${1:signal.name}\n}", "signals { ... }"],
  ["test", 'test "${1:name}" {\n  ${2:agent} "${3:id}" ${4:action} => ${5|allow,deny,challenge,revoke|}\n}', 'test "NAME" { ... }'],
  ["property", 'property "${1:name}" {\n  never ${2|allow,deny,challenge|} ${3:action}\n}', 'property "NAME" { ... }'],
];

const TEMPORAL_SNIPPETS: Readonly<Record<(typeof TEMPORAL)[number] | "deviates", string>> = {
  after: "after(${1:event} by ${2:session} within ${3:10m})",
  since: "since(${1:event} by ${2:principal}) < ${3:1h}",
  gap: "gap(${1:event} by ${2:session}) < ${3:300ms}",
  count: "count(${1:event} by ${2:session} within ${3:1m}) >= ${4:3}",
  distinct: "distinct(${1:action.domain} by ${2:principal} within ${3:5m}) > ${4:3}",
  rate: "rate(${1:event} by ${2:principal}, ${3:100} per ${4:1m})",
  regularity: "regularity(${1:event} by ${2:session} over ${3:5}) < ${4:0.1}",
  sequence: "sequence(${1:first}, ${2:second} by ${3:session} within ${4:30s})",
  deviates: "deviates(${1:workflow})",
};

const isName = (t: Tok | undefined) => t !== undefined && (t.type === "Identifier" || isKeyword(t));

class Context {
  /** The tokens before the word being typed. */
  private readonly before: Tok[];
  /** Where the word (or dotted name) being typed starts. */
  private readonly wordStart: number;
  /** The dotted name being typed, split at its dots (`["context", "ri"]`), when there is one. */
  private readonly chain: string[];
  private readonly out: CompletionItem[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly doc: TextDocument,
    private readonly a: Analysis,
    private readonly text: string,
    tokens: readonly Tok[],
    private readonly offset: number,
    private readonly options: CompletionOptions,
  ) {
    // The dotted name ending at the cursor: names and dots with nothing between them.
    let i = tokens.length;
    let end = offset;
    while (i > 0) {
      const t = tokens[i - 1]!;
      if (t.end !== end || !(isName(t) || t.type === "Dot")) break;
      end = t.offset;
      i--;
    }
    // A chain starts with a name, not a dot.
    while (i < tokens.length && tokens[i]!.type === "Dot") i++;
    this.before = tokens.slice(0, i);
    this.wordStart = i < tokens.length ? tokens[i]!.offset : offset;
    this.chain = text.slice(this.wordStart, offset).split(".");
  }

  private last(n = 1): Tok | undefined {
    return this.before[this.before.length - n];
  }

  private lastIs(...images: string[]): boolean {
    const t = this.last();
    return t !== undefined && images.includes(t.image) && t.type !== "StringLiteral";
  }

  items(): CompletionItem[] {
    // `context.ri|`: the attributes of the root.
    if (this.chain.length === 2 && (ROOTS as readonly string[]).includes(this.chain[0]!) && this.inCondition()) {
      this.attributes(this.chain[0] as (typeof ROOTS)[number], this.offset - this.chain[1]!.length);
      return this.out;
    }
    const first = this.before[0];
    const kind = first && isKeyword(first) && ["rule", "workflow", "schema", "actions", "test", "property"].includes(first.image) ? first.image : "";
    const atLineStart = this.isLineStart();
    if (this.before.length === 0) this.itemKeywords();
    else if (kind === "rule") this.rule(atLineStart);
    else if (kind === "workflow") this.workflow(atLineStart);
    else if (kind === "schema") this.schema();
    else if (kind === "actions") this.actionsBlock();
    else if (kind === "test") this.test();
    else if (kind === "property") this.property();
    else if (atLineStart) this.itemKeywords();
    return this.out;
  }

  /* ---- structure ----------------------------------------------------------------------------- */

  /** Whether the word being typed is the first token on its line. */
  private isLineStart(): boolean {
    const prev = this.last();
    return prev === undefined || this.text.slice(prev.end, this.wordStart).includes("\n");
  }

  /** The innermost open parenthesis and the token before it (`count(` gives `count`), if any. */
  private openParen(): { op: string; at: number } | null {
    const stack: { op: string; at: number }[] = [];
    this.before.forEach((t, i) => {
      if (t.type === "LParen") stack.push({ op: this.before[i - 1]?.image ?? "", at: i });
      else if (t.type === "RParen") stack.pop();
    });
    return stack[stack.length - 1] ?? null;
  }

  private braceDepth(): number {
    let depth = 0;
    for (const t of this.before) {
      if (t.type === "LCurly") depth++;
      else if (t.type === "RCurly") depth = Math.max(0, depth - 1);
    }
    return depth;
  }

  /** The last keyword among `words` at the top level of the item (outside parentheses). */
  private lastKeyword(words: readonly string[]): string | null {
    let depth = 0;
    for (let i = this.before.length - 1; i >= 0; i--) {
      const t = this.before[i]!;
      if (t.type === "RParen") depth++;
      else if (t.type === "LParen") depth--;
      else if (depth <= 0 && isKeyword(t) && words.includes(t.image)) return t.image;
    }
    return null;
  }

  /** Whether the cursor is in a condition: after `when` or `unless` (no other clause since), or in parentheses. */
  private inCondition(): boolean {
    const clause = this.lastKeyword([...CLAUSES, "for", "on", "never", "always"]);
    return clause === "when" || clause === "unless" || this.openParen() !== null;
  }

  /* ---- items by kind of place ---------------------------------------------------------------- */

  private rule(atLineStart: boolean): void {
    const n = this.before.length;
    if (n === 1) return; // the rule's name
    if (n === 3 && this.lastIs(":")) return this.effects();
    const paren = this.openParen();
    if (paren !== null) return this.insideParens(paren);
    if (this.lastIs("signal")) return this.events("signal");
    if (this.lastIs("has")) return this.afterHas();
    if (this.lastIs("for")) return this.last(2)?.image === "valid" || this.lastKeyword(CLAUSES) === "label" ? this.durations() : this.principalKinds();
    if (this.lastIs("within")) return this.durations();
    if (this.lastIs("per", "target")) return this.keys();
    if (this.lastIs("require")) return this.obligations();
    if (this.lastIs("satisfied")) return this.keyword("by");
    if (this.lastIs("by") && this.last(2)?.image === "satisfied") return this.events("signal");
    if (this.lastIs("valid")) return this.keyword("for");
    if (this.lastIs("label")) return this.plain("session +=", CompletionItemKind.Keyword, "label session += LABEL");
    if (this.lastIs("+=")) return this.labels();
    if (this.lastIs("on", "reason", "limit", "rule")) return;
    if (this.lastIs("when", "unless", "and", "or", "not")) return this.conditionStart();
    if (this.lastIs("==", "!=")) return this.enumValues();
    if (this.lastIs("<", "<=", ">", ">=")) {
      const op = this.closedOperator();
      return op === "since" || op === "gap" ? this.durations() : undefined;
    }
    const clause = this.lastKeyword([...CLAUSES, "for", "on"]);
    if (clause === null && (this.lastIs(",") || (n === 4 && this.lastIs(...EFFECTS)))) {
      this.events("any");
      this.keyword("signal");
      return this.plain("*", CompletionItemKind.Operator, "every action");
    }
    if (clause === "for" && this.lastIs(",")) return this.principalKinds();
    this.clauseKeywords(clause);
    if (atLineStart && this.braceDepth() === 0) this.itemKeywords();
  }

  /** After `count(...)` and the like closed with `)`: the operator's name. */
  private closedOperator(): string | null {
    const prev = this.last(2);
    if (prev?.type !== "RParen") return null;
    let depth = 0;
    for (let i = this.before.length - 2; i >= 0; i--) {
      const t = this.before[i]!;
      if (t.type === "RParen") depth++;
      else if (t.type === "LParen" && --depth === 0) return this.before[i - 1]?.image ?? null;
    }
    return null;
  }

  private insideParens(paren: { op: string; at: number }): void {
    const op = paren.op;
    if (op === "deviates") return this.names("workflow");
    if (!(TEMPORAL as readonly string[]).includes(op)) return this.lastIs("(", "and", "or", "not") ? this.conditionStart() : this.lastIs("has") ? this.afterHas() : undefined;
    if (this.lastIs("by")) return this.keys();
    if (this.lastIs("within") || (this.lastIs("per") && op === "rate")) return this.durations();
    if (this.lastIs("allowed", "attempted", "denied")) return this.events("action");
    if (this.lastIs("signal")) return this.events("signal");
    if (this.lastIs("over")) return;
    const start = this.lastIs("(", ",", "until", "|") && !(op === "rate" && this.sinceOpen(paren, "by"));
    if (start) {
      if (op === "distinct" && this.lastIs("(")) {
        for (const r of ROOTS) this.keyword(r);
        return;
      }
      for (const f of FILTERS) this.keyword(f);
      return this.events("any");
    }
    // After the events: the parts that may follow.
    const has = (w: string) => this.sinceOpen(paren, w);
    if (!has("by")) return this.keyword("by");
    if (op === "distinct" && !has("of") && !has("by")) this.keyword("of");
    if ((op === "after" || op === "count" || op === "distinct" || op === "sequence") && !has("within")) this.keyword("within");
    if ((op === "after" || op === "sequence") && !has("until")) this.keyword("until");
    if (op === "regularity" && !has("over")) this.keyword("over");
  }

  /** Whether keyword `w` was written since the parenthesis opened. */
  private sinceOpen(paren: { at: number }, w: string): boolean {
    return this.before.slice(paren.at + 1).some((t) => t.image === w && isKeyword(t));
  }

  private workflow(atLineStart: boolean): void {
    if (this.before.length === 1) return;
    if (this.lastIs("by")) return this.keys();
    if (this.lastIs(":", "->", "|", "(")) return this.events("action");
    if (this.lastIs("on")) return this.keyword("deviation");
    if (this.lastIs("deviation")) return this.effects();
    if (this.lastIs("reason")) return;
    if (this.before.some((t) => t.type === "Colon")) {
      this.plain("->", CompletionItemKind.Operator, "the next step");
      this.plain("on deviation", CompletionItemKind.Keyword, "on deviation EFFECT");
    }
    if (atLineStart) this.itemKeywords();
  }

  private schema(): void {
    const depth = this.braceDepth();
    if (depth === 1) {
      for (const e of ["principal", "resource", "context"]) this.keyword(e);
      return;
    }
    if (depth === 2 && this.lastIs(":", "<", "|")) {
      for (const t of ["string", "number", "bool", "duration", "set"]) this.keyword(t);
    }
    if (depth === 2 && this.lastIs("[")) this.plain("secret", CompletionItemKind.Keyword, "decision logs redact the attribute's value");
  }

  private actionsBlock(): void {
    if (this.lastIs("[", ",") && this.before.some((t) => t.type === "LBracket" && t.offset > (this.lastOf("RBracket")?.offset ?? -1))) this.plain("high", CompletionItemKind.Keyword, "never allowed through a wildcard");
  }

  private lastOf(type: string): Tok | undefined {
    for (let i = this.before.length - 1; i >= 0; i--) if (this.before[i]!.type === type) return this.before[i];
    return undefined;
  }

  private test(): void {
    if (this.braceDepth() === 0) return;
    // Inside `context { ... }` and the like: the entity's attributes.
    const open = this.lastOf("LCurly");
    const entity = open ? this.before[this.before.indexOf(open) - 1]?.image : undefined;
    if (this.braceDepth() === 2 && entity && ["principal", "resource", "context"].includes(entity) && this.lastIs("{", ",")) return this.attributeNames(entity as Entity);
    if (this.lastIs("=>")) return this.effects();
    if (this.lastIs("by")) return this.last(3)?.image === "=>" ? this.names("rule", "workflow") : this.principalKinds();
    if (this.lastIs("signal")) return this.events("signal");
    if (this.lastIs("at")) return this.durations();
    if (this.lastIs(...EFFECTS) && this.last(2)?.image === "=>") return this.keyword("by");
    const stepStart = this.lastIs("{") || this.isLineStart() || (this.last(2)?.image === "at" && this.last()?.type === "DurationLiteral");
    if (stepStart) {
      this.keyword("at");
      this.keyword("signal");
      return this.principalKinds();
    }
    if (this.last()?.type === "StringLiteral" && isName(this.last(2)) && !this.stepHasAction()) return this.events("action");
    for (const w of ["session", "principal", "resource", "context"]) this.keyword(w);
    this.plain("=>", CompletionItemKind.Operator, "the expected effect");
  }

  /** Whether the test step on the current line already names its action. */
  private stepHasAction(): boolean {
    const lineStart = this.text.lastIndexOf("\n", this.wordStart - 1) + 1;
    const step = this.before.filter((t) => t.offset >= lineStart);
    return step.filter((t) => t.type === "StringLiteral").length > 1 || step.some((t, i) => i > 1 && step[i - 1]!.type === "StringLiteral" && isName(t));
  }

  private property(): void {
    if (this.braceDepth() === 0) return;
    if (this.lastIs("{") || (this.isLineStart() && !this.lastIs("and", "or", "not", "when", "unless"))) {
      this.keyword("never");
      return this.keyword("always");
    }
    if (this.lastIs("never", "always")) return this.effects();
    if (this.lastIs(...EFFECTS) && (this.last(2)?.image === "never" || this.last(2)?.image === "always")) return this.events("any");
    this.rule(false);
  }

  /* ---- completions ----------------------------------------------------------------------------- */

  private range(from = this.wordStart): Range {
    return rangeOf(this.doc, { offset: from, endOffset: this.offset });
  }

  private push(item: CompletionItem, from = this.wordStart): void {
    const key = `${item.kind}:${item.label}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const newText = item.insertText ?? item.label;
    const { insertText: _unused, ...rest } = item;
    this.out.push({ ...rest, textEdit: { range: this.range(from), newText } });
  }

  private docOf(word: string): KeywordDoc | undefined {
    return Object.prototype.hasOwnProperty.call(KEYWORD_DOCS, word) ? KEYWORD_DOCS[word as keyof typeof KEYWORD_DOCS] : undefined;
  }

  private keyword(word: string): void {
    const d = this.docOf(word);
    this.push({ label: word, kind: CompletionItemKind.Keyword, ...(d ? { documentation: { kind: "markdown", value: d.summary } } : {}) });
  }

  private plain(label: string, kind: CompletionItemKind, detail: string): void {
    this.push({ label, kind, detail });
  }

  private snippet(label: string, body: string, detail: string, kind: CompletionItemKind): void {
    const d = this.docOf(label);
    const doc = d ? { documentation: { kind: "markdown" as const, value: d.summary } } : {};
    if (this.options.snippets) this.push({ label, kind, detail, insertText: body, insertTextFormat: InsertTextFormat.Snippet, ...doc });
    else this.push({ label, kind, detail, ...doc });
  }

  private itemKeywords(): void {
    for (const [label, body, detail] of ITEM_SNIPPETS) this.snippet(label, body, detail, CompletionItemKind.Snippet);
  }

  private effects(): void {
    for (const e of EFFECTS) this.keyword(e);
  }

  private clauseKeywords(clause: string | null): void {
    const header = clause === null || clause === "for" || clause === "on";
    if (header && clause === null) this.keyword("for");
    if (header && clause !== "on") this.keyword("on");
    for (const c of CLAUSES) {
      if (c === "valid") this.plain("valid for", CompletionItemKind.Keyword, "valid for DURATION: the grant's lifetime");
      else if (c === "label") this.plain("label session +=", CompletionItemKind.Keyword, "label session += LABEL");
      else this.keyword(c);
    }
    if (this.inCondition()) for (const w of ["and", "or"]) this.keyword(w);
  }

  private conditionStart(): void {
    for (const r of ROOTS) this.keyword(r);
    this.plain("session has", CompletionItemKind.Keyword, "session has LABEL");
    for (const op of [...TEMPORAL, "deviates"] as const) this.snippet(op, TEMPORAL_SNIPPETS[op], TEMPORAL_SNIPPETS[op].replace(/\$\{\d+:([^}]*)\}/g, "$1"), CompletionItemKind.Function);
    for (const w of ["not", "true", "false"]) this.keyword(w);
  }

  private afterHas(): void {
    const subject = this.last(2);
    if (subject?.image === "session") return this.labels();
    if (subject && (["principal", "resource", "context"] as string[]).includes(subject.image)) this.attributeNames(subject.image as Entity);
  }

  /** `root.` completions: the root's built-in and declared attributes. */
  private attributes(root: (typeof ROOTS)[number], from: number): void {
    const builtin = BUILTIN_ATTRIBUTES[root] ?? {};
    for (const [name, type] of Object.entries(builtin)) this.push({ label: name, kind: CompletionItemKind.Property, detail: `${typeText(type)} (always present)` }, from);
    if (root === "action") return;
    const fields = this.a.attributes.get(root);
    for (const [name, f] of fields ?? []) this.push({ label: name, kind: CompletionItemKind.Property, detail: `${typeText(f.type)}${f.optional ? " (optional)" : ""}` }, from);
    // Without a schema for the entity: the attributes the policy already reads.
    if (!fields) for (const s of this.a.symbols.symbols("attribute")) if (s.name.startsWith(`${root}.`)) this.push({ label: s.name.slice(root.length + 1), kind: CompletionItemKind.Property, detail: "used in this policy" }, from);
  }

  private attributeNames(entity: Entity): void {
    for (const [name, f] of this.a.attributes.get(entity) ?? []) this.push({ label: name, kind: CompletionItemKind.Property, detail: typeText(f.type) });
    for (const [name, type] of Object.entries(BUILTIN_ATTRIBUTES[entity] ?? {})) this.push({ label: name, kind: CompletionItemKind.Property, detail: typeText(type) });
  }

  private enumValues(): void {
    const left = this.before.slice(-4, -1);
    if (left.length !== 3 || left[1]!.type !== "Dot") return;
    const type = this.a.attributes.get(left[0]!.image as Entity)?.get(left[2]!.image)?.type;
    if (type?.t === "string" && type.values) for (const v of type.values) this.push({ label: JSON.stringify(v), kind: CompletionItemKind.EnumMember, detail: `${left[0]!.image}.${left[2]!.image}` });
  }

  /**
   * Declared actions and known signals (`any`), or only one of them. With a signals block, the
   * signals offered are the declared ones (any other name is an error there, C240).
   */
  private events(which: "any" | "action" | "signal"): void {
    const kinds = which === "action" ? (["action", "event"] as const) : which === "signal" ? (["signal", "event"] as const) : (["action", "signal", "event"] as const);
    const declaresSignals = this.a.ast.items.some((i) => i.kind === "SignalsBlock");
    for (const s of this.a.symbols.symbols(...kinds)) {
      if (declaresSignals && s.kind === "signal" && s.declarations.length === 0) continue;
      const detail = s.kind === "action" ? (s.declarations.length > 0 ? "declared action" : "action") : s.kind === "signal" ? (s.declarations.length > 0 ? "declared signal" : "signal") : "action or signal";
      this.push({ label: s.name, kind: CompletionItemKind.Event, detail, filterText: s.name });
    }
  }

  private names(...kinds: ("rule" | "workflow")[]): void {
    for (const s of this.a.symbols.symbols(...kinds)) if (s.declarations.length > 0) this.push({ label: s.name, kind: CompletionItemKind.Reference, detail: s.kind });
  }

  private labels(): void {
    for (const s of this.a.symbols.symbols("label")) this.push({ label: s.name, kind: CompletionItemKind.EnumMember, detail: "session label" });
  }

  private keys(): void {
    this.push({ label: "session", kind: CompletionItemKind.Keyword, detail: "per session" });
    this.push({ label: "principal", kind: CompletionItemKind.Keyword, detail: "per principal (kind and id)" });
    for (const s of this.a.symbols.symbols("attribute")) this.push({ label: s.name, kind: CompletionItemKind.Property, detail: "per value of the attribute" });
    for (const [entity, fields] of this.a.attributes) for (const name of fields.keys()) this.push({ label: `${entity}.${name}`, kind: CompletionItemKind.Property, detail: "per value of the attribute" });
  }

  private durations(): void {
    for (const d of COMMON_DURATIONS) this.push({ label: d, kind: CompletionItemKind.Value, detail: "duration" });
  }

  private principalKinds(): void {
    const kind = this.a.attributes.get("principal")?.get("kind")?.type;
    const kinds = kind?.t === "string" && kind.values ? kind.values : PRINCIPAL_KINDS;
    for (const k of kinds) this.push({ label: k, kind: CompletionItemKind.Class, detail: "principal kind" });
    this.plain("*", CompletionItemKind.Operator, "any principal");
  }

  private obligations(): void {
    const used = new Set<string>(COMMON_OBLIGATIONS);
    for (const item of this.a.ast.items) if (item.kind === "RuleDecl") for (const c of item.clauses) if (c.kind === "RequireClause") used.add(c.obligation.value);
    for (const o of used) this.push({ label: o, kind: CompletionItemKind.EnumMember, detail: "obligation" });
  }
}
