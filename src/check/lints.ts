import type {
  ActionPattern,
  CompareExpr,
  EventSelector,
  Expr,
  KeyRef,
  Literal,
  Path,
  PolicyFile,
  PrincipalSelector,
  RuleDecl,
  TemporalCall,
  WorkflowDecl,
} from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { stripSpans } from "../ast/strip.js";
import { isTemporal, rulesOf, walkExpr, workflowsOf } from "../ast/walk.js";
import { diagnostic, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { formatExpr } from "../format/expr.js";
import { formatKey, formatLiteral, formatResourceGlob, formatString } from "../format/lexical.js";
import { actionPatternMatches, compileGlob, globMatch } from "../runtime/glob.js";
import { applyAllowComments } from "./allow.js";
import { declares, eventVocabulary } from "./events.js";
import { patternCovers } from "./patterns.js";
import { buildSchema, type Entity, type SchemaEnv } from "./schema.js";

/**
 * Lints: warnings (`W4xx`) about policies that are valid but almost certainly not what their author
 * meant — a rule that can never decide, a condition that is constant, a declaration nothing uses.
 * They never stop compilation; `leash check` prints them and `--deny-warnings` makes them fail.
 * Each lint is a small named function over the checked AST; `lintPolicy` runs them all and drops
 * the warnings an allow comment (`// leash: allow W409 -- why`, src/check/allow.ts) keeps on purpose.
 */
export interface LintOptions {
  /** Lifetime of windowless state after a key's last event, as given to `compilePolicy` (default 24h). */
  readonly keyTtlMs?: number;
}

export { patternCovers };

const DEFAULT_KEY_TTL = 24 * 3600 * 1000;

interface Lint {
  readonly name: string;
  run(ctx: LintContext, out: Diagnostic[]): void;
}

interface LintContext {
  readonly file: PolicyFile;
  readonly schema: SchemaEnv;
  readonly rules: readonly RuleDecl[];
  readonly workflows: readonly WorkflowDecl[];
  /** Declared actions (without an actions block: `null`). */
  readonly declared: readonly DeclaredAction[] | null;
  /** Declared signals, names and patterns (without a signals block: `null`). */
  readonly signals: readonly (readonly string[])[] | null;
  readonly keyTtlMs: number;
}

interface DeclaredAction {
  readonly name: string;
  readonly high: boolean;
  readonly span: Span;
}

/** The lints in the order they run; each reports every instance it finds. */
export const LINTS: readonly Lint[] = [
  { name: "shadowed-rule", run: lintShadowed },
  { name: "allow-never-decides", run: lintAllowNeverDecides },
  { name: "constant-condition", run: lintConstantConditions },
  { name: "unused-action", run: lintUnusedActions },
  { name: "unused-attribute", run: lintUnusedAttributes },
  { name: "undeclared-event", run: lintUndeclaredEvents },
  { name: "duplicate-rule", run: lintDuplicateRules },
  { name: "outlives-state", run: lintOutlivesState },
  { name: "high-only-by-wildcard", run: lintHighOnlyByWildcard },
  { name: "idle-lifetime", run: lintIdleLifetime },
  { name: "undeclared-signals", run: lintUndeclaredSignals },
];

/**
 * Runs every lint over a parsed, checked policy and returns the warnings sorted by position.
 * `schema` is the environment `checkPolicy` built (rebuilt from the file when omitted). Run it only
 * on a policy without check errors: the lints assume names resolve.
 */
export function lintPolicy(file: PolicyFile, schema?: SchemaEnv, options: LintOptions = {}): Diagnostic[] {
  const ctx: LintContext = {
    file,
    schema: schema ?? buildSchema(file, []),
    rules: rulesOf(file),
    workflows: workflowsOf(file),
    declared: declaredActions(file),
    signals: eventVocabulary(file, schema ?? buildSchema(file, [])).signals,
    keyTtlMs: options.keyTtlMs ?? DEFAULT_KEY_TTL,
  };
  const out: Diagnostic[] = [];
  for (const lint of LINTS) lint.run(ctx, out);
  return sortDiagnostics(applyAllowComments(file, out));
}

function declaredActions(file: PolicyFile): DeclaredAction[] | null {
  let found = false;
  const out: DeclaredAction[] = [];
  for (const item of file.items) {
    if (item.kind !== "ActionsBlock") continue;
    found = true;
    for (const g of item.groups) {
      const high = g.tags.some((t) => t.value === "high");
      for (const a of g.actions) if (!a.segments.includes("*")) out.push({ name: a.segments.join("."), high, span: a.span });
    }
  }
  return found ? out : null;
}

/* ---------------------------------------------------------------------------------------------- */
/* W401: a rule that a broader, unconditional rule of higher precedence always overrides            */

const RANK: Readonly<Record<string, number>> = { allow: 1, challenge: 2, deny: 3, revoke: 4 };

function lintShadowed(ctx: LintContext, out: Diagnostic[]): void {
  // Only an unconditional challenge, deny or revoke rule can shadow (see `shadows`): comparing each
  // rule with those alone keeps the lint linear in a policy of conditional rules (2,000 rules, as
  // an editor checks them on every change, would be 4 million pairs).
  const shadowers = ctx.rules.filter((s) => s.effect !== "flag" && s.effect !== "allow" && !s.clauses.some((c) => c.kind === "WhenClause"));
  for (const r of ctx.rules) {
    if (r.effect === "flag" || r.targets.some((t) => t.kind === "SignalTarget") || r.targets.length === 0) continue;
    for (const s of shadowers) {
      if (s === r || !shadows(s, r)) continue;
      out.push({
        ...diagnostic(
          "W401",
          r.name.span,
          `rule \`${r.name.value}\` can never decide: \`${s.name.value}\` (${s.effect}, no conditions) matches every request it matches, and ${s.effect} outranks ${r.effect}`,
          `remove \`${r.name.value}\`, or narrow \`${s.name.value}\` with a condition or fewer actions, principals or resources`,
        ),
        related: [{ message: `\`${s.name.value}\` is here`, span: s.name.span }],
      });
      break;
    }
  }
}

/** `s` always overrides `r`: higher precedence, no conditions, and at least as broad in every selector. */
function shadows(s: RuleDecl, r: RuleDecl): boolean {
  if (s.effect === "flag" || !(RANK[s.effect]! > RANK[r.effect]!)) return false;
  // A challenge needs an allow to stand on: an allow under an unconditional challenge still matters.
  if (s.effect === "challenge" && r.effect === "allow") return false;
  if (s.clauses.some((c) => c.kind === "WhenClause")) return false;
  const sTargets = s.targets.filter((t) => t.kind === "ActionTarget").map((t) => t.pattern.segments);
  if (!r.targets.every((t) => sTargets.some((p) => patternCovers(p, t.pattern.segments)))) return false;
  return principalsCover(s.principals, r.principals) && resourcesCover(s.resources.map((x) => x.glob), r.resources.map((x) => x.glob));
}


function principalsCover(s: readonly PrincipalSelector[], r: readonly PrincipalSelector[]): boolean {
  if (s.length === 0) return true;
  if (r.length === 0) return s.some((x) => x.principalKind === null && x.attributes.length === 0);
  return r.every((rs) => s.some((ss) => selectorCovers(ss, rs)));
}

function selectorCovers(s: PrincipalSelector, r: PrincipalSelector): boolean {
  if (s.principalKind !== null && s.principalKind.value !== r.principalKind?.value) return false;
  const sId = s.id?.value ?? "*";
  if (sId !== "*") {
    const rId = r.id?.value ?? "*";
    if (!globCovers(sId, rId)) return false;
  }
  return s.attributes.every((a) => r.attributes.some((b) => b.name.value === a.name.value && JSON.stringify(stripSpans(b.value)) === JSON.stringify(stripSpans(a.value))));
}

function resourcesCover(s: readonly string[], r: readonly string[]): boolean {
  if (s.length === 0) return true;
  if (r.length === 0) return s.includes("*");
  return r.every((rg) => s.some((sg) => globCovers(sg, rg)));
}

/** Every string glob `r` matches, glob `s` matches too (conservative). */
export function globCovers(s: string, r: string): boolean {
  if (s === r || s === "*") return true;
  if (!r.includes("*")) return globMatch(compileGlob(s), r);
  const star = s.indexOf("*");
  // `prefix*` covers any glob whose literal start begins with the prefix.
  if (star === s.length - 1) return r.slice(0, r.indexOf("*")).startsWith(s.slice(0, -1));
  return false;
}

/* ---------------------------------------------------------------------------------------------- */
/* W402: an allow rule whose every target reaches only [high] actions, through a wildcard          */

function lintAllowNeverDecides(ctx: LintContext, out: Diagnostic[]): void {
  if (ctx.declared === null) return;
  const declared = ctx.declared;
  for (const r of ctx.rules) {
    if (r.effect !== "allow" || r.targets.length === 0) continue;
    const reached: string[] = [];
    const never = r.targets.every((t) => {
      if (t.kind !== "ActionTarget" || !t.pattern.segments.includes("*")) return false;
      const matched = declared.filter((d) => actionPatternMatches(t.pattern.segments, d.name));
      reached.push(...matched.map((d) => d.name));
      return matched.length > 0 && matched.every((d) => d.high);
    });
    if (!never) continue;
    const names = [...new Set(reached)];
    out.push(
      diagnostic(
        "W402",
        r.name.span,
        `allow rule \`${r.name.value}\` can never allow anything: it reaches only [high] actions (${names.join(", ")}), and only through a wildcard`,
        `a [high] action is allowed only by a rule that names it: write \`allow ${names.join(", ")}${selectorsText(r)}\`, or remove the rule`,
      ),
    );
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* W403: conditions (and principal selectors) that are always true or always false                 */

function lintConstantConditions(ctx: LintContext, out: Diagnostic[]): void {
  for (const r of ctx.rules) {
    for (const sel of r.principals) selectorAgainstSchema(ctx, r, sel, out);
    const conjuncts: Atom[] = [];
    for (const c of r.clauses) {
      if (c.kind !== "WhenClause") continue;
      const direct = new Map<Expr, boolean>();
      topConjuncts(c.condition, c.negated, direct);
      boolAtoms(c.condition, (e) => {
        const k = constantValue(ctx, e);
        if (k === null) return;
        const needed = direct.get(e);
        const help =
          needed === undefined
            ? "replace it with the comparison you meant"
            : k.value !== needed
              ? `as written \`${r.name.value}\` never matches; compare with another attribute or a value it can take`
              : "it does not restrict anything; remove it or write the comparison you meant";
        out.push(diagnostic("W403", e.span, `\`${formatExpr(e)}\` is always ${k.value}${k.why ? `: ${k.why}` : ""}`, help));
      });
      collectConjuncts(c.condition, c.negated, conjuncts);
    }
    const clash = contradiction(ctx, conjuncts);
    if (clash !== null) {
      out.push({
        ...diagnostic("W403", clash.later.span, `\`${clash.later.text}\` contradicts \`${clash.earlier.text}\`: the conditions of \`${r.name.value}\` can never all hold`, `as written \`${r.name.value}\` never matches; fix the comparison, or join the two with \`or\``),
        related: [{ message: "the other condition", span: clash.earlier.span }],
      });
    }
  }
}

/** The expressions in boolean position: the clause itself and the operands of and, or and not. */
function boolAtoms(e: Expr, visit: (e: Expr) => void): void {
  if (e.kind === "BinaryExpr") {
    boolAtoms(e.left, visit);
    boolAtoms(e.right, visit);
  } else if (e.kind === "NotExpr") boolAtoms(e.operand, visit);
  else visit(e);
}

/**
 * The atoms that must hold for the clause to hold, mapped to the value they must have: the
 * operands of a top-level `and` chain (of an `or` chain under `not` or `unless`, by De Morgan).
 */
function topConjuncts(e: Expr, negated: boolean, out: Map<Expr, boolean>): void {
  if (e.kind === "BinaryExpr" && e.op === (negated ? "or" : "and")) {
    topConjuncts(e.left, negated, out);
    topConjuncts(e.right, negated, out);
  } else if (e.kind === "NotExpr") topConjuncts(e.operand, !negated, out);
  else if (e.kind !== "BinaryExpr") out.set(e, !negated);
}

interface Constant {
  readonly value: boolean;
  readonly why?: string;
}

/** The value of `e` whenever it can be evaluated, if that is the same for every request; else null. */
function constantValue(ctx: LintContext, e: Expr): Constant | null {
  switch (e.kind) {
    case "BoolLit":
      return { value: e.value };
    case "CompareExpr":
      return constantCompare(e);
    case "InExpr": {
      if (e.collection.kind !== "SetLit") return null;
      const values = e.collection.elements.map(litValue);
      if (values.length === 0) return { value: false, why: "the set is empty" };
      if (isLiteral(e.element)) return { value: values.includes(litValue(e.element)) };
      const allowed = e.element.kind === "Path" ? enumValues(ctx, e.element) : null;
      if (allowed !== null && !values.some((v) => typeof v === "string" && allowed.includes(v)))
        return { value: false, why: `${formatExpr(e.element)} is one of ${allowed.map((v) => JSON.stringify(v)).join(" | ")}` };
      return null;
    }
    case "LikeExpr": {
      if (e.pattern.value === "*") return null; // true for every string, but a missing attribute still fails closed
      const allowed = e.subject.kind === "Path" ? enumValues(ctx, e.subject) : null;
      if (allowed === null) return null;
      const g = compileGlob(e.pattern.value);
      if (!allowed.some((v) => globMatch(g, v))) return { value: false, why: `no value of ${formatExpr(e.subject)} (${allowed.map((v) => JSON.stringify(v)).join(" | ")}) matches` };
      return null;
    }
    case "HasExpr": {
      const root = e.subject.kind === "RootRef" ? e.subject.root : null;
      if (root === "principal" && (e.attribute.value === "kind" || e.attribute.value === "id")) return { value: true, why: `every principal has a ${e.attribute.value}` };
      if (root === "action") return null;
      const entity = root === null ? null : (root as Entity);
      const field = entity === null ? undefined : ctx.schema.get(entity)?.get(e.attribute.value);
      if (field && !field.optional) return { value: true, why: `the schema declares ${root}.${e.attribute.value} without \`?\`` };
      return null;
    }
    default:
      return null;
  }
}

function constantCompare(e: CompareExpr): Constant | null {
  const { left, right, op } = e;
  if (isLiteral(left) && isLiteral(right)) {
    const a = litValue(left);
    const b = litValue(right);
    return { value: compareValues(op, a, b), why: "both sides are constants" };
  }
  if (left.kind === "Path" && right.kind === "Path" && pathText(left) === pathText(right)) {
    return { value: op === "==" || op === "<=" || op === ">=", why: "both sides are the same attribute" };
  }
  // count, distinct, since, gap and regularity are never negative.
  for (const [side, other, flipped] of [[left, right, false], [right, left, true]] as const) {
    if (!isTemporal(side) || !NON_NEGATIVE.has(side.kind)) continue;
    if (other.kind !== "NumberLit" && other.kind !== "DurationLit") continue;
    const k = other.kind === "NumberLit" ? other.value : other.ms;
    if (k !== 0) continue;
    const o = flipped ? FLIP[op] : op;
    const name = side.kind.replace("Call", "").toLowerCase();
    if (o === ">=") return { value: true, why: `${name}(...) is never negative` };
    if (o === "<") return { value: false, why: `${name}(...) is never negative` };
  }
  return null;
}

const NON_NEGATIVE: ReadonlySet<string> = new Set(["CountCall", "DistinctCall", "SinceCall", "GapCall", "RegularityCall"]);
const FLIP: Readonly<Record<string, CompareExpr["op"]>> = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

function compareValues(op: CompareExpr["op"], a: string | number | boolean, b: string | number | boolean): boolean {
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}

function selectorAgainstSchema(ctx: LintContext, r: RuleDecl, sel: PrincipalSelector, out: Diagnostic[]): void {
  const fields = ctx.schema.get("principal");
  if (!fields) return;
  const kind = fields.get("kind");
  const kinds = kind && kind.type.t === "string" ? kind.type.values : undefined;
  if (sel.principalKind !== null && kinds && !kinds.includes(sel.principalKind.value)) {
    out.push(diagnostic("W403", sel.principalKind.span, `\`${sel.principalKind.value}\` never matches: the schema's principal.kind is one of ${kinds.map((v) => JSON.stringify(v)).join(" | ")}`, `as written \`${r.name.value}\` never applies to this selector; use one of the declared kinds or add \`${JSON.stringify(sel.principalKind.value)}\` to the schema`));
  }
  for (const a of sel.attributes) {
    const f = fields.get(a.name.value);
    const values = f && f.type.t === "string" ? f.type.values : undefined;
    if (values && a.value.kind === "StringLit" && !values.includes(a.value.value)) {
      out.push(diagnostic("W403", a.value.span, `\`${a.name.value}: ${formatLiteral(a.value)}\` never matches: principal.${a.name.value} is one of ${values.map((v) => JSON.stringify(v)).join(" | ")}`, `as written this selector of \`${r.name.value}\` never applies; use one of the declared values`));
    }
  }
}

/* Contradictions between the conjuncts of one rule's conditions. */

interface Atom {
  readonly path: string;
  readonly op: CompareExpr["op"] | "in";
  readonly values: readonly (string | number | boolean)[];
  readonly span: Span;
  readonly text: string;
}

/** Comparisons of an attribute with constants that must all hold (`and` chains, when clauses, negated unless). */
function collectConjuncts(e: Expr, negated: boolean, out: Atom[]): void {
  if (e.kind === "BinaryExpr" && e.op === (negated ? "or" : "and")) {
    collectConjuncts(e.left, negated, out);
    collectConjuncts(e.right, negated, out);
    return;
  }
  if (e.kind === "NotExpr") return collectConjuncts(e.operand, !negated, out);
  if (e.kind === "CompareExpr") {
    const [path, lit, op] = e.left.kind === "Path" && isLiteral(e.right) ? [e.left, e.right, e.op] : e.right.kind === "Path" && isLiteral(e.left) ? [e.right, e.left, FLIP[e.op]!] : [null, null, null];
    if (path === null || lit === null || op === null) return;
    const o = negated ? NEGATE[op]! : op;
    out.push({ path: pathText(path), op: o, values: [litValue(lit)], span: e.span, text: negated ? `not ${formatExpr(e)}` : formatExpr(e) });
  } else if (e.kind === "InExpr" && !negated && e.element.kind === "Path" && e.collection.kind === "SetLit") {
    out.push({ path: pathText(e.element), op: "in", values: e.collection.elements.map(litValue), span: e.span, text: formatExpr(e) });
  }
}

const NEGATE: Readonly<Record<string, CompareExpr["op"]>> = { "==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<" };

/** The first conjunct that no value satisfies together with the earlier ones on its attribute, if any. */
function contradiction(ctx: LintContext, atoms: readonly Atom[]): { earlier: Atom; later: Atom } | null {
  const byPath = new Map<string, Atom[]>();
  for (const a of atoms) {
    const group = byPath.get(a.path) ?? [];
    const domain = enumOf(ctx, a.path);
    if (group.length > 0 && !satisfiable([...group, a], domain)) {
      const earlier = group.find((g) => !satisfiable([g, a], domain)) ?? group[0]!;
      return { earlier, later: a };
    }
    group.push(a);
    byPath.set(a.path, group);
  }
  return null;
}

/**
 * Whether some value satisfies every atom. Without an enumeration the candidates are the atoms'
 * constants, the midpoints between them, one beyond each end, a fresh string and both bools:
 * enough to find a witness for any mix of equalities, inequalities and ranges.
 */
function satisfiable(atoms: readonly Atom[], domain: readonly string[] | null): boolean {
  const constants = atoms.flatMap((a) => a.values);
  const candidates: (string | number | boolean)[] = [];
  if (domain !== null) candidates.push(...domain);
  else {
    const numbers = [...new Set(constants.filter((v): v is number => typeof v === "number"))].sort((a, b) => a - b);
    candidates.push(...constants, "\u0000fresh", true, false);
    if (numbers.length > 0) candidates.push(numbers[0]! - 1, numbers[numbers.length - 1]! + 1);
    for (let i = 1; i < numbers.length; i++) candidates.push((numbers[i - 1]! + numbers[i]!) / 2);
  }
  return candidates.some((v) => atoms.every((a) => (a.op === "in" ? a.values.includes(v) : typeof v === typeof a.values[0] && compareValues(a.op, v, a.values[0]!))));
}

function enumOf(ctx: LintContext, path: string): readonly string[] | null {
  const [root, name, ...rest] = path.split(".");
  if (rest.length > 0 || name === undefined) return null;
  const f = ctx.schema.get(root as Entity)?.get(name);
  return f && f.type.t === "string" && f.type.values ? f.type.values : null;
}

function enumValues(ctx: LintContext, p: Path): readonly string[] | null {
  return enumOf(ctx, pathText(p));
}

/* ---------------------------------------------------------------------------------------------- */
/* W404: declared actions nothing mentions; W405: schema attributes nothing reads                  */

function lintUnusedActions(ctx: LintContext, out: Diagnostic[]): void {
  if (ctx.declared === null) return;
  const patterns = mentionedPatterns(ctx);
  for (const d of ctx.declared) {
    if (patterns.some((p) => actionPatternMatches(p, d.name))) continue;
    out.push(diagnostic("W404", d.span, `action \`${d.name}\` is declared but no rule, workflow or operator mentions it`, "requests for it are denied by default; add a rule for it or remove it from the actions block"));
  }
}

/** Every action pattern a rule target, workflow step, operator or `satisfied by` names. */
function mentionedPatterns(ctx: LintContext): (readonly string[])[] {
  const out: (readonly string[])[] = [];
  for (const r of ctx.rules) {
    for (const t of r.targets) out.push(t.pattern.segments);
    for (const c of r.clauses) {
      if (c.kind === "RequireClause" && c.satisfiedBy) out.push(c.satisfiedBy.segments);
      if (c.kind === "WhenClause") walkExpr(c.condition, (e) => isTemporal(e) && selectorsOf(e).forEach((s) => s.patterns.forEach((p) => out.push(p.segments))));
    }
  }
  for (const w of ctx.workflows) for (const s of w.steps) for (const a of s.actions) out.push(a.segments);
  return out;
}

function selectorsOf(t: TemporalCall): EventSelector[] {
  switch (t.kind) {
    case "AfterCall":
      return t.until ? [t.events, t.until] : [t.events];
    case "SequenceCall":
      return t.until ? [...t.stages, t.until] : [...t.stages];
    case "DistinctCall":
      return t.events ? [t.events] : [];
    case "DeviatesCall":
      return [];
    default:
      return [t.events];
  }
}

function lintUnusedAttributes(ctx: LintContext, out: Diagnostic[]): void {
  const read = attributesRead(ctx);
  for (const item of ctx.file.items) {
    if (item.kind !== "SchemaBlock") continue;
    for (const ent of item.entities) {
      for (const f of ent.fields) {
        const path = `${ent.entity}.${f.name.value}`;
        if (read.has(path)) continue;
        out.push(diagnostic("W405", f.name.span, `schema attribute \`${path}\` is never read`, "no condition, selector or key reads it; remove it, or use it in a rule"));
      }
    }
  }
}

/** `root.attr` for every attribute a rule, property, workflow or key reads (selectors read kind, id and path). */
function attributesRead(ctx: LintContext): Set<string> {
  const read = new Set<string>();
  const path = (p: Path) => read.add(`${p.root}.${p.segments[0] ?? ""}`);
  const key = (k: KeyRef | null): void => {
    if (k?.kind === "PathKey") path(k.path);
    else if (k?.kind === "CompoundKey") k.parts.forEach(key);
  };
  const expr = (e: Expr) =>
    walkExpr(e, (x) => {
      if (x.kind === "Path") path(x);
      else if (x.kind === "HasExpr") read.add(x.subject.kind === "Path" ? `${x.subject.root}.${x.subject.segments[0]}` : `${x.subject.root}.${x.attribute.value}`);
      else if (isTemporal(x) && x.kind !== "DeviatesCall") {
        key(x.key);
        if (x.kind === "DistinctCall") path(x.attribute);
      }
    });
  const selectors = (principals: readonly PrincipalSelector[], resources: readonly unknown[]) => {
    if (principals.length > 0) read.add("principal.kind");
    for (const p of principals) {
      if (p.id !== null) read.add("principal.id");
      for (const a of p.attributes) read.add(`principal.${a.name.value}`);
    }
    if (resources.length > 0) (read.add("resource.path"), read.add("resource.id"));
  };
  for (const item of ctx.file.items) {
    if (item.kind === "RuleDecl") {
      selectors(item.principals, item.resources);
      for (const c of item.clauses) {
        if (c.kind === "WhenClause") expr(c.condition);
        else if (c.kind === "LimitClause" || c.kind === "TargetKeyClause") {
          key(c.key);
          if (c.kind === "LimitClause" && c.distinct?.segments.length) path(c.distinct);
          else if (c.kind === "LimitClause" && c.distinct) (read.add("resource.path"), read.add("resource.id"));
        }
        else if (c.kind === "ValidForClause") key(c.key);
      }
    } else if (item.kind === "PropertyDecl") {
      for (const claim of item.claims) {
        selectors(claim.principals, claim.resources);
        for (const c of claim.conditions) expr(c.condition);
      }
    } else if (item.kind === "WorkflowDecl") key(item.key);
  }
  return read;
}

/* ---------------------------------------------------------------------------------------------- */
/* W406: operators and workflows that name actions the actions block does not declare              */

function lintUndeclaredEvents(ctx: LintContext, out: Diagnostic[]): void {
  if (ctx.declared === null) return;
  const names = new Set(ctx.declared.map((d) => d.name));
  const declared = ctx.declared;
  const signals = ctx.signals;
  const check = (p: ActionPattern, filter: EventSelector["filter"] | "workflow") => {
    if (filter === "signal") return;
    // A name a history sees without a filter may be a declared signal.
    if (filter === "happened" && signals !== null && declares(signals, p.segments)) return;
    const name = p.segments.join(".");
    if (p.segments.includes("*")) {
      if (filter === "happened" || declared.some((d) => actionPatternMatches(p.segments, d.name))) return;
      out.push(diagnostic("W406", p.span, `\`${name}\` matches no declared action`, "declare the actions it should count in the actions block"));
      return;
    }
    if (names.has(name)) return;
    const help =
      filter === "happened"
        ? `declare it in the actions block, or write \`signal ${name}\` if it is an observed signal`
        : filter === "workflow"
          ? "a workflow step is an action: declare it in the actions block"
          : `\`${filter}\` counts decided requests, so \`${name}\` is an action: declare it in the actions block`;
    out.push(diagnostic("W406", p.span, `\`${name}\` is not a declared action`, help));
  };
  for (const r of ctx.rules)
    for (const c of r.clauses)
      if (c.kind === "WhenClause") walkExpr(c.condition, (e) => isTemporal(e) && selectorsOf(e).forEach((s) => s.patterns.forEach((p) => check(p, s.filter))));
  for (const w of ctx.workflows) for (const s of w.steps) for (const a of s.actions) check(a, "workflow");
}

/* ---------------------------------------------------------------------------------------------- */
/* W407: two rules with the same body under different names                                        */

function lintDuplicateRules(ctx: LintContext, out: Diagnostic[]): void {
  const seen = new Map<string, RuleDecl>();
  for (const r of ctx.rules) {
    const key = bodyKey(r);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, r);
      continue;
    }
    if (first.name.value === r.name.value) continue; // the same name twice is C204
    out.push({
      ...diagnostic("W407", r.name.span, `rule \`${r.name.value}\` is identical to \`${first.name.value}\``, "a duplicate never changes a decision; remove one of them"),
      related: [{ message: `\`${first.name.value}\` is here`, span: first.name.span }],
    });
  }
}

/** The rule without its name or spans; order-insensitive where order has no meaning. */
function bodyKey(r: RuleDecl): string {
  let key = BODY_KEYS.get(r);
  if (key === undefined) {
    const sorted = (xs: readonly unknown[]) => xs.map((x) => JSON.stringify(stripSpans(x))).sort();
    key = JSON.stringify([r.effect, sorted(r.targets), sorted(r.principals), sorted(r.resources), sorted(r.clauses)]);
    BODY_KEYS.set(r, key);
  }
  return key;
}

/**
 * Body keys by rule. An AST is never changed once built, so a rule linted again — an editor lints
 * the rules a change did not touch on every keystroke — reuses its key.
 */
const BODY_KEYS = new WeakMap<RuleDecl, string>();

/* ---------------------------------------------------------------------------------------------- */
/* W408: a duration longer than the state that holds it lives                                      */

function lintOutlivesState(ctx: LintContext, out: Diagnostic[]): void {
  const ttl = keyLifetimes(ctx);
  const lifetime = (k: string) => ttl.get(k) ?? ctx.keyTtlMs;
  const hours = (ms: number) => (ms % 3600000 === 0 ? `${ms / 3600000}h` : `${ms} ms`);
  const help = `make it at most the key's lifetime, or compile with a larger keyTtlMs (compilePolicy(source, { keyTtlMs }))`;
  for (const r of ctx.rules) {
    for (const c of r.clauses) {
      if (c.kind === "ValidForClause") {
        const k = c.key ? formatKey(c.key) : "session";
        if (c.duration.ms > lifetime(k))
          out.push(diagnostic("W408", c.duration.span, `\`valid for ${c.duration.text}\` outlives its state: a ${k}'s grant is forgotten ${hours(lifetime(k))} after the key's last event, and the grant then starts over`, help));
      } else if (c.kind === "LabelClause" && c.duration && c.duration.ms > lifetime("session")) {
        out.push(diagnostic("W408", c.duration.span, `label \`${c.label.value}\` for ${c.duration.text} outlives its state: session labels are forgotten ${hours(lifetime("session"))} after the session's last event`, help));
      } else if (c.kind === "WhenClause") {
        walkExpr(c.condition, (e) => {
          if (e.kind !== "CompareExpr") return;
          for (const [side, other] of [[e.left, e.right], [e.right, e.left]] as const) {
            if ((side.kind !== "SinceCall" && side.kind !== "GapCall") || other.kind !== "DurationLit") continue;
            const k = formatKey(side.key);
            if (other.ms > lifetime(k))
              out.push(diagnostic("W408", other.span, `${other.text} is longer than the ${k} history ${side.kind === "SinceCall" ? "since" : "gap"}(...) reads: it is forgotten ${hours(lifetime(k))} after the key's last event`, help));
          }
        });
      }
    }
  }
}

/** How long each key's state lives after its last event, as the compiler computes it. */
function keyLifetimes(ctx: LintContext): Map<string, number> {
  const ttl = new Map<string, number>();
  const note = (k: string, window: number | null) => ttl.set(k, Math.max(ttl.get(k) ?? 0, window ?? ctx.keyTtlMs));
  for (const w of ctx.workflows) note(formatKey(w.key), null);
  for (const r of ctx.rules) {
    for (const c of r.clauses) {
      if (c.kind === "LimitClause") note(formatKey(c.key), c.window?.ms ?? null);
      else if (c.kind === "ValidForClause") note(c.key ? formatKey(c.key) : "session", null);
      else if (c.kind === "LabelClause") note("session", null);
      else if (c.kind === "WhenClause")
        walkExpr(c.condition, (e) => {
          if (e.kind === "SessionHasExpr") note("session", null);
          if (!isTemporal(e) || e.kind === "DeviatesCall") return;
          const window = e.kind === "RateCall" ? e.per.ms : "window" in e ? (e.window?.ms ?? null) : null;
          note(formatKey(e.key), window);
        });
    }
  }
  return ttl;
}

/* ---------------------------------------------------------------------------------------------- */
/* W418: a limit without a window, or a grant per a lasting key: remembered while the key is active  */

function lintIdleLifetime(ctx: LintContext, out: Diagnostic[]): void {
  const ttl = keyLifetimes(ctx);
  const lifetime = (k: string) => ttl.get(k) ?? ctx.keyTtlMs;
  const hours = (ms: number) => (ms % 3600000 === 0 ? `${ms / 3600000}h` : `${ms} ms`);
  for (const r of ctx.rules) {
    for (const c of r.clauses) {
      if (c.kind === "LimitClause" && c.window === null) {
        const k = formatKey(c.key);
        const distinct = c.distinct === null ? "" : ` distinct ${c.distinct.segments.length === 0 ? "resource" : pathText(c.distinct)}`;
        out.push(
          diagnostic(
            "W418",
            c.span,
            `\`limit ${c.count.value}${distinct} per ${k}\` has no window: its uses count while the ${k} is active and are forgotten once the ${k} has been idle for ${hours(lifetime(k))}, when the limit starts over`,
            `say how long a use counts (\`limit ${c.count.value}${distinct} per ${k} within 1h\`), or keep it and allow this warning with a comment that says the lifetime is meant`,
          ),
        );
      } else if (c.kind === "ValidForClause") {
        // A session ends; a principal or an attribute value comes back a day later to a fresh grant.
        const k = c.key ? formatKey(c.key) : "session";
        if (k === "session" || c.duration.ms > lifetime(k)) continue; // W408 says more about the latter
        out.push(
          diagnostic(
            "W418",
            c.span,
            `\`valid for ${c.duration.text}\` starts at the ${k}'s first use and is remembered while the ${k} is active: once the ${k} has been idle for ${hours(lifetime(k))}, a new grant of ${c.duration.text} starts`,
            `grant per session (a session does not come back), or keep it and allow this warning with a comment that says the lifetime is meant`,
          ),
        );
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* W420: signals observed without a signals block                                                   */

function lintUndeclaredSignals(ctx: LintContext, out: Diagnostic[]): void {
  if (ctx.signals !== null) return;
  const used = new Map<string, Span>();
  const use = (p: ActionPattern) => {
    const name = p.segments.join(".");
    if (!used.has(name)) used.set(name, p.span);
  };
  const selectors = (e: Expr) => walkExpr(e, (x) => isTemporal(x) && selectorsOf(x).forEach((s) => s.filter === "signal" && s.patterns.forEach(use)));
  for (const item of ctx.file.items) {
    if (item.kind === "RuleDecl") {
      for (const t of item.targets) if (t.kind === "SignalTarget") use(t.pattern);
      for (const c of item.clauses) if (c.kind === "WhenClause") selectors(c.condition);
    } else if (item.kind === "PropertyDecl") {
      for (const claim of item.claims) {
        for (const t of claim.targets) if (t.kind === "SignalTarget") use(t.pattern);
        for (const c of claim.conditions) selectors(c.condition);
      }
    } else if (item.kind === "TestDecl") for (const s of item.steps) if (s.kind === "TestSignal") use(s.signal);
  }
  if (used.size === 0) return;
  const names = [...used.keys()].filter((n) => !n.includes("*")).sort();
  const first = [...used.values()].sort((a, b) => a.offset - b.offset)[0]!;
  out.push(
    diagnostic(
      "W420",
      first,
      `the policy observes signals (${[...used.keys()].sort().join(", ")}) but declares none, so a misspelt signal name is never reported`,
      `declare them: signals { ${names.join(", ") || "a.b"} }`,
    ),
  );
}

/* ---------------------------------------------------------------------------------------------- */
/* W409: a [high] action that only a wildcard allow reaches — it can never be allowed               */

function lintHighOnlyByWildcard(ctx: LintContext, out: Diagnostic[]): void {
  if (ctx.declared === null) return;
  const allows = ctx.rules.filter((r) => r.effect === "allow");
  for (const d of ctx.declared) {
    if (!d.high) continue;
    const names = (r: RuleDecl) => r.targets.some((t) => t.kind === "ActionTarget" && t.pattern.segments.join(".") === d.name);
    // Named by an allow, it can be allowed; named by a deny, the author has said it stays denied.
    if (ctx.rules.some((r) => (r.effect === "allow" || r.effect === "deny") && names(r))) continue;
    const wild = allows.filter((r) => r.targets.some((t) => t.kind === "ActionTarget" && t.pattern.segments.includes("*") && actionPatternMatches(t.pattern.segments, d.name)));
    if (wild.length === 0) continue;
    const first = wild[0]!;
    out.push({
      ...diagnostic(
        "W409",
        d.span,
        `[high] action \`${d.name}\` can never be allowed: only the wildcard in ${wild.map((r) => `\`${r.name.value}\``).join(", ")} reaches it, and no allow rule names it`,
        `if it should be allowed, name it: \`rule ${first.name.value}-${d.name.replace(/\./g, "-")}: allow ${d.name}${selectorsText(first)}\`; if it should stay denied, say so: \`deny ${d.name}${selectorsText(first)}\``,
      ),
      related: wild.map((r) => ({ message: `\`${r.name.value}\` reaches it through a wildcard`, span: r.name.span })),
    });
  }
}

/* ---------------------------------------------------------------------------------------------- */

function selectorsText(r: RuleDecl): string {
  const p = r.principals.map((s) => (s.principalKind === null ? "*" : `${s.principalKind.value} ${s.id ? formatString(s.id.value) : "*"}${s.attributes.length ? ` { ${s.attributes.map((a) => `${a.name.value}: ${formatLiteral(a.value)}`).join(", ")} }` : ""}`));
  const res = r.resources.map((x) => formatResourceGlob(x.glob));
  return `${p.length ? ` for ${p.join(", ")}` : ""}${res.length ? ` on ${res.join(", ")}` : ""}`;
}

function isLiteral(e: Expr): e is Literal {
  return e.kind === "StringLit" || e.kind === "NumberLit" || e.kind === "BoolLit" || e.kind === "DurationLit";
}

function litValue(l: Literal): string | number | boolean {
  return l.kind === "DurationLit" ? l.ms : l.value;
}

function pathText(p: Path): string {
  return [p.root, ...p.segments].join(".");
}

