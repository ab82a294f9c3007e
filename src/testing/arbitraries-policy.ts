import fc from "fast-check";
import type { Principal, Request, Resource, Signal } from "../runtime/types.js";

/**
 * fast-check arbitraries for random, valid `.rules` policies (as source text) and for traces of
 * requests and signals over a small shared vocabulary, so that random policies and random traces
 * actually meet: rules target the same few actions the requests carry, histories are keyed by the
 * same few sessions, principals and addresses, and time gaps land on and around the windows.
 *
 * Used by leash's own differential tests (compiled engine against a reference interpreter) and
 * published through `leash/testing` for users who test their own integrations.
 */

/** The names random policies and traces share. */
export interface PolicyVocabulary {
  /** Action names; rules target them (or wildcards over them) and requests carry them. */
  readonly actions: readonly string[];
  /** Actions declared `[high]` when a policy has an actions block (a subset of `actions`). */
  readonly highActions: readonly string[];
  /** Signal names for `observe`. */
  readonly signals: readonly string[];
  readonly principals: readonly Principal[];
  readonly sessions: readonly string[];
  readonly ips: readonly string[];
  /** Resource paths (sometimes sent as `resource.id` instead). */
  readonly resources: readonly string[];
  /** Windows and durations the policies use, in ms; trace gaps straddle them. */
  readonly windowsMs: readonly number[];
  /** The time of a trace's first event. */
  readonly startTime: number;
}

export const DEFAULT_VOCABULARY: PolicyVocabulary = {
  actions: ["a.x", "a.y", "b.x", "b.z"],
  highActions: ["b.z"],
  signals: ["s.fail", "s.ok"],
  principals: [
    { kind: "agent", id: "bot-1" },
    { kind: "agent", id: "bot-2", team: "ops" },
    { kind: "service", id: "svc-a", team: "billing" },
    { kind: "human", id: "alice", team: "ops" },
  ],
  sessions: ["s1", "s2"],
  ips: ["10.0.0.1", "10.0.0.2", "192.168.0.7"],
  resources: ["repo/app", "secret/billing/key", "secret/other", "docs/app.md"],
  windowsMs: [1000, 2000, 5000, 10000],
  startTime: 1_700_000_000_000,
};

/** One step of a trace: a request to decide or a signal to observe. */
export type TraceEvent = { readonly decide: Request } | { readonly observe: Signal };

/* ---- policy text ------------------------------------------------------------------------------ */

export type RuleEffect = "allow" | "deny" | "challenge" | "revoke" | "flag";

/** A generated rule before it is written out; `name` is assigned by position. */
interface RuleText {
  readonly effect: RuleEffect;
  readonly targets: readonly string[];
  readonly principals: readonly string[];
  readonly resources: readonly string[];
  /** Rendered clauses: `when ...`, `unless ...`, `limit ...`, `label ...`, `target ...`. */
  readonly clauses: readonly string[];
}

const LABELS = ["tainted", "seen"] as const;
const WORKFLOW = "wf0";

function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function arbEffect(revokeWeight: number): fc.Arbitrary<RuleEffect> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant<RuleEffect>("allow") },
    { weight: 4, arbitrary: fc.constant<RuleEffect>("deny") },
    { weight: 4, arbitrary: fc.constant<RuleEffect>("challenge") },
    { weight: 4, arbitrary: fc.constant<RuleEffect>("flag") },
    { weight: revokeWeight, arbitrary: fc.constant<RuleEffect>("revoke") },
  );
}

/** Exact names and wildcards that match at least one vocabulary action (so an actions block accepts them). */
function targetPatterns(v: PolicyVocabulary): string[] {
  const domains = [...new Set(v.actions.map((a) => a.split(".")[0]!))];
  const lasts = [...new Set(v.actions.map((a) => a.split(".").slice(1).join(".")))].filter((s) => s !== "" && !s.includes("."));
  return [...v.actions, ...domains.map((d) => `${d}.*`), ...lasts.map((l) => `*.${l}`), "*"];
}

function arbTargets(v: PolicyVocabulary): fc.Arbitrary<string[]> {
  return fc.uniqueArray(fc.constantFrom(...targetPatterns(v)), { minLength: 1, maxLength: 2 });
}

function arbPrincipals(v: PolicyVocabulary): fc.Arbitrary<string[]> {
  const kinds = [...new Set(v.principals.map((p) => p.kind))];
  const selectors = [
    "*",
    ...kinds,
    ...kinds.map((k) => `${k} *`),
    ...v.principals.map((p) => `${p.kind} ${JSON.stringify(p.id)}`),
    ...v.principals.map((p) => `${p.kind} ${JSON.stringify(p.id.slice(0, -1) + "*")}`),
  ];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([]) },
    { weight: 2, arbitrary: fc.uniqueArray(fc.constantFrom(...selectors), { minLength: 1, maxLength: 2 }) },
  );
}

function arbResources(v: PolicyVocabulary): fc.Arbitrary<string[]> {
  const globs = [
    ...new Set(v.resources.map((r) => `${r.split("/")[0]}/*`)),
    ...v.resources.map((r) => JSON.stringify(r)),
    '"*app*"',
    '"secret/*/key"',
  ];
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant<string[]>([]) },
    { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom(...globs), { minLength: 1, maxLength: 2 }) },
  );
}

/** Conditions over request attributes only. */
const SCOPE_ATOMS = [
  "context.risk < 0.5",
  "context.risk >= 0.9",
  "context.risk > 0.2",
  "context.risk <= 0.5",
  'context.tier == "gold"',
  'context.tier != "free"',
  'context.tier in ["gold", "silver"]',
  "context.mfa",
  "context.mfa == true",
  "context has mfa",
  "context has risk",
  "principal has team",
  'principal.team == "ops"',
  'principal.id like "bot-*"',
  'principal.kind == "agent"',
  'resource.path like "secret/*"',
  'resource.path like "*app*"',
  "resource has path",
  'action.domain == "a"',
  'action.name != "a.x"',
  'context.ip == "10.0.0.1"',
  'context.ip like "10.*"',
];

function arbCondition(atom: fc.Arbitrary<string>, maxDepth: number): fc.Arbitrary<string> {
  if (maxDepth <= 0) return atom;
  const sub = arbCondition(atom, maxDepth - 1);
  return fc.oneof(
    { weight: 5, arbitrary: atom },
    { weight: 1, arbitrary: sub.map((e) => `not (${e})`) },
    { weight: 2, arbitrary: fc.tuple(sub, sub).map(([a, b]) => `(${a} and ${b})`) },
    { weight: 2, arbitrary: fc.tuple(sub, sub).map(([a, b]) => `(${a} or ${b})`) },
  );
}

function arbConditionClauses(atom: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  const clause = fc.tuple(fc.boolean(), arbCondition(atom, 2)).map(([negated, e]) => `${negated ? "unless" : "when"} ${e}`);
  return fc.array(clause, { maxLength: 2 });
}

function arbRevokeTarget(): fc.Arbitrary<string[]> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant<string[]>([]) },
    { weight: 1, arbitrary: fc.constantFrom("target principal", "target session", "target context.ip").map((t) => [t]) },
  );
}

function arbScopeRule(v: PolicyVocabulary, revokeWeight: number): fc.Arbitrary<RuleText> {
  return fc
    .record({
      effect: arbEffect(revokeWeight),
      targets: arbTargets(v),
      principals: arbPrincipals(v),
      resources: arbResources(v),
      conditions: arbConditionClauses(fc.constantFrom(...SCOPE_ATOMS)),
      revokeTarget: arbRevokeTarget(),
      reason: fc.boolean(),
    })
    .map((r) => ({
      effect: r.effect,
      targets: r.targets,
      principals: r.principals,
      resources: r.resources,
      clauses: [...r.conditions, ...(r.effect === "revoke" ? r.revokeTarget : []), ...(r.reason ? ['reason "generated"'] : [])],
    }));
}

function renderRule(rule: RuleText, name: string): string {
  const head = `rule ${name}: ${rule.effect} ${rule.targets.join(", ")}`;
  const parts = [head];
  if (rule.principals.length > 0) parts.push(`for ${rule.principals.join(", ")}`);
  if (rule.resources.length > 0) parts.push(`on ${rule.resources.join(", ")}`);
  return [parts.join(" "), ...rule.clauses.map((c) => `  ${c}`)].join("\n");
}

function renderActionsBlock(v: PolicyVocabulary): string {
  const plain = v.actions.filter((a) => !v.highActions.includes(a));
  const lines = [plain.join(", ")];
  if (v.highActions.length > 0) lines.push(`${v.highActions.join(", ")} [high]`);
  return `actions {\n${lines.map((l) => `  ${l}`).join("\n")}\n}`;
}

/** Rules named `r0`, `r1`, ... in order, with an optional actions block (which makes `highActions` [high]). */
function renderPolicy(rules: readonly RuleText[], extra: readonly string[], actionsBlock: boolean, v: PolicyVocabulary): string {
  const items = [...(actionsBlock ? [renderActionsBlock(v)] : []), ...rules.map((r, i) => renderRule(r, `r${i}`)), ...extra];
  return items.join("\n\n") + "\n";
}

/**
 * Random scope policies: allow/deny/challenge/revoke/flag rules over the vocabulary's actions
 * (with wildcards), principal selectors by kind, id and id glob, resource globs, and `when` /
 * `unless` conditions over `context.risk|tier|mfa|ip`, `principal.team` and `resource.path` with
 * `== != < <= > >= in like has and or not`. Sometimes an actions block marks `highActions` [high].
 */
export function arbScopePolicy(v: PolicyVocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(arbScopeRule(v, 2), { minLength: 0, maxLength: 6 }), fc.boolean())
    .map(([rules, actionsBlock]) => renderPolicy(rules, [], actionsBlock, v));
}

/**
 * One random scope rule named `name` as source text, with an effect from `effects` (for laws that
 * add a rule to a policy: adding a deny never turns a deny into an allow).
 */
export function arbScopeRuleSource(name: string, effects: readonly RuleEffect[] = ["allow", "deny", "challenge", "revoke", "flag"], v: PolicyVocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<string> {
  return fc.tuple(arbScopeRule(v, 2), fc.constantFrom(...effects)).map(([rule, effect]) =>
    renderRule({ ...rule, effect, clauses: rule.clauses.filter((c) => effect === "revoke" || !c.startsWith("target ")) }, name),
  );
}

/* ---- sequence operators ----------------------------------------------------------------------- */

const KEYS = ["session", "principal", "context.ip"] as const;

function arbKey(): fc.Arbitrary<string> {
  return fc.constantFrom(...KEYS);
}

function arbWindow(v: PolicyVocabulary): fc.Arbitrary<string> {
  return fc.constantFrom(...v.windowsMs).map(durationText);
}

const ALL_FILTERS = ["", "allowed", "attempted", "denied", "signal"];

/** `[filter] name | name` over actions, signals and wildcards, leaving out the names in `except`. */
function arbEvents(v: PolicyVocabulary, filters: readonly string[] = ALL_FILTERS, except: readonly string[] = []): fc.Arbitrary<string> {
  const names = [...v.actions, ...v.signals, ...targetPatterns(v).filter((p) => p.includes("*") && p !== "*")].filter((n) => !except.includes(n));
  return fc
    .tuple(
      fc.constantFrom(...filters),
      fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 2 }),
    )
    .map(([filter, ns]) => `${filter === "" ? "" : filter + " "}${ns.join(" | ")}`);
}

function arbCountOp(): fc.Arbitrary<string> {
  return fc.constantFrom(">=", ">", "<", "==", "!=");
}

/** Conditions over the key's past (every operator of docs/sequences.md). */
function arbTemporalAtom(v: PolicyVocabulary): fc.Arbitrary<string> {
  const ev = arbEvents(v);
  const key = arbKey();
  const win = arbWindow(v);
  const small = fc.nat(3);
  const stop = v.signals[v.signals.length - 1]!;
  const shortWindow = fc.constantFrom(...v.windowsMs.map((w) => w / 2), ...v.windowsMs).map(durationText);
  return fc.oneof(
    fc.tuple(ev, key, fc.option(win, { nil: null }), fc.option(arbEvents(v), { nil: null })).map(
      ([e, k, w, z]) => `after(${e} by ${k}${w === null ? "" : ` within ${w}`}${z === null ? "" : ` until ${z}`})`,
    ),
    fc.tuple(ev, key, win, arbCountOp(), small).map(([e, k, w, o, n]) => `count(${e} by ${k} within ${w}) ${o} ${n}`),
    fc.tuple(ev, key, fc.constantFrom("<", ">="), shortWindow).map(([e, k, o, w]) => `since(${e} by ${k}) ${o} ${w}`),
    fc.tuple(ev, key, fc.constantFrom("<", ">="), shortWindow).map(([e, k, o, w]) => `gap(${e} by ${k}) ${o} ${w}`),
    fc.tuple(
      fc.oneof(
        fc.tuple(fc.constantFrom("context.tier", "resource.path", "principal.id"), fc.option(ev, { nil: null })),
        fc.tuple(fc.constant("action.domain"), arbEvents(v, ["allowed", "attempted", "denied"])),
      ),
      key,
      win,
      fc.constantFrom(">", ">=", "<"),
      small,
    ).map(([[p, e], k, w, o, n]) => `distinct(${p}${e === null ? "" : ` of ${e}`} by ${k} within ${w}) ${o} ${n}`),
    fc.tuple(ev, key, fc.constantFrom(1, 2, 4, 5), win).map(([e, k, n, w]) => `rate(${e} by ${k}, ${n} per ${w})`),
    fc.tuple(ev, key, fc.integer({ min: 2, max: 4 }), fc.constantFrom("<", ">"), fc.constantFrom("0.1", "0.3", "0.6")).map(
      ([e, k, n, o, c]) => `regularity(${e} by ${k} over ${n}) ${o} ${c}`,
    ),
    // The `until` signal is never a stage, so no event is both a stage and a stop.
    fc.tuple(fc.array(arbEvents(v, ALL_FILTERS, [stop]), { minLength: 2, maxLength: 3 }), key, win, fc.option(fc.constant(`signal ${stop}`), { nil: null })).map(
      ([stages, k, w, z]) => `sequence(${stages.join(", ")} by ${k} within ${w}${z === null ? "" : ` until ${z}`})`,
    ),
    fc.constant(`deviates(${WORKFLOW})`),
    fc.constantFrom(...LABELS.map((l) => `session has ${l}`)),
  );
}

/** Clauses with state for allow rules (limit, valid for, label) and flag rules (label). */
function arbStateClauses(v: PolicyVocabulary, effect: RuleEffect): fc.Arbitrary<string[]> {
  const limit = fc
    .tuple(fc.integer({ min: 1, max: 3 }), arbKey(), fc.option(arbWindow(v), { nil: null }))
    .map(([n, k, w]) => `limit ${n} per ${k}${w === null ? "" : ` within ${w}`}`);
  const validFor = fc.tuple(arbWindow(v), fc.option(arbKey(), { nil: null })).map(([w, k]) => `valid for ${w}${k === null ? "" : ` per ${k}`}`);
  const label = fc
    .tuple(fc.constantFrom(...LABELS), fc.option(arbWindow(v), { nil: null }))
    .map(([l, w]) => `label session += ${l}${w === null ? "" : ` for ${w}`}`);
  if (effect === "allow") {
    return fc.tuple(fc.option(limit, { nil: null }), fc.option(validFor, { nil: null }), fc.option(label, { nil: null })).map((cs) => cs.filter((c): c is string => c !== null));
  }
  if (effect === "flag") return fc.option(label, { nil: null }).map((c) => (c === null ? [] : [c]));
  return fc.constant([]);
}

function arbSequenceRule(v: PolicyVocabulary): fc.Arbitrary<RuleText> {
  const atom = fc.oneof({ weight: 3, arbitrary: arbTemporalAtom(v) }, { weight: 1, arbitrary: fc.constantFrom(...SCOPE_ATOMS) });
  return arbEffect(1).chain((effect) =>
    fc
      .record({
        targets: effect === "revoke" || effect === "flag" ? fc.oneof({ weight: 4, arbitrary: arbTargets(v) }, { weight: 1, arbitrary: fc.constantFrom(...v.signals).map((s) => [`signal ${s}`]) }) : arbTargets(v),
        principals: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: arbPrincipals(v) }),
        conditions: fc.array(
          fc.tuple(fc.boolean(), arbCondition(atom, 1)).map(([negated, e]) => `${negated ? "unless" : "when"} ${e}`),
          { maxLength: 2 },
        ),
        state: arbStateClauses(v, effect),
        revokeTarget: arbRevokeTarget(),
      })
      .map((r) => ({
        effect,
        targets: r.targets,
        principals: r.principals,
        resources: [],
        clauses: [...r.conditions, ...r.state, ...(effect === "revoke" ? r.revokeTarget : [])],
      })),
  );
}

/** `workflow wf0 by KEY: s1 -> s2* -> ...` over the vocabulary's actions. */
function arbWorkflow(v: PolicyVocabulary): fc.Arbitrary<string> {
  const step = fc
    .tuple(fc.uniqueArray(fc.constantFrom(...v.actions), { minLength: 1, maxLength: 2 }), fc.constantFrom("", "", "*", "+", "?"))
    .map(([names, mark]) => `${names.length === 1 ? names[0] : `(${names.join(" | ")})`}${mark}`);
  return fc
    .tuple(arbKey(), fc.array(step, { minLength: 1, maxLength: 4 }), fc.constantFrom("", " on deviation flag", " on deviation deny", " on deviation challenge"))
    .map(([key, steps, dev]) => `workflow ${WORKFLOW} by ${key}:\n  ${steps.join(" -> ")}${dev}`);
}

/**
 * Random policies with history: the rules of `arbScopePolicy` plus every sequence operator (after,
 * since, gap, count, distinct, rate, regularity, sequence, deviates, session labels) keyed by
 * `session`, `principal` or `context.ip` over the vocabulary's windows with small thresholds, and
 * the stateful clauses `limit`, `valid for`, `label session +=`, revoke rules on signals and
 * targets, and sometimes a workflow. Labels and the workflow that conditions read are always declared.
 */
export function arbSequencePolicy(v: PolicyVocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(arbSequenceRule(v), { minLength: 1, maxLength: 5 }), fc.option(arbWorkflow(v), { nil: null }), fc.boolean())
    .map(([rules, workflow, actionsBlock]) => {
      const body = rules.map((r, i) => renderRule(r, `r${i}`)).join("\n");
      const extra: string[] = [];
      for (const label of LABELS) {
        const used = body.includes(`session has ${label}`);
        const added = body.includes(`+= ${label}`);
        if (used && !added) extra.push(`rule add-${label}: flag a.x label session += ${label}`);
      }
      if (workflow !== null) extra.push(workflow);
      else if (body.includes(`deviates(${WORKFLOW})`)) extra.push(`workflow ${WORKFLOW} by session:\n  a.x -> a.y* -> b.x`);
      return renderPolicy(rules, extra, actionsBlock, v);
    });
}

/* ---- compound keys, including this, distinct limits, scoped workflows ------------------------- */

/** Compound keys over the vocabulary's keys (a part may be missing from an event: R305). */
const COMPOUND_KEYS = ["(session, context.ip)", "(principal, resource.path)", "(context.ip, session)", "(session, principal)"] as const;

/** What this family's rules are about, for a property to count what it covered. */
export const LANGUAGE_CONSTRUCTS = ["compound key", "including this", "distinct limit", "scoped workflow"] as const;
export type LanguageConstruct = (typeof LANGUAGE_CONSTRUCTS)[number];

function arbAnyKey(): fc.Arbitrary<string> {
  return fc.oneof({ weight: 1, arbitrary: arbKey() }, { weight: 2, arbitrary: fc.constantFrom(...COMPOUND_KEYS) });
}

/** Conditions with compound keys and `including this` (which takes events a request can be). */
function arbLanguageAtom(v: PolicyVocabulary): fc.Arbitrary<string> {
  const ev = arbEvents(v);
  const countable = arbEvents(v, ["", "allowed", "attempted"]);
  const win = arbWindow(v);
  const small = fc.nat(3);
  const including = fc.boolean().map((b) => (b ? " including this" : ""));
  return fc.oneof(
    fc.tuple(ev, fc.constantFrom(...COMPOUND_KEYS), fc.option(win, { nil: null })).map(([e, k, w]) => `after(${e} by ${k}${w === null ? "" : ` within ${w}`})`),
    fc.tuple(countable, arbAnyKey(), win, including, arbCountOp(), small).map(([e, k, w, i, o, n]) => `count(${e} by ${k} within ${w}${i}) ${o} ${n}`),
    fc
      .tuple(fc.constantFrom("context.tier", "resource.path", "principal.id", "action.domain"), fc.option(countable, { nil: null }), arbAnyKey(), win, including, fc.constantFrom(">", ">=", "<"), small)
      .map(([p, e, k, w, i, o, n]) => `distinct(${p}${e === null ? "" : ` of ${e}`} by ${k} within ${w}${i}) ${o} ${n}`),
    fc.constant("deviates(wf1)"),
  );
}

/** One rule of this family: a condition of `arbLanguageAtom`, or an allow rule with a distinct limit. */
function arbLanguageRule(v: PolicyVocabulary, name: string): fc.Arbitrary<string> {
  const targets = arbTargets(v).map((ts) => ts.join(", "));
  const conditional = fc
    .tuple(fc.constantFrom("allow", "deny", "challenge", "flag"), targets, fc.boolean(), arbLanguageAtom(v))
    .map(([effect, t, negated, atom]) => `rule ${name}: ${effect} ${t}\n  ${negated ? "unless" : "when"} ${atom}`);
  const limited = fc
    .tuple(targets, fc.integer({ min: 1, max: 3 }), fc.constantFrom("resource", "context.tier", "principal.id"), arbAnyKey(), fc.option(arbWindow(v), { nil: null }))
    .map(([t, n, a, k, w]) => `rule ${name}: allow ${t}\n  limit ${n} distinct ${a} per ${k}${w === null ? "" : ` within ${w}`}`);
  return fc.oneof({ weight: 2, arbitrary: conditional }, { weight: 1, arbitrary: limited });
}

/**
 * `workflow wf1 by KEY over D.*, ...: s1 -> s2* -> ...`: a scoped workflow over the domains of its
 * steps (and sometimes every action), so that an action of a domain no step names deviates.
 */
function arbScopedWorkflow(v: PolicyVocabulary): fc.Arbitrary<string> {
  const step = fc
    .tuple(fc.uniqueArray(fc.constantFrom(...v.actions), { minLength: 1, maxLength: 2 }), fc.constantFrom("", "", "*", "+", "?"))
    .map(([names, mark]) => ({ names, text: `${names.length === 1 ? names[0] : `(${names.join(" | ")})`}${mark}` }));
  return fc
    .tuple(arbAnyKey(), fc.array(step, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.constantFrom(" on deviation flag", " on deviation deny", ""))
    .map(([key, steps, everything, dev]) => {
      const domains = [...new Set(steps.flatMap((s) => s.names.map((n) => `${n.split(".")[0]}.*`)))];
      return `workflow wf1 by ${key} over ${everything ? "*" : domains.join(", ")}:\n  ${steps.map((s) => s.text).join(" -> ")}${dev}`;
    });
}

/**
 * Policies of `arbSequencePolicy` with one to three rules of this family (compound keys in
 * histories and limits, `including this`, distinct limits) and a scoped workflow `wf1`, and the
 * constructs the policy uses.
 */
export function arbLanguagePolicy(v: PolicyVocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<{ source: string; constructs: ReadonlySet<LanguageConstruct> }> {
  return fc
    .tuple(arbSequencePolicy(v), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }).chain((xs) => fc.tuple(...xs.map((_, i) => arbLanguageRule(v, `l${i}`)))), arbScopedWorkflow(v))
    .map(([base, rules, workflow]) => {
      const source = `${base}\n${rules.join("\n")}\n${workflow}\n`;
      const constructs = new Set<LanguageConstruct>(["scoped workflow"]);
      if (COMPOUND_KEYS.some((k) => source.includes(k))) constructs.add("compound key");
      if (source.includes("including this")) constructs.add("including this");
      if (/limit \d+ distinct/.test(source)) constructs.add("distinct limit");
      return { source, constructs };
    });
}

/* ---- requests, signals and traces ------------------------------------------------------------- */

/** Mostly the first value, so that histories of one key grow long enough to cross thresholds. */
function arbHot<T>(values: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(values[0]!) }, { weight: 2, arbitrary: fc.constantFrom(...values) });
}

/** Leaves out absent fields so that `has` and JSON round trips see the same object. */
function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}

/** A context with each attribute sometimes missing and sometimes of the wrong type (to exercise fail-closed). */
function arbContext(v: PolicyVocabulary): fc.Arbitrary<Record<string, unknown> | undefined> {
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 5 });
  const context = fc
    .record({
      risk: maybe(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 0.2, 0.5, 0.9, 1) }, { weight: 1, arbitrary: fc.constant("high") })),
      tier: maybe(fc.oneof({ weight: 8, arbitrary: fc.constantFrom("gold", "silver", "free") }, { weight: 1, arbitrary: fc.constant(1) })),
      mfa: maybe(fc.oneof({ weight: 8, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constant("yes") })),
      ip: maybe(arbHot(v.ips)),
    })
    .map(compact);
  return fc.option(context, { nil: undefined, freq: 8 });
}

function arbResource(v: PolicyVocabulary): fc.Arbitrary<Resource | undefined> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...v.resources).map((path): Resource => ({ type: path.split("/")[0]!, path })) },
    { weight: 1, arbitrary: fc.constantFrom(...v.resources).map((id): Resource => ({ id })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** A request at `v.startTime` (traces set the time). */
export function arbRequest(v: PolicyVocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<Request> {
  return fc
    .record({
      principal: arbHot(v.principals),
      action: fc.constantFrom(...v.actions),
      resource: arbResource(v),
      context: arbContext(v),
      session: fc.option(arbHot(v.sessions), { nil: undefined, freq: 6 }),
    })
    .map((r) => compact({ ...r, time: v.startTime }) as Request);
}

/** A signal at `v.startTime`, with the parts a runtime may or may not know. */
export function arbSignal(v: PolicyVocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<Signal> {
  return fc
    .record({
      signal: fc.constantFrom(...v.signals),
      principal: fc.option(arbHot(v.principals), { nil: undefined, freq: 3 }),
      context: fc.option(fc.record({ ip: arbHot(v.ips) }), { nil: undefined, freq: 4 }),
      session: fc.option(arbHot(v.sessions), { nil: undefined, freq: 4 }),
    })
    .map((s) => compact({ ...s, time: v.startTime }) as Signal);
}

/**
 * Time steps between events: often 0, often exactly on, one ms under or over a window (or a GCRA
 * emission interval), sometimes anywhere up to the longest window.
 */
export function arbGap(v: PolicyVocabulary = DEFAULT_VOCABULARY): fc.Arbitrary<number> {
  const edges = [...new Set(v.windowsMs.flatMap((w) => [w - 1, w, w + 1, w / 2, w / 4, w / 5]).filter((x) => Number.isInteger(x) && x > 0))];
  const longest = Math.max(...v.windowsMs);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.constantFrom(1, 50, 100, 250, 300) },
    { weight: 4, arbitrary: fc.constantFrom(...edges) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: longest + 1 }) },
  );
}

export interface TraceOptions {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Share of signals among events, 0..1 (default 0.25). */
  readonly signalShare?: number;
}

/** A trace of requests and signals with non-decreasing times starting at `v.startTime`. */
export function arbTrace(v: PolicyVocabulary = DEFAULT_VOCABULARY, options: TraceOptions = {}): fc.Arbitrary<TraceEvent[]> {
  const share = options.signalShare ?? 0.25;
  const event = fc.oneof(
    { weight: Math.round((1 - share) * 100), arbitrary: arbRequest(v).map((decide): TraceEvent => ({ decide })) },
    { weight: Math.round(share * 100), arbitrary: arbSignal(v).map((observe): TraceEvent => ({ observe })) },
  );
  return fc
    .array(fc.tuple(arbGap(v), event), { minLength: options.minLength ?? 1, maxLength: options.maxLength ?? 20 })
    .map((steps) => {
      let time = v.startTime;
      return steps.map(([gap, e]) => {
        time += gap;
        return "decide" in e ? { decide: { ...e.decide, time } } : { observe: { ...e.observe, time } };
      });
    });
}
