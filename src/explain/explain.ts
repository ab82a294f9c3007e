/**
 * Why a request got its decision: the candidate rules, each selector's and clause's value with the
 * attributes it read, and the reasons the effect won. What `leash explain` prints, for any runtime.
 */

import type { Expr, KeyRef, Path, PolicyFile, PrincipalSelector, RuleDecl, WhenClause, WorkflowDecl } from "../ast/nodes.js";
import { isTemporal, rulesOf, workflowsOf } from "../ast/walk.js";
import { compilePolicy } from "../compile/compile.js";
import { valueText } from "../diagnostics/terminal.js";
import { formatExpr } from "../format/expr.js";
import { formatLiteral, formatResourceGlob, formatString } from "../format/lexical.js";
import { isRecord } from "../runtime/attributes.js";
import type { Policy } from "../runtime/engine.js";
import { actionPatternMatches } from "../runtime/glob.js";
import type { Decision, PolicyState } from "../runtime/types.js";
import { reinstate } from "../runtime/operations.js";
import { revocations } from "../runtime/inspect.js";

/** A value as the engine computed it: true, false, or an error (the rule then fails closed). */
export type ProbeValue = boolean | { readonly error: string; readonly message: string };

export interface AttributeRead {
  readonly path: string;
  /** The value in the request; `undefined` (shown as missing) when absent. */
  readonly value: unknown;
}

export interface PartExplanation {
  readonly text: string;
  readonly value: ProbeValue;
  /** For count(...) and distinct(...): the value, exact below the rule's threshold (`atLeast` at it). */
  readonly count?: { readonly value: number; readonly atLeast: boolean };
  /** For since(...) and gap(...): milliseconds, or null when there is no such event in the state. */
  readonly elapsedMs?: number | null;
  readonly reads: readonly AttributeRead[];
}

export interface ClauseExplanation {
  readonly kind: "when" | "unless";
  readonly text: string;
  /** The value of the expression after `when`/`unless`. */
  readonly value: ProbeValue;
  /** Whether the clause lets the rule match (`unless` holds when its expression is false). */
  readonly holds: ProbeValue;
  readonly parts: readonly PartExplanation[];
  readonly reads: readonly AttributeRead[];
  /** As for a part, when the clause is itself a comparison with count/distinct or since/gap. */
  readonly count?: { readonly value: number; readonly atLeast: boolean };
  readonly elapsedMs?: number | null;
}

export type RuleStatus = "matched" | "not matched" | "error" | "excluded" | "scope used up";

export interface RuleExplanation {
  readonly rule: string;
  readonly effect: string;
  /** The file the rule is written in, when the policy has several files (a library module's rule: `leash/login.rules`). */
  readonly file?: string;
  readonly line: number;
  readonly column: number;
  readonly status: RuleStatus;
  /** Why the rule is excluded or its scope is used up. */
  readonly note?: string;
  /** Among `decision.rules` (or a matching flag rule). */
  readonly deciding: boolean;
  readonly principals?: { readonly text: string; readonly value: ProbeValue; readonly reads: readonly AttributeRead[] };
  readonly resources?: { readonly text: string; readonly value: ProbeValue; readonly reads: readonly AttributeRead[] };
  readonly clauses: readonly ClauseExplanation[];
}

export interface Explanation {
  readonly request: Record<string, unknown>;
  readonly decision: Decision;
  readonly candidates: readonly RuleExplanation[];
  /** Rules whose targets do not match the action. */
  readonly others: readonly string[];
  readonly why: readonly string[];
}

/* ---------------------------------------------------------------------------------------------- */

/** A rule of the policy as explain sees it: a declared rule, or a workflow's `on deviation` rule. */
interface RuleView {
  readonly id: string;
  readonly effect: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly targets: readonly (readonly string[])[];
  readonly principals: readonly PrincipalSelector[];
  readonly resources: readonly string[];
  readonly clauses: readonly { readonly kind: "when" | "unless"; readonly expr: Expr }[];
  readonly scoped: boolean;
}

function ruleViews(ast: PolicyFile): RuleView[] {
  const rules = rulesOf(ast).map(
    (r: RuleDecl): RuleView => ({
      id: r.name.value,
      effect: r.effect,
      file: r.span.file,
      line: r.span.line,
      column: r.span.column,
      targets: r.targets.filter((t) => t.kind === "ActionTarget").map((t) => t.pattern.segments),
      principals: r.principals,
      resources: r.resources.map((x) => x.glob),
      clauses: r.clauses.filter((c): c is WhenClause => c.kind === "WhenClause").map((c) => ({ kind: c.negated ? "unless" : "when", expr: c.condition })),
      scoped: r.clauses.some((c) => c.kind === "LimitClause" || c.kind === "ValidForClause"),
    }),
  );
  const workflows = workflowsOf(ast)
    .filter((w): w is WorkflowDecl & { onDeviation: NonNullable<WorkflowDecl["onDeviation"]> } => w.onDeviation !== null)
    .map(
      (w): RuleView => ({
        id: w.name.value,
        effect: w.onDeviation.effect,
        file: w.span.file,
        line: w.span.line,
        column: w.span.column,
        targets: w.steps.flatMap((s) => s.actions.map((a) => a.segments)),
        principals: [],
        resources: [],
        clauses: [{ kind: "when", expr: { kind: "DeviatesCall", span: w.onDeviation.span, workflow: w.name } }],
        scoped: false,
      }),
    );
  return [...rules, ...workflows];
}

/**
 * Explains the decision on `request` in `state`. Every selector, clause and clause part is turned
 * into a `flag *` probe rule appended to the policy source; the probes reuse the policy's own
 * history operators (identical operators share one register), so the probe policy reads the same
 * state and the engine itself says what each part evaluates to.
 */
export function explainRequest(policy: Policy, ast: PolicyFile, source: string, state: PolicyState, request: Record<string, unknown>): Explanation {
  const decision = policy.decide(state, request).decision;
  const action = typeof request.action === "string" ? request.action : "";
  const high = policy.actions.some((a) => a.high && actionPatternMatches(a.name.split("."), action));
  const probes = new ProbeSet(policy, source);
  const views = ruleViews(ast);
  const candidates = views.filter((v) => v.targets.some((t) => actionPatternMatches(t, action)));
  const others = views.filter((v) => !candidates.includes(v)).map((v) => v.id);

  // Register every probe first, then evaluate them all with one decision per round. A revoked key
  // short-circuits every rule, so the rules are shown as they evaluate with the revocations lifted.
  // A policy of several files (or one using a library module) names each rule's file.
  const several = views.some((v) => v.file !== ast.span.file);
  const plans = candidates.map((v) => planRule(v, probes, request, several));
  const revoked = decision.reasons.some((r) => r.code === "R307");
  probes.evaluate(revoked ? withoutRevocations(policy, state) : state, request);
  const explained = plans.map((p) => p());

  const deciding = new Set(revoked ? [] : [...decision.rules, ...decision.flags]);
  const withStatus = explained.map((e, i) => finishRule(e, candidates[i]!, decision, high, deciding));
  return { request, decision, candidates: withStatus, others, why: whyOf(decision, withStatus, high) };
}

function withoutRevocations(policy: Policy, state: PolicyState): PolicyState {
  let s = state;
  for (const r of revocations(policy, state)) {
    const at = r.key.indexOf(":");
    const kind = r.key.slice(0, at);
    const rest = r.key.slice(at + 1);
    const slash = rest.indexOf("/");
    const spec = kind === "session" ? { session: rest } : kind === "principal" ? { principal: { kind: rest.slice(0, slash), id: rest.slice(slash + 1) } } : { attribute: kind, value: rest };
    s = reinstate(policy, s, spec).state;
  }
  return s;
}

type Plan = () => Omit<RuleExplanation, "status" | "deciding">;

function planRule(v: RuleView, probes: ProbeSet, request: Record<string, unknown>, several: boolean): Plan {
  const principalText = v.principals.map(principalSelectorText).join(", ");
  const principals = v.principals.length > 0 ? probes.add(`for ${principalText}`) : null;
  const resourceText = v.resources.map(formatResourceGlob).join(", ");
  const resources = v.resources.length > 0 ? probes.add(`on ${resourceText}`) : null;
  const clauses = v.clauses.map((c) => {
    const whole = probes.condition(c.expr);
    const parts = c.expr.kind === "BinaryExpr" || c.expr.kind === "NotExpr" ? boolParts(c.expr) : [];
    const partPlans = [c.expr, ...parts].map((p) => ({ expr: p, value: p === c.expr ? whole : probes.condition(p), measure: probes.measure(p) }));
    return { c, whole, partPlans };
  });
  return () => ({
    rule: v.id,
    effect: v.effect,
    ...(several ? { file: v.file } : {}),
    line: v.line,
    column: v.column,
    ...(principals !== null ? { principals: { text: `for ${principalText}`, value: principals(), reads: selectorReads(v.principals, request) } } : {}),
    ...(resources !== null ? { resources: { text: `on ${resourceText}`, value: resources(), reads: [{ path: "resource.path", value: readPath(request, ["resource", "path"]) }] } } : {}),
    clauses: clauses.map(({ c, whole, partPlans }): ClauseExplanation => {
      const value = whole();
      const [self, ...rest] = partPlans.map((p) => explainPart(p.expr, p.value(), p.measure, request));
      return {
        kind: c.kind,
        text: formatExpr(c.expr),
        value,
        holds: typeof value === "boolean" ? value !== (c.kind === "unless") : value,
        parts: rest,
        reads: self!.reads,
        ...(self!.count ? { count: self!.count } : {}),
        ...(self!.elapsedMs !== undefined ? { elapsedMs: self!.elapsedMs } : {}),
      };
    }),
  });
}

function explainPart(e: Expr, value: ProbeValue, measure: (() => Measure) | null, request: Record<string, unknown>): PartExplanation {
  const m = measure?.();
  return { text: formatExpr(e), value, ...(m?.count ? { count: m.count } : {}), ...(m && "elapsedMs" in m ? { elapsedMs: m.elapsedMs } : {}), reads: readsOf(e, request) };
}

/** The operands in boolean position below `and`, `or` and `not`, left to right. */
function boolParts(e: Expr): Expr[] {
  if (e.kind === "BinaryExpr") return [...boolParts(e.left), ...boolParts(e.right)];
  if (e.kind === "NotExpr") return boolParts(e.operand);
  return [e];
}

function finishRule(e: Omit<RuleExplanation, "status" | "deciding">, v: RuleView, d: Decision, high: boolean, deciding: Set<string>): RuleExplanation {
  const isDeciding = deciding.has(v.id);
  if (high && v.effect === "allow" && !v.targets.some((t) => t.join(".") === d.action)) {
    const via = v.targets.filter((t) => actionPatternMatches(t, d.action)).map((t) => t.join(".")).join(", ");
    return { ...e, status: "excluded", note: `${d.action} is [high]: ${v.id} reaches it only through ${via}, and only a rule that names it can allow it`, deciding: false };
  }
  const values = [e.principals?.value, e.resources?.value, ...e.clauses.map((c) => c.holds)].filter((x): x is ProbeValue => x !== undefined);
  let status: RuleStatus = values.some((x) => x === false) ? "not matched" : values.some((x) => typeof x === "object") ? "error" : "matched";
  let note: string | undefined;
  if (status === "error") note = v.effect === "allow" ? "could not be evaluated: an allow rule that cannot be evaluated does not allow (fail closed)" : `could not be evaluated: a ${v.effect} rule that cannot be evaluated counts as matching (fail closed)`;
  if (status === "matched" && v.effect === "allow" && v.scoped) {
    const used = d.reasons.find((r) => r.rule === v.id && (r.code === "R310" || r.code === "R311"));
    if (used) {
      status = "scope used up";
      note = used.message;
    } else if (d.effect === "allow" && !isDeciding) {
      status = "scope used up";
      note = `${v.id} matched but did not decide: its limit or grant no longer holds for this key`;
    }
  }
  return { ...e, status, ...(note ? { note } : {}), deciding: isDeciding };
}

/* ---------------------------------------------------------------------------------------------- */

interface Measure {
  readonly count?: { readonly value: number; readonly atLeast: boolean };
  readonly elapsedMs?: number | null;
}

/**
 * Probe rules, evaluated by compiling `source + probes` and deciding the request on the same state.
 * A probe is `rule NAME: flag * [for ...] [on ...] [when EXPR]`: it is in `decision.flags` when it
 * matched, and in `decision.errors` when it could not be evaluated.
 */
class ProbeSet {
  private readonly probes: string[] = [];
  private readonly results = new Map<string, ProbeValue>();
  private readonly searches: { readonly expr: string; lo: number; hi: number; readonly done: (v: number | null) => void }[] = [];
  private readonly prefix: string;

  constructor(
    private readonly policy: Policy,
    private readonly source: string,
  ) {
    let prefix = "explain-probe-";
    while (policy.ruleIds.some((id) => id.startsWith(prefix))) prefix = `x${prefix}`;
    this.prefix = prefix;
  }

  /** Registers a probe with this selector/condition tail; the getter reads its value after `evaluate`. */
  add(tail: string): () => ProbeValue {
    const name = `${this.prefix}${this.probes.length}`;
    this.probes.push(`rule ${name}: flag * ${tail}`);
    return () => this.results.get(name) ?? { error: "probe", message: "this part could not be probed" };
  }

  condition(e: Expr): () => ProbeValue {
    return this.add(`when ${formatExpr(e)}`);
  }

  /** For a comparison with count/distinct or since/gap, a way to measure the operator's value. */
  measure(e: Expr): (() => Measure) | null {
    if (e.kind !== "CompareExpr") return null;
    for (const [side, other] of [[e.left, e.right], [e.right, e.left]] as const) {
      if ((side.kind === "CountCall" || side.kind === "DistinctCall") && other.kind === "NumberLit") {
        // The register keeps (constant + 1) timestamps, so counting up to that is exact. The probes
        // say `> k` (k < constant + 1): a comparison with k needs k + 1 slots, so no probe widens the
        // register, and the probe policy keeps the policy's register layout and reads the same state.
        const limit = Math.min(Math.max(Math.floor(other.value), 0) + 1, 64);
        const call = formatExpr(side);
        const atLeast = Array.from({ length: limit }, (_, i) => this.add(`when ${call} > ${i}`));
        return () => {
          let n = 0;
          while (n < limit && atLeast[n]!() === true) n++;
          return { count: { value: n, atLeast: limit > 0 && n === limit } };
        };
      }
      if ((side.kind === "SinceCall" || side.kind === "GapCall") && (other.kind === "DurationLit" || other.kind === "NumberLit")) {
        let result: number | null | undefined;
        this.searches.push({ expr: formatExpr(side), lo: 0, hi: MAX_ELAPSED, done: (v) => (result = v) });
        return () => (result === undefined ? {} : { elapsedMs: result });
      }
    }
    return null;
  }

  /** Decides the request once with every probe, then binary-searches the since/gap values. */
  evaluate(state: PolicyState, request: Record<string, unknown>): void {
    const flags = this.decide(this.probes, state, request);
    this.probes.forEach((p, i) => {
      const name = `${this.prefix}${i}`;
      const err = flags?.errors.find((x) => x.rule === name);
      this.results.set(name, flags === null ? { error: "probe", message: "the probe policy did not compile" } : err ? { error: err.code, message: err.message } : flags.flags.includes(name));
    });
    this.search(state, request);
  }

  /** since(...) < X is true exactly when the value is below X: bisect X over whole milliseconds. */
  private search(state: PolicyState, request: Record<string, unknown>): void {
    if (this.searches.length === 0) return;
    const open = this.searches.map((s) => ({ s, found: false }));
    // Never seen: not even below the largest bound.
    const top = this.decide(open.map(({ s }, i) => `rule ${this.prefix}s${i}: flag * when ${s.expr} < ${s.hi}ms`), state, request);
    open.forEach(({ s }, i) => {
      if (top === null || !top.flags.includes(`${this.prefix}s${i}`)) {
        s.done(null);
        open[i]!.found = true;
      }
    });
    for (let round = 0; round < 64 && open.some((o) => !o.found); round++) {
      const live = open.filter((o) => !o.found && o.s.hi - o.s.lo > 1);
      if (live.length === 0) break;
      const mids = live.map((o) => Math.floor((o.s.lo + o.s.hi) / 2));
      const res = this.decide(live.map((o, i) => `rule ${this.prefix}s${i}: flag * when ${o.s.expr} < ${mids[i]}ms`), state, request);
      if (res === null) break;
      live.forEach((o, i) => (res.flags.includes(`${this.prefix}s${i}`) ? (o.s.hi = mids[i]!) : (o.s.lo = mids[i]!)));
    }
    // The value v satisfies lo <= v < hi with hi - lo = 1 (or the search gave up): report lo.
    for (const o of open) if (!o.found) o.s.done(o.s.lo);
  }

  private decide(rules: readonly string[], state: PolicyState, request: Record<string, unknown>): Decision | null {
    if (rules.length === 0) return null;
    const compiled = compilePolicy(`${this.source}\n${rules.join("\n")}\n`, { file: "<explain>" });
    if (compiled.policy === null) return null;
    const d = compiled.policy.decide(state, request).decision;
    // A different register layout would make the state unreadable: then nothing was measured.
    if (d.errors.some((e) => e.code === "R303")) return null;
    return d;
  }
}

/** 400 days in ms: the largest since/gap the search distinguishes from "never". */
const MAX_ELAPSED = 400 * 24 * 3600 * 1000;

/* ---------------------------------------------------------------------------------------------- */

function principalSelectorText(s: PrincipalSelector): string {
  if (s.principalKind === null) return "*";
  const attrs = s.attributes.length > 0 ? ` { ${s.attributes.map((a) => `${a.name.value}: ${formatLiteral(a.value)}`).join(", ")} }` : "";
  return `${s.principalKind.value} ${s.id ? formatString(s.id.value) : "*"}${attrs}`;
}

function selectorReads(sels: readonly PrincipalSelector[], request: Record<string, unknown>): AttributeRead[] {
  const paths = new Set<string>(["principal.kind"]);
  for (const s of sels) {
    if (s.id !== null) paths.add("principal.id");
    for (const a of s.attributes) paths.add(`principal.${a.name.value}`);
  }
  return [...paths].map((p) => ({ path: p, value: readPath(request, p.split(".")) }));
}

/** The attributes and keys an expression reads, with their values in the request. */
function readsOf(e: Expr, request: Record<string, unknown>): AttributeRead[] {
  const out = new Map<string, unknown>();
  const path = (p: Path) => out.set([p.root, ...p.segments].join("."), p.root === "action" ? actionValue(p, request) : readPath(request, [p.root, ...p.segments]));
  const key = (k: KeyRef): void => {
    if (k.kind === "SessionKey") out.set("session", request.session);
    else if (k.kind === "PrincipalKey") out.set("principal", principalText(request));
    else if (k.kind === "CompoundKey") k.parts.forEach(key);
    else path(k.path);
  };
  const visit = (x: Expr): void => {
    switch (x.kind) {
      case "Path":
        return void path(x);
      case "BinaryExpr":
      case "CompareExpr":
        visit(x.left);
        return visit(x.right);
      case "NotExpr":
        return visit(x.operand);
      case "InExpr":
        visit(x.element);
        return visit(x.collection);
      case "LikeExpr":
        return visit(x.subject);
      case "HasExpr":
        if (x.subject.kind === "Path") path({ ...x.subject, segments: [...x.subject.segments, x.attribute.value] });
        else out.set(`${x.subject.root}.${x.attribute.value}`, readPath(request, [x.subject.root, x.attribute.value]));
        return;
      case "SessionHasExpr":
        return void out.set("session", request.session);
      default:
        if (isTemporal(x) && x.kind !== "DeviatesCall") {
          key(x.key);
          if (x.kind === "DistinctCall") path(x.attribute);
        } else if (x.kind === "DeviatesCall") out.set("action.name", request.action);
    }
  };
  visit(e);
  return [...out].map(([p, value]) => ({ path: p, value }));
}

function readPath(request: Record<string, unknown>, segments: readonly string[]): unknown {
  let cur: unknown = request;
  for (const s of segments) {
    if (!isRecord(cur) || !Object.prototype.hasOwnProperty.call(cur, s)) return undefined;
    cur = cur[s];
  }
  return cur;
}

function actionValue(p: Path, request: Record<string, unknown>): unknown {
  const name = typeof request.action === "string" ? request.action : undefined;
  if (p.segments[0] === "name") return name;
  return name?.split(".")[0];
}

export function principalText(request: Record<string, unknown>): string {
  const p = request.principal;
  return isRecord(p) ? `${valueText(p.kind)}/${valueText(p.id)}` : "-";
}

/* ---------------------------------------------------------------------------------------------- */

const RANK: Readonly<Record<string, number>> = { allow: 1, challenge: 2, deny: 3, revoke: 4 };

/** Why the effect won, in sentences. */
function whyOf(d: Decision, rules: readonly RuleExplanation[], high: boolean): string[] {
  const why: string[] = [];
  const rejected = d.reasons.find((r) => r.code === "R304" || r.code === "R303");
  if (rejected) return [`the request was not evaluated (${rejected.code}): ${rejected.message}; the answer is deny`];
  const revoked = d.reasons.find((r) => r.code === "R307");
  if (revoked) {
    return [
      revoked.message,
      "every request of a revoked session, principal or attribute value is denied (R307) until reinstate lifts it: no rule was considered",
      "the candidates above show how the rules evaluate with the revocation lifted",
    ];
  }
  const matched = (r: RuleExplanation) => r.status === "matched" || (r.status === "error" && r.effect !== "allow");
  const live = rules.filter((r) => matched(r) && r.effect !== "flag");
  if (d.rules.length === 0) {
    const challenges = live.filter((r) => r.effect === "challenge");
    if (challenges.length > 0) why.push(`${names(challenges)} matched, but a challenge only steps up what an allow rule grants, and no allow rule matched`);
    if (high) {
      const excluded = rules.filter((r) => r.status === "excluded");
      if (excluded.length > 0) why.push(`${d.action} is a [high] action: ${names(excluded)} reach${excluded.length === 1 ? "es" : ""} it only through a wildcard, and a [high] action is allowed only by a rule that names it (R312)`);
    }
    for (const r of rules.filter((x) => x.status === "scope used up")) why.push(r.note ?? `${r.rule}: its limit or grant no longer holds`);
    why.push(`no allow rule matched ${d.action}: the default is deny (R313)`);
  } else {
    const winners = rules.filter((r) => d.rules.includes(r.rule));
    why.push(`${d.effect}: ${names(winners)} matched${winners.length > 1 ? ", all with this effect" : ""}`);
    const outranked = live.filter((r) => RANK[r.effect]! < RANK[d.effect]!);
    if (outranked.length > 0) why.push(`${d.effect} outranks ${[...new Set(outranked.map((r) => r.effect))].join(" and ")} (revoke > deny > challenge > allow): ${names(outranked)} also matched`);
    if (d.effect === "challenge") {
      const allows = live.filter((r) => r.effect === "allow");
      if (allows.length > 0) why.push(`the challenge stands on ${names(allows)}, which grant${allows.length === 1 ? "s" : ""} the action once the step-up is done`);
    }
  }
  for (const r of rules.filter((x) => x.status === "error")) why.push(`${r.rule} could not be evaluated: ${r.effect === "allow" ? "it does not allow" : "it counts as matching"} (fail closed)`);
  for (const o of d.obligations) {
    if (o.kind === "challenge") why.push(`obligation from ${o.rule}: ask for ${o.challenge}${o.satisfiedBy.length ? `; satisfied by ${o.satisfiedBy.map((s) => `signal ${s}`).join(" or ")}` : ""}`);
    else why.push(`obligation from ${o.rule}: revoke ${o.key}; later requests of that key are denied`);
  }
  if (d.flags.length > 0) why.push(`flagged by ${d.flags.join(", ")} (monitor only: flags never change the effect)`);
  if (d.validUntil !== null) why.push(`this answer holds until ${d.validUntil} (a window, grant or label read by a rule changes then); recheck at that time`);
  return why;
}

function names(rs: readonly RuleExplanation[]): string {
  return rs.map((r) => `${r.rule} (${r.effect})`).join(", ");
}
