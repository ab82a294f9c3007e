import type { Bucket } from "../compile/action-index.js";
import { ActionIndex } from "../compile/action-index.js";
import { runChecks } from "../compile/checks.js";
import { EFFECT_RANK, type CompiledRule, type RuleOutcome } from "../compile/generate.js";
import { DEFAULT_INDEX_OPTIONS, walkIndex, type IndexOptions, type Probe, type ProbeSink } from "../compile/rule-index.js";
import { contentHash, hash32, mix32 } from "../compile/hash.js";
import type { KeyGroupIR, OpIR, PolicyIR } from "../compile/ir.js";
import { Failure, MAX_STRING, readOwn } from "./attributes.js";
import { EvalContext, KeyCache, principalKey, sessionKey, Subject, type Layout } from "./context.js";
import { keyText, keyValueTooLong } from "./keys.js";
import type { LayoutDescriptor } from "./layout.js";
import { addLabel, applyUpdate, distinctLimitAdmits, distinctLimitValue, emptyRegisters, grantHolds, limitUses, useDistinctLimit, useGrant, useLimit, type Category } from "./operators.js";
import { CorruptPartition, LoadedPartition, loadPartition, MAX_REASON, Partition, Revocation, UnknownLayout, type LayoutSource } from "./partition.js";
import { matchTerms } from "./readers.js";
import { DEFAULT_LIMITS, describe, MAX_NAME, nameError, normalizeRequest, normalizeSignal, quote, Rejection, validTime, type Event, type RequestLimits } from "./request.js";
import { emptyState, StateValue, stateOf } from "./state.js";
import { DecideResultValue, DecisionValue } from "./values.js";
import type { Decision, DecisionEffect, DecisionError, DecideResult, Inspection, KeySpec, Obligation, ObserveResult, PolicyState, Reason, RecheckResult } from "./types.js";

const EMPTY: readonly never[] = Object.freeze([]);
/** The effect of a combined rank (0: nothing matched). */
const EFFECT_OF_RANK: readonly DecisionEffect[] = ["deny", "allow", "challenge", "deny", "revoke"];
/** What the spare context holds between decisions (so it keeps no request alive). */
const NO_EVENT: Event = Object.freeze({
  name: "",
  isSignal: false,
  principal: undefined,
  principalKind: undefined,
  principalId: undefined,
  resource: undefined,
  resourcePath: undefined,
  resourceId: undefined,
  context: undefined,
  session: undefined,
  time: 0,
});

/** What a step over partitions does: decide a request, observe a signal, revoke, reinstate, recheck. */
export type PlanKind = "decide" | "observe" | "revoke" | "reinstate" | "recheck";

/**
 * The partitions one operation reads and may write, worked out before any is read: the Guard asks
 * its store for exactly these keys and runs `policy.step(plan, partitions)` over them.
 * @internal between the runtime and the Guard; not a stable API.
 */
export class Plan {
  constructor(
    readonly kind: PlanKind,
    readonly ev: Event,
    readonly bucket: Bucket | null,
    /** The distinct partition keys, in the order `step` takes their values. */
    readonly keys: readonly string[],
    /** The key group of each key. */
    readonly groups: readonly number[],
    /** Per key: whether the step may write it (the Guard serialises work on these). */
    readonly writable: readonly boolean[],
    /** revoke: the reason; recheck: the decision being rechecked. */
    readonly extra: unknown,
    /** Per key: its 32-bit hash (for decision digests), or null when the plan names a key directly. */
    readonly hashes: readonly number[] | null = null,
  ) {}
}

/** What a step over the partitions of a plan decided, and what it writes back. */
export class StepOutcome<T> {
  constructor(
    readonly result: T,
    /** Per key of the plan: the new partition, `null` to delete it, `undefined` to leave it. */
    readonly writes: (Partition | null | undefined)[],
    /** Per key: how long (ms) a store must keep a written partition at least; Infinity: keep it. */
    readonly keepMs: number[],
    /** Per key: whether the write records or lifts a revocation (a shared store tells its other holders). */
    readonly notify: boolean[] = [],
  ) {}
}

/** The outcome of a signal step, as the Guard reports it. */
export interface SignalStep {
  readonly revoked: readonly { readonly key: string; readonly rule: string; readonly reason: string }[];
  readonly flags: readonly string[];
  readonly errors: readonly DecisionError[];
}

/** The outcome of a revoke or reinstate step. */
export interface KeyStep {
  readonly key: string;
  readonly changed: boolean;
  readonly error?: DecisionError;
}

/** A step could not run: a partition is in a layout the step's layout source does not know. */
export class NeedsLayout {
  constructor(
    readonly layout: string,
    readonly key: string,
  ) {}
}

/** Why a step gave up before evaluating: its decision (corrupt partition, full state). */
class Refusal {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

/** Options fixed when a policy is compiled. */
export interface PolicyOptions {
  readonly maxKeys: number;
  readonly limits: RequestLimits;
  /** How the rule index is built (tests force every rule into the index with leafSize 0). */
  readonly index?: IndexOptions;
}

/**
 * A compiled policy: pure decision functions over an immutable state. Build one with
 * `compilePolicy`; it is frozen and safe to share.
 */
export class Policy implements ProbeSink {
  /** Content hash of the policy source; every decision carries it. */
  readonly hash: string;
  /** Rule ids in source order (workflow deviation rules after the rules). */
  readonly ruleIds: readonly string[];
  /** Declared actions (empty without an actions block), with their `[high]` tag. */
  readonly actions: readonly { readonly name: string; readonly high: boolean }[];
  /** The checked IR, for tools (explain, coverage, diff). */
  readonly ir: PolicyIR;
  /** Hash of the partition layouts of every key group. */
  readonly layoutHash: string;
  /** The layout descriptors of this policy's key groups, by id. */
  readonly layouts: Readonly<Record<string, LayoutDescriptor>>;
  /** Most partitions a state holds (the key cap). */
  readonly maxKeys: number;
  /** The request limits (R302). */
  readonly limits: RequestLimits;
  private readonly index: ActionIndex;
  private readonly layout: Layout;
  private readonly initial: PolicyState;
  private readonly groupOps: readonly (readonly OpIR[])[];
  private readonly ownLayouts: LayoutSource;
  /** Orders errors and notes by their rules' places in the source (rules without one first). */
  private readonly bySource: (a: { readonly rule: string | null }, b: { readonly rule: string | null }) => number;
  /**
   * The evaluation context of the last finished decision, reused by the next one. A decision takes
   * it out (leaving null) and puts it back when done, so a decision started while another is
   * running (a getter on a request calling `decide`) builds its own. Also the arrays a pure write
   * fills, and the last layouts table merged with this policy's own.
   */
  private readonly spare: {
    ctx: EvalContext | null;
    keys: (string | null | undefined)[];
    groups: (string | undefined)[];
    values: (string | undefined)[];
    parts: unknown[];
    layoutsIn: object | null;
    layoutsOut: Readonly<Record<string, LayoutDescriptor>> | null;
  } = {
    ctx: null,
    keys: [],
    groups: [],
    values: [],
    parts: [],
    layoutsIn: null,
    layoutsOut: null,
  };

  /** @internal use `compilePolicy` */
  constructor(ir: PolicyIR, rules: readonly CompiledRule[], hash: string, options: PolicyOptions) {
    this.ir = ir;
    this.hash = hash;
    this.ruleIds = Object.freeze(rules.map((r) => r.id));
    this.actions = Object.freeze(ir.actions.map((a) => Object.freeze({ name: a.name, high: a.high })));
    this.index = new ActionIndex(ir, rules, hash, options.index ?? DEFAULT_INDEX_OPTIONS);
    const place = new Map(rules.map((r) => [r.id, r.ir.index]));
    this.bySource = (a, b) => (a.rule === null ? -1 : (place.get(a.rule) ?? -1)) - (b.rule === null ? -1 : (place.get(b.rule) ?? -1));
    this.layout = { groups: ir.keyGroups, workflows: ir.workflows, keyCache: new KeyCache() };
    this.layoutHash = contentHash(ir.keyGroups.map((g) => g.layoutId).join(";"));
    const own: Record<string, LayoutDescriptor> = {};
    for (const g of ir.keyGroups) own[g.layoutId] = g.layout;
    this.layouts = Object.freeze(own);
    this.ownLayouts = (id) => own[id];
    this.groupOps = ir.keyGroups.map((g) => g.ops.map((i) => ir.ops[i]!));
    this.maxKeys = options.maxKeys;
    this.limits = options.limits;
    this.initial = emptyState(this.layoutHash);
    Object.freeze(this);
  }

  /** The empty state: no history, nothing revoked. */
  initialState(): PolicyState {
    return this.initial;
  }

  /**
   * Decides a request and returns the decision with the state after it. Pure: the same state and
   * request always give the same result; neither input is modified. Never throws: a malformed
   * request (R304), a request over a limit (R302), an undeclared action (R316) or a state that
   * cannot be read (R303) gives a deny that says why, and the state unchanged.
   */
  decide(state: PolicyState, request: unknown): DecideResult {
    let ev: Event | undefined;
    try {
      const n = normalizeRequest(request, this.limits);
      if (n instanceof Rejection) return new DecideResultValue(this.errorDecision(n.code, n.message, request), state);
      ev = n;
      const st = stateOf(state);
      if (typeof st === "string") return new DecideResultValue(this.errorDecision("R303", st, request, ev), state);
      const bucket = this.bucketFor(ev);
      if (!isBucket(bucket)) return new DecideResultValue(bucket, state);
      return this.decideOn(st, state, ev, bucket);
    } catch (e) {
      // Throwing getters, proxies and the like: the request cannot be read, so it is denied.
      return new DecideResultValue(this.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null, ev), state);
    }
  }

  /**
   * Records an observed signal (`login.fail`, `approval.granted`, `session.revoked`): history
   * operators that count signals see it, and `revoke signal X` / `flag signal X` rules run on it.
   */
  observe(state: PolicyState, signal: unknown): ObserveResult {
    try {
      const n = normalizeSignal(signal, this.limits);
      if (n instanceof Rejection) return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: n.code, message: n.message }] };
      const st = stateOf(state);
      if (typeof st === "string") return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: "R303", message: st }] };
      const plan = this.planFor("observe", n, this.index.signal(n.name), null);
      const out = this.stepPure(st, plan, (c) => this.evaluate(c, plan.bucket!, true, false));
      if (out instanceof Refusal) return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: out.code, message: out.message }] };
      const s = signalStepOf(out.result);
      return { state: out.state, revoked: s.revoked, flags: s.flags, errors: s.errors };
    } catch (e) {
      return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: "R304", message: `malformed signal: it cannot be read (${describeError(e)})` }] };
    }
  }

  /**
   * Re-evaluates a decision the caller holds (a long-running grant) at the request's time and
   * context, without recording anything. The decision must be one this policy made for this request
   * (same action, principal, session and resource); the quantity a `limit` granted is not charged
   * again only while the attributes it read are unchanged (its digest still matches).
   */
  recheck(state: PolicyState, previous: Decision, request: unknown): RecheckResult {
    try {
      const n = normalizeRequest(request, this.limits);
      if (n instanceof Rejection) return notStanding(this.errorDecision(n.code, n.message, request));
      const st = stateOf(state);
      if (typeof st === "string") return notStanding(this.errorDecision("R303", st, request, n));
      const bucket = this.bucketFor(n);
      if (!isBucket(bucket)) return notStanding(bucket);
      const bound = this.bindRecheck(previous, n, bucket);
      if (bound instanceof DecisionValue) return notStanding(bound);
      const plan = this.planFor("recheck", n, bucket, bound);
      const out = this.stepPure(st, plan, (c) => this.evaluateHeld(c, bucket, bound));
      if (out instanceof Refusal) return notStanding(this.errorDecision(out.code, out.message, request, n));
      return standing(bound.effect, out.result as Decision, bound.note);
    } catch (e) {
      return notStanding(this.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null));
    }
  }

  /**
   * Revokes a key by API call: every later request of that key is denied (R307) until `reinstate`.
   * The key is a session, a principal, or a value of an attribute the policy revokes by (a `target`
   * path): any other key is refused with R309, as is a malformed one; a time that is not valid
   * (see `validTime`) or a reason that is not a string is refused with R304. A refused call leaves
   * the state unchanged. Never throws.
   */
  revoke(state: PolicyState, key: KeySpec, reason: string, time: number | string = 0): { state: PolicyState; key: string; error?: DecisionError } {
    try {
      const plan = this.planKey("revoke", key, time, reason);
      if (!(plan instanceof Plan)) return { state, key: plan.key, error: plan.error };
      const st = stateOf(state);
      if (typeof st === "string") return { state, key: plan.keys[0]!, error: { rule: null, code: "R303", message: st } };
      const out = this.stepPure(st, plan, (c) => this.keyStep(c, plan));
      if (out instanceof Refusal) return { state, key: plan.keys[0]!, error: { rule: null, code: out.code, message: out.message } };
      const r = out.result as KeyStep;
      return r.error ? { state, key: r.key, error: r.error } : { state: out.state, key: r.key };
    } catch (e) {
      return { state, key: "", error: { rule: null, code: "R309", message: `the key cannot be read (${describeError(e)})` } };
    }
  }

  /**
   * Lifts a revocation. A key that is not revoked, or not one this policy revokes by, is answered
   * with R309 and changes nothing; so is a malformed key. Never throws.
   */
  reinstate(state: PolicyState, key: KeySpec, time: number | string = 0): { state: PolicyState; reinstated: boolean; error?: DecisionError } {
    try {
      const plan = this.planKey("reinstate", key, time, null);
      if (!(plan instanceof Plan)) return { state, reinstated: false, error: plan.error };
      const st = stateOf(state);
      if (typeof st === "string") return { state, reinstated: false, error: { rule: null, code: "R303", message: st } };
      const out = this.stepPure(st, plan, (c) => this.keyStep(c, plan));
      if (out instanceof Refusal) return { state, reinstated: false, error: { rule: null, code: out.code, message: out.message } };
      const r = out.result as KeyStep;
      return r.error ? { state, reinstated: false, error: r.error } : { state: out.state, reinstated: true };
    } catch (e) {
      return { state, reinstated: false, error: { rule: null, code: "R309", message: `the key cannot be read (${describeError(e)})` } };
    }
  }

  /**
   * The revoked keys of a state, with who revoked them and why, sorted by key. Never throws: for a
   * value that is not a state the list is empty and carries the error (R303).
   */
  revocations(state: PolicyState): Inspection<{ key: string; rule: string | null; reason: string; time: number }> {
    return this.inspect(state, (key, p) => (p.v === undefined ? null : { key, rule: p.v.rule, reason: p.v.reason, time: p.v.t }));
  }

  /**
   * The key partitions of a state (for inspection and tests; not for the decision path), with live
   * registers at `now` (registers judged by each key's own time are shown when `now` is before their
   * expiry). Never throws: for a value that is not a state the list is empty and carries the error.
   */
  partitions(state: PolicyState, now = -Infinity): Inspection<{ key: string; lastSeen: number; expires: number; registers: readonly unknown[]; revoked: boolean }> {
    return this.inspect(state, (key, p) => (p.x > now || p.v !== undefined ? { key, lastSeen: p.t, expires: p.x, registers: p.r, revoked: p.v !== undefined } : null));
  }

  /* ------------------------------------------------------------------------------------------ */
  /* The core: plans, and steps over the partitions of a plan                                    */
  /* ------------------------------------------------------------------------------------------ */

  /**
   * The plan of a request the Guard decides, or the decision when it is refused before any state
   * is read (malformed, over a limit, undeclared action). `fallbackTime` fills a missing `time`.
   * @internal
   */
  planRequest(request: unknown, fallbackTime: number): Plan | Decision {
    try {
      const n = normalizeRequest(request, this.limits, fallbackTime);
      if (n instanceof Rejection) return this.errorDecision(n.code, n.message, request);
      const bucket = this.bucketFor(n);
      if (!isBucket(bucket)) return bucket;
      return this.planFor("decide", n, bucket, null);
    } catch (e) {
      return this.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null);
    }
  }

  /** @internal The plan of a signal the Guard observes, or why it is refused. */
  planSignal(signal: unknown, fallbackTime: number): Plan | DecisionError {
    try {
      const n = normalizeSignal(signal, this.limits, fallbackTime);
      if (n instanceof Rejection) return { rule: null, code: n.code, message: n.message };
      return this.planFor("observe", n, this.index.signal(n.name), null);
    } catch (e) {
      return { rule: null, code: "R304", message: `malformed signal: it cannot be read (${describeError(e)})` };
    }
  }

  /** @internal The plan of a recheck, or its answer when the decision cannot be rechecked at all. */
  planRecheck(previous: Decision, request: unknown, fallbackTime: number): Plan | RecheckResult {
    try {
      const n = normalizeRequest(request, this.limits, fallbackTime);
      if (n instanceof Rejection) return notStanding(this.errorDecision(n.code, n.message, request));
      const bucket = this.bucketFor(n);
      if (!isBucket(bucket)) return notStanding(bucket);
      const bound = this.bindRecheck(previous, n, bucket);
      if (bound instanceof DecisionValue) return notStanding(bound);
      return this.planFor("recheck", n, bucket, bound);
    } catch (e) {
      return notStanding(this.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null));
    }
  }

  /** @internal The plan of a revoke or reinstate by API, or why the key or time is refused. */
  planKey(kind: "revoke" | "reinstate", key: KeySpec, time: unknown, reason: unknown): Plan | { key: string; error: DecisionError } {
    let g: number;
    let text: string;
    try {
      const k = this.keyGroupOf(key);
      if (typeof k === "string") return { key: "", error: { rule: null, code: "R309", message: k } };
      [g, text] = k;
    } catch (e) {
      return { key: "", error: { rule: null, code: "R309", message: `the key cannot be read (${describeError(e)})` } };
    }
    const t = validTime(time);
    if (t === undefined) return { key: text, error: { rule: null, code: "R304", message: `time must be finite milliseconds since the epoch (at most 8.64e15 in size) or an ISO 8601 string, got ${safeDescribe(time)}` } };
    if (kind === "revoke" && typeof reason !== "string") return { key: text, error: { rule: null, code: "R304", message: `the reason must be a string, got ${safeDescribe(reason)}` } };
    const ev: Event = { ...NO_EVENT, time: t };
    const r = kind === "revoke" ? (reason as string).slice(0, MAX_REASON) : null;
    return new Plan(kind, ev, null, [text], [g], [true], r);
  }

  /**
   * Runs `plan` over the stored values of its keys (`current[i]` for `plan.keys[i]`, null when
   * absent): the decision or outcome, and the partitions to write back. Pure and synchronous; a
   * store may run it more than once. `layouts` finds the descriptors of other versions' layouts;
   * when a partition's layout is unknown to it the result is a `NeedsLayout` and nothing is
   * written. Never throws.
   * @internal
   */
  step(plan: Plan, current: readonly unknown[], layouts: LayoutSource = this.ownLayouts): StepOutcome<Decision | SignalStep | KeyStep | RecheckResult> | NeedsLayout {
    try {
      const c = this.takeContext(plan.ev);
      try {
        const loaded = this.loadAll(c, plan, current, layouts);
        if (loaded instanceof NeedsLayout) return loaded;
        let result: Decision | SignalStep | KeyStep | RecheckResult;
        if (loaded instanceof Refusal) result = this.refusalOf(plan, loaded);
        else result = this.run(c, plan);
        const n = plan.keys.length;
        const writes = new Array<Partition | null | undefined>(n).fill(undefined);
        const keepMs = new Array<number>(n).fill(0);
        const notify = new Array<boolean>(n).fill(false);
        const refused = loaded instanceof Refusal || ((plan.kind === "revoke" || plan.kind === "reinstate") && (result as KeyStep).error !== undefined);
        const wrote = !refused && this.collect(c, plan, writes, keepMs);
        if (!wrote) writes.fill(undefined);
        else for (let i = 0; i < n; i++) notify[i] = writes[i] !== undefined && c.revocations[plan.groups[i]!] !== undefined;
        return new StepOutcome(result, writes, keepMs, notify);
      } finally {
        this.releaseContext(c);
      }
    } catch (e) {
      const d = this.errorDecision("R304", `the request could not be evaluated: ${describeError(e)}`, null, plan.ev);
      return new StepOutcome(plan.kind === "observe" ? { revoked: EMPTY, flags: EMPTY, errors: d.errors } : plan.kind === "revoke" || plan.kind === "reinstate" ? { key: plan.keys[0] ?? "", changed: false, error: d.errors[0] } : plan.kind === "recheck" ? notStanding(d) : d, new Array(plan.keys.length).fill(undefined), new Array(plan.keys.length).fill(0));
    }
  }

  /**
   * Decides a request's plan without its partitions, for a Guard whose store is down: the rules in
   * `skip` read their history as empty, every other rule that reads history fails closed (R314),
   * revocations are not seen, nothing is recorded, and the decision carries warning R319.
   * @internal
   */
  decideOffline(plan: Plan, skip: ReadonlySet<string>, why: DecisionError): Decision {
    const c = this.takeContext(plan.ev);
    try {
      c.offline = skip;
      c.offlineReason = why.message;
      for (const list of [plan.bucket!.reads, plan.bucket!.checks]) for (const g of list) c.key(g);
      const d = this.evaluate(c, plan.bucket!, false, false);
      const warning: DecisionError = { rule: null, code: "R319", message: `decided without the store (${why.code}: ${why.message}): the history of ${[...skip].join(", ") || "no rule"} read as empty, other histories failed closed, revocations unchecked` };
      return new DecisionValue(d.effect, d.rules, d.reasons, d.obligations, d.flags, d.errors, [...d.warnings, warning], d.validUntil, d.nextDeadline, d.watch, d.policyHash, d.time, d.action, d.principal ?? null, d.session ?? null, d.resource ?? null, d.digest ?? 0, false);
    } catch (e) {
      return this.errorDecision("R304", `the request could not be evaluated: ${describeError(e)}`, null, plan.ev);
    } finally {
      this.releaseContext(c);
    }
  }

  /**
   * A deny that no rule gave, for a plan the Guard could not run (store failure, timeout, closed):
   * the code and message say why.
   * @internal
   */
  refuse(plan: Plan | null, code: string, message: string, request?: unknown): Decision {
    return this.errorDecision(code, message, request ?? null, plan?.ev.name ? plan.ev : undefined);
  }

  /** The outcome a plan has when the state refused it before evaluation. */
  private refusalOf(plan: Plan, r: Refusal): Decision | SignalStep | KeyStep | RecheckResult {
    const error: DecisionError = { rule: null, code: r.code, message: r.message };
    switch (plan.kind) {
      case "observe":
        return { revoked: EMPTY, flags: EMPTY, errors: [error] };
      case "revoke":
      case "reinstate":
        return { key: plan.keys[0]!, changed: false, error };
      case "recheck":
        return notStanding(this.errorDecision(r.code, r.message, null, plan.ev));
      default:
        return this.errorDecision(r.code, r.message, null, plan.ev);
    }
  }

  /** Evaluates a loaded plan. */
  private run(c: EvalContext, plan: Plan): Decision | SignalStep | KeyStep | RecheckResult {
    switch (plan.kind) {
      case "decide":
        return this.evaluate(c, plan.bucket!, true, false);
      case "observe":
        return signalStepOf(this.evaluate(c, plan.bucket!, true, false));
      case "recheck": {
        const bound = plan.extra as Bound;
        return standing(bound.effect, this.evaluateHeld(c, plan.bucket!, bound), bound.note);
      }
      default:
        return this.keyStep(c, plan);
    }
  }

  /** The plan of an event: its bucket's groups with the keys the event gives them. */
  private planFor(kind: PlanKind, ev: Event, bucket: Bucket, extra: unknown): Plan {
    const keys: string[] = [];
    const groups: number[] = [];
    const writable: boolean[] = [];
    const hashes: number[] = [];
    const c = this.takeContext(ev);
    try {
      for (let l = 0; l < 2; l++) {
        const list = l === 0 ? bucket.reads : bucket.checks;
        for (let i = 0; i < list.length; i++) {
          const g = list[i]!;
          const k = c.key(g);
          if (k === null || keys.includes(k)) continue;
          keys.push(k);
          groups.push(g);
          writable.push(kind !== "recheck" && bucket.writable[g]!);
          hashes.push(c.hashes[g]!);
        }
      }
    } finally {
      this.releaseContext(c);
    }
    return new Plan(kind, ev, bucket, keys, groups, writable, extra, hashes);
  }

  /** Loads the stored values of a plan's keys into `c`. */
  private loadAll(c: EvalContext, plan: Plan, current: readonly unknown[], layouts: LayoutSource): NeedsLayout | Refusal | null {
    const bucket = plan.bucket;
    if (bucket !== null) {
      // The plan's keys as the plan resolved them (no second look-up per key).
      const hashes = plan.hashes;
      if (hashes !== null) {
        for (let i = 0; i < plan.keys.length; i++) {
          const g = plan.groups[i]!;
          c.keys[g] = plan.keys[i]!;
          c.hashes[g] = hashes[i]!;
        }
      }
      for (let l = 0; l < 2; l++) {
        const list = l === 0 ? bucket.reads : bucket.checks;
        for (let i = 0; i < list.length; i++) if (c.key(list[i]!) === null) c.missing(list[i]!);
      }
    }
    for (let i = 0; i < plan.keys.length; i++) {
      const g = plan.groups[i]!;
      if (plan.kind === "revoke" || plan.kind === "reinstate") c.keys[g] = plan.keys[i]!;
      const r = this.loadOne(c, g, current[i], layouts);
      if (r !== null) return r;
    }
    return null;
  }

  /** Loads one stored value into group `g` of `c`, or why it cannot be. `layouts` is built only when needed. */
  private loadOne(c: EvalContext, g: number, raw: unknown, layouts: LayoutSource | StateValue): NeedsLayout | Refusal | null {
    const key = c.keys[g]!;
    const group = this.layout.groups[g]!;
    if (keyValueTooLong(group.key, group.text, key, this.limits.maxKeyLength)) return new Refusal("R302", `request over a limit: ${group.key.kind === "compound" ? "a part of the key" : "the value of"} ${group.text} that keys a history is longer than ${this.limits.maxKeyLength} characters`);
    // The core's own write in this policy's layout, as it is (the common case).
    if (raw === null || (raw instanceof Partition && raw.l === group.layoutId)) {
      c.load(g, raw, false);
      return null;
    }
    if (layouts instanceof StateValue) layouts = this.layoutsOf(layouts);
    const loaded = loadPartition(raw, key, group, this.groupOps[g]!, this.ir.labels, layouts, c.ev.time);
    if (loaded === null || loaded instanceof Partition) c.load(g, loaded, false);
    else if (loaded instanceof LoadedPartition) c.load(g, loaded.p, true);
    else if (loaded instanceof UnknownLayout) return new NeedsLayout(loaded.layout, key);
    else return new Refusal("R303", `state_corrupt: ${(loaded as CorruptPartition).message}`);
    return null;
  }

  /**
   * What the evaluation in `c` writes back, per key of `plan` into `writes` and `keepMs`. False when
   * nothing is written.
   */
  private collect(c: EvalContext, plan: Plan, writes: (Partition | null | undefined)[], keepMs: number[]): boolean {
    if (plan.kind === "recheck") return false;
    let any = false;
    for (let i = 0; i < plan.keys.length; i++) {
      const g = plan.groups[i]!;
      const p = this.partitionAfter(c, g);
      writes[i] = p;
      if (p === undefined) continue;
      any = true;
      keepMs[i] = p === null ? 0 : keepOf(p, c.nows[g]!);
    }
    return any;
  }

  /**
   * The partition of group `g` after the evaluation in `c`: a new one (registers written, a
   * revocation recorded or lifted, a lifetime extended by a read), `null` to delete it (its
   * registers expired at the key's own time and nothing else keeps it), or `undefined` (unchanged).
   */
  private partitionAfter(c: EvalContext, g: number): Partition | null | undefined {
    const stored = c.stored[g];
    if (stored === undefined) return undefined;
    const group = this.layout.groups[g]!;
    const live = c.parts[g];
    const now = c.nows[g]!;
    const regs = c.writes[g];
    const rev = c.revocations[g];
    const v = rev === undefined ? (stored === null ? undefined : stored.v) : rev === null ? undefined : rev;
    const carried = stored === null ? undefined : liveCarried(stored.c, now);
    if (regs !== undefined) return new Partition(group.layoutId, now, now + group.ttl, regs, v, carried);
    const isLive = live instanceof Partition;
    if (isLive && group.lifetime && c.read[g]) {
      // State without a window lives `ttl` after the key's last event that read it.
      return new Partition(group.layoutId, now, now + group.ttl, live.r, v, carried);
    }
    if (rev !== undefined) {
      if (isLive) return new Partition(group.layoutId, now, live.x, live.r, v, carried);
      if (v === undefined && carried === undefined) return stored === null ? undefined : null;
      return new Partition(group.layoutId, now, now, emptyRegisters(group.slots), v, carried);
    }
    // Registers that expired at the key's own time, with nothing else to keep: gone.
    if (stored !== null && !isLive && stored.v === undefined && carried === undefined) return null;
    // Read from another version's layout: written back in this one (carried registers and all), once.
    if (stored !== null && c.foreign[g]) return stored;
    return undefined;
  }

  /** Takes the policy's spare context (or a new one when a decision is already running). */
  private takeContext(ev: Event): EvalContext {
    let c = this.spare.ctx;
    if (c === null) return new EvalContext(ev, this.layout);
    this.spare.ctx = null;
    c.reset(ev);
    return c;
  }

  private releaseContext(c: EvalContext): void {
    c.reset(NO_EVENT);
    this.spare.ctx = c;
  }

  /* ---- the pure API over a StateValue ------------------------------------------------------ */

  /** `decide` on a readable state: the core over the state's partitions. */
  private decideOn(st: StateValue, state: PolicyState, ev: Event, bucket: Bucket): DecideResult {
    const c = this.takeContext(ev);
    try {
      // The keys that hold only revocations are read only when the state holds any (their keys are
      // resolved all the same: the decision watches them). A stored partition is found by the
      // request's own value (the session id), and its key string comes with it.
      const groups = this.layout.groups;
      for (let l = 0; l < 2; l++) {
        const list = l === 0 ? bucket.reads : bucket.checks;
        const read = l === 0 || st.revoked > 0;
        for (let i = 0; i < list.length; i++) {
          const g = list[i]!;
          const value = c.value(g);
          if (value === null) {
            c.keys[g] = null;
            c.missing(g);
            continue;
          }
          const e = read ? st.lookup(groups[g]!.text, value) : undefined;
          if (e !== undefined) {
            c.keys[g] = e.key;
            c.hashes[g] = e.hash;
          } else c.key(g);
          if (!read) continue;
          const r = this.loadOne(c, g, e === undefined ? null : e.part, st);
          if (r !== null) {
            const d = r instanceof NeedsLayout ? this.errorDecision("R303", `state_corrupt: ${r.key} was written in layout ${r.layout}, which this policy does not know and the state does not describe`, null, ev) : this.errorDecision(r.code, r.message, null, ev);
            return new DecideResultValue(d, state);
          }
        }
      }
      const lists = st.revoked > 0 ? 2 : 1;
      const decision = this.evaluate(c, bucket, true, false);
      const next = this.writePure(st, c, lists === 1 ? bucket.reads : null, bucket);
      if (next === "full") return new DecideResultValue(this.errorDecision("R326", `state full: every one of the ${this.maxKeys} partitions it may hold is a revoked key, so ${ev.name} cannot be recorded`, null, ev), state);
      return new DecideResultValue(decision, next);
    } finally {
      this.releaseContext(c);
    }
  }

  /** Writes what the evaluation in `c` changed into the state (the groups of `only`, or every touched group). */
  private writePure(st: StateValue, c: EvalContext, only: readonly number[] | null, bucket: Bucket | null): StateValue | "full" {
    const spare = this.spare;
    let n = 0;
    if (only !== null) for (let i = 0; i < only.length; i++) n = this.collectPure(c, only[i]!, n);
    else if (bucket !== null) {
      for (const g of bucket.reads) n = this.collectPure(c, g, n);
      for (const g of bucket.checks) if (c.keys[g] !== null && !bucket.reads.includes(g)) n = this.collectPure(c, g, n);
    } else for (let g = 0; g < c.keys.length; g++) if (c.stored[g] !== undefined) n = this.collectPure(c, g, n);
    if (n === 0) return st;
    const out = st.write(spare.keys, spare.groups, spare.values, spare.parts, n, this.maxKeys, this.layoutHash, this.layoutsWith(st.layouts));
    for (let i = 0; i < n; i++) {
      spare.keys[i] = undefined;
      spare.groups[i] = undefined;
      spare.values[i] = undefined;
      spare.parts[i] = undefined;
    }
    return out;
  }

  /** Adds group `g`'s partition after the evaluation to the spare write lists at `n`; the new count. */
  private collectPure(c: EvalContext, g: number, n: number): number {
    const p = this.partitionAfter(c, g);
    if (p === undefined) return n;
    const spare = this.spare;
    spare.keys[n] = c.keys[g];
    spare.groups[n] = this.layout.groups[g]!.text;
    spare.values[n] = c.value(g) ?? undefined;
    spare.parts[n] = p;
    return n + 1;
  }

  /** Runs a plan over the state (observe, recheck, revoke, reinstate): the result and the state after it. */
  private stepPure<T>(st: StateValue, plan: Plan, run: (c: EvalContext) => T): { result: T; state: PolicyState } | Refusal {
    const c = this.takeContext(plan.ev);
    try {
      const current = plan.keys.map((k) => st.get(k));
      const loaded = this.loadAll(c, plan, current, this.layoutsOf(st));
      if (loaded instanceof NeedsLayout) return new Refusal("R303", `state_corrupt: ${loaded.key} was written in layout ${loaded.layout}, which this policy does not know and the state does not describe`);
      if (loaded !== null) return loaded;
      const result = run(c);
      if (plan.kind === "recheck") return { result, state: st };
      if ((plan.kind === "revoke" || plan.kind === "reinstate") && (result as KeyStep).error) return { result, state: st };
      const next = this.writePure(st, c, plan.groups, null);
      if (next === "full") return new Refusal("R326", `state full: every one of the ${this.maxKeys} partitions it may hold is a revoked key`);
      return { result, state: next };
    } finally {
      this.releaseContext(c);
    }
  }

  /** Where a decision on `st` finds layouts: the state's descriptors, then this policy's own. */
  private layoutsOf(st: StateValue): LayoutSource {
    const table = st.layouts;
    return (id) => this.layouts[id] ?? table[id];
  }

  /** The state's layout table with this policy's layouts in it (the same object when they are). */
  private layoutsWith(table: Readonly<Record<string, LayoutDescriptor>>): Readonly<Record<string, LayoutDescriptor>> {
    const memo = this.spare;
    if (memo.layoutsIn === table) return memo.layoutsOut!;
    let out = table;
    for (const id in this.layouts) {
      if (!Object.prototype.hasOwnProperty.call(table, id)) {
        out = Object.freeze({ ...table, ...this.layouts });
        break;
      }
    }
    memo.layoutsIn = table;
    memo.layoutsOut = out;
    return out;
  }

  /** Inspection rows for each partition of a state. */
  private inspect<T>(state: PolicyState, row: (key: string, p: Partition) => T | null): Inspection<T> {
    const out: T[] = [];
    try {
      const st = stateOf(state);
      if (typeof st === "string") return Object.assign(out, { error: { rule: null, code: "R303", message: st } });
      for (const [key, raw] of st.entries()) {
        const g = this.groupOfKey(key);
        if (g < 0) continue;
        const loaded = loadPartition(raw, key, this.layout.groups[g]!, this.groupOps[g]!, this.ir.labels, this.layoutsOf(st), -Infinity);
        const p = loaded instanceof LoadedPartition ? loaded.p : loaded instanceof Partition ? loaded : null;
        if (p === null) continue;
        const r = row(key, p);
        if (r !== null) out.push(r);
      }
      out.sort((a, b) => ((a as { key: string }).key < (b as { key: string }).key ? -1 : 1));
      return out;
    } catch (e) {
      return Object.assign([] as T[], { error: { rule: null, code: "R303", message: `state_corrupt: the state cannot be read (${describeError(e)})` } });
    }
  }

  /** The key group a partition key belongs to (by its prefix), or -1. */
  private groupOfKey(key: string): number {
    if (key.startsWith("session:")) return this.ir.sessionGroup;
    if (key.startsWith("principal:")) return this.ir.principalGroup;
    const colon = key.indexOf(":");
    const text = key.slice(0, colon);
    return this.layout.groups.findIndex((g) => (g.key.kind === "path" || g.key.kind === "compound") && g.text === text);
  }

  /* ---- decisions ----------------------------------------------------------------------------- */

  /**
   * The bucket of an action: one map lookup for known, declared names. Other names are checked
   * against the lexer's rules (R304), then against the actions block when there is one (R316).
   */
  private bucketFor(ev: Event): Bucket | Decision {
    const name = ev.name;
    const known = this.index.find(name);
    if (known !== undefined && known.declared) return known;
    if (known === undefined) {
      const bad = nameError(name);
      if (bad !== null) return this.errorDecision("R304", `malformed request: action ${quote(name)} is not a name as a .rules file writes one: ${bad}`, null, ev);
    }
    const bucket = known ?? this.index.action(name);
    if (bucket.declared) return bucket;
    return this.errorDecision("R316", bucket.undeclared, null, ev);
  }

  /**
   * Evaluates a recheck of a held decision: nothing is recorded, and when the decision is the one
   * made for this request (its digest matches), its own recorded event is left out of the history
   * it reads, so that the request is not counted against itself.
   */
  private evaluateHeld(c: EvalContext, bucket: Bucket, bound: Bound): Decision {
    c.ownTime = bound.time;
    c.ownCategory = bound.own;
    return this.evaluate(c, bucket, false, bound.held);
  }

  /** Evaluates the event in `c`; with `record`, also notes what it writes. */
  private evaluate(c: EvalContext, bucket: Bucket, record: boolean, held: boolean): Decision {
    const ev = c.ev;
    // Every partition the event's rules read counts as read, whichever rule decided first: a key's
    // last-seen time (and the lifetime of its windowless state) does not hang on evaluation order.
    if (record) for (let i = 0; i < bucket.reads.length; i++) c.read[bucket.reads[i]!] = true;
    const revokedBy = ev.isSignal ? null : this.revokedKey(c);

    // The index hands over every rule that the event can match (see rule-index.ts), each once.
    if (revokedBy === null) {
      walkIndex(bucket.index, c, held, this);
      // The index visits rules in its own order; errors and notes are listed as a scan in source order lists them.
      if (c.errors !== null && c.errors.length > 1) c.errors.sort(this.bySource);
      if (c.notes !== null && c.notes.length > 1) c.notes.sort(this.bySource);
    }
    const { anyAllow, notes, flags } = c;
    let { best, matched, single } = c;

    // No matching allow means deny: a challenge steps up only what an allow rule grants.
    if (best === EFFECT_RANK.challenge && !anyAllow) {
      best = 0;
      matched = null;
      single = null;
    }
    const effect = EFFECT_OF_RANK[best]!;
    let rules: readonly string[];
    let reasons: readonly Reason[];
    let obligations: readonly Obligation[] = EMPTY;
    const winners: readonly CompiledRule[] = best === 0 ? EMPTY : matched !== null ? sortByRank(matched) : single!.selfList;

    if (revokedBy !== null) {
      rules = EMPTY;
      reasons = [revokedBy];
    } else if (best === 0) {
      rules = EMPTY;
      reasons = notes === null ? bucket.denyReasons : [...notes, ...bucket.denyReasons];
    } else if (winners.length === 1) {
      const w = winners[0]!;
      rules = w.idList;
      reasons = w.reasonList;
      if (w.effect === "challenge") obligations = w.obligationList;
    } else {
      const n = winners.length;
      const ids = new Array<string>(n);
      const why = new Array<Reason>(n);
      for (let i = 0; i < n; i++) {
        ids[i] = winners[i]!.id;
        why[i] = winners[i]!.reason;
      }
      rules = ids;
      reasons = why;
      if (effect === "challenge") obligations = obligationsOf(winners);
    }
    if (effect === "revoke") {
      const revokes: Obligation[] = [];
      for (const w of winners) {
        const g = this.revokeGroupOf(w, c);
        if (g >= 0) revokes.push({ kind: "revoke", rule: w.id, key: c.keys[g]! });
        else (c.errors ??= []).push({ rule: w.id, code: "R305", message: "nothing to revoke: the event has no session, principal or target attribute", span: w.ir.span });
      }
      obligations = revokes;
    }

    c.effectRelevant = false;
    if (record) this.record(c, ev, bucket, effect, winners, flags);

    const flagList: readonly string[] = flags === null ? EMPTY : flags.length === 1 ? flags[0]!.idList : idsOf(sortByRank(flags));
    const watch = watchOf(bucket.watch, c.keys);
    return new DecisionValue(
      effect,
      rules,
      reasons,
      obligations,
      flagList,
      c.errors ?? EMPTY,
      c.warnings ?? EMPTY,
      finiteOrNull(c.validUntil),
      finiteOrNull(c.nextDeadline),
      watch,
      this.hash,
      ev.time,
      ev.name,
      this.subjectOf(c),
      ev.session ?? null,
      resourceOf(ev),
      this.digestOf(effect, ev, bucket, c),
      c.migrated,
    );
  }

  /** Whom the decision in `c` is for: the principal's cached subject (one object per principal). */
  private subjectOf(c: EvalContext): { readonly kind: string; readonly id: string } | null {
    return c.principalKey()?.subject ?? null;
  }

  /**
   * Evaluates one candidate rule (with the test its place in the index leaves) and folds its
   * outcome into the context's running decision.
   * @internal
   */
  consider(p: Probe, c: EvalContext, held: boolean): void {
    const r = p.rule;
    c.effectRelevant = r.effect !== "flag";
    c.rule = r;
    let o: RuleOutcome = r.terms !== null ? matchTerms(r.terms, c) : runChecks(p.checks, c);
    if (o === false) return;
    if (o === true && r.scoped) o = this.scopeHolds(r, c, held);
    if (o instanceof Failure) {
      (c.errors ??= []).push({ rule: r.id, code: o.code, message: o.message, span: o.span ?? r.ir.span });
      if (r.effect === "allow") return; // fail closed: an allow that cannot be evaluated does not allow
    } else if (o === false) return;
    if (r.effect === "flag") {
      (c.flags ??= []).push(r);
      return;
    }
    if (r.effect === "allow") c.anyAllow = true;
    const rank = r.effectRank;
    if (rank > c.best) {
      c.best = rank;
      c.single = r;
      c.matched = null;
    } else if (rank === c.best) {
      if (c.matched === null) c.matched = [c.single!];
      c.matched.push(r);
    }
  }

  /** Whether an allow rule's quantity scope and grant lifetime still hold for this request. */
  private scopeHolds(r: CompiledRule, c: EvalContext, held: boolean): true | false | Failure {
    const ir = r.ir;
    if (ir.limit !== null && !held) {
      const op = this.ir.ops[ir.limit] as Extract<OpIR, { op: "limit" | "distinctLimit" }>;
      const p = c.partition(op.group);
      if (p instanceof Failure) return p;
      if (p !== null) c.change(p.x);
      if (op.op === "distinctLimit") {
        const v = distinctLimitValue(op, c.ev);
        const what = op.attribute.segments.length === 0 ? "resource" : op.attribute.text;
        if (v === undefined) return new Failure("R301", `missing attribute ${what === "resource" ? "resource.path (or resource.id)" : what}: the distinct limit of ${r.id} counts it`, ir.span);
        if (!distinctLimitAdmits(op, p === null ? null : p.r, c.nows[op.group]!, v, c)) {
          (c.notes ??= []).push({ rule: r.id, effect: "allow", code: "R310", message: `${r.id}: limit of ${op.count} distinct ${what} per ${this.layout.groups[op.group]!.text}${op.window ? " within the window" : ""} reached`, span: ir.span });
          return false;
        }
        return this.grantHolds(r, c);
      }
      const uses = limitUses(op, p === null ? null : p.r, c.nows[op.group]!, c);
      if (uses >= op.count) {
        (c.notes ??= []).push({ rule: r.id, effect: "allow", code: "R310", message: `${r.id}: limit of ${op.count} per ${this.layout.groups[op.group]!.text}${op.window ? " within the window" : ""} reached`, span: ir.span });
        return false;
      }
    }
    return this.grantHolds(r, c);
  }

  /** Whether an allow rule's `valid for` grant (if any) still holds for this request. */
  private grantHolds(r: CompiledRule, c: EvalContext): true | false | Failure {
    const ir = r.ir;
    if (ir.grant !== null) {
      const op = this.ir.ops[ir.grant] as Extract<OpIR, { op: "grant" }>;
      const p = c.partition(op.group);
      if (p instanceof Failure) return p;
      if (p !== null) c.change(p.x);
      if (!grantHolds(op, p === null ? null : p.r, c.nows[op.group]!, c)) {
        (c.notes ??= []).push({ rule: r.id, effect: "allow", code: "R311", message: `${r.id}: the grant of ${op.duration} ms for this ${this.layout.groups[op.group]!.text} has expired`, span: ir.span });
        return false;
      }
    }
    return true;
  }

  /** The revocation that applies to the event's session, principal or a `target` attribute, as a reason. */
  private revokedKey(c: EvalContext): Reason | null {
    const ir = this.ir;
    const check = (g: number): Reason | null => {
      const p = c.stored[g];
      if (p === null || p === undefined || p.v === undefined) return null;
      const r = p.v;
      return { rule: r.rule, effect: "deny", code: "R307", message: `${c.keys[g]} was revoked${r.rule ? ` by rule ${r.rule}` : ""}: ${r.reason}` };
    };
    const r = check(ir.sessionGroup) ?? check(ir.principalGroup);
    if (r !== null) return r;
    for (const g of ir.targetGroups) {
      const t = check(g);
      if (t !== null) return t;
    }
    return null;
  }

  /** The group whose key a revoke rule revokes for this event: its target, else the principal; -1 if none. */
  private revokeGroupOf(r: CompiledRule, c: EvalContext): number {
    const ir = this.ir;
    const t = r.ir.revokeTarget ?? { kind: "session" as const };
    if (t.kind === "session" && c.keys[ir.sessionGroup]) return ir.sessionGroup;
    if (t.kind === "path" || t.kind === "compound") {
      const g = ir.targetGroups[ir.revokeTargets.findIndex((k) => keyText(k) === keyText(t))]!;
      if (c.keys[g]) return g;
    }
    return c.keys[ir.principalGroup] ? ir.principalGroup : -1;
  }

  /** Notes what the event writes: histories that see it, quantity scopes used, labels, revocations. */
  private record(c: EvalContext, ev: Event, bucket: Bucket, effect: DecisionEffect, winners: readonly CompiledRule[], flags: readonly CompiledRule[] | null): void {
    const cat: Category = ev.isSignal ? "signal" : effect === "allow" ? "allowed" : "denied";
    const ops = cat === "allowed" ? bucket.updates.allowed : cat === "denied" ? bucket.updates.denied : bucket.updates.signal;
    const usesScopes = effect === "allow" && bucket.hasLimits;
    for (let i = 0; i < ops.length; i++) {
      const u = ops[i]!;
      const g = u.group;
      const r = c.writes[g] ?? this.registersFor(g, c);
      if (r !== null) applyUpdate(u, r, c.nows[g]!, ev);
    }
    if (usesScopes) {
      for (const w of winners) {
        const ir = w.ir;
        if (ir.limit !== null) {
          const op = this.ir.ops[ir.limit] as Extract<OpIR, { op: "limit" | "distinctLimit" }>;
          const r = this.registersFor(op.group, c);
          if (r && op.op === "limit") useLimit(op, r, c.nows[op.group]!);
          else if (r && op.op === "distinctLimit") {
            const v = distinctLimitValue(op, ev);
            if (v !== undefined) useDistinctLimit(op, r, c.nows[op.group]!, v);
          }
        }
        if (ir.grant !== null) {
          const op = this.ir.ops[ir.grant] as Extract<OpIR, { op: "grant" }>;
          const r = this.registersFor(op.group, c);
          if (r) useGrant(op, r, c.nows[op.group]!);
        }
      }
      // Labels go on when the action happens: from the allow rules that decided and the flag rules that matched.
      for (const w of [...winners, ...(flags ?? [])]) {
        if (w.ir.labels.length === 0) continue;
        const op = this.ir.ops[w.ir.labelsOp!]!;
        const r = this.registersFor(op.group, c);
        if (!r) continue;
        const now = c.nows[op.group]!;
        for (const l of w.ir.labels) addLabel(r, op.slot, l.label, l.duration === null ? true : now + l.duration);
      }
    }
    if (effect === "revoke") {
      for (const w of winners) {
        const g = this.revokeGroupOf(w, c);
        if (g >= 0 && c.revocations[g] === undefined) c.revocations[g] = new Revocation(c.nows[g]!, w.id, w.reason.message);
      }
    }
  }

  /** The registers of group `g` being written by this event, copied from the stored partition once. */
  private registersFor(g: number, c: EvalContext): unknown[] | null {
    let r = c.writes[g];
    if (r !== undefined) return r;
    const p = c.parts[g];
    if (p === undefined || p instanceof Failure) return null;
    r = p === null ? emptyRegisters(this.layout.groups[g]!.slots) : p.r.slice();
    c.writes[g] = r;
    return r;
  }

  /** A revoke or reinstate by API, on the loaded partition of its key. */
  private keyStep(c: EvalContext, plan: Plan): KeyStep {
    const g = plan.groups[0]!;
    const key = plan.keys[0]!;
    const stored = c.stored[g] ?? null;
    if (plan.kind === "revoke") {
      c.revocations[g] = new Revocation(c.nows[g]!, null, plan.extra as string);
      return { key, changed: true };
    }
    if (stored === null || stored.v === undefined) return { key, changed: false, error: { rule: null, code: "R309", message: `${key} is not revoked` } };
    c.revocations[g] = null;
    return { key, changed: true };
  }

  /**
   * The group and key string a KeySpec names, or why it names none this policy can enforce: a
   * session, a principal (kind a name), or a value of a `target` attribute path.
   */
  private keyGroupOf(key: KeySpec): [number, string] | string {
    if (key === null || typeof key !== "object") return "a key is {session}, {principal: {kind, id}} or {attribute, value}";
    const k = key as Record<string, unknown>;
    const own = (o: Record<string, unknown>, f: string) => (Object.prototype.hasOwnProperty.call(o, f) ? o[f] : undefined);
    const session = own(k, "session");
    const principal = own(k, "principal");
    const attribute = own(k, "attribute");
    if (session !== undefined) {
      if (typeof session !== "string" || session.length === 0 || session.length > MAX_NAME) return "a session key is a non-empty string";
      return [this.ir.sessionGroup, sessionKey(session)];
    }
    if (principal !== undefined) {
      const n = normalizeRequest({ principal, action: "a", time: 0 }, this.limits);
      if (n instanceof Rejection) return `a principal key is {kind, id}: ${n.message.replace(/^malformed request: /, "")}`;
      return [this.ir.principalGroup, principalKey(n.principalKind!, n.principalId!)];
    }
    if (attribute !== undefined) {
      const value = own(k, "value");
      if (typeof attribute !== "string") return "an attribute key names its path as a string";
      const i = this.ir.revokeTargets.findIndex((t) => t.kind === "path" && t.text === attribute);
      const paths = this.ir.revokeTargets.flatMap((t) => (t.kind === "path" ? [t.text] : []));
      if (i < 0) return `${quote(attribute)} is not an attribute this policy revokes by: requests are checked for revocations of their session, principal${paths.length > 0 ? ` and ${paths.join(", ")}` : ""} only (add a rule with \`target ${attribute}\` to enforce it)`;
      if (!((typeof value === "string" && value.length <= this.limits.maxKeyLength) || (typeof value === "number" && Number.isFinite(value)))) return "an attribute key's value is a string or a finite number";
      return [this.ir.targetGroups[i]!, `${attribute}:${value}`];
    }
    return "a key is {session}, {principal: {kind, id}} or {attribute, value}";
  }

  /** Holds a rechecked decision to the request: whether it stands as one this policy made for it. */
  private bindRecheck(previous: unknown, ev: Event, bucket: Bucket): Bound | DecisionValue {
    try {
      return this.bindRecheckOf(previous, ev, bucket);
    } catch (e) {
      // A Proxy or a getter that throws: not a decision anyone can hold.
      return this.errorDecision("R317", `not a decision: it cannot be read (${describeError(e)})`, null, ev);
    }
  }

  private bindRecheckOf(previous: unknown, ev: Event, bucket: Bucket): Bound | DecisionValue {
    const fail = (code: string, message: string) => this.errorDecision(code, message, null, ev);
    if (previous === null || typeof previous !== "object") return fail("R317", `not a decision: got ${safeDescribe(previous)}`);
    const d = previous as Record<string, unknown>;
    const field = (f: string) => (Object.prototype.hasOwnProperty.call(d, f) || d instanceof DecisionValue ? d[f] : undefined);
    const policyHash = field("policyHash");
    if (typeof policyHash === "string" && policyHash !== this.hash) return fail("R308", `the decision was made by policy ${quote(policyHash)}, this is policy ${this.hash}`);
    const effect = field("effect");
    const missing = ["policyHash", "effect", "action", "time", "digest", "principal", "session", "resource"].filter((f) => field(f) === undefined);
    if (missing.length > 0 || typeof policyHash !== "string") return fail("R317", `not a decision of this policy: it has no ${missing.join(", ") || "policyHash"}`);
    if (effect !== "allow" && effect !== "challenge" && effect !== "deny" && effect !== "revoke") return fail("R317", `not a decision of this policy: effect ${safeDescribe(effect)}`);
    const action = field("action");
    const p = field("principal") as { kind?: unknown; id?: unknown } | null;
    const session = field("session");
    const resource = field("resource");
    const time = field("time");
    const digest = field("digest");
    if (typeof action !== "string" || typeof time !== "number" || typeof digest !== "number" || !(session === null || typeof session === "string") || !(resource === null || typeof resource === "string")) return fail("R317", "not a decision of this policy: its fields have the wrong types");
    const pk = p !== null && typeof p === "object" ? `${String(p.kind)}/${String(p.id)}` : String(p);
    const differs: string[] = [];
    if (action !== ev.name) differs.push(`action ${quote(action)}, this request ${quote(ev.name)}`);
    if (pk !== `${ev.principalKind}/${ev.principalId}`) differs.push(`principal ${quote(pk)}, this request ${quote(`${ev.principalKind}/${ev.principalId}`)}`);
    if (session !== (ev.session ?? null)) differs.push(`session ${session === null ? "none" : quote(session)}, this request ${ev.session === undefined ? "none" : quote(ev.session)}`);
    if (resource !== resourceOf(ev)) differs.push(`resource ${resource === null ? "none" : quote(resource)}, this request ${resourceOf(ev) === null ? "none" : quote(resourceOf(ev)!)}`);
    if (differs.length > 0) return fail("R318", `the decision was made for another request: ${differs.join("; ")}`);
    const same = digest === this.digestOf(effect, { ...ev, time }, bucket, null);
    // Only the decision as it was made holds its limit use; one whose attributes changed (or that
    // was altered) is rechecked as a fresh request.
    return {
      effect,
      time: same ? time : NaN,
      own: effect === "allow" ? "allowed" : "denied",
      held: same && effect === "allow",
      note: same ? "" : " (the attributes it read changed since it was made, or it was altered: rechecked as a new request)",
    };
  }

  /**
   * What a decision was for, as a 32-bit digest (an unsigned integer): policy, action, effect, time,
   * session, principal, resource and the value of every other attribute path the candidate rules
   * read. Hashed field by field (the keys' hashes are cached with them), never as one string.
   */
  private digestOf(effect: DecisionEffect, ev: Event, bucket: Bucket, c: EvalContext | null): number {
    const ir = this.ir;
    let h = mix32(bucket.digestSeed, EFFECT_RANK[effect]);
    h = mix32(h, ev.time);
    const sg = ir.sessionGroup;
    const pg = ir.principalGroup;
    h = mix32(h, ev.session === undefined ? 0 : c !== null && typeof c.keys[sg] === "string" ? c.hashes[sg]! : hash32(sessionKey(ev.session)));
    h = mix32(h, ev.principalKind === undefined ? 0 : c !== null && typeof c.keys[pg] === "string" ? c.hashes[pg]! : hash32(principalKey(ev.principalKind, ev.principalId!)));
    const res = resourceOf(ev);
    h = res === null ? mix32(h, 0) : hash32(res, mix32(h, 1));
    const paths = bucket.digestPaths;
    for (let i = 0; i < paths.length; i++) {
      const p = paths[i]!;
      h = digestValue(h, readOwn(p.root === "principal" ? ev.principal : p.root === "resource" ? ev.resource : ev.context, p.segments, p.text, undefined));
    }
    return h >>> 0;
  }

  private errorDecision(code: string, message: string, request: unknown, ev?: Event): DecisionValue {
    const t = ev !== undefined ? ev.time : fieldTime(request);
    const action = ev !== undefined ? ev.name : actionOf(request);
    const reasons: Reason[] = [{ rule: null, effect: "deny", code, message }];
    return new DecisionValue("deny", EMPTY, reasons, EMPTY, EMPTY, [{ rule: null, code, message }], EMPTY, null, null, EMPTY, this.hash, t, action, ev ? principalOf(ev) : null, ev?.session ?? null, ev ? resourceOf(ev) : null, 0, false);
  }
}

/** What binding a decision for recheck found: its effect, whether it holds its limit use, a note. */
interface Bound {
  readonly effect: DecisionEffect;
  /** The held decision's time, when it is the decision made for this request (else NaN: rechecked as a new one). */
  readonly time: number;
  /** The category its request was recorded with. */
  readonly own: Category;
  readonly held: boolean;
  readonly note: string;
}

function isBucket(b: Bucket | Decision): b is Bucket {
  return !(b instanceof DecisionValue);
}

function notStanding(decision: Decision): RecheckResult {
  return { stands: false, decision, reason: decision.reasons[0]!.message };
}

function standing(effect: DecisionEffect, decision: Decision, note: string): RecheckResult {
  const stands = decision.effect === effect;
  const reason = stands ? `still ${decision.effect}${note}` : `${effect} became ${decision.effect}: ${decision.reasons.map((r) => r.message).join("; ")}${note}`;
  return { stands, decision, reason };
}

/** An observe step's outcome from the decision the evaluation made. */
function signalStepOf(decision: Decision | unknown): SignalStep {
  const d = decision as Decision;
  const revoked = d.obligations.flatMap((o) => (o.kind === "revoke" ? [{ key: o.key, rule: o.rule, reason: d.reasons.find((r) => r.rule === o.rule)?.message ?? "" }] : []));
  return { revoked, flags: d.flags, errors: d.errors };
}

/** Carried registers still live at `now`, or undefined when none are. */
function liveCarried(c: Partition["c"], now: number): Partition["c"] {
  if (c === undefined) return undefined;
  let live = 0;
  for (const e of c) if (e[1] > now) live++;
  if (live === c.length) return c;
  return live === 0 ? undefined : c.filter((e) => e[1] > now);
}

/** How long a store must keep a written partition: for ever with a revocation, else until it expires. */
function keepOf(p: Partition, now: number): number {
  if (p.v !== undefined) return Infinity;
  let until = p.x;
  if (p.c !== undefined) for (const e of p.c) if (e[1] > until) until = e[1];
  return Math.max(0, until - now);
}

function fieldTime(r: unknown): number {
  try {
    const t = r !== null && typeof r === "object" ? (r as Record<string, unknown>).time : undefined;
    return typeof t === "number" && Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
  }
}

/** `null` for "never" (Infinity), else the time; a function so the decision's shape stays stable for the optimiser. */
function finiteOrNull(t: number): number | null {
  return t === Infinity ? null : t;
}

/** The bucket's attribute paths plus the state keys this decision read (no copy when it read none). */
function watchOf(paths: readonly string[], keys: readonly (string | null | undefined)[]): readonly string[] {
  let count = 0;
  for (let i = 0; i < keys.length; i++) if (typeof keys[i] === "string") count++;
  if (count === 0) return paths;
  const out = new Array<string>(paths.length + count);
  let j = 0;
  for (; j < paths.length; j++) out[j] = paths[j]!;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k === "string") out[j++] = k;
  }
  return out;
}

/** The challenge obligations of the winning rules, in their order (a loop: `flatMap` is slow here). */
function obligationsOf(winners: readonly CompiledRule[]): Obligation[] {
  const out: Obligation[] = [];
  for (let i = 0; i < winners.length; i++) {
    const o = winners[i]!.obligation;
    if (o !== null) out.push(o);
  }
  return out;
}

function idsOf(rs: readonly CompiledRule[]): string[] {
  const out = new Array<string>(rs.length);
  for (let i = 0; i < rs.length; i++) out[i] = rs[i]!.id;
  return out;
}

/** Sorts rules by rank (id order) in place: insertion sort, as the lists are short. */
function sortByRank(rs: CompiledRule[]): CompiledRule[] {
  for (let i = 1; i < rs.length; i++) {
    const r = rs[i]!;
    let j = i - 1;
    while (j >= 0 && rs[j]!.rank > r.rank) {
      rs[j + 1] = rs[j]!;
      j--;
    }
    rs[j + 1] = r;
  }
  return rs;
}

function principalOf(ev: Event): { readonly kind: string; readonly id: string } | null {
  return ev.principalKind === undefined ? null : new Subject(ev.principalKind, ev.principalId!);
}

function resourceOf(ev: Event): string | null {
  const v = typeof ev.resourcePath === "string" ? ev.resourcePath : ev.resourceId;
  return typeof v === "string" && v.length <= MAX_STRING ? v : null;
}

/** Mixes an attribute value into a digest (a Failure: missing or unreadable). */
function digestValue(h: number, v: unknown): number {
  if (v instanceof Failure) return mix32(h, 0x2205);
  if (typeof v === "string") return hash32(v, mix32(h, 1));
  if (typeof v === "number") return mix32(mix32(h, 2), v);
  if (typeof v === "boolean") return mix32(h, v ? 3 : 4);
  if (Array.isArray(v)) {
    h = mix32(h, 5 + v.length);
    for (const x of v) h = digestValue(h, x);
    return h;
  }
  return mix32(h, 6);
}

/** The state key a KeySpec names: `session:s1`, `principal:agent/bot`, `context.ip:10.0.0.1`. Throws for a malformed key. */
export function keySpecText(key: KeySpec): string {
  if (key && typeof key === "object") {
    if ("session" in key && typeof key.session === "string") return sessionKey(key.session);
    if ("principal" in key && key.principal && typeof key.principal.kind === "string" && typeof key.principal.id === "string") return principalKey(key.principal.kind, key.principal.id);
    if ("attribute" in key && typeof key.attribute === "string" && (typeof key.value === "string" || typeof key.value === "number")) return `${key.attribute}:${key.value}`;
  }
  throw new TypeError("a key is {session}, {principal: {kind, id}} or {attribute, value}");
}

function describeError(e: unknown): string {
  try {
    return e instanceof Error ? String(e.message) : String(e);
  } catch {
    return "an unreadable error";
  }
}

function safeDescribe(v: unknown): string {
  try {
    return describe(v);
  } catch {
    return "an unreadable value";
  }
}

/** A field of a request that may be anything (a proxy, a throwing getter): read once, never throwing. */
function fieldOf(r: unknown, name: "time" | "action"): unknown {
  try {
    return r !== null && typeof r === "object" ? (r as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

function actionOf(r: unknown): string {
  const a = fieldOf(r, "action");
  return typeof a === "string" ? a.slice(0, 256) : "";
}

export { DEFAULT_LIMITS };
export type { KeyGroupIR };
