/**
 * Attribute-based scope policies for the scope benchmark, emitted once per engine: rules that
 * select principals by an attribute (`for human * { role: "r17" }`) instead of an id, with
 * conditions, deny rules and `[high]` actions. The same list is rendered as leash `.rules` text,
 * CASL abilities (one per principal profile, as an application caches an ability per role), a
 * casbin RBAC model with `g`, a Cedar policy set over entities with parents, and a hand-written JS
 * ceiling (action -> role -> rules). Requests come with the answer of a naive reference scan
 * (`attrReferenceAllows`).
 *
 * Shapes:
 * - `rbac-attr`: `allow aJ.VERB for human * { role: "rK" }`, about n/5 roles over 8 actions.
 * - `abac-cond`: the same, each rule `when resource.tenant == principal.tenant and context.risk < T`.
 * - `mixed`: allows with and without those conditions, allows of `[high]` actions that name them
 *   (`when principal.mfa == true`), wildcard allows (`hK.*`, which a `[high]` action keeps out),
 *   deny rules on an attribute (`{ dept: "dK" } when context.risk >= 80`) and one
 *   `deny * for human * { status: "suspended" }`.
 *
 * Every request carries every attribute with its declared type, so no engine has to decide what a
 * missing attribute means (leash's fail-closed semantics are tested in test/, not here).
 */
import { int, mulberry32, pick, type Rng } from "./seeded.js";

export type AttrShape = "rbac-attr" | "abac-cond" | "mixed";
export const ATTR_SHAPES: readonly AttrShape[] = ["rbac-attr", "abac-cond", "mixed"];

const VERBS = ["read", "run", "write", "list", "delete", "share", "copy", "tag"] as const;
/** The plain actions of every shape: `a0.read` ... `a7.tag`. */
const PLAIN: readonly string[] = VERBS.map((v, i) => `a${i}.${v}`);
/** The mixed shape's second family: `hK.view` (plain) and `hK.approve` (`[high]`). */
const H_DOMAINS = 4;
const RISK_LIMITS = [30, 50, 70] as const;
/** Deny rules on a department apply from this risk on; allowed requests stay below it. */
const DENY_RISK = 80;
const SALT: Record<AttrShape, number> = { "rbac-attr": 0x2c1b3c6d, "abac-cond": 0x297a2d39, mixed: 0x6b43a9b5 };

export interface AttrRule {
  readonly name: string;
  readonly effect: "allow" | "deny";
  /** Exact action names, `hK.*` (one or more segments after `hK.`), or `*`. */
  readonly targets: readonly string[];
  readonly role: string | null;
  readonly dept: string | null;
  readonly status: "suspended" | null;
  /** `when resource.tenant == principal.tenant` */
  readonly sameTenant: boolean;
  /** `when context.risk < N` */
  readonly riskBelow: number | null;
  /** `when context.risk >= N` */
  readonly riskAtLeast: number | null;
  /** `when principal.mfa == true` */
  readonly mfa: boolean;
}

export interface AttrPolicy {
  readonly family: "attr";
  readonly shape: AttrShape;
  readonly seed: number;
  readonly rules: readonly AttrRule[];
  readonly roles: readonly string[];
  readonly depts: readonly string[];
  readonly tenants: readonly string[];
  /** Every concrete action the policy knows (the actions block of `mixed`). */
  readonly actions: readonly string[];
  /** The `[high]` actions: only an allow rule that names one allows it. */
  readonly high: readonly string[];
}

export interface AttrPrincipal {
  readonly kind: "human" | "agent";
  readonly id: string;
  readonly role: string;
  readonly tenant: string;
  readonly dept: string;
  readonly status: "active" | "suspended";
  readonly mfa: boolean;
}

/** The leash request shape; every engine's input is derived from it before timing starts. */
export interface AttrRequest {
  readonly principal: AttrPrincipal;
  readonly action: string;
  readonly resource: { readonly type: "doc"; readonly tenant: string };
  readonly context: { readonly risk: number };
  readonly time: number;
}

const names = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

function rule(name: string, effect: "allow" | "deny", targets: readonly string[], parts: Partial<AttrRule>): AttrRule {
  return { name, effect, targets, role: null, dept: null, status: null, sameTenant: false, riskBelow: null, riskAtLeast: null, mfa: false, ...parts };
}

/** Allow rules on plain actions, each a (role, action) pair not drawn before. */
function plainAllows(rng: Rng, count: number, roles: readonly string[], conditioned: (i: number) => boolean, out: AttrRule[]): void {
  const seen = new Set<string>();
  for (let i = 0, attempts = 0; i < count && attempts < count * 50; attempts++) {
    const role = pick(rng, roles);
    const action = pick(rng, PLAIN);
    if (seen.has(`${role} ${action}`)) continue;
    seen.add(`${role} ${action}`);
    const cond = conditioned(i);
    out.push(rule(`r${out.length}`, "allow", [action], { role, sameTenant: cond, riskBelow: cond ? pick(rng, RISK_LIMITS) : null }));
    i++;
  }
}

export function attrPolicy(shape: AttrShape, ruleCount: number, seed = 0x1ea5): AttrPolicy {
  const rng = mulberry32(seed ^ Math.imul(ruleCount, 2654435761) ^ SALT[shape]);
  const roles = names("r", Math.max(2, Math.ceil(ruleCount / 5)));
  const depts = names("d", Math.max(2, Math.ceil(ruleCount / 20)));
  const tenants = names("t", Math.max(3, Math.ceil(Math.sqrt(ruleCount))));
  const rules: AttrRule[] = [];
  if (shape !== "mixed") {
    plainAllows(rng, ruleCount, roles, () => shape === "abac-cond", rules);
    return { family: "attr", shape, seed, rules, roles, depts, tenants, actions: PLAIN, high: [] };
  }
  const views = names("h", H_DOMAINS).map((d) => `${d}.view`);
  const high = names("h", H_DOMAINS).map((d) => `${d}.approve`);
  const denies = Math.max(2, Math.round(ruleCount / 10));
  const highAllows = Math.max(1, Math.round(ruleCount / 10));
  const wildcards = Math.max(1, Math.round(ruleCount / 20));
  plainAllows(rng, ruleCount - denies - highAllows - wildcards, roles, (i) => i % 2 === 0, rules);
  for (let i = 0; i < highAllows; i++) rules.push(rule(`r${rules.length}`, "allow", [pick(rng, high)], { role: pick(rng, roles), mfa: true }));
  for (let i = 0; i < wildcards; i++) rules.push(rule(`r${rules.length}`, "allow", [`h${int(rng, H_DOMAINS)}.*`], { role: pick(rng, roles) }));
  rules.push(rule(`r${rules.length}`, "deny", ["*"], { status: "suspended" }));
  for (let i = 1; i < denies; i++) {
    const targets = [...new Set([pick(rng, PLAIN), pick(rng, PLAIN)])];
    rules.push(rule(`r${rules.length}`, "deny", targets, { dept: pick(rng, depts), riskAtLeast: DENY_RISK }));
  }
  return { family: "attr", shape, seed, rules, roles, depts, tenants, actions: [...PLAIN, ...views, ...high], high };
}

/* ---------------------------------------------------------------------------------------------
 * Reference semantics
 * ------------------------------------------------------------------------------------------- */

/** `*` is every action; `d.*` is every action of domain `d` (one or more segments after it). */
export function targetMatches(target: string, action: string): boolean {
  if (target === "*") return true;
  if (target.endsWith(".*")) return action.startsWith(target.slice(0, -1)) && action.length > target.length - 1;
  return target === action;
}

function ruleMatches(r: AttrRule, q: AttrRequest): boolean {
  const p = q.principal;
  return (
    p.kind === "human" &&
    r.targets.some((t) => targetMatches(t, q.action)) &&
    (r.role === null || p.role === r.role) &&
    (r.dept === null || p.dept === r.dept) &&
    (r.status === null || p.status === r.status) &&
    (!r.sameTenant || q.resource.tenant === p.tenant) &&
    (r.riskBelow === null || q.context.risk < r.riskBelow) &&
    (r.riskAtLeast === null || q.context.risk >= r.riskAtLeast) &&
    (!r.mfa || p.mfa === true)
  );
}

/** The oracle: a matching deny wins; a `[high]` action needs an allow rule naming it; else any matching allow. */
export function attrReferenceAllows(policy: AttrPolicy, q: AttrRequest): boolean {
  if (policy.rules.some((r) => r.effect === "deny" && ruleMatches(r, q))) return false;
  const high = policy.high.includes(q.action);
  return policy.rules.some((r) => r.effect === "allow" && ruleMatches(r, q) && (!high || r.targets.includes(q.action)));
}

/** The concrete actions a rule can decide: wildcards expanded, `[high]` actions left out of wildcard allows. */
export function concreteActions(policy: AttrPolicy, r: AttrRule): string[] {
  return policy.actions.filter((a) => r.targets.some((t) => targetMatches(t, a)) && !(r.effect === "allow" && policy.high.includes(a) && !r.targets.includes(a)));
}

/* ---------------------------------------------------------------------------------------------
 * Requests: about half allowed, half near misses
 * ------------------------------------------------------------------------------------------- */

export interface LabelledAttrRequest {
  readonly request: AttrRequest;
  readonly allow: boolean;
  readonly variant: string;
}

function request(rng: Rng, policy: AttrPolicy, r: AttrRule, index: number, time: number): AttrRequest {
  const tenant = pick(rng, policy.tenants);
  const action = pick(rng, concreteActions(policy, r));
  const risk = r.riskBelow !== null ? int(rng, r.riskBelow) : int(rng, DENY_RISK);
  const principal: AttrPrincipal = {
    kind: "human",
    id: `u-${index}`,
    role: r.role ?? pick(rng, policy.roles),
    tenant,
    dept: pick(rng, policy.depts),
    status: "active",
    mfa: r.mfa || rng() < 0.5,
  };
  return { principal, action, resource: { type: "doc", tenant: r.sameTenant ? tenant : pick(rng, policy.tenants) }, context: { risk }, time };
}

const MISSES = ["other-role", "other-action", "unknown-action", "other-kind", "other-tenant", "high-risk", "no-mfa", "wildcard-high", "denied-dept", "suspended"] as const;

/**
 * `count` requests alternating between one a random allow rule allows and a near miss the
 * reference denies: another role, another or an unknown action, another principal kind, another
 * tenant, a risk at the rule's limit or above, no MFA for a `[high]` action, a `[high]` action a
 * wildcard allow reaches, a department a deny rule names at high risk, a suspended principal.
 */
export function attrRequests(policy: AttrPolicy, count: number, time: number, seed = 0xbe7c4): LabelledAttrRequest[] {
  const rng = mulberry32(seed ^ policy.rules.length ^ SALT[policy.shape]);
  const allows = policy.rules.filter((r) => r.effect === "allow");
  const denies = policy.rules.filter((r) => r.dept !== null);
  const wildcards = allows.filter((r) => r.targets.some((t) => t.endsWith(".*")));
  const out: LabelledAttrRequest[] = [];
  while (out.length < count) {
    const i = out.length;
    if (i % 2 === 0) {
      const req = request(rng, policy, pick(rng, allows), i, time);
      if (attrReferenceAllows(policy, req)) out.push({ request: req, allow: true, variant: "allow" });
      continue;
    }
    for (let attempt = 0; ; attempt++) {
      if (attempt > 1000) throw new Error(`cannot draw a denied request for ${policy.shape}/${policy.rules.length}`);
      const variant = pick(rng, MISSES);
      const base = pick(rng, allows);
      let req = request(rng, policy, base, i, time);
      const p = req.principal;
      switch (variant) {
        case "other-role":
          req = { ...req, principal: { ...p, role: pick(rng, policy.roles) } };
          break;
        case "other-action":
          req = { ...req, action: pick(rng, policy.actions) };
          break;
        case "unknown-action":
          req = { ...req, action: `none${int(rng, 50)}.${pick(rng, VERBS)}` };
          break;
        case "other-kind":
          req = { ...req, principal: { ...p, kind: "agent" } };
          break;
        case "other-tenant":
          req = { ...req, resource: { ...req.resource, tenant: pick(rng, policy.tenants) } };
          break;
        case "high-risk":
          req = { ...req, context: { risk: (base.riskBelow ?? DENY_RISK) + int(rng, 20) } };
          break;
        case "no-mfa":
          req = { ...req, principal: { ...p, mfa: false } };
          break;
        case "wildcard-high": {
          if (wildcards.length === 0 || policy.high.length === 0) continue;
          const w = pick(rng, wildcards);
          req = { ...request(rng, policy, w, i, time), action: `${w.targets[0]!.slice(0, -2)}.approve` };
          break;
        }
        case "denied-dept": {
          if (denies.length === 0) continue;
          const d = pick(rng, denies);
          req = { ...req, action: pick(rng, d.targets), principal: { ...p, dept: d.dept! }, context: { risk: DENY_RISK + int(rng, 20) } };
          break;
        }
        case "suspended":
          req = { ...req, principal: { ...p, status: "suspended" } };
          break;
      }
      if (!attrReferenceAllows(policy, req)) {
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

const SCHEMA = `schema {
  principal { kind: "human" | "service" | "agent" | "token", id: string, role: string, tenant: string, dept: string, status: "active" | "suspended", mfa: bool }
  resource  { type: string, tenant: string }
  context   { risk: number }
}`;

function leashCondition(r: AttrRule): string {
  const parts: string[] = [];
  if (r.sameTenant) parts.push("resource.tenant == principal.tenant");
  if (r.riskBelow !== null) parts.push(`context.risk < ${r.riskBelow}`);
  if (r.riskAtLeast !== null) parts.push(`context.risk >= ${r.riskAtLeast}`);
  if (r.mfa) parts.push("principal.mfa == true");
  return parts.length === 0 ? "" : `\n  when ${parts.join(" and ")}`;
}

function leashSelector(r: AttrRule): string {
  const attrs = [r.role && `role: ${JSON.stringify(r.role)}`, r.dept && `dept: ${JSON.stringify(r.dept)}`, r.status && `status: ${JSON.stringify(r.status)}`].filter(Boolean);
  return `human *${attrs.length > 0 ? ` { ${attrs.join(", ")} }` : ""}`;
}

/** `rule r3: allow a3.list for human * { role: "r17" }` with `when ...`; a schema (not in rbac-attr) and, in mixed, an actions block. */
export function toLeashAttrRules(policy: AttrPolicy): string {
  const lines = [`// generated by bench/scope-attributes.ts: shape=${policy.shape} rules=${policy.rules.length} seed=${policy.seed}`];
  if (policy.shape !== "rbac-attr") lines.push(SCHEMA);
  if (policy.high.length > 0) {
    const plain = policy.actions.filter((a) => !policy.high.includes(a));
    lines.push(`actions {\n  ${plain.join(", ")}\n  ${policy.high.join(", ")} [high]\n}`);
  }
  for (const r of policy.rules) lines.push(`rule ${r.name}: ${r.effect} ${r.targets.join(", ")} for ${leashSelector(r)}${leashCondition(r)}`);
  return lines.join("\n") + "\n";
}

/** Cedar: principals are `Human` (or `Agent`) entities whose parents are their `Role` and `Dept`. */
export function toCedarAttrPolicies(policy: AttrPolicy): string {
  return policy.rules
    .map((r) => {
      const scope = r.role !== null ? ` in Role::${JSON.stringify(r.role)}` : r.dept !== null ? ` in Dept::${JSON.stringify(r.dept)}` : "";
      const actions = r.targets.includes("*") ? "action" : `action in [${concreteActions(policy, r).map((a) => `Action::${JSON.stringify(a)}`).join(", ")}]`;
      const when: string[] = [];
      if (r.status !== null) when.push(`principal.status == ${JSON.stringify(r.status)}`);
      if (r.sameTenant) when.push("resource.tenant == principal.tenant");
      if (r.riskBelow !== null) when.push(`context.risk < ${r.riskBelow}`);
      if (r.riskAtLeast !== null) when.push(`context.risk >= ${r.riskAtLeast}`);
      if (r.mfa) when.push("principal.mfa == true");
      const effect = r.effect === "allow" ? "permit" : "forbid";
      return `@id(${JSON.stringify(r.name)})\n${effect} (principal is Human${scope}, ${actions}, resource)${when.length > 0 ? `\nwhen { ${when.join(" && ")} }` : ""};`;
    })
    .join("\n");
}

interface CedarUid {
  readonly type: string;
  readonly id: string;
}

/** The Cedar entities of one request: the principal with its role and department as parents, and the resource. */
export function cedarAttrEntities(q: AttrRequest): {
  principal: CedarUid;
  resource: CedarUid;
  entities: { uid: CedarUid; attrs: Record<string, string | boolean>; parents: CedarUid[] }[];
} {
  const p = q.principal;
  const uid = { type: p.kind === "human" ? "Human" : "Agent", id: p.id };
  const role = { type: "Role", id: p.role };
  const dept = { type: "Dept", id: p.dept };
  const resource = { type: "Doc", id: "doc" };
  return {
    principal: uid,
    resource,
    entities: [
      { uid, attrs: { tenant: p.tenant, status: p.status, mfa: p.mfa }, parents: [role, dept] },
      { uid: role, attrs: {}, parents: [] },
      { uid: dept, attrs: {}, parents: [] },
      { uid: resource, attrs: { tenant: q.resource.tenant }, parents: [] },
    ],
  };
}

/**
 * casbin RBAC with `g`: users get their role, department and status as groups (`g, u-7, role:r3`),
 * and each policy line carries its conditions as fields the matcher reads.
 */
export const CASBIN_ATTR_MODEL = `[request_definition]
r = sub, act, obj, env

[policy_definition]
p = sub, act, same, below, atleast, mfa, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub.id, p.sub) && r.sub.kind == "human" && keyMatch(r.act, p.act) && (p.same == "n" || r.obj.tenant == r.sub.tenant) && r.env.risk < p.below && r.env.risk >= p.atleast && (p.mfa == "n" || r.sub.mfa == true)
`;

/** Policy lines (`p, role:r3, a3.list, y, 50, -1e9, n, allow`) and the group of every principal the requests name. */
export function toCasbinAttrPolicy(policy: AttrPolicy, requests: readonly AttrRequest[]): string {
  const lines: string[] = [];
  for (const r of policy.rules) {
    const sub = r.role !== null ? `role:${r.role}` : r.dept !== null ? `dept:${r.dept}` : `status:${r.status}`;
    const acts = r.targets.includes("*") ? ["*"] : concreteActions(policy, r);
    for (const a of acts) lines.push(`p, ${sub}, ${a}, ${r.sameTenant ? "y" : "n"}, ${r.riskBelow ?? "1e9"}, ${r.riskAtLeast ?? "-1e9"}, ${r.mfa ? "y" : "n"}, ${r.effect}`);
  }
  const seen = new Set<string>();
  for (const { principal: p } of requests) {
    if (seen.has(p.id)) continue;
    seen.add(p.id);
    lines.push(`g, ${p.id}, role:${p.role}`, `g, ${p.id}, dept:${p.dept}`, `g, ${p.id}, status:${p.status}`);
  }
  return lines.join("\n") + "\n";
}

/** A CASL raw rule (`can` or, inverted, `cannot`). */
export interface CaslAttrRule {
  readonly action: string | readonly string[];
  readonly subject: string;
  readonly conditions?: Record<string, unknown>;
  readonly inverted?: boolean;
}

/** The principal attributes an ability depends on: requests with the same profile share one ability. */
export function caslProfile(p: AttrPrincipal): string {
  return `${p.kind}|${p.role}|${p.tenant}|${p.dept}|${p.status}|${p.mfa}`;
}

/**
 * The rules of one principal's ability, as `defineAbilityFor(user)` would write them: allows of its
 * role (the principal's tenant and MFA filled in), then denies of its department and status, which
 * CASL lets override the allows defined before them. Subjects are `Doc` with `tenant` and `risk`.
 */
export function caslAttrRules(policy: AttrPolicy, p: AttrPrincipal): CaslAttrRule[] {
  if (p.kind !== "human") return [];
  const allows: CaslAttrRule[] = [];
  const denies: CaslAttrRule[] = [];
  for (const r of policy.rules) {
    if (r.effect === "allow") {
      if (r.role !== p.role || (r.mfa && !p.mfa)) continue;
      const conditions: Record<string, unknown> = {};
      if (r.sameTenant) conditions.tenant = p.tenant;
      if (r.riskBelow !== null) conditions.risk = { $lt: r.riskBelow };
      allows.push({ action: concreteActions(policy, r), subject: "Doc", ...(Object.keys(conditions).length > 0 ? { conditions } : {}) });
    } else if (r.status !== null) {
      if (p.status === r.status) denies.push({ action: "manage", subject: "all", inverted: true });
    } else if (r.dept === p.dept) {
      denies.push({ action: concreteActions(policy, r), subject: "Doc", conditions: { risk: { $gte: r.riskAtLeast } }, inverted: true });
    }
  }
  return [...allows, ...denies];
}

/* ---------------------------------------------------------------------------------------------
 * Hand-written ceiling: action -> (deny lists by department, allow lists by role)
 * ------------------------------------------------------------------------------------------- */

interface CeilingAllow {
  readonly sameTenant: boolean;
  readonly riskBelow: number;
  readonly mfa: boolean;
}

interface CeilingAction {
  readonly allowByRole: Map<string, CeilingAllow[]>;
  readonly denyByDept: Map<string, number[]>;
  denySuspended: boolean;
}

export type AttrCeilingIndex = Map<string, CeilingAction>;

export function toAttrCeilingIndex(policy: AttrPolicy): AttrCeilingIndex {
  const index: AttrCeilingIndex = new Map();
  const entry = (a: string): CeilingAction => {
    let e = index.get(a);
    if (e === undefined) index.set(a, (e = { allowByRole: new Map(), denyByDept: new Map(), denySuspended: false }));
    return e;
  };
  for (const r of policy.rules) {
    for (const a of concreteActions(policy, r)) {
      const e = entry(a);
      if (r.effect === "allow") {
        let list = e.allowByRole.get(r.role!);
        if (list === undefined) e.allowByRole.set(r.role!, (list = []));
        list.push({ sameTenant: r.sameTenant, riskBelow: r.riskBelow ?? Infinity, mfa: r.mfa });
      } else if (r.status !== null) e.denySuspended = true;
      else {
        let list = e.denyByDept.get(r.dept!);
        if (list === undefined) e.denyByDept.set(r.dept!, (list = []));
        list.push(r.riskAtLeast!);
      }
    }
  }
  return index;
}

/** Every rule of these shapes is for `human *`, so other kinds are denied at once. */
export function attrCeilingAllows(index: AttrCeilingIndex, q: AttrRequest): boolean {
  const a = index.get(q.action);
  if (a === undefined) return false;
  const p = q.principal;
  if (p.kind !== "human") return false;
  if (a.denySuspended && p.status === "suspended") return false;
  const risk = q.context.risk;
  const denies = a.denyByDept.get(p.dept);
  if (denies !== undefined) for (let i = 0; i < denies.length; i++) if (risk >= denies[i]!) return false;
  const allows = a.allowByRole.get(p.role);
  if (allows === undefined) return false;
  for (let i = 0; i < allows.length; i++) {
    const r = allows[i]!;
    if ((!r.sameTenant || q.resource.tenant === p.tenant) && risk < r.riskBelow && (!r.mfa || p.mfa)) return true;
  }
  return false;
}
