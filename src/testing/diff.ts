import fc from "fast-check";
import { compilePolicy } from "../compile/compile.js";
import type { PolicyIR } from "../compile/ir.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { Policy } from "../runtime/engine.js";
import type { Decision, ObserveResult } from "../runtime/types.js";
import { arbTrace, type TraceEntry } from "./arbitraries.js";
import { CoverageRecorder, type CoverageReport } from "./coverage.js";
import { arbDirectedTrace, directedTraces } from "./directed.js";
import { alphabetOf, exploreTraces, type EventOutcome, type ExhaustiveReport } from "./exhaustive.js";
import { stepOutcomes, type StepOutcome } from "./outcomes.js";
import { instrument, isProbe, type RuleProbes } from "./probes.js";
import { minimizeTrace, randomSeed, type SearchPhase } from "./properties.js";
import { changesBetween, type PolicyChange } from "./changes.js";
import { mergeVocabularies, vocabularyOf } from "./vocabulary.js";
import { observe } from "../runtime/operations.js";

export { mergeVocabularies };

/** A policy to compare: compiled, or its source (then clause coverage is measured too). */
export type DiffInput = Policy | { readonly source: string; readonly file?: string };

/** Options for `diffPolicies`. */
export interface DiffOptions {
  /** Random traces per search round after the directed ones (default 300). */
  readonly runs?: number;
  /** Seed of the first round (round k uses seed + k). Default random. */
  readonly seed?: number;
  /** Shrunk examples kept per action and direction (default 3); an example that shows a change no other shows is kept beyond it. */
  readonly examples?: number;
  /** Most random search rounds; each round finds at most one new example (default 24). */
  readonly maxRounds?: number;
  /** Stop searching after this many ms (default 20,000). */
  readonly timeout?: number;
  /** Also check every trace of up to this many events over both policies' alphabet: no difference is then a proof up to that bound. */
  readonly exhaustive?: number;
  /** Most events the exhaustive search decides (default 3,000,000). */
  readonly exhaustiveBudget?: number;
}

/**
 * `more permissive`: the new policy allows (or only challenges) what the old one did not; `less
 * permissive`: the reverse; `flags changed`: the same effect, but the policies' own flags differ (a
 * monitor-only rule that now flags, or stops flagging; also on observed signals).
 */
export type DiffDirection = "more permissive" | "less permissive" | "flags changed";

/** One shrunk trace whose last request the two policies decide differently. */
export interface DiffExample {
  /** The trace up to and including the differing request. */
  readonly trace: readonly TraceEntry[];
  readonly old: DiffSide;
  readonly new: DiffSide;
  /** What each event did under the old policy: the test block that pins the old behaviour. */
  readonly outcomes: readonly StepOutcome[];
  /** 0-based index of the first event the new policy decides differently (the last one, unless an earlier difference was already known). */
  readonly firstDifference: number;
  /** The changes (rule, workflow or action names) this example shows. */
  readonly shows: readonly string[];
  readonly phase: SearchPhase;
}

/** What one policy did with the differing event: a request's effect (`observed` for a signal), deciding rules, reasons, own flags. */
export interface DiffSide {
  readonly effect: string;
  readonly rules: readonly string[];
  readonly reasons: readonly string[];
  readonly flags: readonly string[];
}

/** The differences found for one action in one direction. */
export interface DiffGroup {
  readonly action: string;
  readonly direction: DiffDirection;
  readonly examples: readonly DiffExample[];
}

/** How much of the two policies the search made decide. */
export interface DiffCoverage {
  readonly old: CoverageReport;
  readonly new: CoverageReport;
}

/** What `diffPolicies` found. */
export interface DiffReport {
  readonly groups: readonly DiffGroup[];
  /** Random traces generated over all rounds. */
  readonly runs: number;
  /** Directed traces tried (both policies'). */
  readonly directed: number;
  /** How far the exhaustive search went, when one was asked for. */
  readonly exhaustive?: ExhaustiveReport;
  readonly seed: number;
  /** The search stopped at the time limit. */
  readonly timedOut: boolean;
  /** Rules, workflows and action tags that differ between the two texts, and whether an example shows each. */
  readonly changes: readonly PolicyChange[];
  readonly coverage: DiffCoverage;
  /** Rules (of either version) that no trace of the search made decide. */
  readonly undecided: readonly string[];
  /** Some rule of either policy decided some event: without that, "no difference" means nothing. */
  readonly exercised: boolean;
}

/** How much an effect lets through: allow > challenge > deny > revoke. */
const LEVEL: Readonly<Record<string, number>> = { allow: 3, challenge: 2, deny: 1, revoke: 0 };

interface Found {
  readonly index: number;
  /** The action or signal name. */
  readonly action: string;
  readonly old: DiffSide & { readonly reasonRules: readonly string[] };
  readonly new: DiffSide & { readonly reasonRules: readonly string[] };
  readonly direction: DiffDirection;
}

/** A decision (or a signal's outcome) as a diff compares and reports it. */
function sideOfDecision(d: Decision): Found["old"] {
  return { effect: d.effect, rules: d.rules, reasons: reasonsOf(d), flags: d.flags.filter((f) => !isProbe(f)), reasonRules: d.reasons.flatMap((r) => (r.rule ? [r.rule] : [])) };
}

function sideOfSignal(r: ObserveResult): Found["old"] {
  return { effect: "observed", rules: r.revoked.map((x) => x.rule), reasons: r.revoked.map((x) => `revoked ${x.key}: ${x.reason}`), flags: r.flags.filter((f) => !isProbe(f)), reasonRules: [] };
}

/** How two outcomes of one event differ, if they do. */
function compareSides(o: Found["old"], n: Found["old"]): DiffDirection | null {
  const x = LEVEL[o.effect];
  const y = LEVEL[n.effect];
  if (x !== undefined && y !== undefined && x !== y) return y > x ? "more permissive" : "less permissive";
  return o.flags.join(",") === n.flags.join(",") ? null : "flags changed";
}

/** A policy under comparison: the one decisions come from (instrumented when possible) and its coverage. */
interface Side {
  readonly plain: Policy;
  readonly run: Policy;
  readonly recorder: CoverageRecorder;
}

function sideOf(input: DiffInput): Side {
  if ("decide" in input && typeof input.decide === "function") {
    const policy = input as Policy;
    return { plain: policy, run: policy, recorder: new CoverageRecorder(rulesOnly(policy.ir)) };
  }
  const { source, file } = input as { source: string; file?: string };
  const compiled = compilePolicy(source, { file });
  if (compiled.policy === null) throw new DiffCompileError(compiled.diagnostics, file ?? "<policy>");
  const inst = instrument(source, compiled.ast, { file, coverage: true, claims: [] });
  const workflows = compiled.policy.ir.rules.filter((r) => r.workflow !== null).map((r) => ({ rule: r.id, span: r.span }));
  if (inst.policy === null || !("rules" in inst)) return { plain: compiled.policy, run: compiled.policy, recorder: new CoverageRecorder(rulesOnly(compiled.policy.ir)) };
  return { plain: compiled.policy, run: inst.policy, recorder: new CoverageRecorder(inst.rules, workflows) };
}

/** Coverage probes for a policy known only compiled: whether each rule decided (no clause probes). */
function rulesOnly(ir: PolicyIR): RuleProbes[] {
  return ir.rules.map((r) => ({ rule: r.id, span: r.span, selectors: null, clauses: [] }));
}

/** A policy given as source does not compile. */
export class DiffCompileError extends Error {
  override readonly name = "DiffCompileError";
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    readonly file: string,
  ) {
    super(`${file} does not compile: ${diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`).join("; ")}`);
  }
}

/** Replays a trace through both policies: every request they decide differently, in order (recording coverage on the way). */
function differences(a: Side, b: Side, trace: readonly TraceEntry[], record: boolean): Found[] {
  let so = a.run.initialState();
  let sn = b.run.initialState();
  const out: Found[] = [];
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    let old: Found["old"];
    let neu: Found["old"];
    if ("signal" in e) {
      const ro = observe(a.run, so, e);
      const rn = observe(b.run, sn, e);
      so = ro.state;
      sn = rn.state;
      if (record) {
        a.recorder.outcome({ rules: ro.revoked.map((x) => x.rule), flags: ro.flags, errors: ro.errors });
        b.recorder.outcome({ rules: rn.revoked.map((x) => x.rule), flags: rn.flags, errors: rn.errors });
      }
      old = sideOfSignal(ro);
      neu = sideOfSignal(rn);
    } else {
      const ro = a.run.decide(so, e);
      const rn = b.run.decide(sn, e);
      so = ro.state;
      sn = rn.state;
      if (record) {
        a.recorder.decision(ro.decision);
        b.recorder.decision(rn.decision);
      }
      old = sideOfDecision(ro.decision);
      neu = sideOfDecision(rn.decision);
    }
    const direction = compareSides(old, neu);
    if (direction !== null) out.push({ index: i, action: "signal" in e ? e.signal : e.action, old, new: neu, direction });
  }
  return out;
}

function outcomeSide(o: EventOutcome): Found["old"] {
  return o.decision ? sideOfDecision(o.decision) : sideOfSignal(o.observed!);
}

function reasonsOf(d: Decision): string[] {
  return d.reasons.map((r) => `${r.code ? `${r.code}: ` : ""}${r.message}`);
}

/**
 * Searches for requests two policies decide differently and groups them by action and direction
 * ("more permissive": the new policy lets through what the old one denied or challenged). The
 * search runs both policies' directed traces (every threshold, window, limit, label and rule of
 * either reached and straddled), then with `exhaustive: N` every trace of up to N events over their
 * alphabet, then random rounds that each look for a difference not yet seen. Each difference is
 * shrunk; up to `examples` are kept per group, and one more for each change no other example shows.
 * The report also says which rules the search made decide, and which changed rules it showed.
 */
export function diffPolicies(oldInput: DiffInput, newInput: DiffInput, options: DiffOptions = {}): DiffReport {
  const a = sideOf(oldInput);
  const b = sideOf(newInput);
  const seed = options.seed ?? randomSeed();
  const perGroup = options.examples ?? 3;
  const deadline = Date.now() + (options.timeout ?? 20_000);
  const changes = changesBetween(a.plain.ir, b.plain.ir);
  const witnessed = new Set<string>();
  const groups = new Map<string, { action: string; direction: DiffDirection; examples: DiffExample[]; signatures: Set<string> }>();
  // Two examples of a group are different when the effects or the deciding rules differ.
  const signature = (f: Found) => `${f.old.effect}>${f.new.effect}|${f.old.rules.join(",")}|${f.new.rules.join(",")}|${f.old.flags.join(",")}|${f.new.flags.join(",")}|${f.old.reasons.map((r) => r.split(":")[0]).join(",")}`;
  const shows = (f: Found): string[] => {
    const involved = new Set([...f.old.rules, ...f.new.rules, ...f.old.reasonRules, ...f.new.reasonRules, ...f.old.flags, ...f.new.flags, f.action]);
    return changes.filter((c) => involved.has(c.name)).map((c) => c.name);
  };
  const wanted = (f: Found) => {
    if (shows(f).some((c) => !witnessed.has(c))) return true;
    const g = groups.get(`${f.action}|${f.direction}`);
    return g === undefined || (g.examples.length < perGroup && !g.signatures.has(signature(f)));
  };
  const sameKind = (x: Found, y: Found) => x.action === y.action && x.direction === y.direction && signature(x) === signature(y);
  const add = (trace: readonly TraceEntry[], f: Found, phase: SearchPhase) => {
    const keep = (t: readonly TraceEntry[]) => differences(a, b, t, false).some((x) => sameKind(x, f));
    const small = minimizeTrace(trace.slice(0, f.index + 1), keep);
    const all = differences(a, b, small, false);
    const hit = all.find((x) => sameKind(x, f)) ?? f;
    const cut = small.slice(0, hit.index + 1);
    const key = `${hit.action}|${hit.direction}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { action: hit.action, direction: hit.direction, examples: [], signatures: new Set() }));
    g.signatures.add(signature(hit));
    const s = shows(hit);
    for (const c of s) witnessed.add(c);
    g.examples.push({
      trace: cut,
      old: { effect: hit.old.effect, rules: hit.old.rules, reasons: hit.old.reasons, flags: hit.old.flags },
      new: { effect: hit.new.effect, rules: hit.new.rules, reasons: hit.new.reasons, flags: hit.new.flags },
      outcomes: stepOutcomes(a.plain, cut),
      firstDifference: all[0]?.index ?? hit.index,
      shows: s,
      phase,
    });
  };

  // 1. Directed traces of both policies.
  const directed = dedupe([...directedTraces(a.plain), ...directedTraces(b.plain)].map((t) => t.trace));
  let directedRuns = 0;
  let timedOut = false;
  for (const t of directed) {
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    directedRuns++;
    const found = differences(a, b, t, true).find(wanted);
    if (found) add(t, found, "directed");
  }

  // 2. Every trace up to the bound.
  let exhaustive: ExhaustiveReport | undefined;
  if (options.exhaustive !== undefined && options.exhaustive > 0 && !timedOut) {
    exhaustive = exploreTraces(
      [a.run, b.run],
      alphabetOf([a.plain, b.plain]),
      { maxEvents: options.exhaustive, budget: options.exhaustiveBudget, deadline, prune: ([o, n]) => compareSides(outcomeSide(o!), outcomeSide(n!)) !== null },
      (trace, [o, n]) => {
        if (o!.decision) a.recorder.decision(o!.decision);
        if (n!.decision) b.recorder.decision(n!.decision);
        const old = outcomeSide(o!);
        const neu = outcomeSide(n!);
        const direction = compareSides(old, neu);
        if (direction === null) return false;
        const e = trace[trace.length - 1]!;
        const f: Found = { index: trace.length - 1, action: "signal" in e ? e.signal : e.action, old, new: neu, direction };
        if (wanted(f)) add(trace, f, "exhaustive");
        return true;
      },
    );
  }

  // 3. Random rounds: mixtures of directed traces, and traces from both vocabularies.
  const v = mergeVocabularies(vocabularyOf(a.plain), vocabularyOf(b.plain));
  const arb = fc.oneof(arbDirectedTrace(a.plain), arbDirectedTrace(b.plain), arbTrace(v));
  let runs = 0;
  const maxRounds = options.maxRounds ?? 24;
  for (let round = 0; round < maxRounds && !timedOut; round++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    let hit: { trace: readonly TraceEntry[]; f: Found } | null = null;
    const details = fc.check(
      fc.property(arb, (trace) => {
        const f = differences(a, b, trace, true).find(wanted);
        if (f && hit === null) hit = { trace, f };
        return f === undefined;
      }),
      { numRuns: options.runs ?? 300, seed: seed + round, interruptAfterTimeLimit: left },
    );
    runs += details.numRuns;
    if (!details.failed || details.counterexample === null) {
      timedOut ||= details.interrupted;
      break;
    }
    const shrunk = details.counterexample[0];
    const f = differences(a, b, shrunk, false).find(wanted);
    if (f) add(shrunk, f, "random");
    else if (hit !== null) add((hit as { trace: readonly TraceEntry[]; f: Found }).trace, (hit as { trace: readonly TraceEntry[]; f: Found }).f, "random");
    else break;
  }

  const order: readonly DiffDirection[] = ["more permissive", "less permissive", "flags changed"];
  const sorted = [...groups.values()]
    .sort((x, y) => (x.direction === y.direction ? x.action.localeCompare(y.action) : order.indexOf(x.direction) - order.indexOf(y.direction)))
    .map(({ action, direction, examples }) => ({ action, direction, examples }));
  const coverage = { old: a.recorder.report(), new: b.recorder.report() };
  const undecided = undecidedRules(coverage);
  const exercised = coverage.old.ruleRatio[0] + coverage.new.ruleRatio[0] > 0;
  return { groups: sorted, runs, directed: directedRuns, ...(exhaustive ? { exhaustive } : {}), seed, timedOut, changes: changes.map((c) => ({ ...c, witnessed: witnessed.has(c.name) })), coverage, undecided, exercised };
}

/** Rules that decided in neither version (a rule of only one version is named with it). */
function undecidedRules(c: DiffCoverage): string[] {
  const oldRules = new Map(c.old.rules.map((r) => [r.rule, r.decided]));
  const newRules = new Map(c.new.rules.map((r) => [r.rule, r.decided]));
  const out: string[] = [];
  for (const name of new Set([...oldRules.keys(), ...newRules.keys()])) {
    const o = oldRules.get(name);
    const n = newRules.get(name);
    if ((o ?? 0) > 0 || (n ?? 0) > 0) continue;
    out.push(o === undefined ? `${name} (new)` : n === undefined ? `${name} (old)` : name);
  }
  return out;
}

function dedupe(traces: readonly (readonly TraceEntry[])[]): (readonly TraceEntry[])[] {
  const seen = new Set<string>();
  return traces.filter((t) => {
    const k = JSON.stringify(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
