import type { CompareOp } from "../ast/nodes.js";
import { Failure } from "../runtime/attributes.js";
import type { EvalContext } from "../runtime/context.js";
import { gcra, nameTest, NONE, FOREVER, type Regs } from "../runtime/operators.js";
import type { Event } from "../runtime/request.js";
import { CorruptState } from "../runtime/pmap.js";
import type { RuleOutcome } from "./generate.js";
import type { ExprIR, OpIR, PolicyIR } from "./ir.js";

/**
 * History terms: the flat form of the commonest history conditions, read by one function.
 *
 * Most sequence rules have a condition that is one history reading, or several joined by `and`:
 * `after(X within D)`, `sequence(...)`, `count(X ...) >= N`, `gap(X) < D`, `since(X) > D`,
 * `rate(...)`, `session has L`, each perhaps under `not`. Compiled to closures, such a condition is
 * a chain of calls (rule, comparison, operator, reader) through call sites that every rule of the
 * policy shares, so none of them can be inlined. As terms, the same condition is a short array of
 * records of one shape that `matchTerms` reads with a switch: one call per rule. A term gives the
 * value its closure would, reports the same change times, and fails the same way, so a rule may be
 * evaluated either way; rules with any other condition keep their closures.
 */
export class Term {
  constructor(
    readonly kind: TermKind,
    readonly group: number,
    /** The register slot the term reads. */
    readonly slot: number,
    /** after / sequence / count window; rate: the GCRA tolerance. */
    readonly window: number,
    /** count: the capacity of its time list. */
    readonly capacity: number,
    /** The comparison of count / gap / since with `constant`, the operator on the left unless `flipped`. */
    readonly cmp: Compare,
    readonly constant: number,
    readonly flipped: boolean,
    /** Whether the term is under `not`. */
    readonly negate: boolean,
    /** A gap's test of whether the request being decided is one of its events (which gap is read). */
    readonly isX: ((ev: Event) => boolean) | null,
  ) {}
}

export const enum TermKind {
  /** `after(X)` without a window: X happened. */
  Ever,
  /** `after(X within D)` and `sequence(...)`: the time in `slot` is within `window` of now. */
  Within,
  Count,
  Gap,
  Since,
  Rate,
  Label,
}

export const enum Compare {
  None,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
}

const COMPARE_CODE: Readonly<Record<CompareOp, Compare>> = { "==": Compare.Eq, "!=": Compare.Ne, "<": Compare.Lt, "<=": Compare.Le, ">": Compare.Gt, ">=": Compare.Ge };

/**
 * The condition of a rule with no principal or resource selector as terms joined by `and`, or null
 * when any part of it has no term form.
 */
export function historyTerms(ir: PolicyIR, condition: ExprIR): Term[] | null {
  const out: Term[] = [];
  const add = (e: ExprIR): boolean => {
    if (e.t === "and") return add(e.left) && add(e.right);
    const t = e.t === "not" ? term(ir, e.operand, true) : term(ir, e, false);
    if (t === null) return false;
    out.push(t);
    return true;
  };
  return add(condition) ? out : null;
}

function term(ir: PolicyIR, e: ExprIR, negate: boolean): Term | null {
  const make = (kind: TermKind, op: OpIR, slot: number, window = 0, capacity = 0, cmp = Compare.None, constant = 0, flipped = false, isX: ((ev: Event) => boolean) | null = null) =>
    new Term(kind, op.group, slot, window, capacity, cmp, constant, flipped, negate, isX);
  if (e.t === "label") {
    const op = ir.ops[e.op]!;
    return make(TermKind.Label, op, op.slot + e.label);
  }
  if (e.t === "op") {
    const op = ir.ops[e.op]!;
    switch (op.op) {
      case "after":
        return op.window === null ? make(TermKind.Ever, op, op.slot) : make(TermKind.Within, op, op.slot, op.window);
      case "sequence":
        return make(TermKind.Within, op, op.slot + op.stages.length - 1, op.window);
      case "rate":
        return make(TermKind.Rate, op, op.slot, gcra(op.limit, op.per).tolerance);
      default:
        return null;
    }
  }
  if (e.t !== "cmp") return null;
  const opOf = (x: ExprIR): OpIR | null => (x.t === "op" ? ir.ops[x.op]! : null);
  const numberOf = (x: ExprIR): number | null => (x.t === "lit" && typeof x.value === "number" ? x.value : null);
  let op = opOf(e.left);
  let constant = numberOf(e.right);
  let flipped = false;
  if (op === null || constant === null) {
    op = opOf(e.right);
    constant = numberOf(e.left);
    flipped = true;
  }
  if (op === null || constant === null) return null;
  const cmp = COMPARE_CODE[e.op];
  switch (op.op) {
    case "count":
      return make(TermKind.Count, op, op.slot, op.window, op.capacity, cmp, constant, flipped);
    case "gap":
      return make(TermKind.Gap, op, op.slot, 0, 0, cmp, constant, flipped, nameTest(op.events));
    case "since":
      return make(TermKind.Since, op, op.slot, 0, 0, cmp, constant, flipped);
    default:
      return null;
  }
}

/**
 * The outcome of a rule whose condition is `terms`: false at the first term that is false (later
 * terms are not read), else the first failure, else true. As the closures of the same condition.
 */
export function matchTerms(terms: readonly Term[], c: EvalContext): RuleOutcome {
  let failure: Failure | null = null;
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    const v = readTerm(t, c);
    if (v === false) return false;
    if (v !== true) failure ??= v;
  }
  return failure ?? true;
}

function readTerm(t: Term, c: EvalContext): boolean | Failure {
  const g = t.group;
  // The partition is loaded by the first term of a decision that reads the group; later ones find it.
  let p = c.parts[g];
  if (p === undefined) {
    const loaded = c.partition(g);
    if (loaded instanceof Failure) return loaded;
    p = loaded;
  }
  const now = c.nows[g]!;
  let r: Regs | null = null;
  // Every term reads the register at its slot: `first` (NONE without a partition). Read inline, as
  // in the count loop: through `slot` the sequence bench took about 40% more instructions per decision.
  let first = NONE;
  if (p !== null) {
    c.change(p.x);
    r = p.r;
    const x = r[t.slot];
    if (typeof x !== "number") corrupt();
    first = x;
  }
  let v: boolean;
  // An operator that can change with time alone reports when: `at` (NaN: never).
  let at = NaN;
  switch (t.kind) {
    case TermKind.Ever:
      v = first !== NONE;
      break;
    case TermKind.Within: {
      const last = first;
      v = last !== NONE && now - last < t.window;
      if (v) at = last + t.window;
      break;
    }
    case TermKind.Count: {
      let n = 0;
      if (r !== null) {
        let oldest = Infinity;
        const s = t.slot;
        const window = t.window;
        for (let i = 0; i < t.capacity; i++) {
          const ts = r[s + i];
          if (typeof ts !== "number") corrupt();
          if (ts === NONE) break;
          if (now - ts < window) {
            n++;
            if (ts < oldest) oldest = ts;
          }
        }
        if (n > 0) at = oldest + window;
      }
      v = t.flipped ? compare(t.cmp, t.constant, n) : compare(t.cmp, n, t.constant);
      break;
    }
    case TermKind.Gap:
    case TermKind.Since: {
      let value: number;
      if (t.kind === TermKind.Since) {
        value = first === NONE ? Infinity : now - first;
      } else {
        const last = r === null ? NONE : slot(r, t.slot + 1);
        if (t.isX!(c.ev)) value = last === NONE ? Infinity : now - last;
        else {
          const prev = first;
          value = prev === NONE || last === NONE ? Infinity : last - prev;
        }
      }
      // The value grows with the request's time: the comparison flips when it crosses the constant.
      if (value !== Infinity) {
        const time = c.ev.time;
        const crossing = time - value + t.constant;
        if (crossing > time) at = crossing;
      }
      v = t.flipped ? compare(t.cmp, t.constant, value) : compare(t.cmp, value, t.constant);
      break;
    }
    case TermKind.Rate: {
      const tat = first;
      v = tat !== NONE && now < tat - t.window;
      if (v) at = tat - t.window;
      break;
    }
    default: {
      // Label: its expiry, FOREVER for the rest of the session.
      const until = first;
      v = until === FOREVER || (until !== NONE && now < until);
      if (v && until !== FOREVER) at = until;
    }
  }
  if (at === at) c.change(at);
  return t.negate ? !v : v;
}

function slot(r: Regs, i: number): number {
  const v = r[i];
  if (typeof v !== "number") corrupt();
  return v;
}

function corrupt(): never {
  throw new CorruptState("register: expected a number");
}

function compare(cmp: Compare, a: number, b: number): boolean {
  switch (cmp) {
    case Compare.Eq:
      return a === b;
    case Compare.Ne:
      return a !== b;
    case Compare.Lt:
      return a < b;
    case Compare.Le:
      return a <= b;
    case Compare.Gt:
      return a > b;
    default:
      return a >= b;
  }
}
