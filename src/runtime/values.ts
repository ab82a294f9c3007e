import type { Decision, DecisionEffect, DecisionError, DecideResult, Obligation, PolicyState, Reason } from "./types.js";

/*
 * The objects a decision returns, built by constructors rather than object literals.
 *
 * V8 tracks where each object literal is allocated and, when most objects from one site outlive a
 * young-generation collection, allocates that site's objects straight into the old generation
 * ("pretenuring"). A decision's state and result are short-lived in most programs, but a burst of
 * long-lived ones (a test keeping every state, a warm-up) can tip the decision, and it is not
 * revisited. An old state then keeps the young trie path and registers it points to alive through
 * every young collection until the next full one: in the sequence benchmark such processes ran at
 * 0.33 M instead of 1.1 M decisions/s, with a 300 MB heap. Objects built by a constructor are
 * always allocated young. They read, compare (`toEqual`) and serialise as the literals did.
 */

/** A decision as `decide` makes it (see `Decision` for the fields). */
export class DecisionValue implements Decision {
  constructor(
    readonly effect: DecisionEffect,
    readonly rules: readonly string[],
    readonly reasons: readonly Reason[],
    readonly obligations: readonly Obligation[],
    readonly flags: readonly string[],
    readonly errors: readonly DecisionError[],
    readonly warnings: readonly DecisionError[],
    readonly validUntil: number | null,
    readonly nextDeadline: number | null,
    readonly watch: readonly string[],
    readonly policyHash: string,
    readonly time: number,
    readonly action: string,
    readonly principal: { readonly kind: string; readonly id: string } | null,
    readonly session: string | null,
    readonly resource: string | null,
    readonly digest: number,
    readonly migrated: boolean,
  ) {}
}

/** What `decide` returns. */
export class DecideResultValue implements DecideResult {
  constructor(
    readonly decision: Decision,
    readonly state: PolicyState,
  ) {}
}
