import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/compile/compile.js";
import type { Policy } from "../../src/runtime/engine.js";
import type { PolicyState } from "../../src/runtime/types.js";
import {
  arbRequest,
  arbScopePolicy,
  arbScopeRuleSource,
  arbSequencePolicy,
  arbSignal,
  arbTrace,
  DEFAULT_VOCABULARY,
  type TraceEvent,
} from "../../src/testing/arbitraries-policy.js";
import { compileOrThrow, DEPTH, runEngine, type StepOutcome, TIMEOUT, traceText } from "./harness.js";
import { observe } from "../../src/runtime/operations.js";

/**
 * The laws of docs/semantics.md that hold for every policy: rule order and duplicates never matter,
 * adding a deny never grants, the empty policy denies, `decide` is total and pure, and a state
 * survives JSON.
 */

const V = DEFAULT_VOCABULARY;
const RUNS = 300 * DEPTH;

/** A policy's items (actions block, rules, workflow), as `arbScopePolicy`/`arbSequencePolicy` separate them. */
function items(source: string): string[] {
  return source.split("\n\n").map((s) => s.trim()).filter((s) => s !== "");
}

function effects(policy: Policy, trace: readonly TraceEvent[]): (string | null)[] {
  return runEngine(policy, trace).outcomes.map((o) => o.effect);
}

function explain(label: string, sources: readonly string[], trace: readonly TraceEvent[], results: readonly unknown[][]): string {
  return `${label}\n${sources.map((s, i) => `--- policy ${i} ---\n${s}`).join("\n")}\n--- trace ---\n${traceText(trace)}\n--- effects ---\n${results.map((r, i) => `  ${i}: ${JSON.stringify(r)}`).join("\n")}`;
}

const arbPolicy = fc.oneof(arbScopePolicy(V), arbSequencePolicy(V));
const arbShortTrace = arbTrace(V, { minLength: 1, maxLength: 12 });

describe("laws", () => {
  it("shuffling the items of a policy never changes a decision's effect", () => {
    fc.assert(
      fc.property(arbPolicy, arbShortTrace, fc.infiniteStream(fc.nat()), (source, trace, randomness) => {
        const shuffled = [...items(source)];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = randomness.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const other = shuffled.join("\n\n") + "\n";
        const a = effects(compileOrThrow(source).policy, trace);
        const b = effects(compileOrThrow(other).policy, trace);
        if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(explain("shuffling changed an effect", [source, other], trace, [a, b]));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("duplicating a rule under a new name never changes a decision's effect", () => {
    fc.assert(
      fc.property(arbPolicy, arbShortTrace, fc.nat(), (source, trace, pick) => {
        const rules = items(source).filter((i) => i.startsWith("rule "));
        fc.pre(rules.length > 0);
        const copy = rules[pick % rules.length]!.replace(/^rule ([^:]+):/, "rule $1-copy:");
        const other = `${source}\n${copy}\n`;
        const a = effects(compileOrThrow(source).policy, trace);
        const b = effects(compileOrThrow(other).policy, trace);
        if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(explain("a duplicate rule changed an effect", [source, other], trace, [a, b]));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("adding a deny rule never turns a deny into an allow", () => {
    // Scope rules do not read history, so the law holds along whole traces (revocations included:
    // a revoke still outranks the added deny). With history it holds for a first request.
    const scope = fc.tuple(arbScopePolicy(V), arbShortTrace);
    const sequence = fc.tuple(arbSequencePolicy(V), arbRequest(V).map((decide): TraceEvent[] => [{ decide }]));
    fc.assert(
      fc.property(fc.oneof(scope, sequence), arbScopeRuleSource("added-deny", ["deny"], V), ([source, trace], deny) => {
        const other = `${source}\n${deny}\n`;
        const a = effects(compileOrThrow(source).policy, trace);
        const b = effects(compileOrThrow(other).policy, trace);
        const granted = a.findIndex((e, i) => e === "deny" && b[i] === "allow");
        if (granted >= 0) throw new Error(explain(`adding a deny turned step #${granted} from deny into allow`, [source, other], trace, [a, b]));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("the empty policy denies everything", () => {
    const empty = compileOrThrow("").policy;
    const declarations = compileOrThrow("actions {\n  a.x, a.y, b.x\n  b.z [high]\n}\n").policy;
    fc.assert(
      fc.property(arbTrace(V, { maxLength: 20 }), (trace) => {
        for (const policy of [empty, declarations]) {
          for (const o of runEngine(policy, trace).outcomes) {
            if (o.effect !== null) expect(o).toEqual({ effect: "deny", rules: [], flags: [] } satisfies StepOutcome);
          }
        }
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("decide and observe never throw and never mutate their inputs", () => {
    fc.assert(
      fc.property(arbPolicy, arbShortTrace, fc.array(arbHostileInput(), { maxLength: 6 }), (source, trace, hostile) => {
        const { policy } = compileOrThrow(source);
        let state = policy.initialState();
        const steps: unknown[] = [...trace.map((s) => ("decide" in s ? s.decide : s.observe)), ...hostile];
        for (const input of steps) {
          deepFreeze(input);
          deepFreeze(state);
          const before = [snapshot(input), snapshot(state)];
          const isSignal = typeof input === "object" && input !== null && "signal" in input;
          const next = isSignal ? observe(policy, state, input).state : policy.decide(state, input).state;
          expect([snapshot(input), snapshot(state)]).toEqual(before);
          // A junk state must be answered (R303), not thrown on.
          policy.decide(deepFreeze({ ...state, keys: "junk" }) as unknown as PolicyState, input);
          state = next;
        }
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("decide and observe survive getters that throw, proxies and cycles", () => {
    const { policy } = compileOrThrow("rule r0: allow a.x when context.risk < 0.5 and count(a.x by context.ip within 1s) < 3\nrule r1: flag signal s.fail\n");
    const state = policy.initialState();
    const request = { principal: { kind: "agent", id: "x" }, action: "a.x", time: 0 };
    const thrown: string[] = [];
    const attempt = (what: string, call: () => unknown) => {
      try {
        call();
      } catch (e) {
        thrown.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    for (const [name, input] of Object.entries(hostileObjects())) {
      attempt(`decide(state, ${name})`, () => policy.decide(state, input));
      attempt(`observe(state, ${name})`, () => observe(policy, state, input));
      attempt(`decide(${name}, request)`, () => policy.decide(input as PolicyState, request));
    }
    expect(thrown).toEqual([]);
  }, TIMEOUT);

  it("a state that went through JSON gives the same future decisions", () => {
    fc.assert(
      fc.property(arbSequencePolicy(V), arbTrace(V, { minLength: 1, maxLength: 16 }), (source, trace) => {
        const { policy } = compileOrThrow(source);
        const direct = runEngine(policy, trace);
        const viaJson: StepOutcome[] = [];
        let state = policy.initialState();
        for (const step of trace) {
          state = JSON.parse(JSON.stringify(state)) as PolicyState;
          const r = runEngine(policy, [step], state);
          viaJson.push(r.outcomes[0]!);
          state = r.state;
        }
        if (JSON.stringify(direct.outcomes) !== JSON.stringify(viaJson)) {
          throw new Error(explain("a JSON round trip of the state changed a decision", [source], trace, [direct.outcomes, viaJson]));
        }
        expect(JSON.stringify(state)).toEqual(JSON.stringify(direct.state));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("every generated policy compiles", () => {
    fc.assert(
      fc.property(arbPolicy, (source) => {
        const r = compilePolicy(source);
        if (r.policy === null) throw new Error(`${r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n")}\n${source}`);
      }),
      { numRuns: 200 * DEPTH },
    );
  }, TIMEOUT);
});

/* ---- hostile inputs ------------------------------------------------------------------------------ */

/** Requests and signals with one part replaced by junk, and plain junk. */
function arbHostileInput(): fc.Arbitrary<unknown> {
  const junk = fc.oneof(
    fc.constantFrom(null, undefined, NaN, Infinity, -Infinity, -0, "", "not a time", "2024-13-45T99:99:99Z", [], {}, [1, 2], { kind: 1, id: [] }),
    fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true, maxDepth: 3 }),
    fc.constant(JSON.parse('{"__proto__": {"risk": 0}, "constructor": {"prototype": {"polluted": true}}}') as unknown),
  );
  const fields = ["principal", "action", "time", "context", "resource", "session", "signal"] as const;
  const damaged = fc
    .tuple(fc.oneof(arbRequest(V) as fc.Arbitrary<object>, arbSignal(V) as fc.Arbitrary<object>), fc.constantFrom(...fields), junk)
    .map(([base, field, value]) => ({ ...base, [field]: value }));
  const nested = arbRequest(V).chain((r) =>
    fc.tuple(fc.constantFrom("principal", "context", "resource"), fc.string(), junk).map(([part, name, value]) => ({
      ...r,
      [part]: { ...((r as unknown as Record<string, object>)[part] ?? {}), [name]: value },
    })),
  );
  return fc.oneof(damaged, nested, junk);
}

function hostileObjects(): Record<string, unknown> {
  const throwing = Object.defineProperty({}, "principal", {
    enumerable: true,
    get() {
      throw new Error("boom");
    },
  });
  const proxy = new Proxy(
    {},
    {
      get() {
        throw new Error("trap");
      },
      has() {
        throw new Error("trap");
      },
      ownKeys() {
        throw new Error("trap");
      },
      getOwnPropertyDescriptor() {
        throw new Error("trap");
      },
      getPrototypeOf() {
        throw new Error("trap");
      },
    },
  );
  const cyclic: Record<string, unknown> = { principal: { kind: "agent", id: "x" }, action: "a.x", time: 0 };
  const context: Record<string, unknown> = { risk: 0.1, ip: "10.0.0.1" };
  context.self = context;
  cyclic.context = context;
  let deep: Record<string, unknown> = { risk: 0 };
  for (let i = 0; i < 10_000; i++) deep = { nested: deep };
  const base = { principal: { kind: "agent", id: "x" }, action: "a.x", time: 0 };
  return {
    "a getter that throws": throwing,
    "a proxy that throws": proxy,
    "a cyclic context": cyclic,
    "a context 10,000 levels deep": { ...base, context: deep },
    "a throwing proxy as principal": { ...base, principal: proxy },
    "a throwing proxy as context": { ...base, context: proxy },
    "a signal whose principal getter throws": { signal: "s.fail", time: 0, principal: { get kind() { throw new Error("boom"); }, id: "x" } },
    "an object without prototype": Object.create(null),
    "a symbol": Symbol("x"),
    "a function": () => 0,
  };
}

function deepFreeze<T>(x: T, seen = new Set<unknown>()): T {
  if ((typeof x !== "object" && typeof x !== "function") || x === null || seen.has(x)) return x;
  seen.add(x);
  for (const key of Reflect.ownKeys(x as object)) {
    const d = Object.getOwnPropertyDescriptor(x as object, key);
    if (d && "value" in d) deepFreeze(d.value, seen);
  }
  return Object.freeze(x);
}

/** A JSON text of anything fast-check builds (bigints, maps and sets included). */
function snapshot(x: unknown): string {
  return String(
    JSON.stringify(x, (_k, v: unknown) => {
      if (typeof v === "bigint") return `${v}n`;
      if (v instanceof Map) return ["Map", [...v.entries()]];
      if (v instanceof Set) return ["Set", [...v.values()]];
      if (typeof v === "number" && !Number.isFinite(v)) return String(v);
      if (v === undefined) return "undefined";
      return v;
    }),
  );
}
