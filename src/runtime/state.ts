import { hash32 } from "../compile/hash.js";
import { isRecord } from "./attributes.js";
import { parseDescriptor, type LayoutDescriptor } from "./layout.js";
import type { PolicyState } from "./types.js";

/**
 * The state behind the pure API: a map from partition keys to partitions in exact least-recently-
 * written order, as immutable versions.
 *
 * Every `PolicyState` is one version of the map and never changes. Versions share one mutable
 * structure per *epoch* (a `Map` and two linked lists in write order); the newest version of a
 * chain is the epoch's root and holds the structure as it is, every other version holds the changes
 * that turn its successor's content into its own (Baker's rerooting). Deciding on the newest state,
 * as a process that threads its state does, changes the structure in place and records the undo:
 * no path copying. Deciding on an older state first rolls the structure back to it, at a cost that
 * grows with the distance. After `max(8192, 4 × keys)` changes an epoch starts over with a copy of
 * the structure, so an old state a caller keeps holds at most one epoch's structure and changes —
 * as much memory as a state of the same keys, never the whole history since it.
 *
 * Eviction happens only when a write would take the state past its key cap: the least recently
 * written partition without a revocation goes first (operation order, never key strings or hashes,
 * so no chosen key can steer it). Partitions holding a revocation are never evicted (a lost
 * revocation would be an allow the caller did not intend): when only they are left, a write of a
 * new unrevoked partition is refused and the decision that needed it is denied (R326).
 *
 * `JSON.stringify(state)` writes `{v, layout, size, evictions, revoked, layouts, partitions}`, the
 * partitions as `[key, partition]` pairs in write order (unrevoked first); `JSON.parse` of it is a
 * state that decides exactly as the original.
 */

/** One partition key in an epoch's structure. */
export class Entry {
  /** The stored value: a `Partition` the core wrote, or a value from a state that went through JSON. */
  part: unknown = null;
  pinned = false;
  prev: Entry | null = null;
  next: Entry | null = null;
  /** Whether the entry is in the map and its list. */
  present = false;
  /** The write that last touched it (so one write never evicts a partition it stores). */
  stamp = 0;
  /** `hash32(key)`, for decision digests. */
  readonly hash: number;
  constructor(
    /** The partition key: `session:s-1`. */
    readonly key: string,
    /** Its group's text and its value: `session` and `s-1` (the key is `group:value`). */
    readonly group: string,
    readonly value: string,
  ) {
    this.hash = hash32(key);
  }
}

/** The group text and value of a partition key (`context.ip:10.0.0.1` → `context.ip`, `10.0.0.1`). */
function split(key: string): [string, string] {
  const colon = key.indexOf(":");
  return colon < 0 ? ["", key] : [key.slice(0, colon), key.slice(colon + 1)];
}

/** "Entry `entry` is `present` with `part`, after `prev` in its list": a change and its undo alike. */
class Change {
  constructor(
    readonly entry: Entry,
    readonly present: boolean,
    readonly part: unknown,
    readonly pinned: boolean,
    readonly prev: Entry | null,
  ) {}
}

/** A version: the epoch's root (`undo` null), or the changes from its successor `next`. */
class Version {
  undo: readonly Change[] | null = null;
  next: Version | null = null;
  constructor(readonly epoch: Epoch) {}
}

/** The mutable structure one chain of versions shares. */
class Epoch {
  /** Per key group (by its text): the entries by their value. */
  readonly groups = new Map<string, Map<string, Entry>>();
  size = 0;
  /** Least recently written first: partitions without a revocation, and with one. */
  head: Entry | null = null;
  tail: Entry | null = null;
  pinnedHead: Entry | null = null;
  pinnedTail: Entry | null = null;
  pinnedCount = 0;
  /** Forward changes applied since the epoch started. */
  changes = 0;
  root: Version;
  constructor() {
    this.root = new Version(this);
  }

  detach(e: Entry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else if (e.pinned) this.pinnedHead = e.next;
    else this.head = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    else if (e.pinned) this.pinnedTail = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
    e.present = false;
    if (e.pinned) this.pinnedCount--;
  }

  attachAfter(e: Entry, prev: Entry | null): void {
    const next = prev !== null ? prev.next : e.pinned ? this.pinnedHead : this.head;
    e.prev = prev;
    e.next = next;
    if (prev !== null) prev.next = e;
    else if (e.pinned) this.pinnedHead = e;
    else this.head = e;
    if (next !== null) next.prev = e;
    else if (e.pinned) this.pinnedTail = e;
    else this.tail = e;
    e.present = true;
    if (e.pinned) this.pinnedCount++;
  }

  /** Applies `c` and returns the change that undoes it. The map changes only when the entry comes or goes. */
  apply(c: Change): Change {
    return this.set(c.entry, c.present, c.part, c.pinned, c.prev);
  }

  /** `apply` of the change its arguments spell, without building it. */
  set(e: Entry, present: boolean, part: unknown, pinned: boolean, prev: Entry | null): Change {
    const was = e.present;
    const undo = new Change(e, was, e.part, e.pinned, e.prev);
    if (was) this.detach(e);
    e.part = part;
    e.pinned = pinned;
    if (present) {
      this.attachAfter(e, prev);
      if (!was) this.add(e);
    } else if (was) this.remove(e);
    return undo;
  }

  /** The entries of group `text` (made on first use). */
  group(text: string): Map<string, Entry> {
    let m = this.groups.get(text);
    if (m === undefined) this.groups.set(text, (m = new Map()));
    return m;
  }

  /** The entry of `key`, if present. */
  find(key: string): Entry | undefined {
    const [group, value] = split(key);
    return this.groups.get(group)?.get(value);
  }

  private add(e: Entry): void {
    this.group(e.group).set(e.value, e);
    this.size++;
  }

  private remove(e: Entry): void {
    this.groups.get(e.group)?.delete(e.value);
    this.size--;
  }

  /** A copy of the structure, for a new epoch. */
  copy(): Epoch {
    const out = new Epoch();
    for (const list of [this.head, this.pinnedHead]) {
      let prev: Entry | null = null;
      for (let e = list; e !== null; e = e.next) {
        const n = new Entry(e.key, e.group, e.value);
        n.part = e.part;
        n.pinned = e.pinned;
        out.attachAfter(n, prev);
        out.group(n.group).set(n.value, n);
        out.size++;
        prev = n;
      }
    }
    return out;
  }
}

/** Makes `v` its epoch's root: rolls the structure back (or forward) to v's content. */
function reroot(v: Version): void {
  if (v.undo === null) return;
  const path: Version[] = [];
  for (let u: Version = v; u.undo !== null; u = u.next!) path.push(u);
  const epoch = v.epoch;
  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i]!;
    const root = node.next!;
    const changes = node.undo!;
    const inverse = new Array<Change>(changes.length);
    for (let j = 0; j < changes.length; j++) inverse[changes.length - 1 - j] = epoch.apply(changes[j]!);
    root.undo = inverse;
    root.next = node;
    node.undo = null;
    node.next = null;
    epoch.root = node;
  }
}

/** Whether a stored value holds a revocation (such partitions are never evicted). */
export function isPinned(part: unknown): boolean {
  if (part === null || typeof part !== "object") return false;
  const v = (part as { v?: unknown }).v;
  return v !== undefined && v !== null;
}

const EMPTY_LAYOUTS: Readonly<Record<string, LayoutDescriptor>> = Object.freeze({});

/**
 * Never written: a write's undo list is a copy of it, not an array literal. An undo list points
 * to the young objects of later writes (its changes and the partitions they replaced), and V8
 * allocates a literal's arrays straight into the old generation once many of them outlived a
 * young collection (a warm-up, a test keeping its states): an undo list in the old generation then
 * keeps every change and replaced partition it points to alive through young collections until the
 * next full one. In the sequence benchmark that kept a third of all it allocated alive (4 of 12 MB
 * per young collection promoted), a full collection every 180 MB, and halved the decision rate.
 * Arrays copied by `slice` are always allocated young (see values.ts).
 */
const NO_CHANGES: Change[] = [];
// Once held an object, so its copies take changes without an elements-kind transition.
NO_CHANGES.push(null as unknown as Change);
NO_CHANGES.pop();

/** A state as the pure API writes it. */
export class StateValue implements PolicyState {
  readonly v: 2 = 2;
  /** null: the empty state, which belongs to no epoch. Private, so tools that walk objects see only the counters. */
  readonly #version: Version | null;

  constructor(
    readonly layout: string,
    readonly size: number,
    readonly evictions: number,
    readonly revoked: number,
    readonly layouts: Readonly<Record<string, LayoutDescriptor>>,
    version: Version | null,
  ) {
    this.#version = version;
  }

  /** The stored value of `key`, or null. */
  get(key: string): unknown {
    const v = this.#version;
    if (v === null) return null;
    if (v.undo !== null) reroot(v);
    const e = v.epoch.find(key);
    return e === undefined ? null : e.part;
  }

  /**
   * The entry of the partition of group `group` for `value` (the key `group:value`), or undefined:
   * one map lookup by the request's own value (a session id), no key string built.
   */
  lookup(group: string, value: string): Entry | undefined {
    const v = this.#version;
    if (v === null) return undefined;
    if (v.undo !== null) reroot(v);
    return v.epoch.groups.get(group)?.get(value);
  }

  /** Whether the state holds any revocation (so a decision must read the keys that hold them). */
  get hasRevocations(): boolean {
    return this.revoked > 0;
  }

  /** Every stored partition, least recently written first (unrevoked, then revoked). */
  entries(): [string, unknown][] {
    const v = this.#version;
    if (v === null) return [];
    reroot(v);
    const out: [string, unknown][] = [];
    for (const list of [v.epoch.head, v.epoch.pinnedHead]) for (let e = list; e !== null; e = e.next) out.push([e.key, e.part]);
    return out;
  }

  toJSON(): object {
    return { v: 2, layout: this.layout, size: this.size, evictions: this.evictions, revoked: this.revoked, layouts: this.layouts, partitions: this.entries() };
  }

  /**
   * A new state: this one with `keys[i]` set to `parts[i]` for `i < count` (`null` deletes it,
   * `undefined` leaves it), evicting the least recently written unrevoked partitions beyond
   * `maxKeys`. "full" when a new unrevoked partition cannot be stored because only revoked ones are
   * left to evict (then nothing is changed). `found[i]`, when given, is the entry `lookup` returned
   * for `keys[i]` on this very state (the write then needs no look-up of its own).
   */
  write(keys: readonly (string | null | undefined)[], groups: readonly (string | undefined)[], values: readonly (string | undefined)[], parts: readonly unknown[], found: readonly (Entry | undefined)[], count: number, maxKeys: number, layout: string, layouts: Readonly<Record<string, LayoutDescriptor>>): StateValue | "full" {
    let version = this.#version;
    let epoch: Epoch;
    // Entries `lookup` found on this state are this epoch's (rerooted to it), unless it starts over.
    let hinted = false;
    if (version === null) {
      epoch = new Epoch();
      version = epoch.root;
    } else {
      reroot(version);
      epoch = version.epoch;
      hinted = true;
      if (epoch.changes >= Math.max(8192, 4 * epoch.size)) {
        // A new epoch: the old one stays with the states that use it.
        epoch = epoch.copy();
        version = epoch.root;
        hinted = false;
      }
    }
    const stamp = ++stamps;
    // Copied from an empty list, never a literal: see NO_CHANGES.
    const undo = NO_CHANGES.slice();
    for (let i = 0; i < count; i++) {
      const part = parts[i];
      const key = keys[i];
      if (part === undefined || key === null || key === undefined) continue;
      const group = groups[i] ?? split(key)[0];
      const value = values[i] ?? split(key)[1];
      const hint = hinted ? found[i] : undefined;
      let e = hint !== undefined && hint.present && hint.key === key ? hint : epoch.groups.get(group)?.get(value);
      if (part === null) {
        if (e !== undefined) undo.push(epoch.set(e, false, null, false, null));
        continue;
      }
      if (e === undefined) e = new Entry(key, group, value);
      e.stamp = stamp;
      const pinned = isPinned(part);
      let prev = pinned ? epoch.pinnedTail : epoch.tail;
      if (prev === e) prev = e.prev;
      undo.push(epoch.set(e, true, part, pinned, prev));
    }
    let evicted = 0;
    // Written entries moved to the tail: a head written by this call means none is left to evict.
    while (epoch.size > maxKeys && epoch.head !== null && epoch.head.stamp !== stamp) {
      undo.push(epoch.set(epoch.head, false, null, false, null));
      evicted++;
    }
    if (epoch.size > maxKeys && addsUnrevoked(undo)) {
      for (let i = undo.length - 1; i >= 0; i--) epoch.apply(undo[i]!);
      return "full";
    }
    if (undo.length === 0) return this;
    epoch.changes += undo.length;
    const next = new Version(epoch);
    // Undone last change first.
    undo.reverse();
    version.undo = undo;
    version.next = next;
    epoch.root = next;
    return new StateValue(layout, epoch.size, this.evictions + evicted, epoch.pinnedCount, layouts, next);
  }

  /** A state rebuilt from its JSON form (see `stateOf`). */
  static fromEntries(layout: string, evictions: number, layouts: Readonly<Record<string, LayoutDescriptor>>, entries: readonly (readonly [string, unknown])[]): StateValue | string {
    if (entries.length === 0) return new StateValue(layout, 0, evictions, 0, layouts, null);
    const epoch = new Epoch();
    const last: [Entry | null, Entry | null] = [null, null];
    for (const [key, part] of entries) {
      if (epoch.find(key) !== undefined) return `state_corrupt: ${key.slice(0, 40)} appears twice`;
      const [group, value] = split(key);
      const e = new Entry(key, group, value);
      e.part = part;
      e.pinned = isPinned(part);
      const list = e.pinned ? 1 : 0;
      epoch.attachAfter(e, last[list]);
      epoch.group(group).set(value, e);
      epoch.size++;
      last[list] = e;
    }
    return new StateValue(layout, epoch.size, evictions, epoch.pinnedCount, layouts, epoch.root);
  }
}

/** The empty state of a policy with layout hash `layout`. */
export function emptyState(layout: string): StateValue {
  return new StateValue(layout, 0, 0, 0, EMPTY_LAYOUTS, null);
}

let stamps = 0;

/** Whether the changes (as their undos) added a partition without a revocation that was absent before. */
function addsUnrevoked(undo: readonly Change[]): boolean {
  for (const u of undo) if (!u.present && u.entry.present && !u.entry.pinned) return true;
  return false;
}

const states = new WeakMap<object, StateValue>();

/**
 * The state a value passed to the pure API stands for: a `StateValue` as it is, or a state that went
 * through JSON, checked and rebuilt (once per object). A string says why it is not a state.
 */
export function stateOf(s: unknown): StateValue | string {
  if (s === null || typeof s !== "object") return "state_corrupt: the state is not an object";
  try {
    // `instanceof` asks a Proxy for its prototype, which may throw: inside the try.
    if (s instanceof StateValue) return s;
    const known = states.get(s);
    if (known !== undefined) return known;
    const built = fromJSON(s as Record<string, unknown>);
    if (typeof built !== "string") states.set(s, built);
    return built;
  } catch (e) {
    return `state_corrupt: the state cannot be read (${e instanceof Error ? e.message : "unreadable"})`;
  }
}

function fromJSON(o: Record<string, unknown>): StateValue | string {
  if (!Array.isArray(o) && o.v !== 2) return o.v === 1 ? "state_corrupt: a state of leash's first format (v 1); start from policy.initialState()" : "state_corrupt: unknown state version";
  const { layout, evictions, layouts, partitions } = o;
  if (typeof layout !== "string") return "state_corrupt: no layout";
  if (typeof evictions !== "number" || !Number.isSafeInteger(evictions) || evictions < 0) return "state_corrupt: counters are not numbers";
  if (!Array.isArray(partitions)) return "state_corrupt: partitions is not a list";
  if (!isRecord(layouts)) return "state_corrupt: layouts is not an object";
  const table: Record<string, LayoutDescriptor> = {};
  for (const id of Object.keys(layouts)) {
    const d = parseDescriptor((layouts as Record<string, unknown>)[id], id);
    if (typeof d === "string") return `state_corrupt: layout ${id.slice(0, 20)}: ${d}`;
    table[id] = d;
  }
  const entries: [string, unknown][] = [];
  for (const item of partitions) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== "string") return "state_corrupt: a partition entry is not [key, partition]";
    entries.push([item[0], item[1]]);
  }
  return StateValue.fromEntries(layout, evictions, Object.freeze(table), entries);
}
