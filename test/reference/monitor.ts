import type { Clause, Effect, KeyRef, Path, PolicyFile, RuleDecl, WorkflowDecl } from "../../src/ast/nodes.js";
import { syntheticSpan } from "../../src/ast/span.js";
import type { DecisionEffect } from "../../src/runtime/types.js";
import { evalCondition, workflowDeviates, type EvalContext, type LabelGrant } from "./evaluate.js";
import { pastOfKey, withinWindow, type HistoryEvent, type Revocation } from "./history.js";
import { actionMatches, principalsMatch, resourcesMatch } from "./match.js";
import { isPlainObject, keyValue, ownProperty, principalKey, readPath, sessionKey, type Subject } from "./subject.js";
import { all, fail, isError, not, type Truth } from "./truth.js";

/**
 * The reference interpreter: docs/semantics.md in code. It keeps the FULL history (every decided
 * request with its final effect, every signal, every reinstatement, in arrival order) and evaluates
 * every operator by scanning it. It is deliberately slow and plain; the compiled engine must agree
 * with it on every decision.
 */

export interface ReferenceDecision {
  readonly effect: DecisionEffect;
  /** The rules that decided the effect, sorted; empty for the default deny. */
  readonly rules: readonly string[];
  /** The flag rules that matched, sorted. */
  readonly flags: readonly string[];
  /** Rules that could not be evaluated and were counted fail-closed, and request errors. */
  readonly errors: readonly { readonly rule: string | null; readonly code: string }[];
}

export interface ReferenceObservation {
  readonly flags: readonly string[];
  /** Keys revoked by `revoke signal X` rules, e.g. `session:s1`. */
  readonly revoked: readonly string[];
}

/** A rule as it takes part in a decision: declared, or the implicit rule of `on deviation`. */
interface Outcome {
  readonly name: string;
  readonly effect: Effect;
  readonly truth: Truth;
  readonly rule: RuleDecl | null;
}

const SESSION_KEY: KeyRef = { kind: "SessionKey", span: syntheticSpan() };

export class ReferenceMonitor {
  private readonly history: HistoryEvent[] = [];
  private readonly rules: readonly RuleDecl[];
  private readonly workflows: ReadonlyMap<string, WorkflowDecl>;
  private readonly highActions: ReadonlySet<string>;
  private readonly labels: readonly LabelGrant[];

  constructor(ast: PolicyFile) {
    this.rules = ast.items.filter((i): i is RuleDecl => i.kind === "RuleDecl");
    this.workflows = new Map(ast.items.filter((i): i is WorkflowDecl => i.kind === "WorkflowDecl").map((w) => [w.name.value, w]));
    this.highActions = new Set(
      ast.items.flatMap((i) => (i.kind === "ActionsBlock" ? i.groups : []))
        .filter((g) => g.tags.some((t) => t.value === "high"))
        .flatMap((g) => g.actions.map((a) => a.segments.join("."))),
    );
    this.labels = this.rules.flatMap((r) =>
      r.clauses.flatMap((c) => (c.kind === "LabelClause" ? [{ rule: r.name.value, label: c.label.value, durationMs: c.duration?.ms ?? null }] : [])),
    );
  }

  /** Everything recorded so far, oldest first. */
  get events(): readonly HistoryEvent[] {
    return this.history;
  }

  decide(request: unknown): ReferenceDecision {
    const parsed = parseRequest(request);
    if (parsed === undefined) return { effect: "deny", rules: [], flags: [], errors: [{ rule: null, code: "R304" }] };
    const { subject, time } = parsed;

    // A revoked key denies every later request (R307). The revoking rule is named in the reason,
    // not in `rules`: its own effect is revoke, and no rule's effect is this deny.
    const revocation = this.revocationOf(subject);
    if (revocation !== undefined) {
      this.record({ kind: "request", subject, time, effect: "deny", deciding: [], flagged: [], revokes: [] });
      return { effect: "deny", rules: [], flags: [], errors: [{ rule: revocation.rule, code: "R307" }] };
    }

    const ctx = this.context(subject, time, true);
    const matched = this.requestOutcomes(ctx).filter(counts);
    const effect = combine(matched);
    const rules = matched.filter((o) => o.effect === effect).map((o) => o.name).sort();
    const flags = matched.filter((o) => o.effect === "flag").map((o) => o.name).sort();
    const revokes = effect === "revoke" ? matched.filter((o) => o.effect === "revoke").flatMap((o) => revocationTarget(o, subject)) : [];
    this.record({ kind: "request", subject, time, effect, deciding: rules, flagged: flags, revokes });
    return { effect, rules, flags, errors: errorsOf(matched) };
  }

  observe(signal: unknown): ReferenceObservation {
    const parsed = parseSignal(signal);
    if (parsed === undefined) return { flags: [], revoked: [] };
    const { subject, time } = parsed;
    const ctx = this.context(subject, time, false);
    const matched = this.rules
      .filter((r) => r.targets.some((t) => t.kind === "SignalTarget" && actionMatches(t.pattern.segments, subject.action)))
      .map((r) => this.outcome(r, ctx))
      .filter(counts);
    const flags = matched.filter((o) => o.effect === "flag").map((o) => o.name).sort();
    const revokes = matched.filter((o) => o.effect === "revoke").flatMap((o) => revocationTarget(o, subject));
    this.record({ kind: "signal", subject, time, revokes });
    return { flags, revoked: revokes.map((r) => r.key) };
  }

  /** How much history there is: `rollback(mark())` undoes every step taken after it. */
  mark(): number {
    return this.history.length;
  }

  /** Forgets every event recorded after `mark` (the history is all the monitor's state). */
  rollback(mark: number): void {
    this.history.length = mark;
  }

  /** `reinstate(policy, state, key)` with the key as `keyValue` writes it (`session:s1`). */
  reinstate(key: string): void {
    this.history.push({ kind: "reinstate", key });
  }

  private record(event: HistoryEvent): void {
    this.history.push(event);
  }

  private context(subject: Subject, now: number, isRequest: boolean): EvalContext {
    return { history: this.history, subject, now, isRequest, workflows: this.workflows, labels: this.labels };
  }

  /** Candidates: rules targeting the action, and each workflow's `on deviation` rule. */
  private requestOutcomes(ctx: EvalContext): Outcome[] {
    const action = ctx.subject.action;
    const declared = this.rules
      .filter((r) => r.targets.some((t) => t.kind === "ActionTarget" && actionMatches(t.pattern.segments, action)))
      .filter((r) => !(r.effect === "allow" && this.highActions.has(action) && !namesExactly(r, action)))
      .map((r) => this.outcome(r, ctx));
    const deviations = [...this.workflows.values()].flatMap((w) =>
      w.onDeviation === null ? [] : [{ name: w.name.value, effect: w.onDeviation.effect, truth: workflowDeviates(w.name.value, ctx), rule: null }],
    );
    return [...declared, ...deviations];
  }

  private outcome(rule: RuleDecl, ctx: EvalContext): Outcome {
    const truth = all([
      principalsMatch(rule.principals, ctx.subject),
      resourcesMatch(rule.resources, ctx.subject),
      ...rule.clauses.map((c) => this.clauseTruth(rule, c, ctx)),
    ]);
    return { name: rule.name.value, effect: rule.effect, truth, rule };
  }

  private clauseTruth(rule: RuleDecl, clause: Clause, ctx: EvalContext): Truth {
    switch (clause.kind) {
      case "WhenClause": {
        const t = evalCondition(clause.condition, ctx);
        return clause.negated ? not(t) : t;
      }
      case "LimitClause":
        if (clause.distinct !== null) return this.withinDistinctLimit(rule, clause.key, clause.distinct, clause.count.value, clause.window?.ms ?? null, ctx);
        return this.withinLimit(rule, clause.key, clause.count.value, clause.window?.ms ?? null, ctx);
      case "ValidForClause":
        return this.grantLive(rule, clause.key ?? SESSION_KEY, clause.duration.ms, ctx);
      default:
        return true;
    }
  }

  /** Allowed requests of the key that this rule decided. */
  private usesOf(rule: RuleDecl, key: KeyRef, ctx: EvalContext) {
    const value = keyValue(ctx.subject, key);
    if (isError(value)) return value;
    const past = pastOfKey(this.history, key, value, ctx.now);
    const uses = past.events.filter(({ event }) => event.kind === "request" && event.effect === "allow" && event.deciding.includes(rule.name.value));
    return { uses, now: past.now };
  }

  /** `limit N per K [within D]`: fewer than N uses of the rule by K within D. */
  private withinLimit(rule: RuleDecl, key: KeyRef, n: number, windowMs: number | null, ctx: EvalContext): Truth {
    const r = this.usesOf(rule, key, ctx);
    if (isError(r)) return r;
    return r.uses.filter((u) => withinWindow(u.time, r.now, windowMs)).length < n;
  }

  /**
   * `limit N distinct A per K [within D]`: the request's value of A (`resource`: its path, else its
   * id) is one the rule's uses by K within D had, or they had fewer than N different values.
   */
  private withinDistinctLimit(rule: RuleDecl, key: KeyRef, attribute: Path, n: number, windowMs: number | null, ctx: EvalContext): Truth {
    const valueOf = (s: Subject): string | undefined => {
      const paths: Path[] = attribute.segments.length > 0 ? [attribute] : (["path", "id"] as const).map((f) => ({ ...attribute, segments: [f] }));
      for (const p of paths) {
        const v = readPath(s, p);
        if (!isError(v) && "value" in v && (typeof v.value === "string" || typeof v.value === "number")) return `${typeof v.value}:${v.value}`;
      }
      return undefined;
    };
    const mine = valueOf(ctx.subject);
    if (mine === undefined) return fail("R301", "the request has no value for the distinct limit");
    const r = this.usesOf(rule, key, ctx);
    if (isError(r)) return r;
    const values = new Set(r.uses.filter((u) => withinWindow(u.time, r.now, windowMs)).map((u) => valueOf((u.event as { subject: Subject }).subject)));
    return values.has(mine) || values.size < n;
  }

  /** `valid for D [per K]`: the grant starts at the first use by K and ends D later. */
  private grantLive(rule: RuleDecl, key: KeyRef, durationMs: number, ctx: EvalContext): Truth {
    const r = this.usesOf(rule, key, ctx);
    if (isError(r)) return r;
    const first = r.uses[0];
    return first === undefined || r.now - first.time < durationMs;
  }

  /** The revocation in force for the request's session, principal or a targeted attribute, if any. */
  private revocationOf(subject: Subject): Revocation | undefined {
    const keys: string[] = [];
    if (subject.session !== undefined) keys.push(sessionKey(subject.session));
    if (subject.principal !== undefined) keys.push(principalKey(subject.principal));
    for (const rule of this.rules) {
      for (const c of rule.clauses) {
        if (c.kind !== "TargetKeyClause" || (c.key.kind !== "PathKey" && c.key.kind !== "CompoundKey")) continue;
        const v = keyValue(subject, c.key);
        if (!isError(v)) keys.push(v);
      }
    }
    for (const key of keys) {
      const r = this.revocationOfKey(key);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** The first revocation of `key` since it was last reinstated. */
  private revocationOfKey(key: string): Revocation | undefined {
    let current: Revocation | undefined;
    for (const event of this.history) {
      if (event.kind === "reinstate") {
        if (event.key === key) current = undefined;
        continue;
      }
      current ??= event.revokes.find((r) => r.key === key);
    }
    return current;
  }
}

/**
 * `revoke > deny > challenge > allow`, and no matching allow means deny: a challenge only steps up
 * an action that an allow rule grants. The default deny has no deciding rules.
 */
function combine(matched: readonly Outcome[]): DecisionEffect {
  const has = (e: Effect) => matched.some((o) => o.effect === e);
  if (has("revoke")) return "revoke";
  if (has("deny") || !has("allow")) return "deny";
  return has("challenge") ? "challenge" : "allow";
}

function counts(o: Outcome): boolean {
  return o.truth === true || (isError(o.truth) && o.effect !== "allow");
}

function errorsOf(outcomes: readonly Outcome[]): { rule: string; code: string }[] {
  return outcomes.flatMap((o) => (isError(o.truth) ? [{ rule: o.name, code: o.truth.error }] : []));
}

/** Only a rule whose target names a `[high]` action exactly may allow it. */
function namesExactly(rule: RuleDecl, action: string): boolean {
  return rule.targets.some((t) => t.kind === "ActionTarget" && t.pattern.segments.join(".") === action);
}

/**
 * The key a matching revoke rule revokes: `session` by default (the principal without one), or its
 * `target`. A target attribute the event lacks revokes the principal: the broadest key, failing
 * closed (docs/semantics.md does not say this yet).
 */
function revocationTarget(o: Outcome, subject: Subject): Revocation[] {
  const target = o.rule?.clauses.find((c) => c.kind === "TargetKeyClause")?.key;
  const principal = subject.principal !== undefined ? principalKey(subject.principal) : undefined;
  let key: string | undefined;
  if (target === undefined || target.kind === "SessionKey") {
    key = subject.session !== undefined ? sessionKey(subject.session) : principal;
  } else {
    const v = keyValue(subject, target);
    key = isError(v) ? principal : v;
  }
  return key === undefined ? [] : [{ key, rule: o.name }];
}

/* ---- requests and signals ------------------------------------------------------------------------ */

function toTime(t: unknown): number | undefined {
  if (typeof t === "number") return Number.isFinite(t) ? t : undefined;
  if (typeof t === "string") {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

function isPrincipal(p: unknown): p is Record<string, unknown> {
  return isPlainObject(p) && typeof ownProperty(p, "kind") === "string" && typeof ownProperty(p, "id") === "string";
}

/** The parts every event may carry; `undefined` when one is malformed. */
function optionalParts(raw: Record<string, unknown>): Omit<Subject, "action" | "principal"> | undefined {
  const resource = ownProperty(raw, "resource");
  const context = ownProperty(raw, "context");
  const session = ownProperty(raw, "session");
  if (resource !== undefined && !isPlainObject(resource)) return undefined;
  if (context !== undefined && !isPlainObject(context)) return undefined;
  if (session !== undefined && typeof session !== "string") return undefined;
  return { resource, context, session };
}

/** A well-formed request, or `undefined` (R304). */
export function parseRequest(raw: unknown): { subject: Subject; time: number } | undefined {
  if (!isPlainObject(raw)) return undefined;
  const principal = ownProperty(raw, "principal");
  const action = ownProperty(raw, "action");
  const time = toTime(ownProperty(raw, "time"));
  const parts = optionalParts(raw);
  if (!isPrincipal(principal) || typeof action !== "string" || action === "" || time === undefined || parts === undefined) return undefined;
  return { subject: { ...parts, action, principal }, time };
}

/** A well-formed signal, or `undefined`. */
export function parseSignal(raw: unknown): { subject: Subject; time: number } | undefined {
  if (!isPlainObject(raw)) return undefined;
  const name = ownProperty(raw, "signal");
  const principal = ownProperty(raw, "principal");
  const time = toTime(ownProperty(raw, "time"));
  const parts = optionalParts(raw);
  if (typeof name !== "string" || name === "" || time === undefined || parts === undefined) return undefined;
  if (principal !== undefined && !isPrincipal(principal)) return undefined;
  return { subject: { ...parts, action: name, principal }, time };
}
