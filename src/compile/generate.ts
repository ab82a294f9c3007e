import type { CompareOp, Effect } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { BUILTIN_ATTRIBUTES, type SchemaEnv, type Type } from "../check/schema.js";
import { Failure, isRecord, MAX_STRING, readOwn, typeName, type Value } from "../runtime/attributes.js";
import type { EvalContext } from "../runtime/context.js";
import { compileGlob, globMatch, hasPrefix } from "../runtime/glob.js";
import { domainOf, regularityCrossing } from "../runtime/operators.js";
import { movesWithTime, noteCrossing, readHistory, readingOf, type HistoryRead } from "../runtime/readers.js";
import type { Obligation, Reason } from "../runtime/types.js";
import { operandsOf, type ExprIR, type OpIR, type PathIR, type PolicyIR, type PrincipalSelIR, type RuleIR } from "./ir.js";
import { check, CheckKind, fullCheck, Root, runChecks, runOrder, type Check } from "./checks.js";
import { BOOLEAN_TYPE, IndexKeys, NUMBER_TYPE, Probe, STRING_TYPE, typeBit, type Constraint, type IndexKey, type IndexValue } from "./rule-index.js";
import { historyTerms } from "./terms.js";

/** A compiled condition: a closure over the evaluation context. */
export type Evaluator = (c: EvalContext) => Value;

/** How a rule took part: it matched, it did not, or it could not be evaluated. */
export type RuleOutcome = true | false | Failure;

/** A test of a rule, or of part of one. */
export type RuleTest = (c: EvalContext) => RuleOutcome;

/**
 * One conjunct of a rule. A rule is the Kleene conjunction of its principal selector's parts (or
 * its several selectors as one disjunction), its resource globs and the `and`-joined parts of its
 * conditions, in that order: false when any conjunct is false, else the first failure, else true.
 */
export interface Conjunct {
  /** The conjunct as a check record (see checks.ts), with its closure for everything unusual. */
  readonly check: Check;
  /** What the conjunct tests for equality, for the rule index (its `conjunct` field is this one's place). */
  readonly constraint: Constraint | null;
  /** Whether the conjunct holds whenever its constraint's value is read and accepted. */
  readonly establishes: boolean;
  /** Whether the conjunct reads only the action's name and domain and literals: one value per action. */
  readonly onAction: boolean;
}

/** A rule compiled to closures, with everything a decision reports about it prebuilt and frozen. */
export interface CompiledRule {
  readonly ir: RuleIR;
  readonly id: string;
  readonly effect: Effect;
  /** Rank by id, so multi-rule decisions list rules in an order that never depends on source order. */
  rank: number;
  /** The effect's place in combining: allow 1, challenge 2, deny 3, revoke 4 (flag 0: never combined). */
  readonly effectRank: number;
  /** An allow rule with a `limit` or `valid for`: it matches only while its scope holds. */
  readonly scoped: boolean;
  /** A list of just this rule (the winners of a decision this rule alone decides). */
  readonly selfList: readonly CompiledRule[];
  /** Principal and resource selectors and conditions (not limit/grant, which need the rule's own state). */
  readonly match: RuleTest;
  readonly conjuncts: readonly Conjunct[];
  /** Every constraint the rule index may use: the conjuncts' and those of several selectors together. */
  readonly constraints: readonly Constraint[];
  /**
   * The rule where the conjuncts in `established` (bit i: conjunct i) are known to hold, with the
   * test of the other conjuncts (`match` when none is): what an index node evaluates. Memoised.
   */
  probe(established: number): Probe;
  readonly idList: readonly string[];
  readonly reason: Reason;
  readonly reasonList: readonly Reason[];
  readonly obligation: Obligation | null;
  readonly obligationList: readonly Obligation[];
  /**
   * The condition as history terms (see terms.ts) when the rule has no principal or resource
   * selector and its condition has that form: then `matchTerms(terms, c)` is the same test as `match`.
   */
  readonly terms: readonly HistoryRead[] | null;
  /** The key groups whose partitions the rule reads or writes (conditions, limit, grant, labels). */
  readonly groups: readonly number[];
}

/*
 * The failures of selectors, one object each for every rule: they carry no span, and a decision
 * reports a rule's failure without a span of its own at the rule's span (Policy.consider), which is
 * where a selector's failure belongs. Built per rule, they were five objects of every rule.
 */
const NO_PRINCIPAL = new Failure("R301", "the event has no principal", undefined);
const NO_RESOURCE = new Failure("R301", "the rule names resources but the request has none", undefined);
const NO_SUBJECT = new Failure("R301", "the request's resource has no path or id", undefined);
const PATH_NOT_STRING = new Failure("R302", "resource.path must be a string", undefined);
const ID_NOT_STRING = new Failure("R302", "resource.id must be a string", undefined);

/** An effect's place in combining (revoke > deny > challenge > allow; a flag never combines). */
export const EFFECT_RANK: Readonly<Record<Effect, number>> = { flag: 0, allow: 1, challenge: 2, deny: 3, revoke: 4 };

/** Stage: IR -> closures for every rule. The schema's declared types choose the fast path of comparisons. */
export function generateRules(ir: PolicyIR, schema: SchemaEnv = new Map(), keys: IndexKeys = new IndexKeys()): CompiledRule[] {
  const gen = new Generator(ir, schema, keys);
  const rules = ir.rules.map((r) => gen.rule(r));
  [...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).forEach((r, i) => (r.rank = i));
  return rules;
}

/** The Kleene disjunction of conjunctions of checks: true if any is true, else the first failure, else false. */
function anyOf(alternatives: readonly (readonly Check[])[]): RuleTest {
  const list = [...alternatives];
  return (c) => {
    let failure: Failure | null = null;
    for (let i = 0; i < list.length; i++) {
      const o = runChecks(list[i]!, c);
      if (o === true) return true;
      if (o !== false) failure ??= o;
    }
    return failure ?? false;
  };
}

const hasOwn = Object.prototype.hasOwnProperty;

class Generator {
  constructor(
    readonly ir: PolicyIR,
    readonly schema: SchemaEnv,
    readonly keys: IndexKeys,
  ) {}

  rule(r: RuleIR): CompiledRule {
    const conjuncts: Conjunct[] = [];
    const shared: Constraint[] = [];
    if (r.principals.length === 1) conjuncts.push(...this.selector(r.principals[0]!, r.span));
    else if (r.principals.length > 1) {
      const any = anyOf(r.principals.map((s) => runOrder(this.selector(s, r.span).map((x) => x.check))));
      conjuncts.push(part(fullCheck(any)));
      shared.push(...this.sharedConstraints(r.principals));
    }
    if (r.resources.length > 0) conjuncts.push(this.resources(r.resources, r.span));
    if (r.condition !== null) {
      if (r.condition.t === "and") {
        for (const [leaf, span] of andLeaves(r.condition)) {
          const value = this.expr(leaf);
          conjuncts.push(this.conditionPart(leaf, (c) => bool(value(c), span)));
        }
      } else {
        const whole = this.expr(r.condition);
        const span = r.span;
        conjuncts.push(
          this.conditionPart(r.condition, (c) => {
            const v = whole(c);
            if (v === true || v === false || v instanceof Failure) return v;
            return new Failure("R302", `the condition gave ${typeName(v)}, not true or false`, span);
          }),
        );
      }
    }
    const constraints: Constraint[] = [];
    conjuncts.forEach((x, i) => {
      if (x.constraint !== null) constraints.push({ ...x.constraint, conjunct: x.establishes ? i : -1 });
    });
    constraints.push(...shared);
    const all = runOrder(conjuncts.map((x) => x.check));
    const match: RuleTest = (c) => runChecks(all, c);
    const message = r.reason ?? defaultMessage(r);
    const reason: Reason = Object.freeze({ rule: r.id, effect: r.effect, message, span: r.span });
    const obligation: Obligation | null = r.obligation
      ? Object.freeze({ kind: "challenge", rule: r.id, challenge: r.obligation.kind, satisfiedBy: Object.freeze([...r.obligation.satisfiedBy]) })
      : null;
    const probes = new Map<number, Probe>();
    const rule: CompiledRule = {
      ir: r,
      id: r.id,
      effect: r.effect,
      rank: 0,
      effectRank: EFFECT_RANK[r.effect],
      scoped: r.effect === "allow" && (r.limit !== null || r.grant !== null),
      selfList: EMPTY,
      match,
      conjuncts,
      constraints,
      probe(established: number): Probe {
        let p = probes.get(established);
        if (p === undefined) {
          const checks = established === 0 ? all : all.filter((k) => (established & (1 << k.place)) === 0);
          probes.set(established, (p = new Probe(rule, checks)));
        }
        return p;
      },
      terms: r.principals.length === 0 && r.resources.length === 0 && r.condition !== null ? historyTerms(this.ir, r.condition) : null,
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

  /**
   * The conjuncts of one principal selector: kind, id, each attribute. Each fails with R301 for an
   * event without a principal; `*` has none (anyone, a signal without a principal too). An attribute
   * of another type than the selector's value is R302, as `==` makes it.
   */
  selector(s: PrincipalSelIR, span: Span): Conjunct[] {
    const out: Conjunct[] = [];
    const noPrincipal = NO_PRINCIPAL;
    const kind = s.kind;
    if (kind !== null) {
      const full: RuleTest = (c) => (c.ev.principalKind === undefined ? noPrincipal : c.ev.principalKind === kind);
      out.push(keyed(check(CheckKind.Kind, full, { value: kind, failure: noPrincipal }), this.keys.kind(), [kind]));
    }
    const id = s.id;
    if (id !== null && !id.includes("*")) {
      const full: RuleTest = (c) => (c.ev.principalKind === undefined ? noPrincipal : c.ev.principalId === id);
      out.push(keyed(check(CheckKind.Id, full, { value: id, failure: noPrincipal }), this.keys.id(), [id]));
    } else if (id !== null) {
      const glob = compileGlob(id);
      out.push(part(fullCheck((c) => (c.ev.principalKind === undefined ? noPrincipal : globMatch(glob, c.ev.principalId!)))));
    }
    for (const a of s.attributes) {
      const segments = [a.name];
      const text = `principal.${a.name}`;
      const want = a.value;
      const type = typeof want;
      const read = this.pathReader({ root: "principal", segments, text, span });
      const full: RuleTest = (c) => {
        if (c.ev.principalKind === undefined) return noPrincipal;
        const v = read(c);
        if (v instanceof Failure) return v;
        if (typeof v !== type) return new Failure("R302", `${text} is ${typeName(v)}: the selector compares it with a ${type}`, span);
        return v === want;
      };
      const fast = isUsableLiteral(want) ? check(CheckKind.SelectorAttribute, full, { seg: a.name, value: want, types: typeBit(want), failure: noPrincipal }) : fullCheck(full);
      out.push(keyed(fast, this.keys.attribute("principal", segments), [want]));
    }
    return out;
  }

  /** Constraints every one of several selectors makes, on the same key with values of one type. */
  sharedConstraints(sels: readonly PrincipalSelIR[]): Constraint[] {
    const out: Constraint[] = [];
    const common = (values: (IndexValue | null)[], key: IndexKey) => {
      if (values.some((v) => v === null)) return;
      const vs = [...new Set(values as IndexValue[])];
      const types = typesOf(vs);
      if (types === STRING_TYPE || types === NUMBER_TYPE || types === BOOLEAN_TYPE) out.push({ key, values: vs, types, conjunct: -1 });
    };
    common(sels.map((s) => s.kind), this.keys.kind());
    common(sels.map((s) => (s.id !== null && !s.id.includes("*") ? s.id : null)), this.keys.id());
    const names = new Set(sels[0]!.attributes.map((a) => a.name));
    for (const name of names) common(sels.map((s) => s.attributes.find((a) => a.name === name)?.value ?? null), this.keys.attribute("principal", [name]));
    return out;
  }

  /**
   * `on glob, ...` over `resource.path`, else `resource.id`. Globs that all start with the same
   * literal segment (`tenant-4/...`) constrain the resource's first segment; `tenant-4/*` alone is
   * exactly that constraint.
   */
  resources(globs: readonly string[], span: Span): Conjunct {
    const compiled = globs.map(compileGlob);
    const noResource = NO_RESOURCE;
    const noSubject = NO_SUBJECT;
    const notString = PATH_NOT_STRING;
    const badId = ID_NOT_STRING;
    const full: RuleTest = (c) => {
      const res = c.ev.resource;
      if (res === undefined) return noResource;
      const v = readOwn(res, PATH, "resource.path", span);
      // Only a missing (or null) path falls back to the id; a path of the wrong type fails closed.
      if (v instanceof Failure && v.code !== "R301") return notString;
      const subject = v instanceof Failure ? readOwn(res, ID, "resource.id", span) : v;
      if (subject instanceof Failure) return subject.code === "R301" ? noSubject : badId;
      if (typeof subject !== "string") return notString;
      for (const g of compiled) if (globMatch(g, subject)) return true;
      return false;
    };
    // One exact path or literal prefix is read straight off the request when its path is a usable string.
    const one = globs.length === 1 ? globs[0]! : null;
    const star = one === null ? -1 : one.indexOf("*");
    const test =
      one === null || (star >= 0 && star !== one.length - 1)
        ? fullCheck(full)
        : star < 0
          ? check(CheckKind.ResourceExact, full, { value: one })
          : check(CheckKind.ResourcePrefix, full, { value: one.slice(0, -1) });
    const seg = literalSegment(globs);
    if (seg === null) return part(test);
    return { check: test, constraint: { key: this.keys.segment(), values: [seg], types: STRING_TYPE, conjunct: -1 }, establishes: globs.length === 1 && globs[0] === `${seg}/*`, onAction: false };
  }

  /** A part of a condition, with the constraint it makes when it is an equality the index can read. */
  conditionPart(e: ExprIR, full: RuleTest): Conjunct {
    const c = this.constraintOf(e);
    return { check: conditionCheck(e, full), constraint: c, establishes: c !== null, onAction: readsOnlyAction(e) };
  }

  /**
   * `path == literal`, `path in [literals]`, a bool attribute (`context.mfa`) or its `not`, and
   * `or` of such over one path with values of one type: the rule needs the path to be one of the
   * values, and a value of that type not among them makes the part false.
   */
  constraintOf(e: ExprIR): Constraint | null {
    const attr = (x: ExprIR): IndexKey | null => (x.t === "path" && x.path.root !== "action" ? this.keys.attribute(x.path.root, x.path.segments) : null);
    const of = (key: IndexKey | null, values: readonly IndexValue[]): Constraint | null => {
      if (key === null || values.length === 0) return null;
      return { key, values, types: typesOf(values), conjunct: -1 };
    };
    switch (e.t) {
      case "cmp":
        if (e.op !== "==") return null;
        if (e.right.t === "lit") return of(attr(e.left), [e.right.value]);
        if (e.left.t === "lit") return of(attr(e.right), [e.left.value]);
        return null;
      case "in":
        return e.collection.t === "set" ? of(attr(e.element), [...new Set(e.collection.values)]) : null;
      case "path":
        return of(attr(e), [true]);
      case "not":
        return e.operand.t === "path" ? of(attr(e.operand), [false]) : null;
      case "or": {
        const l = this.constraintOf(e.left);
        const r = this.constraintOf(e.right);
        if (l === null || r === null || l.key !== r.key) return null;
        const types = l.types & r.types;
        const values = [...new Set([...l.values, ...r.values])];
        return values.every((v) => (typeBit(v) & types) !== 0) ? { key: l.key, values, types, conjunct: -1 } : null;
      }
      default:
        return null;
    }
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
        if (e.collection.t === "set") return this.memberOf(this.expr(e.element), e.collection.values, e.span);
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
        // `resource has path` asks the root; `resource.meta has secret` first reads resource.meta as
        // any path is read (missing is R301, not a record R302). A null attribute is not present.
        const parent = segments.slice(0, -1);
        const last = segments[segments.length - 1]!;
        const span = e.span;
        const text = [root, ...parent].join(".");
        const present = (holder: unknown) => isRecord(holder) && hasOwn.call(holder, last) && holder[last] !== undefined && holder[last] !== null;
        if (parent.length === 0) return (c) => present(rootOf(c, root));
        const missing = new Failure("R301", `${text} is missing`, span);
        const notRecord = new Failure("R302", `\`has\` needs ${text} to be an entity or a record`, span);
        return (c) => {
          let cur: unknown = rootOf(c, root);
          for (const s of parent) {
            if (!isRecord(cur) || !hasOwn.call(cur, s)) return missing;
            cur = cur[s];
            if (cur === undefined || cur === null) return missing;
          }
          return isRecord(cur) ? present(cur) : notRecord;
        };
      }
      case "label":
        return this.label(e.op, e.label);
      case "op":
        return this.op(this.ir.ops[e.op]!, e.current);
    }
  }

  /** `x in [literals]`: a Set lookup, with the set's types known; the same values and failures as the general `in`. */
  memberOf(el: Evaluator, values: readonly (string | number | boolean)[], span: Span): Evaluator {
    const set = new Set(values);
    const types = typesOf(values);
    const first = values.length > 0 ? typeName(values[0]!) : "";
    return (c) => {
      const x = el(c);
      if (x instanceof Failure) return x;
      if (x === null || Array.isArray(x)) return new Failure("R302", `\`in\` needs a single value on the left, got ${typeName(x)}`, span);
      const v = x as string | number | boolean;
      if (set.has(v)) return true;
      // A value of a type no element has cannot be compared with the set: fail closed, as == does.
      if (types !== 0 && (types & typeBit(v)) === 0) return new Failure("R302", `cannot look for a ${typeName(v)} in a set of ${first}`, span);
      return false;
    };
  }

  path(p: PathIR): Evaluator {
    if (p.root === "action") {
      // `action` alone is the action name, as is `action.name`.
      return p.segments[0] === "domain" ? (c) => domainOf(c.ev.name) : (c) => c.ev.name;
    }
    return this.pathReader({ root: p.root, segments: p.segments, text: p.text, span: p.span });
  }

  /**
   * `readOwn` of an attribute path. A one-segment path (most are) reads a usable own scalar
   * directly and leaves everything else, failures and sets included, to `readOwn`.
   */
  pathReader(p: { readonly root: "principal" | "resource" | "context"; readonly segments: readonly string[]; readonly text: string; readonly span: Span }): Evaluator {
    const { root, segments, text, span } = p;
    if (segments.length !== 1) {
      if (root === "principal") return (c) => readOwn(c.ev.principal, segments, text, span);
      if (root === "resource") return (c) => readOwn(c.ev.resource, segments, text, span);
      return (c) => readOwn(c.ev.context, segments, text, span);
    }
    const seg = segments[0]!;
    const direct = (o: Readonly<Record<string, unknown>> | undefined): Value => {
      if (o !== undefined && hasOwn.call(o, seg)) {
        const v = o[seg];
        if (typeof v === "string") {
          if (v.length <= MAX_STRING) return v;
        } else if (typeof v === "number") {
          if (v - v === 0) return v;
        } else if (typeof v === "boolean") return v;
      }
      return readOwn(o, segments, text, span);
    };
    if (root === "principal") return (c) => direct(c.ev.principal);
    if (root === "resource") return (c) => direct(c.ev.resource);
    return (c) => direct(c.ev.context);
  }

  op(op: OpIR, current = false): Evaluator {
    const h = readingOf(op, this.ir.workflows, 0, current);
    return (c) => readHistory(h, c);
  }

  /**
   * `count(...) >= 3`, `distinct(...) > 2` and the like: an ordered comparison of a counting
   * operator (never null, never moving with the request's own time) with a number, in one closure.
   */
  private countAgainst(op: OpIR, current: boolean, test: (a: number, b: number) => boolean, constant: number, opOnLeft: boolean, symbol: string, span: Span): Evaluator {
    const h = readingOf(op, this.ir.workflows, 0, current);
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
      const current = (x: ExprIR) => x.t === "op" && x.current;
      const numeric = (x: ExprIR): number | null => (x.t === "lit" && typeof x.value === "number" ? x.value : null);
      const [lo, ln, ro, rn] = [counted(left), numeric(left), counted(right), numeric(right)];
      if (lo !== null && rn !== null) return this.countAgainst(lo, current(left), COMPARE[op], rn, true, op, span);
      if (ln !== null && ro !== null) return this.countAgainst(ro, current(right), COMPARE[op], ln, false, op, span);
    }
    const special = this.compareAttribute(op, left, right, span);
    if (special !== null) return special;
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
   * A comparison of an attribute with a literal, or of two attributes, in one closure with the
   * literal's (or the schema's declared) type checked first: the same values and failures as the
   * general comparison, without its calls through operand closures.
   */
  private compareAttribute(op: CompareOp, left: ExprIR, right: ExprIR, span: Span): Evaluator | null {
    const isAttr = (x: ExprIR): x is Extract<ExprIR, { t: "path" }> => x.t === "path" && x.path.root !== "action";
    if (isAttr(left) && isAttr(right) && (op === "==" || op === "!=")) {
      const ra = this.path(left.path);
      const rb = this.path(right.path);
      const declared = this.declaredType(left.path);
      const same = declared !== null && declared === this.declaredType(right.path) ? declared : null;
      const eq = op === "==";
      return (c) => {
        const a = ra(c);
        if (a instanceof Failure) return a;
        const b = rb(c);
        if (b instanceof Failure) return b;
        if (same !== null && typeof a === same && typeof b === same) return eq ? a === b : a !== b;
        if (typeof a !== typeof b || typeof a === "object") return new Failure("R302", `cannot compare ${typeName(a)} with ${typeName(b)}`, span);
        return eq ? a === b : a !== b;
      };
    }
    const attrOnLeft = isAttr(left) && right.t === "lit";
    if (!attrOnLeft && !(isAttr(right) && left.t === "lit")) return null;
    const path = (attrOnLeft ? left : right) as Extract<ExprIR, { t: "path" }>;
    const literal = (attrOnLeft ? right : left) as Extract<ExprIR, { t: "lit" }>;
    const read = this.path(path.path);
    const want = literal.value;
    const type = typeof want;
    if (op === "==" || op === "!=") {
      const eq = op === "==";
      const mismatch = (v: Value) => new Failure("R302", attrOnLeft ? `cannot compare ${typeName(v)} with ${type}` : `cannot compare ${type} with ${typeName(v)}`, span);
      return (c) => {
        const v = read(c);
        if (v instanceof Failure) return v;
        if (typeof v !== type) return mismatch(v);
        return eq ? v === want : v !== want;
      };
    }
    if (typeof want !== "number") return null;
    const notNumber = (v: Value) => new Failure("R302", attrOnLeft ? `\`${op}\` compares numbers, got ${typeName(v)} and number` : `\`${op}\` compares numbers, got number and ${typeName(v)}`, span);
    const k = want;
    // The attribute on the left: v OP k; on the right: k OP v, i.e. v (flipped OP) k.
    const flipped: CompareOp = attrOnLeft ? op : op === "<" ? ">" : op === "<=" ? ">=" : op === ">" ? "<" : "<=";
    switch (flipped) {
      case "<":
        return (c) => {
          const v = read(c);
          return typeof v === "number" ? v < k : v instanceof Failure ? v : notNumber(v);
        };
      case "<=":
        return (c) => {
          const v = read(c);
          return typeof v === "number" ? v <= k : v instanceof Failure ? v : notNumber(v);
        };
      case ">":
        return (c) => {
          const v = read(c);
          return typeof v === "number" ? v > k : v instanceof Failure ? v : notNumber(v);
        };
      default:
        return (c) => {
          const v = read(c);
          return typeof v === "number" ? v >= k : v instanceof Failure ? v : notNumber(v);
        };
    }
  }

  /** The schema's scalar type of an attribute path (`string`, `number`, `boolean`), if declared. */
  private declaredType(p: PathIR): "string" | "number" | "boolean" | null {
    if (p.root === "action" || p.segments.length !== 1) return null;
    const t = (this.schema.get(p.root)?.get(p.segments[0]!)?.type ?? BUILTIN_ATTRIBUTES[p.root]?.[p.segments[0]!]) as Type | undefined;
    if (t === undefined) return null;
    return t.t === "string" ? "string" : t.t === "number" || t.t === "duration" ? "number" : t.t === "bool" ? "boolean" : null;
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

/** The key groups a rule reads or writes: its conditions' operators and labels, limit, grant and labels. */
function groupsOf(ir: PolicyIR, r: RuleIR): number[] {
  const out = new Set<number>();
  const work: ExprIR[] = r.condition === null ? [] : [r.condition];
  for (let e = work.pop(); e !== undefined; e = work.pop()) {
    if (e.t === "op" || e.t === "label") out.add(ir.ops[e.op]!.group);
    else work.push(...operandsOf(e));
  }
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

/** The type bits of some values. */
function typesOf(values: readonly IndexValue[]): number {
  let m = 0;
  for (const v of values) m |= typeBit(v);
  return m;
}

/** A conjunct the index cannot use. */
function part(check: Check): Conjunct {
  return { check, constraint: null, establishes: false, onAction: false };
}

/** A conjunct that is exactly the test of `key` against `values`. */
function keyed(check: Check, key: IndexKey, values: readonly IndexValue[]): Conjunct {
  return { check, constraint: { key, values, types: typesOf(values), conjunct: -1 }, establishes: true, onAction: false };
}

/** A literal a check can compare with as it is (an over-long string would be R302 on the request's side). */
function isUsableLiteral(v: unknown): v is IndexValue {
  return typeof v === "string" ? v.length <= MAX_STRING : typeof v === "number" ? Number.isFinite(v) : typeof v === "boolean";
}

const ROOT: Readonly<Record<"principal" | "resource" | "context", Root>> = { principal: Root.Principal, resource: Root.Resource, context: Root.Context };

/** A one-segment attribute path (not of the action), which checks read directly. */
function simplePath(e: ExprIR): { root: Root; seg: string } | null {
  return e.t === "path" && e.path.root !== "action" && e.path.segments.length === 1 ? { root: ROOT[e.path.root], seg: e.path.segments[0]! } : null;
}

const ORDERED: Readonly<Record<string, CheckKind>> = { "<": CheckKind.Less, "<=": CheckKind.LessEqual, ">": CheckKind.Greater, ">=": CheckKind.GreaterEqual };
const MIRRORED: Readonly<Record<string, CompareOp>> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** The check of a condition part: a direct reading for the common comparisons, `full` otherwise and for everything unusual. */
function conditionCheck(e: ExprIR, full: RuleTest): Check {
  if (e.t === "path" || (e.t === "not" && e.operand.t === "path")) {
    const p = simplePath(e.t === "path" ? e : e.operand);
    return p === null ? fullCheck(full) : check(CheckKind.Flag, full, { ...p, value: e.t === "path" });
  }
  if (e.t === "in") {
    const p = simplePath(e.element);
    if (p === null || e.collection.t !== "set" || !e.collection.values.every(isUsableLiteral)) return fullCheck(full);
    return check(CheckKind.In, full, { ...p, set: new Set(e.collection.values), types: typesOf(e.collection.values) });
  }
  if (e.t !== "cmp") return fullCheck(full);
  const [l, r] = [simplePath(e.left), simplePath(e.right)];
  if (l !== null && r !== null) {
    if (e.op !== "==" && e.op !== "!=") return fullCheck(full);
    return check(e.op === "==" ? CheckKind.SameAs : CheckKind.DifferentFrom, full, { root: l.root, seg: l.seg, root2: r.root, seg2: r.seg });
  }
  const attr = l ?? r;
  const lit = l !== null ? e.right : e.left;
  if (attr === null || lit.t !== "lit" || !isUsableLiteral(lit.value)) return fullCheck(full);
  if (e.op === "==" || e.op === "!=") return check(e.op === "==" ? CheckKind.Equal : CheckKind.NotEqual, full, { ...attr, value: lit.value, types: typeBit(lit.value) });
  if (typeof lit.value !== "number") return fullCheck(full);
  const op = l !== null ? e.op : MIRRORED[e.op]!;
  return check(ORDERED[op]!, full, { ...attr, value: lit.value });
}

/** The operands of a tree of `and`s, left to right, each with the span of the `and` that holds it. */
function andLeaves(e: ExprIR): [ExprIR, Span][] {
  const out: [ExprIR, Span][] = [];
  const walk = (x: Extract<ExprIR, { t: "and" | "or" }>) => {
    for (const side of [x.left, x.right]) {
      if (side.t === "and") walk(side);
      else out.push([side, x.span]);
    }
  };
  walk(e as Extract<ExprIR, { t: "and" | "or" }>);
  return out;
}

/** Whether an expression reads nothing but the action's name and domain (and literals). */
function readsOnlyAction(e: ExprIR): boolean {
  switch (e.t) {
    case "lit":
    case "set":
      return true;
    case "path":
      return e.path.root === "action";
    case "has":
      return e.root === "action";
    case "label":
    case "op":
      return false;
    default:
      return operandsOf(e).every(readsOnlyAction);
  }
}

/** The literal first path segment every glob starts with (`tenant-4` of `tenant-4/*`), if they share one. */
function literalSegment(globs: readonly string[]): string | null {
  let seg: string | null = null;
  for (const g of globs) {
    const slash = g.indexOf("/");
    const star = g.indexOf("*");
    if (slash <= 0 || (star >= 0 && star < slash)) return null;
    const s = g.slice(0, slash);
    if (seg !== null && s !== seg) return null;
    seg = s;
  }
  return seg;
}
