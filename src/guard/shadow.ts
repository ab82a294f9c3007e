import type { Policy } from "../runtime/engine.js";
import type { Decision, KeySpec, Request, Signal } from "../runtime/types.js";
import { memoryStore } from "../stores/memory.js";
import type { Guard, GuardEvent, GuardOptions, ShadowOptions } from "./types.js";

/** The candidate of shadow mode, fed everything the enforced policy sees after it has seen it. */
export interface Shadow {
  decide(request: Request, decision: Decision, id: string, enforced: Policy): void;
  observe(signal: Signal): void;
  revoke(key: KeySpec, reason: string): void;
  reinstate(key: KeySpec): void;
  close(): Promise<void>;
}

/**
 * The candidate of `options.shadow` as a Guard of its own (same clock and timeout, its own store),
 * or null without one. Nothing it does is awaited by the enforced Guard: its decisions arrive as
 * `shadow` events through `emit` when they are done.
 */
export function shadowOf(options: GuardOptions, emit: (e: GuardEvent) => void, create: (o: GuardOptions) => Guard): Shadow | null {
  const spec = options.shadow;
  if (spec === undefined) return null;
  // A Policy has `decide`; ShadowOptions has `policy` (instanceof would miss a Policy of another bundle).
  const bare = typeof (spec as Policy).decide === "function";
  const policy = bare ? (spec as Policy) : (spec as ShadowOptions).policy;
  const store = (bare ? undefined : (spec as ShadowOptions).store) ?? memoryStore();
  const candidate = create({ policy, store, ...(options.now ? { now: options.now } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  const ignore = () => undefined;
  return {
    decide(request, decision, id, enforced) {
      const started = performance.now();
      candidate.decide(request).then((c) => {
        emit({ kind: "shadow", id, policy: enforced, candidatePolicy: policy, request, decision, candidate: c, flipped: c.effect !== decision.effect, latencyMs: performance.now() - started, store: store.kind });
      }, ignore);
    },
    observe: (signal) => void candidate.observe(signal).then(undefined, ignore),
    revoke: (key, reason) => void candidate.revoke(key, reason).then(undefined, ignore),
    reinstate: (key) => void candidate.reinstate(key).then(undefined, ignore),
    close: () => candidate.close(),
  };
}
