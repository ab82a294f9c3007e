/**
 * Deterministic scope policies for the scope benchmark, emitted once per engine.
 *
 * Two families. The id shapes (`spread`, `one-action`, this file) are lists of allow rules
 * `(principal kind + id, action, resource glob)`; the attribute shapes (`rbac-attr`, `abac-cond`,
 * `mixed`, scope-attributes.ts) select principals by attribute, with conditions, deny rules and
 * `[high]` actions. The same list is rendered as leash `.rules` text, CASL abilities (one per
 * principal or principal profile, as an application caches an ability per role), a casbin model +
 * policy, a Cedar policy set, and a hand-written JS ceiling (nested Map lookups). Requests come
 * with the answer of a naive reference scan (`referenceAllows`), so every engine is checked against
 * the same oracle.
 *
 * Everything is seeded (`mulberry32`); the same `(shape, rules, seed)` always yields the same text
 * and the same requests.
 */
import { attrPolicy, attrReferenceAllows, attrRequests, ATTR_SHAPES, toLeashAttrRules, type AttrPolicy, type AttrRequest, type AttrShape } from "./scope-attributes.js";
import { int, mulberry32, pick, shuffled, type Rng } from "./seeded.js";

export { mulberry32 };

export type IdShape = "spread" | "one-action";
export type ScopeShape = IdShape | AttrShape;
export const ID_SHAPES: readonly IdShape[] = ["spread", "one-action"];
export const SCOPE_SHAPES: readonly ScopeShape[] = [...ID_SHAPES, ...ATTR_SHAPES];

export function isIdShape(shape: ScopeShape): shape is IdShape {
  return shape === "spread" || shape === "one-action";
}

export type PrincipalKind = "human" | "service" | "agent" | "token";
const KINDS: readonly PrincipalKind[] = ["service", "agent", "token", "human"];
const KIND_ID_PREFIX: Record<PrincipalKind, string> = { service: "svc", agent: "agent", token: "tok", human: "user" };
/** Cedar entity type per principal kind. */
const CEDAR_TYPE: Record<PrincipalKind, string> = { service: "Service", agent: "Agent", token: "Token", human: "Human" };
const VERBS = ["read", "run", "write", "list", "delete"] as const;

/** One allow rule. `glob` matches `resource.path`; `*` matches any run of characters (also `/`). */
export interface ScopeRule {
  readonly name: string;
  readonly kind: PrincipalKind;
  readonly id: string;
  readonly action: string;
  readonly glob: string;
}

/** The leash request shape of the id shapes; every engine's request is derived from it before timing starts. */
export interface IdRequest {
  readonly principal: { readonly kind: PrincipalKind; readonly id: string };
  readonly action: string;
  readonly resource: { readonly type: "doc"; readonly path: string };
  readonly time: number;
}

/** A request of either family. */
export type ScopeRequest = IdRequest | AttrRequest;

export interface LabelledRequest<R extends ScopeRequest = ScopeRequest> {
  readonly request: R;
  /** The reference answer (`referenceAllows`). */
  readonly allow: boolean;
  /** How the request was made: `allow`, or the near miss that should make it a deny. */
  readonly variant: string;
}

export interface IdPolicy {
  readonly family: "id";
  readonly shape: IdShape;
  readonly seed: number;
  readonly rules: readonly ScopeRule[];
  /** Principals and actions that occur in the rules (request generation draws from them). */
  readonly principals: readonly { readonly kind: PrincipalKind; readonly id: string }[];
  readonly actions: readonly string[];
}

export type ScopePolicy = IdPolicy | AttrPolicy;

/** All requests carry this fixed time: scope rules read no clock, and a constant never runs backwards. */
export const REQUEST_TIME = Date.UTC(2025, 0, 1);

/* ---------------------------------------------------------------------------------------------
 * Policies
 * ------------------------------------------------------------------------------------------- */

function principalPool(count: number): { kind: PrincipalKind; id: string }[] {
  return Array.from({ length: count }, (_, j) => {
    const kind = KINDS[j % KINDS.length]!;
    return { kind, id: `${KIND_ID_PREFIX[kind]}-${j}` };
  });
}

/** `tenant-<t>/*` or, for about a third of the rules, `tenant-<t>/<folder>/*`. */
function tenantGlob(rng: Rng, tenant: number): string {
  return rng() < 0.3 ? `tenant-${tenant}/f${int(rng, 8)}/*` : `tenant-${tenant}/*`;
}

/**
 * `spread`: rules over ~n/2 distinct actions (`act<i>.<verb>`), ~n/5 principals, ~n/3 tenants.
 * `one-action`: every rule allows `doc.read`; ~sqrt(n) principals, each rule its own tenant prefix,
 * so each principal has ~sqrt(n) rules that differ only in the resource prefix.
 */
export function scopePolicy(shape: ScopeShape, ruleCount: number, seed = 0x1ea5): ScopePolicy {
  return isIdShape(shape) ? idPolicy(shape, ruleCount, seed) : attrPolicy(shape, ruleCount, seed);
}

function idPolicy(shape: IdShape, ruleCount: number, seed: number): IdPolicy {
  const rng = mulberry32(seed ^ (ruleCount * 2654435761) ^ (shape === "spread" ? 0 : 0x5bd1e995));
  const rules: ScopeRule[] = [];
  if (shape === "spread") {
    const actions = Array.from({ length: Math.max(2, Math.ceil(ruleCount / 2)) }, (_, i) => `act${i}.${VERBS[i % VERBS.length]}`);
    const principals = principalPool(Math.max(3, Math.ceil(ruleCount / 5)));
    const tenants = Math.max(3, Math.ceil(ruleCount / 3));
    const seen = new Set<string>();
    for (let i = 0; rules.length < ruleCount; i++) {
      // Every action gets at least one rule; the rest land anywhere.
      const action = i < actions.length ? actions[i]! : pick(rng, actions);
      const p = pick(rng, principals);
      const glob = tenantGlob(rng, int(rng, tenants));
      const key = `${p.kind}|${p.id}|${action}|${glob}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push({ name: `r${rules.length}`, kind: p.kind, id: p.id, action, glob });
    }
    return finish(shape, seed, rules);
  }
  const principals = principalPool(Math.max(2, Math.ceil(Math.sqrt(ruleCount))));
  const tenants = shuffled(rng, Array.from({ length: ruleCount }, (_, i) => i));
  for (let i = 0; i < ruleCount; i++) {
    const p = principals[i % principals.length]!;
    rules.push({ name: `r${i}`, kind: p.kind, id: p.id, action: "doc.read", glob: tenantGlob(rng, tenants[i]!) });
  }
  return finish(shape, seed, rules);
}

function finish(shape: IdShape, seed: number, rules: ScopeRule[]): IdPolicy {
  const principals = new Map<string, { kind: PrincipalKind; id: string }>();
  const actions = new Set<string>();
  for (const r of rules) {
    principals.set(`${r.kind}:${r.id}`, { kind: r.kind, id: r.id });
    actions.add(r.action);
  }
  return { family: "id", shape, seed, rules, principals: [...principals.values()], actions: [...actions] };
}

/* ---------------------------------------------------------------------------------------------
 * Reference semantics
 * ------------------------------------------------------------------------------------------- */

/** `*` matches any run of characters (including `/` and the empty run); everything else is literal. */
export function globMatches(glob: string, path: string): boolean {
  const parts = glob.split("*");
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (parts.length === 1) return path === glob;
  if (!path.startsWith(first) || path.length < first.length + last.length || !path.endsWith(last)) return false;
  let at = first.length;
  const end = path.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = path.indexOf(parts[i]!, at);
    if (found < 0 || found + parts[i]!.length > end) return false;
    at = found + parts[i]!.length;
  }
  return true;
}

/** The oracle: a linear scan that reads like the rule text. No allow rule matching means deny. */
export function referenceAllows(policy: ScopePolicy, req: ScopeRequest): boolean {
  return policy.family === "id" ? idReferenceAllows(policy, req as IdRequest) : attrReferenceAllows(policy, req as AttrRequest);
}

function idReferenceAllows(policy: IdPolicy, req: IdRequest): boolean {
  return policy.rules.some(
    (r) =>
      r.kind === req.principal.kind &&
      r.id === req.principal.id &&
      r.action === req.action &&
      globMatches(r.glob, req.resource.path),
  );
}

/* ---------------------------------------------------------------------------------------------
 * Requests: about half allowed, half near misses
 * ------------------------------------------------------------------------------------------- */

function suffix(rng: Rng): string {
  return rng() < 0.3 ? `sub${int(rng, 5)}/doc-${int(rng, 1000)}` : `doc-${int(rng, 1000)}`;
}

function prefixOf(glob: string): string {
  return glob.slice(0, glob.indexOf("*"));
}

function request(kind: PrincipalKind, id: string, action: string, path: string): IdRequest {
  return { principal: { kind, id }, action, resource: { type: "doc", path }, time: REQUEST_TIME };
}

/**
 * `count` requests, alternating between one that a random rule allows and a near miss that the
 * reference scan denies: another tenant, another principal, the same id under another kind, an
 * action the principal lacks or nobody has, or a tenant whose name extends the allowed one
 * (`tenant-12/*` vs `tenant-123/x`). Near misses the reference happens to allow are redrawn.
 */
export function scopeRequests(policy: ScopePolicy, count: number, seed = 0xbe7c4): LabelledRequest[] {
  return policy.family === "id" ? idRequests(policy, count, seed) : attrRequests(policy, count, REQUEST_TIME, seed);
}

function idRequests(policy: IdPolicy, count: number, seed: number): LabelledRequest<IdRequest>[] {
  const rng = mulberry32(seed ^ policy.rules.length ^ (policy.shape === "spread" ? 0 : 0x27d4eb2d));
  const out: LabelledRequest<IdRequest>[] = [];
  const misses = ["other-tenant", "other-principal", "other-kind", "other-action", "unknown-action", "longer-tenant"] as const;
  while (out.length < count) {
    const rule = pick(rng, policy.rules);
    if (out.length % 2 === 0) {
      const req = request(rule.kind, rule.id, rule.action, prefixOf(rule.glob) + suffix(rng));
      out.push({ request: req, allow: true, variant: "allow" });
      continue;
    }
    for (let attempt = 0; ; attempt++) {
      if (attempt > 1000) throw new Error(`cannot draw a denied request for ${policy.shape}/${policy.rules.length}`);
      const variant = pick(rng, misses);
      const p = { kind: rule.kind, id: rule.id };
      let action = rule.action;
      let path = prefixOf(rule.glob) + suffix(rng);
      switch (variant) {
        case "other-tenant":
          path = prefixOf(pick(rng, policy.rules).glob) + suffix(rng);
          break;
        case "other-principal": {
          const q = pick(rng, policy.principals);
          p.kind = q.kind;
          p.id = q.id;
          break;
        }
        case "other-kind":
          p.kind = KINDS[(KINDS.indexOf(rule.kind) + 1 + int(rng, KINDS.length - 1)) % KINDS.length]!;
          break;
        case "other-action":
          action = policy.actions.length > 1 ? pick(rng, policy.actions) : "doc.write";
          break;
        case "unknown-action":
          action = `none${int(rng, 50)}.${pick(rng, VERBS)}`;
          break;
        case "longer-tenant": {
          const [tenant, ...rest] = prefixOf(rule.glob).split("/");
          path = [`${tenant}${int(rng, 10)}`, ...rest].join("/") + suffix(rng);
          break;
        }
      }
      const req = request(p.kind, p.id, action, path);
      if (!idReferenceAllows(policy, req)) {
        out.push({ request: req, allow: false, variant });
        break;
      }
    }
  }
  return out;
}

/* ---------------------------------------------------------------------------------------------
 * Emitters
 * ------------------------------------------------------------------------------------------- */

/** The policy as `.rules` text (the attribute shapes: see `toLeashAttrRules`). */
export function toLeashRules(policy: ScopePolicy): string {
  return policy.family === "id" ? toLeashIdRules(policy) : toLeashAttrRules(policy);
}

/** Unquoted paths for `spread` (`on tenant-4/*`), quoted strings for `one-action` (`on "tenant-4/*"`). */
function toLeashIdRules(policy: IdPolicy): string {
  const lines = [`// generated by bench/scope-policies.ts: shape=${policy.shape} rules=${policy.rules.length} seed=${policy.seed}`];
  for (const r of policy.rules) {
    const on = policy.shape === "spread" ? r.glob : JSON.stringify(r.glob);
    lines.push(`rule ${r.name}: allow ${r.action} for ${r.kind} ${JSON.stringify(r.id)} on ${on}`);
  }
  return lines.join("\n") + "\n";
}

/** Cedar: one `permit` per rule; the glob becomes `like` (whose `*` also matches any run). */
export function toCedarPolicies(policy: IdPolicy): string {
  return policy.rules
    .map(
      (r) =>
        `@id(${JSON.stringify(r.name)})\n` +
        `permit (principal == ${CEDAR_TYPE[r.kind]}::${JSON.stringify(r.id)}, action == Action::${JSON.stringify(r.action)}, resource)\n` +
        `when { resource.path like ${JSON.stringify(r.glob)} };`,
    )
    .join("\n");
}

export function cedarPrincipal(kind: PrincipalKind, id: string): { type: string; id: string } {
  return { type: CEDAR_TYPE[kind], id };
}

/**
 * casbin ACL. `keyMatch` is used, not `globMatch`: keyMatch's trailing `*` matches any run
 * including `/` (leash semantics), while globMatch (minimatch) stops `*` at `/`.
 */
export const CASBIN_MODEL = `[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.act == p.act && keyMatch(r.obj, p.obj)
`;

export function casbinSubject(kind: PrincipalKind, id: string): string {
  return `${kind}:${id}`;
}

/** casbin policy CSV for `StringAdapter`: `p, <kind>:<id>, <glob>, <action>`. */
export function toCasbinPolicy(policy: IdPolicy): string {
  for (const r of policy.rules) {
    if (r.glob.indexOf("*") !== r.glob.length - 1) throw new Error(`keyMatch needs a trailing-* glob: ${r.glob}`);
  }
  return policy.rules.map((r) => `p, ${casbinSubject(r.kind, r.id)}, ${r.glob}, ${r.action}`).join("\n") + "\n";
}

/** A CASL raw rule: `can(action, "all", { path: { $regex } })`. */
export interface CaslRawRule {
  readonly action: string;
  readonly subject: "all";
  readonly conditions: { readonly path: { readonly $regex: RegExp } };
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map((s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")).join("[\\s\\S]*")}$`);
}

/** Raw CASL rules per principal (`<kind>:<id>`); the bench builds and caches one ability each. */
export function toCaslRules(policy: IdPolicy): Map<string, CaslRawRule[]> {
  const out = new Map<string, CaslRawRule[]>();
  for (const r of policy.rules) {
    const key = casbinSubject(r.kind, r.id);
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push({ action: r.action, subject: "all", conditions: { path: { $regex: globToRegExp(r.glob) } } });
  }
  return out;
}

/**
 * The ceiling's index: action -> kind -> id -> first path segment (`tenant-4/`) -> prefixes.
 * Every generated prefix contains a `/`, so a path can only match prefixes filed under its own
 * first segment.
 */
export type CeilingIndex = Map<string, Map<string, Map<string, Map<string, string[]>>>>;

function child<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = make()));
  return v;
}

export function toCeilingIndex(policy: IdPolicy): CeilingIndex {
  const index: CeilingIndex = new Map();
  for (const r of policy.rules) {
    const prefix = prefixOf(r.glob);
    const slash = prefix.indexOf("/");
    if (r.glob.indexOf("*") !== r.glob.length - 1 || slash < 0) {
      throw new Error(`the ceiling handles "<segment>/...*" globs only: ${r.glob}`);
    }
    const byId = child(child(index, r.action, () => new Map()), r.kind, () => new Map());
    const bySegment = child(byId, r.id, () => new Map<string, string[]>());
    child(bySegment, prefix.slice(0, slash + 1), () => []).push(prefix);
  }
  return index;
}

/** The hand-written ceiling: four Map lookups and a `startsWith` per remaining candidate prefix. */
export function ceilingAllows(index: CeilingIndex, req: IdRequest): boolean {
  const bySegment = index.get(req.action)?.get(req.principal.kind)?.get(req.principal.id);
  if (bySegment === undefined) return false;
  const path = req.resource.path;
  const prefixes = bySegment.get(path.slice(0, path.indexOf("/") + 1));
  if (prefixes === undefined) return false;
  for (let i = 0; i < prefixes.length; i++) if (path.startsWith(prefixes[i]!)) return true;
  return false;
}
