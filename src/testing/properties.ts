import fc from "fast-check";
import type { Effect, EventSelector, PolicyFile, PrincipalSelector } from "../ast/nodes.js";
import { isTemporal, walkExpr } from "../ast/walk.js";
import type { Span } from "../ast/span.js";
import type { Policy } from "../runtime/engine.js";
import { actionPatternMatches, compileGlob, globMatch } from "../runtime/glob.js";
import type { Decision, DecisionError } from "../runtime/types.js";
import { arbTrace, type TraceEntry, type TraceOptions } from "./arbitraries.js";
import type { Outcome } from "./coverage.js";
import { arbDirectedTrace, directedTraces } from "./directed.js";
import { alphabetOf, exploreTraces, type ExhaustiveReport } from "./exhaustive.js";
import { stepOutcomes, type StepOutcome } from "./outcomes.js";
import { instrument, isProbe, type ClaimProbe, type Instrumented } from "./probes.js";
import { vocabularyOf, type Vocabulary } from "./vocabulary.js";
import { observe } from "../runtime/operations.js";

/** Options for checking properties. */
export interface PropertyOptions {
  /** Random traces per claim after the directed ones (default 200). */
  readonly runs?: number;
  /** Seed of the random generator; the same seed gives the same traces (default: random, reported). */
  readonly seed?: number;
  /** Stop a claim's search after this many ms; a search cut short fails (default: no limit). */
  readonly timeout?: number;
  /** Most event groups per random trace (default 12). */
  readonly maxGroups?: number;
  /**
   * Also check every trace of up to this many events over the policy's alphabet (`leash test
   * --exhaustive N`): a claim that holds is then proved up to that bound. A search that cannot reach
   * the bound within its budget fails, saying how far it got.
   */
  readonly exhaustive?: number;
  /** Most events the exhaustive search decides (default 3,000,000). */
  readonly exhaustiveBudget?: number;
  /** Called with every decision and signal outcome (coverage). */
  readonly onOutcome?: (o: Outcome) => void;
}

/** The shortest trace found that breaks a claim. */
export interface Counterexample {
  /** The trace up to and including the violating request, as JSONL trace lines. */
  readonly trace: readonly TraceEntry[];
  /** 0-based index of the violating request in `trace` (its last event). */
  readonly index: number;
  /** What the policy decided for it. */
  readonly decision: { readonly effect: string; readonly rules: readonly string[]; readonly flags: readonly string[]; readonly reasons: readonly string[] };
  /** What each event of the trace did (the expected effects of the test block that pins it). */
  readonly outcomes: readonly StepOutcome[];
  /** The effect the claim wants for the violating request, as a test step writes it; null when no step can say it (`never flag`). */
  readonly claimed: string | null;
  /** Which part of the search found it. */
  readonly phase: SearchPhase;
  /** One line: what the claim says and what happened. */
  readonly message: string;
}

/** The parts of a search: traces aimed at the policy's edges, every short trace, random traces. */
export type SearchPhase = "directed" | "exhaustive" | "random";

/** The outcome of checking one property claim. */
export interface ClaimResult {
  readonly property: string;
  /** The claim as written. */
  readonly claim: string;
  readonly span: Span;
  readonly ok: boolean;
  /** Random traces tried (up to and including the first failing one). */
  readonly runs: number;
  /** Directed traces tried (up to and including the first failing one). */
  readonly directed: number;
  /** How far the exhaustive search went, when one was asked for. */
  readonly exhaustive?: ExhaustiveReport;
  /** Seed that reproduces this search (`leash test --seed`). */
  readonly seed: number;
  /** fast-check's path to a randomly found counterexample, with `seed` (`fc.assert(..., {seed, path})`). */
  readonly path?: string;
  readonly shrinks: number;
  /** The search was cut short by the timeout (a failure unless a counterexample was found). */
  readonly timedOut: boolean;
  /** Requests the claim applied to, over all traces: a claim that never applied proved nothing. */
  readonly applied: number;
  /** No request of any trace was one the claim is about: the claim fails, since it proved nothing. */
  readonly vacuous: boolean;
  readonly counterexample?: Counterexample;
  /** Why the claim could not be checked, or why it fails without a counterexample. */
  readonly error?: string;
}

const DEFAULT_RUNS = 200;

/** A random seed for a search, reported so it can be replayed. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

/** Whether the claim's effect is what the policy decided. `flag` means some (non-probe) flag was raised. */
function effectHolds(effect: Effect, d: { effect: string; flags: readonly string[] }): boolean {
  return effect === "flag" ? d.flags.some((f) => !isProbe(f)) : d.effect === effect;
}

/** What a claim says about a decision it applies to: true when the decision breaks it. */
export function breaksClaim(quantifier: "never" | "always", effect: Effect, d: { effect: string; flags: readonly string[] }): boolean {
  const holds = effectHolds(effect, d);
  return quantifier === "never" ? holds : !holds;
}

interface Violation {
  readonly index: number;
  readonly decision: Decision;
}

/**
 * Whether a claim is about this event: its probe matched, and matched without an evaluation error
 * (a claim over `context.risk` says nothing about a request without one; a flag rule would match
 * it fail-closed).
 */
function applies(claim: ClaimProbe, flags: readonly string[], errors: readonly DecisionError[], e: TraceEntry): boolean {
  if (claim.matches) return "action" in e && claim.matches(e);
  return flags.includes(claim.probe) && !errors.some((x) => x.rule === claim.probe);
}

/**
 * Replays a trace through the instrumented policy and returns the first request the claim applies
 * to whose decision breaks the claim. `applied` counts requests the claim applied to.
 */
function findViolation(policy: Policy, claim: ClaimProbe, trace: readonly TraceEntry[], counter: { applied: number }, onOutcome?: (o: Outcome) => void): Violation | null {
  let state = policy.initialState();
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    if ("signal" in e) {
      const r = observe(policy, state, e);
      state = r.state;
      onOutcome?.({ rules: r.revoked.map((x) => x.rule), flags: r.flags, errors: r.errors });
      if (applies(claim, r.flags, r.errors, e)) {
        counter.applied++;
        const effect = r.revoked.length > 0 ? "revoke" : "none";
        if (breaksClaim(claim.claim.quantifier, claim.claim.effect, { effect, flags: r.flags })) {
          return { index: i, decision: signalDecision(e.signal, e.time, effect, r.revoked.map((x) => x.rule), r.flags) };
        }
      }
      continue;
    }
    const r = policy.decide(state, e);
    state = r.state;
    onOutcome?.({ rules: r.decision.rules, flags: r.decision.flags, errors: r.decision.errors });
    if (!applies(claim, r.decision.flags, r.decision.errors, e)) continue;
    counter.applied++;
    if (breaksClaim(claim.claim.quantifier, claim.claim.effect, r.decision)) return { index: i, decision: r.decision };
  }
  return null;
}

/**
 * Removes events from a failing trace while it still fails, keeping every other event's time,
 * then moves the trace to start at 0. fast-check shrinks gaps between events, so an event whose
 * gap holds the next one on a window boundary survives its shrinking; this pass drops it.
 */
export function minimizeTrace(trace: readonly TraceEntry[], fails: (t: readonly TraceEntry[]) => boolean): TraceEntry[] {
  let cur = [...trace];
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = cur.length - 1; i >= 0 && cur.length > 1; i--) {
      const candidate = [...cur.slice(0, i), ...cur.slice(i + 1)];
      if (fails(candidate)) {
        cur = candidate;
        changed = true;
      }
    }
  }
  const t0 = cur[0]?.time ?? 0;
  const shifted = cur.map((e) => ({ ...e, time: e.time - t0 }) as TraceEntry);
  return fails(shifted) ? shifted : cur;
}

function signalDecision(name: string, time: number, effect: string, rules: string[], flags: readonly string[]): Decision {
  return { effect: effect as Decision["effect"], rules, reasons: [], obligations: [], flags, errors: [], warnings: [], validUntil: null, nextDeadline: null, watch: [], policyHash: "", time, action: name };
}

/** The actions, principals and resource paths of the vocabulary that a claim's targets and selectors match. */
export function claimFocus(claim: ClaimProbe["claim"], v: Vocabulary): NonNullable<TraceOptions["focus"]> {
  const targets = claim.targets.filter((t) => t.kind === "ActionTarget").map((t) => t.pattern.segments);
  let actions = v.actions.filter((a) => targets.some((t) => actionPatternMatches(t, a)));
  if (actions.length === 0) actions = targets.map((t) => t.map((s) => (s === "*" ? "x" : s)).join("."));
  // The events the claim's history operators look for come often in the claim's own traces too,
  // in bursts around the thresholds the claim compares counts with.
  const history = historyOf(claim);
  actions = [...new Set([...actions, ...v.actions.filter((a) => history.actions.some((t) => actionPatternMatches(t, a)))])];
  const signals = v.signals.filter((s) => history.signals.some((t) => actionPatternMatches(t, s)));
  const repeats = [...new Set(history.thresholds.flatMap((n) => [n - 1, n, n + 1]).filter((n) => n >= 1 && n <= 64))];
  let principals = claim.principals.length === 0 ? [] : v.principals.filter((p) => claim.principals.some((s) => selectorMatches(s, p)));
  if (principals.length === 0)
    principals = claim.principals.flatMap((s) => (s.principalKind === null ? [] : [{ kind: s.principalKind.value, id: s.id === null ? "p1" : s.id.value.replaceAll("*", "x") }]));
  const globs = claim.resources.map((r) => compileGlob(r.glob));
  let resourcePaths = globs.length === 0 ? [] : v.resourcePaths.filter((p) => globs.some((g) => globMatch(g, p)));
  if (resourcePaths.length === 0) resourcePaths = claim.resources.map((r) => r.glob.replaceAll("*", "x"));
  return { actions, principals, resourcePaths, signals, repeats };
}

/** The actions and signals the claim's history operators read, and the constants counts are compared with. */
function historyOf(claim: ClaimProbe["claim"]): { actions: (readonly string[])[]; signals: (readonly string[])[]; thresholds: number[] } {
  const actions: (readonly string[])[] = [];
  const signals: (readonly string[])[] = [];
  const thresholds: number[] = [];
  const add = (sel: EventSelector | null) => {
    if (sel === null) return;
    for (const p of sel.patterns) {
      if (p.segments.length === 1 && p.segments[0] === "*") continue;
      if (sel.filter === "signal" || sel.filter === "happened") signals.push(p.segments);
      if (sel.filter !== "signal") actions.push(p.segments);
    }
  };
  for (const c of claim.conditions)
    walkExpr(c.condition, (e) => {
      if (e.kind === "SequenceCall") for (const st of e.stages) add(st);
      else if (e.kind === "DistinctCall") add(e.events);
      else if (e.kind !== "DeviatesCall" && isTemporal(e)) add(e.events);
      if (e.kind === "AfterCall" || e.kind === "SequenceCall") add(e.until);
      if (e.kind === "CompareExpr")
        for (const [a, b] of [[e.left, e.right], [e.right, e.left]] as const) if ((a.kind === "CountCall" || a.kind === "DistinctCall") && b.kind === "NumberLit" && Number.isInteger(b.value)) thresholds.push(b.value);
    });
  return { actions, signals, thresholds };
}

function selectorMatches(s: PrincipalSelector, p: { kind: string; id: string }): boolean {
  if (s.principalKind !== null && s.principalKind.value !== p.kind) return false;
  if (s.id !== null && s.id.value !== "*" && !globMatch(compileGlob(s.id.value), p.id)) return false;
  return true;
}

/**
 * Searches for a counterexample to each claim of an instrumented policy, in three parts: the
 * policy's directed traces (its thresholds, windows, limits, labels and rules reached and
 * straddled), then, with `exhaustive: N`, every trace of up to N events over its alphabet, then
 * `runs` random traces (mixtures of directed traces, and traces from the policy's vocabulary with
 * half of the requests about the claim). A request the claim applies to whose decision breaks it
 * fails the claim; the trace is shrunk. A claim no request applied to fails as vacuous.
 */
export function checkClaims(inst: Pick<Instrumented, "policy" | "claims">, options: PropertyOptions = {}): ClaimResult[] {
  const v = vocabularyOf(inst.policy);
  const seed = options.seed ?? randomSeed();
  const deadline = options.timeout ? Date.now() + options.timeout * Math.max(1, inst.claims.length) : undefined;
  const searches = inst.claims.map((claim) => new ClaimSearch(inst.policy, claim, v, seed, options));
  for (const s of searches) s.directed();
  if (options.exhaustive !== undefined && options.exhaustive > 0) exhaustivePhase(inst.policy, searches, options, deadline);
  return searches.map((s) => s.finish());
}

/** Searches for a counterexample to one claim (every part of `checkClaims`). */
export function checkClaim(policy: Policy, claim: ClaimProbe, v: Vocabulary, seed: number, options: PropertyOptions): ClaimResult {
  const s = new ClaimSearch(policy, claim, v, seed, options);
  s.directed();
  if (options.exhaustive !== undefined && options.exhaustive > 0) exhaustivePhase(policy, [s], options, options.timeout ? Date.now() + options.timeout : undefined);
  return s.finish();
}

/** One exhaustive pass for every claim still open: each node's last event checked against each. */
function exhaustivePhase(policy: Policy, searches: readonly ClaimSearch[], options: PropertyOptions, deadline: number | undefined): void {
  const open = () => searches.filter((s) => s.found === null);
  if (open().length === 0) return;
  const alphabet = alphabetOf([policy]);
  const report = exploreTraces([policy], alphabet, { maxEvents: options.exhaustive!, budget: options.exhaustiveBudget, deadline }, (trace, [o]) => {
    const e = trace[trace.length - 1]!;
    if (o!.decision) options.onOutcome?.({ rules: o!.decision.rules, flags: o!.decision.flags, errors: o!.decision.errors });
    let remaining = 0;
    for (const s of searches) {
      if (s.found !== null) continue;
      const d = o!.decision;
      const obs = o!.observed;
      const flags = d ? d.flags : obs!.flags;
      const errors = d ? d.errors : obs!.errors;
      if (applies(s.claim, flags, errors, e)) {
        s.applied++;
        const effect = d ? d.effect : obs!.revoked.length > 0 ? "revoke" : "none";
        if (breaksClaim(s.claim.claim.quantifier, s.claim.claim.effect, { effect, flags })) s.found = { trace: [...trace], phase: "exhaustive" };
      }
      if (s.found === null) remaining++;
    }
    return remaining === 0;
  });
  for (const s of searches) s.exhaustive = report;
}

/** The search for one claim: its phases share the counters. */
class ClaimSearch {
  applied = 0;
  directedRuns = 0;
  found: { trace: readonly TraceEntry[]; phase: SearchPhase } | null = null;
  exhaustive: ExhaustiveReport | undefined;
  private readonly started = Date.now();

  constructor(
    readonly policy: Policy,
    readonly claim: ClaimProbe,
    readonly v: Vocabulary,
    readonly seed: number,
    readonly options: PropertyOptions,
  ) {}

  /** The directed traces, those about the claim's own probe first. */
  directed(): void {
    const traces = directedTraces(this.policy);
    const own = traces.filter((t) => t.rules.includes(this.claim.probe));
    const rest = traces.filter((t) => !t.rules.includes(this.claim.probe));
    for (const t of [...own, ...rest]) {
      this.directedRuns++;
      if (findViolation(this.policy, this.claim, t.trace, this, this.options.onOutcome) !== null) {
        this.found = { trace: t.trace, phase: "directed" };
        return;
      }
      if (this.options.timeout && Date.now() - this.started > this.options.timeout) return;
    }
  }

  finish(): ClaimResult {
    const { claim, seed, options } = this;
    const base = { property: claim.property, claim: claim.text, span: claim.span, seed, directed: this.directedRuns, ...(this.exhaustive ? { exhaustive: this.exhaustive } : {}) };
    if (this.found !== null) return { ...base, ...this.counterexample(this.found.trace, this.found.phase), runs: 0, shrinks: 0, timedOut: false, applied: this.applied, vacuous: false };
    const left = options.timeout ? options.timeout - (Date.now() - this.started) : undefined;
    if (left !== undefined && left <= 0) return { ...base, ok: false, runs: 0, shrinks: 0, timedOut: true, applied: this.applied, vacuous: false, error: `timed out after ${options.timeout} ms (${this.directedRuns} directed traces) without a counterexample` };
    const arb = fc.oneof(
      { weight: 2, arbitrary: arbDirectedTrace(this.policy, { prefer: [claim.probe] }) },
      { weight: 1, arbitrary: arbTrace(this.v, { maxGroups: options.maxGroups ?? 12, focus: claimFocus(claim.claim, this.v) }) },
    );
    const prop = fc.property(arb, (trace) => findViolation(this.policy, claim, trace, this, options.onOutcome) === null);
    const details = fc.check(prop, { numRuns: options.runs ?? DEFAULT_RUNS, seed, ...(left !== undefined ? { interruptAfterTimeLimit: left } : {}) });
    const random = { runs: details.numRuns, shrinks: details.numShrinks, timedOut: details.interrupted, applied: this.applied };
    if (details.failed && details.counterexample !== null) return { ...base, ...random, ...this.counterexample(details.counterexample[0], "random"), path: details.counterexamplePath ?? undefined, vacuous: false };
    if (details.interrupted) return { ...base, ...random, ok: false, vacuous: false, error: `timed out after ${options.timeout} ms and ${this.directedRuns} directed and ${details.numRuns} random traces without a counterexample` };
    const ex = this.exhaustive;
    if (this.applied === 0) return { ...base, ...random, ok: false, vacuous: true, error: "vacuous: no generated request was one the claim is about, so the search proved nothing" };
    if (ex && !ex.complete) return { ...base, ...random, ok: false, vacuous: false, error: exhaustiveShortfall(ex) };
    return { ...base, ...random, ok: true, vacuous: false };
  }

  /** The counterexample of a failing trace: shrunk, cut after the violation, each step's outcome. */
  private counterexample(found: readonly TraceEntry[], phase: SearchPhase): Pick<ClaimResult, "ok" | "counterexample" | "error"> {
    const { policy, claim } = this;
    const fails = (t: readonly TraceEntry[]) => findViolation(policy, claim, t, { applied: 0 }) !== null;
    const trace = minimizeTrace(found, fails);
    const hit = findViolation(policy, claim, trace, { applied: 0 });
    if (hit === null) return { ok: false, error: "the counterexample did not reproduce (the policy is not deterministic?)" };
    const cut = trace.slice(0, hit.index + 1);
    const d = hit.decision;
    const shown = { effect: d.effect, rules: d.rules, flags: d.flags.filter((f) => !isProbe(f)), reasons: d.reasons.map((r) => `${r.rule ?? r.code ?? ""}: ${r.message}`) };
    const c = claim.claim;
    const what = c.effect === "flag" ? (shown.flags.length > 0 ? `flagged by ${shown.flags.join(", ")}` : "not flagged") : `${d.effect}${d.rules.length > 0 ? ` by ${d.rules.join(", ")}` : ""}`;
    const message = `event ${hit.index + 1} (${d.action}) was ${what}; the claim says ${c.quantifier} ${c.effect}`;
    return { ok: false, counterexample: { trace: cut, index: hit.index, decision: shown, outcomes: stepOutcomes(policy, cut), claimed: claimedEffect(c.quantifier, c.effect), phase, message } };
  }
}

/** What a test step should expect where the claim is broken: the claim's effect, or for `never E` the effect it would rather see. */
export function claimedEffect(quantifier: "never" | "always", effect: Effect): string | null {
  if (quantifier === "always") return effect;
  switch (effect) {
    case "allow":
      return "deny";
    case "flag":
      return null;
    default:
      return "allow";
  }
}

/** Why an exhaustive search that stopped early is not a proof. */
export function exhaustiveShortfall(ex: ExhaustiveReport): string {
  if (ex.stopped === "alphabet") return `the exhaustive search cannot run: the alphabet has ${ex.letters} letters (at most 20000); lower --exhaustive or split the policy`;
  const why = ex.stopped === "deadline" ? "the time limit" : `the budget of ${ex.decisions} decisions`;
  return `exhaustive search proved only traces of up to ${ex.depth} of the ${ex.maxEvents} events asked (${why} ran out over ${ex.letters} letters and ${ex.gaps} gaps)`;
}

/**
 * Checks every `property` of a policy source: compiles it with one probe per claim and searches
 * random traces for counterexamples. Returns the results, or the diagnostics when it does not compile.
 */
export function checkProperties(source: string, ast: PolicyFile, options: PropertyOptions & { file?: string } = {}): { results: ClaimResult[]; diagnostics: readonly import("../diagnostics/diagnostic.js").Diagnostic[] } {
  const inst = instrument(source, ast, { file: options.file });
  if (inst.policy === null) return { results: [], diagnostics: inst.diagnostics };
  return { results: checkClaims(inst as Instrumented, options), diagnostics: [] };
}
