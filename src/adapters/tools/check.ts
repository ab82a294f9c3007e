/**
 * Checks a tool mapping against the policy that decides its calls: every action it maps to is
 * declared (C261), every attribute it writes is in the schema (C262), and every literal or
 * reference has the attribute's type (C263). `leash check --map` runs it.
 */
import type { PolicyFile } from "../../ast/nodes.js";
import { checkPolicy } from "../../check/check.js";
import { BUILTIN_ATTRIBUTES, typeText, type Entity, type SchemaEnv, type Type } from "../../check/schema.js";
import { diagnostic, sortDiagnostics, type Diagnostic } from "../../diagnostics/diagnostic.js";
import { suggestionHelp } from "../../diagnostics/suggest.js";
import type { MappedField, MappingLiteral, ToolMapping } from "./mapping.js";

/** The diagnostics of `mapping` against the policy whose syntax tree is `ast`, sorted by position. */
export function checkMapping(mapping: ToolMapping, ast: PolicyFile, schema: SchemaEnv = checkPolicy(ast).schema): Diagnostic[] {
  const out: Diagnostic[] = [];
  const declared = declaredActions(ast);
  if (declared !== null) {
    for (const e of mapping.entries) {
      if (!declared.includes(e.action)) {
        out.push(diagnostic("C261", e.actionSpan, `the tool \`${e.tool}\` maps to \`${e.action}\`, which the policy does not declare`, suggestionHelp(e.action, declared, "declare the action in the policy's actions block, or map the tool to a declared one")));
      }
    }
  }
  const seen = new Set<MappedField>();
  for (const f of [...mapping.principalFields, ...mapping.entries.flatMap((e) => e.fields)]) {
    if (seen.has(f)) continue; // fields every tool shares are checked once
    seen.add(f);
    const d = checkField(f, schema);
    if (d !== null) out.push(d);
  }
  return sortDiagnostics(out);
}

/** The actions a policy declares, or null when it has no actions block (every action is allowed to exist). */
function declaredActions(ast: PolicyFile): string[] | null {
  let found = false;
  const out: string[] = [];
  for (const item of ast.items) {
    if (item.kind !== "ActionsBlock") continue;
    found = true;
    for (const g of item.groups) for (const a of g.actions) out.push(a.segments.join("."));
  }
  return found ? out : null;
}

function checkField(f: MappedField, schema: SchemaEnv): Diagnostic | null {
  const entity: Entity = f.entity;
  const declared = schema.get(entity);
  const builtin = BUILTIN_ATTRIBUTES[entity]?.[f.name];
  const type = declared?.get(f.name)?.type ?? builtin;
  if (type === undefined) {
    if (declared === undefined) return null; // the schema does not constrain this entity
    const names = [...declared.keys(), ...Object.keys(BUILTIN_ATTRIBUTES[entity] ?? {})];
    return diagnostic("C262", f.nameSpan, `\`${entity}.${f.name}\` is not declared in the policy's schema`, suggestionHelp(f.name, names, `declare it in the schema's ${entity} block, or remove it from the mapping`));
  }
  const problem = "literal" in f.value ? literalProblem(f.value.literal, type) : refProblem(f.value.type, type);
  if (problem === null) return null;
  const what = "literal" in f.value ? JSON.stringify(f.value.literal) : f.value.ref;
  return diagnostic("C263", f.span, `\`${entity}.${f.name}\` is ${typeText(type)} in the schema, but the mapping gives ${what}: ${problem}`, "give a value of the attribute's type, or change the schema");
}

function literalProblem(v: MappingLiteral | readonly MappingLiteral[], t: Type): string | null {
  if (t.t === "unknown") return null;
  if (Array.isArray(v)) {
    if (t.t !== "set") return "a list is a set";
    for (const e of v as readonly MappingLiteral[]) {
      const p = literalProblem(e, t.element);
      if (p !== null) return p;
    }
    return null;
  }
  switch (t.t) {
    case "string":
      if (typeof v !== "string") return `it is a ${typeof v}`;
      return t.values !== undefined && !t.values.includes(v) ? `the schema allows ${t.values.map((x) => JSON.stringify(x)).join(", ")}` : null;
    case "number":
    case "duration":
      return typeof v === "number" ? null : `it is a ${typeof v}`;
    case "bool":
      return typeof v === "boolean" ? null : `it is a ${typeof v}`;
    case "set":
      return "a set needs a list";
  }
}

function refProblem(given: Type, t: Type): string | null {
  if (given.t === "unknown" || t.t === "unknown") return null;
  if (given.t === t.t || (given.t === "number" && t.t === "duration")) {
    if (given.t === "set" && t.t === "set") return refProblem(given.element, t.element);
    return null;
  }
  return `the reference gives ${typeText(given)}`;
}
