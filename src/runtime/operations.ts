import { isBucket, Refusal, type Policy } from "./engine.js";
import { principalKey, sessionKey } from "./context.js";
import { describeError, normalizeRequest, normalizeSignal, Rejection } from "./request.js";
import { stateOf } from "./state.js";
import { bindRecheck, evaluateHeld, keyStep, notStanding, Plan, planFor, planKey, signalStepOf, standing, stepPure, type KeyStep } from "./steps.js";
import { DecisionValue } from "./values.js";
import type { Decision, DecisionError, KeySpec, ObserveResult, PolicyState, RecheckResult } from "./types.js";

/**
 * What a policy does over a state besides deciding: observe a signal, recheck a held decision,
 * revoke and reinstate a key. Free functions rather than methods of `Policy`, so that an
 * application that only decides (`leash/runtime`) bundles none of them; each is pure, takes the
 * policy first and never throws.
 */

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Records an observed signal (`login.fail`, `approval.granted`, `session.revoked`): history
 * operators that count signals see it, and `revoke signal X` / `flag signal X` rules run on it.
 */
export function observe(policy: Policy, state: PolicyState, signal: unknown): ObserveResult {
  try {
    const n = normalizeSignal(signal, policy.limits);
    if (n instanceof Rejection) return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: n.code, message: n.message }] };
    const st = stateOf(state);
    if (typeof st === "string") return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: "R303", message: st }] };
    const plan = planFor(policy, "observe", n, policy.index.signal(n.name), null);
    const out = stepPure(policy, st, plan, (c) => policy.evaluate(c, plan.bucket!, true, false));
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
export function recheck(policy: Policy, state: PolicyState, previous: Decision, request: unknown): RecheckResult {
  try {
    const n = normalizeRequest(request, policy.limits);
    if (n instanceof Rejection) return notStanding(policy.errorDecision(n.code, n.message, request));
    const st = stateOf(state);
    if (typeof st === "string") return notStanding(policy.errorDecision("R303", st, request, n));
    const bucket = policy.bucketFor(n);
    if (!isBucket(bucket)) return notStanding(bucket);
    const bound = bindRecheck(policy, previous, n, bucket);
    if (bound instanceof DecisionValue) return notStanding(bound);
    const plan = planFor(policy, "recheck", n, bucket, bound);
    const out = stepPure(policy, st, plan, (c) => evaluateHeld(policy, c, bucket, bound));
    if (out instanceof Refusal) return notStanding(policy.errorDecision(out.code, out.message, request, n));
    return standing(bound.effect, out.result as Decision, bound.note);
  } catch (e) {
    return notStanding(policy.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null));
  }
}

/**
 * Revokes a key by API call: every later request of that key is denied (R307) until `reinstate`.
 * The key is a session, a principal, or a value of an attribute the policy revokes by (a `target`
 * path): any other key is refused with R309, as is a malformed one; a time that is not valid
 * (see `validTime`) or a reason that is not a string is refused with R304. A refused call leaves
 * the state unchanged. Never throws.
 */
export function revoke(policy: Policy, state: PolicyState, key: KeySpec, reason: string, time: number | string = 0): { state: PolicyState; key: string; error?: DecisionError } {
  try {
    const plan = planKey(policy, "revoke", key, time, reason);
    if (!(plan instanceof Plan)) return { state, key: plan.key, error: plan.error };
    const st = stateOf(state);
    if (typeof st === "string") return { state, key: plan.keys[0]!, error: { rule: null, code: "R303", message: st } };
    const out = stepPure(policy, st, plan, (c) => keyStep(policy, c, plan));
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
export function reinstate(policy: Policy, state: PolicyState, key: KeySpec, time: number | string = 0): { state: PolicyState; reinstated: boolean; error?: DecisionError } {
  try {
    const plan = planKey(policy, "reinstate", key, time, null);
    if (!(plan instanceof Plan)) return { state, reinstated: false, error: plan.error };
    const st = stateOf(state);
    if (typeof st === "string") return { state, reinstated: false, error: { rule: null, code: "R303", message: st } };
    const out = stepPure(policy, st, plan, (c) => keyStep(policy, c, plan));
    if (out instanceof Refusal) return { state, reinstated: false, error: { rule: null, code: out.code, message: out.message } };
    const r = out.result as KeyStep;
    return r.error ? { state, reinstated: false, error: r.error } : { state: out.state, reinstated: true };
  } catch (e) {
    return { state, reinstated: false, error: { rule: null, code: "R309", message: `the key cannot be read (${describeError(e)})` } };
  }
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
