/**
 * The canonical layout of a `.rules` file.
 *
 * - Items are separated by one blank line, except that consecutive rules and workflows that each
 *   fit on one line stay together unless the source had a blank line between them. Between items
 *   and inside blocks one blank line is kept where the source had any; two never appear.
 * - Blocks (`schema`, `actions`, `test`, `property`) open with `{` on the item's line, indent their
 *   contents by two spaces and close with `}` on a line of its own; an empty block is `{}`.
 * - `schema`: one entity per line as `principal { a: string, b?: number }` when that fits in 100
 *   columns, otherwise one field per line, each followed by a comma.
 * - `actions`: one tag group per line, `a.b, c.d [high]`; a group that does not fit wraps after a
 *   comma onto a line indented by four more spaces.
 * - A rule is one line, `rule NAME: EFFECT targets [for ...] [on ...] [clause]`, when it has at
 *   most one clause and fits in 100 columns. Otherwise the header stays on the first line (with
 *   `for` and `on` on their own lines, indented by two, when even the header does not fit) and
 *   every clause goes on its own line indented by two, in source order. A `when`/`unless`
 *   condition that does not fit breaks before each top-level `and`/`or`, the operators indented by
 *   two more (see `breakExpr`). Property claims follow the same layout inside their block.
 * - A workflow is one line when it fits; otherwise `workflow NAME by KEY:` and then the steps on
 *   the next line (wrapping before `->`) and `on deviation ...` on a line of its own, indented by
 *   two. A wildcard step repeated is `ticket.* *`.
 * - Tests: one step per line, never wrapped.
 * - Expressions use the fewest parentheses the precedence needs; strings are re-escaped, numbers are
 *   canonical decimals (`0.90` is `0.9`), durations are written as in the source. A principal of
 *   any id is `agent *`; a resource glob is bare (`repo/*`) when the lexer reads it back as one.
 * - Comments are attached to the nearest unit (see `comments.ts`) and printed before it or at the
 *   end of its last line. A comment on a clause, or after a rule's header with clauses following,
 *   makes the rule take its long form so the comment stays next to its clause; a comment between
 *   the tokens of one line moves above that line.
 */
import type {
  ActionGroup,
  ActionsBlock,
  AttributeMatch,
  Clause,
  Comment,
  EntitySchema,
  FieldDecl,
  HeaderItem,
  Item,
  PolicyFile,
  PrincipalSelector,
  PropertyClaim,
  PropertyDecl,
  ResourceSelector,
  RuleDecl,
  SchemaBlock,
  SignalGroup,
  SignalsBlock,
  Target,
  TestDecl,
  TestGiven,
  TestStep,
  TestWith,
  TypeExpr,
  WhenClause,
  WorkflowDecl,
  WorkflowStep,
} from "../ast/nodes.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { parsePolicy } from "../syntax/index.js";
import { attachComments, ruleHeaderKey, type Attached, type CommentMap } from "./comments.js";
import { breakExpr, formatExpr } from "./expr.js";
import { INDENT, WIDTH, fill, printList, type Entry } from "./layout.js";
import { formatAction, formatDuration, formatKey, formatLiteral, formatPath, formatResourceGlob, formatSet, formatString } from "./lexical.js";

export function printPolicy(ast: PolicyFile): string {
  return new Printer(attachComments(ast)).file(ast);
}

export interface FormatResult {
  /** The formatted text, or `null` when the source has errors: a broken file is never rewritten. */
  readonly output: string | null;
  readonly diagnostics: Diagnostic[];
}

/** Parse `source` and print it in the canonical layout, comments included. */
export function formatSource(source: string, file = "<input>"): FormatResult {
  const { ast, diagnostics } = parsePolicy(source, { file });
  if (hasErrors(diagnostics)) return { output: null, diagnostics };
  return { output: printPolicy(ast), diagnostics };
}

const NONE: Attached = { leading: [], trailing: [], dangling: [] };

class Printer {
  constructor(private readonly comments: CommentMap) {}

  private att(key: object): Attached {
    return this.comments.get(key) ?? NONE;
  }

  file(ast: PolicyFile): string {
    let prevOneLiner = false;
    // The header (import, use, param) comes first, one line each; a blank line sets it off.
    const header = (ast.header ?? []).map((h): Entry => this.entry(h, [headerLine(h)]));
    const entries = ast.items.map((item, i): Entry => {
      const lines = this.item(item);
      const oneLiner = lines.length === 1 && (item.kind === "RuleDecl" || item.kind === "WorkflowDecl");
      const entry = { ...this.entry(item, lines), blankBefore: (i > 0 || header.length > 0) && !(oneLiner && prevOneLiner) };
      prevOneLiner = oneLiner;
      return entry;
    });
    const lines = printList([...header, ...entries], { indent: "", keepBlankLines: true, dangling: this.att(ast).dangling });
    const text = lines.map((l) => l.trimEnd()).join("\n");
    return text.length === 0 ? "" : text + "\n";
  }

  private entry(node: Item | HeaderItem | { span: Entry["span"] }, lines: readonly string[]): Entry {
    const a = this.att(node);
    let leading: readonly Comment[] = a.leading;
    // A comment inside a rule's header is printed before the rule, like a comment above it.
    if ((node as Item).kind === "RuleDecl") {
      const header = this.att(ruleHeaderKey(node as RuleDecl)).leading;
      if (header.length > 0) leading = [...leading, ...header].sort((x, y) => x.span.offset - y.span.offset);
    }
    return { lines, span: node.span, leading, trailing: a.trailing };
  }

  private item(item: Item): string[] {
    switch (item.kind) {
      case "SchemaBlock":
        return this.schema(item);
      case "ActionsBlock":
        return this.actions(item);
      case "SignalsBlock":
        return this.signals(item);
      case "RuleDecl":
        return this.rule(item, "");
      case "WorkflowDecl":
        return workflow(item, "");
      case "TestDecl":
        return this.test(item);
      case "PropertyDecl":
        return this.property(item);
    }
  }

  /** `head {` children `}`, or `head {}` when there is nothing inside. */
  private block(head: string, indent: string, key: object, children: readonly Entry[]): string[] {
    const dangling = this.att(key).dangling;
    if (children.length === 0 && dangling.length === 0) return [`${indent}${head} {}`];
    const inner = printList(children, { indent: indent + INDENT, keepBlankLines: true, dangling });
    return [`${indent}${head} {`, ...inner, `${indent}}`];
  }

  private schema(s: SchemaBlock): string[] {
    return this.block("schema", "", s, s.entities.map((e) => this.entry(e, this.entity(e, INDENT))));
  }

  private entity(e: EntitySchema, indent: string): string[] {
    const hasComments = this.att(e).dangling.length > 0 || e.fields.some((f) => this.comments.has(f));
    const oneLine = `${indent}${e.entity} { ${e.fields.map(field).join(", ")} }`;
    if (e.fields.length === 0 && !hasComments) return [`${indent}${e.entity} {}`];
    if (!hasComments && oneLine.length <= WIDTH) return [oneLine];
    return this.block(e.entity, indent, e, e.fields.map((f) => this.entry(f, [`${indent}${INDENT}${field(f)},`])));
  }

  private actions(a: ActionsBlock): string[] {
    return this.block("actions", "", a, a.groups.map((g) => this.entry(g, actionGroup(g, INDENT))));
  }

  private signals(b: SignalsBlock): string[] {
    return this.block("signals", "", b, b.groups.map((g) => this.entry(g, signalGroup(g, INDENT))));
  }

  /** A rule; `indent` is where its first line starts. */
  private rule(r: RuleDecl, indent: string): string[] {
    const head = `rule ${r.name.value}: ${r.effect}`;
    const forced = this.att(ruleHeaderKey(r)).trailing.length > 0 || r.clauses.some((c) => this.comments.has(c));
    const header = headerLines(head, r.targets, r.principals, r.resources, indent);
    const oneLine = r.clauses.length <= 1 && header.length === 1 && !forced ? header[0] + r.clauses.map((c) => " " + clauseText(c)).join("") : null;
    if (oneLine !== null && oneLine.length <= WIDTH) return [oneLine];
    const entries: Entry[] = [
      { lines: header, span: r.name.span, leading: [], trailing: this.att(ruleHeaderKey(r)).trailing },
      ...r.clauses.map((c) => this.entry(c, clauseLines(c, indent + INDENT))),
    ];
    return printList(entries, { indent: indent + INDENT, keepBlankLines: false });
  }

  private test(t: TestDecl): string[] {
    const given = t.given ? [this.entry(t.given, [INDENT + givenText(t.given)])] : [];
    return this.block(`test ${formatString(t.name.value)}`, "", t, [...given, ...t.steps.map((s) => this.entry(s, [INDENT + testStep(s)]))]);
  }

  private property(p: PropertyDecl): string[] {
    return this.block(`property ${formatString(p.name.value)}`, "", p, p.claims.map((c) => this.entry(c, claim(c, INDENT))));
  }
}

/* ---- schema ----------------------------------------------------------------------------- */

function field(f: FieldDecl): string {
  const tags = f.tags.length > 0 ? ` [${f.tags.map((t) => t.value).join(", ")}]` : "";
  return `${f.name.value}${f.optional ? "?" : ""}: ${typeText(f.type)}${tags}`;
}

function typeText(t: TypeExpr): string {
  switch (t.kind) {
    case "PrimType":
      return t.name;
    case "SetType":
      return `set<${typeText(t.element)}>`;
    case "EnumType":
      return t.values.map((v) => formatString(v.value)).join(" | ");
  }
}

/* ---- actions ---------------------------------------------------------------------------- */

function actionGroup(g: ActionGroup, indent: string): string[] {
  const tags = g.tags.length > 0 ? ` [${g.tags.map((t) => t.value).join(", ")}]` : "";
  return fill(indent, g.actions.map(formatAction), ", ", indent + INDENT + INDENT, tags);
}

function signalGroup(g: SignalGroup, indent: string): string[] {
  return fill(indent, g.signals.map(formatAction), ", ", indent + INDENT + INDENT, "");
}

/* ---- rules and claims ------------------------------------------------------------------- */

function targetText(t: Target): string {
  return t.kind === "SignalTarget" ? `signal ${formatAction(t.pattern)}` : formatAction(t.pattern);
}

function attributes(attrs: readonly AttributeMatch[]): string {
  return attrs.length === 0 ? "" : ` { ${attrs.map((a) => `${a.name.value}: ${formatLiteral(a.value)}`).join(", ")} }`;
}

function principalText(p: PrincipalSelector): string {
  if (p.principalKind === null) return "*";
  return `${p.principalKind.value} ${p.id ? formatString(p.id.value) : "*"}${attributes(p.attributes)}`;
}

function resourceText(r: ResourceSelector): string {
  return formatResourceGlob(r.glob);
}

/**
 * `head targets [for ...] [on ...]` on one line, or, when that does not fit, with `for` and `on` on
 * their own lines indented by two.
 */
function headerLines(
  head: string,
  targets: readonly Target[],
  principals: readonly PrincipalSelector[],
  resources: readonly ResourceSelector[],
  indent: string,
): string[] {
  const first = `${indent}${head} ${targets.map(targetText).join(", ")}`;
  const forText = principals.length > 0 ? `for ${principals.map(principalText).join(", ")}` : "";
  const onText = resources.length > 0 ? `on ${resources.map(resourceText).join(", ")}` : "";
  const one = [first, forText, onText].filter((s) => s.length > 0).join(" ");
  if (one.length <= WIDTH || (!forText && !onText)) return [one];
  return [first, ...[forText, onText].filter((s) => s.length > 0).map((s) => indent + INDENT + s)];
}

function clauseText(c: Clause): string {
  switch (c.kind) {
    case "WhenClause":
      return `${c.negated ? "unless" : "when"} ${formatExpr(c.condition)}`;
    case "ReasonClause":
      return `reason ${formatString(c.text.value)}`;
    case "LimitClause":
      return `limit ${formatLiteral(c.count)}${c.distinct ? ` distinct ${c.distinct.segments.length === 0 ? "resource" : formatPath(c.distinct)}` : ""} per ${formatKey(c.key)}${c.window ? ` within ${formatDuration(c.window)}` : ""}`;
    case "ValidForClause":
      return `valid for ${formatDuration(c.duration)}${c.key ? ` per ${formatKey(c.key)}` : ""}`;
    case "LabelClause":
      return `label session += ${c.label.value}${c.duration ? ` for ${formatDuration(c.duration)}` : ""}`;
    case "RequireClause":
      return `require ${c.obligation.value}${c.satisfiedBy ? ` satisfied by ${formatAction(c.satisfiedBy)}` : ""}`;
    case "TargetKeyClause":
      return `target ${formatKey(c.key)}`;
  }
}

/** A clause on its own line(s) at `indent`; only conditions ever break. */
function clauseLines(c: Clause, indent: string): string[] {
  if (c.kind !== "WhenClause") return [indent + clauseText(c)];
  return conditionLines(c, indent);
}

function conditionLines(c: WhenClause, indent: string): string[] {
  return breakExpr(c.condition, 0, indent.length + 2, `${indent}${c.negated ? "unless" : "when"} `, "", WIDTH);
}

function claim(c: PropertyClaim, indent: string): string[] {
  const head = `${c.quantifier} ${c.effect}`;
  const header = headerLines(head, c.targets, c.principals, c.resources, indent);
  if (c.conditions.length <= 1 && header.length === 1) {
    const one = header[0] + c.conditions.map((w) => " " + clauseText(w)).join("");
    if (one.length <= WIDTH) return [one];
  }
  return [...header, ...c.conditions.flatMap((w) => conditionLines(w, indent + INDENT))];
}

/* ---- workflows -------------------------------------------------------------------------- */

function stepText(s: WorkflowStep): string {
  const mark = { one: "", optional: "?", many: "*", some: "+" }[s.repeat];
  const body = s.actions.length === 1 ? formatAction(s.actions[0]!) : `(${s.actions.map(formatAction).join(" | ")})`;
  // `ticket.* *`, not `ticket.**`: the repetition mark stays visible after a wildcard.
  return body.endsWith("*") && mark === "*" ? `${body} ${mark}` : body + mark;
}

function workflow(w: WorkflowDecl, indent: string): string[] {
  const scope = w.scope.length > 0 ? ` over ${w.scope.map(formatAction).join(", ")}` : "";
  const head = `${indent}workflow ${w.name.value} by ${formatKey(w.key)}${scope}:`;
  const steps = w.steps.map(stepText);
  const dev = w.onDeviation
    ? `on deviation ${w.onDeviation.effect}${w.onDeviation.reason ? ` reason ${formatString(w.onDeviation.reason.value)}` : ""}`
    : "";
  const one = `${head} ${steps.join(" -> ")}${dev ? " " + dev : ""}`;
  if (one.length <= WIDTH) return [one];
  const pad = indent + INDENT;
  const lines = [head];
  let line = pad + steps[0];
  for (const s of steps.slice(1)) {
    if (line.length + 4 + s.length > WIDTH) {
      lines.push(line);
      line = `${pad}-> ${s}`;
    } else line += ` -> ${s}`;
  }
  lines.push(line);
  if (dev) lines.push(pad + dev);
  return lines;
}

/* ---- header ----------------------------------------------------------------------------- */

/** `import "x.rules"`, `use leash/login { failures: 10 }`, `param failures = 5`. */
function headerLine(h: HeaderItem): string {
  switch (h.kind) {
    case "ImportDecl":
      return `import ${formatString(h.path.value)}`;
    case "UseDecl":
      return h.params.length === 0 ? `use ${h.module.value}` : `use ${h.module.value} { ${h.params.map((p) => `${p.name.value}: ${formatLiteral(p.value)}`).join(", ")} }`;
    case "ParamDecl":
      return `param ${h.name.value} = ${formatLiteral(h.default)}`;
  }
}

/* ---- tests ------------------------------------------------------------------------------ */

function withText(w: TestWith): string {
  if (w.kind === "WithSession") return `session ${formatString(w.session.value)}`;
  if (w.fields.length === 0) return `${w.entity} {}`;
  const fields = w.fields.map((f) => `${f.name.value}: ${f.value.kind === "SetLit" ? formatSet(f.value) : formatLiteral(f.value)}`);
  return `${w.entity} { ${fields.join(", ")} }`;
}

function givenText(g: TestGiven): string {
  const parts = ["given"];
  if (g.principal) parts.push(g.principal.kind.value, formatString(g.principal.id.value));
  parts.push(...g.with.map(withText));
  return parts.join(" ");
}

function testStep(s: TestStep): string {
  const parts: string[] = [];
  if (s.at) parts.push(`at ${formatDuration(s.at)}`);
  if (s.kind === "TestRequest") {
    if (s.principalKind && s.principalId) parts.push(s.principalKind.value, formatString(s.principalId.value));
    parts.push(formatAction(s.action));
    if (s.resource) parts.push(resourceText(s.resource));
    parts.push(...s.with.map(withText));
    if (s.expect) parts.push("=>", s.expect.effect, ...(s.expect.rule ? ["by", s.expect.rule.value] : []));
  } else {
    parts.push("signal", formatAction(s.signal));
    if (s.principal) parts.push("by", s.principal.kind.value, formatString(s.principal.id.value));
    parts.push(...s.with.map(withText));
  }
  return parts.join(" ");
}
