import { contentHash } from "../compile/hash.js";
import type { ExprIR, PolicyIR, PrincipalSelIR, RuleIR } from "../compile/ir.js";
import type { Policy } from "../runtime/engine.js";
import { actionPatternMatches, compileGlob, globMatch } from "../runtime/glob.js";
import type { Decision, ObserveResult, PolicyState } from "../runtime/types.js";
import type { TraceEntry } from "./arbitraries.js";
import { thresholdOf, walk } from "./plans.js";
import { compareValues, OTHER } from "./solve.js";
import { mergeVocabularies, neighbours, vocabularyOf, type VocabularyValue } from "./vocabulary.js";
import { observe } from "../runtime/operations.js";

/**
 * The bounded exhaustive mode: every trace of up to N events over a policy's *alphabet*, with time
 * abstracted to the policy's window boundaries — a proof up to that bound.
 *
 * A letter is one event: an action or signal name of the vocabulary, a session (`s1` or `s2`), and
 * one value of every attribute the rules that name can reach read — one value per region the
 * policy's constants cut the attribute into (`context.amount > 100` gives 100 and 100.1; absent is
 * one more region), two values of every history key. Gaps between events are 0 and, for every
 * window and duration `w`, `w − 1` and `w` ms (and each side of every `since`/`gap` constant).
 * Sessions, generated principal ids and key values are interchangeable, so only traces that use
 * `s2` after `s1` (and likewise for the others) are visited. Product states already explored at
 * the same time with as many events left are not explored again.
 */

/** One event of the alphabet (its time is set by the trace). */
export interface Letter {
  readonly event: Readonly<Record<string, unknown>>;
  /** Interchangeable names it uses: [group, index] (`["s", 1]` for session `s2`). */
  readonly tokens: readonly (readonly [string, number])[];
}

/** What exhaustive traces are built from. */
export interface Alphabet {
  /** The letters; empty when there are more than `MAX_LETTERS` (then `size` says how many). */
  readonly letters: readonly Letter[];
  /** How many letters the policy has. */
  readonly size: number;
  /** Gaps between consecutive events, ms. */
  readonly gaps: readonly number[];
}

/** Options for `exploreTraces`. */
export interface ExhaustiveOptions {
  /** Longest traces, in events. */
  readonly maxEvents: number;
  /** Most events decided in all (each decision of each policy counts once); default 3,000,000. */
  readonly budget?: number;
  /** Stop at this time (ms since the epoch). */
  readonly deadline?: number;
  /** Traces that extend one for which this is true are not visited (`leash diff`: a trace past its first difference). */
  readonly prune?: (outcomes: readonly EventOutcome[]) => boolean;
}

/** How far an exhaustive search went. */
export interface ExhaustiveReport {
  /** The bound asked for. */
  readonly maxEvents: number;
  /** Every trace of up to this many events was checked (less than `maxEvents` when the budget ran out). */
  readonly depth: number;
  readonly complete: boolean;
  readonly letters: number;
  readonly gaps: number;
  /** Traces of up to `depth` events over the alphabet (before the symmetry of names is used). */
  readonly traces: number;
  /** Events decided. */
  readonly decisions: number;
  /** Why it stopped before `maxEvents`: the budget, the deadline, the alphabet's size, or a stop by the caller. */
  readonly stopped?: "budget" | "deadline" | "alphabet" | "found";
}

/** The outcome of one event for one policy: a request's decision, or what observing a signal did. */
export interface EventOutcome {
  readonly decision: Decision | null;
  readonly observed: ObserveResult | null;
}

/** Largest alphabet searched; larger ones are reported as too big rather than cut. */
export const MAX_LETTERS = 20_000;
const DEFAULT_BUDGET = 3_000_000;

/**
 * The alphabet of one or more policies (the union of their words, for `leash diff`): every action
 * and signal of their vocabularies with every combination of the values that tell their rules apart.
 */
export function alphabetOf(policies: readonly Policy[]): Alphabet {
  const irs = policies.map((p) => p.ir);
  const v = policies.map((p) => vocabularyOf(p)).reduce((a, b) => mergeVocabularies(a, b));
  const rules = irs.flatMap((ir) => ir.rules);
  // A key group with no registers keeps nothing (the runtime may list one for every key kind).
  const principalKeyed = irs.some((ir) => ir.keyGroups.some((g) => g.key.kind === "principal" && g.slots > 0) || ir.rules.some((r) => r.revokeTarget?.kind === "principal"));
  const letters: Letter[] = [];
  let size = 0;
  for (const [names, signal] of [[v.actions, false], [v.signals, true]] as const)
    for (const name of names) {
      const reach = rules.filter((r) => (signal ? r.signals : r.actions).some((p) => actionPatternMatches(p, name)));
      const paths = pathsFor(name, signal, reach, irs);
      const dims: (readonly Part[])[] = [principalsFor(reach, irs, principalKeyed), ...paths.map((p) => valuesFor(p, reach, irs))];
      if (reach.some((r) => r.resources.length > 0) || paths.some((p) => p.startsWith("resource."))) dims.push(resourcesFor(reach));
      dims.push([0, 1].map((i) => ({ set: { session: `s${i + 1}` }, tokens: [["s", i] as const] })));
      const count = dims.reduce((n, d) => n * d.length, 1);
      size += count;
      if (size > MAX_LETTERS) continue;
      let combos: Part[][] = [[]];
      for (const d of dims) combos = combos.flatMap((c) => d.map((x) => [...c, x]));
      for (const c of combos) letters.push(letterOf(name, signal, c));
    }
  return { letters: size > MAX_LETTERS ? [] : letters, size, gaps: gapsOf(irs) };
}

/** A part of an event: paths to set and the interchangeable names it uses. */
interface Part {
  readonly set: Readonly<Record<string, VocabularyValue | typeof NONE>>;
  readonly tokens: readonly (readonly [string, number])[];
}

const NONE = Symbol("none");

function letterOf(name: string, signal: boolean, parts: readonly Part[]): Letter {
  const e: Record<string, unknown> = signal ? { signal: name } : { action: name };
  const tokens: (readonly [string, number])[] = [];
  for (const p of parts) {
    tokens.push(...p.tokens);
    for (const [path, value] of Object.entries(p.set)) {
      if (value === NONE) continue;
      const segs = path.split(".");
      let cur = e;
      for (let i = 0; i < segs.length - 1; i++) {
        const k = segs[i]!;
        if (typeof cur[k] !== "object" || cur[k] === null) cur[k] = {};
        cur = cur[k] as Record<string, unknown>;
      }
      cur[segs[segs.length - 1]!] = Array.isArray(value) ? [...value] : value;
    }
  }
  return { event: e, tokens };
}

/** Attribute paths (other than principal kind and id, resource path) the rules reaching `name` read, and the keys its histories need. */
function pathsFor(name: string, signal: boolean, reach: readonly RuleIR[], irs: readonly PolicyIR[]): string[] {
  const out = new Set<string>();
  const key = (ir: PolicyIR, group: number) => {
    const k = ir.keyGroups[group]!.key;
    if (k.kind === "path" && k.root !== "action") out.add(k.text);
  };
  for (const r of reach) {
    walk(r.condition, (e) => {
      for (const p of atomPaths(e)) out.add(p);
    });
    for (const s of r.principals) for (const a of s.attributes) out.add(`principal.${a.name}`);
    if (r.revokeTarget?.kind === "path" && r.revokeTarget.root !== "action") out.add(r.revokeTarget.text);
  }
  for (const ir of irs) {
    const reachHere = reach.filter((r) => ir.rules.includes(r));
    for (const r of reachHere) walk(r.condition, (e) => void (e.t === "op" ? key(ir, ir.ops[e.op]!.group) : undefined));
    for (const op of ir.ops) {
      const sels = op.op === "sequence" ? op.stages : op.op === "after" ? [op.events, ...(op.until ? [op.until] : [])] : "events" in op && op.events ? [op.events] : [];
      const records = sels.some((s) => s.patterns.some((p) => actionPatternMatches(p, name))) || (op.op === "distinct" && op.events === null);
      if (!records) continue;
      key(ir, op.group);
      if (op.op === "distinct" && op.attribute.root !== "action" && op.attribute.text !== "principal.id" && op.attribute.text !== "principal.kind") out.add(op.attribute.text);
    }
  }
  void signal;
  for (const p of ["principal.kind", "principal.id", "resource.path"]) out.delete(p);
  return [...out].filter((p) => !p.startsWith("action.")).sort();
}

/** The attribute paths one condition node reads directly (not through a history operator). */
function atomPaths(e: ExprIR): string[] {
  switch (e.t) {
    case "path":
      return [e.path.text];
    case "has":
      return e.root === "action" ? [] : [[e.root, ...e.segments].join(".")];
    default:
      return [];
  }
}

/** Every atom (a condition node without `and`/`or`/`not` above history) that reads `path`, over all policies. */
function atomsOn(path: string, irs: readonly PolicyIR[]): ExprIR[] {
  const out: ExprIR[] = [];
  for (const ir of irs)
    for (const r of ir.rules)
      walk(r.condition, (e) => {
        if ((e.t === "cmp" || e.t === "in" || e.t === "like") && reads(e, path)) out.push(e);
        if (e.t === "has" && [e.root, ...e.segments].join(".") === path) out.push(e);
        if (e.t === "path" && e.path.text === path) out.push(e);
      });
  return out;
}

function reads(e: ExprIR, path: string): boolean {
  let found = false;
  walk(e, (x) => {
    if (x.t === "path" && x.path.text === path) found = true;
  });
  return found;
}

/** The value of an atom for one value of `path` ('T', 'F' or 'E' for an error): what tells values apart. */
function atomValue(e: ExprIR, path: string, v: VocabularyValue | typeof NONE): string {
  const val = (x: ExprIR): unknown => (x.t === "path" ? (x.path.text === path ? (v === NONE ? NONE : v) : NONE) : x.t === "lit" ? x.value : x.t === "set" ? x.values : NONE);
  const tf = (b: boolean | null) => (b === null ? "E" : b ? "T" : "F");
  switch (e.t) {
    case "has":
      return tf(v !== NONE);
    case "path":
      return v === NONE ? "E" : typeof v === "boolean" ? tf(v) : "E";
    case "cmp": {
      const a = val(e.left);
      const b = val(e.right);
      return a === NONE || b === NONE ? "E" : tf(compareValues(a, e.op, b));
    }
    case "in": {
      const el = val(e.element);
      const col = val(e.collection);
      if (el === NONE || col === NONE || !Array.isArray(col)) return "E";
      return tf(col.includes(el as never));
    }
    case "like": {
      const s = val(e.subject);
      return typeof s === "string" ? tf(globMatch(compileGlob(e.pattern), s)) : "E";
    }
    default:
      return "E";
  }
}

/** Values for one attribute path: one per distinct reading of the atoms on it (two for history keys), and absent. */
function valuesFor(path: string, reach: readonly RuleIR[], irs: readonly PolicyIR[]): Part[] {
  const atoms = atomsOn(path, irs);
  const candidates: (VocabularyValue | typeof NONE)[] = [];
  for (const a of atoms)
    walk(a, (x) => {
      if (x.t === "lit") {
        const lit = x.value;
        if (typeof lit === "number") candidates.push(lit, ...neighbours(lit));
        else if (typeof lit === "boolean") candidates.push(lit, !lit);
        else candidates.push(lit, [lit]);
      }
      if (x.t === "set") candidates.push(...x.values, ...x.values.map((s) => [String(s)]));
      if (x.t === "like") candidates.push(x.pattern.replaceAll("*", "x"), "zz");
      if (x.t === "has" || x.t === "path") candidates.push(true, false);
    });
  candidates.push(OTHER, [], NONE);
  const isKey = irs.some((ir) => ir.keyGroups.some((g) => g.key.kind === "path" && g.key.text === path && g.slots > 0) || ir.revokeTargets.some((k) => k.kind === "path" && k.text === path) || ir.ops.some((o) => o.op === "distinct" && o.attribute.text === path));
  const perClass = isKey ? 2 : 1;
  if (isKey) candidates.unshift("k1", "k2");
  const seen = new Map<string, number>();
  const out: Part[] = [];
  for (const c of candidates) {
    const sig = atoms.map((a) => atomValue(a, path, c)).join("") + (c === NONE ? "-" : typeof c);
    const n = seen.get(sig) ?? 0;
    if (n >= perClass) continue;
    if (out.some((p) => JSON.stringify(p.set[path]) === JSON.stringify(c))) continue;
    seen.set(sig, n + 1);
    const tokens: (readonly [string, number])[] = typeof c === "string" && /^k[12]$/.test(c) ? [[`k:${path}`, Number(c[1]) - 1]] : [];
    out.push({ set: { [path]: c }, tokens });
  }
  void reach;
  return out;
}

/** Principals: one per distinct reading of the selectors and principal conditions, two of each class when histories are kept by principal. */
function principalsFor(reach: readonly RuleIR[], irs: readonly PolicyIR[], keyed: boolean): Part[] {
  const sels: PrincipalSelIR[] = reach.flatMap((r) => r.principals);
  const kinds = new Set<string>(["human", "agent"]);
  for (const s of sels) if (s.kind !== null) kinds.add(s.kind);
  const ids = new Set<string>(["p1"]);
  for (const s of sels) if (s.id !== null) ids.add(s.id.replaceAll("*", "x"));
  for (const ir of irs)
    for (const r of ir.rules)
      walk(r.condition, (e) => {
        if (e.t === "cmp" && e.left.t === "path" && e.right.t === "lit" && typeof e.right.value === "string") {
          if (e.left.path.text === "principal.kind") kinds.add(e.right.value);
          if (e.left.path.text === "principal.id") ids.add(e.right.value);
        }
        if (e.t === "like" && e.subject.t === "path" && e.subject.path.text === "principal.id") ids.add(e.pattern.replaceAll("*", "x"));
      });
  const idAtoms = irs.flatMap((ir) => ir.rules).flatMap((r) => {
    const out: ExprIR[] = [];
    walk(r.condition, (e) => void ((e.t === "cmp" || e.t === "like" || e.t === "in") && (reads(e, "principal.id") || reads(e, "principal.kind")) ? out.push(e) : undefined));
    return out;
  });
  const seen = new Map<string, number>();
  const out: Part[] = [];
  for (const kind of kinds)
    for (const id of [...ids, "p2"]) {
      const sig =
        sels.map((s) => (s.kind === null || s.kind === kind) && (s.id === null || globMatch(compileGlob(s.id), id)) ? "T" : "F").join("") +
        idAtoms.map((a) => `${atomValue(a, "principal.id", id)}${atomValue(a, "principal.kind", kind)}`).join("") + kind;
      const n = seen.get(sig) ?? 0;
      if (n >= (keyed ? 2 : 1)) continue;
      if (id === "p2" && n === 0) continue;
      seen.set(sig, n + 1);
      const generic = /^p[12]$/.test(id) ? [[`p:${kind}`, Number(id[1]) - 1] as const] : [];
      out.push({ set: { "principal.kind": kind, "principal.id": id }, tokens: generic });
    }
  return out;
}

/** Resource paths: one per distinct reading of the globs, and no resource. */
function resourcesFor(reach: readonly RuleIR[]): Part[] {
  const globs = [...new Set(reach.flatMap((r) => r.resources))].map(compileGlob);
  const candidates = [...globs.map((g) => g.source.replaceAll("*", "x")), "other/x", NONE] as const;
  const seen = new Set<string>();
  const out: Part[] = [];
  for (const c of candidates) {
    const sig = c === NONE ? "-" : globs.map((g) => (globMatch(g, c) ? "T" : "F")).join("");
    if (seen.has(sig)) continue;
    seen.add(sig);
    out.push({ set: { "resource.path": c }, tokens: [] });
  }
  return out;
}

/** Gaps: 0 and, for every window or duration w, w − 1 and w; each side of `since`/`gap` constants; GCRA intervals. */
function gapsOf(irs: readonly PolicyIR[]): number[] {
  const gaps = new Set<number>([0]);
  const edge = (w: number | null) => {
    if (w === null || w <= 0) return;
    gaps.add(w - 1);
    gaps.add(w);
  };
  for (const ir of irs) {
    for (const op of ir.ops) {
      if (op.op === "after" || op.op === "count" || op.op === "distinct" || op.op === "sequence" || op.op === "limit") edge(op.window);
      if (op.op === "rate") {
        edge(op.per);
        edge(Math.max(1, Math.round(op.per / op.limit)));
      }
      if (op.op === "grant") edge(op.duration);
    }
    for (const r of ir.rules) {
      for (const l of r.labels) edge(l.duration);
      walk(r.condition, (e) => {
        const t = thresholdOf(e);
        if (t === null) return;
        const op = ir.ops[t.op]!;
        if (op.op === "since" || op.op === "gap") for (const g of [t.threshold.n - 1, t.threshold.n, t.threshold.n + 1]) if (g >= 0) gaps.add(g);
      });
    }
  }
  return [...gaps].sort((a, b) => a - b);
}

/** Traces of 1..depth events over `letters` letters and `gaps` gaps (the first event has no gap). */
export function traceCount(letters: number, gaps: number, depth: number): number {
  let total = 0;
  let level = letters;
  for (let d = 1; d <= depth; d++) {
    total += level;
    level *= letters * gaps;
  }
  return total;
}

/**
 * Visits every trace of up to `maxEvents` events over the alphabet, shortest first, deciding each
 * event on every policy; `visit` gets the trace and each policy's outcome of its last event and
 * returns true to stop. Returns how far it went: a complete search is a proof up to the bound.
 */
export function exploreTraces(
  policies: readonly Policy[],
  alphabet: Alphabet,
  options: ExhaustiveOptions,
  visit: (trace: readonly TraceEntry[], outcomes: readonly EventOutcome[]) => boolean,
): ExhaustiveReport {
  const { letters, gaps } = alphabet;
  const budget = options.budget ?? DEFAULT_BUDGET;
  const base = { maxEvents: options.maxEvents, letters: alphabet.size, gaps: gaps.length };
  if (alphabet.size > MAX_LETTERS || letters.length === 0) return { ...base, depth: 0, complete: false, traces: 0, decisions: 0, stopped: "alphabet" };
  let decisions = 0;
  let stopped: ExhaustiveReport["stopped"];
  const trace: TraceEntry[] = [];

  const explore = (states: readonly PolicyState[], time: number, used: ReadonlyMap<string, number>, depth: number, limit: number, memo: Map<string, number>): boolean => {
    for (const letter of letters) {
      if (!canonical(letter, used)) continue;
      const nextUsed = use(used, letter);
      for (const gap of depth === 0 ? [0] : gaps) {
        if (decisions >= budget) {
          stopped = "budget";
          return true;
        }
        if (options.deadline !== undefined && (decisions & 1023) === 0 && Date.now() > options.deadline) {
          stopped = "deadline";
          return true;
        }
        const t = time + gap;
        const e = { ...letter.event, time: t } as unknown as TraceEntry;
        const outcomes: EventOutcome[] = [];
        const next: PolicyState[] = [];
        for (let i = 0; i < policies.length; i++) {
          const p = policies[i]!;
          if ("signal" in e) {
            const r = observe(p, states[i]!, e);
            outcomes.push({ decision: null, observed: r });
            next.push(r.state);
          } else {
            const r = p.decide(states[i]!, e);
            outcomes.push({ decision: r.decision, observed: null });
            next.push(r.state);
          }
        }
        decisions += policies.length;
        trace.push(e);
        if (depth + 1 === limit) {
          if (visit(trace, outcomes)) {
            stopped = "found";
            trace.pop();
            return true;
          }
        } else if (!options.prune?.(outcomes)) {
          const left = limit - depth - 1;
          const key = stateKey(next, t, nextUsed);
          if ((memo.get(key) ?? -1) < left) {
            memo.set(key, left);
            if (explore(next, t, nextUsed, depth + 1, limit, memo)) {
              trace.pop();
              return true;
            }
          }
        }
        trace.pop();
      }
    }
    return false;
  };

  let depth = 0;
  const initial = policies.map((p) => p.initialState());
  for (let limit = 1; limit <= options.maxEvents; limit++) {
    if (explore(initial, 0, new Map(), 0, limit, new Map())) break;
    depth = limit;
  }
  if (stopped === "found") depth = Math.max(depth, 0);
  return { ...base, depth, complete: depth === options.maxEvents, traces: traceCount(letters.length, gaps.length, depth), decisions, ...(stopped && depth < options.maxEvents ? { stopped } : {}) };
}

/** A letter may use the (i+1)-th of interchangeable names only after the i-th was used. */
function canonical(letter: Letter, used: ReadonlyMap<string, number>): boolean {
  for (const [group, i] of letter.tokens) if (i > (used.get(group) ?? -1) + 1) return false;
  return true;
}

function use(used: ReadonlyMap<string, number>, letter: Letter): ReadonlyMap<string, number> {
  if (letter.tokens.every(([g, i]) => (used.get(g) ?? -1) >= i)) return used;
  const out = new Map(used);
  for (const [g, i] of letter.tokens) out.set(g, Math.max(out.get(g) ?? -1, i));
  return out;
}

/** A 64-bit hash of the states, the time and the names used: equal keys have the same futures. */
function stateKey(states: readonly PolicyState[], time: number, used: ReadonlyMap<string, number>): string {
  let text = `${time}|${[...used].map(([g, i]) => `${g}=${i}`).join(",")}`;
  for (const s of states) text += `|${JSON.stringify(s)}`;
  return `${contentHash(text)}${text.length}`;
}
