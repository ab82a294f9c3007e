import type { KeyGroupIR } from "../compile/ir.js";
import { isRecord } from "./attributes.js";
import { checkCarried, checkRegisters, type Carried } from "./layout.js";

/**
 * Partitions: the unit of state. One partition per key (`session:s-1`, `principal:agent/bot`,
 * `context.ip:203.0.113.9`) holds the registers of that key's group, the key's last-seen time and
 * expiry, and the key's revocation if it is revoked. Stores see partitions as opaque JSON values:
 *
 * ```json
 * {"l":"3f2a91c0d4e5b6a7","t":1764547200000,"x":1764633600000,"r":[1764547200000,-1e+21],"v":{"t":1764547200000,"rule":null,"reason":"operator"}}
 * ```
 *
 * `l` the layout id, `t` the key's last-seen time (its clock: a later request with an earlier time
 * is clamped to it), `x` when the registers expire (judged against the key's own time only), `r`
 * the registers, `v` the revocation, `c` registers of operators another policy version has and
 * this one lacks (see layout.ts). `v` and `c` are absent when empty.
 */

/** A revocation as a partition holds it. */
export class Revocation {
  constructor(
    /** When it was revoked (the key's time). */
    readonly t: number,
    /** The revoking rule; `null` for `revoke` / `guard.revoke`. */
    readonly rule: string | null,
    readonly reason: string,
  ) {}
}

/**
 * A partition as the core writes it. A class, not an object literal, for the reason given in
 * values.ts; it serialises to the JSON above.
 */
export class Partition {
  constructor(
    readonly l: string,
    readonly t: number,
    readonly x: number,
    readonly r: readonly unknown[],
    readonly v: Revocation | undefined,
    readonly c: readonly Carried[] | undefined,
  ) {}
}

/** Longest revocation reason kept (longer ones are cut). */
export const MAX_REASON = 4096;
/** Largest time a partition may hold: the request time limit plus the longest lifetime. */
const TIME_LIMIT = 8.64e15 * 2;

/** Why a stored value is not a partition this policy can read: R303 for the decision. */
export class CorruptPartition {
  constructor(
    readonly key: string,
    readonly message: string,
  ) {}
}

/**
 * A partition in another layout than its group's in this policy (another policy version wrote it),
 * its fields checked; its registers are read through their layout's descriptor (migrate.ts).
 */
export class ForeignPartition {
  constructor(
    readonly key: string,
    readonly l: string,
    readonly t: number,
    readonly x: number,
    readonly r: unknown,
    readonly v: Revocation | undefined,
    readonly c: readonly Carried[],
  ) {}
}

/**
 * Reads the stored value of `key` (group `g`) as a partition of this policy: `null` when there is
 * none, a `Partition` in the group's layout, a `ForeignPartition` in another layout, or why it
 * cannot be read. A `Partition` in this group's layout is the core's own write and is taken as it
 * is; any other value is checked field by field (JSON from a store, a state that went through JSON,
 * a raw string a store could not decode). Never throws.
 */
export function loadPartition(raw: unknown, key: string, g: KeyGroupIR): Partition | ForeignPartition | CorruptPartition | null {
  if (raw === null || raw === undefined) return null;
  if (raw instanceof Partition && raw.l === g.layoutId) return raw;
  try {
    return loadStored(raw, key, g);
  } catch (e) {
    return new CorruptPartition(key, `the partition cannot be read (${e instanceof Error ? e.message : "unreadable"})`);
  }
}

const FIELDS = new Set(["l", "t", "x", "r", "v", "c"]);

function loadStored(raw: unknown, key: string, g: KeyGroupIR): Partition | ForeignPartition | CorruptPartition {
  const bad = (what: string) => new CorruptPartition(key, `${key}: ${what}`);
  if (typeof raw === "string") return bad("the store holds a value it could not decode");
  if (!isRecord(raw)) return bad("a partition is an object");
  for (const k of Object.keys(raw)) if (!FIELDS.has(k)) return bad(`unexpected field ${JSON.stringify(k.slice(0, 20))}`);
  const o = raw as Record<string, unknown>;
  const { l, t, x, r } = o;
  const v = o.v === null ? undefined : o.v;
  const c = o.c === null ? undefined : o.c;
  if (typeof l !== "string" || l.length > 64) return bad("no layout id");
  if (!isTime(t) || !isTime(x)) return bad("its times are not finite numbers");
  let revocation: Revocation | undefined;
  if (v !== undefined) {
    if (!isRecord(v)) return bad("its revocation is not an object");
    const { t: rt, rule, reason } = v as Record<string, unknown>;
    if (!isTime(rt) || !(rule === null || (typeof rule === "string" && rule.length <= 1024)) || typeof reason !== "string" || reason.length > MAX_REASON) return bad("its revocation is not {t, rule, reason}");
    revocation = new Revocation(rt, rule, reason);
  }
  if (c !== undefined) {
    const why = checkCarried(c);
    if (why !== null) return bad(why);
  }
  const carried = (c ?? []) as readonly Carried[];
  if (l !== g.layoutId) return new ForeignPartition(key, l, t, x, r, revocation, carried);
  const why = checkRegisters(g.layout.ops, g.slots, r);
  if (why !== null) return bad(why);
  return new Partition(l, t, x, (r as unknown[]).slice(), revocation, carried.length > 0 ? carried : undefined);
}

function isTime(v: unknown): v is number {
  return typeof v === "number" && v <= TIME_LIMIT && v >= -TIME_LIMIT;
}
