/**
 * References in a tool mapping: `$args.path`, `$client.name`, `$session`, ... with an optional
 * `| path` filter and a trailing `?` for values that may be absent. Each reference is compiled
 * once, when the mapping is defined, into a reader; reading a call does no parsing.
 *
 * ```text
 * ref    = "$" root { "." name } [ "?" ] [ "|" filter ]
 * root   = "args" | "client" | "auth" | "session" | "tool" | "server" | "item"
 * filter = "path"
 * ```
 */
import type { Type } from "../../check/schema.js";

/** What a reference reads from: the call, the connection it came on, and the element of `each`. */
export interface RefEnv {
  readonly args: unknown;
  readonly tool: string;
  readonly server: string;
  readonly session: string;
  readonly client: ClientIdentity | undefined;
  readonly auth: AuthIdentity | undefined;
  readonly item: unknown;
}

/** The client as it introduced itself (MCP `clientInfo`), or as an adapter names it. */
export interface ClientIdentity {
  readonly name?: string;
  readonly version?: string;
}

/** What a transport's authentication established (the MCP SDK's `AuthInfo`, without the token). */
export interface AuthIdentity {
  readonly clientId?: string;
  readonly scopes?: readonly string[];
  readonly expiresAt?: number;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A value read for an attribute, or why none could be. */
export type ReadResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly absent: boolean; readonly message: string };

export interface CompiledRef {
  /** The reference as written. */
  readonly text: string;
  /** What the reference gives, as far as the mapping knows (`unknown` for tool arguments). */
  readonly type: Type;
  readonly optional: boolean;
  readonly usesItem: boolean;
  read(env: RefEnv): ReadResult;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MAX_SEGMENTS = 8;
/** Longest string a mapping passes to the policy; longer arguments deny the call (C266). */
export const MAX_VALUE_CHARS = 65_536;
/** Most elements of an array argument passed as a set. */
export const MAX_SET_ELEMENTS = 256;

const STRING: Type = { t: "string" };
const UNKNOWN: Type = { t: "unknown" };

/** Whether a mapping string is a reference (starts with one `$`); `$$` escapes a literal `$`. */
export function isRef(s: string): boolean {
  return s.startsWith("$") && !s.startsWith("$$");
}

/** The literal a non-reference string stands for. */
export function literalText(s: string): string {
  return s.startsWith("$$") ? s.slice(1) : s;
}

/** Compiles a reference, or returns why it is not one (C264). */
export function compileRef(text: string): CompiledRef | string {
  let body = text.slice(1);
  let filter: string | null = null;
  const bar = body.indexOf("|");
  if (bar >= 0) {
    filter = body.slice(bar + 1).trim();
    body = body.slice(0, bar).trim();
    if (filter !== "path") return `unknown filter ${JSON.stringify(filter)}: the only filter is \`path\``;
  }
  let optional = false;
  if (body.endsWith("?")) {
    optional = true;
    body = body.slice(0, -1);
  }
  const segments = body.split(".");
  if (segments.length > MAX_SEGMENTS + 1) return `a reference has at most ${MAX_SEGMENTS} names after its root`;
  for (const s of segments) if (!NAME.test(s)) return `${JSON.stringify(s)} is not a name (letters, digits, '_' and '-', starting with a letter)`;
  const [root, ...rest] = segments as [string, ...string[]];
  const source = rootReader(root, rest);
  if (typeof source === "string") return source;
  const type = filter === "path" ? STRING : source.type;
  const usesItem = root === "item";
  const read = (env: RefEnv): ReadResult => {
    const v = source.read(env);
    if (v === undefined || v === null) return { ok: false, absent: true, message: `${text} is absent` };
    return usable(filter === "path" ? pathFilter(v, text) : v, text);
  };
  return { text, type, optional, usesItem, read };
}

interface Source {
  readonly type: Type;
  read(env: RefEnv): unknown;
}

function rootReader(root: string, rest: readonly string[]): Source | string {
  const none = (what: string): string | null => (rest.length > 0 ? `$${root} has no fields (${what})` : null);
  switch (root) {
    case "args":
      if (rest.length === 0) return "write the argument to read, e.g. $args.path";
      return { type: UNKNOWN, read: (env) => ownPath(env.args, rest) };
    case "item":
      return { type: UNKNOWN, read: (env) => (rest.length === 0 ? env.item : ownPath(env.item, rest)) };
    case "session":
      return none("it is the session id") ?? { type: STRING, read: (env) => env.session };
    case "tool":
      return none("it is the tool's name") ?? { type: STRING, read: (env) => env.tool };
    case "server":
      return none("it is the mapping's server name") ?? { type: STRING, read: (env) => env.server };
    case "client": {
      const field = rest[0];
      if (rest.length !== 1 || (field !== "name" && field !== "version")) return "$client has the fields name and version";
      return { type: STRING, read: (env) => ownPath(env.client, rest) };
    }
    case "auth": {
      const field = rest[0];
      if (field === "clientId" && rest.length === 1) return { type: STRING, read: (env) => ownPath(env.auth, rest) };
      if (field === "scopes" && rest.length === 1) return { type: { t: "set", element: STRING }, read: (env) => ownPath(env.auth, rest) };
      if (field === "expiresAt" && rest.length === 1) return { type: { t: "number" }, read: (env) => ownPath(env.auth, rest) };
      if (field === "extra" && rest.length > 1) return { type: UNKNOWN, read: (env) => ownPath(env.auth, rest) };
      return "$auth has the fields clientId, scopes, expiresAt and extra.NAME (the token itself is never passed to a policy)";
    }
    default:
      return `unknown reference root $${root}: the roots are $args, $client, $auth, $session, $tool, $server and $item`;
  }
}

/** Reads own properties only, never the prototype chain. */
function ownPath(v: unknown, segments: readonly string[]): unknown {
  let cur = v;
  for (const s of segments) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, s)) return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}

/** A value a policy can read: a bounded string, a finite number, a boolean or a set of them. */
function usable(v: unknown, text: string): ReadResult {
  if (typeof v === "string") return v.length <= MAX_VALUE_CHARS ? { ok: true, value: v } : bad(`${text} is longer than ${MAX_VALUE_CHARS} characters`);
  if (typeof v === "number") return Number.isFinite(v) ? { ok: true, value: v } : bad(`${text} is not a finite number`);
  if (typeof v === "boolean") return { ok: true, value: v };
  if (v instanceof PathProblem) return bad(v.message);
  if (Array.isArray(v)) {
    if (v.length > MAX_SET_ELEMENTS) return bad(`${text} has more than ${MAX_SET_ELEMENTS} elements`);
    for (const e of v) {
      if (typeof e === "string" ? e.length > MAX_VALUE_CHARS : typeof e === "number" ? !Number.isFinite(e) : typeof e !== "boolean") {
        return bad(`${text} must hold strings, numbers or booleans`);
      }
    }
    return { ok: true, value: Object.freeze([...v]) };
  }
  return bad(`${text} is ${v === null ? "null" : typeof v === "object" ? "an object" : `a ${typeof v}`}: map one of its fields instead`);
}

function bad(message: string): ReadResult {
  return { ok: false, absent: false, message };
}

class PathProblem {
  constructor(readonly message: string) {}
}

function pathFilter(v: unknown, text: string): unknown {
  if (typeof v !== "string") return new PathProblem(`${text} must be a string to be read as a path`);
  if (v.length > MAX_VALUE_CHARS) return new PathProblem(`${text} is longer than ${MAX_VALUE_CHARS} characters`);
  if (v.includes("\u0000")) return new PathProblem(`${text} contains a NUL character`);
  return normalizePath(v);
}

/**
 * A POSIX path in canonical form: Unicode NFC, no `.` segments, `..` resolved against the segment
 * before it, no repeated or trailing slashes. `public/../secrets/key` becomes `secrets/key`, so a
 * rule `on secrets/*` sees through the detour; a relative path stays relative.
 */
export function normalizePath(p: string): string {
  const absolute = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.normalize("NFC").split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(seg);
  }
  const joined = out.join("/");
  return absolute ? `/${joined}` : joined === "" ? "." : joined;
}
