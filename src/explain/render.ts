import { jsonValue, paint } from "../diagnostics/terminal.js";
import { escapeInvisible } from "../syntax/strings.js";
import { principalText, type AttributeRead, type Explanation, type ProbeValue } from "./explain.js";

const EFFECT_COLOR: Readonly<Record<string, string>> = { allow: "green", deny: "red", challenge: "yellow", revoke: "magenta", flag: "cyan" };

/** The explanation as terminal text. */
export function renderExplanation(x: Explanation, color: boolean): string {
  const d = x.decision;
  const c = (text: string, col: string) => paint(text, col, color);
  const out: string[] = [];
  const e = escapeInvisible;
  const session = typeof x.request.session === "string" ? `  session ${x.request.session}` : "";
  out.push(`${c("request", "bold")}   ${principalText(x.request)} ${e(d.action)}  at ${d.time}${e(session)}`);
  out.push(`${c("decision", "bold")}  ${c(d.effect, EFFECT_COLOR[d.effect]!)}${d.rules.length ? ` by ${d.rules.join(", ")}` : ""}`);
  for (const r of d.reasons) out.push(`          ${r.code ? `${r.code}: ` : ""}${e(r.message)}`);
  out.push("");
  out.push(c(`candidates (rules whose targets match ${e(d.action)})`, "bold"));
  if (x.candidates.length === 0) out.push("  none");
  for (const r of x.candidates) {
    const mark = r.deciding ? c("●", EFFECT_COLOR[r.effect] ?? "bold") : r.status === "matched" ? "◐" : "○";
    const status = r.status === "matched" ? c("matched", "green") : r.status === "not matched" ? c("not matched", "dim") : c(r.status, "yellow");
    out.push(`  ${mark} ${r.rule.padEnd(26)} ${c(r.effect.padEnd(9), EFFECT_COLOR[r.effect] ?? "bold")} ${r.file !== undefined ? `${e(r.file)}:${r.line}` : `line ${String(r.line).padEnd(4)}`} ${status}${r.deciding ? c(r.effect === "flag" ? "  ← flags" : "  ← decides", "bold") : ""}`);
    if (r.note) out.push(`      ${c(e(r.note), "dim")}`);
    if (r.principals) out.push(line(r.principals.text, r.principals.value, r.principals.reads, c));
    if (r.resources) out.push(line(r.resources.text, r.resources.value, r.resources.reads, c));
    for (const cl of r.clauses) {
      const holds = cl.holds === true ? c("holds", "green") : cl.holds === false ? c("fails", "red") : c("error", "yellow");
      out.push(`${line(`${cl.kind} ${cl.text}`, cl.value, cl.reads, c, measured(cl))}  → ${holds}`);
      for (const p of cl.parts) out.push(line(`  ${p.text}`, p.value, p.reads, c, measured(p)));
    }
  }
  if (x.others.length > 0) out.push(c(`  not candidates: ${x.others.join(", ")}`, "dim"));
  out.push("");
  out.push(c("why", "bold"));
  for (const w of x.why) out.push(`  ${e(w)}`);
  const when = (t: number | null) => (t === null ? "never" : String(t));
  out.push("");
  out.push(c(`validUntil ${when(d.validUntil)} · nextDeadline ${when(d.nextDeadline)} · watch ${d.watch.join(", ") || "-"}`, "dim"));
  return out.join("\n");
}

function measured(p: { readonly count?: { value: number; atLeast: boolean }; readonly elapsedMs?: number | null }): string {
  if (p.count) return `value ${p.count.atLeast ? "≥ " : ""}${p.count.value}`;
  if (p.elapsedMs === null) return "no such event";
  if (p.elapsedMs !== undefined) return `value ${p.elapsedMs} ms`;
  return "";
}

function line(text: string, value: ProbeValue, reads: readonly AttributeRead[], c: (t: string, col: string) => string, extra = ""): string {
  const v = value === true ? c("true", "green") : value === false ? c("false", "red") : c(`error ${value.error}: ${escapeInvisible(value.message)}`, "yellow");
  const r = reads.map((x) => `${x.path} = ${x.value === undefined ? "(missing)" : jsonValue(x.value)}`).join(", ");
  return `      ${text}  ${v}${extra ? `  ${c(extra, "cyan")}` : ""}${r ? `  ${c(r, "dim")}` : ""}`;
}

