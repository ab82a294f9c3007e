import type { EventSelector, Expr, KeyRef, Literal, Path, PolicyFile, RuleDecl, SetLit, SimpleKeyRef, WorkflowDecl } from "../ast/nodes.js";
import { walkExpr } from "../ast/walk.js";
import { keyText, partText } from "../runtime/keys.js";
import { describeGroup, layoutIdOf } from "../runtime/layout.js";
import { registerWidth } from "../runtime/operators.js";
import { contentHash } from "./hash.js";
import type { EventSelIR, ExprIR, KeyGroupIR, KeyIR, OpIR, PathIR, PolicyIR, PrincipalSelIR, RuleIR, SimpleKeyIR, WorkflowIR } from "./ir.js";

export interface LowerOptions {
  /** How long state without a window (since, gap, limits and grants without `within`, labels, workflows) lives after the key's last event. */
  readonly keyTtlMs: number;
}

type MutableOp = OpIR & { slot: number };

/**
 * Stage: checked AST -> IR. Resolves keys into groups, deduplicates history operators by signature
 * (50 rules reading `count(login.fail by context.ip within 1m)` share one register), computes each
 * window's capacity from the constant it is compared with, and turns workflows into position sets.
 */
export function lower(file: PolicyFile, options: LowerOptions): PolicyIR {
  const groups: { key: KeyIR; text: string; ttl: number; slots: number; lifetime: boolean }[] = [];
  const groupIndex = new Map<string, number>();
  const ops: MutableOp[] = [];
  const opIndex = new Map<string, number>();

  const labels: string[] = [];
  for (const r of file.items) {
    if (r.kind !== "RuleDecl") continue;
    for (const c of r.clauses) if (c.kind === "LabelClause" && !labels.includes(c.label.value)) labels.push(c.label.value);
  }

  const groupOf = (key: KeyIR): number => {
    const text = keyText(key);
    let g = groupIndex.get(text);
    if (g === undefined) {
      g = groups.length;
      groups.push({ key, text, ttl: 0, slots: 0, lifetime: false });
      groupIndex.set(text, g);
    }
    return g;
  };

  /** Registers an operator (or returns the identical one); `window` null means windowless. */
  const addOp = (key: KeyIR, signature: string, window: number | null, make: (index: number, group: number) => OpIR): number => {
    const group = groupOf(key);
    const sig = `${keyText(key)}|${signature}`;
    const existing = opIndex.get(sig);
    const g = groups[group]!;
    g.ttl = Math.max(g.ttl, window ?? options.keyTtlMs);
    if (window === null) g.lifetime = true;
    if (existing !== undefined) return existing;
    const index = ops.length;
    const op = { ...make(index, group), signature: sig, id: contentHash(sig) } as MutableOp;
    ops.push(op);
    opIndex.set(sig, index);
    return index;
  };

  const workflows: WorkflowIR[] = [];
  const workflowIndex = new Map<string, number>();
  for (const w of file.items.filter((i): i is WorkflowDecl => i.kind === "WorkflowDecl")) {
    const key = lowerKey(w.key);
    const index = workflows.length;
    const positions = positionsOf(w);
    const scope = w.scope.length > 0 ? dedupPatterns(w.scope.map((p) => p.segments)) : null;
    // The steps and the scope are part of the signature: a workflow whose steps change starts its state afresh.
    const shape = `${positions.positions.map((p) => p.map((a) => a.join(".")).join("|")).join(";")} ${positions.first} ${positions.follow.join(",")} ${positions.accepting}${scope ? ` over ${scope.map((a) => a.join(".")).join(",")}` : ""}`;
    const op = addOp(key, `workflow ${w.name.value} ${shape}`, null, (i, group) => ({ op: "workflow", index: i, group, slot: 0, signature: "", id: "", workflow: index }));
    workflows.push({ ...positions, scope, index, name: w.name.value, span: w.span, op });
    workflowIndex.set(w.name.value, index);
  }

  const labelsOp = (): number => addOp({ kind: "session" }, "labels", null, (i, group) => ({ op: "labels", index: i, group, slot: 0, signature: "", id: "" }));

  /** Capacity a count/distinct window needs for the constant it is compared with. */
  const capacities = new Map<Expr, number>();
  const noteCapacities = (e: Expr) =>
    walkExpr(e, (x) => {
      if (x.kind !== "CompareExpr") return;
      for (const [side, other] of [[x.left, x.right], [x.right, x.left]] as const) {
        if ((side.kind === "CountCall" || side.kind === "DistinctCall") && other.kind === "NumberLit") capacities.set(side, other.value + 1);
      }
    });

  const lowerExpr = (e: Expr): ExprIR => {
    switch (e.kind) {
      case "StringLit":
      case "NumberLit":
      case "BoolLit":
        return { t: "lit", value: e.value, span: e.span };
      case "DurationLit":
        return { t: "lit", value: e.ms, span: e.span };
      case "SetLit":
        return { t: "set", values: e.elements.map(litValue), span: e.span };
      case "Path":
        return { t: "path", path: lowerPath(e), span: e.span };
      case "BinaryExpr":
        return { t: e.op, left: lowerExpr(e.left), right: lowerExpr(e.right), span: e.span };
      case "NotExpr":
        return { t: "not", operand: lowerExpr(e.operand), span: e.span };
      case "CompareExpr":
        return { t: "cmp", op: e.op, left: lowerExpr(e.left), right: lowerExpr(e.right), span: e.span };
      case "InExpr":
        return { t: "in", element: lowerExpr(e.element), collection: lowerExpr(e.collection), span: e.span };
      case "LikeExpr":
        return { t: "like", subject: lowerExpr(e.subject), pattern: e.pattern.value, span: e.span };
      case "HasExpr":
        return e.subject.kind === "Path"
          ? { t: "has", root: e.subject.root, segments: [...e.subject.segments, e.attribute.value], span: e.span }
          : { t: "has", root: e.subject.root, segments: [e.attribute.value], span: e.span };
      case "SessionHasExpr":
        return { t: "label", label: labels.indexOf(e.label.value), op: labelsOp(), span: e.span };
      case "AfterCall": {
        const events = lowerSel(e.events);
        const until = e.until ? lowerSel(e.until) : null;
        const window = e.window?.ms ?? null;
        const op = addOp(lowerKey(e.key), `after ${selText(events)} ${window ?? "-"} ${until ? selText(until) : "-"}`, window, (i, group) => ({ op: "after", index: i, group, slot: 0, signature: "", id: "", events, window, until }));
        return { t: "op", op, current: false, span: e.span };
      }
      case "SinceCall":
      case "GapCall": {
        const events = lowerSel(e.events);
        const kind = e.kind === "SinceCall" ? "since" : "gap";
        const op = addOp(lowerKey(e.key), `${kind} ${selText(events)}`, null, (i, group) => ({ op: kind, index: i, group, slot: 0, signature: "", id: "", events }));
        return { t: "op", op, current: false, span: e.span };
      }
      case "CountCall": {
        const events = lowerSel(e.events);
        const window = e.window!.ms;
        // One time more than the comparison needs: a recheck leaves the held request's own time out.
        const capacity = (capacities.get(e) ?? 1) + 1;
        const op = addOp(lowerKey(e.key), `count ${selText(events)} ${window}`, window, (i, group) => ({ op: "count", index: i, group, slot: 0, signature: "", id: "", events, window, capacity }));
        widen(ops[op]!, capacity);
        return { t: "op", op, current: e.current, span: e.span };
      }
      case "DistinctCall": {
        const events = e.events ? lowerSel(e.events) : null;
        const window = e.window!.ms;
        const attribute = lowerPath(e.attribute);
        const capacity = capacities.get(e) ?? 1;
        const op = addOp(lowerKey(e.key), `distinct ${attribute.text} ${events ? selText(events) : "*"} ${window}`, window, (i, group) => ({ op: "distinct", index: i, group, slot: 0, signature: "", id: "", events, attribute, window, capacity }));
        widen(ops[op]!, capacity);
        return { t: "op", op, current: e.current, span: e.span };
      }
      case "RateCall": {
        const events = lowerSel(e.events);
        const limit = e.limit.value;
        const per = e.per.ms;
        const op = addOp(lowerKey(e.key), `rate ${selText(events)} ${limit}/${per}`, per, (i, group) => ({ op: "rate", index: i, group, slot: 0, signature: "", id: "", events, limit, per }));
        return { t: "op", op, current: false, span: e.span };
      }
      case "RegularityCall": {
        const events = lowerSel(e.events);
        const samples = e.samples.value;
        const op = addOp(lowerKey(e.key), `regularity ${selText(events)} ${samples}`, null, (i, group) => ({ op: "regularity", index: i, group, slot: 0, signature: "", id: "", events, samples }));
        return { t: "op", op, current: false, span: e.span };
      }
      case "SequenceCall": {
        const stages = e.stages.map(lowerSel);
        const until = e.until ? lowerSel(e.until) : null;
        const window = e.window.ms;
        const op = addOp(lowerKey(e.key), `sequence ${stages.map(selText).join(",")} ${window} ${until ? selText(until) : "-"}`, window, (i, group) => ({ op: "sequence", index: i, group, slot: 0, signature: "", id: "", stages, window, until }));
        return { t: "op", op, current: false, span: e.span };
      }
      case "DeviatesCall": {
        const w = workflows[workflowIndex.get(e.workflow.value)!]!;
        return { t: "op", op: w.op, current: false, span: e.span };
      }
    }
  };

  const rules: RuleIR[] = [];
  const revokeTargets: KeyIR[] = [];
  const lowerRule = (r: RuleDecl, index: number): RuleIR => {
    const conds = r.clauses.flatMap((c) => (c.kind === "WhenClause" ? [c] : []));
    for (const c of conds) noteCapacities(c.condition);
    let condition: ExprIR | null = null;
    for (const c of conds) {
      const e = lowerExpr(c.condition);
      const term: ExprIR = c.negated ? { t: "not", operand: e, span: c.span } : e;
      condition = condition === null ? term : { t: "and", left: condition, right: term, span: c.span };
    }
    let limit: number | null = null;
    let grant: number | null = null;
    let reason: string | null = null;
    let obligation: RuleIR["obligation"] = null;
    let revokeTarget: KeyIR | null = null;
    const ruleLabels: { label: number; duration: number | null }[] = [];
    for (const c of r.clauses) {
      switch (c.kind) {
        case "ReasonClause":
          reason = c.text.value;
          break;
        case "LimitClause": {
          const count = c.count.value;
          const window = c.window?.ms ?? null;
          if (c.distinct !== null) {
            const attribute = lowerPath(c.distinct);
            limit = addOp(lowerKey(c.key), `limit ${r.name.value} ${count} distinct ${attribute.text} ${window ?? "-"}`, window, (i, group) => ({ op: "distinctLimit", index: i, group, slot: 0, signature: "", id: "", rule: index, count, window, attribute }));
          } else limit = addOp(lowerKey(c.key), `limit ${r.name.value} ${count} ${window ?? "-"}`, window, (i, group) => ({ op: "limit", index: i, group, slot: 0, signature: "", id: "", rule: index, count, window }));
          break;
        }
        case "ValidForClause": {
          const duration = c.duration.ms;
          grant = addOp(c.key ? lowerKey(c.key) : { kind: "session" }, `grant ${r.name.value} ${duration}`, null, (i, group) => ({ op: "grant", index: i, group, slot: 0, signature: "", id: "", rule: index, duration }));
          break;
        }
        case "LabelClause":
          ruleLabels.push({ label: labels.indexOf(c.label.value), duration: c.duration?.ms ?? null });
          break;
        case "RequireClause":
          obligation = { kind: c.obligation.value, satisfiedBy: c.satisfiedBy ? [c.satisfiedBy.segments.join(".")] : [] };
          break;
        case "TargetKeyClause":
          revokeTarget = lowerKey(c.key);
          if ((revokeTarget.kind === "path" || revokeTarget.kind === "compound") && !revokeTargets.some((k) => keyText(k) === keyText(revokeTarget!))) revokeTargets.push(revokeTarget);
          break;
        default:
          break;
      }
    }
    if (r.effect === "challenge") {
      const satisfiedBy = new Set(obligation?.satisfiedBy ?? []);
      if (satisfiedBy.size === 0)
        for (const c of conds)
          walkExpr(c.condition, (x, negated) => {
            if (x.kind === "AfterCall" && negated !== c.negated) for (const p of x.events.patterns) satisfiedBy.add(p.segments.join("."));
          });
      obligation = { kind: obligation?.kind ?? "step-up", satisfiedBy: [...satisfiedBy].sort() };
    }
    if (r.effect === "revoke" && revokeTarget === null) revokeTarget = { kind: "session" };
    return {
      index,
      id: r.name.value,
      span: r.span,
      effect: r.effect,
      actions: r.targets.filter((t) => t.kind === "ActionTarget").map((t) => t.pattern.segments),
      signals: r.targets.filter((t) => t.kind === "SignalTarget").map((t) => t.pattern.segments),
      principals: r.principals.map(
        (p): PrincipalSelIR => ({
          kind: p.principalKind?.value ?? null,
          id: p.id === null || p.id.value === "*" ? null : p.id.value,
          attributes: p.attributes.map((a) => ({ name: a.name.value, value: litValue(a.value) })),
        }),
      ),
      resources: r.resources.map((x) => x.glob),
      condition,
      reason,
      limit,
      grant,
      labels: ruleLabels,
      labelsOp: ruleLabels.length > 0 ? labelsOp() : null,
      obligation,
      revokeTarget,
      reads: readsOf(r),
      workflow: null,
    };
  };

  const fileRules = file.items.filter((i): i is RuleDecl => i.kind === "RuleDecl");
  fileRules.forEach((r, i) => rules.push(lowerRule(r, i)));
  for (const w of file.items) {
    if (w.kind !== "WorkflowDecl" || w.onDeviation === null) continue;
    const wf = workflows[workflowIndex.get(w.name.value)!]!;
    const alphabet = wf.scope ?? dedupPatterns(wf.positions.flat());
    rules.push({
      index: rules.length,
      id: w.name.value,
      span: w.span,
      effect: w.onDeviation.effect,
      actions: alphabet,
      signals: [],
      principals: [],
      resources: [],
      condition: { t: "op", op: wf.op, current: false, span: w.onDeviation.span },
      reason: w.onDeviation.reason?.value ?? `deviates from workflow ${w.name.value}`,
      limit: null,
      grant: null,
      labels: [],
      labelsOp: null,
      obligation: w.onDeviation.effect === "challenge" ? { kind: "step-up", satisfiedBy: [] } : null,
      revokeTarget: w.onDeviation.effect === "revoke" ? { kind: "session" } : null,
      reads: [],
      workflow: wf.index,
    });
  }

  const actions: PolicyIR["actions"][number][] = [];
  let hasActionsBlock = false;
  for (const item of file.items) {
    if (item.kind !== "ActionsBlock") continue;
    hasActionsBlock = true;
    for (const g of item.groups) {
      const high = g.tags.some((t) => t.value === "high");
      for (const a of g.actions) actions.push({ name: a.segments.join("."), segments: a.segments, high });
    }
  }

  const secrets: string[] = [];
  for (const item of file.items) {
    if (item.kind !== "SchemaBlock") continue;
    for (const ent of item.entities)
      for (const f of ent.fields) if (f.tags.some((t) => t.value === "secret")) secrets.push(`${ent.entity}.${f.name.value}`);
  }

  // Every request's session and principal are checked for revocation, and so is every `target`
  // attribute: their partitions hold the revocations, so each has a group (perhaps with no registers).
  const sessionGroup = groupOf({ kind: "session" });
  const principalGroup = groupOf({ kind: "principal" });
  const targetGroups = revokeTargets.map(groupOf);

  // Register layout, now that every capacity is final: each operator's slots follow the previous
  // operator's of its group.
  for (const op of ops) {
    const g = groups[op.group]!;
    op.slot = g.slots;
    g.slots += registerWidth(op, labels.length);
  }
  const keyGroups: KeyGroupIR[] = groups.map((g, index) => {
    const own = ops.filter((o) => o.group === index);
    const layout = describeGroup(g.text, g.slots, own, labels);
    return { index, key: g.key, text: g.text, ttl: g.ttl, slots: g.slots, ops: own.map((o) => o.index), lifetime: g.lifetime, layout, layoutId: layoutIdOf(layout) };
  });
  return { rules, ops, keyGroups, workflows, labels, actions, hasActionsBlock, revokeTargets, sessionGroup, principalGroup, targetGroups, secrets };
}

function widen(op: OpIR, capacity: number): void {
  if ((op.op === "count" || op.op === "distinct") && op.capacity < capacity) (op as { capacity: number }).capacity = capacity;
}

function litValue(l: Literal | SetLit): string | number | boolean {
  if (l.kind === "DurationLit") return l.ms;
  if (l.kind === "SetLit") throw new Error("a set is not a scalar literal");
  return l.value;
}

function lowerPath(p: Path): PathIR {
  return { root: p.root, segments: p.segments, text: [p.root, ...p.segments].join("."), span: p.span };
}

/** A key as the IR has it; a compound key's parts sorted by their text (the order written makes no other key). */
export function lowerKey(k: KeyRef): KeyIR {
  if (k.kind !== "CompoundKey") return lowerPart(k);
  const parts = k.parts.map(lowerPart).sort((a, b) => (partText(a) < partText(b) ? -1 : partText(a) > partText(b) ? 1 : 0));
  return { kind: "compound", parts, text: keyText({ kind: "compound", parts, text: "" }) };
}

function lowerPart(k: SimpleKeyRef): SimpleKeyIR {
  if (k.kind === "SessionKey") return { kind: "session" };
  if (k.kind === "PrincipalKey") return { kind: "principal" };
  const p = lowerPath(k.path);
  return { kind: "path", root: p.root, segments: p.segments, text: p.text };
}

export { keyText };

function lowerSel(s: EventSelector): EventSelIR {
  return { filter: s.filter, patterns: s.patterns.map((p) => p.segments) };
}

function selText(s: EventSelIR): string {
  return `${s.filter}:${s.patterns.map((p) => p.join(".")).join("|")}`;
}

function dedupPatterns(ps: readonly (readonly string[])[]): (readonly string[])[] {
  const seen = new Map<string, readonly string[]>();
  for (const p of ps) seen.set(p.join("."), p);
  return [...seen.values()];
}

/** Attribute paths a rule reads, for a decision's `watch`. */
function readsOf(r: RuleDecl): string[] {
  const reads = new Set<string>();
  if (r.principals.length > 0) {
    reads.add("principal.kind");
    if (r.principals.some((p) => p.id !== null)) reads.add("principal.id");
    for (const p of r.principals) for (const a of p.attributes) reads.add(`principal.${a.name.value}`);
  }
  if (r.resources.length > 0) reads.add("resource.path");
  const key = (k: KeyRef): void => {
    if (k.kind === "SessionKey") reads.add("session");
    else if (k.kind === "PathKey") reads.add([k.path.root, ...k.path.segments].join("."));
    else if (k.kind === "CompoundKey") k.parts.forEach(key);
  };
  for (const c of r.clauses) {
    if (c.kind === "WhenClause")
      walkExpr(c.condition, (e) => {
        if (e.kind === "Path") reads.add([e.root, ...e.segments].join("."));
        if (e.kind === "HasExpr") reads.add(e.subject.kind === "Path" ? [e.subject.root, ...e.subject.segments, e.attribute.value].join(".") : `${e.subject.root}.${e.attribute.value}`);
        if (e.kind === "SessionHasExpr") reads.add("session");
        if ("key" in e) key((e as { key: KeyRef }).key);
        if (e.kind === "DistinctCall") reads.add([e.attribute.root, ...e.attribute.segments].join("."));
      });
    if (c.kind === "LimitClause") {
      key(c.key);
      if (c.distinct !== null) reads.add(c.distinct.segments.length === 0 ? "resource.path" : [c.distinct.root, ...c.distinct.segments].join("."));
    }
  }
  return [...reads].sort();
}

/**
 * Workflow steps as Glushkov positions: `first` (where a run may start), `follow[i]` (positions that
 * may come after position i) and `accepting` (positions after which the workflow may end). A step
 * marked `?` or `*` may be skipped; `*` and `+` may repeat.
 */
function positionsOf(w: WorkflowDecl): Pick<WorkflowIR, "positions" | "first" | "follow" | "accepting"> {
  const n = w.steps.length;
  const skippable = w.steps.map((s) => s.repeat === "optional" || s.repeat === "many");
  const repeats = w.steps.map((s) => s.repeat === "many" || s.repeat === "some");
  const reachFrom = (start: number): number => {
    let mask = 0;
    for (let j = start; j < n; j++) {
      mask |= 1 << j;
      if (!skippable[j]) break;
    }
    return mask;
  };
  const first = reachFrom(0);
  const follow = w.steps.map((_, i) => reachFrom(i + 1) | (repeats[i] ? 1 << i : 0));
  let accepting = 0;
  for (let i = n - 1; i >= 0; i--) {
    accepting |= 1 << i;
    if (!skippable[i]) break;
  }
  return { positions: w.steps.map((s) => s.actions.map((a) => a.segments)), first, follow, accepting };
}
