import { contentHash } from "../compile/hash.js";
import type { OpIR } from "../compile/ir.js";
import { isRecord } from "./attributes.js";
import { NONE } from "./operators.js";

/**
 * Partition layouts: what the registers of a key's partition mean, so that a policy version can read
 * a partition another version wrote.
 *
 * A partition carries the id of its layout (a content hash of the descriptor). A policy knows the
 * layouts of its own key groups; the layouts of other versions it learns from their descriptors,
 * which travel with the state (`PolicyState.layouts`) or live in the store under
 * `leash:layout:<id>`. Reading a partition of another layout keeps the registers of every operator
 * the two layouts share (same operator id: same kind, key, events and window), and carries the
 * registers of operators this policy does not have along unchanged, so that a version which has them
 * finds them again. Nothing another version recorded is dropped or read as empty.
 */

/** One operator of a layout. */
export interface LayoutOp {
  /** The operator's id (`OpIR.id`): a content hash of its signature. */
  readonly id: string;
  readonly kind: OpIR["op"];
  readonly slot: number;
  readonly width: number;
  /** For `labels`: the label names, one slot each, in slot order. */
  readonly labels?: readonly string[];
}

/** The layout of one key group's partitions, as JSON. */
export interface LayoutDescriptor {
  readonly v: 1;
  /** The key group: `session`, `principal`, `context.ip`, ... */
  readonly group: string;
  readonly slots: number;
  readonly ops: readonly LayoutOp[];
}

/** The prefix of the store keys that hold layout descriptors: `leash:layout:<id>`. */
export const LAYOUT_KEY_PREFIX = "leash:layout:";

/** The store key of the descriptor of layout `id`. */
export function layoutKey(id: string): string {
  return LAYOUT_KEY_PREFIX + id;
}

/** The descriptor of a key group, built when the policy is compiled. */
export function describeGroup(text: string, slots: number, ops: readonly OpIR[], labels: readonly string[]): LayoutDescriptor {
  return {
    v: 1,
    group: text,
    slots,
    ops: ops.map((op) => {
      const width = registerSpan(op, ops, slots);
      return op.op === "labels" ? { id: op.id, kind: op.op, slot: op.slot, width, labels: [...labels] } : { id: op.id, kind: op.op, slot: op.slot, width };
    }),
  };
}

/** A descriptor's id: the content hash of its JSON. */
export function layoutIdOf(d: LayoutDescriptor): string {
  return contentHash(JSON.stringify(d));
}

const KINDS: ReadonlySet<string> = new Set(["after", "since", "gap", "count", "distinct", "rate", "regularity", "sequence", "workflow", "limit", "distinctLimit", "grant", "labels"]);
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * A descriptor read from a store or a state, checked: its shape, and that it hashes to `id` (so a
 * descriptor can never claim another layout's id). A string says what is wrong. Never throws.
 */
export function parseDescriptor(raw: unknown, id: string): LayoutDescriptor | string {
  try {
    if (!isRecord(raw)) return "a layout descriptor is an object";
    const { v, group, slots, ops } = raw as Record<string, unknown>;
    if (v !== 1 || typeof group !== "string" || group.length > 1024 || !isCount(slots) || !Array.isArray(ops) || ops.length > 4096) return "a layout descriptor has v, group, slots and ops";
    const out: LayoutOp[] = [];
    let end = 0;
    for (const o of ops) {
      if (!isRecord(o)) return "a layout operator is an object";
      const { id: opId, kind, slot, width, labels } = o as Record<string, unknown>;
      if (typeof opId !== "string" || opId.length > 64 || typeof kind !== "string" || !KINDS.has(kind) || !isCount(slot) || !isCount(width) || slot < end || slot + width > slots) return "a layout operator has id, kind, slot and width within the partition";
      end = slot + width;
      if (kind === "labels") {
        if (!Array.isArray(labels) || labels.length !== width || !labels.every((l) => typeof l === "string")) return "a labels operator names one label per slot";
        out.push({ id: opId, kind, slot, width, labels: [...(labels as string[])] });
      } else {
        if (hasOwn.call(o, "labels")) return "only a labels operator has labels";
        out.push({ id: opId, kind: kind as OpIR["op"], slot, width });
      }
    }
    const d: LayoutDescriptor = { v: 1, group, slots, ops: out };
    if (layoutIdOf(d) !== id) return `the descriptor does not hash to its id ${id}`;
    return d;
  } catch (e) {
    return `the layout descriptor cannot be read (${e instanceof Error ? e.message : "unreadable"})`;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= 1 << 20;
}

/** Largest magnitude of any number a register holds (times, counts, bit sets): JSON-safe integers and beyond. */
const REGISTER_LIMIT = 1e22;

/**
 * Checks the registers `r` against layout `ops` (widths add up, numbers are finite, `distinct` slots
 * hold their pairs): `null` when they are well formed, else what is wrong.
 */
export function checkRegisters(ops: readonly LayoutOp[], slots: number, r: unknown): string | null {
  if (!Array.isArray(r) || r.length !== slots) return `registers: expected ${slots} slots`;
  for (const op of ops) {
    if (op.kind === "distinct" || op.kind === "distinctLimit") {
      const v = r[op.slot];
      if (v === NONE) continue;
      if (!Array.isArray(v) || v.length % 2 !== 0 || v.length > 2 * 65_536) return "register: distinct is a list of value/time pairs";
      for (let i = 0; i < v.length; i += 2) {
        const x = v[i];
        if (!((typeof x === "string" && x.length <= 65_536) || (typeof x === "number" && Number.isFinite(x))) || !isRegisterNumber(v[i + 1])) return "register: distinct is a list of value/time pairs";
      }
      continue;
    }
    for (let i = op.slot; i < op.slot + op.width; i++) if (!isRegisterNumber(r[i])) return "register: expected a finite number";
  }
  return null;
}

function isRegisterNumber(v: unknown): boolean {
  return typeof v === "number" && v <= REGISTER_LIMIT && v >= -REGISTER_LIMIT;
}

/** Registers of an operator another layout had, kept in a partition for a version that has the operator. */
export type Carried = readonly [id: string, expires: number, registers: readonly unknown[]];

/** Most carried operators one partition keeps (the newest are kept). */
export const MAX_CARRIED = 64;

/** The slots op takes in a group whose operators are `ops` (its register width). */
export function registerSpan(op: OpIR, ops: readonly OpIR[], slots: number): number {
  let next = slots;
  for (const o of ops) if (o.slot > op.slot && o.slot < next) next = o.slot;
  return next - op.slot;
}

/** Checks carried operators read from a store: `[id, expires, registers]` triples of numbers and pairs. */
export function checkCarried(c: unknown): string | null {
  if (!Array.isArray(c) || c.length > MAX_CARRIED) return "carried registers: a list";
  for (const e of c) {
    if (!Array.isArray(e) || e.length !== 3 || typeof e[0] !== "string" || e[0].length > 64 || !isRegisterNumber(e[1]) || !Array.isArray(e[2]) || e[2].length > 65_536) return "carried registers: [id, expires, registers]";
    for (const v of e[2] as unknown[]) {
      if (isRegisterNumber(v)) continue;
      if (!Array.isArray(v) || v.length > 2 * 65_536 || !v.every((x) => typeof x === "string" || (typeof x === "number" && Number.isFinite(x)))) return "carried registers: numbers or value/time pairs";
    }
  }
  return null;
}
