import { readdirSync } from "node:fs";
import { join } from "node:path";
import { isPolicyDirectory } from "../../node/load.js";
import { traceVocabularyProblems } from "../../check/events.js";
import { readTrace, replayTrace } from "../../runtime/trace.js";
import { escapeInvisible } from "../../syntax/strings.js";
import { displayName, EXIT_FAIL, EXIT_OK, UsageError, type CliIO } from "../io.js";
import { compilePolicyArgument, renderPolicyDiagnostics } from "../policy.js";
import { parseArgs } from "../args.js";
import { paint, valueText } from "../style.js";

export const help = `leash demo [DIR]

Runs every example in DIR (default: examples): compiles each NAME.rules (and each directory NAME/
with a leash.policy.json, one policy of several files), replays NAME.jsonl through it and checks
every expectation in the trace. Prints a summary per scenario; exit 1 if any fails.

  --verbose   print every decision
  --help      this text`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "demo", flags: ["verbose"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  const dir = args.positional[0] ?? "examples";
  let files: string[];
  try {
    // NAME.rules and NAME/ (a directory with a leash.policy.json: one policy of several files), each with NAME.jsonl.
    files = readdirSync(join(io.cwd, dir))
      .filter((f) => f.endsWith(".rules") || isPolicyDirectory(join(io.cwd, dir, f)))
      .sort();
  } catch {
    throw new UsageError(`no such directory: ${displayName(dir)}`);
  }
  let failures = 0;
  let decisions = 0;
  for (const f of files) {
    const path = join(dir, f);
    const compiled = compilePolicyArgument(io, path);
    if (compiled.policy === null) {
      io.stderr(renderPolicyDiagnostics(io, compiled));
      failures++;
      continue;
    }
    const tracePath = `${path.replace(/\.rules$/, "")}.jsonl`;
    let traceText: string;
    try {
      traceText = io.readFile(join(io.cwd, tracePath));
    } catch {
      io.stdout(`${paint("·", "dim", io.color)} ${displayName(path)}: ${compiled.policy.ruleIds.length} rules, no trace\n`);
      continue;
    }
    const { events, lines, problems } = readTrace(traceText, displayName(tracePath));
    if (problems.length > 0) {
      io.stderr(problems.map(escapeInvisible).join("\n") + "\n");
      failures++;
      continue;
    }
    const unknown = traceVocabularyProblems(compiled.ast, events, lines, displayName(tracePath));
    if (unknown.length > 0) {
      io.stderr(unknown.map(escapeInvisible).join("\n") + "\n");
      failures++;
      continue;
    }
    const { steps } = replayTrace(compiled.policy, events);
    const bad = steps.filter((s) => s.mismatches.length > 0);
    const counts: Record<string, number> = {};
    for (const s of steps) if (s.decision) counts[s.decision.effect] = (counts[s.decision.effect] ?? 0) + 1;
    decisions += steps.length;
    const summary = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
    const mark = bad.length === 0 ? paint("✓", "green", io.color) : paint("✗", "red", io.color);
    io.stdout(`${mark} ${escapeInvisible(f).replace(/\.rules$/, "").padEnd(28)} ${String(compiled.policy.ruleIds.length).padStart(3)} rules  ${String(steps.length).padStart(3)} events  ${summary}\n`);
    if (args.flags.verbose || bad.length > 0) {
      for (const s of steps) {
        const d = s.decision;
        const what = d ? `${d.effect.padEnd(9)} ${d.action} ${d.rules.join(",") || d.reasons.map((r) => r.code).join(",")}` : `${s.kind} ${valueText(s.event.signal ?? "")} ${s.revoked?.join(",") ?? ""}`;
        const at = `${displayName(tracePath)}:${lines[s.index - 1] ?? s.index}`;
        if (args.flags.verbose || s.mismatches.length > 0) io.stdout(`    ${at} ${escapeInvisible(what)}${s.mismatches.length ? paint("  " + escapeInvisible(s.mismatches.join("; ")), "red", io.color) : ""}\n`);
      }
    }
    if (bad.length > 0) failures++;
  }
  io.stdout(`\n${files.length} scenarios, ${decisions} events, ${failures === 0 ? "all expectations met" : `${failures} failed`}\n`);
  return failures === 0 ? EXIT_OK : EXIT_FAIL;
}
