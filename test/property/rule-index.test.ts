import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/compile/compile.js";
import { policyFromIR } from "../../src/compile/from-ir.js";
import { IndexTrace, withIndexTrace } from "../../src/compile/rule-index.js";
import { MAX_STRING } from "../../src/runtime/attributes.js";
import type { Policy } from "../../src/runtime/engine.js";
import { revoke } from "../../src/runtime/operations.js";
import type { Request } from "../../src/runtime/types.js";
import { ReferenceMonitor } from "../reference/monitor.js";
import { assertAgree, DEPTH, TIMEOUT, type Compiled } from "./harness.js";

/**
 * The rule index against the reference interpreter, on policies made of what the index reads:
 * principal kinds and ids, attribute selectors (`{ team: "ops" }`), `==` and `in` with literals,
 * bool attributes, `or` of equalities on one attribute, resource globs with a literal first
 * segment, conditions on the action's name and domain — with deny, challenge, revoke and flag
 * rules among the allows, and `[high]` actions. Requests carry those attributes with matching
 * values, other values, values of other types, over-long strings, sets, and nothing, so every way
 * a decision meets the index occurs: a value that leads to rules, a value that skips rules (deny
 * rules too), a value of a type some rules do not compare with, an unreadable attribute.
 *
 * Each policy is compiled twice: as compilePolicy builds it, and with every rule put into the
 * index wherever it can be (no leaves of several rules), so the deepest trees are tried too.
 */

const T = 1_700_000_000_000;
const ACTIONS = ["a.x", "a.y", "b.x", "b.z"];
/** Longer than any attribute string may be (R302). */
const LONG = "x".repeat(MAX_STRING + 1);

const KINDS = ["agent", "service", "human"];
const IDS = ["bot-1", "bot-2", "svc-a", "alice"];
const TEAMS = ['"ops"', '"billing"', '"dev"'];
const TIERS = ['"gold"', '"silver"', '"free"'];

const selector = fc.oneof(
  fc.constantFrom(...KINDS.map((k) => `${k} *`)),
  fc.tuple(fc.constantFrom(...KINDS), fc.constantFrom(...IDS)).map(([k, id]) => `${k} "${id}"`),
  fc.tuple(fc.constantFrom(...KINDS), fc.constantFrom(...TEAMS)).map(([k, t]) => `${k} * { team: ${t} }`),
  fc.tuple(fc.constantFrom(...KINDS), fc.constantFrom(...TEAMS), fc.constantFrom("1", "2")).map(([k, t, l]) => `${k} { team: ${t}, level: ${l} }`),
  fc.tuple(fc.constantFrom(...KINDS), fc.boolean()).map(([k, b]) => `${k} * { admin: ${b} }`),
);

const atom = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TIERS).map((t) => `context.tier == ${t}`) },
  { weight: 2, arbitrary: fc.constantFrom(...TIERS).map((t) => `${t} == context.tier`) },
  { weight: 3, arbitrary: fc.uniqueArray(fc.constantFrom(...TIERS), { minLength: 1, maxLength: 2 }).map((ts) => `context.tier in [${ts.join(", ")}]`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...TIERS), fc.constantFrom(...TIERS)).map(([a, b]) => `(context.tier == ${a} or context.tier == ${b})`) },
  { weight: 3, arbitrary: fc.constantFrom(...TEAMS).map((t) => `principal.team == ${t}`) },
  { weight: 2, arbitrary: fc.constantFrom("1", "2", "3").map((n) => `context.zone == ${n}`) },
  { weight: 1, arbitrary: fc.constantFrom("1, 2", "3").map((n) => `context.zone in [${n}]`) },
  { weight: 2, arbitrary: fc.constantFrom("context.mfa", "not context.mfa", "context.mfa == true", "context.mfa == false") },
  { weight: 1, arbitrary: fc.constantFrom('resource.owner == "alice"', "resource.owner == principal.id", 'resource.owner != "bob"') },
  { weight: 1, arbitrary: fc.constantFrom('action.domain == "a"', 'action.name == "b.z"', 'action.domain != "b"') },
  { weight: 2, arbitrary: fc.constantFrom("context.risk < 50", "context.risk >= 80", "resource.tenant == principal.tenant", 'principal.team != "ops"') },
);

const condition = fc.oneof(
  { weight: 3, arbitrary: atom },
  { weight: 3, arbitrary: fc.tuple(atom, atom).map(([a, b]) => `${a} and ${b}`) },
  { weight: 1, arbitrary: fc.tuple(atom, atom, atom).map(([a, b, c]) => `${a} and ${b} and ${c}`) },
  { weight: 1, arbitrary: fc.tuple(atom, atom).map(([a, b]) => `(${a} or ${b})`) },
);

const rule = fc.record({
  effect: fc.oneof(
    { weight: 8, arbitrary: fc.constant("allow") },
    { weight: 4, arbitrary: fc.constant("deny") },
    { weight: 2, arbitrary: fc.constant("challenge") },
    { weight: 1, arbitrary: fc.constant("revoke") },
    { weight: 2, arbitrary: fc.constant("flag") },
  ),
  targets: fc.uniqueArray(fc.constantFrom(...ACTIONS, "a.*", "*"), { minLength: 1, maxLength: 2 }),
  principals: fc.oneof({ weight: 1, arbitrary: fc.constant<string[]>([]) }, { weight: 4, arbitrary: fc.uniqueArray(selector, { minLength: 1, maxLength: 2 }) }),
  resources: fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([]) },
    { weight: 2, arbitrary: fc.uniqueArray(fc.constantFrom("t1/*", "t2/*", "t1/docs/*", '"t2/a"', '"*a*"'), { minLength: 1, maxLength: 2 }) },
  ),
  conditions: fc.array(fc.tuple(fc.boolean(), condition).map(([unless, e]) => `${unless ? "unless" : "when"} ${e}`), { maxLength: 2 }),
});

/** A policy of 4 to 40 such rules, sometimes with an actions block that makes b.z [high]. */
const policy = fc.tuple(fc.array(rule, { minLength: 4, maxLength: 40 }), fc.boolean()).map(([rules, block]) => {
  const head = block ? "actions {\n  a.x, a.y, b.x\n  b.z [high]\n}\n\n" : "";
  const body = rules.map((r, i) => {
    const parts = [`rule r${i}: ${r.effect} ${r.targets.join(", ")}`];
    if (r.principals.length > 0) parts.push(`for ${r.principals.join(", ")}`);
    if (r.resources.length > 0) parts.push(`on ${r.resources.join(", ")}`);
    return [parts.join(" "), ...r.conditions.map((c) => `  ${c}`)].join("\n");
  });
  return head + body.join("\n") + "\n";
});

/** An attribute value: usually one the rules compare with, sometimes another type or nothing. */
const ODD: readonly unknown[] = [7, "7", true, null, ["gold"], { v: 1 }];

/**
 * Requests whose attributes are usually values the rules compare with, sometimes of another type
 * or missing; with `long`, sometimes strings longer than an attribute may be (the engine's R302,
 * which the reference does not model).
 */
function requests(long: boolean): fc.Arbitrary<Request> {
  const odd = long ? [...ODD, LONG, Number.NaN, Infinity] : ODD;
  const value = <T>(usual: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    fc.oneof({ weight: 12, arbitrary: usual }, { weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(...odd) });
  return fc
  .record({
    kind: fc.constantFrom(...KINDS),
    id: fc.constantFrom(...IDS),
    team: value(fc.constantFrom("ops", "billing", "dev", "other")),
    level: value(fc.constantFrom(1, 2, 3)),
    admin: value(fc.boolean()),
    ptenant: value(fc.constantFrom("t1", "t2")),
    action: fc.constantFrom(...ACTIONS),
    resource: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom("t1/a", "t1/docs/b", "t2/a", "t3/a", "t1", "a").map((path) => ({ path }) as Record<string, unknown>) },
      { weight: 1, arbitrary: fc.constantFrom("t1/a", "t2/x").map((id) => ({ id }) as Record<string, unknown>) },
      { weight: 1, arbitrary: fc.constantFrom<Record<string, unknown>>({ path: 5 }, { path: ["t1/a"] }, { path: long ? LONG : "t1/a" }, {}) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    owner: value(fc.constantFrom("alice", "bob", "bot-1")),
    rtenant: value(fc.constantFrom("t1", "t2")),
    tier: value(fc.constantFrom("gold", "silver", "free", "platinum")),
    zone: value(fc.constantFrom(1, 2, 3, 4)),
    mfa: value(fc.boolean()),
    risk: value(fc.constantFrom(0, 40, 60, 90)),
    session: fc.constantFrom("s1", "s2"),
  })
  .map((r) => {
    const principal: Record<string, unknown> = { kind: r.kind, id: r.id };
    if (r.team !== undefined) principal.team = r.team;
    if (r.level !== undefined) principal.level = r.level;
    if (r.admin !== undefined) principal.admin = r.admin;
    if (r.ptenant !== undefined) principal.tenant = r.ptenant;
    const context: Record<string, unknown> = {};
    for (const [k, v] of [["tier", r.tier], ["zone", r.zone], ["mfa", r.mfa], ["risk", r.risk]] as const) if (v !== undefined) context[k] = v;
    let resource = r.resource;
    if (resource !== undefined && r.owner !== undefined) resource = { ...resource, owner: r.owner };
    if (resource !== undefined && r.rtenant !== undefined) resource = { ...resource, tenant: r.rtenant };
    return { principal, action: r.action, ...(resource === undefined ? {} : { resource }), context, session: r.session, time: T } as unknown as Request;
  });
}

/** Request limits that let an over-long attribute string reach the rules (the reference has no limits). */
const LIMITS = { limits: { maxStringLength: 4 * LONG.length } };

/**
 * The policy as compilePolicy builds it, with every rule indexed wherever it can be, and with no
 * index at all (one list per action: a linear scan).
 */
function compileAll(source: string): { built: Compiled; deep: Compiled; flat: Compiled } {
  const r = compilePolicy(source, LIMITS);
  if (r.policy === null) throw new Error(`generated policy does not compile:\n${r.diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.column} ${d.message}`).join("\n")}\n--- policy ---\n${source}`);
  const reference = () => new ReferenceMonitor(r.ast);
  const variant = (leafSize: number): Compiled => ({ policy: policyFromIR(r.policy!.ir, r.policy!.hash, LIMITS, { leafSize }), reference });
  return { built: { policy: r.policy, reference }, deep: variant(0), flat: variant(Number.MAX_SAFE_INTEGER) };
}

function compileBoth(source: string): Compiled[] {
  const { built, deep } = compileAll(source);
  return [built, deep];
}

/** Everything a decision says that the index could change. */
function outcome(policy: Policy, request: Request): unknown {
  const d = policy.decide(policy.initialState(), request).decision;
  return { effect: d.effect, rules: d.rules, reasons: d.reasons, obligations: d.obligations, flags: d.flags, errors: d.errors.map((e) => `${e.rule} ${e.code} ${e.message}`) };
}

const trace = new IndexTrace();

describe("the rule index = the reference interpreter", () => {
  it("agrees on policies of indexed shapes (2 x 10,000 policy/request pairs)", () => {
    withIndexTrace(trace, () =>
      fc.assert(
        fc.property(policy, fc.array(requests(false), { minLength: 20, maxLength: 20 }), (source, requests) => {
          for (const compiled of compileBoth(source)) for (const decide of requests) assertAgree(source, compiled, [{ decide }]);
        }),
        { numRuns: 500 * DEPTH },
      ),
    );
    // Every way a decision meets the index, for every kind of key, occurred, deny-like rules included.
    const count = (k: string) => trace.counts.get(k) ?? { times: 0, rules: 0, denyLike: 0 };
    const rows = [...trace.counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k.padEnd(24)} ${String(v.times).padStart(8)} walks ${String(v.rules).padStart(9)} rules ${String(v.denyLike).padStart(8)} deny-like`);
    console.log(`rule index paths (path:key, how often, rules concerned, of them deny/challenge/revoke/flag):\n${rows.join("\n")}`);
    for (const path of ["value", "skip", "other-type", "unreadable"]) {
      for (const key of ["kind", "id", "segment", "principal", "context"]) {
        if (path === "other-type" && (key === "kind" || key === "id" || key === "segment")) continue; // always strings
        if (path === "unreadable" && (key === "kind" || key === "id")) continue; // a request always has both
        expect(count(`${path}:${key}`).times, `${path}:${key}`).toBeGreaterThan(50);
        expect(count(`${path}:${key}`).denyLike, `${path}:${key} with deny-like rules`).toBeGreaterThan(0);
      }
    }
  }, TIMEOUT);

  it("gives the decisions of a linear scan, errors and reasons included, over-long strings too (6,000 pairs)", () => {
    fc.assert(
      fc.property(policy, fc.array(requests(true), { minLength: 20, maxLength: 20 }), (source, rs) => {
        const { deep, flat } = compileAll(source);
        for (const r of rs) expect(outcome(deep.policy, r), `${source}\n${JSON.stringify(r).slice(0, 2000)}`).toEqual(outcome(flat.policy, r));
      }),
      { numRuns: 300 * DEPTH },
    );
  }, TIMEOUT);
});

/**
 * Decisions on actions whose rules read no state (no history, limit, grant, label or revoke rule)
 * take a path of their own when the state holds no revocation: no partition is planned, read or
 * written. Such a decision must be the one the partition path gives, field for field (watch list,
 * digest and subject included); the partition path is taken for the same request on a state that
 * holds one revocation of a session no request has.
 */
describe("the scope path = the partition path", () => {
  it("gives every field of the decision the partition path gives (300 policies x 20 requests)", () => {
    let scoped = 0;
    let other = 0;
    fc.assert(
      fc.property(policy, fc.array(fc.tuple(requests(true), fc.boolean()), { minLength: 20, maxLength: 20 }), (source, rs) => {
        const { built } = compileAll(source);
        const p = built.policy;
        const empty = p.initialState();
        const revoked = revoke(p, empty, { session: "s-none" }, "test", T).state;
        for (const [request, withSession] of rs) {
          const r = withSession ? request : ({ ...request, session: undefined } as unknown as Request);
          if (!withSession) delete (r as { session?: string }).session;
          const bucket = p.index.find(r.action);
          if (bucket !== undefined && bucket.reads.length === 0) scoped++;
          else other++;
          const fast = p.decide(empty, r);
          const full = p.decide(revoked, r);
          expect(fast.decision, `${source}\n${JSON.stringify(r).slice(0, 2000)}`).toEqual(full.decision);
          expect(Object.keys(fast.decision)).toEqual(Object.keys(full.decision));
          if (bucket !== undefined && bucket.reads.length === 0) expect(fast.state).toBe(empty);
        }
      }),
      { numRuns: 300 * DEPTH },
    );
    // Both paths were taken often.
    expect(scoped).toBeGreaterThan(1000);
    expect(other).toBeGreaterThan(500);
  }, TIMEOUT);

});

/** Cases of the index's edges, decided by docs/semantics.md; both builds must give the reference's answer. */
describe("rule index edges", () => {
  const bot = { kind: "agent", id: "bot-1" };
  const cases: { name: string; policy: string; requests: Record<string, unknown>[] }[] = [
    {
      name: "a deny on an attribute of another type than its literal fails closed (R302), not skipped",
      policy: 'rule ok: allow a.x\nrule d1: deny a.x when context.tier == "gold"\nrule d2: deny a.x when context.tier == "silver"\nrule d3: deny a.x for agent * { team: "ops" }\nrule d4: deny a.x for agent * { team: "dev" }\n',
      requests: [{ context: { tier: 1 } }, { context: { tier: true } }, { context: {} }, { context: { tier: "free" } }, { principal: { ...bot, team: 3 } }],
    },
    {
      name: "a deny whose false part is a value the index reads is not a match even when another part fails",
      policy: 'rule ok: allow a.x\nrule d1: deny a.x when context.tier == "gold" and context.risk > 5\nrule d2: deny a.x when context.risk > 5 and context.tier == "silver"\nrule d3: deny a.x when context.tier in ["gold", "free"] and context.missing\n',
      requests: [{ context: { tier: "bronze" } }, { context: { tier: "gold" } }, { context: { tier: "free", missing: true } }, { context: { tier: "silver", risk: "high" } }],
    },
    {
      name: "a resource without a readable path is read through its id, or fails closed for every rule on a segment",
      policy: 'rule ok: allow a.x on t1/*, t2/*\nrule d1: deny a.x on t1/*\nrule d2: deny a.x on t2/*\nrule d3: deny a.x on "t3/x"\n',
      requests: [{ resource: { id: "t1/a" } }, { resource: { path: 5, id: "t2/a" } }, { resource: { path: ["t1/a"] } }, { resource: {} }, { resource: { path: "t1" } }, {}],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      for (const compiled of compileBoth(c.policy)) {
        for (const extra of c.requests) assertAgree(c.policy, compiled, [{ decide: { principal: bot, action: "a.x", time: T, ...extra } as unknown as Request }]);
      }
    });
  }
});
