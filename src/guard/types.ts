import type { Policy } from "../runtime/engine.js";
import type { Decision, DecisionError, KeySpec, RecheckResult, Request, Signal } from "../runtime/types.js";
import type { Store } from "../stores/store.js";

/** A request as the Guard takes it: a `Request` whose `time` may be left out (the Guard fills it). */
export type GuardRequest = Omit<Request, "time"> & { readonly time?: number | string };

/** A signal as the Guard takes it: a `Signal` whose `time` may be left out. */
export type GuardSignal = Omit<Signal, "time"> & { readonly time?: number | string };

/** What observing a signal did. */
export interface SignalOutcome {
  /** Keys revoked by `revoke signal` rules. */
  readonly revoked: readonly { readonly key: string; readonly rule: string; readonly reason: string }[];
  /** `flag signal` rules that matched. */
  readonly flags: readonly string[];
  /** Rules that could not be evaluated, a malformed signal (R304) or a store failure. */
  readonly errors: readonly DecisionError[];
}

/** What `guard.revoke` did: the key revoked, or why nothing was. */
export interface RevokeOutcome {
  readonly key: string;
  readonly error?: DecisionError;
}

/** What `guard.reinstate` did. */
export interface ReinstateOutcome {
  readonly key: string;
  readonly reinstated: boolean;
  readonly error?: DecisionError;
}

/** Options of one `guard.decide` call. */
export interface DecideOptions {
  /**
   * The decision's id in the events it causes (decision logs, spans), e.g. the HTTP request's id;
   * a string of 1 to 128 characters. The Guard makes one when it is absent or not such a string.
   */
  readonly id?: string;
}

/**
 * Shadow mode: a candidate policy decides every request after the enforced one, on a state of its
 * own (signals, revocations and reinstatements reach it too). Its decisions are reported as
 * `shadow` events, never enforced; a candidate that fails or is slow never delays a decision.
 */
export interface ShadowOptions {
  readonly policy: Policy;
  /**
   * Where the candidate's state lives; a `memoryStore()` of its own when absent. Over a shared
   * store give it a shared store too (`redisStore({ prefix: "leash-shadow:" })`), so that it sees
   * the history of the whole fleet as the enforced policy does.
   */
  readonly store?: Store;
}

/** One event of the Guard's activity, for decision logs, metrics and tests. */
export type GuardEvent =
  | {
      readonly kind: "decision";
      /** The decision's id: `DecideOptions.id`, else one the Guard made (unique per process and Guard). */
      readonly id: string;
      /** The policy that decided. */
      readonly policy: Policy;
      /** The request as decided (with the time the Guard filled in). */
      readonly request: Request;
      readonly decision: Decision;
      /** Wall-clock time the Guard spent, store included (ms). */
      readonly latencyMs: number;
      /** The store that held the state (`memory`, `redis`, ...). */
      readonly store: string;
      /** True when the decision read history another policy version wrote (`decision.migrated`). */
      readonly migrated?: boolean;
    }
  | {
      readonly kind: "signal";
      readonly id: string;
      readonly policy: Policy;
      readonly signal: Signal;
      readonly outcome: SignalOutcome;
      readonly latencyMs: number;
      readonly store: string;
    }
  | {
      readonly kind: "revoke" | "reinstate";
      readonly id: string;
      readonly policy: Policy;
      readonly key: string;
      readonly reason: string;
      readonly error?: DecisionError;
      readonly time: number;
      readonly store: string;
    }
  | {
      /** Shadow mode: what the candidate decided for a request the enforced policy decided. */
      readonly kind: "shadow";
      /** The enforced decision's id. */
      readonly id: string;
      /** The enforced policy. */
      readonly policy: Policy;
      /** The candidate policy. */
      readonly candidatePolicy: Policy;
      readonly request: Request;
      /** The enforced decision. */
      readonly decision: Decision;
      /** The candidate's decision, never enforced. */
      readonly candidate: Decision;
      /** True when the candidate's effect differs from the enforced one. */
      readonly flipped: boolean;
      /** Time the candidate took, its store included (ms). */
      readonly latencyMs: number;
      /** The candidate's store. */
      readonly store: string;
    };

export interface GuardOptions {
  readonly policy: Policy;
  /** Where the state lives; `memoryStore()` when absent. */
  readonly store?: Store;
  /** The clock for requests and signals without a `time` (ms since the epoch); the store's clock (`store.now`), else `Date.now`, when absent. */
  readonly now?: () => number;
  /** Longest a decision may wait for the store before it is denied (ms, default 1,000). */
  readonly timeoutMs?: number;
  /** Called once per decision, signal, revocation and reinstatement; an exception it throws is ignored. */
  readonly onDecision?: (event: GuardEvent) => void;
  /**
   * What to do when the store fails or times out. By default every decision is then a deny with
   * the store's code (R314, R315): fail closed. This option is the explicit escape hatch: the rules
   * named in `skipHistory` are decided as if their keys had no history, every other rule that reads
   * history still fails closed, nothing is recorded, and the decision carries warning R319. Only
   * with `skipRevocations: true` does the Guard decide at all while the store is down, since it
   * cannot then see which keys are revoked; without it a store failure stays a deny.
   */
  readonly whenStoreDown?: {
    readonly skipHistory: readonly string[];
    readonly skipRevocations: boolean;
  };
  /** A candidate policy decided beside the enforced one, never enforced (`shadow` events); see `ShadowOptions`. */
  readonly shadow?: Policy | ShadowOptions;
}

/**
 * A policy with its state held for the caller: the stateful wrapper a gateway calls before it acts.
 * No method throws or rejects: a store failure or timeout is a deny (or an error result) with a
 * code and the store's message.
 */
export interface Guard {
  /** The policy deciding now (changes with `setPolicy`). */
  readonly policy: Policy;
  /** Decides a request and records it. */
  decide(request: GuardRequest, options?: DecideOptions): Promise<Decision>;
  /** Records an observed signal; `revoke signal` and `flag signal` rules run on it. */
  observe(signal: GuardSignal): Promise<SignalOutcome>;
  /** Revokes a key by API call: its later requests are denied (R307) until `reinstate`. */
  revoke(key: KeySpec, reason: string): Promise<RevokeOutcome>;
  /** Lifts a revocation. */
  reinstate(key: KeySpec): Promise<ReinstateOutcome>;
  /** Re-evaluates a held decision at the request's time and context without recording anything. */
  recheck(decision: Decision, request: GuardRequest): Promise<RecheckResult>;
  /**
   * Replaces the policy. Decisions started after the call use `next`; history carries over lazily:
   * when `next` reads a partition the old policy wrote, the registers of operators whose kind, key,
   * events and window are unchanged keep their history, others start empty, and the registers of
   * operators `next` lacks are carried along for a version that has them (`decision.migrated` says
   * when a decision used carried-over state). Resolves once the new layouts are described in the
   * store (or, if the store is down, once that was tried); never rejects.
   */
  setPolicy(next: Policy): Promise<void>;
  /** Stops the Guard; later calls are denied (or answered with an error) and the store is closed. */
  close(): Promise<void>;
}
