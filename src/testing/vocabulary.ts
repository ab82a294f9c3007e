import type { EventSelIR, ExprIR, OpIR, PathIR, PolicyIR } from "../compile/ir.js";
import type { Policy } from "../runtime/engine.js";

/** A value an attribute may take in a generated request; `MISSING` leaves the attribute out. */
export type VocabularyValue = string | number | boolean | readonly string[];

/** Where an attribute lives and the values worth trying for it. */
export interface AttributePool {
  readonly root: "principal" | "resource" | "context";
  /** Path below the root: `["risk"]` for `context.risk`, `["geo", "country"]` for nested ones. */
  readonly segments: readonly string[];
  /** Candidate values: literals from conditions and their neighbours (`0.89, 0.9, 0.91` for `>= 0.9`). */
  readonly values: readonly VocabularyValue[];
}

/**
 * The words of a policy: everything a random request or trace should draw from so that it reaches
 * the policy's rules and the edges of their conditions and windows. Built by `vocabularyOf`.
 */
export interface Vocabulary {
  /** Concrete action names: declared actions, rule targets (wildcards instantiated), operator events, workflow steps. */
  readonly actions: readonly string[];
  /** Signal names: `signal` targets, operator events that may be signals, `satisfied by` names. */
  readonly signals: readonly string[];
  /** Principal kind and id pairs, from selectors (id globs turned into matching ids) and literals; then other combinations. */
  readonly principals: readonly { readonly kind: string; readonly id: string }[];
  /** How many of `principals`, at the front, are ones the policy's selectors name (drawn more often). */
  readonly namedPrincipals: number;
  /** Resource paths matching (and missing) every resource glob and `like` pattern. */
  readonly resourcePaths: readonly string[];
  /** Attributes read by conditions, selectors and history keys, with values worth trying. */
  readonly attributes: readonly AttributePool[];
  /** Session ids (a small pool, so histories by session get hits). */
  readonly sessions: readonly string[];
  /** Every window and duration in the policy, in ms. */
  readonly durations: readonly number[];
  /** Time gaps between events: 0, w-1, w, w+1 for every duration w, and one second. */
  readonly gaps: readonly number[];
  /** How often an event may repeat in a burst: 1 and the thresholds of counts, limits and rates (and neighbours). */
  readonly repeats: readonly number[];
}

const DEFAULT_KINDS = ["human", "agent", "service"];
const GENERIC_ID = "p1";
const OTHER = "other";

/**
 * Collects a policy's vocabulary from its checked IR (`policy.ir`): actions, signals, principals,
 * resource paths, attribute values (with neighbours of every number compared against), sessions,
 * and time gaps that straddle every window boundary.
 */
export function vocabularyOf(policy: Policy | PolicyIR): Vocabulary {
  const ir: PolicyIR = "ir" in policy ? policy.ir : policy;
  const b = new Builder(ir);
  for (const a of ir.actions) b.declare(a.segments);
  for (const r of ir.rules) {
    for (const p of r.actions) b.declare(p);
    for (const p of r.signals) b.signalPattern(p);
    for (const s of r.principals) {
      b.principalSelector(s.kind, s.id);
      for (const a of s.attributes) b.value("principal", [a.name], a.value, true);
    }
    for (const g of r.resources) b.resourceGlob(g);
    if (r.condition) b.expr(r.condition);
    for (const s of r.obligation?.satisfiedBy ?? []) b.signal(s);
    for (const k of r.revokeTarget?.kind === "compound" ? r.revokeTarget.parts : r.revokeTarget ? [r.revokeTarget] : []) if (k.kind === "path") b.keyPath(k.root, k.segments);
  }
  for (const op of ir.ops) b.op(op);
  for (const g of ir.keyGroups) for (const k of g.key.kind === "compound" ? g.key.parts : [g.key]) if (k.kind === "path") b.keyPath(k.root, k.segments);
  for (const w of ir.workflows) for (const pos of [...w.positions, w.scope ?? []]) for (const p of pos) b.declare(p);
  return b.finish();
}

class Builder {
  constructor(readonly ir: PolicyIR) {}
  readonly gaps = new Set<number>();
  readonly actions = new Set<string>();
  readonly signals = new Set<string>();
  readonly kinds = new Set<string>();
  readonly ids = new Set<string>();
  readonly pairs = new Map<string, { kind: string; id: string }>();
  readonly paths = new Set<string>();
  readonly attrs = new Map<string, { root: "principal" | "resource" | "context"; segments: string[]; values: Map<string, VocabularyValue> }>();
  readonly durations = new Set<number>();
  readonly repeats = new Set<number>([1]);
  readonly domains = new Set<string>();
  wildcardDomains = 0;

  actionPattern(p: readonly string[]): void {
    if (p.length === 1 && p[0] === "*") {
      this.wildcardDomains = Math.max(this.wildcardDomains, 1);
      return;
    }
    this.actions.add(instantiate(p));
    this.domains.add(p[0] === "*" ? "x" : p[0]!);
  }

  /** An action named by the actions block, a rule target or a workflow step. */
  declare(p: readonly string[]): void {
    this.actionPattern(p);
    if (!(p.length === 1 && p[0] === "*")) this.declared.add(instantiate(p));
  }

  signalPattern(p: readonly string[]): void {
    this.signals.add(p.length === 1 && p[0] === "*" ? "event.observed" : instantiate(p));
  }

  signal(name: string): void {
    this.signals.add(name);
  }

  events(sel: EventSelIR | null): void {
    if (sel === null) return;
    for (const p of sel.patterns) {
      if (sel.filter === "signal") this.signalPattern(p);
      else {
        this.actionPattern(p);
        // An event that "happened" may be an allowed request or a signal; it is generated as a
        // signal only when no rule or declaration makes it an action (decided in finish).
        if (sel.filter === "happened") this.happened.push(p);
      }
    }
  }

  readonly happened: (readonly string[])[] = [];
  readonly declared = new Set<string>();

  principalSelector(kind: string | null, id: string | null): void {
    if (kind !== null) this.kinds.add(kind);
    if (id !== null) {
      const concrete = id.includes("*") ? id.replaceAll("*", "x") : id;
      this.ids.add(concrete);
      for (const k of kind !== null ? [kind] : DEFAULT_KINDS) this.pairs.set(`${k}/${concrete}`, { kind: k, id: concrete });
    } else if (kind !== null) this.pairs.set(`${kind}/${GENERIC_ID}`, { kind, id: GENERIC_ID });
  }

  resourceGlob(g: string): void {
    this.paths.add(g.replaceAll("*", "x"));
  }

  keyPath(root: string, segments: readonly string[]): void {
    if (root === "action" || segments.length === 0) return;
    if (root === "principal" && segments.length === 1 && (segments[0] === "id" || segments[0] === "kind")) return;
    if (root === "resource" && segments.length === 1 && segments[0] === "path") return;
    const pool = this.pool(root as "principal" | "resource" | "context", segments);
    // Two values are enough for a key: events of one key meet, events of two keys stay apart.
    if (pool.values.size < 2) for (const k of ["k1", "k2"]) pool.values.set(JSON.stringify(k), k);
  }

  pool(root: "principal" | "resource" | "context", segments: readonly string[]) {
    const key = `${root}.${segments.join(".")}`;
    let p = this.attrs.get(key);
    if (!p) {
      p = { root, segments: [...segments], values: new Map() };
      this.attrs.set(key, p);
    }
    return p;
  }

  /** Records a literal a path is compared with; numbers also get their neighbours. */
  value(root: string, segments: readonly string[], v: VocabularyValue, exact = false): void {
    if (root === "action") {
      if (typeof v === "string" && segments[0] === "name") this.actions.add(v);
      if (typeof v === "string" && segments[0] === "domain") this.actions.add(`${v}.act`);
      return;
    }
    if (root === "principal" && segments.length === 1 && segments[0] === "kind") {
      if (typeof v === "string") this.kinds.add(v);
      return;
    }
    if (root === "principal" && segments.length === 1 && segments[0] === "id") {
      if (typeof v === "string") this.ids.add(v);
      return;
    }
    if (root === "resource" && segments.length === 1 && segments[0] === "path") {
      if (typeof v === "string") this.paths.add(v);
      return;
    }
    const pool = this.pool(root as "principal" | "resource" | "context", segments);
    const add = (x: VocabularyValue) => pool.values.set(JSON.stringify(x), x);
    add(v);
    // Values on both sides of every comparison: neighbours of numbers, the other boolean, a string
    // no literal names (a missing attribute is not "another value": it fails closed).
    if (typeof v === "number" && !exact) for (const n of neighbours(v)) add(n);
    if (typeof v === "boolean") add(!v);
    if (typeof v === "string") add(OTHER);
  }

  /** Walks a condition: literals compared with paths, globs, sets, history operators. */
  expr(e: ExprIR): void {
    switch (e.t) {
      case "and":
      case "or":
        this.expr(e.left);
        this.expr(e.right);
        return;
      case "not":
        this.expr(e.operand);
        return;
      case "path":
        // A bare path used as a condition is a boolean.
        this.value(e.path.root, e.path.segments, true);
        this.value(e.path.root, e.path.segments, false);
        return;
      case "cmp": {
        this.comparison(e.left, e.right);
        this.comparison(e.right, e.left);
        for (const side of [e.left, e.right]) if (side.t !== "path") this.expr(side);
        return;
      }
      case "in": {
        const el = e.element;
        const col = e.collection;
        if (el.t === "path" && col.t === "set") for (const v of col.values) this.value(el.path.root, el.path.segments, v, true);
        if (el.t === "path" && col.t === "path") this.sharePools(el.path, col.path, true);
        if (col.t === "path" && el.t === "lit" && typeof el.value === "string") {
          this.value(col.path.root, col.path.segments, [el.value]);
          this.value(col.path.root, col.path.segments, []);
        }
        if (el.t === "op") this.expr(el);
        return;
      }
      case "like":
        if (e.subject.t === "path") {
          this.value(e.subject.path.root, e.subject.path.segments, e.pattern.replaceAll("*", "x"));
          this.value(e.subject.path.root, e.subject.path.segments, "zz");
        }
        return;
      case "has":
        if (e.root !== "action") this.pool(e.root, e.segments);
        return;
      case "op":
      case "lit":
      case "set":
      case "label":
        return;
    }
  }

  /** `path OP literal`, `op OP literal`, `path OP path`. */
  comparison(side: ExprIR, other: ExprIR): void {
    if (side.t === "path" && other.t === "lit") this.value(side.path.root, side.path.segments, other.value);
    if (side.t === "path" && other.t === "path") this.sharePools(side.path, other.path, false);
    if (side.t === "op" && other.t === "lit" && typeof other.value === "number") this.threshold(this.ir.ops[side.op], other.value);
  }

  /** A constant compared with a history value: counts need bursts around it, durations gaps around it. */
  threshold(op: OpIR | undefined, v: number): void {
    if (op === undefined || !Number.isFinite(v)) return;
    if ((op.op === "count" || op.op === "distinct") && Number.isInteger(v)) this.burst(v);
    if (op.op === "since" || op.op === "gap") for (const g of [v - 1, v, v + 1]) if (g >= 0) this.gaps.add(g);
  }

  /** Two paths compared with each other get each other's values, so equality is reachable. */
  sharePools(a: PathIR, b: PathIR, setMember: boolean): void {
    const valuesOf = (p: PathIR): VocabularyValue[] => {
      if (p.root === "principal" && p.segments.join(".") === "id") return [...this.ids, GENERIC_ID];
      if (p.root === "principal" && p.segments.join(".") === "kind") return [...this.kinds];
      return [...(this.attrs.get(p.text)?.values.values() ?? [])];
    };
    const av = valuesOf(a);
    const bv = valuesOf(b);
    for (const v of bv.length > 0 ? bv : ["v1"]) this.value(a.root, a.segments, setMember && Array.isArray(v) ? v[0] ?? "v1" : v);
    for (const v of av.length > 0 ? av : ["v1"]) this.value(b.root, b.segments, setMember && typeof v === "string" ? [v] : v);
  }

  op(op: OpIR): void {
    switch (op.op) {
      case "after":
        this.events(op.events);
        this.events(op.until);
        if (op.window !== null) this.durations.add(op.window);
        return;
      case "since":
      case "gap":
      case "regularity":
        this.events(op.events);
        if (op.op === "regularity") this.burst(op.samples + 1);
        return;
      case "count":
        this.events(op.events);
        this.durations.add(op.window);
        this.burst(op.capacity);
        return;
      case "distinct": {
        this.events(op.events);
        this.durations.add(op.window);
        const need = op.capacity + 1;
        const a = op.attribute;
        if (a.root === "action") this.wildcardDomains = Math.max(this.wildcardDomains, need);
        else if (!(a.root === "principal" && a.segments.join(".") === "id")) for (let i = 1; i <= need; i++) this.value(a.root, a.segments, `d${i}`, true);
        else for (let i = 1; i <= need; i++) this.ids.add(`d${i}`);
        return;
      }
      case "rate":
        this.events(op.events);
        this.durations.add(op.per);
        this.durations.add(Math.max(1, Math.round(op.per / op.limit)));
        this.burst(op.limit + 1);
        return;
      case "sequence":
        for (const s of op.stages) this.events(s);
        this.events(op.until);
        this.durations.add(op.window);
        return;
      case "limit":
        if (op.window !== null) this.durations.add(op.window);
        this.burst(op.count + 1);
        return;
      case "distinctLimit": {
        // Uses of the same value and of N + 1 different ones: both sides of the limit.
        if (op.window !== null) this.durations.add(op.window);
        this.burst(op.count + 1);
        const a = op.attribute;
        if (a.root === "resource" && a.segments.length === 0) for (let i = 1; i <= op.count + 1; i++) this.resourceGlob(`d${i}`);
        else if (a.root !== "action") for (let i = 1; i <= op.count + 1; i++) this.value(a.root, a.segments, `d${i}`, true);
        return;
      }
      case "grant":
        this.durations.add(op.duration);
        return;
      case "workflow":
      case "labels":
        return;
    }
  }

  burst(n: number): void {
    for (const k of [n - 1, n, n + 1]) if (k >= 1 && k <= 64) this.repeats.add(k);
  }

  finish(): Vocabulary {
    for (const p of this.happened) {
      const name = instantiate(p);
      if (!this.declared.has(name)) this.signalPattern(p);
    }
    const actions = new Set(this.actions);
    const domains = ["crm", "billing", "hr", "payroll", "ops", "audit", "misc", "infra"];
    const extra = Math.min(Math.max(this.wildcardDomains, this.domains.size === 0 ? 1 : 0), 64);
    for (let i = 0; i < extra; i++) actions.add(`${domains[i] ?? `d${i}`}.act`);
    if (actions.size === 0) actions.add("misc.act");
    const kinds = new Set([...this.kinds, ...DEFAULT_KINDS]);
    const ids = new Set([...this.ids, GENERIC_ID]);
    const pairs = new Map(this.pairs);
    const namedPrincipals = pairs.size;
    for (const k of kinds) for (const id of ids) if (pairs.size < 64) pairs.set(`${k}/${id}`, { kind: k, id });
    const paths = new Set([...this.paths, "other/x"]);
    const durations = [...this.durations].filter((d) => d > 0).sort((a, b) => a - b);
    const gaps = new Set<number>([1000, 0]);
    for (const w of durations) for (const g of [w - 1, w, w + 1]) if (g >= 0) gaps.add(g);
    for (const g of this.gaps) gaps.add(g);
    return {
      actions: [...actions],
      signals: [...this.signals],
      principals: [...pairs.values()],
      namedPrincipals,
      resourcePaths: [...paths],
      attributes: [...this.attrs.values()].map((p) => ({
        root: p.root,
        segments: p.segments,
        values: p.values.size > 0 ? [...p.values.values()] : ["v1", OTHER],
      })),
      sessions: ["s1", "s2"],
      durations,
      gaps: [...gaps],
      repeats: [...this.repeats].sort((a, b) => a - b),
    };
  }
}

/** `ticket.*` -> `ticket.x`, `a.*.c` -> `a.x.c`: a concrete name the pattern matches. */
function instantiate(p: readonly string[]): string {
  return p.map((s) => (s === "*" ? "x" : s)).join(".");
}

/** The numbers just around `v` at its own precision and one finer: 0.9 -> 0.8, 0.89, 0.91, 1. */
export function neighbours(v: number): number[] {
  const text = String(v);
  const decimals = text.includes(".") && !text.includes("e") ? text.split(".")[1]!.length : 0;
  const fine = Math.pow(10, -(decimals + 1));
  const coarse = Math.pow(10, -decimals);
  const round = (x: number) => Number(x.toFixed(decimals + 1));
  return [round(v - fine), round(v + fine), round(v - coarse), round(v + coarse)];
}

/** Merges two vocabularies (the union of every word, attribute values joined per path). */
export function mergeVocabularies(a: Vocabulary, b: Vocabulary): Vocabulary {
  const union = <T>(x: readonly T[], y: readonly T[], key: (t: T) => string = (t) => JSON.stringify(t)): T[] => {
    const m = new Map<string, T>();
    for (const t of [...x, ...y]) if (!m.has(key(t))) m.set(key(t), t);
    return [...m.values()];
  };
  const attrs = new Map<string, AttributePool>();
  for (const p of [...a.attributes, ...b.attributes]) {
    const k = `${p.root}.${p.segments.join(".")}`;
    const prev = attrs.get(k);
    attrs.set(k, prev ? { ...prev, values: union(prev.values, p.values) } : p);
  }
  return {
    actions: union(a.actions, b.actions),
    signals: union(a.signals, b.signals),
    principals: union([...a.principals.slice(0, a.namedPrincipals), ...b.principals.slice(0, b.namedPrincipals)], [...a.principals, ...b.principals]),
    namedPrincipals: union(a.principals.slice(0, a.namedPrincipals), b.principals.slice(0, b.namedPrincipals)).length,
    resourcePaths: union(a.resourcePaths, b.resourcePaths),
    attributes: [...attrs.values()],
    sessions: union(a.sessions, b.sessions),
    durations: union(a.durations, b.durations).sort((x, y) => x - y),
    gaps: union(a.gaps, b.gaps),
    repeats: union(a.repeats, b.repeats).sort((x, y) => x - y),
  };
}
