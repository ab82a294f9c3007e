import type { Comment, Item, PolicyFile, RuleDecl } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";

/**
 * Comment attachment. The printer lays a file out in *units*: items, schema entities and fields,
 * action groups, a rule's header and each of its clauses, test steps and property claims. Every
 * comment is attached to exactly one unit:
 *
 * - **trailing** when it starts on the line where the preceding sibling unit ends (printed at the
 *   end of that unit's last line);
 * - **leading** of the next sibling unit otherwise (printed on its own lines before it);
 * - **dangling** when no unit follows inside the enclosing block (printed before its `}`; at the top
 *   level, at the end of the file).
 *
 * A comment inside a unit that the printer writes as one piece (a clause, a workflow, a field)
 * becomes a leading comment of that unit: the printer cannot keep it between two tokens, but it
 * keeps it next to them.
 */
export interface Attached {
  readonly leading: Comment[];
  readonly trailing: Comment[];
  readonly dangling: Comment[];
}

export interface Unit {
  /** The AST object the printer looks the comments up by. */
  readonly key: object;
  readonly span: Pick<Span, "offset" | "endOffset" | "line" | "endLine">;
  readonly children: readonly Unit[];
}

export type CommentMap = ReadonlyMap<object, Attached>;

/** The key of a rule's header unit (`rule NAME: EFFECT targets [for ...] [on ...]`). */
export function ruleHeaderKey(rule: RuleDecl): object {
  return rule.name;
}

export function attachComments(file: PolicyFile): Map<object, Attached> {
  const map = new Map<object, Attached>();
  if (file.comments.length === 0) return map;
  const root: Unit = { key: file, span: file.span, children: [...(file.header ?? []).map(leaf), ...file.items.map(itemUnit)] };
  for (const c of file.comments) attach(root, c, map, true);
  return map;
}

function slot(map: Map<object, Attached>, key: object): Attached {
  let a = map.get(key);
  if (!a) {
    a = { leading: [], trailing: [], dangling: [] };
    map.set(key, a);
  }
  return a;
}

function attach(unit: Unit, c: Comment, map: Map<object, Attached>, isRoot: boolean): void {
  const inner = unit.children.find((u) => u.span.offset < c.span.offset && c.span.endOffset <= u.span.endOffset);
  if (inner) return attach(inner, c, map, false);
  let before: Unit | undefined;
  let after: Unit | undefined;
  for (const u of unit.children) {
    if (u.span.endOffset <= c.span.offset) before = u;
    else if (u.span.offset >= c.span.endOffset && !after) after = u;
  }
  if (before && before.span.endLine === c.span.line) slot(map, before.key).trailing.push(c);
  else if (after) slot(map, after.key).leading.push(c);
  else if (unit.children.length === 0 && !isRoot && !isBlock(unit)) slot(map, unit.key).leading.push(c);
  else slot(map, unit.key).dangling.push(c);
}

function isBlock(unit: Unit): boolean {
  const kind = (unit.key as { kind?: string }).kind;
  return kind === "SchemaBlock" || kind === "EntitySchema" || kind === "ActionsBlock" || kind === "SignalsBlock" || kind === "TestDecl" || kind === "PropertyDecl";
}

function leaf(key: object & { span: Span }): Unit {
  return { key, span: key.span, children: [] };
}

function itemUnit(item: Item): Unit {
  switch (item.kind) {
    case "SchemaBlock":
      return {
        key: item,
        span: item.span,
        children: item.entities.map((e) => ({ key: e, span: e.span, children: e.fields.map(leaf) })),
      };
    case "ActionsBlock":
    case "SignalsBlock":
      return { key: item, span: item.span, children: item.groups.map(leaf) };
    case "RuleDecl":
      return { key: item, span: item.span, children: [ruleHeaderUnit(item), ...item.clauses.map(leaf)] };
    case "WorkflowDecl":
      return leaf(item);
    case "TestDecl":
      return { key: item, span: item.span, children: [...(item.given ? [leaf(item.given)] : []), ...item.steps.map(leaf)] };
    case "PropertyDecl":
      return { key: item, span: item.span, children: item.claims.map(leaf) };
  }
}

function ruleHeaderUnit(rule: RuleDecl): Unit {
  const parts = [rule.name.span, rule.effectSpan, ...rule.targets.map((t) => t.span), ...rule.principals.map((p) => p.span), ...rule.resources.map((r) => r.span)];
  let end = parts[0]!;
  for (const s of parts) if (s.endOffset > end.endOffset) end = s;
  return {
    key: ruleHeaderKey(rule),
    span: { offset: rule.span.offset, line: rule.span.line, endOffset: end.endOffset, endLine: end.endLine },
    children: [],
  };
}
