import type { PartitionData, Step, Store } from "./store.js";
import { StoreError } from "./store.js";

export interface MemoryStoreOptions {
  /** Most partitions held (default 100,000); past it the least recently used one is dropped. */
  readonly maxKeys?: number;
  /** The clock that `keepMs` is measured on (default `Date.now`). */
  readonly now?: () => number;
}

interface Slot {
  value: PartitionData;
  /** Local time after which the store may drop the partition (Infinity: never). */
  keepUntil: number;
}

/**
 * The embedded store: partitions in a `Map`, in least-recently-used order. Transactions run
 * synchronously, so two decisions of one process never interleave and every transaction sees the
 * writes of the one before it.
 */
export function memoryStore(options: MemoryStoreOptions = {}): Store & { readonly size: number; readonly evictions: number } {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError("memoryStore: maxKeys must be a positive integer");
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  let evictions = 0;
  let closed = false;

  const read = (key: string, t: number): PartitionData | null => {
    const s = slots.get(key);
    if (s === undefined) return null;
    if (s.keepUntil <= t) {
      slots.delete(key);
      return null;
    }
    // Touched: moves to the most recently used end.
    slots.delete(key);
    slots.set(key, s);
    return s.value;
  };

  return {
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
      const current = keys.map((k) => read(k, t));
      const { writes, keepMs, result } = step(current);
      for (let i = 0; i < keys.length; i++) {
        const w = writes[i];
        if (w === undefined) continue;
        const key = keys[i]!;
        slots.delete(key); // re-inserted last: the most recently used
        if (w === null) continue;
        const keep = keepMs?.[i] ?? Infinity;
        slots.set(key, { value: w, keepUntil: keep === Infinity ? Infinity : t + keep });
        if (slots.size > maxKeys) {
          const oldest = slots.keys().next().value as string;
          slots.delete(oldest);
          evictions++;
        }
      }
      return result;
    },
    async close() {
      closed = true;
      slots.clear();
    },
  };
}
