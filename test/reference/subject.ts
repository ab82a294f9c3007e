import type { KeyRef, Path } from "../../src/ast/nodes.js";
import { fail, isError, type EvalError, type Value } from "./truth.js";

/**
 * What a condition reads: a decided request, or an observed signal (whose name plays the action).
 * Only own properties are read.
 */
export interface Subject {
  readonly action: string;
  readonly principal: Readonly<Record<string, unknown>> | undefined;
  readonly resource: Readonly<Record<string, unknown>> | undefined;
  readonly context: Readonly<Record<string, unknown>> | undefined;
  readonly session: string | undefined;
}

export function ownProperty(obj: unknown, name: string): unknown {
  if (typeof obj !== "object" || obj === null) return undefined;
  return Object.prototype.hasOwnProperty.call(obj, name) ? (obj as Record<string, unknown>)[name] : undefined;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export function pathText(path: Path): string {
  return [path.root, ...path.segments].join(".");
}

/** The value at `path`; a missing attribute is R301 and a non-finite number R302. */
export function readPath(subject: Subject, path: Path): Value {
  if (path.root === "action") {
    const [first] = path.segments;
    if (path.segments.length === 1 && first === "name") return { value: subject.action };
    if (path.segments.length === 1 && first === "domain") return { value: subject.action.split(".")[0] };
    return fail("R301", `no attribute ${pathText(path)}`);
  }
  let current: unknown = subject[path.root];
  for (const segment of path.segments) {
    current = isPlainObject(current) ? ownProperty(current, segment) : undefined;
    if (current === undefined || current === null) return fail("R301", `missing attribute ${pathText(path)}`);
  }
  if (typeof current === "number" && !Number.isFinite(current)) return fail("R302", `${pathText(path)} is not a finite number`);
  return { value: current };
}

/**
 * The partition a subject belongs to under `key`, as a string such as `session:s1`,
 * `principal:agent/bot` or `context.ip=string:10.0.0.1`. A missing key attribute is R305.
 */
export function keyValue(subject: Subject, key: KeyRef): string | EvalError {
  switch (key.kind) {
    case "SessionKey":
      return subject.session === undefined ? fail("R305", "the request has no session") : sessionKey(subject.session);
    case "PrincipalKey":
      return subject.principal === undefined ? fail("R305", "no principal") : principalKey(subject.principal);
    case "PathKey": {
      const v = readPath(subject, key.path);
      if (isError(v)) return fail("R305", `missing key attribute ${pathText(key.path)}`);
      if (!("value" in v)) return fail("R305", `missing key attribute ${pathText(key.path)}`);
      if (typeof v.value !== "string" && typeof v.value !== "number") return fail("R302", `${pathText(key.path)} is not a string or a number`);
      return attributeKey(pathText(key.path), v.value);
    }
    case "CompoundKey": {
      // One partition per combination of the parts' values, whatever order the parts are written in.
      const named: [string, string][] = [];
      for (const part of key.parts) {
        const v = keyValue(subject, part);
        if (typeof v !== "string") return v;
        named.push([part.kind === "PathKey" ? pathText(part.path) : part.kind, v]);
      }
      named.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return `compound:${JSON.stringify(named)}`;
    }
  }
}

export function sessionKey(session: string): string {
  return `session:${session}`;
}

export function principalKey(principal: Readonly<Record<string, unknown>>): string {
  return `principal:${String(principal.kind)}/${String(principal.id)}`;
}

export function attributeKey(path: string, value: string | number): string {
  return `${path}=${typeof value}:${value}`;
}
