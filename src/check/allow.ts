import type { Comment, Item, PolicyFile } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { CODES } from "../diagnostics/codes.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";

/**
 * Allow comments: a warning kept on purpose is marked where it is, with the reason,
 *
 * ```rules
 * // leash: allow W409 -- agents must never reach the destructive tools
 * actions { ... }
 * rule r: allow x.y   // leash: allow W404, W405 -- kept for the next release
 * ```
 *
 * A comment after code on its line allows the listed warnings that start on that line. A comment
 * on a line of its own allows them on the next line with code, and, when an item (a rule, a block,
 * a workflow...) starts there, in the whole item. Only lint warnings (W4xx) can be allowed, and the
 * reason after `--` is required. A malformed allow comment, or one that allows nothing, is itself a
 * warning (W490), so `leash check --deny-warnings` notices a stale one.
 */

const DIRECTIVE = /^\/\/\s*leash:\s*(.*?)\s*$/;
const ALLOW = /^allow\s+(.*?)\s*(?:--\s*(.*))?$/;
const CODE = /^W\d{3}$/;
/** The code of a problem with an allow comment; it cannot be allowed itself. */
export const ALLOW_PROBLEM = "W490";

interface Directive {
  readonly comment: Comment;
  readonly codes: readonly string[];
  /** The lines it covers, and the item it covers (offsets), if any. */
  readonly lines: readonly number[];
  readonly item: Span | null;
  readonly used: Set<string>;
}

/**
 * The warnings that no allow comment of `file` covers, followed by the problems of its allow
 * comments (W490). Diagnostics other than W4xx warnings are returned as they are.
 */
export function applyAllowComments(file: PolicyFile, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const directives: Directive[] = [];
  for (const comment of file.comments) {
    const m = DIRECTIVE.exec(comment.text);
    if (m === null) continue;
    const codes = parseDirective(m[1]!, comment.span, problems);
    if (codes !== null) directives.push({ comment, codes, ...coverage(file, comment), used: new Set() });
  }
  if (directives.length === 0) return problems.length === 0 ? [...diagnostics] : [...diagnostics, ...problems];
  const kept = diagnostics.filter((d) => {
    if (d.severity !== "warning" || d.code === ALLOW_PROBLEM) return true;
    const by = directives.filter((x) => x.codes.includes(d.code) && covers(x, d.span));
    for (const x of by) x.used.add(d.code);
    return by.length === 0;
  });
  for (const x of directives) {
    const unused = x.codes.filter((c) => !x.used.has(c));
    if (unused.length === 0) continue;
    const where = x.item !== null ? `in the item on line ${x.lines[0]}` : x.lines.length > 0 ? `on line ${x.lines[0]}` : "after it (no code follows it)";
    const message = `this allow comment allows no ${unused.join(" or ")} warning: none is reported ${where}`;
    problems.push(diagnostic(ALLOW_PROBLEM, x.comment.span, message, "remove the code from the comment, or the comment; after code, an allow comment covers its own line, else the next line with code and the item that starts there"));
  }
  return [...kept, ...problems];
}

/** The codes of `leash: TEXT`, or null (with a W490 in `problems`) when it is not a valid allow. */
function parseDirective(text: string, span: Span, problems: Diagnostic[]): string[] | null {
  const usage = "write `// leash: allow W4xx -- why the warning stays`";
  const m = ALLOW.exec(text);
  if (m === null) {
    const word = /^\S*/.exec(text)![0];
    const near = word ? didYouMean(word, ["allow"]) : undefined;
    problems.push(diagnostic(ALLOW_PROBLEM, span, `unknown comment directive \`leash: ${word}\`${near ? `; did you mean \`allow\`?` : ""}`, usage));
    return null;
  }
  const codes = m[1]!.split(/[\s,]+/).filter(Boolean);
  if (codes.length === 0) {
    problems.push(diagnostic(ALLOW_PROBLEM, span, "an allow comment names the warnings it allows", usage));
    return null;
  }
  for (const code of codes) {
    if (CODE.test(code) && code in CODES && code !== ALLOW_PROBLEM) continue;
    const why = code === ALLOW_PROBLEM ? "a problem with an allow comment cannot itself be allowed" : code in CODES ? `only warnings (W4xx) can be allowed; ${code} is an error` : `\`${code}\` is not a warning code`;
    problems.push(diagnostic(ALLOW_PROBLEM, span, `cannot allow ${code}: ${why}`, "the warnings are listed in docs/errors.md (W401...)"));
    return null;
  }
  if (m[2] === undefined || m[2].trim() === "") {
    problems.push(diagnostic(ALLOW_PROBLEM, span, `an allow comment says why the warning stays: \`// leash: allow ${codes.join(", ")} -- REASON\``, usage));
    return null;
  }
  return codes;
}

function covers(x: Directive, span: Span): boolean {
  if (x.lines.includes(span.line)) return true;
  return x.item !== null && span.offset >= x.item.offset && span.offset <= x.item.endOffset;
}

/** What a comment covers: its own line after code, else the next line with code and the item starting there. */
function coverage(file: PolicyFile, comment: Comment): { lines: number[]; item: Span | null } {
  const c = comment.span;
  let next: Span | null = null;
  let trailing = false;
  for (const item of file.items) {
    if (item.span.endLine < c.line) continue;
    forEachSpan(item, (s) => {
      if (s.offset < c.offset && ((s.line === c.line) || (s.endLine === c.line && s.endOffset <= c.offset))) trailing = true;
      if (s.offset >= c.endOffset && (next === null || s.offset < next.offset)) next = s;
    });
    if (next !== null && !trailing) break;
  }
  if (trailing) return { lines: [c.line], item: null };
  if (next === null) return { lines: [], item: null };
  const first: Span = next;
  const item = file.items.find((i: Item) => i.span.offset === first.offset);
  return { lines: [first.line], item: item?.span ?? null };
}

/** Calls `visit` with the span of `node` and of every node inside it. */
function forEachSpan(node: unknown, visit: (s: Span) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) forEachSpan(n, visit);
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "span" || k.endsWith("Span")) {
      if (v !== null && typeof v === "object") visit(v as Span);
    } else if (typeof v === "object") forEachSpan(v, visit);
  }
}
