import { compilePolicy } from "../../compile/compile.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { parseJsonLines, replayTrace, type TraceStep } from "../../runtime/trace.js";
import { EXIT_FAIL, EXIT_OK, readText, UsageError, type CliIO } from "../io.js";
import { parseArgs } from "../args.js";
import { paint } from "../style.js";

export const help = `leash eval POLICY.rules EVENTS.jsonl [--json] [--check]

Replays a trace of requests and signals (one JSON object per line) through the policy, threading
state, and prints one decision per line.

  --json    one JSON object per line: the decision (effect, rules, reasons, obligations, flags,
            errors, validUntil, nextDeadline, watch) with the line number and the event
  --check   verify each line's "expect" (an effect, or {effect, rules, flags, validUntil,
            nextDeadline, watch, revoked}); exit 1 on any mismatch
  --help    this text

Trace lines: a request {"principal":{...},"action":"a.b","time":0,...}, a signal
{"signal":"login.fail","time":0,...}, {"revoke":{"session":"s1"},"reason":"...","time":0} or
{"reinstate":{"session":"s1"}}. Exit codes: 0 ok, 1 policy errors or a failed --check, 2 usage.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "eval", flags: ["json", "check"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  if (args.positional.length !== 2) throw new UsageError("eval takes a policy file and a trace file (see leash eval --help)");
  const [policyPath, tracePath] = args.positional as [string, string];
  const source = readText(io, policyPath);
  const traceText = readText(io, tracePath);
  const compiled = compilePolicy(source, { file: policyPath });
  if (compiled.policy === null) {
    io.stderr(renderDiagnostics(compiled.diagnostics, () => source, { color: io.color }) + "\n");
    return EXIT_FAIL;
  }
  const { events, errors } = parseJsonLines(traceText, tracePath);
  if (errors.length > 0) {
    io.stderr(errors.join("\n") + "\n");
    return EXIT_FAIL;
  }
  const { steps } = replayTrace(compiled.policy, events);
  let failed = 0;
  for (const step of steps) {
    if (args.flags.json) io.stdout(JSON.stringify(jsonOf(step)) + "\n");
    else io.stdout(lineOf(step, io.color) + "\n");
    if (args.flags.check && step.mismatches.length > 0) {
      failed++;
      io.stderr(`${tracePath}:${lineNumber(traceText, step.index)}: ${step.mismatches.join("; ")}\n`);
    }
  }
  if (args.flags.check) {
    const expected = steps.filter((s) => s.expect !== undefined).length;
    io.stderr(`${expected - failed} of ${expected} expectations met${failed > 0 ? `, ${failed} failed` : ""}\n`);
  }
  return failed > 0 ? EXIT_FAIL : EXIT_OK;
}

function jsonOf(step: TraceStep): Record<string, unknown> {
  return { line: step.index, kind: step.kind, ...(step.decision ? { decision: step.decision } : {}), ...(step.revoked ? { revoked: step.revoked } : {}), ...(step.flags ? { flags: step.flags } : {}), ...(step.message ? { message: step.message } : {}), ok: step.mismatches.length === 0 };
}

const EFFECT_COLOR: Record<string, string> = { allow: "green", deny: "red", challenge: "yellow", revoke: "magenta" };

function lineOf(step: TraceStep, color: boolean): string {
  const n = String(step.index).padStart(3);
  const d = step.decision;
  if (d) {
    const who = step.event.principal && typeof step.event.principal === "object" ? `${(step.event.principal as { kind?: string }).kind}/${(step.event.principal as { id?: string }).id}` : "-";
    const why = d.rules.length > 0 ? d.rules.join(",") : d.reasons.map((r) => r.code ?? "").filter(Boolean).join(",");
    const extra = [
      d.flags.length > 0 ? `flags=${d.flags.join(",")}` : "",
      d.obligations.length > 0 ? `obligations=${d.obligations.map((o) => (o.kind === "challenge" ? `${o.challenge}${o.satisfiedBy.length ? `<-${o.satisfiedBy.join("|")}` : ""}` : `revoke:${o.key}`)).join(",")}` : "",
      d.validUntil !== null ? `validUntil=${d.validUntil}` : "",
      d.errors.length > 0 ? `errors=${d.errors.map((e) => `${e.code}${e.rule ? `@${e.rule}` : ""}`).join(",")}` : "",
    ].filter(Boolean);
    return `${n}  ${paint(d.effect.padEnd(9), EFFECT_COLOR[d.effect]!, color)} ${d.action.padEnd(20)} ${who.padEnd(24)} ${why}${extra.length ? "  " + extra.join("  ") : ""}${step.mismatches.length ? paint("  MISMATCH", "red", color) : ""}`;
  }
  const label = step.kind === "signal" ? `signal ${String(step.event.signal)}` : step.kind;
  const extra = [step.revoked?.length ? `revoked=${step.revoked.join(",")}` : "", step.flags?.length ? `flags=${step.flags.join(",")}` : "", step.message ?? ""].filter(Boolean).join("  ");
  return `${n}  ${paint("·".padEnd(9), "dim", color)} ${label.padEnd(45)} ${extra}${step.mismatches.length ? paint("  MISMATCH", "red", color) : ""}`;
}

/** The 1-based source line of the n-th event (blank and comment lines are skipped in numbering). */
function lineNumber(text: string, index: number): number {
  const lines = text.split(/\r?\n/);
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === "" || t.startsWith("//")) continue;
    if (++seen === index) return i + 1;
  }
  return index;
}
