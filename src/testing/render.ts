import { formatNumber, formatResourceGlob, formatString } from "../format/lexical.js";
import { findMixedScript } from "../syntax/scripts.js";
import type { TraceEntry } from "./arbitraries.js";
import type { StepOutcome } from "./outcomes.js";

/**
 * Traces as people read them: each event as a `test` step of the `.rules` language (so a
 * counterexample can be pasted into a test block), and as JSON Lines for `leash eval`. Strings are
 * written with the language's escapes (`formatString`): control characters and BIDI overrides such
 * as U+202E come out as `\u{202E}`, which the lexer reads back as the same string.
 */

/** `3600000` -> `1h`, `1500` -> `1500ms`: the largest unit that divides the duration. */
export function durationText(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms === 0) return "0s";
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A name the lexer reads as one identifier (in one script), so it can be a kind or a field name. */
function isName(s: unknown): s is string {
  return typeof s === "string" && /^[\p{L}_](?:[\p{L}\d_]|-(?!>))*$/u.test(s) && !s.endsWith("-") && findMixedScript(s) === null;
}

/** A dotted action or signal name whose every segment is a name. */
function isActionName(s: unknown): s is string {
  return typeof s === "string" && s.split(".").every(isName);
}

function literal(v: unknown): string | null {
  if (typeof v === "string") return formatString(v);
  if (typeof v === "number" && Number.isFinite(v)) return formatNumber(v);
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const parts = v.map((x) => (Array.isArray(x) ? null : literal(x)));
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
    if (!isName(k) || l === null) return null;
    parts.push(`${k}: ${l}`);
  }
  return parts.length === 0 ? "" : ` ${entity} { ${parts.join(", ")} }`;
}

/** One trace event as a test step (`at 2s human "alice" release.push repo/x session "s1"`), or null if it cannot be written as one. */
export function stepText(e: TraceEntry, expect?: string): string | null {
  const ev = e as unknown as Record<string, unknown>;
  if (typeof ev.time !== "number" || !Number.isInteger(ev.time) || ev.time < 0) return null;
  const at = `at ${durationText(ev.time)} `;
  if (ev.session !== undefined && typeof ev.session !== "string") return null;
  const session = typeof ev.session === "string" ? ` session ${formatString(ev.session)}` : "";
  const context = ev.context && typeof ev.context === "object" ? fields("context", ev.context as Record<string, unknown>) : "";
  const principal = ev.principal && typeof ev.principal === "object" ? (ev.principal as Record<string, unknown>) : null;
  const principalAttrs = principal ? fields("principal", principal, ["kind", "id"]) : "";
  if (context === null || principalAttrs === null) return null;
  const who = principal && isName(principal.kind) && typeof principal.id === "string" ? `${principal.kind} ${formatString(principal.id)}` : null;
  if (typeof ev.signal === "string") {
    if (!isActionName(ev.signal)) return null;
    const resource = ev.resource && typeof ev.resource === "object" ? fields("resource", ev.resource as Record<string, unknown>) : "";
    if (resource === null || (principal && who === null)) return null;
    return `${at}signal ${ev.signal}${who ? ` by ${who}` : ""}${session}${principalAttrs}${resource}${context}`;
  }
  if (who === null || !isActionName(ev.action)) return null;
  const res = ev.resource && typeof ev.resource === "object" ? (ev.resource as Record<string, unknown>) : null;
  let glob = "";
  let resourceAttrs: string | null = "";
  if (res) {
    const path = typeof res.path === "string" ? res.path : null;
    if (path !== null) glob = ` ${formatResourceGlob(path)}`;
    resourceAttrs = fields("resource", res, path !== null ? ["path"] : []);
    if (resourceAttrs === null) return null;
  }
  return `${at}${who} ${ev.action}${glob}${session}${principalAttrs}${resourceAttrs}${context}${expect ? ` => ${expect}` : ""}`;
}

/**
 * A trace as JSON Lines, the format `leash eval` replays. With `outcomes`, each line carries its
 * `expect` (a request's effect, the keys a signal revoked), so `leash eval POLICY TRACE --check`
 * confirms the replay gives the same decisions; `header` lines are written first as `//` comments.
 */
export function traceJsonl(trace: readonly TraceEntry[], outcomes?: readonly StepOutcome[], header: readonly string[] = []): string {
  const lines = header.map((h) => `// ${h.replace(/[\r\n]+/g, " ")}`);
  trace.forEach((e, i) => {
    const o = outcomes?.[i];
    const expect = o === undefined ? undefined : o.kind === "request" ? { effect: o.effect } : { revoked: o.revoked ?? [] };
    lines.push(JSON.stringify(expect === undefined ? e : { ...e, expect }));
  });
  return lines.join("\n") + "\n";
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

/**
 * A trace as a `test` block that can be pasted into the policy file: `expects` gives the expected
 * effect of each request step (every request step needs one), `notes` a trailing comment for some
 * steps. Null when an event cannot be written as a step (an attribute that is an object, say).
 */
export function traceAsTest(name: string, trace: readonly TraceEntry[], expects: ReadonlyMap<number, string>, notes: ReadonlyMap<number, string> = new Map()): string | null {
  const lines: string[] = [];
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    const isRequest = !("signal" in e);
    const expect = expects.get(i);
    if (isRequest && expect === undefined) return null;
    const s = stepText(e, isRequest ? expect : undefined);
    if (s === null) return null;
    const note = notes.get(i);
    lines.push(`  ${s}${note ? `  // ${note.replace(/[\r\n]+/g, " ")}` : ""}`);
  }
  return `test ${formatString(name)} {\n${lines.join("\n")}\n}`;
}

/**
 * The test block that pins a counterexample: every request step expects what the policy decided,
 * except the one that breaks the claim, which expects what the claim wants — so the block parses,
 * and fails at that step, as printed. Null when a step cannot be written.
 */
export function counterexampleTest(name: string, c: { readonly trace: readonly TraceEntry[]; readonly index: number; readonly outcomes: readonly StepOutcome[]; readonly claimed: string | null }, claim: string): string | null {
  const expects = new Map<number, string>();
  c.outcomes.forEach((o, i) => {
    if (o.kind === "request" && o.effect !== undefined) expects.set(i, o.effect);
  });
  const notes = new Map<number, string>();
  if (c.claimed !== null) {
    expects.set(c.index, c.claimed);
    notes.set(c.index, `the claim: ${claim}; the policy says ${c.outcomes[c.index]?.effect ?? "otherwise"}`);
  } else notes.set(c.index, `breaks: ${claim} (a test step cannot say "not flagged")`);
  return traceAsTest(name, c.trace, expects, notes);
}
