import { NeedsLayout, type Policy } from "../runtime/engine.js";
import { decideOffline, Plan, planKey, planRecheck, planRequest, planSignal, refuse, step, StepOutcome, type KeyStep, type SignalStep } from "../runtime/steps.js";
import { layoutKey, parseDescriptor, type LayoutDescriptor } from "../runtime/layout.js";
import type { LayoutSource } from "../runtime/migrate.js";
import type { Decision, DecisionError, KeySpec, RecheckResult, Request, Signal } from "../runtime/types.js";
import { memoryStore } from "../stores/memory.js";
import { isStoreError, StoreError, type PartitionData, type Store, type StepResult } from "../stores/store.js";
import { systemClock } from "./clock.js";
import { Holds } from "./holds.js";
import { KeyQueue } from "./queue.js";
import { callerId, idMaker } from "./ids.js";
import { shadowOf } from "./shadow.js";
import type { DecideOptions, Guard, GuardEvent, GuardOptions, GuardRequest, GuardSignal, Hold, HoldOptions, ReinstateOutcome, RevokeOutcome, SignalOutcome } from "./types.js";

const DEFAULT_TIMEOUT_MS = 1000;

/**
 * The Guard's decide without the promise when there is nothing to wait for: what an integration
 * on the request path (leash/http) calls through `decideNow`, so that a decision over the memory
 * store costs no promise and no microtask turn. Not part of the `Guard` interface: a Guard made
 * elsewhere (a wrapper, a test double) is asked through `decide`.
 */
const DECIDE_NOW = Symbol("leash.decideNow");
type DecideNow = (request: GuardRequest, options?: DecideOptions) => Decision | Promise<Decision>;

/** `guard.decide(request, options)`, answered synchronously when `guard` is one of `createGuard`'s and its store answered at once. Never throws. */
export function decideNow(guard: Guard, request: GuardRequest, options?: DecideOptions): Decision | Promise<Decision> {
  const now = (guard as Partial<Record<typeof DECIDE_NOW, DecideNow>>)[DECIDE_NOW];
  return typeof now === "function" ? now(request, options) : guard.decide(request, options);
}
const EMPTY: readonly never[] = Object.freeze([]);
/** How many unknown layouts one operation may look up before it gives up (R303). */
const MAX_LAYOUT_LOOKUPS = 4;

/** Why the Guard could not complete an operation in the store: R314, R315, R326, R303 (unreadable layout). */
class Failed {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

/**
 * Creates a Guard: the policy plus its state, held in `store`, for a caller that decides requests
 * one after another or concurrently.
 *
 * A decision is: plan the partition keys the request reads and may write (`planRequest`),
 * run the policy's pure step over those partitions in one store transaction, return its decision.
 * Over a synchronous store (the memory store) that is one call with no locks and one promise. Over
 * an asynchronous store (Redis), decisions of this process that may write the same partition are
 * queued in the order they arrived (each takes its place on all its keys at once, so no two wait
 * for each other), which keeps the store's optimistic transactions from retrying against their own
 * process; the store's atomic, versioned commit keeps decisions of several processes exact.
 *
 * Every method resolves, never rejects: a store that fails or does not answer within `timeoutMs`
 * gives a deny (R314, R315) carrying the store's message, unless `whenStoreDown` says otherwise.
 */
export function createGuard(options: GuardOptions): Guard {
  let policy = options.policy;
  const store: Store = options.store ?? memoryStore();
  // A store that keeps a clock of its own (Redis with the server's time) gives it to a Guard given none.
  const given = options.clock;
  const now = options.now ?? (given !== undefined ? () => given.now() : undefined) ?? store.now ?? Date.now;
  const timeoutMs = options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs) && options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_TIMEOUT_MS;
  const onDecision = options.onDecision;
  const storeDown = options.whenStoreDown?.skipRevocations === true ? new Set(options.whenStoreDown.skipHistory) : null;
  const queue = new KeyQueue();
  let closed = false;
  /** Learned from the first transaction that answered with a promise. */
  let asyncStore = false;

  /* ---- layouts: every version's descriptors this Guard knows, and which are in the store ---- */

  const layouts = new Map<string, LayoutDescriptor>();
  const learn = (p: Policy) => {
    for (const id of Object.keys(p.layouts)) layouts.set(id, p.layouts[id]!);
  };
  learn(policy);
  const source: LayoutSource = (id) => layouts.get(id);
  let described: Policy | null = null;
  let describing: { policy: Policy; done: Promise<void> } | null = null;

  /** Stores `p`'s layout descriptors (once per policy): null when done, else a promise that never rejects. */
  const describe = (p: Policy): Promise<void> | null => {
    if (described === p) return null;
    if (describing !== null && describing.policy === p) return describing.done;
    const ids = Object.keys(p.layouts);
    const keys = ids.map(layoutKey);
    const writeDescriptors = (current: readonly (PartitionData | null)[]): StepResult<true> => ({
      writes: current.map((c, i) => (c === null ? p.layouts[ids[i]!]! : undefined)),
      keepMs: keys.map(() => Infinity),
      result: true,
    });
    let out: true | Promise<true>;
    try {
      out = store.transact(keys, writeDescriptors, now() + timeoutMs);
    } catch {
      return null; // tried; the decision's own transaction reports the store's state
    }
    if (!(out instanceof Promise)) {
      described = p;
      return null;
    }
    asyncStore = true;
    const done = withTimeout(out, timeoutMs).then(
      () => {
        described = p;
      },
      () => undefined,
    );
    describing = { policy: p, done };
    void done.then(() => {
      if (describing?.done === done) describing = null;
    });
    return done;
  };

  /** Looks up the descriptor of layout `id` in the store: null when found (and learnt), else why not. */
  const lookUp = (id: string, key: string): Failed | null | Promise<Failed | null> => {
    const found = (raw: unknown): Failed | null => {
      if (raw === null || raw === undefined) return new Failed("R303", `state_corrupt: ${key} was written in layout ${id}, which this policy does not know and the store does not describe`);
      const d = parseDescriptor(raw, id);
      if (typeof d === "string") return new Failed("R303", `state_corrupt: the store's descriptor of layout ${id} is unreadable: ${d}`);
      layouts.set(id, d);
      return null;
    };
    try {
      const out = store.transact([layoutKey(id)], (current) => ({ writes: EMPTY, result: current[0] ?? null }), now() + timeoutMs);
      return out instanceof Promise ? out.then(found, failure) : found(out);
    } catch (e) {
      return failure(e);
    }
  };

  /* ---- running a plan in the store -------------------------------------------------------- */

  type Result = Decision | SignalStep | KeyStep | RecheckResult;

  /** One transaction of `plan`'s step: its result, a layout to look up first, or the store's failure. */
  const attempt = (p: Policy, plan: Plan): Result | NeedsLayout | Failed | Promise<Result | NeedsLayout | Failed> => {
    const transaction = (current: readonly (PartitionData | null)[]): StepResult<Result | NeedsLayout> => {
      const out = step(p, plan, current, source);
      if (out instanceof NeedsLayout) return new StepOutcome(out, EMPTY as never[], EMPTY as never[]);
      // What a signal writes is announced to the store's other holders: their holds re-check.
      return plan.kind === "observe" ? new StepOutcome(out.result, out.writes, out.keepMs, out.writes.map((w) => w !== undefined)) : out;
    };
    try {
      const out = store.transact(plan.keys, transaction, now() + timeoutMs);
      if (out instanceof Promise) {
        asyncStore = true;
        return out.then(undefined, failure);
      }
      return out;
    } catch (e) {
      return failure(e);
    }
  };

  /**
   * Runs `plan` to its result: describes the policy in the store (tried once per operation: a store
   * that cannot take the descriptors reports itself in the operation's own transaction), looks up
   * other versions' layouts, retries.
   */
  const perform = (p: Policy, plan: Plan, lookups = 0, describedTried = false): Result | Failed | Promise<Result | Failed> => {
    const ready = describedTried ? null : describe(p);
    if (ready !== null) return ready.then(() => perform(p, plan, lookups, true));
    const out = attempt(p, plan);
    if (out instanceof Promise) return out.then((r) => settle(p, plan, lookups, r));
    return out instanceof NeedsLayout ? settle(p, plan, lookups, out) : out;
  };

  /** After an attempt of `plan`: its result, or the layout it needs looked up and the plan run again. */
  const settle = (p: Policy, plan: Plan, lookups: number, r: Result | NeedsLayout | Failed): Result | Failed | Promise<Result | Failed> => {
    if (!(r instanceof NeedsLayout)) return r;
    if (lookups >= MAX_LAYOUT_LOOKUPS) return new Failed("R303", `state_corrupt: ${r.key} needs more than ${MAX_LAYOUT_LOOKUPS} layouts this policy does not know`);
    const looked = lookUp(r.layout, r.key);
    const again = (f: Failed | null) => (f !== null ? f : perform(p, plan, lookups + 1, true));
    return looked instanceof Promise ? looked.then(again) : again(looked);
  };

  /**
   * `perform` within the deadline, queued behind earlier work on the same partitions when the
   * store is asynchronous. Synchronous stores answer at once: no queue, no timer.
   */
  const run = (p: Policy, plan: Plan): Result | Failed | Promise<Result | Failed> => {
    if (closed) return new Failed("R314", "the guard is closed");
    if (!asyncStore) {
      const out = perform(p, plan);
      if (!(out instanceof Promise)) return out;
      return withTimeout(out, timeoutMs).then(undefined, failure);
    }
    const ticket = queue.enter(plan.keys, plan.writable);
    const work = ticket.ready === null ? perform(p, plan) : ticket.ready.then(() => perform(p, plan));
    const bounded = work instanceof Promise ? withTimeout(work, timeoutMs).then(undefined, failure) : Promise.resolve(work);
    return bounded.then((r) => {
      ticket.done();
      return r;
    });
  };

  /* ---- the Guard's methods ---------------------------------------------------------------- */

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

  /** Reports a decision (`t0` from performance.now) to the hook and to the shadow candidate. */
  const decided = (request: unknown, decision: Decision, p: Policy, t0: number, id: string | null): Decision => {
    // A request that cannot even be read (a hostile Proxy) is denied but not handed to the hook.
    if ((onDecision !== undefined || shadow !== null) && readable(request)) {
      const req = withTime(request, decision.time) as Request;
      const decisionId = id ?? nextId();
      emit({ kind: "decision", id: decisionId, policy: p, request: req, decision, latencyMs: performance.now() - t0, store: store.kind, migrated: decision.migrated === true });
      shadow?.decide(req, decision, decisionId, p);
    }
    return decision;
  };

  /** The decision for a failed store operation: a deny, or (whenStoreDown) a decision without history. */
  const failedDecision = (p: Policy, plan: Plan, f: Failed, request: unknown): Decision => {
    if (storeDown !== null && !closed && (f.code === "R314" || f.code === "R315") && plan.bucket !== null) return decideOffline(p, plan, storeDown, { rule: null, code: f.code, message: f.message });
    return refuse(p, plan, f.code, f.message, request);
  };

  /** A decision: the Decision itself when the store answered at once (the memory store), else its promise. */
  const decideOrWait = (request: GuardRequest, decideOptions: DecideOptions | undefined): Decision | Promise<Decision> => {
    // The clocks are read only for what needs them: the latency for a hook, the time for a request without one.
    const t0 = onDecision !== undefined || shadow !== null ? performance.now() : 0;
    const p = policy;
    const id = decideOptions === undefined ? null : callerId(decideOptions);
    const plan = planRequest(p, request, hasOwnTime(request) ? undefined : now());
    if (!(plan instanceof Plan)) return decided(request, plan, p, t0, id);
    const out = run(p, plan);
    // No closure unless the store makes us wait.
    return out instanceof Promise ? out.then((r) => finishDecision(request, r, p, plan, t0, id)) : finishDecision(request, out, p, plan, t0, id);
  };

  const finishDecision = (request: GuardRequest, r: Result | Failed, p: Policy, plan: Plan, t0: number, id: string | null): Decision => {
    const d = decided(request, r instanceof Failed ? failedDecision(p, plan, r, request) : (r as Decision), p, t0, id);
    if (d.effect === "revoke") holds.touched(revokedKeys(d), "revocation");
    return d;
  };

  const guard: Guard & { readonly [DECIDE_NOW]: DecideNow } = {
    get policy() {
      return policy;
    },

    decide(request: GuardRequest, decideOptions?: DecideOptions): Promise<Decision> {
      const d = decideOrWait(request, decideOptions);
      return d instanceof Promise ? d : Promise.resolve(d);
    },

    [DECIDE_NOW]: (request: GuardRequest, decideOptions?: DecideOptions): Decision | Promise<Decision> => decideOrWait(request, decideOptions),

    observe(signal: GuardSignal): Promise<SignalOutcome> {
      const t0 = performance.now();
      const started = now();
      const p = policy;
      const plan = planSignal(p, signal, started);
      if (!(plan instanceof Plan)) return Promise.resolve({ revoked: EMPTY, flags: EMPTY, errors: [plan] });
      const finish = (r: Result | Failed): SignalOutcome => {
        const outcome: SignalOutcome = r instanceof Failed ? { revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: r.code, message: r.message }] } : (r as SignalStep);
        const sig = withTime(signal, plan.ev.time) as Signal;
        if (onDecision !== undefined) emit({ kind: "signal", id: nextId(), policy: p, signal: sig, outcome, latencyMs: performance.now() - t0, store: store.kind });
        shadow?.observe(sig);
        if (!(r instanceof Failed)) holds.touched(plan.keys, outcome.revoked.length > 0 ? "revocation" : "signal");
        return outcome;
      };
      const out = run(p, plan);
      return out instanceof Promise ? out.then(finish) : Promise.resolve(finish(out));
    },

    revoke(key: KeySpec, reason: string): Promise<RevokeOutcome> {
      return keyOperation("revoke", key, reason).then((r) => (r.error ? { key: r.key, error: r.error } : { key: r.key }));
    },

    reinstate(key: KeySpec): Promise<ReinstateOutcome> {
      return keyOperation("reinstate", key, "").then((r) => (r.error ? { key: r.key, reinstated: false, error: r.error } : { key: r.key, reinstated: true }));
    },

    recheck(decision: Decision, request: GuardRequest): Promise<RecheckResult> {
      const p = policy;
      const plan = planRecheck(p, decision, request, now());
      if (!(plan instanceof Plan)) return Promise.resolve(plan);
      const finish = (r: Result | Failed): RecheckResult => {
        if (!(r instanceof Failed)) return r as RecheckResult;
        const d = refuse(p, plan, r.code, r.message, request);
        return { stands: false, decision: d, reason: d.reasons[0]!.message };
      };
      const out = run(p, plan);
      return out instanceof Promise ? out.then(finish) : Promise.resolve(finish(out));
    },

    hold(decision: Decision, request: GuardRequest, options: HoldOptions): Hold {
      if (!closed && unsubscribe === null && store.subscribe !== undefined) {
        // Changes made by other holders of the store reach this Guard's holds; a gap re-checks them all.
        unsubscribe = store.subscribe(
          (keys) => holds.touched(keys, "notified"),
          () => holds.all("resync"),
        );
      }
      // On a closed Guard the hold is answered once (a deny, R314) and ends.
      return holds.add(decision, request, options, closed);
    },

    setPolicy(next: Policy): Promise<void> {
      learn(next);
      policy = next;
      return (describe(next) ?? Promise.resolve()).then(() => holds.all("policy"));
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      holds.clear();
      unsubscribe?.();
      try {
        await Promise.all([store.close(), shadow?.close()]);
      } catch {
        // Closing never rejects; later calls are denied whatever the store did.
      }
    },
  };

  /** A revoke or reinstate by API through the store. */
  const keyOperation = (kind: "revoke" | "reinstate", key: KeySpec, reason: unknown): Promise<KeyStep> => {
    const time = now();
    const p = policy;
    const plan = planKey(p, kind, key, time, reason);
    const finish = (r: KeyStep): KeyStep => {
      if (onDecision !== undefined) emit({ kind, id: nextId(), policy: p, key: r.key, reason: kind === "revoke" ? safeText(reason) : "", time, store: store.kind, ...(r.error ? { error: r.error } : {}) });
      if (kind === "revoke") shadow?.revoke(key, safeText(reason));
      else shadow?.reinstate(key);
      if (r.error === undefined) holds.touched([r.key], "revocation");
      return r;
    };
    if (!(plan instanceof Plan)) return Promise.resolve(finish({ key: plan.key, changed: false, error: plan.error }));
    const settle = (r: Result | Failed): KeyStep => finish(r instanceof Failed ? { key: plan.keys[0]!, changed: false, error: { rule: null, code: r.code, message: r.message } } : (r as KeyStep));
    const out = run(p, plan);
    return out instanceof Promise ? out.then(settle) : Promise.resolve(settle(out));
  };

  const holds = new Holds({
    clock: given ?? systemClock(now),
    policyHash: () => policy.hash,
    recheck: (d, r) => guard.recheck(d, r),
    keysOf: (d, r) => {
      const plan = planRecheck(policy, d, r, now());
      return plan instanceof Plan ? plan.keys : plan;
    },
  });
  let unsubscribe: (() => void) | null = null;

  return guard;
}

/** The keys a revoke decision ended. */
function revokedKeys(d: Decision): string[] {
  const keys: string[] = [];
  for (const o of d.obligations) if (o.kind === "revoke") keys.push(o.key);
  return keys;
}

/** A store's failure as the Guard reports it. */
function failure(e: unknown): Failed {
  if (isStoreError(e)) return new Failed(e.code, e.message);
  if (e instanceof Failed) return e;
  return new Failed("R314", `the store failed: ${e instanceof Error ? safeText(e.message) : safeText(e)}`);
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

/** The request as decided: with the time the Guard filled in when it had none. */
function withTime(r: unknown, time: number): unknown {
  try {
    if (r === null || typeof r !== "object" || Array.isArray(r)) return r;
    if (Object.prototype.hasOwnProperty.call(r, "time") && (r as { time?: unknown }).time !== undefined) return r;
    return { ...(r as Record<string, unknown>), time };
  } catch {
    return r;
  }
}

/**
 * Whether a request carries a time of its own, so that the Guard need not read its clock for it. A
 * getter that answers differently when the request is read again leaves the request without a
 * time: a deny (R304), never a decision at a time nobody gave.
 */
function hasOwnTime(r: unknown): boolean {
  try {
    return r !== null && typeof r === "object" && Object.prototype.hasOwnProperty.call(r, "time") && (r as { time?: unknown }).time !== undefined;
  } catch {
    return false;
  }
}

/** Whether a value's own keys can be listed without an exception (a Proxy's trap may throw). */
function readable(r: unknown): boolean {
  try {
    if (r !== null && typeof r === "object") Object.keys(r);
    return true;
  } catch {
    return false;
  }
}

function safeText(v: unknown): string {
  try {
    return typeof v === "string" ? v : String(v);
  } catch {
    return "(unprintable)";
  }
}

export type { DecisionError };
