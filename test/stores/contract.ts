/**
 * The Store contract as tests any store must pass: what a step sees, what its writes do, what a
 * transaction returns. `test/stores/*.test.ts` run it against each store.
 */
import { expect, it } from "vitest";
import type { PartitionData, Store } from "../../src/stores/store.js";

const later = () => Date.now() + 5_000;

export function storeContract(make: () => Store | Promise<Store>, tag: () => string): void {
  it("hands absent partitions to the step as null and returns the step's result", async () => {
    const store = await make();
    const k = tag();
    const seen: (PartitionData | null)[][] = [];
    const r = await store.transact([`${k}a`, `${k}b`], (cur) => (seen.push([...cur]), { writes: [], result: 42 }), later());
    expect(r).toBe(42);
    expect(seen.at(-1)).toEqual([null, null]);
  });

  it("replaces, keeps and deletes per key, in key order", async () => {
    const store = await make();
    const k = tag();
    const keys = [`${k}a`, `${k}b`, `${k}c`];
    await store.transact(keys, () => ({ writes: [{ n: 1 }, [1, "two"], "three"], result: null }), later());
    expect(await store.transact(keys, (cur) => ({ writes: [undefined, null], result: cur }), later())).toEqual([{ n: 1 }, [1, "two"], "three"]);
    expect(await store.transact(keys, (cur) => ({ writes: [], result: cur }), later())).toEqual([{ n: 1 }, null, "three"]);
  });

  it("drops a partition after its keepMs, not before", async () => {
    const store = await make();
    const k = `${tag()}ttl`;
    await store.transact([k, `${k}2`], () => ({ writes: [1, 2], keepMs: [40, Infinity], result: null }), later());
    expect(await store.transact([k, `${k}2`], (c) => ({ writes: [], result: c }), later())).toEqual([1, 2]);
    await new Promise((r) => setTimeout(r, 80));
    expect(await store.transact([k, `${k}2`], (c) => ({ writes: [], result: c }), later())).toEqual([null, 2]);
  });

  it("sees every committed write in the transactions after it (one holder, concurrent calls)", async () => {
    const store = await make();
    const k = `${tag()}n`;
    const inc = (cur: readonly (PartitionData | null)[]) => ({ writes: [((cur[0] as number | null) ?? 0) + 1], result: null });
    await Promise.all(Array.from({ length: 200 }, () => store.transact([k], inc, later())));
    expect(await store.transact([k], (c) => ({ writes: [], result: c[0] }), later())).toBe(200);
  });

  it("rejects with a StoreError after close", async () => {
    const store = await make();
    await store.close();
    await expect(Promise.resolve().then(() => store.transact(["x"], () => ({ writes: [], result: 1 }), later()))).rejects.toMatchObject({ name: "StoreError", code: "R314" });
  });
}
