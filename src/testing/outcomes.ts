import type { Policy } from "../runtime/engine.js";
import type { TraceEntry } from "./arbitraries.js";
import { isProbe } from "./probes.js";
import { observe } from "../runtime/operations.js";

/** What one event of a trace did: a request's effect and deciding rules, or the keys a signal revoked. */
export interface StepOutcome {
  readonly kind: "request" | "signal";
  /** A request's effect; a signal's is `revoke` when it revoked something, else absent. */
  readonly effect?: string;
  readonly rules: readonly string[];
  /** The policy's own flags (never the probes a search adds). */
  readonly flags: readonly string[];
  /** Keys a signal revoked (`session:s1`). */
  readonly revoked?: readonly string[];
}

/** Replays a trace from the initial state and says what each event did. */
export function stepOutcomes(policy: Policy, trace: readonly TraceEntry[]): StepOutcome[] {
  let state = policy.initialState();
  return trace.map((e) => {
    if ("signal" in e) {
      const r = observe(policy, state, e);
      state = r.state;
      const revoked = r.revoked.map((x) => x.key);
      return { kind: "signal", ...(revoked.length > 0 ? { effect: "revoke" } : {}), rules: r.revoked.map((x) => x.rule), flags: r.flags.filter((f) => !isProbe(f)), revoked };
    }
    const r = policy.decide(state, e);
    state = r.state;
    return { kind: "request", effect: r.decision.effect, rules: r.decision.rules, flags: r.decision.flags.filter((f) => !isProbe(f)) };
  });
}
