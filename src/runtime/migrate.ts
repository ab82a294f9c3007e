import type { KeyGroupIR, OpIR } from "../compile/ir.js";
import type { Policy } from "./engine.js";
import { checkRegisters, MAX_CARRIED, registerSpan, type Carried, type LayoutDescriptor } from "./layout.js";
import { NONE } from "./operators.js";
import { CorruptPartition, ForeignPartition, loadPartition, Partition } from "./partition.js";
import { describeError } from "./request.js";
import { stateOf, type StateValue } from "./state.js";
import type { DecisionError, PolicyState } from "./types.js";

/**
 * Carrying history over a policy change: reading a partition another policy version wrote, in the
 * layout of this one (see layout.ts for what a layout is). The registers of every operator both
 * layouts have are kept, those of operators this policy lacks are carried along unchanged for a
 * version that has them, and nothing another version recorded is dropped or read as empty.
 *
 * `Policy.decide` reads only partitions in its own layout (a state from another version is R303
 * there); the Guard migrates each partition as it reads it from its store (steps.ts), and
 * `migrateState` migrates a whole `PolicyState` for the pure API. An application that only decides
 * with one policy version bundles none of this.
 */

/** Where a policy finds the descriptors of layouts other than its own. */
export type LayoutSource = (id: string) => LayoutDescriptor | undefined;

/** A partition written in a layout this policy does not know and whose descriptor it has not seen. */
export class UnknownLayout {
  constructor(
    readonly key: string,
    readonly layout: string,
  ) {}
}

/**
 * Reads a partition of another layout as one of key group `g` of `policy` (`time`: the event's;
 * registers carried over are judged at the key's time, the later of it and the partition's `t`):
 * the partition in this policy's layout, or why it cannot be read. Never throws.
 */
export function migratePartition(policy: Policy, g: number, p: ForeignPartition, layouts: LayoutSource, time: number): Partition | CorruptPartition | UnknownLayout {
  const group = policy.ir.keyGroups[g]!;
  const bad = (what: string) => new CorruptPartition(p.key, `${p.key}: ${what}`);
  try {
    const from = layouts(p.l);
    if (from === undefined) return new UnknownLayout(p.key, p.l);
    if (from.group !== group.text) return bad(`its layout ${p.l} is for ${from.group} keys, not ${group.text}`);
    const why = checkRegisters(from.ops, from.slots, p.r);
    if (why !== null) return bad(`${why} (layout ${p.l})`);
    const ops = group.ops.map((i) => policy.ir.ops[i]!);
    const m = migrateRegisters(from, p.r as unknown[], p.x, p.c, group, ops, policy.ir.labels, Math.max(time, p.t));
    const after = checkRegisters(group.layout.ops, group.slots, m.registers);
    if (after !== null) return bad(`${after} (carried over from layout ${p.l})`);
    // The expiry follows this policy's lifetime for the group, from the key's last-seen time.
    return new Partition(group.layoutId, p.t, Math.max(p.x, p.t + group.ttl), m.registers, p.v, m.carried.length > 0 ? m.carried : undefined);
  } catch (e) {
    return bad(`the partition cannot be read (${describeError(e)})`);
  }
}

/** Where a step over `st` finds layouts: this policy's own, then the state's descriptors. */
export function layoutsOf(policy: Policy, st: StateValue): LayoutSource {
  const table = st.layouts;
  return (id) => policy.layouts[id] ?? table[id];
}

/** The key group of `policy` a partition key belongs to (by its prefix), or -1. */
export function groupOfKey(policy: Policy, key: string): number {
  if (key.startsWith("session:")) return policy.ir.sessionGroup;
  if (key.startsWith("principal:")) return policy.ir.principalGroup;
  const text = key.slice(0, key.indexOf(":"));
  return policy.ir.keyGroups.findIndex((g) => (g.key.kind === "path" || g.key.kind === "compound") && g.text === text);
}

/**
 * Carries a state another version of the policy wrote over to `policy`: every partition of a key
 * group `policy` has is rewritten in its layout (see `migratePartition`), so that `policy.decide`
 * reads it. Call it once after changing policy versions on the pure API (the Guard does it on its
 * own, partition by partition). `migrated` counts the partitions rewritten; a state already in
 * `policy`'s layouts comes back as it is. A value that is not a state, or a partition that cannot be
 * read, is R303 with the state unchanged. Never throws.
 */
export function migrateState(policy: Policy, state: PolicyState): { state: PolicyState; migrated: number; error?: DecisionError } {
  const refused = (message: string) => ({ state, migrated: 0, error: { rule: null, code: "R303", message } });
  try {
    const st = stateOf(state);
    if (typeof st === "string") return refused(st);
    const layouts = layoutsOf(policy, st);
    const keys: string[] = [];
    const groups: string[] = [];
    const values: string[] = [];
    const parts: Partition[] = [];
    for (const [key, raw] of st.entries()) {
      const g = groupOfKey(policy, key);
      if (g < 0) continue;
      const group = policy.ir.keyGroups[g]!;
      const loaded = loadPartition(raw, key, group);
      if (loaded instanceof CorruptPartition) return refused(`state_corrupt: ${loaded.message}`);
      if (!(loaded instanceof ForeignPartition)) continue;
      const m = migratePartition(policy, g, loaded, layouts, -Infinity);
      if (m instanceof UnknownLayout) return refused(`state_corrupt: ${key} was written in layout ${m.layout}, which this policy does not know and the state does not describe`);
      if (m instanceof CorruptPartition) return refused(`state_corrupt: ${m.message}`);
      keys.push(key);
      groups.push(group.text);
      values.push(key.slice(group.text.length + 1));
      parts.push(m);
    }
    if (keys.length === 0) return { state, migrated: 0 };
    const out = st.write(keys, groups, values, parts, [], keys.length, policy.maxKeys, policy.layoutHash, policy.layoutsWith(st.layouts));
    if (out === "full") return { state, migrated: 0, error: { rule: null, code: "R326", message: `state full: every one of the ${policy.maxKeys} partitions it may hold is a revoked key` } };
    return { state: out, migrated: keys.length };
  } catch (e) {
    return refused(`state_corrupt: the state cannot be read (${describeError(e)})`);
  }
}

/**
 * The registers of group `to` (operators `toOps`) taken from registers `r` of layout `from` and from
 * the carried operators `carried`, with the operators `to` lacks carried on. `expires` is when the
 * source registers stop being live (the partition's expiry under `from`); `now` the key's time.
 * Registers are validated against `from` by the caller.
 */
function migrateRegisters(
  from: LayoutDescriptor,
  r: readonly unknown[],
  expires: number,
  carried: readonly Carried[],
  to: KeyGroupIR,
  toOps: readonly OpIR[],
  labels: readonly string[],
  now: number,
): { registers: unknown[]; carried: Carried[] } {
  const out = new Array<unknown>(to.slots).fill(NONE);
  const mine = new Set<string>();
  for (const op of toOps) {
    mine.add(op.id);
    const width = registerSpan(op, toOps, to.slots);
    const src = from.ops.find((o) => o.id === op.id);
    if (src !== undefined && expires > now) {
      copyOp(op.op, r.slice(src.slot, src.slot + src.width), src.labels, out, op.slot, width, labels);
      continue;
    }
    const kept = carried.find((c) => c[0] === op.id && c[1] > now);
    if (kept !== undefined) copyOp(op.op, kept[2], undefined, out, op.slot, width, labels);
  }
  const next: Carried[] = [];
  if (expires > now) for (const o of from.ops) if (!mine.has(o.id)) next.push([o.id, expires, r.slice(o.slot, o.slot + o.width)]);
  for (const c of carried) if (!mine.has(c[0]) && c[1] > now && !next.some((n) => n[0] === c[0])) next.push(c);
  return { registers: out, carried: next.length > MAX_CARRIED ? next.slice(next.length - MAX_CARRIED) : next };
}

/** Copies one operator's registers `src` into `out` at `slot`, adapting to a different width. */
function copyOp(kind: OpIR["op"], src: readonly unknown[], srcLabels: readonly string[] | undefined, out: unknown[], slot: number, width: number, labels: readonly string[]): void {
  switch (kind) {
    case "count":
    case "regularity":
    case "limit": {
      // Time lists (oldest first, then NONE) keep their newest times; a windowless limit is one count.
      const filled: unknown[] = [];
      for (const t of src) {
        if (t === NONE) break;
        filled.push(t);
      }
      const kept = filled.slice(Math.max(0, filled.length - width));
      for (let i = 0; i < kept.length; i++) out[slot + i] = kept[i];
      return;
    }
    case "distinct":
    case "distinctLimit": {
      const v = src[0];
      if (!Array.isArray(v)) return;
      out[slot] = v;
      return;
    }
    case "labels": {
      if (srcLabels === undefined) return;
      for (let i = 0; i < labels.length && i < width; i++) {
        const j = srcLabels.indexOf(labels[i]!);
        if (j >= 0 && j < src.length) out[slot + i] = src[j];
      }
      return;
    }
    default:
      if (src.length !== width) return; // same id, other width: cannot be the same operator
      for (let i = 0; i < width; i++) out[slot + i] = src[i];
  }
}

