import type { CompareOp } from "../ast/nodes.js";
import type { EventSelIR, ExprIR, KeyIR, OpIR, PolicyIR, RuleIR, WorkflowIR } from "../compile/ir.js";
import { actionPatternMatches } from "../runtime/glob.js";
import { isCoverageProbe, isProbe } from "./probes.js";
import type { Solution, Solver } from "./solve.js";
import type { Vocabulary } from "./vocabulary.js";

/**
 * Directed plans: for every history operator, limit, grant, label and rule of a policy, short
 * scenarios that reach it and straddle its edges — N−1, N and N+1 events around a threshold, the
 * last event 1 ms inside and exactly at a window's end, the same events by another session or
 * principal. A plan names events by what they must do (be allowed, be denied, let a rule decide);
 * `directed.ts` turns it into concrete requests with the solver and checks each step on the policy.
 *
 * Every operator is one entry of `OPERATORS`: its sites (plans for a rule that reads it) and how to
 * give it a reading from an empty history (`enable`, used to meet the history a request needs).
 */

/** Which of a plan's actors does an event: actor 0 is the plan's subject; others differ in one key. */
export interface ActorRef {
  /** Session number (0: the subject's). */
  readonly session: number;
  /** Principal number (0: the subject's). */
  readonly principal: number;
  /** Value number for attribute keys (`context.ip`); 0: the subject's. */
  readonly value: number;
}

/** The subject of a plan: its own session, principal and key values. */
export const SUBJECT: ActorRef = { session: 0, principal: 0, value: 0 };

/** What an event of a plan must be. */
export type Intent =
  /** A request some allow rule grants (it then "happened" for histories). */
  | { readonly t: "allowed" }
  /** A request that is denied (or challenged), never revoking. */
  | { readonly t: "denied" }
  /** An observed signal. */
  | { readonly t: "signal" }
  /** A request (or signal) for `rule` with one of `solutions` holding; the other rules out of the way. */
  | { readonly t: "rule"; readonly rule: RuleIR; readonly solutions: readonly Solution[] };

/** One event of a plan. */
export interface Move {
  readonly name: string;
  readonly signal: boolean;
  readonly intent: Intent;
  /** ms after the previous event (the first event is at 0). */
  readonly gap: number;
  readonly actor: ActorRef;
  /** Attribute values this event takes whatever the solution says (distinct values: `context.customer = d2`). */
  readonly vary?: ReadonlyMap<string, string>;
}

/** A scenario: its events, the operators it is about (their readings are left to the events) and a label. */
export interface Plan {
  readonly site: string;
  readonly moves: readonly Move[];
  /** Operators whose readings the plan sets by its events: needs on them are not met by enablers. */
  readonly ops: ReadonlySet<number>;
  /** Labels the plan sets itself. */
  readonly labels: ReadonlySet<number>;
  /** Rules the plan is about (a claim's probe rule first among a claim's plans). */
  readonly rules: readonly string[];
  /** The key the plan's histories are partitioned by (actor 0 keeps it; variants change it). */
  readonly key: KeyIR | null;
}

/** A comparison of an operator's value with a constant, `op CMP n`, the operator on the left. */
export interface Threshold {
  readonly cmp: CompareOp;
  readonly n: number;
}

/** A rule that reads an operator, with the constants it compares the operator with. */
export interface Reader {
  readonly rule: RuleIR;
  readonly thresholds: readonly Threshold[];
}

/**
 * The reading an enabler must give an operator: a boolean, or a comparison to hold or fail; `label`
 * for session labels; `action` is the event that needs it (a workflow's next step depends on it).
 */
export type Reading = { readonly want: boolean; readonly threshold?: Threshold; readonly label?: number; readonly action?: string };

/** What the operator entries build plans from. */
export interface PlanKit {
  readonly ir: PolicyIR;
  readonly vocabulary: Vocabulary;
  readonly solver: Solver;
  /** Concrete events an event selector matches: a signal, an allowed request or a denied one (none for null). */
  events(sel: EventSelIR | null, limit?: number): EventChoice[];
  /** The request of a reader rule, with its conditions other than history holding. */
  final(rule: RuleIR, gap: number, actor?: ActorRef): Move | null;
  /** `k` copies of an event, `spacing` ms apart, the first `gap` after the previous event. */
  repeat(e: EventChoice, k: number, gap: number, spacing: number, actor?: ActorRef): Move[];
  /** Actors that share the key with the subject in every dimension but one (other session, principal, value). */
  others(key: KeyIR | null): ActorRef[];
}

/** An event to generate: its name, whether it is a signal, and what it must do. */
export interface EventChoice {
  readonly name: string;
  readonly signal: boolean;
  readonly intent: Intent;
}

/** A plan for one operator read by one rule; null entries (a final that cannot be built) are dropped. */
type Sites<O extends OpIR> = (op: O, reader: Reader, kit: PlanKit) => (readonly (Move | null)[] | null)[];

/** Events that give an operator a reading from an empty history; [] when it has it already, null when unknown. */
type Enable<O extends OpIR> = (op: O, reading: Reading, kit: PlanKit) => EventChoice[] | null;

interface OperatorEntry<O extends OpIR> {
  readonly sites: Sites<O>;
  readonly enable: Enable<O>;
}

type Table = { readonly [K in OpIR["op"]]: OperatorEntry<Extract<OpIR, { op: K }>> };

const SECOND = 1000;
/** What `distinct(P by K)` without `of X` counts: every event that happened. */
const EVERYTHING: EventSelIR = { filter: "happened", patterns: [["*"]] };

/** Gaps that straddle a window `w`: 1 ms inside its end, at its end. */
function edges(w: number | null): number[] {
  return w === null ? [SECOND] : [...new Set([w - 1, w].filter((g) => g >= 0))];
}

/** The values of `k` worth trying around each threshold (N−1, N, N+1), within the register bound. */
function around(thresholds: readonly Threshold[], fallback: number): number[] {
  const ns = thresholds.length > 0 ? thresholds.map((t) => t.n) : [fallback];
  const out = new Set<number>();
  for (const n of ns) for (const k of [Math.floor(n) - 1, Math.floor(n), Math.floor(n) + 1]) if (k >= 0 && k <= 64) out.add(k);
  return [...out].sort((a, b) => a - b);
}

/** Whether `k` events make `count CMP n` hold. */
function holds(k: number, t: Threshold): boolean {
  switch (t.cmp) {
    case "<":
      return k < t.n;
    case "<=":
      return k <= t.n;
    case ">":
      return k > t.n;
    case ">=":
      return k >= t.n;
    case "==":
      return k === t.n;
    case "!=":
      return k !== t.n;
  }
}

/** The fewest events (from none up) that give `count CMP n` the wanted value, or null. */
function fewest(reading: Reading, max = 64): number | null {
  const t = reading.threshold;
  if (t === undefined) return reading.want ? 1 : 0;
  for (let k = 0; k <= max; k++) if (holds(k, t) === reading.want) return k;
  return null;
}

/** `k` events of the same choice at one time. */
function burst(e: EventChoice, k: number): EventChoice[] {
  return Array.from({ length: k }, () => e);
}

const after: OperatorEntry<Extract<OpIR, { op: "after" }>> = {
  sites: (op, reader, kit) => {
    const xs = kit.events(op.events, 2);
    const plans: (readonly (Move | null)[] | null)[] = [[kit.final(reader.rule, 0)]];
    for (const x of xs) {
      plans.push([...kit.repeat(x, 1, 0, 0), kit.final(reader.rule, SECOND)]);
      for (const g of edges(op.window)) plans.push([...kit.repeat(x, 1, 0, 0), kit.final(reader.rule, g)]);
      for (const z of kit.events(op.until, 1)) {
        plans.push([...kit.repeat(x, 1, 0, 0), ...kit.repeat(z, 1, SECOND, 0), kit.final(reader.rule, SECOND)]);
        plans.push([...kit.repeat(z, 1, 0, 0), ...kit.repeat(x, 1, SECOND, 0), kit.final(reader.rule, SECOND)]);
      }
      for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...kit.repeat(x, 1, 0, 0, other), kit.final(reader.rule, SECOND)]);
    }
    return plans;
  },
  enable: (op, reading, kit) => (reading.want ? kit.events(op.events, 1).slice(0, 1) : []),
};

/** `since` and `gap`: one or two events, the request at each threshold −1, +0 and +1 ms after. */
function sinceLike(op: Extract<OpIR, { op: "since" | "gap" }>, reader: Reader, kit: PlanKit): (readonly (Move | null)[] | null)[] {
  const plans: (readonly (Move | null)[] | null)[] = [[kit.final(reader.rule, 0)]];
  const gaps = new Set<number>([SECOND]);
  for (const t of reader.thresholds) for (const g of [t.n - 1, t.n, t.n + 1]) if (g >= 0) gaps.add(g);
  for (const x of kit.events(op.events, 2)) {
    for (const g of gaps) {
      plans.push([...kit.repeat(x, 1, 0, 0), kit.final(reader.rule, g)]);
      if (op.op === "gap") plans.push([...kit.repeat(x, 2, 0, g), kit.final(reader.rule, SECOND)]);
    }
    for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...kit.repeat(x, 2, 0, 0, other), kit.final(reader.rule, 0)]);
  }
  return plans;
}

function enableSinceLike(op: Extract<OpIR, { op: "since" | "gap" }>, reading: Reading, kit: PlanKit): EventChoice[] | null {
  // An empty history reads as infinitely long ago; one or two events just now read as 0.
  const t = reading.threshold;
  if (t === undefined) return null;
  const infinite = holds(Number.POSITIVE_INFINITY, t) === reading.want;
  if (infinite) return [];
  const x = kit.events(op.events, 1)[0];
  return x === undefined ? null : burst(x, op.op === "gap" ? 2 : 1);
}

const count: OperatorEntry<Extract<OpIR, { op: "count" }>> = {
  sites: (op, reader, kit) => {
    const plans: (readonly (Move | null)[] | null)[] = [];
    for (const x of kit.events(op.events, 2)) {
      for (const k of around(reader.thresholds, op.capacity - 1)) plans.push([...kit.repeat(x, k, 0, 0), kit.final(reader.rule, k === 0 ? 0 : SECOND)]);
      // k events 1 ms apart, the request 1 ms inside and at the end of the first one's window.
      for (const k of around(reader.thresholds, op.capacity - 1).filter((k) => k > 0))
        for (const g of edges(op.window)) if (g - (k - 1) >= 0) plans.push([...kit.repeat(x, k, 0, 1), kit.final(reader.rule, g - (k - 1))]);
      const n = Math.max(1, ...reader.thresholds.map((t) => Math.ceil(t.n)));
      for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...kit.repeat(x, n, 0, 0, other), kit.final(reader.rule, SECOND)]);
    }
    return plans;
  },
  enable: (op, reading, kit) => {
    const k = fewest(reading, op.capacity + 1);
    const x = kit.events(op.events, 1)[0];
    return k === null || (k > 0 && x === undefined) ? null : burst(x!, k);
  },
};

const distinct: OperatorEntry<Extract<OpIR, { op: "distinct" }>> = {
  sites: (op, reader, kit) => {
    const plans: (readonly (Move | null)[] | null)[] = [];
    const ks = around(reader.thresholds, op.capacity - 1).filter((k) => k > 0);
    for (const k of ks) {
      const xs = distinctEvents(op, k, kit);
      if (xs === null) continue;
      plans.push([...xs, kit.final(reader.rule, SECOND)]);
      for (const g of edges(op.window)) if (g - (k - 1) >= 0) plans.push([...xs.map((m, i) => ({ ...m, gap: i === 0 ? 0 : 1 })), kit.final(reader.rule, g - (k - 1))]);
      // The same value k times counts once.
      plans.push([...xs.map((m) => ({ ...m, vary: xs[0]!.vary })), kit.final(reader.rule, SECOND)]);
      for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...xs.map((m) => ({ ...m, actor: other })), kit.final(reader.rule, SECOND)]);
    }
    return plans;
  },
  enable: (op, reading, kit) => {
    const k = fewest(reading, op.capacity + 1);
    if (k === null) return null;
    const xs = distinctEvents(op, k, kit);
    return xs === null ? null : xs.map((m) => ({ name: m.name, signal: m.signal, intent: m.intent }));
  },
};

/** `k` events with `k` different values of the operator's attribute (different domains for `action.domain`). */
function distinctEvents(op: Extract<OpIR, { op: "distinct" }>, k: number, kit: PlanKit): Move[] | null {
  const a = op.attribute;
  if (a.root === "action") {
    const choices = kit.events(op.events ?? EVERYTHING, 64);
    const byDomain = new Map<string, EventChoice>();
    for (const c of choices) {
      const d = a.segments[0] === "domain" ? c.name.split(".")[0]! : c.name;
      if (!byDomain.has(d)) byDomain.set(d, c);
    }
    const picked = [...byDomain.values()].slice(0, k);
    if (picked.length < k) return null;
    return picked.map((c, i) => ({ name: c.name, signal: c.signal, intent: c.intent, gap: i === 0 ? 0 : SECOND, actor: SUBJECT }));
  }
  const x = kit.events(op.events ?? EVERYTHING, 1)[0];
  if (x === undefined) return null;
  return Array.from({ length: k }, (_, i) => ({ name: x.name, signal: x.signal, intent: x.intent, gap: i === 0 ? 0 : SECOND, actor: SUBJECT, vary: new Map([[a.text, `d${i + 1}`]]) }));
}

const rate: OperatorEntry<Extract<OpIR, { op: "rate" }>> = {
  sites: (op, reader, kit) => {
    const plans: (readonly (Move | null)[] | null)[] = [];
    const interval = Math.max(1, Math.round(op.per / op.limit));
    for (const x of kit.events(op.events, 2)) {
      for (const k of [op.limit - 1, op.limit, op.limit + 1]) if (k >= 0 && k <= 64) plans.push([...kit.repeat(x, k, 0, 0), kit.final(reader.rule, 0)]);
      for (const g of [interval - 1, interval]) plans.push([...kit.repeat(x, op.limit, 0, 0), kit.final(reader.rule, g)]);
      plans.push([...kit.repeat(x, op.limit + 1, 0, interval), kit.final(reader.rule, interval)]);
      for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...kit.repeat(x, op.limit + 1, 0, 0, other), kit.final(reader.rule, 0)]);
    }
    return plans;
  },
  enable: (op, reading, kit) => {
    const x = kit.events(op.events, 1)[0];
    return !reading.want ? [] : x === undefined ? null : burst(x, op.limit);
  },
};

const regularity: OperatorEntry<Extract<OpIR, { op: "regularity" }>> = {
  sites: (op, reader, kit) => {
    const plans: (readonly (Move | null)[] | null)[] = [];
    const n = op.samples + 1;
    for (const x of kit.events(op.events, 2)) {
      plans.push([...kit.repeat(x, n, 0, SECOND), kit.final(reader.rule, SECOND)]);
      plans.push([...kit.repeat(x, n - 1, 0, SECOND), kit.final(reader.rule, SECOND)]);
      // Gaps alternating one and three seconds: far from regular.
      plans.push([...kit.repeat(x, n, 0, SECOND).map((m, i) => ({ ...m, gap: i === 0 ? 0 : i % 2 === 0 ? 3 * SECOND : SECOND })), kit.final(reader.rule, 3 * SECOND)]);
      for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...kit.repeat(x, n, 0, SECOND, other), kit.final(reader.rule, SECOND)]);
    }
    return plans;
  },
  enable: (op, reading, kit) => {
    const x = kit.events(op.events, 1)[0];
    if (x === undefined) return null;
    // A comparison with an absent value is false: no events give every comparison false.
    return reading.want ? burst(x, op.samples + 1) : [];
  },
};

const sequence: OperatorEntry<Extract<OpIR, { op: "sequence" }>> = {
  sites: (op, reader, kit) => {
    const stages = op.stages.map((s) => kit.events(s, 1)[0]);
    if (stages.some((s) => s === undefined)) return [];
    const xs = stages as EventChoice[];
    const one = (gap: number) => xs.flatMap((x, i) => kit.repeat(x, 1, i === 0 ? 0 : gap, 0));
    const plans: (readonly (Move | null)[] | null)[] = [
      [kit.final(reader.rule, 0)],
      [...one(SECOND), kit.final(reader.rule, SECOND)],
      [...[...xs].reverse().flatMap((x, i) => kit.repeat(x, 1, i === 0 ? 0 : SECOND, 0)), kit.final(reader.rule, SECOND)],
      [...xs.slice(0, -1).flatMap((x, i) => kit.repeat(x, 1, i === 0 ? 0 : SECOND, 0)), kit.final(reader.rule, SECOND)],
    ];
    // Stages 1 ms apart, the request 1 ms inside and at the end of the first stage's window.
    for (const g of edges(op.window)) if (g - (xs.length - 1) >= 0) plans.push([...one(1), kit.final(reader.rule, g - (xs.length - 1))]);
    for (const z of kit.events(op.until, 1)) plans.push([...kit.repeat(xs[0]!, 1, 0, 0), ...kit.repeat(z, 1, SECOND, 0), ...xs.slice(1).flatMap((x) => kit.repeat(x, 1, SECOND, 0)), kit.final(reader.rule, SECOND)]);
    for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...xs.flatMap((x, i) => kit.repeat(x, 1, i === 0 ? 0 : SECOND, 0, other)), kit.final(reader.rule, SECOND)]);
    return plans;
  },
  enable: (op, reading, kit) => {
    if (!reading.want) return [];
    const xs = op.stages.map((s) => kit.events(s, 1)[0]);
    return xs.some((x) => x === undefined) ? null : (xs as EventChoice[]);
  },
};

const workflow: OperatorEntry<Extract<OpIR, { op: "workflow" }>> = {
  sites: (op, reader, kit) => {
    const w = kit.ir.workflows[op.workflow]!;
    const finals = readerNames(reader.rule, kit.vocabulary, 4).filter((n) => w.positions.some((ps) => ps.some((p) => actionPatternMatches(p, n))));
    const plans: (readonly (Move | null)[] | null)[] = [];
    for (const path of workflowPaths(w, 8))
      for (const name of finals) {
        const steps = path.map((pos, i) => ({ name: stepName(w, pos), signal: false, intent: { t: "allowed" } as Intent, gap: i === 0 ? 0 : SECOND, actor: SUBJECT }));
        const f = kit.final(reader.rule, path.length === 0 ? 0 : SECOND);
        plans.push([...steps, f === null ? null : { ...f, name }]);
      }
    for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) {
      const path = workflowPaths(w, 2)[1] ?? [];
      plans.push([...path.map((pos, i) => ({ name: stepName(w, pos), signal: false, intent: { t: "allowed" } as Intent, gap: i === 0 ? 0 : SECOND, actor: other })), kit.final(reader.rule, SECOND)]);
    }
    return plans;
  },
  enable: (op, reading, kit) => {
    // Not deviating on the next action needs the shortest run after which that action may follow.
    if (reading.want) return [];
    const w = kit.ir.workflows[op.workflow]!;
    const names = (mask: number) => w.positions.filter((_, p) => mask & (1 << p)).flat();
    const leads = (path: readonly number[]) => reading.action === undefined || names(path.length === 0 ? w.first : w.follow[path[path.length - 1]!]!).some((p) => actionPatternMatches(p, reading.action!));
    const path = workflowPaths(w, 64).find(leads);
    return path === undefined ? null : path.map((pos) => ({ name: stepName(w, pos), signal: false, intent: { t: "allowed" } }));
  },
};

/** Runs of a workflow from its start: position lists, shortest first (the empty run included). */
function workflowPaths(w: WorkflowIR, max: number): number[][] {
  const out: number[][] = [[]];
  let frontier: number[][] = [[]];
  for (let depth = 0; depth <= w.positions.length && out.length < max; depth++) {
    const next: number[][] = [];
    for (const path of frontier) {
      const mask = path.length === 0 ? w.first : w.follow[path[path.length - 1]!]!;
      for (let p = 0; p < w.positions.length; p++) if (mask & (1 << p)) next.push([...path, p]);
    }
    for (const p of next) if (out.length < max) out.push(p);
    frontier = next;
  }
  return out;
}

function stepName(w: WorkflowIR, pos: number): string {
  return instantiate(w.positions[pos]![0]!);
}

const limit: OperatorEntry<Extract<OpIR, { op: "limit" }>> = {
  sites: (op, _reader, kit) => {
    const rule = kit.ir.rules[op.rule]!;
    const use = (gap: number, actor?: ActorRef) => kit.final(rule, gap, actor);
    const uses = (k: number, spacing: number, actor?: ActorRef) => Array.from({ length: k }, (_, i) => use(i === 0 ? 0 : spacing, actor));
    const plans: (readonly (Move | null)[] | null)[] = [];
    for (const k of [op.count - 1, op.count, op.count + 1]) if (k >= 0 && k <= 64) plans.push([...uses(k, 0), use(k === 0 ? 0 : SECOND)]);
    if (op.window !== null) for (const g of edges(op.window)) if (g - (op.count - 1) >= 0) plans.push([...uses(op.count, 1), use(g - (op.count - 1))]);
    for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([...uses(op.count, 0, other), use(SECOND)]);
    return plans;
  },
  enable: () => [],
};

/**
 * `limit N distinct ATTR`: the uses a `limit N` would have (N - 1, N and N + 1 of them, straddling
 * its window, on other keys); the vocabulary gives ATTR N + 1 values, so the uses meet the same
 * value again and new ones.
 */
const distinctLimit: OperatorEntry<Extract<OpIR, { op: "distinctLimit" }>> = {
  sites: (op, reader, kit) => limit.sites({ ...op, op: "limit" }, reader, kit),
  enable: () => [],
};

const grant: OperatorEntry<Extract<OpIR, { op: "grant" }>> = {
  sites: (op, _reader, kit) => {
    const rule = kit.ir.rules[op.rule]!;
    const plans: (readonly (Move | null)[] | null)[] = [];
    for (const g of edges(op.duration)) plans.push([kit.final(rule, 0), kit.final(rule, g)]);
    for (const other of kit.others(kit.ir.keyGroups[op.group]!.key)) plans.push([kit.final(rule, 0, other), kit.final(rule, op.duration)]);
    return plans;
  },
  enable: () => [],
};

const labels: OperatorEntry<Extract<OpIR, { op: "labels" }>> = {
  sites: (_op, reader, kit) => {
    const plans: (readonly (Move | null)[] | null)[] = [[kit.final(reader.rule, 0)]];
    for (const label of labelsRead(reader.rule.condition))
      for (const setter of kit.ir.rules.filter((r) => !isProbe(r.id) && r.labels.some((l) => l.label === label))) {
        const duration = setter.labels.find((l) => l.label === label)!.duration;
        const set = (actor?: ActorRef) => kit.final(setter, 0, actor);
        plans.push([set(), kit.final(reader.rule, SECOND)]);
        for (const g of edges(duration)) if (duration !== null) plans.push([set(), kit.final(reader.rule, g)]);
        for (const other of kit.others({ kind: "session" })) plans.push([set(other), kit.final(reader.rule, SECOND)]);
      }
    return plans;
  },
  enable: (_op, reading, kit) => {
    if (!reading.want || reading.label === undefined) return [];
    const setter = kit.ir.rules.find((r) => !isProbe(r.id) && r.labels.some((l) => l.label === reading.label));
    if (setter === undefined) return null;
    const f = kit.final(setter, 0);
    return f === null ? null : [{ name: f.name, signal: f.signal, intent: f.intent }];
  },
};

/** The entry of every operator: its sites and its enabler. A new operator is one more entry here. */
export const OPERATORS: Table = {
  after,
  since: { sites: sinceLike, enable: enableSinceLike },
  gap: { sites: sinceLike, enable: enableSinceLike },
  count,
  distinct,
  rate,
  regularity,
  sequence,
  workflow,
  limit,
  distinctLimit,
  grant,
  labels,
};

/** Sites of one operator for one reader, as lists of moves (an entry that could not be built is dropped). */
export function operatorSites(op: OpIR, reader: Reader, kit: PlanKit): Move[][] {
  const entry = OPERATORS[op.op] as OperatorEntry<OpIR>;
  return entry.sites(op, reader, kit).flatMap((plan) => (plan === null || plan.some((m) => m === null) ? [] : [plan as Move[]]));
}

/** Events that give `op` the reading `reading` from an empty history (see `OPERATORS`). */
export function enableOperator(op: OpIR, reading: Reading, kit: PlanKit): EventChoice[] | null {
  return (OPERATORS[op.op] as OperatorEntry<OpIR>).enable(op, reading, kit);
}

/** The labels (`session has L`) a condition reads. */
export function labelsRead(e: ExprIR | null): number[] {
  const out = new Set<number>();
  walk(e, (x) => {
    if (x.t === "label") out.add(x.label);
  });
  return [...out];
}

/** Calls `visit` on every node of a condition. */
export function walk(e: ExprIR | null, visit: (e: ExprIR) => void): void {
  if (e === null) return;
  visit(e);
  switch (e.t) {
    case "and":
    case "or":
      walk(e.left, visit);
      walk(e.right, visit);
      return;
    case "not":
      walk(e.operand, visit);
      return;
    case "cmp":
      walk(e.left, visit);
      walk(e.right, visit);
      return;
    case "in":
      walk(e.element, visit);
      walk(e.collection, visit);
      return;
    case "like":
      walk(e.subject, visit);
      return;
    default:
      return;
  }
}

const FLIP: Readonly<Record<CompareOp, CompareOp>> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=" };

/** `op CMP n` for a comparison of an operator with a number (either side), or null. */
export function thresholdOf(e: ExprIR, op?: number): { op: number; threshold: Threshold } | null {
  if (e.t !== "cmp") return null;
  if (e.left.t === "op" && e.right.t === "lit" && typeof e.right.value === "number" && (op === undefined || e.left.op === op)) return { op: e.left.op, threshold: { cmp: e.op, n: e.right.value } };
  if (e.right.t === "op" && e.left.t === "lit" && typeof e.left.value === "number" && (op === undefined || e.right.op === op)) return { op: e.right.op, threshold: { cmp: FLIP[e.op], n: e.left.value } };
  return null;
}

/** The rules that read each operator (limits and grants: their own rule), with the constants they compare it with. */
export function readersOf(ir: PolicyIR): Map<number, Reader[]> {
  const out = new Map<number, Reader[]>();
  const add = (op: number, rule: RuleIR, t: Threshold | null) => {
    let list = out.get(op);
    if (!list) out.set(op, (list = []));
    let r = list.find((x) => x.rule === rule);
    if (!r) list.push((r = { rule, thresholds: [] }));
    if (t !== null && !r.thresholds.some((x) => x.cmp === t.cmp && x.n === t.n)) (r.thresholds as Threshold[]).push(t);
  };
  for (const rule of ir.rules) {
    if (isCoverageProbe(rule.id)) continue;
    walk(rule.condition, (e) => {
      if (e.t === "op") add(e.op, rule, null);
      if (e.t === "label") add(e.op, rule, null);
      const t = thresholdOf(e);
      if (t) add(t.op, rule, t.threshold);
    });
    if (rule.limit !== null) add(rule.limit, rule, null);
    if (rule.grant !== null) add(rule.grant, rule, null);
  }
  return out;
}

/** Concrete names a rule's targets reach, from the vocabulary (`ticket.*` gives `ticket.read`, ...). */
export function readerNames(rule: RuleIR, v: Vocabulary, max: number): string[] {
  const signal = rule.signals.length > 0 && rule.actions.length === 0;
  const patterns = signal ? rule.signals : rule.actions;
  const pool = signal ? v.signals : v.actions;
  const names = pool.filter((a) => patterns.some((p) => actionPatternMatches(p, a)));
  // Exact targets first: they are what the rule is written for.
  const exact = patterns.filter((p) => !p.includes("*")).map((p) => p.join("."));
  const ordered = [...new Set([...exact, ...names])];
  if (ordered.length === 0) for (const p of patterns) ordered.push(instantiate(p));
  return ordered.slice(0, max);
}

/** `ticket.*` -> `ticket.x`: a concrete name the pattern matches. */
export function instantiate(p: readonly string[]): string {
  return p.map((s) => (s === "*" ? "x" : s)).join(".");
}
