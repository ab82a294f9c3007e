import fc from "fast-check";
import { compilePolicy } from "../../src/compile/compile.js";
import type { Policy } from "../../src/runtime/engine.js";
import { arbScopePolicy, arbSequencePolicy, DEFAULT_VOCABULARY } from "../../src/testing/arbitraries-policy.js";
import { observe } from "../../src/runtime/operations.js";

/**
 * Random policies with a planted violation, for measuring the power of the property search: a
 * random policy, plus `rule planted: allow A for K "x" when P` and the property
 * `never allow A for K "x"`. Whether the violation is reachable is decided independently of the
 * search, by trying a grid of requests (each alone, or after one enabling signal).
 *
 * The hard cases add what starves a naive random search: a `revoke signal` rule on a signal the
 * traces draw often, a label that blocks a session after a common action, and limits on the
 * planted rule and on the other rules, so that a search that keeps all its events on a few
 * sessions revokes, labels or uses them up before it gets to the planted rule.
 */

/** Conditions a planted rule may have; each satisfiable by some request of the grid below. */
export const PLANTED_CONDITIONS = [
  "context.risk < 0.5",
  "context.risk >= 0.9",
  'context.tier == "gold"',
  'context.tier in ["gold", "silver"]',
  "context.mfa",
  "not context.mfa",
  'context.ip like "10.*"',
  "context.risk <= 0.2 and context.mfa",
  'context.tier != "free" or context.risk > 0.5',
  "context has risk",
  "after(signal s.ok by session within 10s)",
  "count(signal s.fail by session within 5s) >= 1",
  'resource.path like "repo/*"',
] as const;

export interface PlantedCase {
  readonly source: string;
  readonly action: string;
  readonly kind: string;
  readonly condition: string;
  /** The hazards the case carries (empty for the plain cases). */
  readonly hazards: readonly string[];
}

/**
 * Conditions of hard cases: each needs history in the session (so a session that a hazard revoked
 * or marked is of no use any more), and each is reachable by a grid prefix of at most two events.
 */
export const HARD_CONDITIONS = [
  "after(signal s.ok by session within 10s)",
  "count(signal s.fail by session within 5s) >= 2",
  "after(a.y by session within 10s)",
  "sequence(signal s.ok, signal s.fail by session within 10s)",
  "after(signal s.ok by session within 10s) and context.risk < 0.5",
] as const;

/** Rules that revoke, label and limit: what makes a random trace's sessions useless early. */
export const HAZARDS = {
  "revoke signal": 'rule hazard-alert: revoke signal s.alert\n  reason "an alert ends the session"',
  "revoke on a signal's history": "rule hazard-fails: revoke *\n  when count(signal s.fail by session within 10s) >= 3",
  "label that blocks": "rule hazard-mark: flag a.x\n  label session += marked\n\nrule hazard-marked: deny *\n  when session has marked",
  "limit per session": "rule hazard-limit: allow a.y, b.x\n  limit 1 per session",
  "revoke by principal": "rule hazard-principal: revoke b.z\n  when count(b.z by principal within 10s) >= 2\n  target principal",
} as const;

export type Hazard = keyof typeof HAZARDS;

function plantedCase(base: string, action: string, kind: string, condition: string, hazards: readonly Hazard[], limit: boolean): PlantedCase {
  const extra = hazards.map((h) => `${HAZARDS[h]}\n`).join("\n");
  const planted = `rule planted: allow ${action} for ${kind} "x"\n  when ${condition}${limit ? "\n  limit 1 per session" : ""}\n`;
  return { action, kind, condition, hazards, source: `${base}\n${extra}\n${planted}\nproperty "planted" {\n  never allow ${action} for ${kind} "x"\n}\n` };
}

export function arbPlantedCase(): fc.Arbitrary<PlantedCase> {
  const v = DEFAULT_VOCABULARY;
  return fc
    .record({
      base: fc.oneof(arbScopePolicy(v), arbSequencePolicy(v)),
      action: fc.constantFrom(...v.actions),
      kind: fc.constantFrom("agent", "service", "human"),
      condition: fc.constantFrom(...PLANTED_CONDITIONS),
    })
    .map(({ base, action, kind, condition }) => plantedCase(base, action, kind, condition, [], false));
}

/**
 * Hard planted cases: a violation that needs history in its session, in a policy with one to
 * three hazards (a `revoke signal` rule, a revoke on a count of signals, a label that blocks the
 * session, a limit per session, a revoke by principal) and sometimes a limit on the planted rule.
 */
export function arbHardPlantedCase(): fc.Arbitrary<PlantedCase> {
  const v = { ...DEFAULT_VOCABULARY, signals: [...DEFAULT_VOCABULARY.signals, "s.alert"] };
  const names = Object.keys(HAZARDS) as Hazard[];
  return fc
    .record({
      base: fc.oneof(arbScopePolicy(v), arbSequencePolicy(v)),
      action: fc.constantFrom(...v.actions),
      kind: fc.constantFrom("agent", "service", "human"),
      condition: fc.constantFrom(...HARD_CONDITIONS),
      hazards: fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }),
      limit: fc.boolean(),
    })
    .map(({ base, action, kind, condition, hazards, limit }) => plantedCase(base, action, kind, condition, hazards, limit));
}

const T0 = 1_000_000;

/**
 * Whether some request of a grid is allowed after some prefix of at most two events (the signals
 * `s.ok` and `s.fail`, and a request of each action) by the same principal and session, one second
 * apart: the violation is reachable.
 */
export function reachable(policy: Policy, c: Pick<PlantedCase, "action" | "kind">): boolean {
  const principal = { kind: c.kind, id: "x" };
  const contexts: Record<string, unknown>[] = [];
  for (const risk of [0.2, 0.95, undefined])
    for (const tier of ["gold", "free", undefined])
      for (const mfa of [true, false])
        for (const ip of ["10.0.0.1", "192.168.0.7"]) contexts.push(Object.fromEntries(Object.entries({ risk, tier, mfa, ip }).filter(([, x]) => x !== undefined)));
  const steps: Record<string, unknown>[] = [
    { signal: "s.ok", session: "s1", principal, context: { ip: "10.0.0.1" } },
    { signal: "s.fail", session: "s1", principal, context: { ip: "10.0.0.1" } },
    ...DEFAULT_VOCABULARY.actions.flatMap((action) => [{ action, session: "s1", principal, context: { ip: "10.0.0.1", risk: 0.2, tier: "gold", mfa: true } }]),
  ];
  const prefixes: Record<string, unknown>[][] = [[], ...steps.map((s) => [s]), ...steps.flatMap((a) => steps.map((b) => [a, b]))];
  for (const prefix of prefixes) {
    let state = policy.initialState();
    prefix.forEach((e, i) => {
      const at = { ...e, time: T0 - (prefix.length - i) * 1000 };
      state = "signal" in e ? observe(policy, state, at).state : policy.decide(state, at).state;
    });
    for (const resource of [{ type: "repo", path: "repo/app" }, undefined])
      for (const context of contexts) {
        const request = { principal, action: c.action, session: "s1", context, ...(resource ? { resource } : {}), time: T0 };
        if (policy.decide(state, request).decision.effect === "allow") return true;
      }
  }
  return false;
}

/** Compiles a case (null when the generated policy plus the planted rule does not compile). */
export function compileCase(c: PlantedCase): Policy | null {
  return compilePolicy(c.source, { file: "planted.rules" }).policy;
}
