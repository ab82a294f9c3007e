/**
 * One adapter per engine for the scope benchmark. Each adapter converts the shared requests into
 * the engine's own input once, before any timing (what an application would hold: a request
 * object, a cached ability, a casbin tuple, a Cedar call), then offers
 *
 * - `decide(i)`: the engine's allow/deny for request i, for the agreement check;
 * - `run(n)`: n decisions cycling through the requests, for timing; returns the allow count.
 *
 * Each `run` is its own hand-written loop rather than one shared loop taking a callback: a shared
 * call site would turn megamorphic across engines and slow the fast ones for reasons unrelated to
 * them.
 */
import { createMongoAbility, subject, type MongoAbility } from "@casl/ability";
import { newEnforcer, newModelFromString, StringAdapter } from "casbin";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import {
  attrCeilingAllows,
  CASBIN_ATTR_MODEL,
  caslAttrRules,
  caslProfile,
  cedarAttrEntities,
  toAttrCeilingIndex,
  toCasbinAttrPolicy,
  toCedarAttrPolicies,
  type AttrPolicy,
  type AttrRequest,
} from "./scope-attributes.js";
import {
  CASBIN_MODEL,
  casbinSubject,
  cedarPrincipal,
  ceilingAllows,
  toCasbinPolicy,
  toCaslRules,
  toCedarPolicies,
  toCeilingIndex,
  toLeashRules,
  type IdPolicy,
  type IdRequest,
  type LabelledRequest,
  type ScopePolicy,
} from "./scope-policies.js";

export type EngineName = "ceiling" | "leash" | "casl" | "casbin" | "cedar";
export const ENGINES: readonly EngineName[] = ["ceiling", "leash", "casl", "casbin", "cedar"];

export interface ScopeEngine {
  readonly name: EngineName;
  decide(i: number): boolean;
  /**
   * n decisions cycling through the first `cycle` requests (all of them until `limit` is called);
   * returns the allow count.
   */
  run(n: number): number;
  /**
   * Restricts `run` to the first `count` requests: those whose answers the agreement check
   * compared, so that every request timed is one the engine was seen to answer correctly.
   */
  limit(count: number): void;
}

/**
 * The request cursor every adapter's `run` loop shares: `len` is the cycle length (the checked
 * requests), `at` where the last `run` stopped.
 */
class Cursor {
  at = 0;
  len: number;
  constructor(readonly total: number) {
    this.len = total;
  }
  limit(count: number): void {
    this.len = Math.max(1, Math.min(this.total, count));
    this.at = 0;
  }
}

/* ---------------------------------------------------------------------------------------------
 * hand-written ceiling
 * ------------------------------------------------------------------------------------------- */

export function ceilingEngine(policy: ScopePolicy, requests: readonly LabelledRequest[]): ScopeEngine {
  return policy.family === "id" ? idCeilingEngine(policy, requests as readonly LabelledRequest<IdRequest>[]) : attrCeilingEngine(policy, requests as readonly LabelledRequest<AttrRequest>[]);
}

function idCeilingEngine(policy: IdPolicy, requests: readonly LabelledRequest<IdRequest>[]): ScopeEngine {
  const index = toCeilingIndex(policy);
  const reqs = requests.map((r) => r.request);
  const cur = new Cursor(reqs.length);
  return {
    name: "ceiling",
    limit: (count) => cur.limit(count),
    decide: (i) => ceilingAllows(index, reqs[i]!),
    run(n) {
      let allowed = 0;
      let i = cur.at;
      const len = cur.len;
      for (let k = 0; k < n; k++) {
        if (ceilingAllows(index, reqs[i]!)) allowed++;
        if (++i === len) i = 0;
      }
      cur.at = i;
      return allowed;
    },
  };
}

/** The attribute shapes' ceiling: action -> department denies and role allows (scope-attributes.ts). */
function attrCeilingEngine(policy: AttrPolicy, requests: readonly LabelledRequest<AttrRequest>[]): ScopeEngine {
  const index = toAttrCeilingIndex(policy);
  const reqs = requests.map((r) => r.request);
  const cur = new Cursor(reqs.length);
  return {
    name: "ceiling",
    limit: (count) => cur.limit(count),
    decide: (i) => attrCeilingAllows(index, reqs[i]!),
    run(n) {
      let allowed = 0;
      let i = cur.at;
      const len = cur.len;
      for (let k = 0; k < n; k++) {
        if (attrCeilingAllows(index, reqs[i]!)) allowed++;
        if (++i === len) i = 0;
      }
      cur.at = i;
      return allowed;
    },
  };
}

/* ---------------------------------------------------------------------------------------------
 * leash
 * ------------------------------------------------------------------------------------------- */

/** The part of leash's public API the bench uses (src/index.ts). */
export type LeashApi = Pick<typeof import("../src/index.js"), "compilePolicy">;

export class LeashCompileError extends Error {}

/** The decide call includes the state round-trip (`state = out.state`), as a gateway would do it. */
export function leashEngine(api: LeashApi, policy: ScopePolicy, requests: readonly LabelledRequest[]): ScopeEngine {
  const { policy: compiled, diagnostics } = api.compilePolicy(toLeashRules(policy), { file: "gen.rules" });
  if (compiled === null) {
    const first = diagnostics.slice(0, 5).map((d) => `${d.code} ${d.message}`).join("; ");
    throw new LeashCompileError(`leash did not compile the ${policy.shape}/${policy.rules.length} policy: ${first}`);
  }
  const reqs = requests.map((r) => r.request);
  const cur = new Cursor(reqs.length);
  let state = compiled.initialState();
  return {
    name: "leash",
    limit: (count) => cur.limit(count),
    decide(i) {
      const out = compiled.decide(state, reqs[i]!);
      state = out.state;
      return out.decision.effect === "allow";
    },
    run(n) {
      let allowed = 0;
      let i = cur.at;
      const len = cur.len;
      for (let k = 0; k < n; k++) {
        const out = compiled.decide(state, reqs[i]!);
        state = out.state;
        if (out.decision.effect === "allow") allowed++;
        if (++i === len) i = 0;
      }
      cur.at = i;
      return allowed;
    },
  };
}

/* ---------------------------------------------------------------------------------------------
 * CASL: one ability per principal, built once and cached (as per-role abilities are)
 * ------------------------------------------------------------------------------------------- */

interface CaslCall {
  readonly ability: MongoAbility;
  readonly action: string;
  readonly subject: object;
}

export function caslEngine(policy: ScopePolicy, requests: readonly LabelledRequest[]): ScopeEngine {
  return caslEngineOf(policy.family === "id" ? idCaslCalls(policy, requests as readonly LabelledRequest<IdRequest>[]) : attrCaslCalls(policy, requests as readonly LabelledRequest<AttrRequest>[]));
}

function idCaslCalls(policy: IdPolicy, requests: readonly LabelledRequest<IdRequest>[]): CaslCall[] {
  const abilities = new Map<string, MongoAbility>();
  for (const [key, rules] of toCaslRules(policy)) abilities.set(key, createMongoAbility(rules));
  const none = createMongoAbility([]);
  return requests.map(({ request: r }) => ({
    ability: abilities.get(casbinSubject(r.principal.kind, r.principal.id)) ?? none,
    action: r.action,
    subject: subject(r.resource.type, { path: r.resource.path }),
  }));
}

/** One ability per principal profile (role and the attributes the rules read), built once and cached. */
function attrCaslCalls(policy: AttrPolicy, requests: readonly LabelledRequest<AttrRequest>[]): CaslCall[] {
  const abilities = new Map<string, MongoAbility>();
  return requests.map(({ request: r }) => {
    const profile = caslProfile(r.principal);
    let ability = abilities.get(profile);
    if (ability === undefined) {
      ability = createMongoAbility(caslAttrRules(policy, r.principal) as never) as MongoAbility;
      abilities.set(profile, ability);
    }
    return { ability, action: r.action, subject: subject("Doc", { tenant: r.resource.tenant, risk: r.context.risk }) };
  });
}

function caslEngineOf(reqs: readonly CaslCall[]): ScopeEngine {
  const cur = new Cursor(reqs.length);
  return {
    name: "casl",
    limit: (count) => cur.limit(count),
    decide: (i) => reqs[i]!.ability.can(reqs[i]!.action, reqs[i]!.subject),
    run(n) {
      let allowed = 0;
      let i = cur.at;
      const len = cur.len;
      for (let k = 0; k < n; k++) {
        const r = reqs[i]!;
        if (r.ability.can(r.action, r.subject)) allowed++;
        if (++i === len) i = 0;
      }
      cur.at = i;
      return allowed;
    },
  };
}

/* ---------------------------------------------------------------------------------------------
 * casbin: ACL model, policy from a CSV string, `enforceSync`
 * ------------------------------------------------------------------------------------------- */

export async function casbinEngine(policy: ScopePolicy, requests: readonly LabelledRequest[]): Promise<ScopeEngine> {
  return policy.family === "id" ? idCasbinEngine(policy, requests as readonly LabelledRequest<IdRequest>[]) : attrCasbinEngine(policy, requests as readonly LabelledRequest<AttrRequest>[]);
}

async function idCasbinEngine(policy: IdPolicy, requests: readonly LabelledRequest<IdRequest>[]): Promise<ScopeEngine> {
  const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL), new StringAdapter(toCasbinPolicy(policy)));
  const reqs = requests.map(({ request: r }) => [casbinSubject(r.principal.kind, r.principal.id), r.resource.path, r.action] as const);
  const cur = new Cursor(reqs.length);
  return {
    name: "casbin",
    limit: (count) => cur.limit(count),
    decide: (i) => enforcer.enforceSync(...reqs[i]!),
    run(n) {
      let allowed = 0;
      let i = cur.at;
      const len = cur.len;
      for (let k = 0; k < n; k++) {
        const r = reqs[i]!;
        if (enforcer.enforceSync(r[0], r[1], r[2])) allowed++;
        if (++i === len) i = 0;
      }
      cur.at = i;
      return allowed;
    },
  };
}

/** RBAC with `g`: principals are grouped by role, department and status; the conditions are policy fields. */
async function attrCasbinEngine(policy: AttrPolicy, requests: readonly LabelledRequest<AttrRequest>[]): Promise<ScopeEngine> {
  const enforcer = await newEnforcer(newModelFromString(CASBIN_ATTR_MODEL), new StringAdapter(toCasbinAttrPolicy(policy, requests.map((r) => r.request))));
  const reqs = requests.map(({ request: r }) => [r.principal, r.action, r.resource, r.context] as const);
  const cur = new Cursor(reqs.length);
  return {
    name: "casbin",
    limit: (count) => cur.limit(count),
    decide: (i) => enforcer.enforceSync(...reqs[i]!),
    run(n) {
      let allowed = 0;
      let i = cur.at;
      const len = cur.len;
      for (let k = 0; k < n; k++) {
        const r = reqs[i]!;
        if (enforcer.enforceSync(r[0], r[1], r[2], r[3])) allowed++;
        if (++i === len) i = 0;
      }
      cur.at = i;
      return allowed;
    },
  };
}

/* ---------------------------------------------------------------------------------------------
 * Cedar (wasm): the policy set is parsed once (`preparsePolicySet`) and every call names it
 * (`statefulIsAuthorized`); the stateless `isAuthorized` would re-parse the whole set per call.
 * ------------------------------------------------------------------------------------------- */

let cedarSets = 0;

export class CedarError extends Error {}

export function cedarEngine(policy: ScopePolicy, requests: readonly LabelledRequest[]): ScopeEngine {
  const setId = `scope-${policy.shape}-${policy.rules.length}-${cedarSets++}`;
  const text = policy.family === "id" ? toCedarPolicies(policy) : toCedarAttrPolicies(policy);
  const parsed = cedar.preparsePolicySet(setId, { staticPolicies: text });
  if (parsed.type !== "success") throw new CedarError(`cedar rejected the policy set: ${parsed.errors.map((e) => e.message).join("; ")}`);
  const calls = requests.map(({ request }): cedar.StatefulAuthorizationCall => {
    if (policy.family === "attr") {
      const r = request as AttrRequest;
      const { principal, resource, entities } = cedarAttrEntities(r);
      return { principal, action: { type: "Action", id: r.action }, resource, context: { risk: r.context.risk }, preparsedPolicySetId: setId, entities };
    }
    const r = request as IdRequest;
    const resource = { type: "Doc", id: r.resource.path };
    return {
      principal: cedarPrincipal(r.principal.kind, r.principal.id),
      action: { type: "Action", id: r.action },
      resource,
      context: {},
      preparsedPolicySetId: setId,
      entities: [{ uid: resource, attrs: { path: r.resource.path }, parents: [] }],
    };
  });
  const allows = (call: cedar.StatefulAuthorizationCall): boolean => {
    const answer = cedar.statefulIsAuthorized(call);
    if (answer.type !== "success") throw new CedarError(`cedar failed: ${answer.errors.map((e) => e.message).join("; ")}`);
    return answer.response.decision === "allow";
  };
  const cur = new Cursor(calls.length);
  return {
    name: "cedar",
    limit: (count) => cur.limit(count),
    decide: (i) => allows(calls[i]!),
    run(n) {
      let allowed = 0;
      let i = cur.at;
      const len = cur.len;
      for (let k = 0; k < n; k++) {
        if (allows(calls[i]!)) allowed++;
        if (++i === len) i = 0;
      }
      cur.at = i;
      return allowed;
    },
  };
}
