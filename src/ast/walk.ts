import type { Expr, PolicyFile, RuleDecl, TemporalCall, WorkflowDecl } from "./nodes.js";

/** Calls `visit` on `expr` and every sub-expression, parents first. */
export function walkExpr(expr: Expr, visit: (e: Expr, negated: boolean) => void, negated = false): void {
  visit(expr, negated);
  switch (expr.kind) {
    case "BinaryExpr":
      walkExpr(expr.left, visit, negated);
      walkExpr(expr.right, visit, negated);
      return;
    case "NotExpr":
      walkExpr(expr.operand, visit, !negated);
      return;
    case "CompareExpr":
      walkExpr(expr.left, visit, negated);
      walkExpr(expr.right, visit, negated);
      return;
    case "InExpr":
      walkExpr(expr.element, visit, negated);
      walkExpr(expr.collection, visit, negated);
      return;
    case "LikeExpr":
      walkExpr(expr.subject, visit, negated);
      return;
    default:
      return;
  }
}

export const TEMPORAL_KINDS: ReadonlySet<string> = new Set([
  "AfterCall", "SinceCall", "GapCall", "CountCall", "DistinctCall", "RateCall", "RegularityCall", "SequenceCall", "DeviatesCall",
]);

export function isTemporal(e: Expr): e is TemporalCall {
  return TEMPORAL_KINDS.has(e.kind);
}

export function rulesOf(file: PolicyFile): RuleDecl[] {
  return file.items.filter((i): i is RuleDecl => i.kind === "RuleDecl");
}

export function workflowsOf(file: PolicyFile): WorkflowDecl[] {
  return file.items.filter((i): i is WorkflowDecl => i.kind === "WorkflowDecl");
}

/** Rule conditions as one list of `[expr, negated]` (an `unless` clause is negated). */
export function conditionsOf(rule: RuleDecl): { expr: Expr; negated: boolean }[] {
  const out: { expr: Expr; negated: boolean }[] = [];
  for (const c of rule.clauses) if (c.kind === "WhenClause") out.push({ expr: c.condition, negated: c.negated });
  return out;
}
