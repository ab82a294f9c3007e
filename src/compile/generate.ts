import type { CompareOp, Effect } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { Failure, readOwn, typeName, type Value } from "../runtime/attributes.js";
import type { EvalContext } from "../runtime/context.js";
import { compileGlob, globMatch } from "../runtime/glob.js";
import { domainOf, regularityCrossing } from "../runtime/operators.js";
import { movesWithTime, noteCrossing, readHistory, readingOf, type HistoryRead } from "../runtime/readers.js";
import type { Obligation, Reason } from "../runtime/types.js";
import type { ExprIR, OpIR, PathIR, PolicyIR, PrincipalSelIR, RuleIR } from "./ir.js";
import { historyTerms } from "./terms.js";

/** A compiled condition: a closure over the evaluation context. */
export type Evaluator = (c: EvalContext) => Value;

/** How a rule took part: it matched, it did not, or it could not be evaluated. */
export type RuleOutcome = true | false | Failure;

/** A rule compiled to closures, with everything a decision reports about it prebuilt and frozen. */
export interface CompiledRule {
  readonly ir: RuleIR;
  readonly id: string;
  readonly effect: Effect;
  /** Rank by id, so multi-rule decisions list rules in an order that never depends on source order. */
  rank: number;
  /** The effect's place in combining: allow 1, challenge 2, deny 3, revoke 4 (flag 0: never combined). */
  readonly effectRank: number;
  /** A list of just this rule (the winners of a decision this rule alone decides). */
  readonly selfList: readonly CompiledRule[];
  /** Principal and resource selectors and conditions (not limit/grant, which need the rule's own state). */
  readonly match: (c: EvalContext) => RuleOutcome;
  readonly idList: readonly string[];
  readonly reason: Reason;
  readonly reasonList: readonly Reason[];
  readonly obligation: Obligation | null;
  readonly obligationList: readonly Obligation[];
  /**
   * For the commonest rule shape — one principal selector by kind and exact id (or any), at most
   * one resource glob that is exact or a literal prefix followed by one `*`, no attributes and no
   * condition — the same test as `match`, read straight off the request. `undefined` from it means
   * "ask `match`" (a missing or odd value, where `match` reports the failure).
   */
  readonly simple: SimpleMatch | null;
  /**
   * The condition as history terms (see terms.ts) when the rule has no principal or resource
   * selector and its condition has that form: then `matchTerms(terms, c)` is the same test as `match`.
   */
  readonly terms: readonly HistoryRead[] | null;
  /** The key groups whose partitions the rule reads or writes (conditions, limit, grant, labels). */
  readonly groups: readonly number[];
}

export interface SimpleMatch {
  readonly kind: string | null;
  readonly id: string | null;
  /** Exact resource path, or the literal prefix of `prefix*`; null when the rule names no resource. */
  readonly resource: string | null;
  readonly resourceIsPrefix: boolean;
}

/** An effect's place in combining (revoke > deny > challenge > allow; a flag never combines). */
export const EFFECT_RANK: Readonly<Record<Effect, number>> = { flag: 0, allow: 1, challenge: 2, deny: 3, revoke: 4 };

/** Stage: IR -> closures for every rule. */
export function generateRules(ir: PolicyIR): CompiledRule[] {
  const gen = new Generator(ir);
  const rules = ir.rules.map((r) => gen.rule(r));
  [...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).forEach((r, i) => (r.rank = i));
  return rules;
}

class Generator {
  constructor(readonly ir: PolicyIR) {}

  rule(r: RuleIR): CompiledRule {
    const principal = this.principals(r.principals, r.span);
    const resource = this.resources(r.resources, r.span);
    const cond = r.condition ? this.expr(r.condition) : null;
    const parts = [principal, resource].filter((x): x is (c: EvalContext) => RuleOutcome => x !== null);
    const condition = cond;
    const span = r.span;
    // A rule with only a condition (most history rules) is its condition, checked for a boolean.
    const checked = (c: EvalContext): RuleOutcome => {
      const v = condition!(c);
      if (v === true || v === false || v instanceof Failure) return v;
      return new Failure("R302", `the condition gave ${typeName(v)}, not true or false`, span);
    };
    const general = (c: EvalContext): RuleOutcome => {
      let failure: Failure | null = null;
      for (const p of parts) {
        const o = p(c);
        if (o === false) return false;
        if (o !== true) failure ??= o;
      }
      if (condition !== null) {
        const v = condition(c);
        if (v === false) return false;
        if (v instanceof Failure) failure ??= v;
        else if (v !== true) failure ??= new Failure("R302", `the condition gave ${typeName(v)}, not true or false`, span);
      }
      return failure ?? true;
    };
    const match = parts.length === 0 && condition !== null ? checked : general;
    const message = r.reason ?? defaultMessage(r);
    const reason: Reason = Object.freeze({ rule: r.id, effect: r.effect, message, span: r.span });
    const obligation: Obligation | null = r.obligation
      ? Object.freeze({ kind: "challenge", rule: r.id, challenge: r.obligation.kind, satisfiedBy: Object.freeze([...r.obligation.satisfiedBy]) })
      : null;
    const rule: CompiledRule = {
      ir: r,
      id: r.id,
      effect: r.effect,
      rank: 0,
      effectRank: EFFECT_RANK[r.effect],
      selfList: EMPTY,
      match,
      simple: simpleMatchOf(r),
      terms: parts.length === 0 && r.condition !== null ? historyTerms(this.ir, r.condition) : null,
      groups: groupsOf(this.ir, r),
      idList: Object.freeze([r.id]),
      reason,
      reasonList: Object.freeze([reason]),
      obligation,
      obligationList: obligation ? Object.freeze([obligation]) : EMPTY,
    };
    (rule as { selfList: readonly CompiledRule[] }).selfList = Object.freeze([rule]);
    return rule;
  }

  principals(sels: readonly PrincipalSelIR[], span: Span): ((c: EvalContext) => RuleOutcome) | null {
    if (sels.length === 0) return null;
    const compiled = sels.map((s) => {
      const idGlob = s.id === null ? null : compileGlob(s.id);
      const attrs = s.attributes.map((a) => ({ name: a.name, segments: [a.name], text: `principal.${a.name}`, value: a.value }));
      return (c: EvalContext): RuleOutcome => {
        const ev = c.ev;
        if (ev.principalKind === undefined) return new Failure("R301", "the event has no principal", span);
        if (s.kind !== null && ev.principalKind !== s.kind) return false;
        if (idGlob !== null && !globMatch(idGlob, ev.principalId!)) return false;
        for (const a of attrs) {
          const v = readOwn(ev.principal, a.segments, a.text, span);
          if (v instanceof Failure) return v;
          if (v !== a.value) return false;
        }
        return true;
      };
    });
    if (compiled.length === 1) return compiled[0]!;
    return (c) => {
      let failure: Failure | null = null;
      for (const m of compiled) {
        const o = m(c);
        if (o === true) return true;
        if (o !== false) failure ??= o;
      }
      return failure ?? false;
    };
  }

  resources(globs: readonly string[], span: Span): ((c: EvalContext) => RuleOutcome) | null {
    if (globs.length === 0) return null;
    const compiled = globs.map(compileGlob);
    return (c) => {
      const res = c.ev.resource;
      if (res === undefined) return new Failure("R301", "the rule names resources but the request has none", span);
      const v = readOwn(res, PATH, "resource.path", span);
      // Only a missing (or null) path falls back to the id; a path of the wrong type fails closed.
      if (v instanceof Failure && v.code !== "R301") return new Failure("R302", "resource.path must be a string", span);
      const subject = v instanceof Failure ? readOwn(res, ID, "resource.id", span) : v;
      if (subject instanceof Failure) return new Failure(subject.code === "R301" ? "R301" : "R302", subject.code === "R301" ? "the request's resource has no path or id" : "resource.id must be a string", span);
      if (typeof subject !== "string") return new Failure("R302", "resource.path must be a string", span);
      for (const g of compiled) if (globMatch(g, subject)) return true;
      return false;
    };
  }

  expr(e: ExprIR): Evaluator {
    switch (e.t) {
      case "lit": {
        const v = e.value;
        return () => v;
      }
      case "set": {
        const v = Object.freeze([...e.values]);
        return () => v;
      }
      case "path":
        return this.path(e.path);
      case "and": {
        const l = this.expr(e.left);
        const r = this.expr(e.right);
        const span = e.span;
        // Kleene: false wins over an error on either side, so operand order never matters.
        return (c) => {
          const a = bool(l(c), span);
          if (a === false) return false;
          const b = bool(r(c), span);
          if (b === false) return false;
          if (a instanceof Failure) return a;
          return b;
        };
      }
      case "or": {
        const l = this.expr(e.left);
        const r = this.expr(e.right);
        const span = e.span;
        return (c) => {
          const a = bool(l(c), span);
          if (a === true) return true;
          const b = bool(r(c), span);
          if (b === true) return true;
          if (a instanceof Failure) return a;
          return b;
        };
      }
      case "not": {
        const o = this.expr(e.operand);
        const span = e.span;
        return (c) => {
          const v = bool(o(c), span);
          return v instanceof Failure ? v : !v;
        };
      }
      case "cmp":
        return this.compare(e.op, e.left, e.right, e.span);
      case "in": {
        const el = this.expr(e.element);
        const coll = this.expr(e.collection);
        const span = e.span;
        return (c) => {
          const x = el(c);
          if (x instanceof Failure) return x;
          const s = coll(c);
          if (s instanceof Failure) return s;
          if (!Array.isArray(s)) return new Failure("R302", `\`in\` needs a set, got ${typeName(s)}`, span);
          if (x === null || Array.isArray(x)) return new Failure("R302", `\`in\` needs a single value on the left, got ${typeName(x)}`, span);
          if (s.includes(x as string | number | boolean)) return true;
          // A value of a type no element has cannot be compared with the set: fail closed, as == does.
          if (s.length > 0 && !s.some((e) => typeof e === typeof x)) return new Failure("R302", `cannot look for a ${typeName(x)} in a set of ${typeName(s[0] as Value)}`, span);
          return false;
        };
      }
      case "like": {
        const subj = this.expr(e.subject);
        const g = compileGlob(e.pattern);
        const span = e.span;
        return (c) => {
          const v = subj(c);
          if (v instanceof Failure) return v;
          if (typeof v !== "string") return new Failure("R302", `\`like\` matches strings, got ${typeName(v)}`, span);
          return globMatch(g, v);
        };
      }
      case "has": {
        const { root, segments } = e;
        if (root === "action") {
          const ok = segments.length === 1 && (segments[0] === "name" || segments[0] === "domain");
          return () => ok;
        }
        const parent = segments.slice(0, -1);
        const last = segments[segments.length - 1]!;
        return (c) => {
          let cur: unknown = rootOf(c, root);
          for (const s of parent) {
            if (typeof cur !== "object" || cur === null || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, s)) return false;
            cur = (cur as Record<string, unknown>)[s];
          }
          return typeof cur === "object" && cur !== null && !Array.isArray(cur) && Object.prototype.hasOwnProperty.call(cur, last) && (cur as Record<string, unknown>)[last] !== undefined;
        };
      }
      case "label":
        return this.label(e.op, e.label);
      case "op":
        return this.op(this.ir.ops[e.op]!);
    }
  }

  path(p: PathIR): Evaluator {
    if (p.root === "action") {
      // `action` alone is the action name, as is `action.name`.
      return p.segments[0] === "domain" ? (c) => domainOf(c.ev.name) : (c) => c.ev.name;
    }
    const { segments, text, span } = p;
    switch (p.root) {
      case "principal":
        return (c) => readOwn(c.ev.principal, segments, text, span);
      case "resource":
        return (c) => readOwn(c.ev.resource, segments, text, span);
      default:
        return (c) => readOwn(c.ev.context, segments, text, span);
    }
  }

  op(op: OpIR): Evaluator {
    const h = readingOf(op, this.ir.workflows);
    return (c) => readHistory(h, c);
  }

  /**
   * `count(...) >= 3`, `distinct(...) > 2` and the like: an ordered comparison of a counting
   * operator (never null, never moving with the request's own time) with a number, in one closure.
   */
  private countAgainst(op: OpIR, test: (a: number, b: number) => boolean, constant: number, opOnLeft: boolean, symbol: string, span: Span): Evaluator {
    const h = readingOf(op, this.ir.workflows);
    return (c) => {
      const v = readHistory(h, c);
      if (v instanceof Failure) return v;
      if (typeof v !== "number") return new Failure("R302", `\`${symbol}\` compares numbers, got ${typeName(v)}`, span);
      return opOnLeft ? test(v, constant) : test(constant, v);
    };
  }

  label(opIndex: number, label: number): Evaluator {
    const h = readingOf(this.ir.ops[opIndex]!, this.ir.workflows, label);
    return (c) => readHistory(h, c);
  }

  compare(op: CompareOp, left: ExprIR, right: ExprIR, span: Span): Evaluator {
    if (op !== "==" && op !== "!=") {
      const counted = (x: ExprIR): OpIR | null => {
        const o = x.t === "op" ? this.ir.ops[x.op]! : null;
        return o !== null && (o.op === "count" || o.op === "distinct") ? o : null;
      };
      const numeric = (x: ExprIR): number | null => (x.t === "lit" && typeof x.value === "number" ? x.value : null);
      const [lo, ln, ro, rn] = [counted(left), numeric(left), counted(right), numeric(right)];
      if (lo !== null && rn !== null) return this.countAgainst(lo, COMPARE[op], rn, true, op, span);
      if (ln !== null && ro !== null) return this.countAgainst(ro, COMPARE[op], ln, false, op, span);
    }
    const l = this.expr(left);
    const r = this.expr(right);
    const test = COMPARE[op];
    const ordered = op !== "==" && op !== "!=";
    const timed = this.timedSide(left, right);
    return (c) => {
      const a = l(c);
      if (a instanceof Failure) return a;
      const b = r(c);
      if (b instanceof Failure) return b;
      if (timed !== null) timed(c, a, b);
      if (a === null || b === null) return false;
      if (ordered) {
        if (typeof a !== "number" || typeof b !== "number") return new Failure("R302", `\`${op}\` compares numbers, got ${typeName(a)} and ${typeName(b)}`, span);
        return test(a, b);
      }
      if (typeof a !== typeof b || Array.isArray(a) || Array.isArray(b)) return new Failure("R302", `cannot compare ${typeName(a)} with ${typeName(b)}`, span);
      return test(a as number, b as number);
    };
  }

  /**
   * For a comparison whose side is `since`, `gap` or `regularity` (values that move with the
   * request's own time), a function that records when the comparison can flip: the time the value
   * crosses the constant on the other side. Against anything but a constant it flips at any time.
   */
  private timedSide(left: ExprIR, right: ExprIR): ((c: EvalContext, a: Value, b: Value) => void) | null {
    const kind = (x: ExprIR) => (x.t === "op" ? this.ir.ops[x.op]!.op : null);
    const lk = kind(left);
    const rk = kind(right);
    const moving = (k: string | null) => k === "since" || k === "gap" || k === "regularity";
    if (!moving(lk) && !moving(rk)) return null;
    const onLeft = moving(lk);
    const side = onLeft ? left : right;
    const other = onLeft ? right : left;
    const op = this.ir.ops[(side as Extract<ExprIR, { t: "op" }>).op]!;
    const constant = other.t === "lit" && typeof other.value === "number" ? other.value : null;
    if (constant === null) return (c) => c.change(c.ev.time);
    if (op.op === "regularity") {
      const group = op.group;
      return (c) => {
        const p = c.partition(group);
        if (p instanceof Failure) return;
        const t = regularityCrossing(op, p === null ? null : p.r, c.nows[group]!, c.ev, constant);
        if (t !== null) c.change(t);
      };
    }
    // since(X) = now - t(X) grows with now; so does gap(X) when the current request is an X.
    const moves = movesWithTime(readingOf(op, this.ir.workflows).kind);
    return (c, a, b) => {
      const value = onLeft ? a : b;
      if (moves && typeof value === "number") noteCrossing(value, constant, c);
    };
  }
}

function simpleMatchOf(r: RuleIR): SimpleMatch | null {
  if (r.condition !== null || r.principals.length > 1 || r.resources.length > 1) return null;
  const p = r.principals[0];
  if (p !== undefined && (p.attributes.length > 0 || (p.id !== null && p.id.includes("*")))) return null;
  const g = r.resources[0];
  if (g !== undefined) {
    const star = g.indexOf("*");
    if (star >= 0 && star !== g.length - 1) return null;
  }
  return {
    kind: p?.kind ?? null,
    id: p?.id ?? null,
    resource: g === undefined ? null : g.endsWith("*") ? g.slice(0, -1) : g,
    resourceIsPrefix: g !== undefined && g.endsWith("*"),
  };
}

/** The key groups a rule reads or writes: its conditions' operators and labels, limit, grant and labels. */
function groupsOf(ir: PolicyIR, r: RuleIR): number[] {
  const out = new Set<number>();
  const walk = (e: ExprIR): void => {
    switch (e.t) {
      case "op":
      case "label":
        out.add(ir.ops[e.op]!.group);
        return;
      case "and":
      case "or":
        walk(e.left);
        walk(e.right);
        return;
      case "not":
        walk(e.operand);
        return;
      case "cmp":
        walk(e.left);
        walk(e.right);
        return;
      case "in":
        walk(e.element);
        walk(e.collection);
        return;
      case "like":
        walk(e.subject);
        return;
      default:
        return;
    }
  };
  if (r.condition !== null) walk(r.condition);
  for (const op of [r.limit, r.grant, r.labelsOp]) if (op !== null) out.add(ir.ops[op]!.group);
  return [...out].sort((a, b) => a - b);
}

const COMPARE: Record<CompareOp, (a: number, b: number) => boolean> = {
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

function bool(v: Value, span: Span): boolean | Failure {
  if (v === true || v === false) return v;
  if (v instanceof Failure) return v;
  if (v === null) return false;
  return new Failure("R302", `expected true or false, got ${typeName(v)}`, span);
}

function rootOf(c: EvalContext, root: "principal" | "resource" | "context"): unknown {
  return root === "principal" ? c.ev.principal : root === "resource" ? c.ev.resource : c.ev.context;
}

const PATH = ["path"];
const ID = ["id"];
const EMPTY: readonly never[] = Object.freeze([]);

function defaultMessage(r: RuleIR): string {
  const what = [...r.actions.map((a) => a.join(".")), ...r.signals.map((s) => `signal ${s.join(".")}`)].join(", ");
  const verb = { allow: "allows", deny: "denies", challenge: "challenges", revoke: "revokes on", flag: "flags" }[r.effect];
  return `rule ${r.id} ${verb} ${what}`;
}
