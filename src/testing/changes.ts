import type { ExprIR, PolicyIR, RuleIR } from "../compile/ir.js";

/** A rule, workflow or action tag that differs between two versions of a policy. */
export interface PolicyChange {
  /** The rule or workflow name, or the action whose tag changed. */
  readonly name: string;
  readonly kind: "rule" | "workflow" | "action";
  readonly change: "added" | "removed" | "changed";
  /** For a changed rule, the parts that differ: `condition`, `limit`, `principals`... */
  readonly parts: readonly string[];
  /** Some example of the diff shows it (a decision of the changed rule, or of the action, differs). */
  readonly witnessed: boolean;
}

/** What differs between two compiled versions of a policy, rule by rule (matched by name). */
export function changesBetween(a: PolicyIR, b: PolicyIR): Omit<PolicyChange, "witnessed">[] {
  const out: Omit<PolicyChange, "witnessed">[] = [];
  const rulesA = new Map(a.rules.filter((r) => r.workflow === null).map((r) => [r.id, partsOf(a, r)]));
  const rulesB = new Map(b.rules.filter((r) => r.workflow === null).map((r) => [r.id, partsOf(b, r)]));
  for (const [name, pa] of rulesA) {
    const pb = rulesB.get(name);
    if (pb === undefined) out.push({ name, kind: "rule", change: "removed", parts: [] });
    else {
      const parts = Object.keys(pa).filter((k) => pa[k] !== pb[k]);
      if (parts.length > 0) out.push({ name, kind: "rule", change: "changed", parts });
    }
  }
  for (const name of rulesB.keys()) if (!rulesA.has(name)) out.push({ name, kind: "rule", change: "added", parts: [] });
  const flows = (ir: PolicyIR) => new Map(ir.workflows.map((w) => [w.name, JSON.stringify([ir.keyGroups[ir.ops[w.op]!.group]!.text, w.positions, w.first, w.follow, w.accepting, ir.rules.find((r) => r.workflow === w.index)?.effect ?? null])]));
  const wa = flows(a);
  const wb = flows(b);
  for (const [name, x] of wa) {
    const y = wb.get(name);
    if (y === undefined) out.push({ name, kind: "workflow", change: "removed", parts: [] });
    else if (x !== y) out.push({ name, kind: "workflow", change: "changed", parts: ["steps"] });
  }
  for (const name of wb.keys()) if (!wa.has(name)) out.push({ name, kind: "workflow", change: "added", parts: [] });
  const tags = (ir: PolicyIR) => new Map(ir.actions.map((x) => [x.name, x.high]));
  const ta = tags(a);
  const tb = tags(b);
  for (const name of new Set([...ta.keys(), ...tb.keys()])) {
    const x = ta.get(name);
    const y = tb.get(name);
    if (x === y) continue;
    out.push({ name, kind: "action", change: x === undefined ? "added" : y === undefined ? "removed" : "changed", parts: x !== undefined && y !== undefined ? [y ? "[high] added" : "[high] removed"] : [] });
  }
  return out;
}

/** A rule's parts as canonical text, operators and labels by what they are rather than by their slot. */
function partsOf(ir: PolicyIR, r: RuleIR): Record<string, string> {
  const op = (i: number | null) => (i === null ? "" : ir.ops[i]!.signature);
  return {
    effect: r.effect,
    targets: JSON.stringify([r.actions, r.signals]),
    principals: JSON.stringify(r.principals),
    resources: JSON.stringify(r.resources),
    condition: r.condition === null ? "" : exprText(ir, r.condition),
    limit: op(r.limit),
    "valid for": op(r.grant),
    labels: JSON.stringify(r.labels.map((l) => [ir.labels[l.label], l.duration])),
    require: JSON.stringify(r.obligation),
    target: JSON.stringify(r.revokeTarget),
    reason: r.reason ?? "",
  };
}

function exprText(ir: PolicyIR, e: ExprIR): string {
  switch (e.t) {
    case "lit":
      return JSON.stringify(e.value);
    case "set":
      return JSON.stringify(e.values);
    case "path":
      return e.path.text;
    case "and":
    case "or":
      return `(${exprText(ir, e.left)} ${e.t} ${exprText(ir, e.right)})`;
    case "not":
      return `not ${exprText(ir, e.operand)}`;
    case "cmp":
      return `(${exprText(ir, e.left)} ${e.op} ${exprText(ir, e.right)})`;
    case "in":
      return `(${exprText(ir, e.element)} in ${exprText(ir, e.collection)})`;
    case "like":
      return `(${exprText(ir, e.subject)} like ${JSON.stringify(e.pattern)})`;
    case "has":
      return `(${e.root} has ${e.segments.join(".")})`;
    case "label":
      return `(session has ${ir.labels[e.label]})`;
    case "op": {
      const o = ir.ops[e.op]!;
      return o.op === "workflow" ? `deviates(${ir.workflows[o.workflow]!.name})` : `{${o.signature}}`;
    }
  }
}
