import type { DurationLit, EventSelector, Expr, TemporalCall } from "../ast/nodes.js";
import { formatAction, formatDuration, formatKey, formatLiteral, formatPath, formatSet, formatString } from "./lexical.js";

/**
 * Expressions with the fewest parentheses the grammar needs. Precedence, lowest first:
 * `or` (left-associative) < `and` (left-associative) < `not` < a comparison (`==`, `in`, `like`,
 * `has`; not associative, so `a < b < c` does not parse and a comparison inside a comparison is
 * parenthesised) < an operand (literal, set, path, sequence operator, `session has x`).
 */
const PREC_OR = 1;
const PREC_AND = 2;
const PREC_NOT = 3;
const PREC_COMPARE = 4;
const PREC_OPERAND = 5;

function precedence(e: Expr): number {
  switch (e.kind) {
    case "BinaryExpr":
      return e.op === "or" ? PREC_OR : PREC_AND;
    case "NotExpr":
      return PREC_NOT;
    case "CompareExpr":
    case "InExpr":
    case "LikeExpr":
    case "HasExpr":
      return PREC_COMPARE;
    default:
      return PREC_OPERAND;
  }
}

/** `e` on one line, parenthesised when it binds more loosely than its context `min`. */
export function formatExpr(e: Expr, min = 0): string {
  const text = bare(e);
  return precedence(e) < min ? `(${text})` : text;
}

function bare(e: Expr): string {
  switch (e.kind) {
    case "StringLit":
    case "NumberLit":
    case "BoolLit":
    case "DurationLit":
      return formatLiteral(e);
    case "SetLit":
      return formatSet(e);
    case "Path":
      return formatPath(e);
    case "BinaryExpr": {
      const p = precedence(e);
      return `${formatExpr(e.left, p)} ${e.op} ${formatExpr(e.right, p + 1)}`;
    }
    case "NotExpr":
      return `not ${formatExpr(e.operand, PREC_NOT)}`;
    case "CompareExpr":
      return `${formatExpr(e.left, PREC_OPERAND)} ${e.op} ${formatExpr(e.right, PREC_OPERAND)}`;
    case "InExpr":
      return `${formatExpr(e.element, PREC_OPERAND)} in ${formatExpr(e.collection, PREC_OPERAND)}`;
    case "LikeExpr":
      return `${formatExpr(e.subject, PREC_OPERAND)} like ${formatString(e.pattern.value)}`;
    case "HasExpr":
      return `${e.subject.kind === "RootRef" ? e.subject.root : formatPath(e.subject)} has ${e.attribute.value}`;
    case "SessionHasExpr":
      return `session has ${e.label.value}`;
    default:
      return formatTemporal(e);
  }
}

export function formatEvents(s: EventSelector): string {
  const patterns = s.patterns.map(formatAction).join(" | ");
  return s.filter === "happened" ? patterns : `${s.filter} ${patterns}`;
}

function formatTemporal(t: TemporalCall): string {
  const within = (d: DurationLit | null) => (d ? ` within ${formatDuration(d)}` : "");
  const until = (u: EventSelector | null) => (u ? ` until ${formatEvents(u)}` : "");
  const including = (current: boolean) => (current ? " including this" : "");
  switch (t.kind) {
    case "AfterCall":
      return `after(${formatEvents(t.events)} by ${formatKey(t.key)}${within(t.window)}${until(t.until)})`;
    case "SinceCall":
      return `since(${formatEvents(t.events)} by ${formatKey(t.key)})`;
    case "GapCall":
      return `gap(${formatEvents(t.events)} by ${formatKey(t.key)})`;
    case "CountCall":
      return `count(${formatEvents(t.events)} by ${formatKey(t.key)}${within(t.window)}${including(t.current)})`;
    case "DistinctCall": {
      const of = t.events ? ` of ${formatEvents(t.events)}` : "";
      return `distinct(${formatPath(t.attribute)}${of} by ${formatKey(t.key)}${within(t.window)}${including(t.current)})`;
    }
    case "RateCall":
      return `rate(${formatEvents(t.events)} by ${formatKey(t.key)}, ${formatLiteral(t.limit)} per ${formatDuration(t.per)})`;
    case "RegularityCall":
      return `regularity(${formatEvents(t.events)} by ${formatKey(t.key)} over ${formatLiteral(t.samples)})`;
    case "SequenceCall":
      return `sequence(${t.stages.map(formatEvents).join(", ")} by ${formatKey(t.key)} within ${formatDuration(t.window)}${until(t.until)})`;
    case "DeviatesCall":
      return `deviates(${t.workflow.value})`;
  }
}

/**
 * `prefix + e + suffix` as lines no wider than `width` where possible. A chain of `and`s or `or`s
 * that does not fit is broken before each operator, the operators on continuation lines indented
 * to `indent`; an operand that is itself a chain breaks one level deeper (`indent + 2`). A
 * parenthesised chain breaks inside its parentheses. Anything else stays on one line even when
 * long: a sequence operator is never split.
 */
export function breakExpr(e: Expr, min: number, indent: number, prefix: string, suffix: string, width: number): string[] {
  const flat = prefix + formatExpr(e, min) + suffix;
  if (flat.length <= width) return [flat];
  if (precedence(e) < min) return breakExpr(e, 0, indent, `${prefix}(`, `)${suffix}`, width);
  if (e.kind === "NotExpr" && precedence(e.operand) < PREC_NOT) {
    return breakExpr(e.operand, PREC_NOT, indent, `${prefix}not `, suffix, width);
  }
  if (e.kind !== "BinaryExpr") return [flat];
  const p = precedence(e);
  const chain: Expr[] = [];
  let left: Expr = e;
  while (left.kind === "BinaryExpr" && left.op === e.op) {
    chain.unshift(left.right);
    left = left.left;
  }
  chain.unshift(left);
  const pad = " ".repeat(indent);
  const lines: string[] = [];
  chain.forEach((operand, i) => {
    const last = i === chain.length - 1;
    const head = i === 0 ? prefix : `${pad}${e.op} `;
    lines.push(...breakExpr(operand, i === 0 ? p : p + 1, indent + 2, head, last ? suffix : "", width));
  });
  return lines;
}
