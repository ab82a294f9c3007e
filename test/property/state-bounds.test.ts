import { describe, expect, it } from "vitest";
import type { PolicyState, Request, Signal } from "../../src/runtime/types.js";
import { compileOrThrow, TIMEOUT } from "./harness.js";
import { observe } from "../../src/runtime/operations.js";

/**
 * State per key is O(size of the rules), never O(length of history) (docs/semantics.md, "State"):
 * after 1,000,000 events on one key the state is as large as after 1,000, and 200,000 distinct keys
 * (1,000,000 with LEASH_DEEP) under `maxKeys` 10,000 stay at most 10,000 with evictions counted.
 * Both loops use the real engine.
 */

const EVENTS = 1_000_000;
/** Distinct keys for the key cap: 200,000 by default (the loop takes ~30 s per 1,000,000 here), 1,000,000 with LEASH_DEEP. */
const KEYS = process.env.LEASH_DEEP ? 1_000_000 : 200_000;
const T0 = 1_700_000_000_000;

const ONE_KEY_POLICY = `
rule use: allow a.x, a.y, b.x, b.z
rule burst: deny a.x when count(a.y by session within 10s) >= 50
rule spread: flag a.y when distinct(context.tier by session within 10s) > 20
rule pattern: flag b.x when sequence(a.x, a.y, b.x by session within 5s until signal s.ok)
rule robotic: flag a.x when regularity(attempted a.x by session over 8) < 0.1
rule fast: challenge a.y when rate(a.y by session, 10 per 1s)
rule since-fail: flag b.z when since(signal s.fail by session) < 2s and gap(attempted b.z by session) < 300ms
rule after-ok: flag a.x when after(signal s.ok by session within 3s until denied a.x)
rule quota: allow b.z limit 5 per session within 1s
rule grant: allow a.y valid for 10s
rule taint: flag b.x label session += seen for 5s
rule tainted: flag a.x when session has seen
workflow flow by session: a.x -> a.y* -> b.x on deviation flag
`;

const ACTIONS = ["a.x", "a.y", "b.x", "b.z", "a.y", "a.x", "b.x"];

/** Event `i` of a long life of session `s1`: varying actions, attribute values, gaps and signals. */
function event(i: number): { decide: Request } | { observe: Signal } {
  const time = T0 + i * 7 + (i % 13) * 3; // non-decreasing; 13 digits throughout
  if (i % 11 === 0) return { observe: { signal: i % 22 === 0 ? "s.ok" : "s.fail", session: "s1", time } };
  return {
    decide: {
      principal: { kind: "agent", id: "bot-1" },
      action: ACTIONS[i % ACTIONS.length]!,
      session: "s1",
      context: { tier: `tier-${i % 997}`, ip: "10.0.0.1" },
      time,
    },
  };
}

/** The JSON text of a state with every number written as 0, so digit counts do not matter. */
function shape(state: PolicyState): string {
  return JSON.stringify(state).replace(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g, "0");
}

describe("bounded state", () => {
  it(`keeps one key's state the same size after 1,000 and ${EVENTS.toLocaleString("en")} events`, () => {
    const { policy } = compileOrThrow(ONE_KEY_POLICY);
    let state = policy.initialState();
    let at1000 = "";
    let sizeAt1000 = 0;
    // Ring buffers fill and drain with the traffic, so the size moves within a bound that the first
    // 1,000 events already reach; it must never grow beyond it.
    let largestEarly = 0;
    let largestLate = 0;
    for (let i = 0; i < EVENTS; i++) {
      const e = event(i);
      state = "decide" in e ? policy.decide(state, e.decide).state : observe(policy, state, e.observe).state;
      if (i < 1000) largestEarly = Math.max(largestEarly, shape(state).length);
      if (i + 1 === 1000) [at1000, sizeAt1000] = [shape(state), state.size];
      if (i >= 1000 && i % 997 === 0) largestLate = Math.max(largestLate, shape(state).length);
    }
    expect(state.size).toBe(sizeAt1000);
    expect(shape(state).length).toBe(at1000.length);
    expect(largestLate).toBeLessThanOrEqual(largestEarly);
  }, TIMEOUT);

  it(`holds at most maxKeys keys for ${KEYS.toLocaleString("en")} distinct addresses and counts evictions`, () => {
    const { policy } = compileOrThrow("rule r: allow a.x when count(a.x by context.ip within 1m) < 5\n", { maxKeys: 10_000 });
    let state = policy.initialState();
    let evictionsAtHalf = 0;
    let largest = 0;
    for (let i = 0; i < KEYS; i++) {
      const request = { principal: { kind: "agent", id: "bot-1" }, action: "a.x", context: { ip: `ip-${i}` }, time: T0 + Math.floor(i / 100) };
      state = policy.decide(state, request).state;
      largest = Math.max(largest, state.size);
      if (i + 1 === KEYS / 2) evictionsAtHalf = state.evictions;
    }
    expect(largest).toBeLessThanOrEqual(10_000);
    expect(state.size).toBeLessThanOrEqual(10_000);
    expect(evictionsAtHalf).toBeGreaterThan(0);
    expect(state.evictions).toBeGreaterThan(evictionsAtHalf);
    expect(state.evictions + state.size).toBe(KEYS);
  }, TIMEOUT);
});
