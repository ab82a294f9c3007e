import { compilePolicy } from "../../compile/compile.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { replayLog, type ReplayReport } from "../../log/replay.js";
import { escapeInvisible } from "../../syntax/strings.js";
import { parseArgs } from "../args.js";
import { displayName, EXIT_FAIL, EXIT_OK, readText, stderrColor, UsageError, type CliIO } from "../io.js";
import { jsonText, paint } from "../style.js";

export const help = `leash replay LOG.jsonl --policy NEW.rules [--json]

Re-decides a decision log (the JSON lines leash/log writes, or a pino log of them) with another
policy: every line in order from an empty state — decisions, signals, revocations and
reinstatements — so the state is rebuilt from the log, and every decision whose effect would
change is reported, grouped by action, effects and deciding rules. Shadow-mode lines are skipped.

  --policy NEW.rules   the policy to replay with (required)
  --json               one JSON object on stdout: counts, groups, every flip, problems
  --help               this text

A decision whose logged input had [secret] values redacted (or was cut down) is replayed with what
the log holds; when it comes out differently and a rule reads such a value, it is reported as not
verifiable (R338), not as a change. A line that is not a decision log event is reported as
FILE:LINE (R339). LOG.jsonl may be - (standard input).
Exit codes: 0 no decision would change, 1 some would (or a line could not be replayed, or the
policy does not compile), 2 usage.`;

/** `leash replay LOG.jsonl --policy NEW.rules` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "replay", flags: ["json"], values: ["policy"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  if (args.positional.length !== 1) throw new UsageError("replay takes one log file and --policy NEW.rules (see leash replay --help)");
  const policyPath = args.values.policy;
  if (policyPath === undefined) throw new UsageError("replay needs --policy NEW.rules, the policy to replay the log with");
  const logPath = args.positional[0]!;
  const source = readText(io, policyPath);
  const text = readText(io, logPath);
  const compiled = compilePolicy(source, { file: displayName(policyPath) });
  if (compiled.policy === null) {
    io.stderr(renderDiagnostics(compiled.diagnostics, () => source, { color: stderrColor(io) }) + "\n");
    return EXIT_FAIL;
  }
  const report = replayLog(compiled.policy, text, displayName(logPath));
  if (args.flags.json) io.stdout(jsonText({ log: displayName(logPath), policy: displayName(policyPath), policyHash: compiled.policy.hash, ...report }, 2) + "\n");
  else io.stdout(textOf(report, displayName(logPath), displayName(policyPath), io.color));
  if (report.problems.length > 0) io.stderr(report.problems.map(escapeInvisible).join("\n") + "\n");
  return report.flips.length > 0 || report.problems.length > 0 ? EXIT_FAIL : EXIT_OK;
}

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en")} ${n === 1 ? one : many}`;

function textOf(r: ReplayReport, log: string, policy: string, color: boolean): string {
  const out: string[] = [];
  const parts = [count(r.decisions, "decision"), count(r.signals, "signal"), count(r.keyOperations, "revocation or reinstatement", "revocations and reinstatements")];
  if (r.shadow > 0) parts.push(`${count(r.shadow, "shadow line")} skipped`);
  out.push(`replayed ${count(r.events, "line")} of ${log} (${parts.join(", ")}) with ${policy}`);
  if (r.unverifiable.length > 0) {
    const lines = r.unverifiable.slice(0, 5).map((f) => f.line).join(", ");
    out.push(`${count(r.unverifiable.length, "decision")} came out differently but cannot be verified: a rule reads a [secret] value the log does not hold (R338), at ${log}:${lines}${r.unverifiable.length > 5 ? ", ..." : ""}`);
  }
  if (r.flips.length === 0) {
    out.push(paint(`no decision would change`, "green", color));
    return out.join("\n") + "\n";
  }
  out.push(paint(`${count(r.flips.length, "decision")} would change, in ${count(r.groups.length, "group")}:`, "yellow", color));
  const width = Math.max(...r.groups.map((g) => escapeInvisible(g.action).length));
  for (const g of r.groups) {
    const rules = (xs: readonly string[]) => (xs.length > 0 ? xs.join(",") : "(none)");
    out.push("");
    out.push(`  ${escapeInvisible(g.action).padEnd(width)}  ${g.from} -> ${paint(g.to, g.to === "allow" ? "red" : "cyan", color)}  x${g.count}`);
    out.push(`    rules ${escapeInvisible(rules(g.rulesBefore))} -> ${escapeInvisible(rules(g.rulesAfter))}`);
    out.push(`    at ${log}:${g.lines.join(", ")}${g.count > g.lines.length ? ", ..." : ""}`);
  }
  return out.join("\n") + "\n";
}
