import type { Bucket } from "../compile/action-index.js";
import { ActionIndex } from "../compile/action-index.js";
import { runChecks } from "../compile/checks.js";
import { EFFECT_RANK, type CompiledRule, type RuleOutcome } from "../compile/generate.js";
import { DEFAULT_INDEX_OPTIONS, walkIndex, type IndexOptions, type Probe, type ProbeSink } from "../compile/rule-index.js";
import { matchTerms } from "../compile/terms.js";
import type { KeyIR, OpIR, PolicyIR } from "../compile/ir.js";
import { Failure, readOwn } from "./attributes.js";
import { EvalContext, KeyCache, principalKey, REVOKED_SHAPE, sessionKey, StoredPartition, type Layout, type Partition } from "./context.js";
import { addLabel, applyUpdate, emptyRegisters, grantHolds, limitUses, useGrant, useLimit, type Category } from "./operators.js";
import { DecideResultValue, DecisionValue, StateValue } from "./values.js";
import { CorruptState, NEVER, pmapDelete, pmapEntries, pmapGet, pmapSet, type MapShape } from "./pmap.js";
import { isActionName, normalizeRequest, normalizeSignal, type Event } from "./request.js";
import type {
  Decision,
  DecisionEffect,
  DecisionError,
  DecideResult,
  KeySpec,
  Obligation,
  ObserveResult,
  PolicyState,
  Reason,
  RecheckResult,
} from "./types.js";

const EMPTY: readonly never[] = Object.freeze([]);
/** The effect of a combined rank (0: nothing matched). */
const EFFECT_OF_RANK: readonly DecisionEffect[] = ["deny", "allow", "challenge", "deny", "revoke"];
/** What the spare context holds between decisions (so it keeps no request alive). */
const NO_EVENT: Event = Object.freeze({
  name: "",
  isSignal: false,
  principal: undefined,
  principalKind: undefined,
  principalId: undefined,
  resource: undefined,
  resourcePath: undefined,
  resourceId: undefined,
  context: undefined,
  session: undefined,
  time: 0,
});

/** A revocation as stored in state. */
interface Revocation {
  readonly t: number;
  readonly x: number;
  readonly rule: string | null;
  readonly reason: string;
}

/**
 * A compiled policy: pure decision functions over an immutable state. Build one with
 * `compilePolicy`; it is frozen and safe to share.
 */
export class Policy implements ProbeSink {
  /** Content hash of the policy source; every decision carries it. */
  readonly hash: string;
  /** Rule ids in source order (workflow deviation rules after the rules). */
  readonly ruleIds: readonly string[];
  /** Declared actions (empty without an actions block), with their `[high]` tag. */
  readonly actions: readonly { readonly name: string; readonly high: boolean }[];
  /** The checked IR, for tools (explain, coverage, diff). */
  readonly ir: PolicyIR;
  private readonly index: ActionIndex;
  private readonly layout: Layout;
  private readonly layoutHash: string;
  private readonly revokePaths: readonly KeyIR[];
  private readonly initial: PolicyState;
  /**
   * The evaluation context of the last finished decision, reused by the next one. A decision takes
   * it out (leaving null) and puts it back when done, so a decision started while another is
   * running (a getter on a request calling `decide`) builds its own.
   */
  private readonly spare: { ctx: EvalContext | null } = { ctx: null };

  /** @internal use `compilePolicy` */
  constructor(ir: PolicyIR, rules: readonly CompiledRule[], hash: string, layoutHash: string, shape: MapShape, indexOptions: IndexOptions = DEFAULT_INDEX_OPTIONS) {
    this.ir = ir;
    this.hash = hash;
    this.ruleIds = Object.freeze(rules.map((r) => r.id));
    this.actions = Object.freeze(ir.actions.map((a) => Object.freeze({ name: a.name, high: a.high })));
    this.index = new ActionIndex(ir, rules, indexOptions);
    this.layout = { groups: ir.keyGroups, workflows: ir.workflows, shape, keyCache: new KeyCache() };
    this.layoutHash = layoutHash;
    this.revokePaths = ir.revokeTargets;
    this.initial = Object.freeze({ v: 1, layout: layoutHash, size: 0, evictions: 0, keys: null, revoked: null });
    Object.freeze(this);
  }

  /** The empty state: no history, nothing revoked. */
  initialState(): PolicyState {
    return this.initial;
  }

  /**
   * Decides a request and returns the decision with the state after it. Pure: the same state and
   * request always give the same result; neither input is modified. Never throws: a malformed
   * request (R304) or state (R303) gives a deny that says why.
   */
  decide(state: PolicyState, request: unknown): DecideResult {
    let ev: Event | string | undefined;
    try {
      ev = normalizeRequest(request);
      if (typeof ev === "string") return new DecideResultValue(this.errorDecision("R304", `malformed request: ${ev}`, request), state);
      const bad = this.checkState(state);
      if (bad !== null) return new DecideResultValue(this.errorDecision("R303", bad, request, ev.time, ev.name), state);
      const bucket = this.bucketFor(ev.name);
      if (bucket === undefined) return new DecideResultValue(this.errorDecision("R304", `malformed request: action must be a dotted name such as "secret.read", got ${JSON.stringify(ev.name.slice(0, 40))}`, request, ev.time), state);
      return this.run(state, ev, bucket, true, false);
    } catch (e) {
      // Throwing getters, proxies and the like: the request cannot be read, so it is denied.
      return new DecideResultValue(typeof ev === "object" ? this.internalError(e, ev) : this.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null), state);
    }
  }

  /**
   * Records an observed signal (`login.fail`, `approval.granted`, `session.revoked`): history
   * operators that count signals see it, and `revoke signal X` / `flag signal X` rules run on it.
   */
  observe(state: PolicyState, signal: unknown): ObserveResult {
    try {
      const ev = normalizeSignal(signal);
      if (typeof ev === "string") return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: "R304", message: `malformed signal: ${ev}` }] };
      const bad = this.checkState(state);
      if (bad !== null) return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: "R303", message: bad }] };
      const { decision, state: next } = this.run(state, ev, this.index.signal(ev.name), true, false);
      const revoked = decision.obligations.flatMap((o) =>
        o.kind === "revoke" ? [{ key: o.key, rule: o.rule, reason: decision.reasons.find((r) => r.rule === o.rule)?.message ?? "" }] : [],
      );
      return { state: next, revoked, flags: decision.flags, errors: decision.errors };
    } catch (e) {
      return { state, revoked: EMPTY, flags: EMPTY, errors: [{ rule: null, code: e instanceof CorruptState ? "R303" : "R304", message: describeError(e) }] };
    }
  }

  /**
   * Re-evaluates a decision the caller holds (a long-running grant) at the request's time and
   * context, without recording anything. The quantity a `limit` granted is not charged again.
   */
  recheck(state: PolicyState, previous: Decision, request: unknown): RecheckResult {
    try {
      return this.recheckUnsafe(state, previous, request);
    } catch (e) {
      const decision = this.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null);
      return { stands: false, decision, reason: decision.reasons[0]!.message };
    }
  }

  private recheckUnsafe(state: PolicyState, previous: Decision, request: unknown): RecheckResult {
    if (previous === null || typeof previous !== "object" || previous.policyHash !== this.hash) {
      const got = previous && typeof previous === "object" ? String(previous.policyHash) : String(previous);
      const decision = this.errorDecision("R308", `the decision was made by policy ${got}, this is policy ${this.hash}`, request);
      return { stands: false, decision, reason: decision.reasons[0]!.message };
    }
    const ev = normalizeRequest(request);
    if (typeof ev === "string") {
      const decision = this.errorDecision("R304", `malformed request: ${ev}`, request);
      return { stands: false, decision, reason: decision.reasons[0]!.message };
    }
    try {
      const bad = this.checkState(state);
      const bucket = this.bucketFor(ev.name);
      const decision =
        bad !== null
          ? this.errorDecision("R303", bad, request, ev.time, ev.name)
          : bucket === undefined
            ? this.errorDecision("R304", "malformed request: the action is not a dotted name", request, ev.time)
            : this.run(state, ev, bucket, false, true).decision;
      const stands = decision.effect === previous.effect;
      const reason = stands
        ? `still ${decision.effect}`
        : `${previous.effect} became ${decision.effect}: ${decision.reasons.map((r) => r.message).join("; ")}`;
      return { stands, decision, reason };
    } catch (e) {
      const decision = this.internalError(e, ev);
      return { stands: false, decision, reason: decision.reasons[0]!.message };
    }
  }

  /**
   * Revokes a key by API call: every later request of that key is denied (R307) until `reinstate`.
   * A malformed key or state is answered with an error and the state unchanged.
   */
  revoke(state: PolicyState, key: KeySpec, reason: string, time = 0): { state: PolicyState; key: string; error?: DecisionError } {
    let k: string;
    try {
      k = keySpecText(key);
    } catch (e) {
      return { state, key: "", error: { rule: null, code: "R309", message: describeError(e) } };
    }
    const bad = this.checkState(state);
    if (bad !== null) return { state, key: k, error: { rule: null, code: "R303", message: bad } };
    const entry: Revocation = { t: time, x: NEVER, rule: null, reason: String(reason) };
    const root = pmapSet(state.revoked, REVOKED_SHAPE, k, entry, time);
    return { state: new StateValue(state.layout, state.size, state.evictions, state.keys, root), key: k };
  }

  /** Lifts a revocation. Reinstating a key that is not revoked is answered with R309 and changes nothing. */
  reinstate(state: PolicyState, key: KeySpec): { state: PolicyState; reinstated: boolean; error?: DecisionError } {
    let k: string;
    try {
      k = keySpecText(key);
    } catch (e) {
      return { state, reinstated: false, error: { rule: null, code: "R309", message: describeError(e) } };
    }
    const bad = this.checkState(state);
    if (bad !== null) return { state, reinstated: false, error: { rule: null, code: "R303", message: bad } };
    const { root, removed } = pmapDelete(state.revoked, REVOKED_SHAPE, k);
    if (!removed) return { state, reinstated: false, error: { rule: null, code: "R309", message: `${k} is not revoked` } };
    return { state: new StateValue(state.layout, state.size, state.evictions, state.keys, root), reinstated: true };
  }

  /** The revoked keys of a state, with who revoked them and why. */
  revocations(state: PolicyState): { key: string; rule: string | null; reason: string; time: number }[] {
    return [...pmapEntries<Revocation>(state.revoked)].map(([key, r]) => ({ key, rule: r.rule, reason: r.reason, time: r.t })).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** The key partitions of a state (for inspection and tests; not for the decision path). */
  partitions(state: PolicyState, now = -Infinity): { key: string; lastSeen: number; expires: number; registers: readonly unknown[] }[] {
    return [...pmapEntries<Partition>(state.keys, now)].map(([key, p]) => ({ key, lastSeen: p.t, expires: p.x, registers: p.r }));
  }

  /* ------------------------------------------------------------------------------------------ */

  private checkState(s: PolicyState): string | null {
    if (s === this.initial) return null;
    if (s === null || typeof s !== "object") return "state_corrupt: the state is not an object";
    if (s.v !== 1) return "state_corrupt: unknown state version";
    if (s.layout !== this.layoutHash) return `state_corrupt: the state belongs to another policy layout (${String(s.layout)}, expected ${this.layoutHash})`;
    if (typeof s.size !== "number" || typeof s.evictions !== "number") return "state_corrupt: counters are not numbers";
    if (s.keys !== null && !Array.isArray(s.keys)) return "state_corrupt: keys is not a trie";
    if (s.revoked !== null && !Array.isArray(s.revoked)) return "state_corrupt: revoked is not a trie";
    return null;
  }

  /** Evaluates the event against the state; with `record`, also returns the state after it. */
  /** The bucket of an action: one map lookup for known names; others are validated, then built. */
  private bucketFor(name: string): Bucket | undefined {
    return this.index.find(name) ?? (isActionName(name) ? this.index.action(name) : undefined);
  }

  private run(state: PolicyState, ev: Event, bucket: Bucket, record: boolean, held: boolean): DecideResult {
    let c = this.spare.ctx;
    if (c === null) c = new EvalContext(ev, state, this.layout);
    else {
      this.spare.ctx = null;
      c.reset(ev, state);
    }
    const result = this.decideIn(c, state, ev, bucket, record, held);
    c.reset(NO_EVENT, state);
    this.spare.ctx = c;
    return result;
  }

  private decideIn(c: EvalContext, state: PolicyState, ev: Event, bucket: Bucket, record: boolean, held: boolean): DecideResult {
    const revokedBy = ev.isSignal ? null : this.revokedKey(state, ev);

    // The index hands over every rule that the event can match (see rule-index.ts), each once.
    if (revokedBy === null) walkIndex(bucket.index, c, held, this);
    const { anyAllow, notes, flags } = c;
    let { best, matched, single } = c;

    // No matching allow means deny: a challenge steps up only what an allow rule grants.
    if (best === EFFECT_RANK.challenge && !anyAllow) {
      best = 0;
      matched = null;
      single = null;
    }
    const effect = EFFECT_OF_RANK[best]!;
    let rules: readonly string[];
    let reasons: readonly Reason[];
    let obligations: readonly Obligation[] = EMPTY;
    const winners: readonly CompiledRule[] = best === 0 ? EMPTY : matched !== null ? sortByRank(matched) : single!.selfList;

    if (revokedBy !== null) {
      rules = EMPTY;
      reasons = [revokedBy];
    } else if (best === 0) {
      rules = EMPTY;
      reasons = notes === null ? bucket.denyReasons : [...notes, ...bucket.denyReasons];
    } else if (winners.length === 1) {
      const w = winners[0]!;
      rules = w.idList;
      reasons = w.reasonList;
      if (w.effect === "challenge") obligations = w.obligationList;
    } else {
      const n = winners.length;
      const ids = new Array<string>(n);
      const why = new Array<Reason>(n);
      for (let i = 0; i < n; i++) {
        ids[i] = winners[i]!.id;
        why[i] = winners[i]!.reason;
      }
      rules = ids;
      reasons = why;
      if (effect === "challenge") obligations = obligationsOf(winners);
    }
    if (effect === "revoke") {
      const revokes: Obligation[] = [];
      for (const w of winners) {
        const key = this.revokeKeyOf(w, ev);
        if (key !== null) revokes.push({ kind: "revoke", rule: w.id, key });
        else (c.errors ??= []).push({ rule: w.id, code: "R305", message: "nothing to revoke: the event has no session, principal or target attribute", span: w.ir.span });
      }
      obligations = revokes;
    }

    let next = state;
    c.effectRelevant = false;
    if (record) next = this.record(state, c, ev, bucket, effect, winners, flags);

    const flagList: readonly string[] = flags === null ? EMPTY : flags.length === 1 ? flags[0]!.idList : idsOf(sortByRank(flags));
    const watch = watchOf(bucket.watch, c.keys);
    const decision: Decision = new DecisionValue(
      effect,
      rules,
      reasons,
      obligations,
      flagList,
      c.errors ?? EMPTY,
      c.warnings ?? EMPTY,
      finiteOrNull(c.validUntil),
      finiteOrNull(c.nextDeadline),
      watch,
      this.hash,
      ev.time,
      ev.name,
    );
    return new DecideResultValue(decision, next);
  }

  /**
   * Evaluates one candidate rule (with the test its place in the index leaves) and folds its
   * outcome into the context's running decision.
   * @internal
   */
  consider(p: Probe, c: EvalContext, held: boolean): void {
    const r = p.rule;
    c.effectRelevant = r.effect !== "flag";
    let o: RuleOutcome = r.terms !== null ? matchTerms(r.terms, c) : runChecks(p.checks, c);
    if (o === false) return;
    if (o === true && r.scoped) o = this.scopeHolds(r, c, held);
    if (o instanceof Failure) {
      (c.errors ??= []).push({ rule: r.id, code: o.code, message: o.message, span: o.span ?? r.ir.span });
      if (r.effect === "allow") return; // fail closed: an allow that cannot be evaluated does not allow
    } else if (o === false) return;
    if (r.effect === "flag") {
      (c.flags ??= []).push(r);
      return;
    }
    if (r.effect === "allow") c.anyAllow = true;
    const rank = r.effectRank;
    if (rank > c.best) {
      c.best = rank;
      c.single = r;
      c.matched = null;
    } else if (rank === c.best) {
      if (c.matched === null) c.matched = [c.single!];
      c.matched.push(r);
    }
  }

  /** Whether an allow rule's quantity scope and grant lifetime still hold for this request. */
  private scopeHolds(r: CompiledRule, c: EvalContext, held: boolean): true | false | Failure {
    const ir = r.ir;
    if (ir.limit !== null && !held) {
      const op = this.ir.ops[ir.limit] as Extract<OpIR, { op: "limit" }>;
      const p = c.partition(op.group);
      if (p instanceof Failure) return p;
      if (p !== null) c.change(p.x);
      const uses = limitUses(op, p === null ? null : p.r, c.nows[op.group]!, c);
      if (uses >= op.count) {
        (c.notes ??= []).push({ rule: r.id, effect: "allow", code: "R310", message: `${r.id}: limit of ${op.count} per ${this.layout.groups[op.group]!.text}${op.window ? " within the window" : ""} reached`, span: ir.span });
        return false;
      }
    }
    if (ir.grant !== null) {
      const op = this.ir.ops[ir.grant] as Extract<OpIR, { op: "grant" }>;
      const p = c.partition(op.group);
      if (p instanceof Failure) return p;
      if (p !== null) c.change(p.x);
      if (!grantHolds(op, p === null ? null : p.r, c.nows[op.group]!, c)) {
        (c.notes ??= []).push({ rule: r.id, effect: "allow", code: "R311", message: `${r.id}: the grant of ${op.duration} ms for this ${this.layout.groups[op.group]!.text} has expired`, span: ir.span });
        return false;
      }
    }
    return true;
  }

  /** The revocation that applies to the event's session, principal or targeted attribute, as a reason. */
  private revokedKey(state: PolicyState, ev: Event): Reason | null {
    if (state.revoked === null) return null;
    const check = (k: string): Reason | null => {
      const r = pmapGet<Revocation>(state.revoked, REVOKED_SHAPE, k, ev.time);
      if (r === undefined) return null;
      return { rule: r.rule, effect: "deny", code: "R307", message: `${k} was revoked${r.rule ? ` by rule ${r.rule}` : ""}: ${r.reason}` };
    };
    if (ev.session !== undefined) {
      const r = check(sessionKey(ev.session));
      if (r) return r;
    }
    if (ev.principalKind !== undefined) {
      const r = check(principalKey(ev.principalKind, ev.principalId!));
      if (r) return r;
    }
    for (const k of this.revokePaths) {
      if (k.kind !== "path") continue;
      const key = pathKey(k, ev);
      if (key !== null) {
        const r = check(key);
        if (r) return r;
      }
    }
    return null;
  }

  private revokeKeyOf(r: CompiledRule, ev: Event): string | null {
    const t = r.ir.revokeTarget ?? { kind: "session" as const };
    if (t.kind === "session" && ev.session !== undefined) return sessionKey(ev.session);
    if (t.kind === "path") {
      const k = pathKey(t, ev);
      if (k !== null) return k;
    }
    return ev.principalKind !== undefined ? principalKey(ev.principalKind, ev.principalId!) : null;
  }

  /** The state after the event: histories that see it, quantity scopes used, labels, revocations. */
  private record(state: PolicyState, c: EvalContext, ev: Event, bucket: Bucket, effect: DecisionEffect, winners: readonly CompiledRule[], flags: readonly CompiledRule[] | null): PolicyState {
    const cat: Category = ev.isSignal ? "signal" : effect === "allow" ? "allowed" : "denied";
    const ops = cat === "allowed" ? bucket.updates.allowed : cat === "denied" ? bucket.updates.denied : bucket.updates.signal;
    const usesScopes = effect === "allow" && bucket.hasLimits;
    if (ops.length === 0 && !usesScopes && effect !== "revoke") return state;
    const writes = c.writes;
    for (let i = 0; i < ops.length; i++) {
      const u = ops[i]!;
      const g = u.group;
      const r = writes[g] ?? this.registersFor(g, c);
      if (r !== null) applyUpdate(u, r, c.nows[g]!, ev);
    }
    if (usesScopes) {
      for (const w of winners) {
        const ir = w.ir;
        if (ir.limit !== null) {
          const op = this.ir.ops[ir.limit] as Extract<OpIR, { op: "limit" }>;
          const r = this.registersFor(op.group, c);
          if (r) useLimit(op, r, c.nows[op.group]!);
        }
        if (ir.grant !== null) {
          const op = this.ir.ops[ir.grant] as Extract<OpIR, { op: "grant" }>;
          const r = this.registersFor(op.group, c);
          if (r) useGrant(op, r, c.nows[op.group]!);
        }
      }
    }
    if (usesScopes) {
      // Labels go on when the action happens: from the allow rules that decided and the flag rules that matched.
      for (const w of [...winners, ...(flags ?? [])]) {
        if (w.ir.labels.length === 0) continue;
        const op = this.ir.ops[w.ir.labelsOp!]!;
        const r = this.registersFor(op.group, c);
        if (!r) continue;
        const now = c.nows[op.group]!;
        for (const l of w.ir.labels) addLabel(r, op.slot, l.label, l.duration === null ? true : now + l.duration);
      }
    }
    let keys = state.keys;
    const tally = c.tally;
    tally.sizeDelta = 0;
    tally.evicted = 0;
    for (let g = 0; g < writes.length; g++) {
      const r = writes[g];
      if (r === undefined) continue;
      const now = c.nows[g]!;
      const entry: Partition = new StoredPartition(now, now + this.layout.groups[g]!.ttl, r);
      keys = pmapSet(keys, this.layout.shape, c.keys[g]!, entry, ev.time, c.hashes[g]!, tally);
    }
    const size = state.size + tally.sizeDelta;
    const evictions = state.evictions + tally.evicted;
    let revoked = state.revoked;
    if (effect === "revoke") {
      for (const w of winners) {
        const key = this.revokeKeyOf(w, ev);
        if (key === null) continue;
        const entry: Revocation = { t: ev.time, x: NEVER, rule: w.id, reason: w.reason.message };
        revoked = pmapSet(revoked, REVOKED_SHAPE, key, entry, ev.time);
      }
    }
    if (keys === state.keys && revoked === state.revoked) return state;
    return new StateValue(state.layout, size, evictions, keys, revoked);
  }

  /** The registers of group `g` being written by this event, copied from the stored partition once. */
  private registersFor(g: number, c: EvalContext): unknown[] | null {
    const writes = c.writes;
    let r = writes[g];
    if (r !== undefined) return r;
    const p = c.partition(g);
    if (p instanceof Failure) return null;
    r = p === null ? emptyRegisters(this.layout.groups[g]!.slots) : p.r.slice();
    writes[g] = r;
    return r;
  }

  private errorDecision(code: string, message: string, request: unknown, time = 0, action = ""): Decision {
    const t = time || timeOf(request);
    const reasons: Reason[] = [{ rule: null, effect: "deny", code, message }];
    return new DecisionValue("deny", EMPTY, reasons, EMPTY, EMPTY, [{ rule: null, code, message }], EMPTY, null, null, EMPTY, this.hash, t, action || actionOf(request));
  }

  private internalError(e: unknown, ev: Event): Decision {
    if (e instanceof CorruptState) return this.errorDecision("R303", `state_corrupt: ${e.message}`, null, ev.time, ev.name);
    return this.errorDecision("R304", `the request could not be evaluated: ${describeError(e)}`, null, ev.time, ev.name);
  }
}

/** `null` for "never" (Infinity), else the time; a function so the decision's shape stays stable for the optimiser. */
function finiteOrNull(t: number): number | null {
  return t === Infinity ? null : t;
}

/** The bucket's attribute paths plus the state keys this decision read (no copy when it read none). */
function watchOf(paths: readonly string[], keys: readonly (string | null | undefined)[]): readonly string[] {
  let count = 0;
  for (let i = 0; i < keys.length; i++) if (typeof keys[i] === "string") count++;
  if (count === 0) return paths;
  const out = new Array<string>(paths.length + count);
  let j = 0;
  for (; j < paths.length; j++) out[j] = paths[j]!;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k === "string") out[j++] = k;
  }
  return out;
}

/** The challenge obligations of the winning rules, in their order (a loop: `flatMap` is slow here). */
function obligationsOf(winners: readonly CompiledRule[]): Obligation[] {
  const out: Obligation[] = [];
  for (let i = 0; i < winners.length; i++) {
    const o = winners[i]!.obligation;
    if (o !== null) out.push(o);
  }
  return out;
}

function idsOf(rs: readonly CompiledRule[]): string[] {
  const out = new Array<string>(rs.length);
  for (let i = 0; i < rs.length; i++) out[i] = rs[i]!.id;
  return out;
}

/** Sorts rules by rank (id order) in place: insertion sort, as the lists are short. */
function sortByRank(rs: CompiledRule[]): CompiledRule[] {
  for (let i = 1; i < rs.length; i++) {
    const r = rs[i]!;
    let j = i - 1;
    while (j >= 0 && rs[j]!.rank > r.rank) {
      rs[j + 1] = rs[j]!;
      j--;
    }
    rs[j + 1] = r;
  }
  return rs;
}

function pathKey(k: Extract<KeyIR, { kind: "path" }>, ev: Event): string | null {
  const root = k.root === "principal" ? ev.principal : k.root === "resource" ? ev.resource : k.root === "context" ? ev.context : undefined;
  const v = readOwn(root, k.segments, k.text, undefined);
  return typeof v === "string" || typeof v === "number" ? `${k.text}:${v}` : null;
}

/** The state key a KeySpec names: `session:s1`, `principal:agent/bot`, `context.ip:10.0.0.1`. */
export function keySpecText(key: KeySpec): string {
  if (key && typeof key === "object") {
    if ("session" in key && typeof key.session === "string") return sessionKey(key.session);
    if ("principal" in key && key.principal && typeof key.principal.kind === "string" && typeof key.principal.id === "string") return principalKey(key.principal.kind, key.principal.id);
    if ("attribute" in key && typeof key.attribute === "string" && (typeof key.value === "string" || typeof key.value === "number")) return `${key.attribute}:${key.value}`;
  }
  throw new TypeError("a key is {session}, {principal: {kind, id}} or {attribute, value}");
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A field of a request that may be anything (a proxy, a throwing getter): read once, never throwing. */
function fieldOf(r: unknown, name: "time" | "action"): unknown {
  try {
    return r !== null && typeof r === "object" ? (r as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

function timeOf(r: unknown): number {
  const t = fieldOf(r, "time");
  return typeof t === "number" && Number.isFinite(t) ? t : 0;
}

function actionOf(r: unknown): string {
  const a = fieldOf(r, "action");
  return typeof a === "string" ? a.slice(0, 256) : "";
}
