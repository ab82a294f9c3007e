import type { CompareOp } from "../ast/nodes.js";
import type { ExprIR, PolicyIR, PrincipalSelIR, RuleIR } from "../compile/ir.js";
import { actionPatternMatches, compileGlob, globMatch } from "../runtime/glob.js";
import { neighbours, type VocabularyValue } from "./vocabulary.js";

/**
 * Solving a rule's selectors and conditions for the attribute values that make it match or not.
 *
 * A solution assigns values to attribute paths (`context.amount`, `principal.kind`, `resource.path`)
 * so that, under the engine's three-valued logic, the condition has the wanted value whatever the
 * paths it leaves unassigned hold: `a and b` is made false by a false `a` alone, since
 * `false and ERROR` is false. History operators and session labels cannot be set by attributes;
 * a solution lists them as `needs`, which the directed generator meets with earlier events.
 * Alternatives come nearest the constants first, so the first true and the first false solution of
 * `context.amount > 100` are 100.1 and 100: the two sides of the boundary.
 */

/** The attribute is left out of the request. */
export const ABSENT = Symbol("absent");
/** The attribute is present with some value (a `has` test): any value of its pool will do. */
export const PRESENT = Symbol("present");

/** What a solution puts at a path. */
export type Slot = VocabularyValue | typeof ABSENT | typeof PRESENT;

/** A history reading a solution depends on: the operator (or label) expression and the value it must have. */
export interface Need {
  /** An `op` or `label` node, or a comparison with an `op` node on one side. */
  readonly expr: ExprIR;
  readonly want: boolean;
}

/** Attribute values (by path text: `context.amount`) and the history readings they rely on. */
export interface Solution {
  readonly assign: ReadonlyMap<string, Slot>;
  readonly needs: readonly Need[];
}

/** Most alternatives kept at every step: enough for both sides of a boundary, few enough to stay cheap. */
const WIDTH = 6;
/** A string no literal of a policy is expected to name. */
export const OTHER = "other";
const OTHER_KINDS = ["human", "agent", "service", "token", "device"];

const EMPTY: Solution = { assign: new Map(), needs: [] };

function one(path: string, value: Slot): Solution {
  return { assign: new Map([[path, value]]), needs: [] };
}

function same(a: Slot, b: Slot): boolean {
  if (a === b) return true;
  if (a === PRESENT) return b !== ABSENT;
  if (b === PRESENT) return a !== ABSENT;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return false;
}

/** The conjunction of two solutions, or null when they put different values at one path. */
export function mergeSolutions(a: Solution, b: Solution): Solution | null {
  if (a.assign.size === 0 && a.needs.length === 0) return b;
  if (b.assign.size === 0 && b.needs.length === 0) return a;
  const assign = new Map(a.assign);
  for (const [k, v] of b.assign) {
    const prev = assign.get(k);
    if (prev === undefined) assign.set(k, v);
    else if (!same(prev, v)) return null;
    else if (prev === PRESENT) assign.set(k, v);
  }
  return { assign, needs: [...a.needs, ...b.needs] };
}

/**
 * Every consistent pairing of two lists of alternatives, at most `width`: those needing the least
 * history first (values alone are cheaper than events), then the earlier alternatives first.
 */
export function crossSolutions(xs: readonly Solution[], ys: readonly Solution[], width = WIDTH): Solution[] {
  // Every left alternative keeps its best partner before any gets a second one: the choices made
  // first (which rule allows, which principal) survive the many constraints crossed in after them.
  const perLeft: Solution[][] = xs.map((x) =>
    ys
      .map((y, j) => ({ m: mergeSolutions(x, y), j }))
      .filter((p): p is { m: Solution; j: number } => p.m !== null)
      .sort((a, b) => a.m.needs.length - b.m.needs.length || a.j - b.j)
      .map((p) => p.m),
  );
  const out: Solution[] = [];
  for (let round = 0; out.length < width; round++) {
    const layer = perLeft.flatMap((list) => (round < list.length ? [list[round]!] : []));
    if (layer.length === 0) break;
    out.push(...layer.sort((a, b) => a.needs.length - b.needs.length).slice(0, width - out.length));
  }
  return out;
}

/** The solver for one policy: which rules an event name reaches, and what makes each match. */
export class Solver {
  /** Actions tagged [high] by the actions block. */
  private readonly high: ReadonlySet<string>;

  constructor(readonly ir: PolicyIR) {
    this.high = new Set(ir.actions.filter((a) => a.high).map((a) => a.name));
  }

  /** Rules whose targets match a request for `name` (or a signal `name`). */
  candidates(name: string, signal: boolean): RuleIR[] {
    return this.ir.rules.filter((r) => (signal ? r.signals : r.actions).some((p) => actionPatternMatches(p, name)));
  }

  /** Whether an allow rule can allow `name` at all: a [high] action only through a rule that names it. */
  reaches(rule: RuleIR, name: string): boolean {
    if (!rule.actions.some((p) => actionPatternMatches(p, name))) return false;
    if (rule.effect !== "allow" || !this.high.has(name)) return true;
    return rule.actions.some((p) => p.join(".") === name);
  }

  /** Whether a rule targets the request (or signal) `name` and can decide it. */
  targets(rule: RuleIR, name: string, signal: boolean): boolean {
    return (signal ? rule.signals : rule.actions).some((p) => actionPatternMatches(p, name)) && (signal || this.reaches(rule, name));
  }

  private readonly memo = new Map<string, Solution[]>();

  /** Solutions that make `rule` match (`want`) or not match a request or signal named `name` (the same array for the same question). */
  rule(rule: RuleIR, want: boolean, name: string, signal = false): Solution[] {
    const key = `${rule.index}|${want}|${signal}|${name}`;
    let hit = this.memo.get(key);
    if (!hit) this.memo.set(key, (hit = this.solveRule(rule, want, name, signal)));
    return hit;
  }

  private solveRule(rule: RuleIR, want: boolean, name: string, signal: boolean): Solution[] {
    if (!this.targets(rule, name, signal)) return want ? [] : [EMPTY];
    if (want) return crossSolutions(this.selectors(rule, true), rule.condition === null ? [EMPTY] : this.expr(rule.condition, true, name));
    return [...principals(rule.principals, false), ...resources(rule.resources, false), ...(rule.condition === null ? [] : this.expr(rule.condition, false, name))].slice(0, WIDTH * 2);
  }

  /** Solutions for a rule's principal and resource selectors together (both hold), or for one part failing. */
  selectors(rule: RuleIR, want: boolean, part?: "principal" | "resource"): Solution[] {
    if (want) return crossSolutions(principals(rule.principals, true), resources(rule.resources, true));
    if (part === "principal") return crossSolutions(principals(rule.principals, false), resources(rule.resources, true));
    return crossSolutions(principals(rule.principals, true), resources(rule.resources, false));
  }

  /** Solutions making `e` evaluate to `want` for an event named `name` (never to an error). */
  expr(e: ExprIR, want: boolean, name: string): Solution[] {
    switch (e.t) {
      case "and":
      case "or": {
        const l = this.expr(e.left, want, name);
        const r = this.expr(e.right, want, name);
        // `and` true and `or` false need both sides; the other two need either.
        return (e.t === "and") === want ? crossSolutions(l, r) : interleave(l, r);
      }
      case "not":
        return this.expr(e.operand, !want, name);
      case "lit":
        return (e.value === true) === want ? [EMPTY] : [];
      case "path":
        if (e.path.root === "action") return [];
        return [one(e.path.text, want)];
      case "op":
      case "label":
        return [{ assign: new Map(), needs: [{ expr: e, want }] }];
      case "has":
        if (e.root === "action") return want ? [EMPTY] : [];
        return [one([e.root, ...e.segments].join("."), want ? PRESENT : ABSENT)];
      case "like":
        return this.like(e.subject, e.pattern, want, name);
      case "in":
        return this.member(e.element, e.collection, want, name);
      case "cmp":
        return this.compare(e, want, name);
      case "set":
        return [];
    }
  }

  private like(subject: ExprIR, pattern: string, want: boolean, name: string): Solution[] {
    const g = compileGlob(pattern);
    if (subject.t !== "path") return [];
    if (subject.path.root === "action") return globMatch(g, String(actionValue(subject.path.segments, name))) === want ? [EMPTY] : [];
    const candidates = [pattern.replaceAll("*", "x"), pattern.replaceAll("*", ""), "zz", OTHER, `zz${pattern.replaceAll("*", "")}`];
    return unique(candidates.filter((c) => globMatch(g, c) === want)).slice(0, 2).map((c) => one(subject.path.text, c));
  }

  private member(el: ExprIR, col: ExprIR, want: boolean, name: string): Solution[] {
    if (el.t === "path" && col.t === "set") {
      if (el.path.root === "action") return col.values.includes(actionValue(el.path.segments, name) as string) === want ? [EMPTY] : [];
      if (want) return col.values.slice(0, WIDTH).map((v) => one(el.path.text, v));
      const other = [OTHER, 0, false].find((o) => !col.values.includes(o));
      const typed = col.values.length > 0 && typeof col.values[0] === "number" ? Math.max(...(col.values as number[])) + 1 : other;
      return typed === undefined ? [] : [one(el.path.text, typed)];
    }
    if (el.t === "lit" && col.t === "path" && typeof el.value === "string") return [one(col.path.text, want ? [el.value] : [])];
    if (el.t === "path" && col.t === "path") {
      return want ? [mergeSolutions(one(el.path.text, "v1"), one(col.path.text, ["v1"]))!] : [mergeSolutions(one(el.path.text, "v1"), one(col.path.text, []))!];
    }
    if (el.t === "op") return [{ assign: new Map(), needs: [{ expr: { t: "in", element: el, collection: col, span: el.span }, want }] }];
    return [];
  }

  private compare(e: Extract<ExprIR, { t: "cmp" }>, want: boolean, name: string): Solution[] {
    const { left, right, op } = e;
    if (left.t === "op" || right.t === "op") return [{ assign: new Map(), needs: [{ expr: e, want }] }];
    if (left.t === "lit" && right.t === "lit") return compareValues(left.value, op, right.value) === want ? [EMPTY] : [];
    if (left.t === "path" && right.t === "lit") return this.pathVersusLiteral(left, op, right.value, want, name, false);
    if (left.t === "lit" && right.t === "path") return this.pathVersusLiteral(right, op, left.value, want, name, true);
    if (left.t === "path" && right.t === "path") {
      const lv = left.path.root === "action" ? actionValue(left.path.segments, name) : undefined;
      const rv = right.path.root === "action" ? actionValue(right.path.segments, name) : undefined;
      if (lv !== undefined && rv !== undefined) return compareValues(lv, op, rv) === want ? [EMPTY] : [];
      const pairs: [VocabularyValue, VocabularyValue][] = [["v1", "v1"], ["v1", "v2"], [1, 1], [1, 2], [2, 1]];
      const out: Solution[] = [];
      for (const [a, b] of pairs) {
        const x = lv ?? a;
        const y = rv ?? b;
        if (compareValues(x, op, y) !== want) continue;
        const parts = [lv === undefined ? one(left.path.text, x) : EMPTY, rv === undefined ? one(right.path.text, y) : EMPTY];
        out.push(mergeSolutions(parts[0]!, parts[1]!)!);
        if (out.length >= 2) break;
      }
      return out;
    }
    return [];
  }

  private pathVersusLiteral(p: Extract<ExprIR, { t: "path" }>, op: CompareOp, lit: string | number | boolean, want: boolean, name: string, flipped: boolean): Solution[] {
    const test = (v: VocabularyValue) => (flipped ? compareValues(lit, op, v) : compareValues(v, op, lit));
    if (p.path.root === "action") return test(actionValue(p.path.segments, name) as VocabularyValue) === want ? [EMPTY] : [];
    if (typeof lit === "number") {
      // The two nearest the literal (the sides of the boundary), then one far from it, which other
      // comparisons on the same attribute are more likely to accept too.
      const near = unique([lit, ...neighbours(lit)].sort((a, b) => Math.abs(a - lit) - Math.abs(b - lit)).filter((v) => test(v) === want)).slice(0, 2);
      const far = [0, -1, Math.abs(lit) * 10 + 1, -Math.abs(lit) * 10 - 1].find((v) => test(v) === want && !near.includes(v));
      return [...near, ...(far === undefined ? [] : [far])].map((v) => one(p.path.text, v));
    }
    const candidates: VocabularyValue[] = typeof lit === "boolean" ? [lit, !lit] : [lit, OTHER, `${lit}x`];
    return unique(candidates.filter((v) => test(v) === want)).slice(0, 2).map((v) => one(p.path.text, v));
  }
}

function interleave(a: readonly Solution[], b: readonly Solution[]): Solution[] {
  const out: Solution[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < WIDTH * 2; i++) {
    if (a[i]) out.push(a[i]!);
    if (b[i]) out.push(b[i]!);
  }
  return out;
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** `action.name` and `action.domain` of the event being built. */
function actionValue(segments: readonly string[], name: string): string | undefined {
  if (segments.length === 0 || segments[0] === "name") return name;
  if (segments[0] === "domain") return name.split(".")[0];
  return undefined;
}

/** The engine's comparison of two values, as a plain boolean (a type mismatch is never what a solution wants). */
export function compareValues(a: unknown, op: CompareOp, b: unknown): boolean | null {
  if (op === "==" || op === "!=") {
    if (typeof a !== typeof b) return null;
    return (a === b) === (op === "==");
  }
  if (typeof a !== "number" || typeof b !== "number") return null;
  switch (op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    default:
      return a >= b;
  }
}

/** Whether a principal (kind, id and attributes as assigned) matches a selector. */
function selectorHolds(s: PrincipalSelIR, get: (path: string) => Slot | undefined): boolean {
  const kind = get("principal.kind");
  const id = get("principal.id");
  if (s.kind !== null && kind !== s.kind) return false;
  if (s.id !== null && (typeof id !== "string" || !globMatch(compileGlob(s.id), id))) return false;
  return s.attributes.every((a) => get(`principal.${a.name}`) === a.value);
}

/** Solutions for a rule's principal selectors (`for agent *, human "ana" { team: "support" }`). */
function principals(sels: readonly PrincipalSelIR[], want: boolean): Solution[] {
  if (sels.length === 0) return want ? [EMPTY] : [];
  if (want) {
    return sels.slice(0, WIDTH).map((s) => {
      const assign = new Map<string, Slot>();
      if (s.kind !== null) assign.set("principal.kind", s.kind);
      if (s.id !== null) assign.set("principal.id", s.id.replaceAll("*", "x"));
      for (const a of s.attributes) assign.set(`principal.${a.name}`, a.value);
      return { assign, needs: [] };
    });
  }
  // A kind no selector names; an id no selector's glob matches; an attribute value no selector asks for.
  const kinds = new Set(sels.map((s) => s.kind));
  const out: Solution[] = [];
  const otherKind = OTHER_KINDS.find((k) => !kinds.has(k));
  if (otherKind !== undefined && !kinds.has(null)) out.push(one("principal.kind", otherKind));
  for (const s of sels) {
    const assign = new Map<string, Slot>();
    if (s.kind !== null) assign.set("principal.kind", s.kind);
    if (s.id !== null) assign.set("principal.id", OTHER);
    else if (s.attributes.length > 0) assign.set(`principal.${s.attributes[0]!.name}`, typeof s.attributes[0]!.value === "string" ? OTHER : !s.attributes[0]!.value);
    else continue;
    if (sels.every((x) => !selectorHolds(x, (p) => assign.get(p)))) out.push({ assign, needs: [] });
  }
  return out;
}

/** Solutions for a rule's resource globs (`on repo/*`). */
function resources(globs: readonly string[], want: boolean): Solution[] {
  if (globs.length === 0) return want ? [EMPTY] : [];
  const compiled = globs.map(compileGlob);
  if (want) return unique(globs.map((g) => g.replaceAll("*", "x"))).slice(0, WIDTH).map((p) => one("resource.path", p));
  const miss = ["other/x", "zz", "x"].find((p) => compiled.every((g) => !globMatch(g, p)));
  return miss === undefined ? [] : [one("resource.path", miss)];
}
