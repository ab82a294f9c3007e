import type { Policy } from "./engine.js";
import { groupOfKey, layoutsOf, migratePartition } from "./migrate.js";
import { ForeignPartition, loadPartition, Partition } from "./partition.js";
import { describeError } from "./request.js";
import { stateOf } from "./state.js";
import type { Inspection, PolicyState } from "./types.js";

/**
 * Inspecting a state: its revoked keys and its partitions, for operators and tests (never on the
 * decision path). Free functions, so an application that only decides bundles none of this.
 */

/**
 * The revoked keys of a state, with who revoked them and why, sorted by key. Never throws: for a
 * value that is not a state the list is empty and carries the error (R303).
 */
export function revocations(policy: Policy, state: PolicyState): Inspection<{ key: string; rule: string | null; reason: string; time: number }> {
  return inspect(policy, state, (key, p) => (p.v === undefined ? null : { key, rule: p.v.rule, reason: p.v.reason, time: p.v.t }));
}

/**
 * The key partitions of a state (for inspection and tests; not for the decision path), with live
 * registers at `now` (registers judged by each key's own time are shown when `now` is before their
 * expiry). Never throws: for a value that is not a state the list is empty and carries the error.
 */
export function partitions(policy: Policy, state: PolicyState, now = -Infinity): Inspection<{ key: string; lastSeen: number; expires: number; registers: readonly unknown[]; revoked: boolean }> {
  return inspect(policy, state, (key, p) => (p.x > now || p.v !== undefined ? { key, lastSeen: p.t, expires: p.x, registers: p.r, revoked: p.v !== undefined } : null));
}

/** Inspection rows for each partition of a state. */
function inspect<T>(policy: Policy, state: PolicyState, row: (key: string, p: Partition) => T | null): Inspection<T> {
  const out: T[] = [];
  try {
    const st = stateOf(state);
    if (typeof st === "string") return Object.assign(out, { error: { rule: null, code: "R303", message: st } });
    for (const [key, raw] of st.entries()) {
      const g = groupOfKey(policy, key);
      if (g < 0) continue;
      const loaded = loadPartition(raw, key, policy.layout.groups[g]!);
      const p = loaded instanceof ForeignPartition ? migratePartition(policy, g, loaded, layoutsOf(policy, st), -Infinity) : loaded;
      if (!(p instanceof Partition)) continue;
      const r = row(key, p);
      if (r !== null) out.push(r);
    }
    out.sort((a, b) => ((a as { key: string }).key < (b as { key: string }).key ? -1 : 1));
    return out;
  } catch (e) {
    return Object.assign([] as T[], { error: { rule: null, code: "R303", message: `state_corrupt: the state cannot be read (${describeError(e)})` } });
  }
}
