import type { Span } from "../ast/span.js";
import type { LayoutDescriptor } from "./layout.js";

/** The effects a decision can have. `flag` is monitor-only and never an effect of its own. */
export type DecisionEffect = "allow" | "challenge" | "deny" | "revoke";

/** An attribute value a condition can read. Sets are arrays of scalars. */
export type AttributeValue = string | number | boolean | readonly (string | number | boolean)[] | null | { readonly [k: string]: unknown };

/** Who acts: `kind` (`human`, `service`, `agent`, `token`, ...) and `id`, plus any attributes. */
export interface Principal {
  readonly kind: string;
  readonly id: string;
  readonly [attribute: string]: unknown;
}

/** What the action is done on. Resource globs in rules match `path`, falling back to `id`. */
export interface Resource {
  readonly type?: string;
  readonly id?: string;
  readonly path?: string;
  readonly [attribute: string]: unknown;
}

/**
 * A request to act, decided by `policy.decide`. `time` is milliseconds since the epoch (or an ISO
 * 8601 string) within ±8.64e15; leash never reads a clock. `principal.kind` is a name (`agent`,
 * `service`), `action` a dotted name as a `.rules` file writes one.
 */
export interface Request {
  readonly principal: Principal;
  readonly action: string;
  readonly resource?: Resource;
  readonly context?: { readonly [attribute: string]: unknown };
  readonly session?: string;
  readonly time: number | string;
}

/**
 * An observed fact reported by the runtime (not decided): `login.fail`, `approval.granted`,
 * `risk.changed`, `session.revoked`. Fed to `observe`.
 */
export interface Signal {
  readonly signal: string;
  readonly time: number | string;
  readonly principal?: Principal;
  readonly resource?: Resource;
  readonly context?: { readonly [attribute: string]: unknown };
  readonly session?: string;
}

/** Why a rule took part in a decision. */
export interface Reason {
  /** Rule id, or `null` for the default deny and for request/state errors. */
  readonly rule: string | null;
  readonly effect: DecisionEffect | "flag";
  readonly message: string;
  /** Where the rule is written; absent for reasons that no rule gave. */
  readonly span?: Span;
  /** A runtime code (`R3xx`) when the reason is not a rule's own (limit reached, revoked, no allow). */
  readonly code?: string;
}

/** A rule that could not be evaluated, and how it was counted (fail closed). */
export interface DecisionError {
  readonly rule: string | null;
  readonly code: string;
  readonly message: string;
  readonly span?: Span;
}

/** What the caller must do besides applying the effect. */
export type Obligation =
  | {
      readonly kind: "challenge";
      readonly rule: string;
      /** What to ask for: `mfa`, `human-approval`, `step-up` (the default) or a custom name. */
      readonly challenge: string;
      /** Signals that, once observed, satisfy the challenge (e.g. `approval.granted`). */
      readonly satisfiedBy: readonly string[];
    }
  | {
      readonly kind: "revoke";
      readonly rule: string;
      /** The key that was revoked, e.g. `session:s-1` or `principal:agent/bot`. */
      readonly key: string;
    };

/** The answer to a request. */
export interface Decision {
  readonly effect: DecisionEffect;
  /** Ids of the rules that decided the effect (sorted); empty for the default deny. */
  readonly rules: readonly string[];
  readonly reasons: readonly Reason[];
  readonly obligations: readonly Obligation[];
  /** Names of the `flag` rules that matched (sorted). */
  readonly flags: readonly string[];
  readonly errors: readonly DecisionError[];
  /** Notices that did not change the effect (time clamped for a key, R306). */
  readonly warnings: readonly DecisionError[];
  /** The decision holds for times before this (ms); `null` when no passage of time changes it. */
  readonly validUntil: number | null;
  /** When a timer should call back (a window frees, a grant or label expires); `null` if never. */
  readonly nextDeadline: number | null;
  /** Attribute paths and state keys the decision depends on. */
  readonly watch: readonly string[];
  /** Content hash of the policy that decided. */
  readonly policyHash: string;
  /** The request time, in ms. */
  readonly time: number;
  /** The action decided. */
  readonly action: string;
  /** Whom the decision was for (`null` when the request could not be read). */
  readonly principal?: { readonly kind: string; readonly id: string } | null;
  /** The request's session, or null. */
  readonly session?: string | null;
  /** The resource's `path` (else its `id`) when it is a string, or null. */
  readonly resource?: string | null;
  /**
   * A 32-bit digest (an unsigned integer) of what the decision was for: policy, effect, time,
   * action, principal, session, resource and the values of every attribute the candidate rules
   * read. `recheck` holds a decision to it. Not a signature: anyone with the policy can compute it.
   */
  readonly digest?: number;
  /** True when the decision read history that another policy version wrote (carried over on reload). */
  readonly migrated?: boolean;
}

/**
 * The state of all keys, immutable and JSON-serialisable: `JSON.parse(JSON.stringify(state))` is a
 * valid state that decides as the original. It holds one partition per key (see docs/semantics.md,
 * "State"); its JSON form lists them as `partitions: [[key, partition], ...]` in write order.
 * Treat it as opaque; `partitions(policy, state)` and `revocations(policy, state)` show what it holds.
 */
export interface PolicyState {
  readonly v: 2;
  /** Layout hash of the policy that wrote it last. */
  readonly layout: string;
  /** Number of stored key partitions. */
  readonly size: number;
  /** Partitions evicted because the key cap was reached. */
  readonly evictions: number;
  /** Number of revoked keys (partitions holding a revocation, never evicted). */
  readonly revoked: number;
  /** Descriptors of the partition layouts in the state, so another policy version can read them. */
  readonly layouts: Readonly<Record<string, LayoutDescriptor>>;
}

export interface DecideResult {
  readonly decision: Decision;
  readonly state: PolicyState;
}

/** The outcome of observing a signal. */
export interface ObserveResult {
  readonly state: PolicyState;
  /** Keys revoked by rules that target the signal. */
  readonly revoked: readonly { readonly key: string; readonly rule: string; readonly reason: string }[];
  /** `flag signal X` rules that matched. */
  readonly flags: readonly string[];
  readonly errors: readonly DecisionError[];
}

/** Identifies a key for `revoke`/`reinstate`: a session, a principal, or an attribute value. */
export type KeySpec =
  | { readonly session: string }
  | { readonly principal: { readonly kind: string; readonly id: string } }
  | { readonly attribute: string; readonly value: string | number };

export interface RecheckResult {
  /** True when the held decision's effect is unchanged at the new time and context. */
  readonly stands: boolean;
  /**
   * The fresh decision: deny with R308 when the decision came from another policy, R317 when the
   * object is not a decision, R318 when it was made for another request.
   */
  readonly decision: Decision;
  readonly reason: string;
}

/** A list an inspection returns; `error` says why it is empty when the state could not be read (R303). */
export type Inspection<T> = T[] & { readonly error?: DecisionError };
