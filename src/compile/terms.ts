import { COMPARE_CODE, Compare, readingOf, type HistoryRead } from "../runtime/readers.js";
import type { ExprIR, OpIR, PolicyIR } from "./ir.js";

/**
 * History terms: the flat form of the commonest history conditions.
 *
 * Most sequence rules have a condition that is one history reading, or several joined by `and`:
 * `after(X within D)`, `sequence(...)`, `count(X ...) >= N`, `gap(X) < D`, `since(X) > D`,
 * `rate(...)`, `session has L`, each perhaps under `not`. Compiled to closures, such a condition is
 * a chain of calls (rule, comparison, operator) through call sites that every rule of the policy
 * shares, so none of them can be inlined. As terms, the same condition is a short array of
 * `HistoryRead` records that `matchTerms` (src/runtime/readers.ts) reads in one loop: one call per
 * rule. Both forms read the operators through the same reader, `readHistory`.
 */

/**
 * The condition of a rule with no principal or resource selector as terms joined by `and`, or null
 * when any part of it has no term form.
 */
export function historyTerms(ir: PolicyIR, condition: ExprIR): HistoryRead[] | null {
  const out: HistoryRead[] = [];
  const add = (e: ExprIR): boolean => {
    if (e.t === "and") return add(e.left) && add(e.right);
    const t = e.t === "not" ? term(ir, e.operand, true) : term(ir, e, false);
    if (t === null) return false;
    out.push(t);
    return true;
  };
  return add(condition) ? out : null;
}

function term(ir: PolicyIR, e: ExprIR, negate: boolean): HistoryRead | null {
  if (e.t === "label") return readingOf(ir.ops[e.op]!, ir.workflows, e.label).asTerm(Compare.None, 0, false, negate);
  if (e.t === "op") {
    const op = ir.ops[e.op]!;
    if (op.op !== "after" && op.op !== "sequence" && op.op !== "rate") return null;
    return readingOf(op, ir.workflows).asTerm(Compare.None, 0, false, negate);
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
  if (op.op !== "count" && op.op !== "gap" && op.op !== "since") return null;
  const side = flipped ? e.right : e.left;
  const current = side.t === "op" && side.current;
  return readingOf(op, ir.workflows, 0, current).asTerm(COMPARE_CODE[e.op], constant, flipped, negate);
}
