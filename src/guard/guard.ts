import { keySpecText, type Policy } from "../runtime/engine.js";
import { DecisionValue } from "../runtime/values.js";
import type { Decision, DecisionError, KeySpec, PolicyState, RecheckResult, Request, Signal } from "../runtime/types.js";
import { memoryStore } from "../stores/memory.js";
import { isStoreError, StoreError, type Store } from "../stores/store.js";
import { callerId, idMaker } from "./ids.js";
import { shadowOf } from "./shadow.js";
import type { DecideOptions, Guard, GuardEvent, GuardOptions, GuardRequest, GuardSignal, ReinstateOutcome, RevokeOutcome, SignalOutcome } from "./types.js";

const DEFAULT_TIMEOUT_MS = 1000;
/** The key the whole policy state is held under. */
const STATE_KEY = "state";
const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Creates a Guard: the policy plus its state, held in `store`, for a caller that decides requests
 * one after another or concurrently. Every method resolves, never rejects: a store that fails or
 * does not answer within `timeoutMs` gives a deny (R314, R315) that carries the store's message.
 */
export function createGuard(options: GuardOptions): Guard {
  let policy = options.policy;
  const store: Store = options.store ?? memoryStore();
  const now = options.now ?? store.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const onDecision = options.onDecision;
  let closed = false;

  const emit = (e: GuardEvent): void => {
    if (onDecision === undefined) return;
    try {
      onDecision(e);
    } catch {
      // A log or metrics hook never changes or delays a decision.
    }
  };
  const nextId = idMaker();
  const shadow = shadowOf(options, emit, createGuard);

  /** Runs one step over the whole state, within the deadline. */
  const withState = <T>(step: (s: PolicyState) => { state: PolicyState; result: T }): Promise<T> => {
    if (closed) return Promise.reject(new StoreError("R314", "the guard is closed"));
    const p = policy;
    const deadline = now() + timeoutMs;
    let out: T | Promise<T>;
    try {
      out = store.transact(
        [STATE_KEY],
        (current) => {
          const s = (current[0] ?? p.initialState()) as PolicyState;
          const r = step(s);
          return { writes: [r.state === s ? undefined : r.state], result: r.result };
        },
        deadline,
      );
    } catch (e) {
      return Promise.reject(e);
    }
    if (!(out instanceof Promise)) return Promise.resolve(out);
    return withTimeout(out, timeoutMs);
  };

  const denyFor = (e: unknown, request: unknown): Decision => {
    const { code, message } = storeFailure(e);
    return errorDecision(policy, code, message, request);
  };

  const guard: Guard = {
    get policy() {
      return policy;
    },

    async decide(request: GuardRequest, decideOptions?: DecideOptions): Promise<Decision> {
      const started = now();
      const t0 = performance.now();
      const req = timed(request, started);
      let decision: Decision;
      if (typeof req === "string") decision = errorDecision(policy, "R304", `malformed request: ${req}`, request);
      else {
        try {
          decision = await withState((s) => {
            const r = policy.decide(s, req);
            return { state: r.state, result: r.decision };
          });
        } catch (e) {
          decision = denyFor(e, req);
        }
      }
      if (typeof req !== "string" && (onDecision !== undefined || shadow !== null)) {
        const id = callerId(decideOptions) ?? nextId();
        emit({ kind: "decision", id, policy, request: req as unknown as Request, decision, latencyMs: performance.now() - t0, store: store.kind });
        shadow?.decide(req as unknown as Request, decision, id, policy);
      }
      return decision;
    },

    async observe(signal: GuardSignal): Promise<SignalOutcome> {
      const started = now();
      const t0 = performance.now();
      const sig = timed(signal, started);
      let outcome: SignalOutcome;
      if (typeof sig === "string") outcome = { revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: "R304", message: `malformed signal: ${sig}` }] };
      else {
        try {
          outcome = await withState((s) => {
            const r = policy.observe(s, sig);
            return { state: r.state, result: { revoked: r.revoked, flags: r.flags, errors: r.errors } };
          });
        } catch (e) {
          outcome = { revoked: EMPTY, flags: EMPTY, errors: [storeFailure(e)] };
        }
        if (onDecision !== undefined) emit({ kind: "signal", id: nextId(), policy, signal: sig as unknown as Signal, outcome, latencyMs: performance.now() - t0, store: store.kind });
        shadow?.observe(sig as unknown as Signal);
      }
      return outcome;
    },

    async revoke(key: KeySpec, reason: string): Promise<RevokeOutcome> {
      const time = now();
      let outcome: RevokeOutcome;
      try {
        outcome = await withState((s) => {
          const r = policy.revoke(s, key, reason, time);
          return { state: r.state, result: r.error ? { key: r.key, error: r.error } : { key: r.key } };
        });
      } catch (e) {
        outcome = { key: keyText(key), error: storeFailure(e) };
      }
      if (onDecision !== undefined) emit({ kind: "revoke", id: nextId(), policy, key: outcome.key, reason: safeText(reason), time, store: store.kind, ...(outcome.error ? { error: outcome.error } : {}) });
      shadow?.revoke(key, reason);
      return outcome;
    },

    async reinstate(key: KeySpec): Promise<ReinstateOutcome> {
      const time = now();
      let outcome: ReinstateOutcome;
      try {
        outcome = await withState((s) => {
          const r = policy.reinstate(s, key);
          const k = keyText(key);
          return { state: r.state, result: r.error ? { key: k, reinstated: r.reinstated, error: r.error } : { key: k, reinstated: r.reinstated } };
        });
      } catch (e) {
        outcome = { key: keyText(key), reinstated: false, error: storeFailure(e) };
      }
      if (onDecision !== undefined) emit({ kind: "reinstate", id: nextId(), policy, key: outcome.key, reason: "", time, store: store.kind, ...(outcome.error ? { error: outcome.error } : {}) });
      shadow?.reinstate(key);
      return outcome;
    },

    async recheck(decision: Decision, request: GuardRequest): Promise<RecheckResult> {
      const req = timed(request, now());
      try {
        return await withState((s) => ({ state: s, result: policy.recheck(s, decision, typeof req === "string" ? request : req) }));
      } catch (e) {
        const d = denyFor(e, req);
        return { stands: false, decision: d, reason: d.reasons[0]!.message };
      }
    },

    async setPolicy(next: Policy): Promise<void> {
      const previous = policy;
      try {
        await withState((s) => {
          // Revocations carry over; histories start again under the new layout.
          let state = next.initialState();
          for (const r of previous.revocations(s)) {
            const spec = keySpecOf(r.key);
            if (spec !== null) state = next.revoke(state, spec, r.reason, r.time).state;
          }
          return { state, result: undefined };
        });
      } finally {
        policy = next;
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([store.close(), shadow?.close()]);
    },
  };
  return guard;
}

/** The request with `time` filled from the clock when it has none, or why it cannot be read. */
function timed(r: unknown, t: number): Record<string, unknown> | string {
  try {
    if (r === null || typeof r !== "object" || Array.isArray(r)) return "a request is an object";
    if (Object.prototype.hasOwnProperty.call(r, "time") && (r as { time?: unknown }).time !== undefined) return r as Record<string, unknown>;
    return { ...(r as Record<string, unknown>), time: t };
  } catch (e) {
    return `it cannot be read (${e instanceof Error ? e.message : String(e)})`;
  }
}

function storeFailure(e: unknown): DecisionError {
  if (isStoreError(e)) return { rule: null, code: e.code, message: e.message };
  return { rule: null, code: "R314", message: `the store failed: ${e instanceof Error ? e.message : safeText(e)}` };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreError("R315", `the store did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** A deny that no rule gave: the request could not be decided (store failure, malformed input). */
function errorDecision(policy: Policy, code: string, message: string, request: unknown): Decision {
  const reasons = [{ rule: null, effect: "deny" as const, code, message }];
  return new DecisionValue("deny", EMPTY, reasons, EMPTY, EMPTY, [{ rule: null, code, message }], EMPTY, null, null, EMPTY, policy.hash, fieldTime(request), fieldAction(request));
}

function fieldTime(r: unknown): number {
  try {
    const t = (r as { time?: unknown } | null)?.time;
    return typeof t === "number" && Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
  }
}

function fieldAction(r: unknown): string {
  try {
    const a = (r as { action?: unknown } | null)?.action;
    return typeof a === "string" ? a.slice(0, 256) : "";
  } catch {
    return "";
  }
}

function keyText(key: KeySpec): string {
  try {
    return keySpecText(key);
  } catch {
    return "";
  }
}

function safeText(v: unknown): string {
  try {
    return typeof v === "string" ? v : String(v);
  } catch {
    return "(unprintable)";
  }
}

/** The KeySpec of a state key string (`session:s1`, `principal:agent/bot`, `context.ip:1.2.3.4`). */
function keySpecOf(key: string): KeySpec | null {
  if (key.startsWith("session:")) return { session: key.slice(8) };
  if (key.startsWith("principal:")) {
    const rest = key.slice(10);
    const slash = rest.indexOf("/");
    return slash < 0 ? null : { principal: { kind: rest.slice(0, slash), id: rest.slice(slash + 1) } };
  }
  const colon = key.indexOf(":");
  return colon < 0 ? null : { attribute: key.slice(0, colon), value: key.slice(colon + 1) };
}
