/**
 * A tool mapping: how a tool call becomes the leash request that decides it. Written once — in
 * TypeScript with `defineMapping`, or as a JSON file read by `loadMapping` — and used by every
 * adapter (`leash/mcp`, `leash mcp-proxy`, `leash/ai-sdk`, `leash/langchain`). `leash check --map`
 * checks it against a policy's actions and schema.
 *
 * ```json
 * {
 *   "server": "filesystem",
 *   "principal": { "kind": "agent", "id": "$client.name" },
 *   "tools": {
 *     "read_text_file": { "action": "fs.read", "resource": { "type": "file", "path": "$args.path | path" } },
 *     "move_file": { "action": "fs.move", "resource": { "path": "$args.source | path" },
 *                    "context": { "destination": "$args.destination | path" } }
 *   }
 * }
 * ```
 */
import type { Span } from "../../ast/span.js";
import { syntheticSpan } from "../../ast/span.js";
import { diagnostic, hasErrors, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { Type } from "../../check/schema.js";
import type { GuardRequest } from "../../guard/types.js";
import type { Principal } from "../../runtime/types.js";
import { compileRef, isRef, literalText, type AuthIdentity, type ClientIdentity, type CompiledRef, type RefEnv } from "./refs.js";

/** A literal value of a mapping field. */
export type MappingLiteral = string | number | boolean;

/**
 * A mapping field: a literal, or a reference read from the call — `"$args.path"`, `"$args.path | path"`
 * (normalised as a path), `"$args.tail?"` (left out when absent), `"$client.name"`, `"$session"`,
 * `"$tool"`, `"$server"`, `"$item"` (inside `each`), `"$auth.clientId"`. `"$$..."` is a literal `$`.
 */
export type MappingValue = MappingLiteral | readonly MappingLiteral[];

/** How one tool's calls become requests. */
export interface ToolRuleSpec {
  /** The action; default `mcp.<server>.<tool>`. */
  readonly action?: string;
  /**
   * An array argument (`"$args.paths"`): the call is decided once per element, `$item` being the
   * element, and runs only when every element is allowed.
   */
  readonly each?: string;
  readonly resource?: Readonly<Record<string, MappingValue>>;
  readonly context?: Readonly<Record<string, MappingValue>>;
}

/** Who calls: `kind` and `id` (literals or references) and any attributes. */
export interface PrincipalSpec {
  readonly kind: string;
  readonly id: string;
  readonly [attribute: string]: MappingValue;
}

export interface MappingSpec {
  /** Editors' JSON Schema pointer; ignored. */
  readonly $schema?: string;
  /** The server's name in default actions `mcp.<server>.<tool>` and in `$server` (default `server`). */
  readonly server?: string;
  /** Tool name → action, or → how the call maps. Without a table every tool gets its default action. */
  readonly tools?: Readonly<Record<string, string | ToolRuleSpec>>;
  /** With a table: a tool it does not list is denied (`deny`, the default) or gets its default action. */
  readonly unknownTools?: "deny" | "default";
  /** Default `{ kind: "agent", id: "$client.name" }`. An adapter given a principal uses that instead. */
  readonly principal?: PrincipalSpec;
  /** The session key, default `"$session"` (the MCP session, or the adapter's session). */
  readonly session?: string;
  /** Resource fields every tool gets (a tool's own fields win). */
  readonly resource?: Readonly<Record<string, MappingValue>>;
  /** Context fields every tool gets (a tool's own fields win). */
  readonly context?: Readonly<Record<string, MappingValue>>;
}

/** A tool call as every adapter sees it. */
export interface ToolCall {
  readonly name: string;
  readonly arguments?: unknown;
}

/** Where a call comes from. */
export interface CallScope {
  /** The session key (an MCP session id, a connection's id, a chat thread). */
  readonly session: string;
  readonly client?: ClientIdentity;
  readonly auth?: AuthIdentity;
  /** A principal the host established; replaces the mapping's `principal`. */
  readonly principal?: Principal;
}

/** The requests a call maps to, or why it maps to none (a deny with code C265 or C266). */
export type MappedCall =
  | { readonly ok: true; readonly action: string; readonly requests: readonly GuardRequest[] }
  | { readonly ok: false; readonly action: string; readonly code: "C265" | "C266"; readonly message: string };

/** One field of the mapping, for `checkMapping`: where it is written and what it gives. */
export interface MappedField {
  readonly entity: "principal" | "resource" | "context";
  readonly name: string;
  /** A literal's value, or a reference's type. */
  readonly value: { readonly literal: MappingLiteral | readonly MappingLiteral[] } | { readonly ref: string; readonly type: Type };
  /** Where the value is written, and where its attribute name is. */
  readonly span: Span;
  readonly nameSpan: Span;
}

/** What the mapping says about one tool, for `checkMapping`. */
export interface MappedTool {
  readonly tool: string;
  readonly action: string;
  readonly actionSpan: Span;
  readonly fields: readonly MappedField[];
}

/** A compiled mapping: frozen, its references compiled. */
export interface ToolMapping {
  readonly server: string;
  /** The tools the table lists (empty without a table). */
  readonly tools: readonly string[];
  /** Whether a tool the table does not list gets its default action. */
  readonly coversUnknownTools: boolean;
  /** The action a tool's calls are decided as, or `null` when the mapping denies the tool. */
  actionOf(tool: string): string | null;
  /** The requests that decide a call. Never throws. */
  map(call: ToolCall, scope: CallScope): MappedCall;
  /** The principal a scope maps to (for `tools/list` filtering), or why there is none. */
  principalOf(scope: CallScope): Principal | string;
  /** The table, tool by tool, and the principal fields: what `checkMapping` checks. */
  readonly entries: readonly MappedTool[];
  readonly principalFields: readonly MappedField[];
  /** The file the mapping was read from (`<mapping>` when defined in code). */
  readonly file: string;
}

/** A mapping that does not compile: its C26x diagnostics. */
export class MappingError extends Error {
  override readonly name = "MappingError";
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(`the tool mapping is not valid:\n${diagnostics.map((d) => `  ${d.span.file}:${d.span.line}:${d.span.column}: ${d.code} ${d.message}`).join("\n")}`);
  }
}

/** Where a part of the specification is written: JSON files give spans, code gives none. */
export type Locate = (path: readonly (string | number)[], part?: "key" | "value") => Span;

const ACTION_SEGMENT = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_TOOLS = 10_000;
const MAX_EACH = 64;
const DEFAULT_PRINCIPAL: PrincipalSpec = { kind: "agent", id: "$client.name" };

/**
 * Compiles a mapping written in code. Throws a `MappingError` listing every problem (codes
 * C260 and C264) when the specification is not valid.
 */
export function defineMapping(spec: MappingSpec): ToolMapping {
  const r = compileMapping(spec, { file: "<mapping>" });
  if (r.mapping === null) throw new MappingError(r.diagnostics);
  return r.mapping;
}

/** Compiles a specification; `locate` places diagnostics (JSON files) or they name `file`. */
export function compileMapping(spec: unknown, options: { file: string; locate?: Locate }): { mapping: ToolMapping | null; diagnostics: readonly Diagnostic[] } {
  const file = options.file;
  const locate: Locate = options.locate ?? (() => syntheticSpan(file));
  const out: Diagnostic[] = [];
  const where = (path: readonly (string | number)[]) => (path.length === 0 ? "the mapping" : `\`${path.join(".")}\``);
  const problem = (code: string, path: readonly (string | number)[], message: string, help?: string, part: "key" | "value" = "value") =>
    out.push(diagnostic(code, locate(path, part), message, help));

  if (!isPlainRecord(spec)) {
    problem("C260", [], "a tool mapping is an object", 'write { "server": ..., "tools": { ... } }');
    return { mapping: null, diagnostics: out };
  }
  const top = ["$schema", "server", "tools", "unknownTools", "principal", "session", "resource", "context"];
  for (const k of Object.keys(spec)) if (!top.includes(k)) problem("C260", [k], `unknown field \`${k}\` in the mapping`, `the fields are ${top.slice(1).join(", ")}`, "key");

  const server = optionalString(spec, "server", [], problem) ?? "server";
  if (!ACTION_SEGMENT.test(server)) problem("C260", ["server"], `the server name ${JSON.stringify(server)} cannot be an action segment`, "use letters, digits, '_' and '-', starting with a letter");
  const unknownRaw = optionalString(spec, "unknownTools", [], problem);
  if (unknownRaw !== undefined && unknownRaw !== "deny" && unknownRaw !== "default") problem("C260", ["unknownTools"], '`unknownTools` is "deny" or "default"');

  const fieldsOf = (raw: unknown, entity: MappedField["entity"], path: readonly (string | number)[], inEach: boolean): CompiledField[] => {
    if (raw === undefined) return [];
    if (!isPlainRecord(raw)) {
      problem("C260", path, `${where(path)} is an object of attribute names to values`);
      return [];
    }
    const fields: CompiledField[] = [];
    for (const [name, value] of Object.entries(raw)) {
      const p = [...path, name];
      if (!/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name)) {
        problem("C260", p, `${JSON.stringify(name)} is not an attribute name`, "letters, digits, '_' and '-', starting with a letter", "key");
        continue;
      }
      const f = compileField(entity, name, value, p, locate(p), locate(p, "key"), inEach, problem);
      if (f !== null) fields.push(f);
    }
    return fields;
  };

  const sessionText = optionalString(spec, "session", [], problem) ?? "$session";
  const session: CompiledRef | string | null = isRef(sessionText) ? refOrProblem(sessionText, ["session"], problem) : literalText(sessionText);

  const principalRaw = spec.principal ?? DEFAULT_PRINCIPAL;
  let principal: CompiledField[] = [];
  if (!isPlainRecord(principalRaw)) problem("C260", ["principal"], "`principal` is an object with `kind` and `id`");
  else {
    for (const k of ["kind", "id"]) if (!Object.prototype.hasOwnProperty.call(principalRaw, k)) problem("C260", ["principal"], `\`principal\` needs \`${k}\``);
    principal = fieldsOf(principalRaw, "principal", ["principal"], false);
  }
  const commonResource = fieldsOf(spec.resource, "resource", ["resource"], false);
  const commonContext = fieldsOf(spec.context, "context", ["context"], false);

  const rules = new Map<string, CompiledTool>();
  const entries: MappedTool[] = [];
  const table = spec.tools;
  if (table !== undefined && !isPlainRecord(table)) problem("C260", ["tools"], "`tools` is an object of tool names to actions or tool rules");
  else if (table !== undefined) {
    const names = Object.keys(table);
    if (names.length > MAX_TOOLS) problem("C260", ["tools"], `a mapping lists at most ${MAX_TOOLS} tools`);
    for (const tool of names.slice(0, MAX_TOOLS)) {
      const raw = table[tool];
      const path = ["tools", tool];
      const rule: Record<string, unknown> | null = typeof raw === "string" ? { action: raw } : isPlainRecord(raw) ? raw : null;
      if (rule === null) {
        problem("C260", path, `the tool \`${tool}\` maps to an action name or an object`);
        continue;
      }
      if (typeof raw !== "string") {
        for (const k of Object.keys(rule)) if (!["action", "each", "resource", "context"].includes(k)) problem("C260", [...path, k], `unknown field \`${k}\` in a tool rule`, "the fields are action, each, resource and context", "key");
      }
      const actionPath = typeof raw === "string" ? path : [...path, "action"];
      const explicit = rule.action;
      let action: string;
      if (explicit === undefined) action = defaultAction(server, tool) ?? "";
      else if (typeof explicit !== "string") {
        problem("C260", actionPath, "an action is a string");
        continue;
      } else action = explicit;
      if (!validAction(action)) {
        problem("C260", actionPath, explicit === undefined ? `the tool name \`${tool}\` cannot be part of an action: give it one with "action"` : `${JSON.stringify(action)} is not an action name`, "an action is dotted names such as fs.read, without wildcards");
        continue;
      }
      let each: CompiledRef | null = null;
      if (rule.each !== undefined) {
        const e = rule.each;
        if (typeof e !== "string" || !e.startsWith("$args.")) problem("C264", [...path, "each"], "`each` names an array argument, e.g. \"$args.paths\"");
        else each = refOrProblem(e, [...path, "each"], problem);
      }
      const inEach = rule.each !== undefined;
      const resource = merge(commonResource, fieldsOf(rule.resource, "resource", [...path, "resource"], inEach));
      const context = merge(commonContext, fieldsOf(rule.context, "context", [...path, "context"], inEach));
      rules.set(tool, { action, each, resource, context });
      entries.push({ tool, action, actionSpan: locate(actionPath), fields: [...resource, ...context].map((f) => f.info) });
    }
  }
  if (hasErrors(out) || session === null) return { mapping: null, diagnostics: out };

  const unknownTools = table === undefined ? "default" : unknownRaw === "default" ? "default" : "deny";
  const mapping = buildMapping({
    file,
    server,
    rules,
    entries,
    unknownTools,
    session,
    principal,
    defaults: { resource: commonResource, context: commonContext },
  });
  return { mapping, diagnostics: out };
}

interface CompiledField {
  readonly name: string;
  readonly info: MappedField;
  /** A literal (frozen) or a reference. */
  readonly literal: unknown;
  readonly ref: CompiledRef | null;
}

interface CompiledTool {
  readonly action: string;
  readonly each: CompiledRef | null;
  readonly resource: readonly CompiledField[];
  readonly context: readonly CompiledField[];
}

type Problem = (code: string, path: readonly (string | number)[], message: string, help?: string, part?: "key" | "value") => void;

function compileField(entity: MappedField["entity"], name: string, value: unknown, path: readonly (string | number)[], span: Span, nameSpan: Span, inEach: boolean, problem: Problem): CompiledField | null {
  if (typeof value === "string" && isRef(value)) {
    const ref = refOrProblem(value, path, problem);
    if (ref === null) return null;
    if (ref.usesItem && !inEach) {
      problem("C264", path, "`$item` is the element of `each`; this tool rule has no `each`");
      return null;
    }
    return { name, literal: undefined, ref, info: { entity, name, value: { ref: value, type: ref.type }, span, nameSpan } };
  }
  if (typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))) {
    const literal = typeof value === "string" ? literalText(value) : value;
    return { name, literal, ref: null, info: { entity, name, value: { literal }, span, nameSpan } };
  }
  if (Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)))) {
    const literal = Object.freeze(value.map((v) => (typeof v === "string" ? literalText(v) : v)) as MappingLiteral[]);
    return { name, literal, ref: null, info: { entity, name, value: { literal }, span, nameSpan } };
  }
  problem("C260", path, `\`${path.join(".")}\` is a string, number, boolean, a list of them, or a reference such as "$args.path"`);
  return null;
}

function refOrProblem(text: string, path: readonly (string | number)[], problem: Problem): CompiledRef | null {
  const r = compileRef(text);
  if (typeof r === "string") {
    problem("C264", path, `${JSON.stringify(text)} is not a valid reference: ${r}`);
    return null;
  }
  return r;
}

function optionalString(spec: Record<string, unknown>, key: string, path: readonly string[], problem: Problem): string | undefined {
  const v = spec[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") {
    problem("C260", [...path, key], `\`${key}\` is a string`);
    return undefined;
  }
  return v;
}

function merge(common: readonly CompiledField[], own: readonly CompiledField[]): CompiledField[] {
  const names = new Set(own.map((f) => f.name));
  return [...common.filter((f) => !names.has(f.name)), ...own];
}

/** `mcp.<server>.<tool>`, or null when the tool's name is not made of action segments. */
export function defaultAction(server: string, tool: string): string | null {
  const action = `mcp.${server}.${tool}`;
  return validAction(action) && tool.length <= 128 ? action : null;
}

function validAction(a: string): boolean {
  if (a.length === 0 || a.length > 256) return false;
  return a.split(".").every((s) => ACTION_SEGMENT.test(s));
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

interface Built {
  readonly file: string;
  readonly server: string;
  readonly rules: ReadonlyMap<string, CompiledTool>;
  readonly entries: readonly MappedTool[];
  readonly unknownTools: "deny" | "default";
  readonly session: CompiledRef | string;
  readonly principal: readonly CompiledField[];
  readonly defaults: { readonly resource: readonly CompiledField[]; readonly context: readonly CompiledField[] };
}

function buildMapping(b: Built): ToolMapping {
  const ruleFor = (tool: string): CompiledTool | null => {
    const own = b.rules.get(tool);
    if (own !== undefined) return own;
    if (b.unknownTools === "deny") return null;
    const action = defaultAction(b.server, tool);
    return action === null ? null : { action, each: null, resource: b.defaults.resource, context: b.defaults.context };
  };

  const envOf = (call: ToolCall, scope: CallScope, item: unknown): RefEnv => ({
    args: call.arguments,
    tool: call.name,
    server: b.server,
    session: scope.session,
    client: scope.client,
    auth: scope.auth,
    item,
  });

  /** The fields' values, or the message of the first field that cannot be read. */
  const read = (fields: readonly CompiledField[], env: RefEnv): Record<string, unknown> | string => {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.ref === null) {
        out[f.name] = f.literal;
        continue;
      }
      const r = f.ref.read(env);
      if (r.ok) out[f.name] = r.value;
      else if (!(r.absent && f.ref.optional)) return r.absent ? `${r.message}, and ${f.info.entity}.${f.name} needs it` : r.message;
    }
    return out;
  };

  const principalOf = (scope: CallScope, env: RefEnv): Principal | string => {
    if (scope.principal !== undefined) return scope.principal;
    const p = read(b.principal, env);
    if (typeof p === "string") return `the principal cannot be mapped: ${p}`;
    if (typeof p.kind !== "string" || typeof p.id !== "string") return "the principal's kind and id must be strings";
    return p as unknown as Principal;
  };

  const sessionOf = (env: RefEnv): string | null => {
    if (typeof b.session === "string") return b.session;
    const r = b.session.read(env);
    return r.ok && typeof r.value === "string" ? r.value : null;
  };

  return Object.freeze({
    file: b.file,
    server: b.server,
    tools: Object.freeze([...b.rules.keys()]),
    coversUnknownTools: b.unknownTools === "default",
    entries: Object.freeze(b.entries),
    principalFields: Object.freeze(b.principal.map((f) => f.info)),
    actionOf: (tool: string) => (typeof tool === "string" ? ruleFor(tool)?.action ?? null : null),
    principalOf: (scope: CallScope) => principalOf(scope, envOf({ name: "" }, scope, undefined)),
    map(call: ToolCall, scope: CallScope): MappedCall {
      try {
        const name = call.name;
        if (typeof name !== "string") return { ok: false, action: "", code: "C265", message: "the call names no tool" };
        const rule = ruleFor(name);
        if (rule === null) {
          const why = b.rules.size > 0 && b.unknownTools === "deny" ? "the mapping does not list it and denies unknown tools" : "its name cannot be part of an action";
          return { ok: false, action: "", code: "C265", message: `tool ${JSON.stringify(name.slice(0, 128))} is not in the mapping: ${why}` };
        }
        const base = envOf(call, scope, undefined);
        const principal = principalOf(scope, base);
        if (typeof principal === "string") return { ok: false, action: rule.action, code: "C266", message: principal };
        const session = sessionOf(base);
        if (session === null) return { ok: false, action: rule.action, code: "C266", message: "the session cannot be mapped" };
        let items: readonly unknown[] = [undefined];
        if (rule.each !== null) {
          const r = rule.each.read(base);
          if (!r.ok || !Array.isArray(r.value)) return { ok: false, action: rule.action, code: "C266", message: r.ok ? `${rule.each.text} is not an array` : r.message };
          if (r.value.length === 0) return { ok: false, action: rule.action, code: "C266", message: `${rule.each.text} is empty: there is nothing to decide` };
          if (r.value.length > MAX_EACH) return { ok: false, action: rule.action, code: "C266", message: `${rule.each.text} has more than ${MAX_EACH} elements` };
          items = r.value;
        }
        const requests: GuardRequest[] = [];
        for (const item of items) {
          const env = rule.each === null ? base : envOf(call, scope, item);
          const resource = read(rule.resource, env);
          if (typeof resource === "string") return { ok: false, action: rule.action, code: "C266", message: resource };
          const context = read(rule.context, env);
          if (typeof context === "string") return { ok: false, action: rule.action, code: "C266", message: context };
          requests.push({
            principal,
            action: rule.action,
            session,
            ...(rule.resource.length > 0 ? { resource } : {}),
            ...(rule.context.length > 0 ? { context } : {}),
          });
        }
        return { ok: true, action: rule.action, requests };
      } catch (e) {
        // Hostile arguments (a getter that throws, a proxy) deny the call.
        return { ok: false, action: "", code: "C266", message: `the call's arguments cannot be read: ${e instanceof Error ? e.message : String(e)}` };
      }
    },
  });
}
