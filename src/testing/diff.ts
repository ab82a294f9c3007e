import fc from "fast-check";
import type { Policy } from "../runtime/engine.js";
import type { Decision } from "../runtime/types.js";
import { arbTrace, type TraceEntry } from "./arbitraries.js";
import { randomSeed } from "./properties.js";
import { vocabularyOf, type AttributePool, type Vocabulary } from "./vocabulary.js";

/** Options for `diffPolicies`. */
export interface DiffOptions {
  /** Random traces per search round (default 300). */
  readonly runs?: number;
  /** Seed of the first round (round k uses seed + k). Default random. */
  readonly seed?: number;
  /** Shrunk examples kept per action and direction (default 3). */
  readonly examples?: number;
  /** Most search rounds; each round finds at most one new example (default 24). */
  readonly maxRounds?: number;
  /** Stop searching after this many ms (default 20,000). */
  readonly timeout?: number;
}

/** `more`: the new policy allows (or only challenges) what the old one did not; `less`: the reverse. */
export type DiffDirection = "more permissive" | "less permissive";

/** One shrunk trace whose last request the two policies decide differently. */
export interface DiffExample {
  /** The trace up to and including the differing request. */
  readonly trace: readonly TraceEntry[];
  readonly old: { readonly effect: string; readonly rules: readonly string[] };
  readonly new: { readonly effect: string; readonly rules: readonly string[] };
}

/** The differences found for one action in one direction. */
export interface DiffGroup {
  readonly action: string;
  readonly direction: DiffDirection;
  readonly examples: readonly DiffExample[];
}

/** What `diffPolicies` found. */
export interface DiffReport {
  readonly groups: readonly DiffGroup[];
  /** Traces generated over all rounds. */
  readonly runs: number;
  readonly seed: number;
  /** The search stopped at the time limit. */
  readonly timedOut: boolean;
}

/** How much an effect lets through: allow > challenge > deny > revoke. */
const LEVEL: Readonly<Record<string, number>> = { allow: 3, challenge: 2, deny: 1, revoke: 0 };

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

interface Found {
  readonly index: number;
  readonly old: Decision;
  readonly new: Decision;
  readonly direction: DiffDirection;
}

/** Replays a trace through both policies; the first request they decide differently that `wanted` accepts. */
function firstDifference(oldP: Policy, newP: Policy, trace: readonly TraceEntry[], wanted: (f: Found) => boolean): Found | null {
  let so = oldP.initialState();
  let sn = newP.initialState();
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    if ("signal" in e) {
      so = oldP.observe(so, e).state;
      sn = newP.observe(sn, e).state;
      continue;
    }
    const ro = oldP.decide(so, e);
    const rn = newP.decide(sn, e);
    so = ro.state;
    sn = rn.state;
    const a = LEVEL[ro.decision.effect]!;
    const b = LEVEL[rn.decision.effect]!;
    if (a === b) continue;
    const f: Found = { index: i, old: ro.decision, new: rn.decision, direction: b > a ? "more permissive" : "less permissive" };
    if (wanted(f)) return f;
  }
  return null;
}

/**
 * Searches random traces over the union of two policies' vocabularies for requests they decide
 * differently, and groups them by action and direction ("more permissive": the new policy lets
 * through what the old one denied or challenged). Each round searches for a difference not yet
 * seen and shrinks it; up to `examples` shrunk traces are kept per group.
 */
export function diffPolicies(oldPolicy: Policy, newPolicy: Policy, options: DiffOptions = {}): DiffReport {
  const v = mergeVocabularies(vocabularyOf(oldPolicy), vocabularyOf(newPolicy));
  const seed = options.seed ?? randomSeed();
  const perGroup = options.examples ?? 3;
  const deadline = Date.now() + (options.timeout ?? 20_000);
  const arb = arbTrace(v);
  const groups = new Map<string, { action: string; direction: DiffDirection; examples: DiffExample[]; signatures: Set<string> }>();
  // Two examples of a group are different when the effects or the deciding rules differ.
  const signature = (f: Found) => `${f.old.effect}>${f.new.effect}|${f.old.rules.join(",")}|${f.new.rules.join(",")}`;
  const wanted = (f: Found) => {
    const g = groups.get(`${f.new.action}|${f.direction}`);
    return g === undefined || (g.examples.length < perGroup && !g.signatures.has(signature(f)));
  };
  let runs = 0;
  let timedOut = false;
  const maxRounds = options.maxRounds ?? 24;
  for (let round = 0; round < maxRounds; round++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    const details = fc.check(
      fc.property(arb, (trace) => firstDifference(oldPolicy, newPolicy, trace, wanted) === null),
      { numRuns: options.runs ?? 300, seed: seed + round, interruptAfterTimeLimit: left },
    );
    runs += details.numRuns;
    if (!details.failed || details.counterexample === null) {
      timedOut ||= details.interrupted;
      break;
    }
    const trace = details.counterexample[0];
    const f = firstDifference(oldPolicy, newPolicy, trace, wanted);
    if (f === null) break;
    const key = `${f.new.action}|${f.direction}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { action: f.new.action, direction: f.direction, examples: [], signatures: new Set() }));
    g.signatures.add(signature(f));
    g.examples.push({ trace: trace.slice(0, f.index + 1), old: { effect: f.old.effect, rules: f.old.rules }, new: { effect: f.new.effect, rules: f.new.rules } });
  }
  const sorted = [...groups.values()]
    .sort((a, b) => (a.direction === b.direction ? a.action.localeCompare(b.action) : a.direction === "more permissive" ? -1 : 1))
    .map(({ action, direction, examples }) => ({ action, direction, examples }));
  return { groups: sorted, runs, seed, timedOut };
}
