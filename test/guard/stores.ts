import { memoryStore, type MemoryStoreOptions } from "../../src/stores/memory.js";
import { StoreError, type PartitionData, type Step, type Store } from "../../src/stores/store.js";

/**
 * A memory store that answers asynchronously, after a random number (up to `maxHops`) of turns of
 * the event loop, in no particular order: the Store contract over a real memory store, as a store
 * on the network keeps it (the step runs and commits atomically when the transaction is served).
 * `fail` makes the next transactions fail with a StoreError; `hang` makes them never answer.
 */
export function asyncMemoryStore(options: MemoryStoreOptions & { readonly maxHops?: number } = {}) {
  const inner = memoryStore(options);
  const maxHops = options.maxHops ?? 3;
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const control = { fail: null as string | null, hang: false, transactions: 0 };
  const store: Store & { readonly inner: typeof inner; readonly control: typeof control } = {
    kind: "memory-async",
    inner,
    control,
    transact<T>(keys: readonly string[], step: Step<T>, deadline: number): Promise<T> {
      control.transactions++;
      if (control.hang) return new Promise<T>(() => {});
      const failing = control.fail;
      return new Promise<T>((resolve, reject) => {
        let hops = Math.floor(rand() * (maxHops + 1));
        const serve = () => {
          if (hops-- > 0) return void setImmediate(serve);
          if (failing !== null) return reject(new StoreError("R314", failing));
          try {
            resolve(inner.transact(keys, step, deadline) as T);
          } catch (e) {
            reject(e);
          }
        };
        serve();
      });
    },
    close: () => inner.close(),
  };
  return store;
}

/** What a store holds under `keys` (one read-only transaction). */
export async function peek(store: Store, keys: readonly string[]): Promise<readonly (PartitionData | null)[]> {
  return store.transact(keys, (current) => ({ writes: [], result: current }), Date.now() + 1000);
}
