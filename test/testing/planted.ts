import fc from "fast-check";
import { compilePolicy } from "../../src/compile/compile.js";
import type { Policy } from "../../src/runtime/engine.js";
import { arbScopePolicy, arbSequencePolicy, DEFAULT_VOCABULARY } from "../../src/testing/arbitraries-policy.js";

/**
 * Random policies with a planted violation, for measuring the power of the property search: a
 * random policy, plus `rule planted: allow A for K "x" when P` and the property
 * `never allow A for K "x"`. Whether the violation is reachable is decided independently of the
 * search, by trying a grid of requests (each alone, or after one enabling signal).
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
    .map(({ base, action, kind, condition }) => ({
      action,
      kind,
      condition,
      source: `${base}\nrule planted: allow ${action} for ${kind} "x"\n  when ${condition}\n\nproperty "planted" {\n  never allow ${action} for ${kind} "x"\n}\n`,
    }));
}

const T0 = 1_000_000;

/** Whether some request of a grid (alone, or one second after an enabling signal) is allowed: the violation is reachable. */
export function reachable(policy: Policy, c: PlantedCase): boolean {
  const contexts: Record<string, unknown>[] = [];
  for (const risk of [0.2, 0.95, undefined])
    for (const tier of ["gold", "free", undefined])
      for (const mfa of [true, false])
        for (const ip of ["10.0.0.1", "192.168.0.7"]) contexts.push(Object.fromEntries(Object.entries({ risk, tier, mfa, ip }).filter(([, x]) => x !== undefined)));
  const prefixes = [null, "s.ok", "s.fail"];
  for (const prefix of prefixes) {
    let state = policy.initialState();
    if (prefix) state = policy.observe(state, { signal: prefix, session: "s1", principal: { kind: c.kind, id: "x" }, context: { ip: "10.0.0.1" }, time: T0 - 1000 }).state;
    for (const resource of [{ type: "repo", path: "repo/app" }, undefined])
      for (const context of contexts) {
        const request = { principal: { kind: c.kind, id: "x" }, action: c.action, session: "s1", context, ...(resource ? { resource } : {}), time: T0 };
        if (policy.decide(state, request).decision.effect === "allow") return true;
      }
  }
  return false;
}

/** Compiles a case (null when the generated policy plus the planted rule does not compile). */
export function compileCase(c: PlantedCase): Policy | null {
  return compilePolicy(c.source, { file: "planted.rules" }).policy;
}
