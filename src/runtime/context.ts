import type { KeyGroupIR, WorkflowIR } from "../compile/ir.js";
import { Failure, readOwn } from "./attributes.js";
import { CorruptState, hashKey, mapShape, pmapGet, type MapShape, type PNode, type SetTally } from "./pmap.js";
import type { Event } from "./request.js";
import type { CompiledRule } from "../compile/generate.js";
import type { DecisionError, PolicyState, Reason } from "./types.js";

/** A key partition as stored: last write time, expiry, one register per operator slot. */
export interface Partition {
  readonly t: number;
  readonly x: number;
  readonly r: readonly unknown[];
}

/**
 * A partition as a decision writes it. A class rather than an object literal: V8 may decide to
 * allocate a literal's objects straight into the old generation once many of them live long, as
 * partitions do, and an old partition would then keep every register copy it points to alive
 * through young-generation collections, long after a newer version replaced it (about 4x the GC
 * work in the sequence benchmark whenever it happened). Serialises to the same JSON as a literal.
 */
export class StoredPartition implements Partition {
  constructor(
    readonly t: number,
    readonly x: number,
    readonly r: readonly unknown[],
  ) {}
}

/** The static part of a compiled policy the evaluation context needs. */
export interface Layout {
  readonly groups: readonly KeyGroupIR[];
  readonly workflows: readonly WorkflowIR[];
  readonly shape: MapShape;
  readonly keyCache: KeyCache;
}

/** A state key string with its hash. */
interface CachedKey {
  readonly key: string;
  readonly hash: number;
  /** For a principal key: the kind it was built for (the cache is by id). */
  readonly kind: string;
}

/** Entries a key cache holds before it starts again (so a flood of new keys cannot grow memory). */
const KEY_CACHE_LIMIT = 4096;
/** Longest id the cache keeps (ids may be up to 1,024 characters; this bounds the cache to about 2 MB). */
const KEY_CACHE_ID_LENGTH = 256;

/**
 * The state keys of recently seen sessions and principals, with their hashes. A busy key is decided
 * on again and again: the cache saves building and hashing its string each time, and a stored
 * partition's key is then the very string the lookup compares with. Holds derived strings only, so
 * it never changes a decision.
 */
export class KeyCache {
  private readonly sessions = new Map<string, CachedKey>();
  private readonly principals = new Map<string, CachedKey>();

  session(id: string): CachedKey {
    let e = this.sessions.get(id);
    if (e === undefined) {
      const key = sessionKey(id);
      e = { key, hash: hashKey(key), kind: "" };
      remember(this.sessions, id, e);
    }
    return e;
  }

  principal(kind: string, id: string): CachedKey {
    let e = this.principals.get(id);
    if (e === undefined || e.kind !== kind) {
      const key = principalKey(kind, id);
      e = { key, hash: hashKey(key), kind };
      remember(this.principals, id, e);
    }
    return e;
  }
}

function remember(map: Map<string, CachedKey>, id: string, e: CachedKey): void {
  if (id.length > KEY_CACHE_ID_LENGTH) return;
  if (map.size >= KEY_CACHE_LIMIT) map.clear();
  map.set(id, e);
}

export const REVOKED_SHAPE: MapShape = mapShape(1 << 20);

/**
 * Per-decision evaluation context: the event, the state being read, the partitions loaded so far
 * (each key is resolved and loaded at most once per decision), and the change times collected for
 * `validUntil` and `nextDeadline`. A policy reuses one context from decision to decision (`reset`),
 * so the per-decision path allocates none of this.
 */
export class EvalContext {
  ev: Event;
  state: PolicyState;
  /** Earliest time the effect may change (only non-flag rules feed it). */
  validUntil = Infinity;
  /** Earliest time anything read may change. */
  nextDeadline = Infinity;
  /** Whether the rule being evaluated can change the effect. */
  effectRelevant = true;
  /** Per group: key string, null when the key attribute is missing, undefined when not resolved yet. */
  readonly keys: (string | null | undefined)[];
  /** Per group: the hash of the key string (valid once the key is resolved). */
  readonly hashes: number[];
  readonly parts: (Partition | null | undefined)[];
  /** Per group: the time operators of that key see (the event time, clamped forward per key). */
  readonly nows: number[];
  /** Per group: the registers this event writes, copied from the stored partition on first write. */
  readonly writes: (unknown[] | undefined)[];
  warnings: DecisionError[] | null = null;
  /** What the state writes of this decision did to the key count. */
  readonly tally: SetTally = { sizeDelta: 0, evicted: 0 };
  /* What the rules decided so far (kept here so the decision loop allocates nothing per rule). */
  best = 0;
  anyAllow = false;
  single: CompiledRule | null = null;
  matched: CompiledRule[] | null = null;
  errors: DecisionError[] | null = null;
  notes: Reason[] | null = null;
  flags: CompiledRule[] | null = null;
  keyFailures: (Failure | undefined)[] | null = null;

  constructor(
    ev: Event,
    state: PolicyState,
    readonly layout: Layout,
  ) {
    this.ev = ev;
    this.state = state;
    const n = layout.groups.length;
    this.keys = new Array(n).fill(undefined);
    this.hashes = new Array(n).fill(0);
    this.parts = new Array(n).fill(undefined);
    this.nows = new Array(n).fill(ev.time);
    this.writes = new Array(n).fill(undefined);
  }

  /** Makes this context the fresh context of another decision. */
  reset(ev: Event, state: PolicyState): void {
    this.ev = ev;
    this.state = state;
    this.validUntil = Infinity;
    this.nextDeadline = Infinity;
    this.effectRelevant = true;
    const n = this.keys.length;
    for (let g = 0; g < n; g++) {
      this.keys[g] = undefined;
      this.parts[g] = undefined;
      this.nows[g] = ev.time;
      this.writes[g] = undefined;
    }
    this.warnings = null;
    this.best = 0;
    this.anyAllow = false;
    this.single = null;
    this.matched = null;
    this.errors = null;
    this.notes = null;
    this.flags = null;
    this.keyFailures = null;
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

  /** The key string of group `g` for this event, or a Failure (R305) when the attribute is missing. */
  key(g: number): string | Failure {
    const k = this.keys[g];
    if (k === undefined) {
      const group = this.layout.groups[g]!;
      const ev = this.ev;
      const cached =
        group.key.kind === "session" && ev.session !== undefined
          ? this.layout.keyCache.session(ev.session)
          : group.key.kind === "principal" && ev.principalKind !== undefined
            ? this.layout.keyCache.principal(ev.principalKind, ev.principalId!)
            : null;
      if (cached !== null) {
        this.keys[g] = cached.key;
        this.hashes[g] = cached.hash;
        return cached.key;
      }
      const resolved = keyOf(group, ev);
      if (resolved instanceof Failure) {
        (this.keyFailures ??= [])[g] = resolved;
        this.keys[g] = null;
      } else {
        this.keys[g] = resolved;
        this.hashes[g] = hashKey(resolved);
      }
      return resolved;
    }
    return k === null ? this.keyFailures![g]! : k;
  }

  /**
   * The live partition of group `g` (null when none), loading it once. Throws CorruptState. Readers
   * call `change(p.x)` themselves, so the expiry counts for every rule that reads the partition.
   */
  partition(g: number): Partition | null | Failure {
    let p = this.parts[g];
    if (p !== undefined) return p;
    const k = this.key(g);
    if (k instanceof Failure) return k;
    p = pmapGet<Partition>(this.state.keys, this.layout.shape, k, this.ev.time, this.hashes[g]) ?? null;
    if (p !== null) {
      if (!Array.isArray(p.r) || p.r.length !== this.layout.groups[g]!.slots) throw new CorruptState("partition registers");
      if (p.t > this.ev.time) {
        this.nows[g] = p.t;
        (this.warnings ??= []).push({
          rule: null,
          code: "R306",
          message: `time went backwards for ${k}: ${this.ev.time} is before ${p.t}; clamped to ${p.t}`,
        });
      }
    }
    this.parts[g] = p;
    return p;
  }
}


/** The state key of a session: `session:s-1`. */
export function sessionKey(id: string): string {
  return `session:${id}`;
}

/** The state key of a principal: `principal:agent/bot`. */
export function principalKey(kind: string, id: string): string {
  return `principal:${kind}/${id}`;
}

/** `session:s-1`, `principal:agent/bot`, `context.ip:10.0.0.1` — or a Failure when the attribute is absent. */
export function keyOf(g: KeyGroupIR, ev: Event): string | Failure {
  const k = g.key;
  if (k.kind === "session") return ev.session !== undefined ? sessionKey(ev.session) : new Failure("R305", "the request has no session to key by", undefined);
  if (k.kind === "principal") {
    return ev.principalKind !== undefined ? principalKey(ev.principalKind, ev.principalId!) : new Failure("R305", "the event has no principal to key by", undefined);
  }
  let v: unknown;
  if (k.root === "action") v = k.segments[0] === "name" ? ev.name : ev.name.split(".")[0];
  else v = readOwn(k.root === "principal" ? ev.principal : k.root === "resource" ? ev.resource : ev.context, k.segments, k.text, undefined);
  if (v instanceof Failure) return new Failure("R305", `${k.text} is missing, so the history keyed by it cannot be read`, undefined);
  if (typeof v !== "string" && typeof v !== "number") return new Failure("R305", `${k.text} must be a string or a number to key a history`, undefined);
  return `${k.text}:${v}`;
}

export type { PNode };
