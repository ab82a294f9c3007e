import type { PartitionData, Step, Store } from "./store.js";
import { StoreError } from "./store.js";

export interface MemoryStoreOptions {
  /**
   * Most partitions held (default 100,000). Past it the least recently used partition with a finite
   * `keepMs` is dropped. Partitions to keep for ever (`keepMs` Infinity: revocations, layout
   * descriptors) are never dropped: a transaction that would need room only they could give is
   * refused with R326, and the Guard denies.
   */
  readonly maxKeys?: number;
  /** The clock that `keepMs` is measured on (default `Date.now`). */
  readonly now?: () => number;
}

/** A partition as the memory store holds it: a node of its list in least-recently-used order. */
class Slot {
  prev: Slot | null = null;
  next: Slot | null = null;
  /** Whether it is in the map (and on a list). */
  live = true;
  constructor(
    readonly key: string,
    public value: PartitionData,
    /** Local time after which the store may drop the partition (Infinity: never). */
    public keepUntil: number,
    /** Whether it is held for ever (in the kept list), else in the droppable one. */
    public kept: boolean,
  ) {}
}

/** Slots in least-recently-used order: the head is used least recently. */
class SlotList {
  head: Slot | null = null;
  tail: Slot | null = null;
  size = 0;

  /** Adds `s` at the most recently used end. */
  push(s: Slot): void {
    s.prev = this.tail;
    s.next = null;
    if (this.tail !== null) this.tail.next = s;
    else this.head = s;
    this.tail = s;
    this.size++;
  }

  remove(s: Slot): void {
    if (s.prev !== null) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    else this.tail = s.prev;
    s.prev = s.next = null;
    this.size--;
  }

  /** Moves `s` (in this list) to the most recently used end. */
  touch(s: Slot): void {
    if (this.tail === s) return;
    this.remove(s);
    this.push(s);
  }

  clear(): void {
    this.head = this.tail = null;
    this.size = 0;
  }
}

/** The memory store, with its counters. */
export interface MemoryStore extends Store {
  /** Partitions held. */
  readonly size: number;
  /** Partitions dropped because the store was full (expired ones are not counted). */
  readonly evictions: number;
}

/**
 * The embedded store: partitions by key in one `Map`, each on one of two lists in least-recently-
 * used order: the partitions it may drop (those with a finite `keepMs`, dropped when they expire
 * or, least recently used first, when the store is full) and the partitions it must keep (`keepMs`
 * Infinity: revocations, layout descriptors). A transaction looks each key up once; using a
 * partition moves it on its list without touching the map. Transactions run synchronously, so two
 * decisions of one process never interleave and every transaction sees the writes of the one
 * before it: the Guard needs no locks over it.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError("memoryStore: maxKeys must be a positive integer");
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  const droppable = new SlotList();
  const kept = new SlotList();
  let evictions = 0;
  let closed = false;

  const listOf = (s: Slot): SlotList => (s.kept ? kept : droppable);

  /** Drops a slot from the map and its list. */
  const drop = (s: Slot): void => {
    slots.delete(s.key);
    listOf(s).remove(s);
    s.live = false;
  };

  /** The live slot of `key` at local time `t` (an expired droppable one is dropped). */
  const slotOf = (key: string, t: number): Slot | undefined => {
    const s = slots.get(key);
    if (s !== undefined && s.keepUntil <= t) {
      drop(s);
      return undefined;
    }
    return s;
  };

  const store: MemoryStore = {
    kind: "memory",
    get size() {
      return slots.size;
    },
    get evictions() {
      return evictions;
    },
    transact<T>(keys: readonly string[], step: Step<T>): T {
      if (closed) throw new StoreError("R314", "the memory store is closed");
      const t = now();
      const n = keys.length;
      const current = new Array<PartitionData | null>(n);
      const found = new Array<Slot | undefined>(n);
      for (let i = 0; i < n; i++) {
        const s = slotOf(keys[i]!, t);
        found[i] = s;
        current[i] = s === undefined ? null : s.value;
      }
      const { writes, keepMs, result } = step(current);
      // Room first, so that a transaction is applied whole or not at all.
      let added = 0;
      let addedDroppable = false;
      let touchedDroppable = 0;
      for (let i = 0; i < n; i++) {
        const w = writes[i];
        const s = found[i];
        if (s !== undefined && !s.kept) touchedDroppable++;
        if (w === undefined) continue;
        if (w === null) {
          if (s !== undefined) added--;
        } else if (s === undefined) {
          added++;
          if ((keepMs?.[i] ?? Infinity) !== Infinity) addedDroppable = true;
        }
      }
      const over = slots.size + added - maxKeys;
      if (over > 0 && over > droppable.size - touchedDroppable && addedDroppable) {
        throw new StoreError("R326", `the memory store is full: all ${maxKeys} partitions it may hold must be kept (revoked keys)`);
      }
      for (let i = 0; i < n; i++) {
        const w = writes[i];
        const f = found[i];
        // (A key named twice in one transaction may have been dropped by its first write.)
        const s = f !== undefined && f.live ? f : undefined;
        if (w === undefined) {
          // Used: to the most recently used end.
          if (s !== undefined) listOf(s).touch(s);
          continue;
        }
        if (w === null) {
          if (s !== undefined) drop(s);
          continue;
        }
        const keep = keepMs?.[i] ?? Infinity;
        const forever = keep === Infinity;
        const until = forever ? Infinity : t + Math.max(0, keep);
        // The slot object is reused: written again, it moves to the most recently used end of its list.
        if (s !== undefined) {
          listOf(s).remove(s);
          s.value = w;
          s.keepUntil = until;
          s.kept = forever;
          listOf(s).push(s);
        } else {
          const twice = slots.get(keys[i]!);
          if (twice !== undefined) drop(twice);
          const slot = new Slot(keys[i]!, w, until, forever);
          slots.set(slot.key, slot);
          listOf(slot).push(slot);
        }
      }
      while (slots.size > maxKeys && droppable.head !== null) {
        drop(droppable.head);
        evictions++;
      }
      return result;
    },
    async close() {
      closed = true;
      slots.clear();
      droppable.clear();
      kept.clear();
    },
  };
  return store;
}
