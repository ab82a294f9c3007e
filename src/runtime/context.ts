import type { KeyGroupIR, SimpleKeyIR, WorkflowIR } from "../compile/ir.js";
import { hash32 } from "../compile/hash.js";
import { Failure, readOwn } from "./attributes.js";
import { compoundValue } from "./keys.js";
import type { Category } from "./operators.js";
import type { Partition, Revocation } from "./partition.js";
import type { Entry } from "./state.js";
import type { Event } from "./request.js";
import type { CompiledRule } from "../compile/generate.js";
import type { DecisionError, Reason } from "./types.js";

/** The static part of a compiled policy the evaluation context needs. */
export interface Layout {
  readonly groups: readonly KeyGroupIR[];
  readonly workflows: readonly WorkflowIR[];
  readonly keyCache: KeyCache;
}

/** Entries a key cache holds before it starts again (so a flood of new keys cannot grow memory). */
const KEY_CACHE_LIMIT = 4096;
/** Longest id the cache keeps (ids may be up to 1,024 characters; this bounds the cache to about 2 MB). */
const KEY_CACHE_ID_LENGTH = 256;

/**
 * The state keys of recently seen sessions and principals. A busy key is decided on again and again:
 * the cache saves building its string each time, and a stored partition's key is then the very
 * string the store's map compares with. Holds derived strings only, so it never changes a decision.
 */
export class KeyCache {
  private readonly sessions = new Map<string, CachedKey>();
  private readonly principals = new Map<string, CachedKey>();

  session(id: string): CachedKey {
    let e = this.sessions.get(id);
    if (e === undefined) {
      e = new CachedKey(sessionKey(id), "", id);
      if (id.length <= KEY_CACHE_ID_LENGTH) {
        if (this.sessions.size >= KEY_CACHE_LIMIT) this.sessions.clear();
        this.sessions.set(id, e);
      }
    }
    return e;
  }

  principal(kind: string, id: string): CachedKey {
    const e = this.principals.get(id);
    if (e !== undefined && e.kind === kind) return e;
    const made = new CachedKey(principalKey(kind, id), kind, `${kind}/${id}`);
    if (id.length <= KEY_CACHE_ID_LENGTH) {
      if (this.principals.size >= KEY_CACHE_LIMIT) this.principals.clear();
      this.principals.set(id, made);
    }
    return made;
  }
}


/** A partition key string with its 32-bit hash (for decision digests). */
export class CachedKey {
  readonly hash: number;
  /** For a principal key: whom a decision is for, one object for every decision of that principal. */
  readonly subject: { readonly kind: string; readonly id: string } | null;
  constructor(
    readonly key: string,
    /** For a principal key: the kind it was built for (the cache is by id). */
    readonly kind: string,
    /** The key's value: the session id, or `kind/id`. */
    readonly value: string,
  ) {
    this.hash = hash32(key);
    this.subject = kind === "" ? null : Object.freeze(new Subject(kind, value.slice(kind.length + 1)));
  }
}

/** Whom a decision is for. A class, not a literal, for the reason given in values.ts. */
export class Subject {
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {}
}

/**
 * Per-decision evaluation context: the event, the partitions of the key groups the event touches
 * (loaded before evaluation, each key once), what the rules decided so far, and the change times
 * collected for `validUntil` and `nextDeadline`. A policy reuses one context from decision to
 * decision (`reset`), so the per-decision path allocates none of this.
 */
export class EvalContext {
  ev: Event;
  /** Earliest time the effect may change (only non-flag rules feed it). */
  validUntil = Infinity;
  /** Earliest time anything read may change. */
  nextDeadline = Infinity;
  /** Whether the rule being evaluated can change the effect. */
  effectRelevant = true;
  /** Per group: key string, null when the key attribute is missing, undefined when not resolved yet. */
  readonly keys: (string | null | undefined)[];
  /** Per group: the 32-bit hash of the key string (once resolved; 0 for none). */
  readonly hashes: number[];
  /** Per group: the key's value (`s-1`, `agent/bot`, `10.0.0.1`), once resolved. */
  readonly values: (string | null | undefined)[];
  /** Per group: the stored partition as read (migrated to this policy's layout), null when there is none. */
  readonly stored: (Partition | null | undefined)[];
  /**
   * Per group: the partition whose registers the operators read — the stored one while its registers
   * live at the key's time, else null — or the Failure (R305) of a key the event lacks.
   */
  readonly parts: (Partition | null | Failure | undefined)[];
  /** Per group: the time operators of that key see (the event time, clamped forward per key). */
  readonly nows: number[];
  /** Per group: the registers this event writes, copied from the stored partition on first write. */
  readonly writes: (unknown[] | undefined)[];
  /** Per group: a revocation this event records (or null: one it lifts); undefined leaves it. */
  readonly revocations: (Revocation | null | undefined)[];
  /** Per group: whether a rule read the partition's registers (a read extends a lifetime). */
  readonly read: boolean[];
  /** Per group: whether its partition was written in another policy version's layout (it is written back in this one). */
  readonly foreign: boolean[];
  /** Per group: the pure state's entry the partition was read from (so the write finds it without a look-up). */
  readonly entries: (Entry | undefined)[];
  /** Whether any partition was written in another policy version's layout. */
  migrated = false;
  /**
   * When the store is down and the Guard decides anyway: the rules whose history reads as empty;
   * every other rule's history read fails closed (R314). Null when the partitions were read.
   */
  offline: ReadonlySet<string> | null = null;
  /** Why the partitions could not be read, for the failures of an offline decision. */
  offlineReason = "";
  /**
   * A recheck of a held decision: the time its own request was recorded at (NaN otherwise) and
   * with which category. History reads leave that one event out, since the request being
   * rechecked is the held one and a request never reads itself (semantics.md#re-evaluation).
   */
  ownTime = NaN;
  ownCategory: Category = "allowed";
  /** The rule being evaluated. */
  rule: CompiledRule | null = null;
  /** The event's principal key, once looked up. */
  principal: CachedKey | null | undefined = undefined;
  warnings: DecisionError[] | null = null;
  /* What the rules decided so far (kept here so the decision loop allocates nothing per rule). */
  best = 0;
  anyAllow = false;
  single: CompiledRule | null = null;
  matched: CompiledRule[] | null = null;
  errors: DecisionError[] | null = null;
  notes: Reason[] | null = null;
  flags: CompiledRule[] | null = null;

  constructor(
    ev: Event,
    readonly layout: Layout,
  ) {
    this.ev = ev;
    const n = layout.groups.length;
    this.keys = new Array(n).fill(undefined);
    this.hashes = new Array(n).fill(0);
    this.values = new Array(n).fill(undefined);
    this.stored = new Array(n).fill(undefined);
    this.parts = new Array(n).fill(undefined);
    this.nows = new Array(n).fill(ev.time);
    this.writes = new Array(n).fill(undefined);
    this.revocations = new Array(n).fill(undefined);
    this.read = new Array(n).fill(false);
    this.foreign = new Array(n).fill(false);
    this.entries = new Array(n).fill(undefined);
  }

  /** Makes this context the fresh context of another decision. */
  reset(ev: Event): void {
    this.ev = ev;
    this.validUntil = Infinity;
    this.nextDeadline = Infinity;
    this.effectRelevant = true;
    const n = this.keys.length;
    for (let g = 0; g < n; g++) {
      this.keys[g] = undefined;
      this.values[g] = undefined;
      this.stored[g] = undefined;
      this.parts[g] = undefined;
      this.nows[g] = ev.time;
      this.writes[g] = undefined;
      this.revocations[g] = undefined;
      this.read[g] = false;
      this.foreign[g] = false;
      this.entries[g] = undefined;
    }
    this.migrated = false;
    this.offline = null;
    this.offlineReason = "";
    this.ownTime = NaN;
    this.rule = null;
    this.principal = undefined;
    this.warnings = null;
    this.best = 0;
    this.anyAllow = false;
    this.single = null;
    this.matched = null;
    this.errors = null;
    this.notes = null;
    this.flags = null;
  }

  /**
   * Something read changes at time `t`. A value that changes with the request's own time (t <= now)
   * makes the effect valid for no longer than now, but sets no timer.
   */
  change(t: number): void {
    const now = this.ev.time;
    if (t > now) {
      if (t < this.nextDeadline) this.nextDeadline = t;
    } else t = now;
    if (this.effectRelevant && t < this.validUntil) this.validUntil = t;
  }

  /** The key string of group `g` for this event, or null when the event lacks the key attribute. */
  key(g: number): string | null {
    let k = this.keys[g];
    if (k === undefined) {
      const group = this.layout.groups[g]!;
      const ev = this.ev;
      if (group.key.kind === "session" || group.key.kind === "principal") {
        const e = this.cached(g);
        k = e === null ? null : e.key;
        this.hashes[g] = e === null ? 0 : e.hash;
        this.values[g] = e === null ? null : e.value;
      } else {
        const v = pathValueOf(group, ev);
        k = v === null ? null : `${group.text}:${v}`;
        this.hashes[g] = k === null ? 0 : hash32(k);
        this.values[g] = v;
      }
      this.keys[g] = k;
    }
    return k;
  }

  /** The cached key of the session or principal group `g` for this event, or null when the event has none. */
  cached(g: number): CachedKey | null {
    const ev = this.ev;
    if (this.layout.groups[g]!.key.kind === "session") return ev.session !== undefined ? this.layout.keyCache.session(ev.session) : null;
    return this.principalKey();
  }

  /** The cached key of the event's principal (looked up once per decision), or null. */
  principalKey(): CachedKey | null {
    let p = this.principal;
    if (p === undefined) {
      const ev = this.ev;
      p = ev.principalKind !== undefined ? this.layout.keyCache.principal(ev.principalKind, ev.principalId!) : null;
      this.principal = p;
    }
    return p;
  }

  /**
   * The value of group `g`'s key for this event without building the key string: the session id
   * itself, the principal's `kind/id`, an attribute's text. Null when the event lacks it.
   */
  value(g: number): string | null {
    const v = this.values[g];
    if (v !== undefined) return v;
    const group = this.layout.groups[g]!;
    const ev = this.ev;
    let out: string | null;
    if (group.key.kind === "session") out = ev.session ?? null;
    else if (group.key.kind === "principal") out = this.principalKey()?.value ?? null;
    else out = pathValueOf(group, ev);
    this.values[g] = out;
    return out;
  }

  /** Takes the stored partition of group `g` (already read into this policy's layout) for the decision. */
  load(g: number, p: Partition | null, migrated: boolean): void {
    this.stored[g] = p;
    if (migrated) {
      this.migrated = true;
      this.foreign[g] = true;
    }
    if (p === null) {
      this.parts[g] = null;
      return;
    }
    const ev = this.ev;
    let now = ev.time;
    if (p.t > now) {
      now = p.t;
      this.nows[g] = now;
      (this.warnings ??= []).push({
        rule: null,
        code: "R306",
        message: `time went backwards for ${this.keys[g]}: ${ev.time} is before ${p.t}; clamped to ${p.t}`,
      });
    }
    // Registers are judged by the key's own time: another key's time never expires them.
    this.parts[g] = p.x > now ? p : null;
  }

  /** Marks group `g` as having no key in this event (its readers fail closed with R305). */
  missing(g: number): void {
    const group = this.layout.groups[g]!;
    this.stored[g] = null;
    this.parts[g] = new Failure(
      "R305",
      group.key.kind === "session"
        ? "the request has no session to key by"
        : group.key.kind === "principal"
          ? "the event has no principal to key by"
          : group.key.kind === "compound"
            ? `a part of ${group.text} is missing or not a string or number, so the history keyed by it cannot be read`
            : `${group.text} is missing or not a string or number, so the history keyed by it cannot be read`,
      undefined,
    );
  }

  /**
   * The live partition of group `g` (null when none), or the Failure of a missing key. Readers call
   * `change(p.x)` themselves, so the expiry counts for every rule that reads the partition.
   */
  partition(g: number): Partition | null | Failure {
    if (this.offline !== null) return this.offline.has(this.rule?.id ?? "") ? null : new Failure("R314", `the history cannot be read: ${this.offlineReason}`, undefined);
    const p = this.parts[g];
    if (p === undefined) return new Failure("R303", "internal: a rule read a key group its action does not plan", undefined);
    this.read[g] = true;
    return p;
  }
}

/** The state key of a session: `session:s-1`. */
export function sessionKey(id: string): string {
  return `session:${id}`;
}

/** The state key of a principal: `principal:agent/bot`. The kind is a name, so it holds no `/`. */
export function principalKey(kind: string, id: string): string {
  return `principal:${kind}/${id}`;
}


/**
 * `10.0.0.1` — the value of an attribute-keyed or compound group for this event (its key is
 * `context.ip:10.0.0.1`), or null when a key attribute is missing or not a string or number. A
 * number and its decimal text are one key. A compound key's value is encoded by `compoundValue`
 * (src/runtime/keys.ts).
 */
export function pathValueOf(g: KeyGroupIR, ev: Event): string | null {
  const k = g.key;
  if (k.kind === "compound") return compoundValue(k.parts.map((p) => partValue(p, ev)));
  if (k.kind !== "path") return null;
  return partValue(k, ev);
}

/** The value of one key part for this event as text (a principal is `kind/id`), or null when it has none. */
function partValue(k: SimpleKeyIR, ev: Event): string | null {
  if (k.kind === "session") return ev.session ?? null;
  if (k.kind === "principal") return ev.principalKind === undefined ? null : `${ev.principalKind}/${ev.principalId}`;
  let v: unknown;
  if (k.root === "action") v = k.segments[0] === "name" ? ev.name : ev.name.split(".")[0];
  else v = readOwn(k.root === "principal" ? ev.principal : k.root === "resource" ? ev.resource : ev.context, k.segments, k.text, undefined);
  if (typeof v !== "string" && typeof v !== "number") return null;
  return typeof v === "string" ? v : String(v);
}
