import type {
  ActionPattern,
  EventSelector,
  Expr,
  Item,
  KeyRef,
  Path,
  PolicyFile,
  PrincipalSelector,
  PropertyClaim,
  Target,
  TemporalCall,
  WhenClause,
} from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { isTemporal, walkExpr } from "../ast/walk.js";

/**
 * The names a policy declares and uses, for hover, go to definition, find references and rename:
 * rules, workflows, actions, signals, session labels and schema attributes.
 *
 * Names live in four namespaces: rules and workflows share one (a workflow's `on deviation` adds a
 * rule of the workflow's name, and `=> deny by NAME` may name either); actions and signals share
 * one (a history without a filter sees both, by name); labels; attributes (`context.risk`). An
 * occurrence says how the name is used where it is written; the symbol collects them.
 *
 * Each item kind has one collector in `ITEM_SYMBOLS`, so a new kind of declaration (a `signals`
 * block, say) is one entry there that calls `declare` — the table is typed over every item kind,
 * so the compiler asks for it.
 */
export type SymbolKind = "rule" | "workflow" | "action" | "signal" | "event" | "label" | "attribute";

/** How a dotted name is written where it occurs: surely an action, surely a signal, or either. */
type EventUse = "action" | "signal" | "either";

export interface Occurrence {
  /** The symbol's identity: namespace and name (`event:secret.read`, `rule:no-exfil`). */
  readonly key: string;
  readonly kind: SymbolKind;
  readonly name: string;
  /** Exactly the text of the name here: what a rename replaces. */
  readonly span: Span;
  readonly role: "declaration" | "reference";
  /** The item it occurs in. */
  readonly item: Item;
  /** For dotted names: how this place uses it. */
  readonly use: EventUse | undefined;
}

export interface PolicySymbol {
  readonly key: string;
  /** For events: `action` when declared or used as an action only, `signal` when only observed, else `event`. */
  readonly kind: SymbolKind;
  readonly name: string;
  readonly declarations: readonly Occurrence[];
  readonly references: readonly Occurrence[];
}

/** A dotted pattern with a `*` (`ticket.*`): not a name, but hover shows what it matches. */
export interface PatternOccurrence {
  readonly segments: readonly string[];
  readonly span: Span;
  readonly item: Item;
}

export const ENTITY_ROOTS = ["principal", "resource", "context", "action"] as const;

export class SymbolIndex {
  /** Every occurrence, sorted by offset (they never overlap). */
  readonly occurrences: readonly Occurrence[];
  readonly patterns: readonly PatternOccurrence[];
  private readonly byKey = new Map<string, { -readonly [K in keyof PolicySymbol]: PolicySymbol[K] } & { declarations: Occurrence[]; references: Occurrence[] }>();

  constructor(
    readonly ast: PolicyFile,
    text: string,
  ) {
    const collector = new Collector(text);
    for (const item of ast.items) {
      collector.item = item;
      (ITEM_SYMBOLS[item.kind] as (item: Item, c: Collector) => void)(item, collector);
    }
    const raw = collector.out.sort((a, b) => a.span.offset - b.span.offset);
    const groups = new Map<string, RawOccurrence[]>();
    for (const o of raw) {
      const list = groups.get(o.key);
      if (list) list.push(o);
      else groups.set(o.key, [o]);
    }
    const kinds = new Map<string, SymbolKind>();
    for (const [key, list] of groups) kinds.set(key, resolveKind(list));
    this.occurrences = raw.map((o) => ({ key: o.key, kind: kinds.get(o.key)!, name: o.name, span: o.span, role: o.role, item: o.item, use: o.use }));
    for (const o of this.occurrences) {
      let s = this.byKey.get(o.key);
      if (!s) {
        s = { key: o.key, kind: o.kind, name: o.name, declarations: [], references: [] };
        this.byKey.set(o.key, s);
      }
      (o.role === "declaration" ? s.declarations : s.references).push(o);
    }
    this.patterns = collector.patterns;
  }

  /** The occurrence whose name contains `offset` (its end included, where a cursor after a name is). */
  at(offset: number): Occurrence | undefined {
    const list = this.occurrences;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const o = list[mid]!;
      if (o.span.endOffset < offset) lo = mid + 1;
      else if (o.span.offset > offset) hi = mid - 1;
      else return o;
    }
    return undefined;
  }

  patternAt(offset: number): PatternOccurrence | undefined {
    return this.patterns.find((p) => p.span.offset <= offset && offset <= p.span.endOffset);
  }

  symbol(key: string): PolicySymbol | undefined {
    return this.byKey.get(key);
  }

  /** Every symbol of the given kinds, in order of first occurrence. */
  symbols(...kinds: SymbolKind[]): PolicySymbol[] {
    return [...this.byKey.values()].filter((s) => kinds.length === 0 || kinds.includes(s.kind));
  }
}

/** The namespace of a kind: the part of a key before the name. */
export function namespaceOf(kind: SymbolKind): string {
  switch (kind) {
    case "rule":
    case "workflow":
      return "rule";
    case "action":
    case "signal":
    case "event":
      return "event";
    case "label":
      return "label";
    case "attribute":
      return "attribute";
  }
}

export function symbolKey(kind: SymbolKind, name: string): string {
  return `${namespaceOf(kind)}:${name}`;
}

/** An occurrence before its symbol's kind is known (`kind` is then as written here). */
type RawOccurrence = Occurrence;

function resolveKind(list: readonly RawOccurrence[]): SymbolKind {
  const first = list[0]!;
  if (namespaceOf(first.kind) === "rule") {
    // Declared: what the declaration says; undeclared: a workflow if `deviates(...)` names it.
    const declared = list.find((o) => o.role === "declaration");
    return (declared ?? list.find((o) => o.kind === "workflow") ?? first).kind;
  }
  if (namespaceOf(first.kind) !== "event") return first.kind;
  const declaredAs = list.find((o) => o.role === "declaration")?.kind;
  const action = declaredAs === "action" || list.some((o) => o.use === "action");
  const signal = declaredAs === "signal" || list.some((o) => o.use === "signal");
  return action && !signal ? "action" : signal && !action ? "signal" : "event";
}

/* ---- collecting ------------------------------------------------------------------------------ */

class Collector {
  readonly out: RawOccurrence[] = [];
  readonly patterns: PatternOccurrence[] = [];
  item!: Item;

  constructor(private readonly text: string) {}

  declare(kind: SymbolKind, name: string, span: Span, use?: EventUse): void {
    this.add(kind, name, span, "declaration", use);
  }

  reference(kind: SymbolKind, name: string, span: Span, use?: EventUse): void {
    this.add(kind, name, span, "reference", use);
  }

  private add(kind: SymbolKind, name: string, span: Span, role: Occurrence["role"], use?: EventUse): void {
    this.out.push({ key: symbolKey(kind, name), kind, name, span, role, item: this.item, use });
  }

  /** An action or signal name (a pattern with `*` is remembered for hover only). */
  event(p: ActionPattern, use: EventUse, role: Occurrence["role"] = "reference"): void {
    if (p.segments.includes("*")) {
      this.patterns.push({ segments: p.segments, span: p.span, item: this.item });
      return;
    }
    const kind: SymbolKind = use === "action" ? "action" : use === "signal" ? "signal" : "event";
    this.add(kind, p.segments.join("."), p.span, role, use);
  }

  target(t: Target): void {
    this.event(t.pattern, t.kind === "SignalTarget" ? "signal" : "action");
  }

  selector(s: EventSelector): void {
    const use: EventUse = s.filter === "signal" ? "signal" : s.filter === "happened" ? "either" : "action";
    for (const p of s.patterns) this.event(p, use);
  }

  /** `context.risk`: an attribute reference whose span is the attribute's name, `risk`. */
  path(p: Path): void {
    const first = p.segments[0];
    if (first === undefined) return;
    const span = segmentSpan(this.text, p.span, first);
    if (span !== null) this.reference("attribute", `${p.root}.${first}`, span);
  }

  key(k: KeyRef | null): void {
    if (k?.kind === "PathKey") this.path(k.path);
    else if (k?.kind === "CompoundKey") k.parts.forEach((p) => this.key(p));
  }

  principals(list: readonly PrincipalSelector[]): void {
    for (const s of list) for (const a of s.attributes) this.reference("attribute", `principal.${a.name.value}`, a.name.span);
  }

  condition(c: WhenClause): void {
    walkExpr(c.condition, (e) => this.expr(e));
  }

  private expr(e: Expr): void {
    switch (e.kind) {
      case "Path":
        this.path(e);
        return;
      case "HasExpr":
        if (e.subject.kind === "Path") this.path(e.subject);
        else this.reference("attribute", `${e.subject.root}.${e.attribute.value}`, e.attribute.span);
        return;
      case "SessionHasExpr":
        this.reference("label", e.label.value, e.label.span);
        return;
      case "DeviatesCall":
        this.reference("workflow", e.workflow.value, e.workflow.span);
        return;
      default:
        if (isTemporal(e)) this.temporal(e);
    }
  }

  private temporal(t: TemporalCall): void {
    switch (t.kind) {
      case "DeviatesCall":
        return;
      case "AfterCall":
        this.selector(t.events);
        if (t.until) this.selector(t.until);
        break;
      case "SequenceCall":
        for (const s of t.stages) this.selector(s);
        if (t.until) this.selector(t.until);
        break;
      case "DistinctCall":
        this.path(t.attribute);
        if (t.events) this.selector(t.events);
        break;
      default:
        this.selector(t.events);
    }
    this.key(t.key);
  }

  claim(c: PropertyClaim): void {
    for (const t of c.targets) this.target(t);
    this.principals(c.principals);
    for (const w of c.conditions) this.condition(w);
  }
}

/** The span of the first segment `name` inside the path written at `span` (`context . risk` too). */
function segmentSpan(text: string, span: Span, name: string): Span | null {
  let i = text.indexOf(".", span.offset);
  if (i < 0 || i >= span.endOffset) return null;
  i++;
  while (i < span.endOffset && /\s/.test(text[i]!)) i++;
  if (text.slice(i, i + name.length) !== name) return null;
  const before = text.slice(span.offset, i);
  const lines = before.split("\n").length - 1;
  const column = lines === 0 ? span.column + (i - span.offset) : i - text.lastIndexOf("\n", i - 1);
  return { file: span.file, offset: i, endOffset: i + name.length, line: span.line + lines, column, endLine: span.line + lines, endColumn: column + name.length };
}

type ItemCollectors = { readonly [K in Item["kind"]]: (item: Extract<Item, { kind: K }>, c: Collector) => void };

/** What each kind of item declares and references. A new item kind adds its entry here. */
const ITEM_SYMBOLS: ItemCollectors = {
  SchemaBlock: (item, c) => {
    for (const e of item.entities) for (const f of e.fields) c.declare("attribute", `${e.entity}.${f.name.value}`, f.name.span);
  },
  ActionsBlock: (item, c) => {
    for (const g of item.groups) for (const a of g.actions) c.event(a, "action", "declaration");
  },
  SignalsBlock: (item, c) => {
    for (const g of item.groups) for (const s of g.signals) c.event(s, "signal", "declaration");
  },
  RuleDecl: (item, c) => {
    c.declare("rule", item.name.value, item.name.span);
    for (const t of item.targets) c.target(t);
    c.principals(item.principals);
    for (const cl of item.clauses) {
      switch (cl.kind) {
        case "WhenClause":
          c.condition(cl);
          break;
        case "LabelClause":
          c.declare("label", cl.label.value, cl.label.span);
          break;
        case "RequireClause":
          if (cl.satisfiedBy) c.event(cl.satisfiedBy, "signal");
          break;
        case "LimitClause":
          c.key(cl.key);
          if (cl.distinct && cl.distinct.segments.length > 0) c.path(cl.distinct);
          break;
        case "TargetKeyClause":
          c.key(cl.key);
          break;
        case "ValidForClause":
          c.key(cl.key);
          break;
        case "ReasonClause":
          break;
      }
    }
  },
  WorkflowDecl: (item, c) => {
    c.declare("workflow", item.name.value, item.name.span);
    c.key(item.key);
    for (const p of item.scope) c.event(p, "action");
    for (const s of item.steps) for (const a of s.actions) c.event(a, "action");
  },
  TestDecl: (item, c) => {
    for (const w of item.given?.with ?? []) if (w.kind === "WithAttributes") for (const f of w.fields) c.reference("attribute", `${w.entity}.${f.name.value}`, f.name.span);
    for (const s of item.steps) {
      if (s.kind === "TestRequest") {
        c.event(s.action, "action");
        if (s.expect?.rule) c.reference("rule", s.expect.rule.value, s.expect.rule.span);
      } else c.event(s.signal, "signal");
      for (const w of s.with) if (w.kind === "WithAttributes") for (const f of w.fields) c.reference("attribute", `${w.entity}.${f.name.value}`, f.name.span);
    }
  },
  PropertyDecl: (item, c) => {
    for (const claim of item.claims) c.claim(claim);
  },
};
