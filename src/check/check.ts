import type {
  ActionPattern,
  CompareExpr,
  EventSelector,
  Expr,
  KeyRef,
  Path,
  PolicyFile,
  SimpleKeyRef,
  TestWith,
} from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { walkExpr } from "../ast/walk.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { suggestionHelp } from "../diagnostics/suggest.js";
import { actionPatternMatches, MAX_GLOB_STARS } from "../runtime/glob.js";
import { LIMITS } from "../runtime/limits.js";
import { attributeProblem, declaredNames, declares, eventVocabulary, literalType, ruleProblem, signalProblem, type EventProblem, type EventVocabulary } from "./events.js";
import { patternCovers } from "./patterns.js";
import { BOOL, BUILTIN_ATTRIBUTES, buildSchema, compatible, DURATION, NUMBER, STRING, typeText, UNKNOWN, type SchemaEnv, type Type } from "./schema.js";

export { LIMITS };

export interface CheckResult {
  readonly diagnostics: Diagnostic[];
  readonly schema: SchemaEnv;
}

/**
 * The checking stages, in order. Each reports every problem it finds; `checkPolicy` runs them all
 * (they are independent) and the compiler stops before lowering when any error was reported.
 */
export function checkPolicy(file: PolicyFile): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const schema = buildSchema(file, diagnostics);
  checkNames(file, diagnostics);
  checkActions(file, diagnostics);
  checkClauses(file, diagnostics);
  checkExpressions(file, schema, diagnostics);
  const vocabulary = eventVocabulary(file, schema);
  checkWorkflows(file, vocabulary, diagnostics);
  checkSignals(file, vocabulary, diagnostics);
  checkTests(file, vocabulary, diagnostics);
  checkIncluding(file, diagnostics);
  return { diagnostics, schema };
}

/**
 * Stage: `including this` counts the request being decided as if it were allowed, so it goes with
 * events a request can be: not `denied` ones (the request is not denied yet) nor `signal` ones.
 */
export function checkIncluding(file: PolicyFile, out: Diagnostic[]): void {
  const visit = (e: Expr) =>
    walkExpr(e, (x) => {
      if ((x.kind !== "CountCall" && x.kind !== "DistinctCall") || !x.current) return;
      const filter = x.events?.filter;
      if (filter !== "denied" && filter !== "signal") return;
      out.push(diagnostic("C246", x.events!.span, `\`including this\` counts the request being decided as allowed, so it cannot count ${filter} events`, filter === "denied" ? "count attempted events (the request is one whatever is decided) or drop `including this`" : "a signal is never the request being decided: drop `including this`"));
    });
  for (const item of file.items) {
    if (item.kind === "RuleDecl") for (const c of item.clauses) if (c.kind === "WhenClause") visit(c.condition);
    if (item.kind === "PropertyDecl") for (const claim of item.claims) for (const c of claim.conditions) visit(c.condition);
  }
}

/** Most parts a compound key (`by (session, resource.path)`) may have. */
export const MAX_KEY_PARTS = 4;

/* ---------------------------------------------------------------------------------------------- */

/** Stage: rule, workflow, test and property names are unique; references resolve; tags exist. */
export function checkNames(file: PolicyFile, out: Diagnostic[]): void {
  const seen = new Map<string, Span>();
  const declare = (kind: string, name: string, span: Span) => {
    const key = `${kind === "test" || kind === "property" ? kind : "rule"}:${name}`;
    const prev = seen.get(key);
    if (prev) {
      out.push({
        ...diagnostic("C204", span, `${kind} name \`${name}\` is used twice`, "rename one of them; names identify rules in decisions"),
        related: [{ message: "first used here", span: prev }],
      });
    } else seen.set(key, span);
  };
  const workflows = new Set<string>();
  const labels = new Set<string>();
  for (const item of file.items) {
    if (item.kind === "RuleDecl") {
      declare("rule", item.name.value, item.name.span);
      for (const c of item.clauses) if (c.kind === "LabelClause") labels.add(c.label.value);
    } else if (item.kind === "WorkflowDecl") {
      declare("workflow", item.name.value, item.name.span);
      workflows.add(item.name.value);
    } else if (item.kind === "TestDecl") declare("test", item.name.value, item.name.span);
    else if (item.kind === "PropertyDecl") declare("property", item.name.value, item.name.span);
    else if (item.kind === "SignalsBlock") {
      for (const g of item.groups)
        for (const sig of g.signals) {
          const name = sig.segments.join(".");
          const prev = seen.get(`signal:${name}`);
          if (prev) out.push({ ...diagnostic("C204", sig.span, `signal \`${name}\` is declared twice`, "declare each signal once"), related: [{ message: "first declared here", span: prev }] });
          else seen.set(`signal:${name}`, sig.span);
        }
    } else if (item.kind === "SchemaBlock") {
      for (const ent of item.entities)
        for (const f of ent.fields)
          for (const tag of f.tags)
            if (tag.value !== "secret") out.push(diagnostic("C211", tag.span, `unknown attribute tag \`${tag.value}\``, suggestionHelp(tag.value, ["secret"], "the only attribute tag is [secret]")));
    } else if (item.kind === "ActionsBlock") {
      for (const g of item.groups)
        for (const tag of g.tags)
          if (tag.value !== "high") out.push(diagnostic("C211", tag.span, `unknown action tag \`${tag.value}\``, suggestionHelp(tag.value, ["high"], "the only action tag is [high]")));
    }
  }
  forEachExpr(file, (e) => {
    if (e.kind === "DeviatesCall" && !workflows.has(e.workflow.value)) {
      out.push(diagnostic("C205", e.workflow.span, `no workflow named \`${e.workflow.value}\``, suggestionHelp(e.workflow.value, workflows, "declare it with `workflow NAME by KEY: a -> b`")));
    }
    if (e.kind === "SessionHasExpr" && !labels.has(e.label.value)) {
      out.push(diagnostic("C212", e.label.span, `no rule adds the session label \`${e.label.value}\``, suggestionHelp(e.label.value, labels, `add \`label session += ${e.label.value}\` to the rule whose action sets it`)));
    }
  });
}

/** Stage: with an `actions` block, every action a rule targets is declared (wildcards must match one). */
export function checkActions(file: PolicyFile, out: Diagnostic[]): void {
  const declared: string[] = [];
  let hasBlock = false;
  const seen = new Map<string, Span>();
  for (const item of file.items) {
    if (item.kind !== "ActionsBlock") continue;
    hasBlock = true;
    for (const g of item.groups)
      for (const a of g.actions) {
        const name = a.segments.join(".");
        const prev = seen.get(name);
        if (prev) out.push({ ...diagnostic("C204", a.span, `action \`${name}\` is declared twice`, "declare each action once"), related: [{ message: "first declared here", span: prev }] });
        else seen.set(name, a.span);
        declared.push(name);
      }
  }
  if (!hasBlock) return;
  const check = (p: ActionPattern) => {
    const name = p.segments.join(".");
    if (p.segments.includes("*")) {
      if (!declared.some((d) => actionPatternMatches(p.segments, d))) {
        out.push(diagnostic("C203", p.span, `\`${name}\` matches no declared action`, "declare the actions it should cover in the actions block"));
      }
    } else if (!seen.has(name)) {
      out.push(diagnostic("C203", p.span, `action \`${name}\` is not declared`, suggestionHelp(name, declared, "declare it in the actions block")));
    }
  };
  for (const item of file.items) {
    if (item.kind === "RuleDecl") for (const t of item.targets) if (t.kind === "ActionTarget") check(t.pattern);
  }
}

/** Stage: clauses fit their rule's effect; numbers and globs are in range. */
export function checkClauses(file: PolicyFile, out: Diagnostic[]): void {
  for (const item of file.items) {
    if (item.kind !== "RuleDecl") continue;
    const r = item;
    const once = new Map<string, Span>();
    for (const c of r.clauses) {
      if (c.kind !== "WhenClause" && c.kind !== "LabelClause") {
        const prev = once.get(c.kind);
        if (prev) out.push({ ...diagnostic("C208", c.span, `this clause may appear once per rule`, "merge the two clauses"), related: [{ message: "first here", span: prev }] });
        once.set(c.kind, c.span);
      }
      switch (c.kind) {
        case "LimitClause":
          if (r.effect !== "allow") out.push(diagnostic("C208", c.span, `\`limit\` applies to allow rules, not ${r.effect}`, "a quantity scope bounds what an allow rule grants; use count(...) in a condition for other effects"));
          if (!Number.isInteger(c.count.value) || c.count.value < 1) out.push(diagnostic("C209", c.count.span, `limit must be a whole number of at least 1`, "write e.g. `limit 1 per session`"));
          else if (c.distinct && c.count.value > LIMITS.maxWindowCapacity) out.push(diagnostic("C206", c.count.span, `a distinct limit keeps each value it counts; ${c.count.value} is above ${LIMITS.maxWindowCapacity}`, "count fewer distinct values per key"));
          else if (c.window && c.count.value > LIMITS.maxWindowCapacity) out.push(diagnostic("C206", c.count.span, `a windowed limit keeps one timestamp per use; ${c.count.value} is above ${LIMITS.maxWindowCapacity}`, "use rate(...) for large quantities"));
          if (c.window) checkWindow(c.window.ms, c.window.span, out);
          break;
        case "ValidForClause":
          if (r.effect !== "allow") out.push(diagnostic("C208", c.span, `\`valid for\` applies to allow rules, not ${r.effect}`, "a grant's lifetime belongs to the rule that grants it"));
          checkWindow(c.duration.ms, c.duration.span, out);
          break;
        case "TargetKeyClause":
          if (r.effect !== "revoke") out.push(diagnostic("C208", c.span, `\`target\` applies to revoke rules, not ${r.effect}`, "only a revoke rule ends a session or a credential"));
          break;
        case "RequireClause":
          if (r.effect !== "challenge") out.push(diagnostic("C208", c.span, `\`require\` applies to challenge rules, not ${r.effect}`, "the step-up obligation belongs to a challenge rule"));
          break;
        default:
          break;
      }
    }
    if (r.effect !== "revoke" && r.effect !== "flag" && r.targets.some((t) => t.kind === "SignalTarget")) {
      const t = r.targets.find((x) => x.kind === "SignalTarget")!;
      out.push(diagnostic("C208", t.span, `signals are observed, not decided: only revoke and flag rules may target a signal`, "write `revoke signal NAME` or `flag signal NAME`"));
    }
    for (const res of r.resources) {
      if (res.glob.split("*").length - 1 > MAX_GLOB_STARS) out.push(diagnostic("C213", res.span, `too many * in a resource glob`, `at most ${MAX_GLOB_STARS} stars`));
    }
    for (const p of r.principals) {
      if (p.id && p.id.value.split("*").length - 1 > MAX_GLOB_STARS) out.push(diagnostic("C213", p.id.span, `too many * in an id glob`, `at most ${MAX_GLOB_STARS} stars`));
    }
  }
}

function checkWindow(ms: number, span: Span, out: Diagnostic[]): void {
  if (ms <= 0) out.push(diagnostic("C209", span, "a window must be longer than zero", "write e.g. `within 1m`"));
  else if (ms > LIMITS.maxWindowMs) out.push(diagnostic("C206", span, "a window may be at most 366d", "state per key lives as long as its longest window"));
}

/* ---------------------------------------------------------------------------------------------- */

/** Stage: conditions are well-typed booleans over declared attributes; history operators are bounded. */
export function checkExpressions(file: PolicyFile, schema: SchemaEnv, out: Diagnostic[]): void {
  const ctx: ExprCheck = { schema, out };
  for (const item of file.items) {
    if (item.kind === "RuleDecl") {
      for (const c of item.clauses) {
        if (c.kind === "WhenClause") expectBool(ctx, c.condition);
        if (c.kind === "LimitClause" || c.kind === "ValidForClause" || c.kind === "TargetKeyClause") if (c.key) checkKey(ctx, c.key);
        if (c.kind === "LimitClause" && c.distinct && c.distinct.segments.length > 0) checkScalar(ctx, c.distinct, "a distinct limit counts the values of");
      }
      for (const p of item.principals) for (const a of p.attributes) pathType(ctx, { kind: "Path", span: a.name.span, root: "principal", segments: [a.name.value] });
    } else if (item.kind === "PropertyDecl") {
      for (const claim of item.claims) for (const c of claim.conditions) expectBool(ctx, c.condition);
    } else if (item.kind === "WorkflowDecl") checkKey(ctx, item.key);
  }
}

interface ExprCheck {
  readonly schema: SchemaEnv;
  readonly out: Diagnostic[];
}

function expectBool(ctx: ExprCheck, e: Expr): void {
  const t = typeOf(ctx, e, false);
  if (t.t !== "bool" && t.t !== "unknown") {
    ctx.out.push(diagnostic("C202", e.span, `a condition must be true or false, this is ${typeText(t)}`, "compare it, e.g. `context.risk >= 0.9`"));
  }
}

function typeOf(ctx: ExprCheck, e: Expr, compared: boolean): Type {
  switch (e.kind) {
    case "StringLit":
    case "NumberLit":
    case "BoolLit":
    case "DurationLit":
      return literalType(e);
    case "SetLit": {
      const first = e.elements[0];
      const el = first ? typeOf(ctx, first, false) : UNKNOWN;
      for (const x of e.elements) {
        const t = typeOf(ctx, x, false);
        if (!compatible(el, t)) ctx.out.push(diagnostic("C202", x.span, `set elements must have one type: ${typeText(el)} and ${typeText(t)}`, "write a set of strings, numbers or bools"));
      }
      return { t: "set", element: el };
    }
    case "Path":
      return pathType(ctx, e);
    case "BinaryExpr":
      expectBool(ctx, e.left);
      expectBool(ctx, e.right);
      return BOOL;
    case "NotExpr":
      expectBool(ctx, e.operand);
      return BOOL;
    case "CompareExpr":
      return compareType(ctx, e);
    case "InExpr": {
      const el = typeOf(ctx, e.element, false);
      const coll = typeOf(ctx, e.collection, false);
      if (coll.t !== "set" && coll.t !== "unknown") ctx.out.push(diagnostic("C202", e.collection.span, `\`in\` needs a set, this is ${typeText(coll)}`, 'write a set literal such as ["a", "b"] or a set attribute'));
      else if (coll.t === "set" && !compatible(el, coll.element)) ctx.out.push(diagnostic("C202", e.span, `${typeText(el)} cannot be in a set of ${typeText(coll.element)}`, "compare values of the same type"));
      return BOOL;
    }
    case "LikeExpr": {
      const t = typeOf(ctx, e.subject, false);
      if (t.t !== "string" && t.t !== "unknown") ctx.out.push(diagnostic("C202", e.subject.span, `\`like\` matches strings, this is ${typeText(t)}`, "use == for other types"));
      if (e.pattern.value.split("*").length - 1 > MAX_GLOB_STARS) ctx.out.push(diagnostic("C213", e.pattern.span, "too many * in a like pattern", `at most ${MAX_GLOB_STARS} stars`));
      return BOOL;
    }
    case "HasExpr":
      if (e.subject.kind === "Path") pathType(ctx, e.subject);
      return BOOL;
    case "SessionHasExpr":
      return BOOL;
    case "AfterCall":
      checkSel(ctx, e.events);
      if (e.until) checkSel(ctx, e.until);
      if (e.window) checkWindow(e.window.ms, e.window.span, ctx.out);
      checkKey(ctx, e.key);
      return BOOL;
    case "SinceCall":
    case "GapCall":
      checkSel(ctx, e.events);
      checkKey(ctx, e.key);
      if (!compared) needsComparison(ctx, e.span, e.kind === "SinceCall" ? "since" : "gap");
      return DURATION;
    case "CountCall":
      checkSel(ctx, e.events);
      checkKey(ctx, e.key);
      if (!e.window) ctx.out.push(diagnostic("C206", e.span, "count(...) without a window would keep history for ever", "add a window, e.g. `count(login.fail by context.ip within 1m)`"));
      else checkWindow(e.window.ms, e.window.span, ctx.out);
      if (!compared) needsComparison(ctx, e.span, "count");
      return NUMBER;
    case "DistinctCall":
      pathType(ctx, e.attribute);
      if (e.events) checkSel(ctx, e.events);
      checkKey(ctx, e.key);
      if (!e.window) ctx.out.push(diagnostic("C206", e.span, "distinct(...) without a window would keep values for ever", "add a window, e.g. `distinct(action.domain by principal within 5m)`"));
      else checkWindow(e.window.ms, e.window.span, ctx.out);
      if (!compared) needsComparison(ctx, e.span, "distinct");
      return NUMBER;
    case "RateCall":
      checkSel(ctx, e.events);
      checkKey(ctx, e.key);
      if (!(e.limit.value >= 1) || !Number.isInteger(e.limit.value)) ctx.out.push(diagnostic("C209", e.limit.span, "a rate limit is a whole number of at least 1", "write e.g. `rate(api.call by principal, 100 per 1m)`"));
      checkWindow(e.per.ms, e.per.span, ctx.out);
      return BOOL;
    case "RegularityCall":
      checkSel(ctx, e.events);
      checkKey(ctx, e.key);
      if (!Number.isInteger(e.samples.value) || e.samples.value < 2 || e.samples.value > LIMITS.maxRegularitySamples)
        ctx.out.push(diagnostic("C209", e.samples.span, `regularity needs between 2 and ${LIMITS.maxRegularitySamples} gaps`, "write e.g. `regularity(login.attempt by context.ip over 5) < 0.1`"));
      if (!compared) needsComparison(ctx, e.span, "regularity");
      return NUMBER;
    case "SequenceCall":
      for (const s of e.stages) checkSel(ctx, s);
      if (e.until) checkSel(ctx, e.until);
      checkKey(ctx, e.key);
      checkWindow(e.window.ms, e.window.span, ctx.out);
      if (e.stages.length > LIMITS.maxSequenceStages) ctx.out.push(diagnostic("C209", e.span, `a sequence has at most ${LIMITS.maxSequenceStages} stages`, "split the pattern"));
      return BOOL;
    case "DeviatesCall":
      return BOOL;
  }
}

function needsComparison(ctx: ExprCheck, span: Span, op: string): void {
  ctx.out.push(diagnostic("C207", span, `${op}(...) gives a value: compare it with a constant`, `e.g. \`${op}(x by session${op === "count" || op === "distinct" ? " within 1m" : ""}) ${op === "since" || op === "gap" ? "< 300ms" : ">= 3"}\``));
}

function compareType(ctx: ExprCheck, e: CompareExpr): Type {
  const lt = typeOf(ctx, e.left, true);
  const rt = typeOf(ctx, e.right, true);
  for (const [side, other] of [[e.left, e.right], [e.right, e.left]] as const) {
    if (side.kind === "CountCall" || side.kind === "DistinctCall") {
      if (other.kind !== "NumberLit") ctx.out.push(diagnostic("C207", other.span, `${side.kind === "CountCall" ? "count" : "distinct"}(...) is compared with a number constant`, "the constant fixes how many timestamps the window keeps"));
      else if (!Number.isInteger(other.value) || other.value < 0) ctx.out.push(diagnostic("C209", other.span, "compare a count with a whole number", "e.g. `>= 3`"));
      else if (other.value + 1 > LIMITS.maxWindowCapacity) ctx.out.push(diagnostic("C206", other.span, `a count threshold above ${LIMITS.maxWindowCapacity - 1} would keep too many timestamps per key`, "use rate(X by K, N per D) for large volumes"));
    }
  }
  if (e.op === "==" || e.op === "!=") {
    if (!compatible(lt, rt)) ctx.out.push(diagnostic("C202", e.span, `cannot compare ${typeText(lt)} with ${typeText(rt)}`, "compare values of the same type"));
    else enumCheck(ctx, lt, e.right) || enumCheck(ctx, rt, e.left);
  } else {
    const ordered = (t: Type) => t.t === "number" || t.t === "duration" || t.t === "unknown";
    if (!ordered(lt) || !ordered(rt)) ctx.out.push(diagnostic("C202", e.span, `\`${e.op}\` compares numbers and durations, not ${typeText(ordered(lt) ? rt : lt)}`, "use == or != for strings and bools"));
  }
  return BOOL;
}

function enumCheck(ctx: ExprCheck, t: Type, other: Expr): boolean {
  if (t.t === "string" && t.values && other.kind === "StringLit" && !t.values.includes(other.value)) {
    ctx.out.push(diagnostic("C202", other.span, `${JSON.stringify(other.value)} is not one of ${typeText(t)}`, suggestionHelp(other.value, t.values, "the schema lists the allowed values")));
    return true;
  }
  return false;
}

function checkSel(_ctx: ExprCheck, _s: EventSelector): void {
  // Event names may be actions or signals; signals are not declared, so names are not checked here.
}

function checkKey(ctx: ExprCheck, k: KeyRef): void {
  if (k.kind === "CompoundKey") {
    if (k.parts.length > MAX_KEY_PARTS) ctx.out.push(diagnostic("C242", k.span, `a key has at most ${MAX_KEY_PARTS} parts, this one has ${k.parts.length}`, "key by fewer attributes"));
    const seen = new Map<string, Span>();
    for (const p of k.parts) {
      const text = partText(p);
      const prev = seen.get(text);
      if (prev) ctx.out.push({ ...diagnostic("C242", p.span, `\`${text}\` is a part of this key twice`, "write each part once: (session, resource.path)"), related: [{ message: "first here", span: prev }] });
      else seen.set(text, p.span);
      checkKey(ctx, p);
    }
    return;
  }
  if (k.kind === "PathKey") checkScalar(ctx, k.path, "a key is");
}

function partText(p: SimpleKeyRef): string {
  return p.kind === "SessionKey" ? "session" : p.kind === "PrincipalKey" ? "principal" : [p.path.root, ...p.path.segments].join(".");
}

/** A path whose values must be strings or numbers (a key, what a distinct limit counts). */
function checkScalar(ctx: ExprCheck, p: Path, what: string): void {
  const t = pathType(ctx, p);
  if (t.t === "set" || t.t === "bool") ctx.out.push(diagnostic("C202", p.span, `${what} a string or a number, this is ${typeText(t)}`, "use an id or an address such as context.ip"));
}

function pathType(ctx: ExprCheck, p: Path): Type {
  const builtin = BUILTIN_ATTRIBUTES[p.root]!;
  const [first, ...rest] = p.segments;
  if (first === undefined) return UNKNOWN;
  const b = Object.prototype.hasOwnProperty.call(builtin, first) ? builtin[first] : undefined;
  if (b && rest.length === 0) return b;
  if (p.root === "action") {
    ctx.out.push(diagnostic("C201", p.span, `\`action.${p.segments.join(".")}\` is not an attribute`, "actions have name and domain"));
    return UNKNOWN;
  }
  const fields = ctx.schema.get(p.root);
  if (!fields) return UNKNOWN;
  const f = fields.get(first);
  if (!f) {
    const names = [...fields.keys(), ...Object.keys(builtin)];
    ctx.out.push(diagnostic("C201", p.span, `\`${p.root}.${first}\` is not declared in the schema`, suggestionHelp(first, names, `declare it in schema { ${p.root} { ${first}: string } }`)));
    return UNKNOWN;
  }
  if (rest.length > 0) {
    ctx.out.push(diagnostic("C201", p.span, `\`${p.root}.${first}\` has no attributes of its own`, `it is ${typeText(f.type)}`));
    return UNKNOWN;
  }
  return f.type;
}

/* ---------------------------------------------------------------------------------------------- */

/** Stage: workflows are small enough for a bit-mask state; a scoped workflow's steps are in its scope. */
export function checkWorkflows(file: PolicyFile, v: EventVocabulary, out: Diagnostic[]): void {
  const declared = v.actions;
  for (const item of file.items) {
    if (item.kind !== "WorkflowDecl") continue;
    const positions = item.steps.length;
    if (positions > LIMITS.maxWorkflowSteps) out.push(diagnostic("C209", item.span, `a workflow has at most ${LIMITS.maxWorkflowSteps} steps`, "split it into several workflows"));
    if (item.scope.length === 0) continue;
    for (const p of item.scope) {
      if (declared !== null && !declares(declared, p.segments)) out.push(diagnostic("C203", p.span, `\`${p.segments.join(".")}\` matches no declared action`, suggestionHelp(p.segments.join("."), declaredNames(declared), "a workflow's scope names the actions it governs: declare them in the actions block")));
    }
    const scope = item.scope.map((p) => p.segments.join(".")).join(", ");
    for (const s of item.steps)
      for (const a of s.actions) {
        if (item.scope.some((p) => patternCovers(p.segments, a.segments))) continue;
        out.push(diagnostic("C243", a.span, `step \`${a.segments.join(".")}\` is outside the workflow's scope (over ${scope})`, `widen the scope (over ${scope}, ${a.segments.join(".")}) or remove the step: an action outside the scope is never part of the workflow`));
      }
  }
}

/* ---------------------------------------------------------------------------------------------- */

/**
 * Stage: with a signals block, every signal the policy names is declared — `signal` targets and
 * event filters, the events of a history without a filter and `satisfied by` (an action or a
 * signal, when the actions are declared too), test steps — and no name is both an action and a
 * signal.
 */
export function checkSignals(file: PolicyFile, v: EventVocabulary, out: Diagnostic[]): void {
  if (v.signals === null) return;
  const signals = v.signals;
  const report = (p: ActionPattern, problem: EventProblem | null) => problem && out.push(diagnostic(problem.code, p.span, problem.message, problem.help));
  const signal = (p: ActionPattern) => report(p, signalProblem(v, p.segments));
  // A name a history sees without a filter (or `satisfied by`) is an action or a signal: unknown
  // when it is not a declared signal and not an action — a declared one, or without an actions
  // block, one that a rule targets or a workflow names.
  const actions = v.actions ?? actionsNamed(file);
  const either = (p: ActionPattern) => {
    if (declares(actions, p.segments) || declares(signals, p.segments)) return;
    const name = p.segments.join(".");
    const where = v.actions === null ? "no rule targets it and it is not a declared signal" : "it is neither a declared action nor a declared signal";
    out.push(diagnostic("C240", p.span, `\`${name}\` is unknown: ${where}`, suggestionHelp(name, [...declaredNames(signals), ...declaredNames(actions)], "declare it in the signals block (or as an action)")));
  };
  const selector = (s: EventSelector) => s.patterns.forEach(s.filter === "signal" ? signal : s.filter === "happened" ? either : () => undefined);
  const expr = (e: Expr) => walkExpr(e, (x) => selectorsOfExpr(x).forEach(selector));
  for (const item of file.items) {
    if (item.kind === "RuleDecl") {
      for (const t of item.targets) if (t.kind === "SignalTarget") signal(t.pattern);
      for (const c of item.clauses) {
        if (c.kind === "WhenClause") expr(c.condition);
        else if (c.kind === "RequireClause" && c.satisfiedBy) either(c.satisfiedBy);
      }
    } else if (item.kind === "PropertyDecl") {
      for (const claim of item.claims) {
        for (const t of claim.targets) if (t.kind === "SignalTarget") signal(t.pattern);
        for (const c of claim.conditions) expr(c.condition);
      }
    } else if (item.kind === "TestDecl") {
      for (const s of item.steps) if (s.kind === "TestSignal") signal(s.signal);
    } else if (item.kind === "ActionsBlock") {
      for (const g of item.groups)
        for (const a of g.actions) {
          if (a.segments.includes("*") || !signals.some((d) => d.join(".") === a.segments.join("."))) continue;
          out.push(diagnostic("C241", a.span, `\`${a.segments.join(".")}\` is declared both as an action and as a signal`, "a name is a decided request or an observed event, not both: rename one of them"));
        }
    }
  }
}

/** Without an actions block, the actions a policy names: its rules' targets and its workflows' steps and scopes. */
function actionsNamed(file: PolicyFile): (readonly string[])[] {
  const out: (readonly string[])[] = [];
  for (const item of file.items) {
    if (item.kind === "RuleDecl") for (const t of item.targets) if (t.kind === "ActionTarget") out.push(t.pattern.segments);
    if (item.kind === "WorkflowDecl") {
      for (const p of item.scope) out.push(p.segments);
      for (const st of item.steps) for (const a of st.actions) out.push(a.segments);
    }
  }
  return out;
}

/** The event selectors of a history operator (none for other expressions). */
function selectorsOfExpr(e: Expr): EventSelector[] {
  switch (e.kind) {
    case "AfterCall":
      return e.until ? [e.events, e.until] : [e.events];
    case "SequenceCall":
      return e.until ? [...e.stages, e.until] : [...e.stages];
    case "DistinctCall":
      return e.events ? [e.events] : [];
    case "SinceCall":
    case "GapCall":
    case "CountCall":
    case "RateCall":
    case "RegularityCall":
      return [e.events];
    default:
      return [];
  }
}

/**
 * Stage: test steps say only what the policy knows. Their attributes (and the test's `given`) are
 * declared in the schema with the declared types (C201, C202), `=> EFFECT by RULE` names a rule
 * (C244), and every request has a principal, its own or the `given` one (C245).
 */
export function checkTests(file: PolicyFile, v: EventVocabulary, out: Diagnostic[]): void {
  const report = (span: Span, p: EventProblem | null) => p && out.push(diagnostic(p.code, span, p.message, p.help));
  const withs = (list: readonly TestWith[]) => {
    for (const w of list) {
      if (w.kind !== "WithAttributes") continue;
      for (const f of w.fields) report(f.name.span, attributeProblem(v, w.entity, f.name.value, literalType(f.value), f.value.kind === "StringLit" ? f.value.value : undefined));
    }
  };
  const principalKind = (kind: { value: string; span: Span }) => report(kind.span, attributeProblem(v, "principal", "kind", STRING, kind.value));
  for (const item of file.items) {
    if (item.kind !== "TestDecl") continue;
    const given = item.given;
    if (given) {
      if (given.principal) principalKind(given.principal.kind);
      withs(given.with);
    }
    for (const s of item.steps) {
      withs(s.with);
      if (s.kind === "TestSignal") {
        if (s.principal) principalKind(s.principal.kind);
        continue;
      }
      if (s.principalKind) principalKind(s.principalKind);
      else if (!given?.principal) out.push(diagnostic("C245", s.action.span, "this step has no principal", `write who makes the request before the action (\`human "alice" ${s.action.segments.join(".")}\`), or give the test one for every step: \`given human "alice"\``));
      if (s.expect?.rule) report(s.expect.rule.span, ruleProblem(v, s.expect.rule.value));
    }
  }
}

/** Calls `visit` on every expression of every rule and property. */
export function forEachExpr(file: PolicyFile, visit: (e: Expr) => void): void {
  for (const item of file.items) {
    if (item.kind === "RuleDecl") for (const c of item.clauses) if (c.kind === "WhenClause") walkExpr(c.condition, visit);
    if (item.kind === "PropertyDecl") for (const cl of item.claims) for (const c of cl.conditions) walkExpr(c.condition, visit);
  }
}
