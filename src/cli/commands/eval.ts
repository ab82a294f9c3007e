import { traceVocabularyProblems } from "../../check/events.js";
import { readTrace, replayTrace, type TraceStep } from "../../runtime/trace.js";
import { escapeInvisible } from "../../syntax/strings.js";
import { displayName, EXIT_FAIL, EXIT_OK, readText, STDIN, UsageError, type CliIO } from "../io.js";
import { compilePolicyArgument, renderPolicyDiagnostics } from "../policy.js";
import { parseArgs } from "../args.js";
import { jsonLine, paint, valueText } from "../style.js";

export const help = `leash eval POLICY EVENTS.jsonl [--json] [--check]

Replays a trace of requests and signals (one JSON object per line) through the policy, threading
state, and prints one decision per line, each starting with its place in the trace, FILE:LINE.
POLICY is a .rules file (with the files it imports) or a directory of them (one policy).
Either file may be - (standard input), not both.

  --json    one JSON object per line: the decision (effect, rules, reasons, obligations, flags,
            errors, validUntil, nextDeadline, watch) with the file, line and event number
  --check   verify each line's "expect" (an effect, or {effect, rules, flags, validUntil,
            nextDeadline, watch, revoked}); exit 1 on any mismatch
  --help    this text

Trace lines: a request {"principal":{...},"action":"a.b","time":0,...}, a signal
{"signal":"login.fail","time":0,...}, {"revoke":{"session":"s1"},"reason":"...","time":0} or
{"reinstate":{"session":"s1"}}. A line that is none of these, or whose "expect" is not an
expectation (an unknown field, an unknown effect), is reported as FILE:LINE: what is wrong and
nothing is replayed. A line naming an attribute the schema does not declare (or gives another
type), a signal the signals block does not declare or a rule the policy does not have is reported
as FILE:LINE: what is unknown [CODE]; with --check such a line fails the run.
Exit codes: 0 ok, 1 policy or trace errors or a failed --check, 2 usage.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "eval", flags: ["json", "check"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  if (args.positional.length !== 2) throw new UsageError("eval takes a policy file and a trace file (see leash eval --help)");
  const [policyPath, tracePath] = args.positional as [string, string];
  if (policyPath === STDIN && tracePath === STDIN) throw new UsageError("only one of the policy and the trace can be read from standard input (-)");
  const compiled = compilePolicyArgument(io, policyPath);
  const traceText = readText(io, tracePath);
  if (compiled.policy === null) {
    io.stderr(renderPolicyDiagnostics(io, compiled));
    return EXIT_FAIL;
  }
  const traceName = displayName(tracePath);
  const { events, lines, problems } = readTrace(traceText, traceName);
  if (problems.length > 0) {
    io.stderr(problems.map(escapeInvisible).join("\n") + "\n");
    io.stderr(`${problems.length} problem${problems.length === 1 ? "" : "s"} in ${traceName}; nothing was replayed\n`);
    return EXIT_FAIL;
  }
  // Lines naming attributes, signals or rules the policy does not know: reported, and with --check failures.
  const unknown = traceVocabularyProblems(compiled.ast, events, lines, traceName);
  for (const p of unknown) io.stderr(`${escapeInvisible(p)}\n`);
  const { steps } = replayTrace(compiled.policy, events);
  const at = (step: TraceStep) => `${traceName}:${lines[step.index - 1] ?? step.index}`;
  const width = Math.max(0, ...steps.map((s) => at(s).length));
  let failed = 0;
  for (const step of steps) {
    if (args.flags.json) io.stdout(jsonLine(jsonOf(step, traceName, lines[step.index - 1] ?? step.index)));
    else io.stdout(lineOf(step, at(step).padEnd(width), io.color).trimEnd() + "\n");
    if (args.flags.check && step.mismatches.length > 0) {
      failed++;
      io.stderr(`${at(step)}: ${escapeInvisible(step.mismatches.join("; "))}\n`);
    }
  }
  if (args.flags.check) {
    const expected = steps.filter((s) => s.expect !== undefined).length;
    const words = unknown.length > 0 ? `; ${unknown.length} line${unknown.length === 1 ? "" : "s"} with names the policy does not know` : "";
    io.stderr(`${expected - failed} of ${expected} expectations met${failed > 0 ? `, ${failed} failed` : ""}${words}\n`);
    if (unknown.length > 0) return EXIT_FAIL;
  }
  return failed > 0 ? EXIT_FAIL : EXIT_OK;
}

function jsonOf(step: TraceStep, file: string, line: number): Record<string, unknown> {
  return {
    file,
    line,
    event: step.index,
    kind: step.kind,
    ...(step.decision ? { decision: step.decision } : {}),
    ...(step.revoked ? { revoked: step.revoked } : {}),
    ...(step.flags ? { flags: step.flags } : {}),
    ...(step.message ? { message: step.message } : {}),
    ok: step.mismatches.length === 0,
  };
}

const EFFECT_COLOR: Record<string, string> = { allow: "green", deny: "red", challenge: "yellow", revoke: "magenta" };

/** One step as a line of text (`at` is its FILE:LINE); every value from the trace is shown with its invisible characters escaped. */
function lineOf(step: TraceStep, at: string, color: boolean): string {
  const d = step.decision;
  const mismatch = step.mismatches.length ? paint("  MISMATCH", "red", color) : "";
  if (d) {
    const p = step.event.principal;
    const who = p && typeof p === "object" ? `${valueText((p as { kind?: unknown }).kind)}/${valueText((p as { id?: unknown }).id)}` : "-";
    const why = d.rules.length > 0 ? d.rules.join(",") : d.reasons.map((r) => r.code ?? "").filter(Boolean).join(",");
    const extra = [
      d.flags.length > 0 ? `flags=${d.flags.join(",")}` : "",
      d.obligations.length > 0 ? `obligations=${d.obligations.map((o) => (o.kind === "challenge" ? `${o.challenge}${o.satisfiedBy.length ? `<-${o.satisfiedBy.join("|")}` : ""}` : `revoke:${o.key}`)).join(",")}` : "",
      d.validUntil !== null ? `validUntil=${d.validUntil}` : "",
      d.errors.length > 0 ? `errors=${d.errors.map((e) => `${e.code}${e.rule ? `@${e.rule}` : ""}`).join(",")}` : "",
    ].filter(Boolean);
    const text = `${escapeInvisible(d.action).padEnd(20)} ${who.padEnd(24)} ${why}${extra.length ? "  " + escapeInvisible(extra.join("  ")) : ""}`;
    return `${at}  ${paint(d.effect.padEnd(9), EFFECT_COLOR[d.effect]!, color)} ${text}${mismatch}`;
  }
  const label = step.kind === "signal" ? `signal ${String(step.event.signal)}` : step.kind;
  const extra = [step.revoked?.length ? `revoked=${step.revoked.join(",")}` : "", step.flags?.length ? `flags=${step.flags.join(",")}` : "", step.message ?? ""].filter(Boolean).join("  ");
  return `${at}  ${paint("·".padEnd(9), "dim", color)} ${escapeInvisible(label).padEnd(45)} ${escapeInvisible(extra)}${mismatch}`;
}
