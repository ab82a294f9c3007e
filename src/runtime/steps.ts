import type { Bucket } from "../compile/action-index.js";
import { principalKey, sessionKey, type EvalContext } from "./context.js";
import { isBucket, NeedsLayout, NO_EVENT, Refusal, resourceOf, type Policy } from "./engine.js";
import { layoutsOf, migratePartition, type LayoutSource } from "./migrate.js";
import { MAX_REASON, Partition, Revocation } from "./partition.js";
import { describeError, MAX_NAME, normalizeRequest, normalizeSignal, quote, Rejection, safeDescribe, validTime, type Event } from "./request.js";
import type { Category } from "./operators.js";
import type { StateValue } from "./state.js";
import { DecisionValue } from "./values.js";
import type { Decision, DecisionEffect, DecisionError, KeySpec, PolicyState, RecheckResult } from "./types.js";

/**
 * Steps over partitions: the protocol between the core and the Guard. An operation is planned
 * first (the partition keys it reads and may write, worked out before any is read); the Guard asks
 * its store for exactly those keys and runs `step` over their values, which decides and says what
 * to write back. The pure operations over a `PolicyState` (operations.ts) run the same steps over
 * the state's partitions. `Policy.decide` has its own path over a state (engine.ts), so an
 * application that only decides bundles none of this.
 * @internal between the runtime and the Guard; not a stable API.
 */

const EMPTY: readonly never[] = Object.freeze([]);
/** The `notify` list of a step that records and lifts no revocation (`notify[i]` undefined: false). */
const NO_NOTIFY: boolean[] = Object.freeze([]) as unknown as boolean[];

/** What a step over partitions does: decide a request, observe a signal, revoke, reinstate, recheck. */
export type PlanKind = "decide" | "observe" | "revoke" | "reinstate" | "recheck";

/**
 * The partitions one operation reads and may write, worked out before any is read: the Guard asks
 * its store for exactly these keys and runs `step(policy, plan, partitions)` over them.
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

/**
 * The plan of a request the Guard decides, or the decision when it is refused before any state
 * is read (malformed, over a limit, undeclared action). `fallbackTime` fills a missing `time`.
 * @internal
 */
export function planRequest(policy: Policy, request: unknown, fallbackTime: number | undefined): Plan | Decision {
  try {
    const n = normalizeRequest(request, policy.limits, fallbackTime);
    if (n instanceof Rejection) return policy.errorDecision(n.code, n.message, request);
    const bucket = policy.bucketFor(n);
    if (!isBucket(bucket)) return bucket;
    return planFor(policy, "decide", n, bucket, null);
  } catch (e) {
    return policy.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null);
  }
}

/** @internal The plan of a signal the Guard observes, or why it is refused. */
export function planSignal(policy: Policy, signal: unknown, fallbackTime: number): Plan | DecisionError {
  try {
    const n = normalizeSignal(signal, policy.limits, fallbackTime);
    if (n instanceof Rejection) return { rule: null, code: n.code, message: n.message };
    return planFor(policy, "observe", n, policy.index.signal(n.name), null);
  } catch (e) {
    return { rule: null, code: "R304", message: `malformed signal: it cannot be read (${describeError(e)})` };
  }
}

/** @internal The plan of a recheck, or its answer when the decision cannot be rechecked at all. */
export function planRecheck(policy: Policy, previous: Decision, request: unknown, fallbackTime: number): Plan | RecheckResult {
  try {
    const n = normalizeRequest(request, policy.limits, fallbackTime);
    if (n instanceof Rejection) return notStanding(policy.errorDecision(n.code, n.message, request));
    const bucket = policy.bucketFor(n);
    if (!isBucket(bucket)) return notStanding(bucket);
    const bound = bindRecheck(policy, previous, n, bucket);
    if (bound instanceof DecisionValue) return notStanding(bound);
    return planFor(policy, "recheck", n, bucket, bound);
  } catch (e) {
    return notStanding(policy.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null));
  }
}

/** @internal The plan of a revoke or reinstate by API, or why the key or time is refused. */
export function planKey(policy: Policy, kind: "revoke" | "reinstate", key: KeySpec, time: unknown, reason: unknown): Plan | { key: string; error: DecisionError } {
  let g: number;
  let text: string;
  try {
    const k = keyGroupOf(policy, key);
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
export function step(policy: Policy, plan: Plan, current: readonly unknown[], layouts: LayoutSource = (id) => policy.layouts[id]): StepOutcome<Decision | SignalStep | KeyStep | RecheckResult> | NeedsLayout {
  try {
    const c = policy.takeContext(plan.ev);
    try {
      const loaded = loadAll(policy, c, plan, current, layouts);
      if (loaded instanceof NeedsLayout) return loaded;
      let result: Decision | SignalStep | KeyStep | RecheckResult;
      if (loaded instanceof Refusal) result = refusalOf(policy, plan, loaded);
      else result = run(policy, c, plan);
      const n = plan.keys.length;
      const writes = new Array<Partition | null | undefined>(n).fill(undefined);
      const keepMs = new Array<number>(n).fill(0);
      const refused = loaded instanceof Refusal || ((plan.kind === "revoke" || plan.kind === "reinstate") && (result as KeyStep).error !== undefined);
      const wrote = !refused && collect(policy, c, plan, writes, keepMs);
      if (!wrote) writes.fill(undefined);
      // Which writes record or lift a revocation: a list only when one does (most steps none).
      let notify: boolean[] = NO_NOTIFY;
      if (wrote) {
        for (let i = 0; i < n; i++) {
          if (writes[i] === undefined || c.revocations[plan.groups[i]!] === undefined) continue;
          if (notify === NO_NOTIFY) notify = new Array<boolean>(n).fill(false);
          notify[i] = true;
        }
      }
      return new StepOutcome(result, writes, keepMs, notify);
    } finally {
      policy.releaseContext(c);
    }
  } catch (e) {
    const d = policy.errorDecision("R304", `the request could not be evaluated: ${describeError(e)}`, null, plan.ev);
    return new StepOutcome(plan.kind === "observe" ? { revoked: EMPTY, flags: EMPTY, errors: d.errors } : plan.kind === "revoke" || plan.kind === "reinstate" ? { key: plan.keys[0] ?? "", changed: false, error: d.errors[0] } : plan.kind === "recheck" ? notStanding(d) : d, new Array(plan.keys.length).fill(undefined), new Array(plan.keys.length).fill(0));
  }
}

/**
 * Decides a request's plan without its partitions, for a Guard whose store is down: the rules in
 * `skip` read their history as empty, every other rule that reads history fails closed (R314),
 * revocations are not seen, nothing is recorded, and the decision carries warning R319.
 * @internal
 */
export function decideOffline(policy: Policy, plan: Plan, skip: ReadonlySet<string>, why: DecisionError): Decision {
  const c = policy.takeContext(plan.ev);
  try {
    c.offline = skip;
    c.offlineReason = why.message;
    for (const list of [plan.bucket!.reads, plan.bucket!.checks]) for (const g of list) c.key(g);
    const d = policy.evaluate(c, plan.bucket!, false, false);
    const warning: DecisionError = { rule: null, code: "R319", message: `decided without the store (${why.code}: ${why.message}): the history of ${[...skip].join(", ") || "no rule"} read as empty, other histories failed closed, revocations unchecked` };
    return new DecisionValue(d.effect, d.rules, d.reasons, d.obligations, d.flags, d.errors, [...d.warnings, warning], d.validUntil, d.nextDeadline, d.watch, d.policyHash, d.time, d.action, d.principal ?? null, d.session ?? null, d.resource ?? null, d.digest ?? 0, false);
  } catch (e) {
    return policy.errorDecision("R304", `the request could not be evaluated: ${describeError(e)}`, null, plan.ev);
  } finally {
    policy.releaseContext(c);
  }
}

/**
 * A deny that no rule gave, for a plan the Guard could not run (store failure, timeout, closed):
 * the code and message say why.
 * @internal
 */
export function refuse(policy: Policy, plan: Plan | null, code: string, message: string, request?: unknown): Decision {
  return policy.errorDecision(code, message, request ?? null, plan?.ev.name ? plan.ev : undefined);
}

/** The outcome a plan has when the state refused it before evaluation. */
function refusalOf(policy: Policy, plan: Plan, r: Refusal): Decision | SignalStep | KeyStep | RecheckResult {
  const error: DecisionError = { rule: null, code: r.code, message: r.message };
  switch (plan.kind) {
    case "observe":
      return { revoked: EMPTY, flags: EMPTY, errors: [error] };
    case "revoke":
    case "reinstate":
      return { key: plan.keys[0]!, changed: false, error };
    case "recheck":
      return notStanding(policy.errorDecision(r.code, r.message, null, plan.ev));
    default:
      return policy.errorDecision(r.code, r.message, null, plan.ev);
  }
}

/** Evaluates a loaded plan. */
function run(policy: Policy, c: EvalContext, plan: Plan): Decision | SignalStep | KeyStep | RecheckResult {
  switch (plan.kind) {
    case "decide":
      return policy.evaluate(c, plan.bucket!, true, false);
    case "observe":
      return signalStepOf(policy.evaluate(c, plan.bucket!, true, false));
    case "recheck": {
      const bound = plan.extra as Bound;
      return standing(bound.effect, evaluateHeld(policy, c, plan.bucket!, bound), bound.note);
    }
    default:
      return keyStep(policy, c, plan);
  }
}

/** The plan of an event: its bucket's groups with the keys the event gives them. */
export function planFor(policy: Policy, kind: PlanKind, ev: Event, bucket: Bucket, extra: unknown): Plan {
  const keys: string[] = [];
  const groups: number[] = [];
  const writable: boolean[] = [];
  const hashes: number[] = [];
  const c = policy.takeContext(ev);
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
    policy.releaseContext(c);
  }
  return new Plan(kind, ev, bucket, keys, groups, writable, extra, hashes);
}

/** Loads the stored values of a plan's keys into `c`. */
function loadAll(policy: Policy, c: EvalContext, plan: Plan, current: readonly unknown[], layouts: LayoutSource): NeedsLayout | Refusal | null {
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
    const r = policy.loadOne(c, g, current[i], migratePartition, layouts);
    if (r !== null) return r;
  }
  return null;
}

/**
 * What the evaluation in `c` writes back, per key of `plan` into `writes` and `keepMs`. False when
 * nothing is written.
 */
function collect(policy: Policy, c: EvalContext, plan: Plan, writes: (Partition | null | undefined)[], keepMs: number[]): boolean {
  if (plan.kind === "recheck") return false;
  let any = false;
  for (let i = 0; i < plan.keys.length; i++) {
    const g = plan.groups[i]!;
    const p = policy.partitionAfter(c, g);
    writes[i] = p;
    if (p === undefined) continue;
    any = true;
    keepMs[i] = p === null ? 0 : keepOf(p, c.nows[g]!);
  }
  return any;
}

/** Runs a plan over the state (observe, recheck, revoke, reinstate): the result and the state after it. */
export function stepPure<T>(policy: Policy, st: StateValue, plan: Plan, run: (c: EvalContext) => T): { result: T; state: PolicyState } | Refusal {
  const c = policy.takeContext(plan.ev);
  try {
    const current = plan.keys.map((k) => st.get(k));
    const loaded = loadAll(policy, c, plan, current, layoutsOf(policy, st));
    if (loaded instanceof NeedsLayout) return new Refusal("R303", `state_corrupt: ${loaded.key} was written in layout ${loaded.layout}, which this policy does not know and the state does not describe`);
    if (loaded !== null) return loaded;
    const result = run(c);
    if (plan.kind === "recheck") return { result, state: st };
    if ((plan.kind === "revoke" || plan.kind === "reinstate") && (result as KeyStep).error) return { result, state: st };
    const next = policy.writePure(st, c, plan.groups, null);
    if (next === "full") return new Refusal("R326", `state full: every one of the ${policy.maxKeys} partitions it may hold is a revoked key`);
    return { result, state: next };
  } finally {
    policy.releaseContext(c);
  }
}

/** A revoke or reinstate by API, on the loaded partition of its key. */
export function keyStep(policy: Policy, c: EvalContext, plan: Plan): KeyStep {
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
export function keyGroupOf(policy: Policy, key: KeySpec): [number, string] | string {
  if (key === null || typeof key !== "object") return "a key is {session}, {principal: {kind, id}} or {attribute, value}";
  const k = key as Record<string, unknown>;
  const own = (o: Record<string, unknown>, f: string) => (Object.prototype.hasOwnProperty.call(o, f) ? o[f] : undefined);
  const session = own(k, "session");
  const principal = own(k, "principal");
  const attribute = own(k, "attribute");
  if (session !== undefined) {
    if (typeof session !== "string" || session.length === 0 || session.length > MAX_NAME) return "a session key is a non-empty string";
    return [policy.ir.sessionGroup, sessionKey(session)];
  }
  if (principal !== undefined) {
    const n = normalizeRequest({ principal, action: "a", time: 0 }, policy.limits);
    if (n instanceof Rejection) return `a principal key is {kind, id}: ${n.message.replace(/^malformed request: /, "")}`;
    return [policy.ir.principalGroup, principalKey(n.principalKind!, n.principalId!)];
  }
  if (attribute !== undefined) {
    const value = own(k, "value");
    if (typeof attribute !== "string") return "an attribute key names its path as a string";
    const i = policy.ir.revokeTargets.findIndex((t) => t.kind === "path" && t.text === attribute);
    const paths = policy.ir.revokeTargets.flatMap((t) => (t.kind === "path" ? [t.text] : []));
    if (i < 0) return `${quote(attribute)} is not an attribute this policy revokes by: requests are checked for revocations of their session, principal${paths.length > 0 ? ` and ${paths.join(", ")}` : ""} only (add a rule with \`target ${attribute}\` to enforce it)`;
    if (!((typeof value === "string" && value.length <= policy.limits.maxKeyLength) || (typeof value === "number" && Number.isFinite(value)))) return "an attribute key's value is a string or a finite number";
    return [policy.ir.targetGroups[i]!, `${attribute}:${value}`];
  }
  return "a key is {session}, {principal: {kind, id}} or {attribute, value}";
}

/** Holds a rechecked decision to the request: whether it stands as one this policy made for it. */
export function bindRecheck(policy: Policy, previous: unknown, ev: Event, bucket: Bucket): Bound | DecisionValue {
  try {
    return bindRecheckOf(policy, previous, ev, bucket);
  } catch (e) {
    // A Proxy or a getter that throws: not a decision anyone can hold.
    return policy.errorDecision("R317", `not a decision: it cannot be read (${describeError(e)})`, null, ev);
  }
}

function bindRecheckOf(policy: Policy, previous: unknown, ev: Event, bucket: Bucket): Bound | DecisionValue {
  const fail = (code: string, message: string) => policy.errorDecision(code, message, null, ev);
  if (previous === null || typeof previous !== "object") return fail("R317", `not a decision: got ${safeDescribe(previous)}`);
  const d = previous as Record<string, unknown>;
  const field = (f: string) => (Object.prototype.hasOwnProperty.call(d, f) || d instanceof DecisionValue ? d[f] : undefined);
  const policyHash = field("policyHash");
  if (typeof policyHash === "string" && policyHash !== policy.hash) return fail("R308", `the decision was made by policy ${quote(policyHash)}, this is policy ${policy.hash}`);
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
  const same = digest === policy.digestOf(effect, { ...ev, time }, bucket, null);
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
 * Evaluates a recheck of a held decision: nothing is recorded, and when the decision is the one
 * made for this request (its digest matches), its own recorded event is left out of the history
 * it reads, so that the request is not counted against itself.
 */
export function evaluateHeld(policy: Policy, c: EvalContext, bucket: Bucket, bound: Bound): Decision {
  c.ownTime = bound.time;
  c.ownCategory = bound.own;
  return policy.evaluate(c, bucket, false, bound.held);
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

export function notStanding(decision: Decision): RecheckResult {
  return { stands: false, decision, reason: decision.reasons[0]!.message };
}

export function standing(effect: DecisionEffect, decision: Decision, note: string): RecheckResult {
  const stands = decision.effect === effect;
  const reason = stands ? `still ${decision.effect}${note}` : `${effect} became ${decision.effect}: ${decision.reasons.map((r) => r.message).join("; ")}${note}`;
  return { stands, decision, reason };
}

/** An observe step's outcome from the decision the evaluation made. */
export function signalStepOf(decision: Decision | unknown): SignalStep {
  const d = decision as Decision;
  const revoked = d.obligations.flatMap((o) => (o.kind === "revoke" ? [{ key: o.key, rule: o.rule, reason: d.reasons.find((r) => r.rule === o.rule)?.message ?? "" }] : []));
  return { revoked, flags: d.flags, errors: d.errors };
}

/** How long a store must keep a written partition: for ever with a revocation, else until it expires. */
export function keepOf(p: Partition, now: number): number {
  if (p.v !== undefined) return Infinity;
  let until = p.x;
  if (p.c !== undefined) for (const e of p.c) if (e[1] > until) until = e[1];
  return Math.max(0, until - now);
}
