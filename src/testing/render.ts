import { quoteString } from "../syntax/strings.js";
import type { TraceEntry } from "./arbitraries.js";

/**
 * Traces as people read them: each event as a `test` step of the `.rules` language (so a
 * counterexample can be pasted into a test block), and as JSON Lines for `leash eval`.
 */

/** `3600000` -> `1h`, `1500` -> `1500ms`: the largest unit that divides the duration. */
export function durationText(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms === 0) return "0s";
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** A dotted action or signal name the lexer reads back as written. */
const ACTION = /^[\p{L}_][\p{L}\d_-]*(?:\.[\p{L}_][\p{L}\d_-]*)*$/u;
const PATH = /^[A-Za-z0-9_.*-]+\/[A-Za-z0-9_.*\/-]*$/;

function literal(v: unknown): string | null {
  if (typeof v === "string") return quoteString(v);
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const parts = v.map(literal);
    return parts.every((p) => p !== null) ? `[${parts.join(", ")}]` : null;
  }
  return null;
}

/** `context { ip: "10.0.0.1", risk: 0.9 }`, or null when an attribute cannot be written as a test field. */
function fields(entity: string, o: Record<string, unknown>, skip: readonly string[] = []): string | null {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (skip.includes(k)) continue;
    const l = literal(v);
    if (!NAME.test(k) || l === null) return null;
    parts.push(`${k}: ${l}`);
  }
  return parts.length === 0 ? "" : ` ${entity} { ${parts.join(", ")} }`;
}

/** One trace event as a test step (`at 2s human "alice" release.push repo/x session "s1"`), or null if it cannot be written as one. */
export function stepText(e: TraceEntry, expect?: string): string | null {
  const ev = e as unknown as Record<string, unknown>;
  const at = `at ${durationText(e.time)} `;
  const session = typeof ev.session === "string" ? ` session ${quoteString(ev.session)}` : "";
  const context = ev.context && typeof ev.context === "object" ? fields("context", ev.context as Record<string, unknown>) : "";
  const principal = ev.principal && typeof ev.principal === "object" ? (ev.principal as Record<string, unknown>) : null;
  const principalAttrs = principal ? fields("principal", principal, ["kind", "id"]) : "";
  if (context === null || principalAttrs === null) return null;
  const who = principal && typeof principal.kind === "string" && NAME.test(principal.kind) && typeof principal.id === "string" ? `${principal.kind} ${quoteString(principal.id)}` : null;
  if (typeof ev.signal === "string") {
    if (!ACTION.test(ev.signal)) return null;
    const resource = ev.resource && typeof ev.resource === "object" ? fields("resource", ev.resource as Record<string, unknown>) : "";
    if (resource === null || (principal && who === null)) return null;
    return `${at}signal ${ev.signal}${who ? ` by ${who}` : ""}${session}${principalAttrs}${resource}${context}`;
  }
  if (who === null || typeof ev.action !== "string" || !ACTION.test(ev.action)) return null;
  const res = ev.resource && typeof ev.resource === "object" ? (ev.resource as Record<string, unknown>) : null;
  let glob = "";
  let resourceAttrs: string | null = "";
  if (res) {
    const path = typeof res.path === "string" ? res.path : null;
    if (path !== null) glob = ` ${PATH.test(path) ? path : quoteString(path)}`;
    resourceAttrs = fields("resource", res, path !== null ? ["path"] : []);
    if (resourceAttrs === null) return null;
  }
  return `${at}${who} ${ev.action}${glob}${session}${principalAttrs}${resourceAttrs}${context}${expect ? ` => ${expect}` : ""}`;
}

/** A trace as JSON Lines, the format `leash eval` replays. */
export function traceJsonl(trace: readonly TraceEntry[]): string {
  return trace.map((e) => JSON.stringify(e)).join("\n") + "\n";
}

/**
 * A trace as numbered lines, each a test step, with the decision of the request that matters.
 * Events that cannot be written as a step are shown as JSON.
 */
export function traceLines(trace: readonly TraceEntry[], marks: ReadonlyMap<number, string> = new Map()): string[] {
  return trace.map((e, i) => {
    const mark = marks.get(i);
    const text = stepText(e) ?? JSON.stringify(e);
    return `${String(i + 1).padStart(3)}  ${text}${mark ? `   <- ${mark}` : ""}`;
  });
}

/** A trace as a `test` block that can be pasted into the policy file to keep the case. */
export function traceAsTest(name: string, trace: readonly TraceEntry[], expects: ReadonlyMap<number, string>): string | null {
  const lines: string[] = [];
  for (let i = 0; i < trace.length; i++) {
    const s = stepText(trace[i]!, expects.get(i));
    if (s === null) return null;
    lines.push(`  ${s}`);
  }
  return `test ${quoteString(name)} {\n${lines.join("\n")}\n}`;
}
