import type { PolicyFile, TypeExpr } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";

/** A checked type. `unknown` is what an undeclared attribute has when no schema constrains it. */
export type Type =
  | { readonly t: "string"; readonly values?: readonly string[] }
  | { readonly t: "number" }
  | { readonly t: "bool" }
  | { readonly t: "duration" }
  | { readonly t: "set"; readonly element: Type }
  | { readonly t: "unknown" };

export const STRING: Type = { t: "string" };
export const NUMBER: Type = { t: "number" };
export const BOOL: Type = { t: "bool" };
export const DURATION: Type = { t: "duration" };
export const UNKNOWN: Type = { t: "unknown" };

export type Entity = "principal" | "resource" | "context";

/** Attributes every request has, whatever the schema says. */
export const BUILTIN_ATTRIBUTES: Readonly<Record<string, Readonly<Record<string, Type>>>> = {
  principal: { kind: STRING, id: STRING },
  resource: { type: STRING, id: STRING, path: STRING },
  context: {},
  action: { name: STRING, domain: STRING },
};

export interface Field {
  readonly type: Type;
  readonly optional: boolean;
  /** Tagged `[secret]`: decision logs redact the value. */
  readonly secret: boolean;
  readonly span: Span;
}

/** Declared attributes per entity; an entity absent from the map is unconstrained. */
export type SchemaEnv = ReadonlyMap<Entity, ReadonlyMap<string, Field>>;

export function typeText(t: Type): string {
  switch (t.t) {
    case "set":
      return `set<${typeText(t.element)}>`;
    case "string":
      return t.values ? t.values.map((v) => JSON.stringify(v)).join(" | ") : "string";
    default:
      return t.t;
  }
}

/** Whether a value of type `b` may stand where `a` is expected (numbers and durations mix; `unknown` fits anything). */
export function compatible(a: Type, b: Type): boolean {
  if (a.t === "unknown" || b.t === "unknown") return true;
  const num = (t: Type) => t.t === "number" || t.t === "duration";
  if (num(a) && num(b)) return true;
  if (a.t === "set" && b.t === "set") return compatible(a.element, b.element);
  return a.t === b.t;
}

function resolveType(e: TypeExpr): Type {
  switch (e.kind) {
    case "PrimType":
      return e.name === "string" ? STRING : e.name === "number" ? NUMBER : e.name === "bool" ? BOOL : DURATION;
    case "SetType":
      return { t: "set", element: resolveType(e.element) };
    case "EnumType":
      return { t: "string", values: e.values.map((v) => v.value) };
  }
}

/** Stage: collect `schema` blocks into an environment; duplicate entities or fields are C210. */
export function buildSchema(file: PolicyFile, out: Diagnostic[]): SchemaEnv {
  const env = new Map<Entity, Map<string, Field>>();
  const entitySpans = new Map<Entity, Span>();
  for (const item of file.items) {
    if (item.kind !== "SchemaBlock") continue;
    for (const ent of item.entities) {
      const earlier = entitySpans.get(ent.entity);
      if (earlier) {
        out.push({
          ...diagnostic("C210", ent.span, `\`${ent.entity}\` is declared twice in the schema`, "declare each entity once"),
          related: [{ message: "first declared here", span: earlier }],
        });
        continue;
      }
      entitySpans.set(ent.entity, ent.span);
      const fields = new Map<string, Field>();
      for (const f of ent.fields) {
        const prev = fields.get(f.name.value);
        if (prev) {
          out.push({
            ...diagnostic("C210", f.name.span, `attribute \`${ent.entity}.${f.name.value}\` is declared twice`, "declare each attribute once"),
            related: [{ message: "first declared here", span: prev.span }],
          });
          continue;
        }
        fields.set(f.name.value, { type: resolveType(f.type), optional: f.optional, secret: f.tags.some((t) => t.value === "secret"), span: f.span });
      }
      env.set(ent.entity, fields);
    }
  }
  return env;
}
