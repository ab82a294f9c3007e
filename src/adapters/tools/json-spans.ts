/**
 * A JSON reader that keeps where every value was written, so that a mapping file's problems are
 * reported at `file:line:col` with a caret frame, like a `.rules` file's. Standard JSON only
 * (RFC 8259); limits on size and depth; duplicate keys are reported, not silently merged.
 */
import type { Span } from "../../ast/span.js";

/** A JSON value with its span. Objects keep their entries in source order, with key spans. */
export type JsonNode =
  | { readonly t: "object"; readonly span: Span; readonly entries: readonly JsonEntry[] }
  | { readonly t: "array"; readonly span: Span; readonly items: readonly JsonNode[] }
  | { readonly t: "string"; readonly span: Span; readonly value: string }
  | { readonly t: "number"; readonly span: Span; readonly value: number }
  | { readonly t: "bool"; readonly span: Span; readonly value: boolean }
  | { readonly t: "null"; readonly span: Span };

export interface JsonEntry {
  readonly key: string;
  readonly keySpan: Span;
  readonly value: JsonNode;
}

/** Why the text is not JSON (or is too large or deep), and where. */
export interface JsonProblem {
  readonly message: string;
  readonly span: Span;
}

export const MAX_JSON_CHARS = 1 << 20;
export const MAX_JSON_DEPTH = 32;

/** Parses `text`; returns the tree, or the first problem (JSON has no useful recovery). */
export function parseJsonWithSpans(text: string, file: string): { node: JsonNode } | { problem: JsonProblem } {
  const lines = lineStarts(text);
  const spanOf = (start: number, end: number): Span => {
    const a = position(lines, start);
    const b = position(lines, end);
    return { file, offset: start, endOffset: end, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };
  if (text.length > MAX_JSON_CHARS) return { problem: { message: `the file is larger than ${MAX_JSON_CHARS} characters`, span: spanOf(0, 0) } };

  let pos = 0;
  const fail = (message: string, start = pos, end = Math.min(text.length, start + 1)): never => {
    throw new Problem(message, spanOf(start, end));
  };
  const skip = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };
  const found = () => (pos >= text.length ? "the end of the file" : JSON.stringify(text[pos]));

  const value = (depth: number): JsonNode => {
    if (depth > MAX_JSON_DEPTH) fail(`values nest deeper than ${MAX_JSON_DEPTH} levels`);
    skip();
    const start = pos;
    const c = text[pos];
    if (c === "{") return object(depth);
    if (c === "[") return array(depth);
    if (c === '"') return { t: "string", value: string(), span: spanOf(start, pos) };
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    for (const [word, node] of [
      ["true", { t: "bool", value: true }],
      ["false", { t: "bool", value: false }],
      ["null", { t: "null" }],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return { ...node, span: spanOf(start, pos) } as JsonNode;
      }
    }
    return fail(`expected a value, found ${found()}`);
  };

  const object = (depth: number): JsonNode => {
    const start = pos++;
    const entries: JsonEntry[] = [];
    const seen = new Set<string>();
    skip();
    if (text[pos] === "}") {
      pos++;
      return { t: "object", entries, span: spanOf(start, pos) };
    }
    for (;;) {
      skip();
      if (text[pos] !== '"') fail(`expected a key in double quotes, found ${found()}`);
      const keyStart = pos;
      const key = string();
      const keySpan = spanOf(keyStart, pos);
      if (seen.has(key)) throw new Problem(`the key ${JSON.stringify(key)} appears twice in this object`, keySpan);
      seen.add(key);
      skip();
      if (text[pos] !== ":") fail(`expected ":" after the key, found ${found()}`);
      pos++;
      entries.push({ key, keySpan, value: value(depth + 1) });
      skip();
      if (text[pos] === ",") {
        pos++;
        continue;
      }
      if (text[pos] === "}") {
        pos++;
        return { t: "object", entries, span: spanOf(start, pos) };
      }
      fail(`expected "," or "}", found ${found()}`);
    }
  };

  const array = (depth: number): JsonNode => {
    const start = pos++;
    const items: JsonNode[] = [];
    skip();
    if (text[pos] === "]") {
      pos++;
      return { t: "array", items, span: spanOf(start, pos) };
    }
    for (;;) {
      items.push(value(depth + 1));
      skip();
      if (text[pos] === ",") {
        pos++;
        continue;
      }
      if (text[pos] === "]") {
        pos++;
        return { t: "array", items, span: spanOf(start, pos) };
      }
      fail(`expected "," or "]", found ${found()}`);
    }
  };

  const string = (): string => {
    const start = pos++;
    let out = "";
    for (;;) {
      if (pos >= text.length) fail("the string is not closed", start, pos);
      const ch = text[pos]!;
      if (ch === '"') {
        pos++;
        return out;
      }
      if (ch.charCodeAt(0) < 0x20) fail("a control character inside a string must be escaped");
      if (ch !== "\\") {
        out += ch;
        pos++;
        continue;
      }
      const e = text[pos + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e !== undefined && Object.prototype.hasOwnProperty.call(simple, e)) {
        out += simple[e];
        pos += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
        out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
        pos += 6;
      } else fail("invalid escape in a string", pos, pos + 2);
    }
  };

  const number = (): JsonNode => {
    const start = pos;
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (m === null) return fail("invalid number");
    pos += m[0].length;
    const v = Number(m[0]);
    if (!Number.isFinite(v)) fail("the number is too large", start, pos);
    return { t: "number", value: v, span: spanOf(start, pos) };
  };

  try {
    const node = value(0);
    skip();
    if (pos < text.length) fail(`expected the end of the file after the value, found ${found()}`);
    return { node };
  } catch (e) {
    if (e instanceof Problem) return { problem: { message: e.message, span: e.span } };
    throw e;
  }
}

class Problem extends Error {
  constructor(
    message: string,
    readonly span: Span,
  ) {
    super(message);
  }
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) out.push(i + 1);
  return out;
}

function position(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

/** The plain JavaScript value of a node (objects with own, non-prototype keys only). */
export function plainValue(node: JsonNode): unknown {
  switch (node.t) {
    case "object": {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const e of node.entries) out[e.key] = plainValue(e.value);
      return out;
    }
    case "array":
      return node.items.map(plainValue);
    case "null":
      return null;
    default:
      return node.value;
  }
}
