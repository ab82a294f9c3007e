import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { layoutKey } from "../../src/runtime/layout.js";
import { memoryStore } from "../../src/stores/memory.js";
import { asyncMemoryStore, peek } from "./stores.js";

const agent = { kind: "agent", id: "bot" };
const ROUNDS = 20;

describe("the Guard keeps one partition per key in its store", () => {
  it("writes the request's own partitions under their keys, and the layouts that describe them", async () => {
    const policy = compilePolicyOrThrow("rule base: allow *\nrule no-exfil: deny email.send when after(secret.read by session within 10m)\nrule burst: deny * when count(* by principal within 1m) >= 100");
    const store = memoryStore();
    const guard = createGuard({ policy, store, now: () => 1_000 });
    await guard.decide({ principal: agent, action: "secret.read", session: "s1" });
    const [session, principal, other] = await peek(store, ["session:s1", "principal:agent/bot", "session:s2"]);
    expect(session).toMatchObject({ l: expect.any(String), t: 1_000, x: 1_000 + 600_000 });
    expect(principal).toMatchObject({ t: 1_000, x: 61_000 });
    expect(other).toBeNull();
    const ids = Object.keys(policy.layouts);
    const described = await peek(store, ids.map(layoutKey));
    expect(described).toEqual(ids.map((id) => policy.layouts[id]));
    // Partitions round-trip through JSON as stores hold them.
    expect(JSON.parse(JSON.stringify(session))).toEqual({ ...(session as object) });
  });

  it("judges each partition by its own key's time: another key's far-future event expires nothing", async () => {
    const policy = compilePolicyOrThrow("rule base: allow *\nrule no-exfil: deny email.send when after(secret.read by session within 10m)");
    let t = 1_000;
    const store = memoryStore();
    const guard = createGuard({ policy, store, now: () => t });
    await guard.decide({ principal: agent, action: "secret.read", session: "victim" });
    await guard.decide({ principal: agent, action: "secret.read", session: "other", time: 1_000 + 25 * 3_600_000 });
    t = 2_000;
    expect((await guard.decide({ principal: agent, action: "email.send", session: "victim" })).effect).toBe("deny");
  });
});

describe("exactness under concurrency", () => {
  const limitOne = compilePolicyOrThrow("rule one: allow secret.read limit 1 per session");
  const hundred = compilePolicyOrThrow("rule base: allow *\nrule many: deny doc.read when count(doc.read by principal within 1m) >= 100");

  for (const [name, make] of [
    ["memory store", () => memoryStore()],
    ["an asynchronous store", () => asyncMemoryStore()],
  ] as const) {
    it(`${name}: 1,000 concurrent decisions under limit 1 per session allow exactly one, ${ROUNDS} times`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const guard = createGuard({ policy: limitOne, store: make(), now: () => 1_000 + round, timeoutMs: 30_000 });
        const ds = await Promise.all(Array.from({ length: 1000 }, () => guard.decide({ principal: agent, action: "secret.read", session: "s1" })));
        expect(ds.filter((d) => d.effect === "allow")).toHaveLength(1);
        expect(ds.filter((d) => d.reasons.some((r) => r.code === "R310"))).toHaveLength(999);
      }
    }, 120_000);

    it(`${name}: count(... by principal within 1m) >= 100 lets exactly 100 of 1,000 through, ${ROUNDS} times`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const guard = createGuard({ policy: hundred, store: make(), now: () => 5_000, timeoutMs: 30_000 });
        const ds = await Promise.all(Array.from({ length: 1000 }, (_, i) => guard.decide({ principal: agent, action: "doc.read", session: `s${i % 17}` })));
        expect(ds.filter((d) => d.effect === "allow")).toHaveLength(100);
        expect(ds.filter((d) => d.effect === "deny" && d.rules.includes("many"))).toHaveLength(900);
      }
    }, 120_000);
  }
});

describe("the Guard fails closed on partitions it cannot read", () => {
  const policy = compilePolicyOrThrow("rule base: allow *\nrule no-exfil: deny email.send when after(secret.read by session within 10m)");
  const req = { principal: agent, action: "email.send", session: "s1" };

  for (const [what, value] of [
    ["a raw string a store could not decode", '{"l":"x",'],
    ["an object of another shape", { hello: "world" }],
    ["registers that are not numbers", null],
    ["a layout no policy describes", { l: "0123456789abcdef", t: 1, x: 2, r: [] }],
  ] as const) {
    it(`${what} is a deny with R303, never an exception or an empty history`, async () => {
      const store = memoryStore();
      const guard = createGuard({ policy, store, now: () => 1_000 });
      await guard.decide({ principal: agent, action: "secret.read", session: "s1" });
      const [p] = await peek(store, ["session:s1"]);
      const bad = value ?? { ...(p as object), r: ["soon"] };
      await store.transact(["session:s1"], () => ({ writes: [bad], result: null }), Date.now() + 1000);
      const d = await guard.decide(req);
      expect(d.effect).toBe("deny");
      expect(d.reasons[0]!.code).toBe("R303");
      expect(d.rules).toEqual([]);
    });
  }
});

describe("policy reload carries history over", () => {
  it("keeps the registers of unchanged operators, starts changed ones empty, and says when it used them", async () => {
    const a = compilePolicyOrThrow("rule base: allow *\nrule no-exfil: deny email.send when after(secret.read by session within 10m)\nrule burst: flag * when count(* by session within 1m) >= 1");
    const b = compilePolicyOrThrow("rule base: allow *\nrule no-exfil-2: deny email.send when after(secret.read by session within 10m)\nrule burst: flag * when count(* by session within 2m) >= 1");
    let t = 1_000;
    const store = memoryStore();
    const events: boolean[] = [];
    const guard = createGuard({ policy: a, store, now: () => t, onDecision: (e) => e.kind === "decision" && events.push(e.migrated === true) });
    await guard.decide({ principal: agent, action: "secret.read", session: "s1" });
    await guard.setPolicy(b);
    t = 2_000;
    const d = await guard.decide({ principal: agent, action: "email.send", session: "s1" });
    // The `after` operator is the same (kind, key, events, window): its history holds.
    expect(d.effect).toBe("deny");
    expect(d.rules).toEqual(["no-exfil-2"]);
    expect(d.migrated).toBe(true);
    // The count's window changed: it starts empty, so the flag does not see the earlier read.
    expect(d.flags).toEqual([]);
    // Written back in b's layout: the next decisions read it as b's own, and the new count counts.
    const next = await guard.decide({ principal: agent, action: "doc.read", session: "s1" });
    expect(next.migrated).toBe(false);
    expect(next.flags).toEqual([]);
    expect((await guard.decide({ principal: agent, action: "doc.read", session: "s1" })).flags).toEqual(["burst"]);
    expect(events).toEqual([false, true, false, false]);
  });

  it("a partition written by another version on a shared store is migrated through the descriptor it stored", async () => {
    const a = compilePolicyOrThrow("rule one: allow secret.read limit 1 per session\nrule a-only: flag * when after(secret.read by session)");
    const b = compilePolicyOrThrow("rule one: allow secret.read limit 1 per session");
    const store = asyncMemoryStore();
    const ga = createGuard({ policy: a, store, now: () => 1_000 });
    const gb = createGuard({ policy: b, store, now: () => 2_000 });
    expect((await ga.decide({ principal: agent, action: "secret.read", session: "s1" })).effect).toBe("allow");
    const fromB = await gb.decide({ principal: agent, action: "secret.read", session: "s1" });
    expect(fromB.effect).toBe("deny");
    expect(fromB.reasons[0]!.code).toBe("R310");
    expect(fromB.migrated).toBe(true);
    // b wrote the partition in its layout, carrying the register of a's operator along: a still sees it.
    const fromA = await ga.decide({ principal: agent, action: "secret.read", session: "s1" });
    expect(fromA.effect).toBe("deny");
    expect(fromA.flags).toEqual(["a-only"]);
  });
});

describe("store failures", () => {
  const policy = compilePolicyOrThrow("rule base: allow *\nrule burst: deny * when count(* by principal within 1m) >= 100\nrule gate: deny admin.* unless after(signal approval.granted by session within 1h)");
  const req = { principal: agent, action: "doc.read", session: "s1" };

  it("an asynchronous store that fails denies every decision in flight and after, with its code and message", async () => {
    const store = asyncMemoryStore();
    const guard = createGuard({ policy, store, now: () => 1_000 });
    expect((await guard.decide(req)).effect).toBe("allow");
    store.control.fail = "connection reset";
    const ds = await Promise.all(Array.from({ length: 50 }, () => guard.decide(req)));
    for (const d of ds) expect(d.reasons).toEqual([{ rule: null, effect: "deny", code: "R314", message: "connection reset" }]);
    store.control.fail = null;
    expect((await guard.decide(req)).effect).toBe("allow");
  });

  it("a store that stops answering denies with R315 within timeoutMs, queued decisions included", async () => {
    const store = asyncMemoryStore();
    const guard = createGuard({ policy, store, now: () => 1_000, timeoutMs: 50 });
    await guard.decide(req);
    store.control.hang = true;
    const started = Date.now();
    const ds = await Promise.all(Array.from({ length: 20 }, () => guard.decide(req)));
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const d of ds) expect(d.reasons[0]!.code).toBe("R315");
  });

  it("whenStoreDown decides without the named rules' history, fails the others closed, and warns R319", async () => {
    const store = asyncMemoryStore();
    const guard = createGuard({ policy, store, now: () => 1_000, whenStoreDown: { skipHistory: ["burst"], skipRevocations: true } });
    store.control.fail = "connection refused";
    const ok = await guard.decide(req);
    expect(ok.effect).toBe("allow");
    expect(ok.warnings.map((w) => w.code)).toEqual(["R319"]);
    // `gate` reads history it was not told to skip: it fails closed.
    const gated = await guard.decide({ ...req, action: "admin.users" });
    expect(gated.effect).toBe("deny");
    expect(gated.errors.map((e) => `${e.rule} ${e.code}`)).toEqual(["gate R314"]);
    // Without skipRevocations the store being down is a deny whatever the rules say.
    const strict = createGuard({ policy, store, now: () => 1_000, whenStoreDown: { skipHistory: ["burst"], skipRevocations: false } });
    expect((await strict.decide(req)).reasons[0]!.code).toBe("R314");
  });
});
