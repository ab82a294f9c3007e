import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../src/compile/compile.js";
import type { Policy } from "../src/runtime/engine.js";
import type { Decision, DecisionError, KeySpec, PolicyState } from "../src/runtime/types.js";
import { observe, recheck, reinstate, revoke } from "../src/runtime/operations.js";
import { partitions, revocations } from "../src/runtime/inspect.js";

/**
 * The decision corpus (test/corpus/decisions/, described in test/corpus/README.md): each case is a
 * policy and a list of library calls on it — decide, observe, recheck, revoke, reinstate,
 * revocations, partitions — each with what must come out. Values JSON cannot hold (NaN, a Proxy,
 * a getter that throws, a context 100,000 levels deep) are written as `$`-tagged objects. No call
 * may throw, and Object.prototype is unchanged after the case.
 */
interface Expect {
  readonly effect?: string;
  /** The first reason's code (the one that decided), or the error's code for revoke, reinstate and inspections. */
  readonly code?: string | null;
  readonly rules?: readonly string[];
  readonly flags?: readonly string[];
  /** Text the first reason's (or the error's) message must contain. */
  readonly message?: string;
  readonly stands?: boolean;
  readonly reinstated?: boolean;
  /** revoke: the key it reports; revocations and partitions: the keys listed, in order. */
  readonly key?: string;
  readonly keys?: readonly string[];
  /** The state after the call is the one it was given (a refused call changes nothing); for `jsonRoundTrip`, the state came back equal. */
  readonly unchanged?: boolean;
}

type Step = { readonly expect?: Expect; readonly state?: unknown; readonly repeat?: number } & (
  | { readonly decide: unknown }
  | { readonly observe: unknown }
  | { readonly recheck: { readonly decision: unknown; readonly request: unknown } }
  | { readonly revoke: unknown; readonly reason?: unknown; readonly time?: unknown }
  | { readonly reinstate: unknown; readonly time?: unknown }
  | { readonly revocations: true }
  | { readonly partitions: true }
  | { readonly jsonRoundTrip: true }
);

interface Case {
  readonly about: string;
  /** compilePolicy options, e.g. `{"maxKeys": 50}` or `{"limits": {"maxDepth": 4}}`. */
  readonly options?: Record<string, unknown>;
  readonly steps: readonly Step[];
}

const root = join(__dirname, "corpus", "decisions");
const cases = readdirSync(root).filter((d) => existsSync(join(root, d, "case.json"))).sort();

/** A Proxy whose every trap throws. */
function throwingProxy(): object {
  const trap = () => {
    throw new Error("trap");
  };
  return new Proxy({}, { get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap, set: trap, defineProperty: trap });
}

interface Ctx {
  readonly policy: Policy;
  /** The repetition index of the step (see `repeat`). */
  i: number;
  /** The decisions of the case's decide steps so far, in order. */
  readonly decisions: Decision[];
}

/**
 * Turns `$`-tagged objects into the values they stand for; `{i}` in strings becomes the repetition
 * index (see `repeat`); `{"$decision": N}` is the case's Nth decision (from 0), and
 * `{"$decision": N, "with": {...}}` a copy with fields replaced; `{"$policyHash": true}` the policy's hash.
 */
function decode(x: unknown, ctx: Ctx): unknown {
  if (typeof x === "string") return x.replaceAll("{i}", String(ctx.i));
  if (Array.isArray(x)) return x.map((v) => decode(v, ctx));
  if (x === null || typeof x !== "object") return x;
  const o = x as Record<string, unknown>;
  if ("$number" in o) return Number(o.$number);
  if ("$policyHash" in o) return ctx.policy.hash;
  if ("$proxy" in o) return throwingProxy();
  if ("$decision" in o) {
    const d = ctx.decisions[Number(o.$decision)];
    if (d === undefined) throw new Error(`no decision #${String(o.$decision)} yet`);
    return { ...d, ...(decode(o.with ?? {}, ctx) as object) };
  }
  if ("$throwingGetter" in o) {
    const base = decode(o.with ?? {}, ctx) as object;
    return Object.defineProperty({ ...base }, String(o.$throwingGetter), {
      enumerable: true,
      get() {
        throw new Error("getter boom");
      },
    });
  }
  if ("$throwingToString" in o) {
    return {
      toString() {
        throw new Error("toString boom");
      },
      valueOf() {
        throw new Error("valueOf boom");
      },
    };
  }
  if ("$deep" in o) {
    let v: unknown = decode(o.leaf ?? {}, ctx);
    for (let d = 0; d < Number(o.$deep); d++) v = { nested: v };
    return v;
  }
  if ("$wide" in o) {
    const out: Record<string, unknown> = {};
    for (let k = 0; k < Number(o.$wide); k++) out[`k${k}`] = decode(o.value ?? k, ctx);
    return out;
  }
  if ("$repeat" in o) return String(o.$repeat).repeat(Number(o.times));
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decode(v, ctx)]));
}

/** What a call gave, in the terms of `Expect`. */
interface Got {
  effect?: string;
  code?: string | null;
  rules?: readonly string[];
  flags?: readonly string[];
  message?: string;
  stands?: boolean;
  reinstated?: boolean;
  key?: string;
  keys?: readonly string[];
  unchanged?: boolean;
}

function ofDecision(d: Decision): Got {
  const first = d.reasons[0];
  return { effect: d.effect, code: first?.code ?? null, rules: d.rules, flags: d.flags, message: first?.message ?? "" };
}

function ofError(e: DecisionError | undefined): Got {
  return { code: e?.code ?? null, message: e?.message ?? "" };
}

/** Runs one step: what it gave and the state after it. */
function run(policy: Policy, state: PolicyState, step: Step, ctx: Ctx): { got: Got; state: PolicyState } {
  const given = "state" in step ? (decode(step.state, ctx) as PolicyState) : state;
  const same = (next: PolicyState) => next === given;
  if ("decide" in step) {
    const r = policy.decide(given, decode(step.decide, ctx));
    ctx.decisions.push(r.decision);
    return { got: { ...ofDecision(r.decision), unchanged: same(r.state) }, state: r.state };
  }
  if ("observe" in step) {
    const r = observe(policy, given, decode(step.observe, ctx));
    return { got: { ...ofError(r.errors[0]), flags: r.flags, keys: r.revoked.map((x) => x.key), unchanged: same(r.state) }, state: r.state };
  }
  if ("recheck" in step) {
    const r = recheck(policy, given, decode(step.recheck.decision, ctx) as Decision, decode(step.recheck.request, ctx));
    return { got: { ...ofDecision(r.decision), stands: r.stands }, state };
  }
  if ("revoke" in step) {
    const r = revoke(policy, given, decode(step.revoke, ctx) as KeySpec, decode(step.reason, ctx) as string, decode(step.time, ctx) as number);
    return { got: { ...ofError(r.error), key: r.key, unchanged: same(r.state) }, state: r.state };
  }
  if ("reinstate" in step) {
    const r = reinstate(policy, given, decode(step.reinstate, ctx) as KeySpec, decode(step.time, ctx) as number);
    return { got: { ...ofError(r.error), reinstated: r.reinstated, unchanged: same(r.state) }, state: r.state };
  }
  if ("revocations" in step) {
    const list = revocations(policy, given);
    return { got: { ...ofError(list.error), keys: list.map((x) => x.key) }, state };
  }
  if ("partitions" in step) {
    const list = partitions(policy, given);
    return { got: { ...ofError(list.error), keys: list.map((x) => x.key) }, state };
  }
  // A JSON round trip: the state must come back equal, and the case goes on with the parsed copy.
  const text = JSON.stringify(given);
  const back = JSON.parse(text) as PolicyState;
  return { got: { unchanged: JSON.stringify(back) === text }, state: back };
}

describe("decision corpus", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(0));

  for (const name of cases) {
    const dir = join(root, name);
    const c = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as Case;
    it(`${name}: ${c.about}`, () => {
      const prototypes = [Object.prototype, Array.prototype, Function.prototype].map((p) => Reflect.ownKeys(p).map(String).sort().join());
      const compiled = compilePolicy(readFileSync(join(dir, "policy.rules"), "utf8"), { file: "policy.rules", ...(c.options ?? {}) });
      expect(compiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const policy = compiled.policy!;
      let state = policy.initialState();
      const ctx: Ctx = { policy, i: 0, decisions: [] };
      c.steps.forEach((step, n) => {
        for (let i = 0; i < (step.repeat ?? 1); i++) {
          ctx.i = i;
          let out: { got: Got; state: PolicyState };
          try {
            out = run(policy, state, step, ctx);
          } catch (e) {
            throw new Error(`step ${n + 1} threw: ${e instanceof Error ? e.stack : String(e)}`);
          }
          // A step given a state of its own leaves the case's state as it was.
          if (!("state" in step)) state = out.state;
          if (step.expect === undefined || i < (step.repeat ?? 1) - 1) continue;
          const got = out.got as Record<string, unknown>;
          const want = step.expect as Record<string, unknown>;
          const picked = Object.fromEntries(Object.keys(want).map((k) => [k, k === "message" && typeof got.message === "string" && got.message.includes(String(want.message)) ? want.message : got[k]]));
          expect(picked, `step ${n + 1} (${Object.keys(step).filter((k) => k !== "expect")[0]})`).toEqual(want);
        }
      });
      expect([Object.prototype, Array.prototype, Function.prototype].map((p) => Reflect.ownKeys(p).map(String).sort().join())).toEqual(prototypes);
    });
  }
});
