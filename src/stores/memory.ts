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

/** A partition as the memory store holds it. */
class Slot {
  constructor(
    public value: PartitionData,
    /** Local time after which the store may drop the partition (Infinity: never). */
    public keepUntil: number,
    /** Whether it is held for ever (in `kept`), else in `droppable`. */
    public kept: boolean,
  ) {}
}

/** The memory store, with its counters. */
export interface MemoryStore extends Store {
  /** Partitions held. */
  readonly size: number;
  /** Partitions dropped because the store was full (expired ones are not counted). */
  readonly evictions: number;
}

/**
 * The embedded store: partitions in two `Map`s in least-recently-used order, one for partitions it
 * may drop (those with a finite `keepMs`, dropped when they expire or, least recently used first,
 * when the store is full) and one for partitions it must keep (`keepMs` Infinity: revocations,
 * layout descriptors). Transactions run synchronously, so two decisions of one process never
 * interleave and every transaction sees the writes of the one before it: the Guard needs no locks
 * over it.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError("memoryStore: maxKeys must be a positive integer");
  const now = options.now ?? Date.now;
  const droppable = new Map<string, Slot>();
  const kept = new Map<string, Slot>();
  let evictions = 0;
  let closed = false;

  /** The live slot of `key` at local time `t` (an expired droppable one is dropped). */
  const slotOf = (key: string, t: number): Slot | undefined => {
    const s = droppable.get(key) ?? kept.get(key);
    if (s !== undefined && s.keepUntil <= t) {
      droppable.delete(key);
      return undefined;
    }
    return s;
  };

  const store: MemoryStore = {
    kind: "memory",
    get size() {
      return droppable.size + kept.size;
    },
    get evictions() {
      return evictions;
    },
    transact<T>(keys: readonly string[], step: Step<T>): T {
      if (closed) throw new StoreError("R314", "the memory store is closed");
      const t = now();
      const n = keys.length;
      const current = new Array<PartitionData | null>(n);
      const slots = new Array<Slot | undefined>(n);
      for (let i = 0; i < n; i++) {
        const s = slotOf(keys[i]!, t);
        slots[i] = s;
        current[i] = s === undefined ? null : s.value;
      }
      const { writes, keepMs, result } = step(current);
      // Room first, so that a transaction is applied whole or not at all.
      let added = 0;
      let addedDroppable = false;
      let touchedDroppable = 0;
      for (let i = 0; i < n; i++) {
        const w = writes[i];
        const s = slots[i];
        if (s !== undefined && !s.kept) touchedDroppable++;
        if (w === undefined) continue;
        if (w === null) {
          if (s !== undefined) added--;
        } else if (s === undefined) {
          added++;
          if ((keepMs?.[i] ?? Infinity) !== Infinity) addedDroppable = true;
        }
      }
      const over = droppable.size + kept.size + added - maxKeys;
      if (over > 0 && over > droppable.size - touchedDroppable && addedDroppable) {
        throw new StoreError("R326", `the memory store is full: all ${maxKeys} partitions it may hold must be kept (revoked keys)`);
      }
      for (let i = 0; i < n; i++) {
        const key = keys[i]!;
        const w = writes[i];
        const s = slots[i];
        if (w === undefined) {
          // Used: to the most recently used end.
          if (s !== undefined) {
            const map = s.kept ? kept : droppable;
            map.delete(key);
            map.set(key, s);
          }
          continue;
        }
        if (s !== undefined) (s.kept ? kept : droppable).delete(key);
        if (w === null) continue;
        const keep = keepMs?.[i] ?? Infinity;
        const forever = keep === Infinity;
        const until = forever ? Infinity : t + Math.max(0, keep);
        // The slot object is reused: written again, it moves to the most recently used end.
        let slot: Slot;
        if (s !== undefined) {
          slot = s;
          slot.value = w;
          slot.keepUntil = until;
          slot.kept = forever;
        } else slot = new Slot(w, until, forever);
        (forever ? kept : droppable).set(key, slot);
      }
      while (droppable.size + kept.size > maxKeys && droppable.size > 0) {
        const oldest = droppable.keys().next().value as string;
        droppable.delete(oldest);
        evictions++;
      }
      return result;
    },
    async close() {
      closed = true;
      droppable.clear();
      kept.clear();
    },
  };
  return store;
}
