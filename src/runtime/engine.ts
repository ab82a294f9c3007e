import type { Bucket } from "../compile/action-index.js";
import { ActionIndex } from "../compile/action-index.js";
import { runChecks } from "../compile/checks.js";
import { EFFECT_RANK, type CompiledRule, type CompiledRules, type RuleOutcome } from "../compile/generate.js";
import { DEFAULT_INDEX_OPTIONS, walkIndex, type IndexOptions, type Probe, type ProbeSink } from "../compile/rule-index.js";
import { contentHash, hash32, mix32 } from "../compile/hash.js";
import type { KeyGroupIR, OpIR, PolicyIR } from "../compile/ir.js";
import { checkValue, Failure, isRecord, MAX_STRING, readOwn } from "./attributes.js";
import { EvalContext, KeyCache, principalKey, sessionKey, Subject, type Layout } from "./context.js";
import { keyText, keyValueTooLong } from "./keys.js";
import type { LayoutDescriptor } from "./layout.js";
import { addLabel, applyUpdate, distinctLimitAdmits, distinctLimitValue, emptyRegisters, grantHolds, limitUses, useDistinctLimit, useGrant, useLimit, type Category } from "./operators.js";
import { CorruptPartition, ForeignPartition, loadPartition, Partition, Revocation } from "./partition.js";
import { matchTerms } from "./readers.js";
import { DEFAULT_LIMITS, describeError, nameError, normalizeRequest, quote, Rejection, type Event, type RequestLimits } from "./request.js";
import { emptyState, StateValue, stateOf, type Entry } from "./state.js";
import { DecideResultValue, DecisionValue } from "./values.js";
import type { Decision, DecisionEffect, DecideResult, Obligation, PolicyState, Reason } from "./types.js";

const EMPTY: readonly never[] = Object.freeze([]);
/** The effect of a combined rank (0: nothing matched). */
const EFFECT_OF_RANK: readonly DecisionEffect[] = ["deny", "allow", "challenge", "deny", "revoke"];
/** What the spare context holds between decisions (so it keeps no request alive). */
export const NO_EVENT: Event = Object.freeze({
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

/**
 * A step could not run: a partition is in a layout the step's layout source does not know.
 * @internal
 */
export class NeedsLayout {
  constructor(
    readonly layout: string,
    readonly key: string,
  ) {}
}

/**
 * How a step reads a partition of another layout (another policy version wrote it), with the
 * descriptors `layouts` finds: in this policy's layout, or why it cannot (`migratePartition` in
 * migrate.ts). `Policy.decide` has none.
 * @internal
 */
export type Migrate = (policy: Policy, g: number, p: ForeignPartition, layouts: (id: string) => LayoutDescriptor | undefined, time: number) => Partition | CorruptPartition | { readonly layout: string };

/**
 * Why a step gave up before evaluating: its decision (corrupt partition, full state).
 * @internal
 */
export class Refusal {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

/** Options fixed when a policy is compiled. */
export interface PolicyOptions {
  readonly maxKeys: number;
  readonly limits: RequestLimits;
  /** How the rule index is built (tests force every rule into the index with leafSize 0). */
  readonly index?: IndexOptions;
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
  /** Hash of the partition layouts of every key group. */
  readonly layoutHash: string;
  /** The layout descriptors of this policy's key groups, by id. */
  readonly layouts: Readonly<Record<string, LayoutDescriptor>>;
  /** Most partitions a state holds (the key cap). */
  readonly maxKeys: number;
  /** The request limits (R302). */
  readonly limits: RequestLimits;
  /** @internal */
  readonly index: ActionIndex;
  /** @internal */
  readonly layout: Layout;
  private readonly initial: PolicyState;
  /** Orders errors and notes by their rules' places in the source (rules without one first). */
  private readonly bySource: (a: { readonly rule: string | null }, b: { readonly rule: string | null }) => number;
  /**
   * The evaluation context of the last finished decision, reused by the next one. A decision takes
   * it out (leaving null) and puts it back when done, so a decision started while another is
   * running (a getter on a request calling `decide`) builds its own. Also the arrays a pure write
   * fills, and the last layouts table merged with this policy's own.
   */
  private readonly spare: {
    ctx: EvalContext | null;
    keys: (string | null | undefined)[];
    groups: (string | undefined)[];
    values: (string | undefined)[];
    parts: unknown[];
    entries: (Entry | undefined)[];
    layoutsIn: object | null;
    layoutsOut: Readonly<Record<string, LayoutDescriptor>> | null;
  } = {
    ctx: null,
    keys: [],
    groups: [],
    values: [],
    parts: [],
    entries: [],
    layoutsIn: null,
    layoutsOut: null,
  };

  /** @internal use `compilePolicy` */
  constructor(ir: PolicyIR, rules: CompiledRules, hash: string, options: PolicyOptions) {
    this.ir = ir;
    this.hash = hash;
    this.ruleIds = Object.freeze(ir.rules.map((r) => r.id));
    this.actions = Object.freeze(ir.actions.map((a) => Object.freeze({ name: a.name, high: a.high })));
    this.index = new ActionIndex(ir, rules, hash, options.index ?? DEFAULT_INDEX_OPTIONS);
    const place = new Map(ir.rules.map((r) => [r.id, r.index]));
    this.bySource = (a, b) => (a.rule === null ? -1 : (place.get(a.rule) ?? -1)) - (b.rule === null ? -1 : (place.get(b.rule) ?? -1));
    this.layout = { groups: ir.keyGroups, workflows: ir.workflows, keyCache: new KeyCache() };
    this.layoutHash = contentHash(ir.keyGroups.map((g) => g.layoutId).join(";"));
    const own: Record<string, LayoutDescriptor> = {};
    for (const g of ir.keyGroups) own[g.layoutId] = g.layout;
    this.layouts = Object.freeze(own);
    this.maxKeys = options.maxKeys;
    this.limits = options.limits;
    this.initial = emptyState(this.layoutHash);
    Object.freeze(this);
  }

  /** The empty state: no history, nothing revoked. */
  initialState(): PolicyState {
    return this.initial;
  }

  /**
   * Decides a request and returns the decision with the state after it. Pure: the same state and
   * request always give the same result; neither input is modified. Never throws: a malformed
   * request (R304), a request over a limit (R302), an undeclared action (R316) or a state that
   * cannot be read (R303) gives a deny that says why, and the state unchanged.
   */
  decide(state: PolicyState, request: unknown): DecideResult {
    let ev: Event | undefined;
    try {
      const n = normalizeRequest(request, this.limits);
      if (n instanceof Rejection) return new DecideResultValue(this.errorDecision(n.code, n.message, request), state);
      ev = n;
      const st = stateOf(state);
      if (typeof st === "string") return new DecideResultValue(this.errorDecision("R303", st, request, ev), state);
      const bucket = this.bucketFor(ev);
      if (!isBucket(bucket)) return new DecideResultValue(bucket, state);
      if (bucket.reads.length === 0 && st.revoked === 0) return this.decideScope(state, ev, bucket);
      return this.decideOn(st, state, ev, bucket);
    } catch (e) {
      // Throwing getters, proxies and the like: the request cannot be read, so it is denied.
      return new DecideResultValue(this.errorDecision("R304", `malformed request: it cannot be read (${describeError(e)})`, null, ev), state);
    }
  }

  /* ------------------------------------------------------------------------------------------ */
  /* The core: plans, and steps over the partitions of a plan                                    */
  /* ------------------------------------------------------------------------------------------ */

  /**
   * Loads one stored value into group `g` of `c`, or why it cannot be. `migrate` reads a partition
   * another policy version wrote, with the descriptors `layouts` finds; without it such a partition is R303.
   * @internal
   */
  loadOne(c: EvalContext, g: number, raw: unknown, migrate: Migrate | null, layouts?: (id: string) => LayoutDescriptor | undefined): NeedsLayout | Refusal | null {
    const key = c.keys[g]!;
    const group = this.layout.groups[g]!;
    // A key of one part is its group's text, a colon and the value: the value's length says it (the
    // value is the request's own string, already read; the key may be a stored entry's copy).
    const value = c.values[g];
    const tooLong = typeof value === "string" && group.key.kind !== "compound" ? value.length > this.limits.maxKeyLength : keyValueTooLong(group.key, group.text, key, this.limits.maxKeyLength);
    if (tooLong) return new Refusal("R302", `request over a limit: ${group.key.kind === "compound" ? "a part of the key" : "the value of"} ${group.text} that keys a history is longer than ${this.limits.maxKeyLength} characters`);
    // The core's own write in this policy's layout, as it is (the common case).
    if (raw === null || (raw instanceof Partition && raw.l === group.layoutId)) {
      c.load(g, raw, false);
      return null;
    }
    let loaded = loadPartition(raw, key, group);
    if (loaded instanceof ForeignPartition) {
      if (migrate === null) return new Refusal("R303", `${key} was written in layout ${loaded.l} by another version of the policy: carry the state over with migrateState(policy, state) first`);
      const m = migrate(this, g, loaded, layouts!, c.ev.time);
      if (m instanceof Partition) {
        c.load(g, m, true);
        return null;
      }
      if (!(m instanceof CorruptPartition)) return new NeedsLayout(m.layout, key);
      loaded = m;
    }
    if (loaded instanceof CorruptPartition) return new Refusal("R303", `state_corrupt: ${loaded.message}`);
    c.load(g, loaded, false);
    return null;
  }


  /**
   * The partition of group `g` after the evaluation in `c`: a new one (registers written, a
   * revocation recorded or lifted, a lifetime extended by a read), `null` to delete it (its
   * registers expired at the key's own time and nothing else keeps it), or `undefined` (unchanged).
   * @internal
   */
  partitionAfter(c: EvalContext, g: number): Partition | null | undefined {
    const stored = c.stored[g];
    if (stored === undefined) return undefined;
    const group = this.layout.groups[g]!;
    const live = c.parts[g];
    const now = c.nows[g]!;
    const regs = c.writes[g];
    const rev = c.revocations[g];
    const v = rev === undefined ? (stored === null ? undefined : stored.v) : rev === null ? undefined : rev;
    const carried = stored === null ? undefined : liveCarried(stored.c, now);
    if (regs !== undefined) return new Partition(group.layoutId, now, now + group.ttl, regs, v, carried);
    const isLive = live instanceof Partition;
    if (isLive && group.lifetime && c.read[g]) {
      // State without a window lives `ttl` after the key's last event that read it.
      return new Partition(group.layoutId, now, now + group.ttl, live.r, v, carried);
    }
    if (rev !== undefined) {
      if (isLive) return new Partition(group.layoutId, now, live.x, live.r, v, carried);
      if (v === undefined && carried === undefined) return stored === null ? undefined : null;
      return new Partition(group.layoutId, now, now, emptyRegisters(group.slots), v, carried);
    }
    // Registers that expired at the key's own time, with nothing else to keep: gone.
    if (stored !== null && !isLive && stored.v === undefined && carried === undefined) return null;
    // Read from another version's layout: written back in this one (carried registers and all), once.
    if (stored !== null && c.foreign[g]) return stored;
    return undefined;
  }

  /**
   * Takes the policy's spare context (or a new one when a decision is already running).
   * @internal
   */
  takeContext(ev: Event): EvalContext {
    let c = this.spare.ctx;
    if (c === null) return new EvalContext(ev, this.layout);
    this.spare.ctx = null;
    c.reset(ev);
    return c;
  }

  /** @internal */
  releaseContext(c: EvalContext): void {
    c.reset(NO_EVENT);
    this.spare.ctx = c;
  }

  /* ---- the pure API over a StateValue ------------------------------------------------------ */

  /** `decide` on a readable state: the core over the state's partitions. */
  private decideOn(st: StateValue, state: PolicyState, ev: Event, bucket: Bucket): DecideResult {
    const c = this.takeContext(ev);
    try {
      // The keys that hold only revocations are read only when the state holds any (their keys are
      // resolved all the same: the decision watches them). A stored partition is found by the
      // request's own value (the session id), and its key string comes with it.
      const groups = this.layout.groups;
      for (let l = 0; l < 2; l++) {
        const list = l === 0 ? bucket.reads : bucket.checks;
        const read = l === 0 || st.revoked > 0;
        for (let i = 0; i < list.length; i++) {
          const g = list[i]!;
          const value = c.value(g);
          if (value === null) {
            c.keys[g] = null;
            c.missing(g);
            continue;
          }
          const e = read ? st.lookup(groups[g]!.text, value) : undefined;
          if (e !== undefined) {
            c.keys[g] = e.key;
            c.hashes[g] = e.hash;
            c.entries[g] = e;
          } else c.key(g);
          if (!read) continue;
          const r = this.loadOne(c, g, e === undefined ? null : e.part, null);
          if (r !== null) return new DecideResultValue(this.errorDecision((r as Refusal).code, (r as Refusal).message, null, ev), state);
        }
      }
      const lists = st.revoked > 0 ? 2 : 1;
      const decision = this.evaluate(c, bucket, true, false);
      const next = this.writePure(st, c, lists === 1 ? bucket.reads : null, bucket);
      if (next === "full") return new DecideResultValue(this.errorDecision("R326", `state full: every one of the ${this.maxKeys} partitions it may hold is a revoked key, so ${ev.name} cannot be recorded`, null, ev), state);
      return new DecideResultValue(decision, next);
    } finally {
      this.releaseContext(c);
    }
  }

  /**
   * Writes what the evaluation in `c` changed into the state (the groups of `only`, or every touched group).
   * @internal
   */
  writePure(st: StateValue, c: EvalContext, only: readonly number[] | null, bucket: Bucket | null): StateValue | "full" {
    const spare = this.spare;
    let n = 0;
    if (only !== null) for (let i = 0; i < only.length; i++) n = this.collectPure(c, only[i]!, n);
    else if (bucket !== null) {
      for (const g of bucket.reads) n = this.collectPure(c, g, n);
      for (const g of bucket.checks) if (c.keys[g] !== null && !bucket.reads.includes(g)) n = this.collectPure(c, g, n);
    } else for (let g = 0; g < c.keys.length; g++) if (c.stored[g] !== undefined) n = this.collectPure(c, g, n);
    if (n === 0) return st;
    const out = st.write(spare.keys, spare.groups, spare.values, spare.parts, spare.entries, n, this.maxKeys, this.layoutHash, this.layoutsWith(st.layouts));
    for (let i = 0; i < n; i++) {
      spare.keys[i] = undefined;
      spare.groups[i] = undefined;
      spare.values[i] = undefined;
      spare.parts[i] = undefined;
      spare.entries[i] = undefined;
    }
    return out;
  }

  /** Adds group `g`'s partition after the evaluation to the spare write lists at `n`; the new count. */
  private collectPure(c: EvalContext, g: number, n: number): number {
    const p = this.partitionAfter(c, g);
    if (p === undefined) return n;
    const spare = this.spare;
    spare.keys[n] = c.keys[g];
    spare.groups[n] = this.layout.groups[g]!.text;
    spare.values[n] = c.value(g) ?? undefined;
    spare.parts[n] = p;
    spare.entries[n] = c.entries[g];
    return n + 1;
  }

  /**
   * The state's layout table with this policy's layouts in it (the same object when they are).
   * @internal
   */
  layoutsWith(table: Readonly<Record<string, LayoutDescriptor>>): Readonly<Record<string, LayoutDescriptor>> {
    const memo = this.spare;
    if (memo.layoutsIn === table) return memo.layoutsOut!;
    let out = table;
    for (const id in this.layouts) {
      if (!Object.prototype.hasOwnProperty.call(table, id)) {
        out = Object.freeze({ ...table, ...this.layouts });
        break;
      }
    }
    memo.layoutsIn = table;
    memo.layoutsOut = out;
    return out;
  }

  /* ---- decisions ----------------------------------------------------------------------------- */

  /**
   * The bucket of an action: one map lookup for known, declared names. Other names are checked
   * against the lexer's rules (R304), then against the actions block when there is one (R316).
   * @internal
   */
  bucketFor(ev: Event): Bucket | Decision {
    const name = ev.name;
    const known = this.index.find(name);
    if (known !== undefined && known.declared) return known;
    if (known === undefined) {
      const bad = nameError(name);
      if (bad !== null) return this.errorDecision("R304", `malformed request: action ${quote(name)} is not a name as a .rules file writes one: ${bad}`, null, ev);
    }
    const bucket = known ?? this.index.action(name);
    if (bucket.declared) return bucket;
    return this.errorDecision("R316", bucket.undeclared, null, ev);
  }

  /**
   * Evaluates the event in `c`; with `record`, also notes what it writes.
   * @internal
   */
  evaluate(c: EvalContext, bucket: Bucket, record: boolean, held: boolean): Decision {
    const ev = c.ev;
    // Every partition the event's rules read counts as read, whichever rule decided first: a key's
    // last-seen time (and the lifetime of its windowless state) does not hang on evaluation order.
    if (record) for (let i = 0; i < bucket.reads.length; i++) c.read[bucket.reads[i]!] = true;
    const revokedBy = ev.isSignal ? null : this.revokedKey(c);

    // The index hands over every rule that the event can match (see rule-index.ts), each once.
    if (revokedBy === null) {
      walkIndex(bucket.index, c, held, this);
      // The index visits rules in its own order; errors and notes are listed as a scan in source order lists them.
      if (c.errors !== null && c.errors.length > 1) c.errors.sort(this.bySource);
      if (c.notes !== null && c.notes.length > 1) c.notes.sort(this.bySource);
    }
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
        const g = this.revokeGroupOf(w, c);
        if (g >= 0) revokes.push({ kind: "revoke", rule: w.id, key: c.keys[g]! });
        else (c.errors ??= []).push({ rule: w.id, code: "R305", message: "nothing to revoke: the event has no session, principal or target attribute", span: w.ir.span });
      }
      obligations = revokes;
    }

    c.effectRelevant = false;
    if (record) this.record(c, ev, bucket, effect, winners, flags);

    return new DecisionValue(
      effect,
      rules,
      reasons,
      obligations,
      flags === null ? EMPTY : flags.length === 1 ? flags[0]!.idList : idsOf(sortByRank(flags)),
      c.errors ?? EMPTY,
      c.warnings ?? EMPTY,
      finiteOrNull(c.validUntil),
      finiteOrNull(c.nextDeadline),
      watchOf(bucket.watch, c.keys),
      this.hash,
      ev.time,
      ev.name,
      this.subjectOf(c),
      ev.session ?? null,
      resourceOf(ev),
      this.digestOf(effect, ev, bucket, c),
      c.migrated,
    );
  }

  /**
   * `decide` of an action whose candidate rules read no history, no clock and no state (its
   * bucket reads no partition: no history operator, limit, grant, label or revoke rule, and the
   * action feeds none) on a state that holds no revocation. Nothing of the state can change the
   * decision, and the decision changes nothing: no partition is planned, loaded or written, and
   * the state comes back as it was given. The decision is the one `decideOn` makes, field for
   * field: the same watch list (the rules' attribute paths and the session, principal and target
   * keys that a later revocation would change it by) and the same digest.
   */
  private decideScope(state: PolicyState, ev: Event, bucket: Bucket): DecideResult {
    const c = this.takeContext(ev);
    try {
      // The keys the decision watches (a later revocation of one would change it), from the key cache.
      for (const g of bucket.checks) c.key(g);
      return new DecideResultValue(this.evaluate(c, bucket, false, false), state);
    } finally {
      this.releaseContext(c);
    }
  }

  /** Whom the decision in `c` is for: the principal's cached subject (one object per principal). */
  private subjectOf(c: EvalContext): { readonly kind: string; readonly id: string } | null {
    return c.principalKey()?.subject ?? null;
  }

  /**
   * Evaluates one candidate rule (with the test its place in the index leaves) and folds its
   * outcome into the context's running decision.
   * @internal
   */
  consider(p: Probe, c: EvalContext, held: boolean): void {
    // The probe's own fields until the rule matches: a false candidate never loads the rule.
    const r = p.rule;
    c.effectRelevant = r.effect !== "flag";
    c.rule = r;
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
      const op = this.ir.ops[ir.limit] as Extract<OpIR, { op: "limit" | "distinctLimit" }>;
      const p = c.partition(op.group);
      if (p instanceof Failure) return p;
      if (p !== null) c.change(p.x);
      if (op.op === "distinctLimit") {
        const v = distinctLimitValue(op, c.ev);
        const what = op.attribute.segments.length === 0 ? "resource" : op.attribute.text;
        if (v === undefined) return new Failure("R301", `missing attribute ${what === "resource" ? "resource.path (or resource.id)" : what}: the distinct limit of ${r.id} counts it`, ir.span);
        if (!distinctLimitAdmits(op, p === null ? null : p.r, c.nows[op.group]!, v, c)) {
          (c.notes ??= []).push({ rule: r.id, effect: "allow", code: "R310", message: `${r.id}: limit of ${op.count} distinct ${what} per ${this.layout.groups[op.group]!.text}${op.window ? " within the window" : ""} reached`, span: ir.span });
          return false;
        }
        return this.grantHolds(r, c);
      }
      const uses = limitUses(op, p === null ? null : p.r, c.nows[op.group]!, c);
      if (uses >= op.count) {
        (c.notes ??= []).push({ rule: r.id, effect: "allow", code: "R310", message: `${r.id}: limit of ${op.count} per ${this.layout.groups[op.group]!.text}${op.window ? " within the window" : ""} reached`, span: ir.span });
        return false;
      }
    }
    return this.grantHolds(r, c);
  }

  /** Whether an allow rule's `valid for` grant (if any) still holds for this request. */
  private grantHolds(r: CompiledRule, c: EvalContext): true | false | Failure {
    const ir = r.ir;
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

  /** The revocation that applies to the event's session, principal or a `target` attribute, as a reason. */
  private revokedKey(c: EvalContext): Reason | null {
    const ir = this.ir;
    const r = revocationOf(c, ir.sessionGroup) ?? revocationOf(c, ir.principalGroup);
    if (r !== null) return r;
    const targets = ir.targetGroups;
    for (let i = 0; i < targets.length; i++) {
      const t = revocationOf(c, targets[i]!);
      if (t !== null) return t;
    }
    return null;
  }

  /** The group whose key a revoke rule revokes for this event: its target, else the principal; -1 if none. */
  private revokeGroupOf(r: CompiledRule, c: EvalContext): number {
    const ir = this.ir;
    const t = r.ir.revokeTarget ?? { kind: "session" as const };
    if (t.kind === "session" && c.keys[ir.sessionGroup]) return ir.sessionGroup;
    if (t.kind === "path" || t.kind === "compound") {
      const g = ir.targetGroups[ir.revokeTargets.findIndex((k) => keyText(k) === keyText(t))]!;
      if (c.keys[g]) return g;
    }
    return c.keys[ir.principalGroup] ? ir.principalGroup : -1;
  }

  /** Notes what the event writes: histories that see it, quantity scopes used, labels, revocations. */
  private record(c: EvalContext, ev: Event, bucket: Bucket, effect: DecisionEffect, winners: readonly CompiledRule[], flags: readonly CompiledRule[] | null): void {
    const cat: Category = ev.isSignal ? "signal" : effect === "allow" ? "allowed" : "denied";
    const ops = cat === "allowed" ? bucket.updates.allowed : cat === "denied" ? bucket.updates.denied : bucket.updates.signal;
    const usesScopes = effect === "allow" && bucket.hasLimits;
    for (let i = 0; i < ops.length; i++) {
      const u = ops[i]!;
      const g = u.group;
      const r = c.writes[g] ?? this.registersFor(g, c);
      if (r !== null) applyUpdate(u, r, c.nows[g]!, ev);
    }
    if (usesScopes) {
      for (const w of winners) {
        const ir = w.ir;
        if (ir.limit !== null) {
          const op = this.ir.ops[ir.limit] as Extract<OpIR, { op: "limit" | "distinctLimit" }>;
          const r = this.registersFor(op.group, c);
          if (r && op.op === "limit") useLimit(op, r, c.nows[op.group]!);
          else if (r && op.op === "distinctLimit") {
            const v = distinctLimitValue(op, ev);
            if (v !== undefined) useDistinctLimit(op, r, c.nows[op.group]!, v);
          }
        }
        if (ir.grant !== null) {
          const op = this.ir.ops[ir.grant] as Extract<OpIR, { op: "grant" }>;
          const r = this.registersFor(op.group, c);
          if (r) useGrant(op, r, c.nows[op.group]!);
        }
      }
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
    if (effect === "revoke") {
      for (const w of winners) {
        const g = this.revokeGroupOf(w, c);
        if (g >= 0 && c.revocations[g] === undefined) c.revocations[g] = new Revocation(c.nows[g]!, w.id, w.reason.message);
      }
    }
  }

  /** The registers of group `g` being written by this event, copied from the stored partition once. */
  private registersFor(g: number, c: EvalContext): unknown[] | null {
    let r = c.writes[g];
    if (r !== undefined) return r;
    const p = c.parts[g];
    if (p === undefined || p instanceof Failure) return null;
    r = p === null ? emptyRegisters(this.layout.groups[g]!.slots) : p.r.slice();
    c.writes[g] = r;
    return r;
  }

  /**
   * What a decision was for, as a 32-bit digest (an unsigned integer): policy, action, effect, time,
   * session, principal, resource and the value of every other attribute path the candidate rules
   * read. Hashed field by field (the keys' hashes are cached with them), never as one string.
   * @internal
   */
  digestOf(effect: DecisionEffect, ev: Event, bucket: Bucket, c: EvalContext | null): number {
    const ir = this.ir;
    const sg = ir.sessionGroup;
    const pg = ir.principalGroup;
    let h = mix32(bucket.digestSeed, EFFECT_RANK[effect]);
    h = mix32(h, ev.time);
    h = mix32(h, ev.session === undefined ? 0 : c !== null && typeof c.keys[sg] === "string" ? c.hashes[sg]! : hash32(sessionKey(ev.session)));
    h = mix32(h, ev.principalKind === undefined ? 0 : c !== null && typeof c.keys[pg] === "string" ? c.hashes[pg]! : hash32(principalKey(ev.principalKind, ev.principalId!)));
    const res = resourceOf(ev);
    h = res === null ? mix32(h, 0) : hash32(res, mix32(h, 1));
    const paths = bucket.digestPaths;
    for (let i = 0; i < paths.length; i++) {
      const p = paths[i]!;
      h = digestAt(h, p.root === "principal" ? ev.principal : p.root === "resource" ? ev.resource : ev.context, p.segments);
    }
    return h >>> 0;
  }

  /** @internal */
  errorDecision(code: string, message: string, request: unknown, ev?: Event): DecisionValue {
    const t = ev !== undefined ? ev.time : fieldTime(request);
    const action = ev !== undefined ? ev.name : actionOf(request);
    const reasons: Reason[] = [{ rule: null, effect: "deny", code, message }];
    return new DecisionValue("deny", EMPTY, reasons, EMPTY, EMPTY, [{ rule: null, code, message }], EMPTY, null, null, EMPTY, this.hash, t, action, ev ? principalOf(ev) : null, ev?.session ?? null, ev ? resourceOf(ev) : null, 0, false);
  }
}

/** The deny reason of group `g`'s key when its stored partition holds a revocation, else null. */
function revocationOf(c: EvalContext, g: number): Reason | null {
  const p = c.stored[g];
  if (p === null || p === undefined || p.v === undefined) return null;
  const r = p.v;
  return { rule: r.rule, effect: "deny", code: "R307", message: `${c.keys[g]} was revoked${r.rule ? ` by rule ${r.rule}` : ""}: ${r.reason}` };
}

export function isBucket(b: Bucket | Decision): b is Bucket {
  return !(b instanceof DecisionValue);
}

/** Carried registers still live at `now`, or undefined when none are. */
function liveCarried(c: Partition["c"], now: number): Partition["c"] {
  if (c === undefined) return undefined;
  let live = 0;
  for (const e of c) if (e[1] > now) live++;
  if (live === c.length) return c;
  return live === 0 ? undefined : c.filter((e) => e[1] > now);
}

function fieldTime(r: unknown): number {
  try {
    const t = r !== null && typeof r === "object" ? (r as Record<string, unknown>).time : undefined;
    return typeof t === "number" && Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
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

function principalOf(ev: Event): { readonly kind: string; readonly id: string } | null {
  return ev.principalKind === undefined ? null : new Subject(ev.principalKind, ev.principalId!);
}

export function resourceOf(ev: Event): string | null {
  const v = typeof ev.resourcePath === "string" ? ev.resourcePath : ev.resourceId;
  return typeof v === "string" && v.length <= MAX_STRING ? v : null;
}

/** Mixes an attribute value into a digest (a Failure: missing or unreadable). */
/**
 * Mixes the value at `obj.seg1.seg2...` into `h` as `digestValue(h, readOwn(obj, segments, ...))`
 * does, without building the Failure (and its message) of a value that cannot be read: the digest
 * of every such value is the same.
 */
function digestAt(h: number, obj: unknown, segments: readonly string[]): number {
  let cur: unknown = obj;
  for (let i = 0; i < segments.length; i++) {
    if (!isRecord(cur)) return mix32(h, UNREADABLE_DIGEST);
    const seg = segments[i]!;
    if (!hasOwnProperty.call(cur, seg)) return mix32(h, UNREADABLE_DIGEST);
    cur = cur[seg];
  }
  switch (typeof cur) {
    case "string":
      return cur.length <= MAX_STRING ? hash32(cur, mix32(h, 1)) : mix32(h, UNREADABLE_DIGEST);
    case "number":
      return Number.isFinite(cur) ? mix32(mix32(h, 2), cur) : mix32(h, UNREADABLE_DIGEST);
    case "boolean":
      return mix32(h, cur ? 3 : 4);
    default:
      return cur !== null && typeof cur === "object" ? digestValue(h, checkValue(cur, "", undefined)) : mix32(h, UNREADABLE_DIGEST);
  }
}

/** What an attribute that cannot be read (a Failure) mixes into a digest. */
const UNREADABLE_DIGEST = 0x2205;
const hasOwnProperty = Object.prototype.hasOwnProperty;

function digestValue(h: number, v: unknown): number {
  if (v instanceof Failure) return mix32(h, UNREADABLE_DIGEST);
  if (typeof v === "string") return hash32(v, mix32(h, 1));
  if (typeof v === "number") return mix32(mix32(h, 2), v);
  if (typeof v === "boolean") return mix32(h, v ? 3 : 4);
  if (Array.isArray(v)) {
    h = mix32(h, 5 + v.length);
    for (const x of v) h = digestValue(h, x);
    return h;
  }
  return mix32(h, 6);
}



/** A field of a request that may be anything (a proxy, a throwing getter): read once, never throwing. */
function fieldOf(r: unknown, name: "time" | "action"): unknown {
  try {
    return r !== null && typeof r === "object" ? (r as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

function actionOf(r: unknown): string {
  const a = fieldOf(r, "action");
  return typeof a === "string" ? a.slice(0, 256) : "";
}

export { DEFAULT_LIMITS };
export type { KeyGroupIR };
