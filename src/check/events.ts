import type { Literal, PolicyFile, SetLit } from "../ast/nodes.js";
import { suggestionHelp } from "../diagnostics/suggest.js";
import { actionPatternMatches } from "../runtime/glob.js";
import { patternCovers } from "./patterns.js";
import { BOOL, BUILTIN_ATTRIBUTES, buildSchema, compatible, DURATION, NUMBER, STRING, typeText, UNKNOWN, type Entity, type SchemaEnv, type Type } from "./schema.js";

/**
 * What the events of a policy's tests and traces are checked against: its schema, its declared
 * actions and signals, and the names of its rules. A test step and a trace line are two spellings
 * of the same event, so both are checked by these functions — a test step with the spans of its
 * AST (src/check/check.ts), a trace line by its JSON (`traceEventProblems`, which `leash eval`
 * and `leash demo` run on every line).
 */
export interface EventVocabulary {
  readonly schema: SchemaEnv;
  /** Declared action names and patterns (`mcp.*`); null without an actions block. */
  readonly actions: readonly (readonly string[])[] | null;
  /** Declared signal names and patterns; null without a signals block. */
  readonly signals: readonly (readonly string[])[] | null;
  /** What a decision can name as a rule: the rules, and the workflows with `on deviation`. */
  readonly rules: ReadonlySet<string>;
}

/** Something an event says that the policy does not know: a diagnostic code, a message and help. */
export interface EventProblem {
  readonly code: "C201" | "C202" | "C240" | "C244";
  readonly message: string;
  readonly help: string;
}

/** The vocabulary of a parsed policy (`schema`: the environment `checkPolicy` built, rebuilt when omitted). */
export function eventVocabulary(file: PolicyFile, schema: SchemaEnv = buildSchema(file, [])): EventVocabulary {
  let actions: (readonly string[])[] | null = null;
  let signals: (readonly string[])[] | null = null;
  const rules = new Set<string>();
  for (const item of file.items) {
    if (item.kind === "ActionsBlock") (actions ??= []).push(...item.groups.flatMap((g) => g.actions.map((a) => a.segments)));
    else if (item.kind === "SignalsBlock") (signals ??= []).push(...item.groups.flatMap((g) => g.signals.map((s) => s.segments)));
    else if (item.kind === "RuleDecl") rules.add(item.name.value);
    else if (item.kind === "WorkflowDecl" && item.onDeviation !== null) rules.add(item.name.value);
  }
  return { schema, actions, signals, rules };
}

/**
 * Whether the declarations `declared` (names and patterns) cover `segments`: a name some
 * declaration matches, or a pattern that matches a declared name or lies inside a declared pattern.
 */
export function declares(declared: readonly (readonly string[])[], segments: readonly string[]): boolean {
  if (!segments.includes("*")) return declared.some((d) => actionPatternMatches(d, segments.join(".")));
  return declared.some((d) => patternCovers(d, segments) || (!d.includes("*") && actionPatternMatches(segments, d.join("."))));
}

/** The names of declarations, for a did-you-mean. */
export function declaredNames(declared: readonly (readonly string[])[]): string[] {
  return declared.map((d) => d.join("."));
}

/** C240 when the policy declares its signals and `signal` is not one of them. */
export function signalProblem(v: EventVocabulary, signal: readonly string[]): EventProblem | null {
  if (v.signals === null || declares(v.signals, signal)) return null;
  const name = signal.join(".");
  const what = signal.includes("*") ? `\`${name}\` matches no declared signal` : `signal \`${name}\` is not declared`;
  return { code: "C240", message: what, help: suggestionHelp(name, declaredNames(v.signals), `declare it in the signals block: signals { ${name} }`) };
}

/** C244 when a test or trace names a rule the policy does not have. */
export function ruleProblem(v: EventVocabulary, rule: string): EventProblem | null {
  if (v.rules.has(rule)) return null;
  return { code: "C244", message: `no rule named \`${rule}\``, help: suggestionHelp(rule, v.rules, "name a rule of the policy (or a workflow with on deviation)") };
}

/**
 * C201 when an event gives `entity.name` and the schema declares the entity without it; C202 when
 * the value's type (or, for an enumeration, the value) is not the declared one. Attributes every
 * request has (`principal.kind`, `resource.path`, ...) are declared whatever the schema says.
 */
export function attributeProblem(v: EventVocabulary, entity: Entity, name: string, type: Type, value?: unknown): EventProblem | null {
  const fields = v.schema.get(entity);
  const declared = declaredType(v, entity, name);
  const path = `${entity}.${name}`;
  if (declared === undefined) {
    if (fields === undefined) return null;
    const names = [...fields.keys(), ...Object.keys(BUILTIN_ATTRIBUTES[entity]!)];
    return { code: "C201", message: `\`${path}\` is not declared in the schema`, help: suggestionHelp(name, names, `declare it in schema { ${entity} { ${name}: ${typeText(type.t === "unknown" ? STRING : type)} } }, or leave it out`) };
  }
  if (!compatible(declared, type)) return { code: "C202", message: `\`${path}\` is ${typeText(declared)} in the schema, this is ${typeText(type)}`, help: "give a value of the declared type" };
  if (declared.t === "string" && declared.values && typeof value === "string" && !declared.values.includes(value)) {
    return { code: "C202", message: `${JSON.stringify(value)} is not one of ${typeText(declared)}`, help: suggestionHelp(value, declared.values, `\`${path}\` takes one of the values the schema lists`) };
  }
  return null;
}

/** The type the schema (or the attributes every request has) gives `entity.name`, if any. */
function declaredType(v: EventVocabulary, entity: Entity, name: string): Type | undefined {
  const builtin = BUILTIN_ATTRIBUTES[entity]!;
  return v.schema.get(entity)?.get(name)?.type ?? (hasOwn(builtin, name) ? builtin[name] : undefined);
}

/** The type of a literal a test step writes (`250`, `"gold"`, `["a", "b"]`). */
export function literalType(l: Literal | SetLit): Type {
  switch (l.kind) {
    case "StringLit":
      return STRING;
    case "NumberLit":
      return NUMBER;
    case "BoolLit":
      return BOOL;
    case "DurationLit":
      return DURATION;
    case "SetLit":
      return { t: "set", element: l.elements[0] ? literalType(l.elements[0]) : UNKNOWN };
  }
}

/** The type of a JSON value a trace line gives; an object or null is a type of its own, which no declared type accepts. */
function jsonType(v: unknown): Type | string {
  if (typeof v === "string") return STRING;
  if (typeof v === "number") return NUMBER;
  if (typeof v === "boolean") return BOOL;
  if (Array.isArray(v)) {
    const first = v[0];
    const element = first === undefined ? UNKNOWN : jsonType(first);
    return typeof element === "string" ? element : { t: "set", element };
  }
  return v === null ? "null" : "an object";
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * What a trace line says that the policy does not know, as messages: attributes its principal,
 * resource and context give that the schema does not declare or types differently, a signal the
 * signals block does not declare, and rules named in `expect.rules` or `expect.flags` that do not
 * exist. Empty for a line the policy knows every word of. Never throws.
 */
export function traceEventProblems(v: EventVocabulary, event: Readonly<Record<string, unknown>>): string[] {
  const out: EventProblem[] = [];
  try {
    const signal = hasOwn(event, "signal") ? event.signal : undefined;
    if (typeof signal === "string") {
      const p = signalProblem(v, signal.split("."));
      if (p) out.push(p);
    }
    if (typeof event.action === "string" || typeof signal === "string") {
      for (const entity of ["principal", "resource", "context"] as const) {
        const o = hasOwn(event, entity) ? event[entity] : undefined;
        if (!isRecord(o)) continue;
        for (const name of Object.keys(o)) {
          const value = o[name];
          const t = jsonType(value);
          // An object or null: no declared type takes one, but an undeclared name is said first.
          const p = attributeProblem(v, entity, name, typeof t === "string" ? UNKNOWN : t, value);
          if (p) out.push(p);
          else if (typeof t === "string" && declaredType(v, entity, name) !== undefined) out.push({ code: "C202", message: `\`${entity}.${name}\` is ${t}`, help: `the schema declares ${typeText(declaredType(v, entity, name)!)}` });
        }
      }
    }
    const expect = hasOwn(event, "expect") ? event.expect : undefined;
    if (isRecord(expect)) {
      for (const field of ["rules", "flags"] as const) {
        const list = hasOwn(expect, field) ? expect[field] : undefined;
        if (!Array.isArray(list)) continue;
        for (const r of list) {
          const p = typeof r === "string" ? ruleProblem(v, r) : null;
          if (p) out.push({ ...p, message: `expect.${field}: ${p.message}` });
        }
      }
    }
  } catch (e) {
    return [`the line cannot be checked against the policy: ${e instanceof Error ? e.message : String(e)}`];
  }
  return out.map((p) => `${p.message}; ${p.help} [${p.code}]`);
}


/**
 * The lines of a trace that say what the policy does not know, as `FILE:LINE: message [CODE]`:
 * `traceEventProblems` of each event, `lines[i]` being the line event i was read from.
 */
export function traceVocabularyProblems(file: PolicyFile, events: readonly unknown[], lines: readonly number[], traceName: string): string[] {
  const v = eventVocabulary(file);
  const out: string[] = [];
  events.forEach((e, i) => {
    if (!isRecord(e)) return;
    for (const p of traceEventProblems(v, e)) out.push(`${traceName}:${lines[i] ?? i + 1}: ${p}`);
  });
  return out;
}
