import { describe, expect, it } from "vitest";
import { agent, policyOf } from "./helpers.js";
import { migrateState } from "../../src/runtime/migrate.js";
import { partitions } from "../../src/runtime/inspect.js";
import { revoke } from "../../src/runtime/operations.js";
import type { PolicyState } from "../../src/runtime/types.js";

// Version a and version b share the `after` operator (same kind, key, events and window); b's count
// has another window, so its registers start empty; a's flag rule is gone from b, so its operator's
// registers are carried along for a version that has it.
const a = policyOf(`
  rule base: allow *
  rule no-exfil: deny email.send when after(secret.read by session within 10m)
  rule burst: flag * when count(* by session within 1m) >= 1
  rule a-only: flag doc.read when after(doc.open by session)
`);
const b = policyOf(`
  rule base: allow *
  rule no-exfil-2: deny email.send when after(secret.read by session within 10m)
  rule burst: flag * when count(* by session within 2m) >= 1
`);
const req = (action: string, time: number) => ({ principal: agent("bot"), action, session: "s1", time });

function stateOfA(): PolicyState {
  let s = a.initialState();
  s = a.decide(s, req("doc.open", 500)).state;
  s = a.decide(s, req("secret.read", 1_000)).state;
  return s;
}

describe("migrateState carries a state over to another version of the policy", () => {
  it("decide refuses a partition another version wrote (R303 naming migrateState) and changes nothing", () => {
    const s = stateOfA();
    const r = b.decide(s, req("email.send", 2_000));
    expect(r.decision.effect).toBe("deny");
    expect(r.decision.reasons[0]).toMatchObject({ rule: null, code: "R303" });
    expect(r.decision.reasons[0]!.message).toContain("migrateState(policy, state)");
    expect(r.state).toBe(s);
  });

  it("keeps the registers of unchanged operators, starts changed ones empty, and carries the others back", () => {
    const m = migrateState(b, stateOfA());
    expect(m.error).toBeUndefined();
    expect(m.migrated).toBe(1); // session:s1, the one partition these rules keep
    const d = b.decide(m.state, req("email.send", 2_000));
    expect(d.decision.effect).toBe("deny");
    expect(d.decision.rules).toEqual(["no-exfil-2"]);
    // The count's window changed: it starts empty, so the flag does not see a's requests; it counts b's.
    expect(d.decision.flags).toEqual([]);
    const first = b.decide(d.state, req("doc.read", 2_500));
    expect(first.decision.flags).toEqual([]);
    expect(b.decide(first.state, req("doc.read", 2_600)).decision.flags).toEqual(["burst"]);
    // Back to a: a's `after(doc.open)` register was carried through b's layout.
    const back = migrateState(a, m.state);
    expect(back.error).toBeUndefined();
    expect(a.decide(back.state, req("doc.read", 3_000)).decision.flags).toContain("a-only");
  });

  it("a state already in the policy's layouts comes back as it is; it survives JSON", () => {
    const s = stateOfA();
    expect(migrateState(a, s)).toEqual({ state: s, migrated: 0 });
    const m = migrateState(b, JSON.parse(JSON.stringify(s)) as PolicyState);
    expect(m.migrated).toBe(1);
    expect(b.decide(m.state, req("email.send", 2_000)).decision.rules).toEqual(["no-exfil-2"]);
    expect(partitions(b, m.state).map((p) => p.key)).toEqual(["session:s1"]);
  });

  it("keeps revocations", () => {
    const s = revoke(a, stateOfA(), { session: "s1" }, "operator", 1_500).state;
    const m = migrateState(b, s);
    const d = b.decide(m.state, req("doc.read", 2_000)).decision;
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]).toMatchObject({ code: "R307" });
  });

  it("refuses what is not a state, a partition in a layout nothing describes, or a corrupt partition (R303, state unchanged)", () => {
    expect(migrateState(b, { junk: true } as unknown as PolicyState).error).toMatchObject({ code: "R303" });
    const json = JSON.parse(JSON.stringify(stateOfA())) as { layouts: Record<string, unknown>; partitions: [string, Record<string, unknown>][] };
    const undescribed = { ...json, layouts: {} } as unknown as PolicyState;
    const r = migrateState(b, undescribed);
    expect(r.error).toMatchObject({ code: "R303" });
    expect(r.error!.message).toContain("does not describe");
    expect(r.state).toBe(undescribed);
    const corrupt = { ...json, partitions: json.partitions.map(([k, p]) => [k, { ...p, r: ["x"] }]) } as unknown as PolicyState;
    expect(migrateState(b, corrupt).error).toMatchObject({ code: "R303" });
  });
});
