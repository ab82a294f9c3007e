import fc from "fast-check";
import type { EventSelIR, ExprIR, KeyIR, PolicyIR, RuleIR } from "../compile/ir.js";
import type { Policy } from "../runtime/engine.js";
import { actionPatternMatches } from "../runtime/glob.js";
import type { Decision, PolicyState } from "../runtime/types.js";
import { arbRequest, arbSignal, type TraceEntry } from "./arbitraries.js";
import { enableOperator, instantiate, labelsRead, operatorSites, readerNames, readersOf, SUBJECT, thresholdOf, type ActorRef, type EventChoice, type Intent, type Move, type Plan, type PlanKit, type Reading } from "./plans.js";
import { isCoverageProbe, isProbe } from "./probes.js";
import { ABSENT, crossSolutions, mergeSolutions, PRESENT, Solver, type Need, type Slot, type Solution } from "./solve.js";
import { vocabularyOf, type Vocabulary, type VocabularyValue } from "./vocabulary.js";
import { observe } from "../runtime/operations.js";

/**
 * Directed traces: the plans of `plans.ts` built into concrete requests and signals. Each event's
 * attributes come from the solver; each event is decided on the policy as it is built, and an event
 * that does not do what the plan needs (an allow that is denied because a rule wants a customer
 * lookup first) is retried with other values, then with the history it needs placed just before it.
 * Every trace starts from an empty state, so no revocation, limit or label of one plan starves
 * another; `arbDirectedTrace` mixes them on separate sessions, principals and key values.
 */

/** One directed trace and what it is about. */
export interface DirectedTrace {
  /** What the trace reaches: `count(signal login.fail by context.ip within 1m) >= 5 of credential-stuffing: 5 events`. */
  readonly site: string;
  /** Rules the trace is about (the reader of the operator, the rule whose clause it flips). */
  readonly rules: readonly string[];
  readonly trace: readonly TraceEntry[];
}

/** Options for `directedTraces`. */
export interface DirectedOptions {
  /** Most traces kept (default 4,000): plans beyond it are dropped evenly across sites. */
  readonly max?: number;
}

const SECOND = 1000;
const DEFAULT_MAX = 4000;
/** How deep enablers may nest (an enabler's own history needs). */
const ENABLE_DEPTH = 2;
/** Most events tried while one plan is built; past it every event takes its first solution. */
const PLAN_BUDGET = 160;

const cache = new WeakMap<Policy, readonly DirectedTrace[]>();

/**
 * Every directed trace of a policy: for each history operator, limit, grant and label the rules read,
 * traces that reach it and straddle its edges; for each rule, requests that make it match, miss on
 * each selector, and fail each `when`/`unless` clause in turn (values on both sides of every
 * constant). Deterministic: the same policy always gives the same traces.
 */
export function directedTraces(policy: Policy, options: DirectedOptions = {}): readonly DirectedTrace[] {
  const cached = options.max === undefined ? cache.get(policy) : undefined;
  if (cached) return cached;
  const builder = new TraceBuilder(policy);
  const plans = builder.plans();
  const seen = new Set<string>();
  const bySite: DirectedTrace[][] = [];
  for (const plan of plans) {
    const trace = builder.build(plan);
    if (trace === null || trace.length === 0) continue;
    const key = JSON.stringify(trace);
    if (seen.has(key)) continue;
    seen.add(key);
    const list = bySite[bySite.length - 1];
    const entry = { site: plan.site, rules: plan.rules, trace };
    if (list && list[0]!.site === plan.site) list.push(entry);
    else bySite.push([entry]);
  }
  const out = roundRobin(bySite, options.max ?? DEFAULT_MAX);
  if (options.max === undefined) cache.set(policy, out);
  return out;
}

/** All items when they fit; otherwise one from each list in turn until `max`. */
function roundRobin<T>(lists: readonly T[][], max: number): T[] {
  const total = lists.reduce((n, l) => n + l.length, 0);
  if (total <= max) return lists.flat();
  const out: T[] = [];
  for (let i = 0; out.length < max; i++) {
    let any = false;
    for (const l of lists)
      if (i < l.length && out.length < max) {
        out.push(l[i]!);
        any = true;
      }
    if (!any) break;
  }
  return out;
}

/** Values of a plan's actors: session, principal and attribute keys by number. */
interface Cast {
  readonly kind: string;
  readonly id: string | null;
  readonly values: ReadonlyMap<string, VocabularyValue>;
}

class TraceBuilder implements PlanKit {
  readonly ir: PolicyIR;
  readonly vocabulary: Vocabulary;
  readonly solver: Solver;
  private readonly effects: ReadonlyMap<string, string>;
  /** Attribute paths histories are keyed by (and distinct attributes): every event carries them. */
  private readonly keyPaths: readonly string[];
  /** The principal kinds the policy's rules name, in order of first appearance. */
  private readonly namedKinds: readonly string[];
  /** Events tried for the plan being built (see PLAN_BUDGET). */
  private spent = 0;
  private readonly goalCache = new Map<string, Solution[]>();
  private readonly ruleGoalCache = new WeakMap<readonly Solution[], Map<string, Solution[]>>();

  constructor(readonly policy: Policy) {
    this.ir = policy.ir;
    this.vocabulary = vocabularyOf(policy);
    this.solver = new Solver(this.ir);
    this.effects = new Map(this.ir.rules.map((r) => [r.id, r.effect]));
    const paths = new Set<string>();
    for (const g of this.ir.keyGroups) if (g.key.kind === "path" && g.key.root !== "action" && g.slots > 0) paths.add(g.key.text);
    for (const k of this.ir.revokeTargets) if (k.kind === "path" && k.root !== "action") paths.add(k.text);
    for (const op of this.ir.ops) if (op.op === "distinct" && op.attribute.root !== "action" && op.attribute.text !== "principal.id" && op.attribute.text !== "principal.kind") paths.add(op.attribute.text);
    this.keyPaths = [...paths];
    this.namedKinds = [...new Set(this.ir.rules.flatMap((r) => (isProbe(r.id) ? [] : r.principals.flatMap((p) => (p.kind === null ? [] : [p.kind])))))];
  }

  /* ---- PlanKit ------------------------------------------------------------------------------ */

  events(sel: EventSelIR | null, limit = 2): EventChoice[] {
    const v = this.vocabulary;
    const out: EventChoice[] = [];
    const add = (c: EventChoice) => {
      if (!out.some((x) => x.name === c.name && x.signal === c.signal && x.intent.t === c.intent.t)) out.push(c);
    };
    if (sel === null) return [];
    for (const p of sel.patterns) {
      const actions = v.actions.filter((a) => actionPatternMatches(p, a));
      const signals = v.signals.filter((s) => actionPatternMatches(p, s));
      if (actions.length === 0 && !(p.length === 1 && p[0] === "*")) actions.push(instantiate(p));
      if (signals.length === 0) signals.push(instantiate(p));
      switch (sel.filter) {
        case "signal":
          for (const s of signals) add({ name: s, signal: true, intent: { t: "signal" } });
          break;
        case "happened":
          for (const s of signals.filter((s) => v.signals.includes(s))) add({ name: s, signal: true, intent: { t: "signal" } });
          for (const a of actions) add({ name: a, signal: false, intent: { t: "allowed" } });
          break;
        case "allowed":
          for (const a of actions) add({ name: a, signal: false, intent: { t: "allowed" } });
          break;
        case "attempted":
          for (const a of actions) {
            add({ name: a, signal: false, intent: { t: "allowed" } });
            add({ name: a, signal: false, intent: { t: "denied" } });
          }
          break;
        case "denied":
          for (const a of actions) add({ name: a, signal: false, intent: { t: "denied" } });
          break;
      }
    }
    return out.slice(0, limit);
  }

  final(rule: RuleIR, gap: number, actor: ActorRef = SUBJECT): Move | null {
    const signal = rule.actions.length === 0 && rule.signals.length > 0;
    const name = readerNames(rule, this.vocabulary, 1)[0];
    if (name === undefined) return null;
    const solutions = this.solver.rule(rule, true, name, signal);
    if (solutions.length === 0) return null;
    return { name, signal, intent: { t: "rule", rule, solutions }, gap, actor };
  }

  repeat(e: EventChoice, k: number, gap: number, spacing: number, actor: ActorRef = SUBJECT): Move[] {
    return Array.from({ length: k }, (_, i) => ({ name: e.name, signal: e.signal, intent: e.intent, gap: i === 0 ? gap : spacing, actor }));
  }

  others(key: KeyIR | null): ActorRef[] {
    if (key === null) return [];
    switch (key.kind) {
      case "session":
        return [{ session: 1, principal: 0, value: 0 }, { session: 0, principal: 1, value: 0 }];
      case "principal":
        return [{ session: 0, principal: 1, value: 0 }, { session: 1, principal: 0, value: 0 }];
      case "path":
        return [{ session: 0, principal: 0, value: 1 }, { session: 1, principal: 1, value: 0 }];
      case "compound": {
        // One actor per part that differs from the subject in that part alone, then one that differs in all.
        const parts = new Set(key.parts.map((p) => p.kind));
        const one = (kind: string): ActorRef => ({ session: kind === "session" ? 1 : 0, principal: kind === "principal" ? 1 : 0, value: kind === "path" ? 1 : 0 });
        return [...[...parts].map(one), { session: parts.has("session") ? 1 : 0, principal: parts.has("principal") ? 1 : 0, value: parts.has("path") ? 1 : 0 }];
      }
    }
  }

  /* ---- plans -------------------------------------------------------------------------------- */

  plans(): Plan[] {
    const out: Plan[] = [];
    const readers = readersOf(this.ir);
    for (const op of this.ir.ops) {
      const key = this.ir.keyGroups[op.group]!.key;
      for (const reader of readers.get(op.index) ?? []) {
        const labels = op.op === "labels" ? new Set(labelsRead(reader.rule.condition)) : new Set<number>();
        const site = `${op.signature} of ${reader.rule.id}`;
        for (const moves of operatorSites(op, reader, this))
          for (const kind of this.kindsFor(reader.rule)) out.push({ site, moves, ops: new Set([op.index]), labels, rules: [reader.rule.id], key, ...(kind === null ? {} : { kind }) });
      }
    }
    for (const rule of this.ir.rules) if (!isCoverageProbe(rule.id)) out.push(...this.ruleSites(rule));
    return out;
  }

  /**
   * The principal kinds a rule's history plans are built for: one (null: the solver's or the default
   * kind) when its selectors fix the kind, else every kind a rule of the policy names — a `for *`
   * rule reads the same history whoever acts, but the other rules decide the events by kind, so
   * a count reached by agents says nothing of the humans it also limits.
   */
  private kindsFor(rule: RuleIR): readonly (string | null)[] {
    if (rule.principals.length > 0 && rule.principals.every((p) => p.kind !== null)) return [null];
    return [null, ...this.namedKinds.filter((k) => k !== this.defaultKind())];
  }

  /**
   * A rule on its own: a request it matches (the nearest values on each side of its constants),
   * one that misses on its principal, on its resource, and one failing each `when`/`unless` in turn.
   * A revoke rule's request is followed by requests of the same session, of the same principal in
   * another session, and of another principal in the same session (what the revocation reaches).
   */
  private ruleSites(rule: RuleIR): Plan[] {
    const out: Plan[] = [];
    const signal = rule.actions.length === 0 && rule.signals.length > 0;
    const site = `rule ${rule.id}`;
    for (const name of readerNames(rule, this.vocabulary, 3)) {
      const variants: Solution[][] = [];
      const hold = this.solver.rule(rule, true, name, signal);
      for (const s of hold.slice(0, 2)) variants.push([s]);
      if (rule.principals.length > 0) variants.push(crossSolutions(this.solver.selectors(rule, false, "principal"), this.condition(rule, name, -1)));
      if (rule.resources.length > 0) variants.push(crossSolutions(this.solver.selectors(rule, false, "resource"), this.condition(rule, name, -1)));
      const clauses = conjuncts(rule.condition);
      if (clauses.length > 0)
        for (let i = 0; i < clauses.length; i++) {
          const flipped = crossSolutions(this.solver.selectors(rule, true), this.condition(rule, name, i));
          for (const s of flipped.slice(0, 2)) variants.push([s]);
        }
      for (const solutions of variants) {
        if (solutions.length === 0) continue;
        const final: Move = { name, signal, intent: { t: "rule", rule, solutions }, gap: 0, actor: SUBJECT };
        const follow = rule.effect === "revoke" || signal;
        const actors = follow ? [SUBJECT, ...this.others({ kind: "session" })] : [];
        if (!follow) out.push(this.plan(site, rule, [final]));
        for (const a of actors) {
          const canary = this.canary(a);
          if (canary) out.push(this.plan(site, rule, [final, canary]));
        }
      }
    }
    return out;
  }

  /** Solutions of a rule's condition with every conjunct holding except conjunct `flip` (-1: none). */
  private condition(rule: RuleIR, name: string, flip: number): Solution[] {
    const parts = conjuncts(rule.condition);
    if (parts.length === 0) return flip < 0 ? [{ assign: new Map(), needs: [] }] : [];
    let acc: Solution[] = [{ assign: new Map(), needs: [] }];
    parts.forEach((c, i) => (acc = crossSolutions(acc, this.solver.expr(c, i !== flip, name))));
    return acc;
  }

  private plan(site: string, rule: RuleIR, moves: Move[]): Plan {
    return { site, moves, ops: new Set(), labels: new Set(), rules: [rule.id], key: null };
  }

  /** A request some allow rule grants, by `actor`, one second later: what a revocation would stop. */
  private canary(actor: ActorRef): Move | null {
    for (const name of this.vocabulary.actions)
      if (this.ir.rules.some((r) => r.effect === "allow" && !isProbe(r.id) && this.solver.targets(r, name, false))) return { name, signal: false, intent: { t: "allowed" }, gap: SECOND, actor };
    return null;
  }

  /* ---- building ------------------------------------------------------------------------------ */

  /** A plan as a trace, each event decided as it is placed; null when no event could be built. */
  build(plan: Plan): TraceEntry[] | null {
    this.spent = 0;
    const cast = this.cast(plan);
    let state = this.policy.initialState();
    let time = 0;
    const out: TraceEntry[] = [];
    for (let i = 0; i < plan.moves.length; i++) {
      const m = plan.moves[i]!;
      if (i > 0) time += m.gap;
      const placed = this.place(m, plan, cast, state, time, 0);
      if (placed === null) return null;
      out.push(...placed.events);
      state = placed.state;
    }
    return out;
  }

  /** Who the subject is: the principal and key values the plan's last rule event needs (so all its events share them). */
  private cast(plan: Plan): Cast {
    const last = [...plan.moves].reverse().find((m) => m.intent.t === "rule") ?? plan.moves[plan.moves.length - 1];
    const goals = last ? this.goals(last) : [];
    const s = (plan.kind === undefined ? undefined : goals.find((g) => [undefined, plan.kind].includes(g.assign.get("principal.kind") as string | undefined))) ?? goals[0];
    const get = (p: string) => {
      const v = s?.assign.get(p);
      return v === undefined || v === ABSENT || v === PRESENT ? undefined : v;
    };
    const kind = get("principal.kind");
    const id = get("principal.id");
    const values = new Map<string, VocabularyValue>();
    for (const p of this.keyPaths) {
      const v = get(p);
      if (v !== undefined) values.set(p, v);
    }
    return { kind: typeof kind === "string" ? kind : (plan.kind ?? this.defaultKind()), id: typeof id === "string" ? id : null, values };
  }

  private defaultKind(): string {
    for (const r of this.ir.rules) for (const p of r.principals) if (p.kind !== null && r.effect === "allow") return p.kind;
    return "human";
  }

  /** The attributes an actor brings: its principal, and its values of the key paths. */
  private base(actor: ActorRef, cast: Cast): Map<string, Slot> {
    const m = new Map<string, Slot>();
    m.set("principal.kind", cast.kind);
    m.set("principal.id", actor.principal === 0 ? (cast.id ?? "p1") : `p${actor.principal + 1}`);
    for (const p of this.keyPaths) m.set(p, actor.value === 0 ? (cast.values.get(p) ?? "k1") : `k${actor.value + 1}`);
    return m;
  }

  /**
   * Places one event: the first solution whose decision does what the plan needs, else the same
   * with the history its solution needs placed just before it (at the same time), else the first.
   */
  private place(m: Move, plan: Plan, cast: Cast, state: PolicyState, time: number, depth: number): { events: TraceEntry[]; state: PolicyState } | null {
    const candidates = this.goals(m);
    if (candidates.length === 0) return null;
    const base = this.base(m.actor, cast);
    const hard = hardPaths(plan.key);
    // Solutions that keep the actor's principal first, so a plan's events come from one principal where they can.
    const own: Solution = { assign: new Map([["principal.kind", base.get("principal.kind")!], ["principal.id", base.get("principal.id")!]]), needs: [] };
    const ordered = [...candidates.flatMap((s) => mergeSolutions(s, own) ?? []), ...candidates].slice(0, candidates.length + 2);
    const fitted = ordered.map((s) => fit(s, base, hard));
    let fallback: { events: TraceEntry[]; state: PolicyState } | null = null;
    for (const withHistory of depth < ENABLE_DEPTH ? [false, true] : [false]) {
      // With history, only the first solutions: each brings its own events, and a plan has a budget.
      for (const sol of withHistory ? fitted.slice(0, depth === 0 ? 3 : 1) : fitted) {
        if (this.spent++ > PLAN_BUDGET && fallback !== null) return fallback;
        const events: TraceEntry[] = [];
        let st = state;
        if (withHistory) {
          const pre = this.enablers(sol.needs, plan, m, cast, st, time, depth);
          if (pre === null || pre.events.length === 0) continue;
          events.push(...pre.events);
          st = pre.state;
        }
        const e = this.materialize(m, sol, base, time);
        const r = this.run(st, e);
        events.push(e);
        const placed = { events, state: r.state };
        if (this.acceptable(m, r.decision)) return placed;
        fallback ??= placed;
      }
    }
    return fallback;
  }

  /** Decides (or observes) one event. */
  private run(state: PolicyState, e: TraceEntry): { state: PolicyState; decision: Decision | null } {
    if ("signal" in e) return { state: observe(this.policy, state, e).state, decision: null };
    const r = this.policy.decide(state, e);
    return { state: r.state, decision: r.decision };
  }

  /** Whether a decision is what the move was for. */
  private acceptable(m: Move, d: Decision | null): boolean {
    if (d === null) return true;
    switch (m.intent.t) {
      case "allowed":
        return d.effect === "allow";
      case "denied":
        return d.effect === "deny" || d.effect === "challenge";
      case "signal":
        return true;
      case "rule": {
        const focus = m.intent.rule.id;
        if (d.reasons.some((r) => r.code === "R307")) return false;
        if (d.rules.some((r) => r !== focus && !isProbe(r) && this.effects.get(r) !== "allow")) return false;
        return !(m.intent.rule.effect !== "allow" && d.rules.length === 0 && d.reasons.some((r) => r.code === "R313"));
      }
    }
  }

  /** Events that meet a solution's history needs (operators the plan does not set itself), placed at `time`. */
  private enablers(needs: readonly Need[], plan: Plan, m: Move, cast: Cast, state: PolicyState, time: number, depth: number): { events: TraceEntry[]; state: PolicyState } | null {
    const events: TraceEntry[] = [];
    let st = state;
    for (const need of needs) {
      const target = this.readingOf(need, m.name);
      if (target === null || plan.ops.has(target.op) || (target.reading.label !== undefined && plan.labels.has(target.reading.label))) continue;
      const choices = enableOperator(this.ir.ops[target.op]!, target.reading, this);
      if (choices === null) continue;
      for (const c of choices) {
        const placed = this.place({ name: c.name, signal: c.signal, intent: c.intent, gap: 0, actor: m.actor }, plan, cast, st, time, depth + 1);
        if (placed === null) continue;
        events.push(...placed.events);
        st = placed.state;
      }
    }
    return { events, state: st };
  }

  /** The operator a need is about and the reading it must have, for the event named `action`. */
  private readingOf(need: Need, action: string): { op: number; reading: Reading } | null {
    const e = need.expr;
    if (e.t === "op") return { op: e.op, reading: { want: need.want, action } };
    if (e.t === "label") return { op: e.op, reading: { want: need.want, label: e.label, action } };
    const t = thresholdOf(e);
    return t === null ? null : { op: t.op, reading: { want: need.want, threshold: t.threshold, action } };
  }

  /**
   * The solutions an event may take: the focus rule's (or an allow rule's) with every other rule
   * that would deny, challenge or revoke it kept from matching where the values allow it.
   */
  private goals(m: Move): Solution[] {
    const key = `${m.signal ? "signal" : "request"}|${m.name}|${m.intent.t}`;
    if (m.intent.t === "rule") {
      let byName = this.ruleGoalCache.get(m.intent.solutions);
      if (!byName) this.ruleGoalCache.set(m.intent.solutions, (byName = new Map()));
      let hit = byName.get(key);
      if (!hit) byName.set(key, (hit = this.solveGoals(m)));
      return hit;
    }
    let hit = this.goalCache.get(key);
    if (!hit) this.goalCache.set(key, (hit = this.solveGoals(m)));
    return hit;
  }

  private solveGoals(m: Move): Solution[] {
    const cands = this.solver.candidates(m.name, m.signal).filter((r) => !isProbe(r.id) || r.id === (m.intent.t === "rule" ? m.intent.rule.id : ""));
    const focus = m.intent.t === "rule" ? m.intent.rule : null;
    let acc: Solution[] = focus ? [...(m.intent as Extract<Intent, { t: "rule" }>).solutions] : [{ assign: new Map(), needs: [] }];
    const allows = cands.filter((r) => r.effect === "allow" && this.solver.reaches(r, m.name));
    if (!m.signal && m.intent.t !== "denied" && m.intent.t !== "signal" && (focus === null || focus.effect !== "allow")) {
      const granted = crossSolutions(acc, allows.flatMap((a) => this.solver.rule(a, true, m.name)).slice(0, 6));
      if (granted.length > 0) acc = granted;
    }
    if (m.intent.t === "denied") {
      for (const a of allows) {
        const next = crossSolutions(acc, this.solver.rule(a, false, m.name));
        if (next.length > 0) acc = next;
      }
    }
    for (const r of cands) {
      if (r === focus || r.effect === "allow" || r.effect === "flag") continue;
      const next = crossSolutions(acc, this.solver.rule(r, false, m.name, m.signal));
      if (next.length > 0) acc = next;
    }
    return acc;
  }

  /** The request or signal of a move: the solution's values over the actor's. */
  private materialize(m: Move, sol: Solution, base: ReadonlyMap<string, Slot>, time: number): TraceEntry {
    const values = new Map<string, Slot>(base);
    for (const [k, v] of sol.assign) values.set(k, v);
    for (const [k, v] of m.vary ?? []) values.set(k, v);
    const principal: Record<string, unknown> = {};
    const resource: Record<string, unknown> = {};
    const context: Record<string, unknown> = {};
    for (const [path, slot] of values) {
      if (slot === ABSENT) continue;
      const v = slot === PRESENT ? "v1" : slot;
      const [root, ...segments] = path.split(".");
      const target = root === "principal" ? principal : root === "resource" ? resource : root === "context" ? context : null;
      if (target === null || segments.length === 0) continue;
      setPath(target, segments, v);
    }
    const session = `s${m.actor.session + 1}`;
    const parts: Record<string, unknown> = m.signal ? { signal: m.name } : { action: m.name };
    parts.principal = { ...principal, kind: String(principal.kind), id: String(principal.id) };
    if (Object.keys(resource).length > 0) parts.resource = resource;
    if (Object.keys(context).length > 0) parts.context = context;
    parts.session = session;
    parts.time = time;
    return parts as unknown as TraceEntry;
  }
}

/** The paths every event of a plan keyed by `key` must share with its actor. */
function hardPaths(key: KeyIR | null): ReadonlySet<string> {
  if (key === null || key.kind === "session") return new Set();
  if (key.kind === "principal") return new Set(["principal.kind", "principal.id"]);
  return new Set([key.text]);
}

/** A solution over the actor's values: the key's paths are the actor's when they can be; the rest the solution's. */
function fit(s: Solution, base: ReadonlyMap<string, Slot>, hard: ReadonlySet<string>): Solution {
  if (hard.size === 0) return s;
  const forced = new Map<string, Slot>();
  for (const p of hard) {
    const v = base.get(p);
    if (v !== undefined) forced.set(p, v);
  }
  return mergeSolutions(s, { assign: forced, needs: [] }) ?? s;
}

/** The top-level conjuncts of a condition (its `when`/`unless` clauses, and `and`s within them). */
export function conjuncts(e: ExprIR | null): ExprIR[] {
  if (e === null) return [];
  if (e.t === "and") return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e];
}

function setPath(o: Record<string, unknown>, segments: readonly string[], v: VocabularyValue): void {
  let cur = o;
  for (let i = 0; i < segments.length - 1; i++) {
    const k = segments[i]!;
    const next = Object.prototype.hasOwnProperty.call(cur, k) ? cur[k] : undefined;
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[segments[segments.length - 1]!] = Array.isArray(v) ? [...v] : v;
}

/* ---- mixing directed traces ------------------------------------------------------------------ */

/** Options for `arbDirectedTrace`. */
export interface DirectedTraceOptions {
  /** Most directed traces mixed into one (default 3). */
  readonly maxParts?: number;
  /** Most extra random events added between them (default 4). */
  readonly maxNoise?: number;
  /** Rules whose directed traces are drawn more often (a claim's probe, say). */
  readonly prefer?: readonly string[];
}

/**
 * Random mixtures of a policy's directed traces: up to `maxParts` of them, each moved onto its own
 * sessions, principals and key values (`s3`, `p3`, `k3`...), laid one after another or over each
 * other in time, with a few random requests and signals between them. Signals that a `revoke signal`
 * or label rule reacts to are drawn rarely and mostly on a session of their own, so one of them
 * never silences the rest of the trace. Shrinks towards a single directed trace.
 */
export function arbDirectedTrace(policy: Policy, options: DirectedTraceOptions = {}): fc.Arbitrary<TraceEntry[]> {
  const traces = directedTraces(policy);
  const v = vocabularyOf(policy);
  if (traces.length === 0) return fc.array(arbRequest(v), { minLength: 1, maxLength: 4 }).map((rs) => rs.map((r, i) => ({ ...r, time: i * SECOND })));
  const preferred = options.prefer ? traces.map((t, i) => (t.rules.some((r) => options.prefer!.includes(r)) ? i : -1)).filter((i) => i >= 0) : [];
  const index = preferred.length > 0 ? fc.oneof(fc.constantFrom(...preferred), fc.nat(traces.length - 1)) : fc.nat(traces.length - 1);
  const startGap = fc.constantFrom(0, 1, SECOND, ...v.durations, ...v.durations.map((d) => d - 1).filter((d) => d > 0));
  const part = fc.record({ index, gap: startGap, overlap: fc.boolean() });
  const revoking = new Set(policy.ir.rules.filter((r) => (r.effect === "revoke" || r.labels.length > 0) && r.signals.length > 0).flatMap((r) => v.signals.filter((s) => r.signals.some((p) => actionPatternMatches(p, s)))));
  const quiet = v.signals.filter((s) => !revoking.has(s));
  const noiseSignal = fc.oneof(
    { weight: 6, arbitrary: quiet.length > 0 ? arbSignal({ ...v, signals: quiet }) : arbSignal(v) },
    { weight: 1, arbitrary: arbSignal(v).map((s) => ({ ...s, session: revoking.has(s.signal) ? "s99" : s.session })) },
  );
  const noiseEvent = v.signals.length > 0 ? fc.oneof({ weight: 3, arbitrary: arbRequest(v) as fc.Arbitrary<TraceEntry> }, { weight: 1, arbitrary: noiseSignal as fc.Arbitrary<TraceEntry> }) : (arbRequest(v) as fc.Arbitrary<TraceEntry>);
  const noise = fc.record({ at: fc.nat(1000), event: noiseEvent });
  return fc
    .tuple(fc.array(part, { minLength: 1, maxLength: options.maxParts ?? 3 }), fc.array(noise, { maxLength: options.maxNoise ?? 4 }))
    .map(([parts, extra]) => {
      const placed: TraceEntry[] = [];
      let end = 0;
      parts.forEach((p, i) => {
        const t = traces[p.index]!.trace;
        const start = i === 0 ? 0 : p.overlap ? 0 : end + p.gap;
        for (const e of renumber(t, i * 2)) placed.push({ ...e, time: e.time + start } as TraceEntry);
        end = Math.max(end, ...placed.map((e) => e.time));
      });
      for (const n of extra) placed.push({ ...n.event, time: Math.round((n.at / 1000) * end) } as TraceEntry);
      // Stable by time: each directed trace keeps its own order.
      return placed.map((e, i) => ({ e, i })).sort((a, b) => a.e.time - b.e.time || a.i - b.i).map((x) => x.e);
    });
}

const GENERATED = /^([spk])(\d+)$/;

/** Moves a trace onto other generated sessions, principal ids and key values (`s1` -> `s3` for offset 2). */
export function renumber(trace: readonly TraceEntry[], offset: number): TraceEntry[] {
  if (offset === 0) return [...trace];
  const shift = (v: unknown, letter: string): unknown => {
    if (typeof v !== "string") return v;
    const m = GENERATED.exec(v);
    return m && m[1] === letter ? `${letter}${Number(m[2]) + offset}` : v;
  };
  const values = (o: unknown): unknown => {
    if (o === null || typeof o !== "object" || Array.isArray(o)) return shift(o, "k");
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, values(x)]));
  };
  return trace.map((e) => {
    const x = { ...(e as unknown as Record<string, unknown>) };
    if (typeof x.session === "string") x.session = shift(x.session, "s");
    if (x.principal && typeof x.principal === "object") {
      const p = values(x.principal) as Record<string, unknown>;
      p.id = shift((x.principal as Record<string, unknown>).id, "p");
      p.kind = (x.principal as Record<string, unknown>).kind;
      x.principal = p;
    }
    if (x.context && typeof x.context === "object") x.context = values(x.context);
    if (x.resource && typeof x.resource === "object") x.resource = values(x.resource);
    return x as unknown as TraceEntry;
  });
}
