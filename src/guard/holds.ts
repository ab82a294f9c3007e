/**
 * Holds: decisions a caller keeps acting on (an open session, a stream, a running job), re-checked
 * by the Guard when time, the partitions they read, or the policy change. All holds share one
 * clock timer (timers.ts) and one index from partition key to the holds that read it.
 */
import type { Decision, RecheckResult } from "../runtime/types.js";
import type { GuardClock } from "./clock.js";
import { Timers, type Deadline } from "./timers.js";
import type { GuardRequest, Hold, HoldCause, HoldChange, HoldOptions } from "./types.js";

/** What the holds need from their Guard. */
export interface HoldHost {
  readonly clock: GuardClock;
  /** The hash of the policy deciding now. */
  policyHash(): string;
  /** `guard.recheck`: never rejects. */
  recheck(decision: Decision, request: GuardRequest): Promise<RecheckResult>;
  /** The partitions a recheck of `decision` reads, or its answer when it cannot be rechecked at all. */
  keysOf(decision: Decision, request: GuardRequest): readonly string[] | RecheckResult;
}

/** How long after a recheck the store could not answer the hold is tried again (ms). */
export const HOLD_RETRY_MS = 1_000;
/** Partition keys whose latest change the holds remember, for holds started on slightly older decisions. */
const RECENT_KEYS = 10_000;

const STORE_CODES: ReadonlySet<string> = new Set(["R314", "R315", "R330", "R331"]);

/** One held decision. Its memory is fixed: the request, two decisions, its keys and a few flags. */
class Entry implements Hold {
  /** The decision rechecks are made against (the held one; after a reload, one rebound to the new policy). */
  base: Decision;
  /** The latest answer. */
  current: Decision;
  /** What `onChange` was last told: effect, plus whether it is a revocation or a store failure. */
  status: string;
  keys: readonly string[] = [];
  deadline: Deadline<Entry> | null = null;
  running = false;
  /** A change that arrived while a recheck ran: check again with this cause when it ends. */
  again: HoldCause | null = null;
  released = false;
  /** The base was rebound to a reloaded policy and has not yet been decided under it. */
  rebound = false;
  /** Answered once and released (a hold on a closed Guard). */
  once = false;

  constructor(
    private readonly owner: Holds,
    decision: Decision,
    readonly request: GuardRequest,
    readonly onChange: (change: HoldChange) => void,
  ) {
    this.base = decision;
    this.current = decision;
    this.status = statusOf(decision);
  }

  get decision(): Decision {
    return this.current;
  }

  release(): void {
    this.owner.release(this);
  }
}

/** The holds of one Guard. */
export class Holds {
  private readonly entries = new Set<Entry>();
  private readonly byKey = new Map<string, Set<Entry>>();
  private readonly timers: Timers<Entry>;
  /** When each recently changed partition key was last reported changed (insertion order: oldest first). */
  private readonly recent = new Map<string, number>();
  /** The latest time a change was forgotten from `recent`, or every hold was re-checked at once. */
  private forgottenAt = -Infinity;

  constructor(
    private readonly host: HoldHost,
    private readonly retryMs = HOLD_RETRY_MS,
  ) {
    this.timers = new Timers(host.clock, (e) => this.check(e, "deadline"));
  }

  /** Holds kept. */
  get size(): number {
    return this.entries.size;
  }

  /** Deadlines scheduled on the one timer. */
  get scheduled(): number {
    return this.timers.size;
  }

  /** Starts a hold; with `once`, it is rechecked at once, reported and released (the Guard is closed). */
  add(decision: Decision, request: GuardRequest, options: HoldOptions, once = false): Hold {
    if (options === null || typeof options !== "object" || typeof options.onChange !== "function") throw new TypeError("guard.hold: give { onChange(change) }");
    const req = withoutTime(request);
    const e = new Entry(this, decision, req ?? ({} as GuardRequest), options.onChange);
    this.entries.add(e);
    if (once) {
      e.once = true;
      queueMicrotask(() => this.check(e, "hold"));
      return e;
    }
    if (req === null) {
      // A request that cannot be read cannot be rechecked: the recheck says why (R304), at once.
      queueMicrotask(() => this.check(e, "hold"));
      return e;
    }
    const keys = this.host.keysOf(decision, req);
    if (!Array.isArray(keys)) {
      queueMicrotask(() => this.settle(e, keys as RecheckResult, "hold"));
      return e;
    }
    this.index(e, keys);
    // A change reported between the decision and now may not be in it: recheck at once then.
    if (this.changedSince(keys, decision.time)) queueMicrotask(() => this.check(e, "hold"));
    else this.schedule(e, decision, this.host.clock.now());
    return e;
  }

  /** Whether any of `keys` was reported changed at or after `time` (or that cannot be ruled out). */
  private changedSince(keys: readonly string[], time: unknown): boolean {
    if (typeof time !== "number" || this.forgottenAt >= time) return true;
    for (const k of keys) {
      const at = this.recent.get(k);
      if (at !== undefined && at >= time) return true;
    }
    return false;
  }

  private remember(keys: readonly string[]): void {
    const now = this.host.clock.now();
    for (const k of keys) {
      this.recent.delete(k);
      this.recent.set(k, now);
    }
    while (this.recent.size > RECENT_KEYS) {
      const oldest = this.recent.entries().next().value as [string, number];
      this.recent.delete(oldest[0]);
      this.forgottenAt = Math.max(this.forgottenAt, oldest[1]);
    }
  }

  /** Re-checks the holds that read any of `keys`. */
  touched(keys: readonly string[], cause: HoldCause): void {
    this.remember(keys);
    if (this.entries.size === 0) return;
    if (keys.length === 1) {
      const set = this.byKey.get(keys[0]!);
      if (set !== undefined) for (const e of [...set]) this.check(e, cause);
      return;
    }
    const seen = new Set<Entry>();
    for (const k of keys) for (const e of this.byKey.get(k) ?? []) seen.add(e);
    for (const e of seen) this.check(e, cause);
  }

  /** Re-checks every hold (a policy reload, a gap in the store's notifications). */
  all(cause: HoldCause): void {
    this.forgottenAt = Math.max(this.forgottenAt, this.host.clock.now());
    for (const e of [...this.entries]) this.check(e, cause);
  }

  release(e: Entry): void {
    if (e.released) return;
    e.released = true;
    this.entries.delete(e);
    this.timers.cancel(e.deadline);
    e.deadline = null;
    this.index(e, []);
  }

  /** Ends every hold without telling anyone (the Guard is closing). */
  clear(): void {
    for (const e of [...this.entries]) this.release(e);
    this.timers.clear();
  }

  private index(e: Entry, keys: readonly string[]): void {
    for (const k of e.keys) {
      const set = this.byKey.get(k);
      if (set === undefined) continue;
      set.delete(e);
      if (set.size === 0) this.byKey.delete(k);
    }
    e.keys = keys;
    for (const k of keys) {
      let set = this.byKey.get(k);
      if (set === undefined) this.byKey.set(k, (set = new Set()));
      set.add(e);
    }
  }

  private check(e: Entry, cause: HoldCause): void {
    if (e.released) return;
    if (e.running) {
      e.again = cause;
      return;
    }
    e.running = true;
    const hash = this.host.policyHash();
    let base = e.base;
    if (base.policyHash !== hash) {
      // Reloaded: the held decision is decided afresh under the new policy (without recording
      // anything), and the hold now watches what the new policy reads.
      base = { ...base, policyHash: hash };
      e.base = base;
      e.rebound = true;
      const keys = this.host.keysOf(base, e.request);
      if (Array.isArray(keys)) this.index(e, keys);
    }
    let out: Promise<RecheckResult>;
    try {
      out = this.host.recheck(base, e.request);
    } catch (err) {
      out = Promise.reject(err);
    }
    out.then(
      (r) => this.settle(e, r, cause),
      () => {
        e.running = false;
        if (!e.released) this.schedule(e, null, this.host.clock.now(), 1);
      },
    );
  }

  private settle(e: Entry, r: RecheckResult, cause: HoldCause): void {
    e.running = false;
    if (e.released) return;
    const d = r.decision;
    const previous = e.current;
    e.current = d;
    // After a reload, the new policy's decision is the one to hold while it stands.
    if (e.rebound && r.stands && d.policyHash === e.base.policyHash) {
      e.base = d;
      e.rebound = false;
    }
    const status = statusOf(d);
    const now = this.host.clock.now();
    if (status !== e.status) {
      e.status = status;
      const change: HoldChange = Object.freeze({
        decision: d,
        previous,
        reason: r.reason,
        cause,
        revoked: status.endsWith(":revoked"),
        unavailable: status.endsWith(":unavailable"),
        time: now,
      });
      try {
        e.onChange(change);
      } catch {
        // The holder's exception never stops the hold or the others.
      }
    }
    if (e.once) e.release();
    if (e.released) return;
    const again = e.again;
    if (again !== null) {
      e.again = null;
      this.check(e, again);
      return;
    }
    this.schedule(e, d, now, 1);
  }

  /** Sets the hold's deadline: when its answer may change by time alone, sooner after a store failure. */
  private schedule(e: Entry, d: Decision | null, now: number, after = 0): void {
    let at = d === null ? null : (d.nextDeadline ?? d.validUntil);
    if (d === null || statusOf(d).endsWith(":unavailable")) at = Math.min(at ?? Infinity, now + this.retryMs);
    if (at === null || !Number.isFinite(at)) {
      this.timers.cancel(e.deadline);
      e.deadline = null;
      return;
    }
    e.deadline = this.timers.schedule(e.deadline, e, Math.max(at, now + after));
  }
}

/** The effect, marked when a revocation (R307) or the store (R314, R315, ...) decided it. */
function statusOf(d: Decision): string {
  try {
    const effect = String(d.effect);
    const reasons = Array.isArray(d.reasons) ? d.reasons : [];
    if (reasons.some((r) => r.code === "R307")) return `${effect}:revoked`;
    if (reasons.some((r) => r.code !== undefined && STORE_CODES.has(r.code))) return `${effect}:unavailable`;
    return effect;
  } catch {
    return "unreadable";
  }
}

/** The request without its time (a recheck is made at the time it runs); null when it cannot be read. */
function withoutTime(request: GuardRequest): GuardRequest | null {
  try {
    if (request === null || typeof request !== "object" || Array.isArray(request)) return null;
    const { time: _time, ...rest } = request;
    return rest;
  } catch {
    return null;
  }
}

/**
 * Whether a held decision's change ends what it guards (a session, a stream, a socket): a
 * revocation (R307) always; a turn to deny or revoke unless the store could not answer (the hold
 * is retried) or the policy was replaced (the request is then decided afresh as a new one, so a
 * `limit` it used must have room again: later requests are decided on their own instead).
 */
export function changeEnds(change: HoldChange): boolean {
  if (change.revoked) return true;
  const effect = change.decision.effect;
  return (effect === "deny" || effect === "revoke") && !change.unavailable && change.cause !== "policy";
}
