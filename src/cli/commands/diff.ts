import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { contentHash } from "../../compile/hash.js";
import { escapeInvisible } from "../../syntax/strings.js";
import { coverageSummary } from "../../testing/coverage.js";
import { diffPolicies, type DiffExample, type DiffReport, type DiffSide } from "../../testing/diff.js";
import { exhaustiveShortfall, randomSeed } from "../../testing/properties.js";
import { traceAsTest, traceJsonl, traceLines } from "../../testing/render.js";
import { intOption, parseArgs, RANGES } from "../args.js";
import { EXIT_FAIL, EXIT_OK, UsageError, type CliIO } from "../io.js";
import { compilePolicyArgument, policyAsOneText, renderPolicyDiagnostics } from "../policy.js";
import { jsonText, paint } from "../style.js";

export const help = `leash diff OLD.rules NEW.rules [--runs N] [--seed S] [--examples K] [--exhaustive N] [--timeout MS] [--strict] [--json]

Searches for requests the two versions decide differently: first traces aimed at every threshold,
window, limit, label and rule of either version (each reached and straddled), then with
--exhaustive every trace of up to N events, then random traces. Differences are grouped by action:
"more permissive" when NEW lets through what OLD denied or challenged (allow > challenge > deny >
revoke), "less permissive" the other way round; each group shows up to K shrunk traces, and the
report lists the rules that changed and whether an example shows each, and the rules the search
never made decide.

  --runs N        random traces per search round (default 300, at most 1,000,000)
  --seed S        seed of the random search, 0 to 2,147,483,647; printed so a run can be repeated
  --examples K    shrunk examples per group (default 3, at most 100)
  --exhaustive N  also check every trace of up to N events, 1 to 6: no difference is then a
                  proof up to N events (for small policies; a search that cannot finish fails)
  --timeout MS    time limit of the whole search, at most 3,600,000 (default 20,000)
  --strict        fail when some rule of either version never decided in the search
  --json          one JSON object on stdout
  --help          this text

Exit codes: 0 no difference found (and the search exercised the policies), 1 a difference found,
a policy does not compile, or the search was inconclusive (nothing decided, --strict rules never
decided, --exhaustive bound not reached), 2 usage.`;

/** `leash diff OLD.rules NEW.rules` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "diff", flags: ["json", "strict"], values: ["runs", "seed", "examples", "exhaustive", "timeout"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  if (args.positional.length !== 2) throw new UsageError("diff takes two policy files, OLD.rules NEW.rules (see leash diff --help)");
  const runs = intOption(args.values.runs, "--runs", RANGES.runs) ?? 300;
  const seed = intOption(args.values.seed, "--seed", RANGES.seed) ?? randomSeed();
  const examples = intOption(args.values.examples, "--examples", RANGES.examples) ?? 3;
  const exhaustive = intOption(args.values.exhaustive, "--exhaustive", RANGES.exhaustive);
  const timeout = intOption(args.values.timeout, "--timeout", RANGES.timeout);
  const strict = args.flags.strict === true;
  const [oldPath, newPath] = args.positional as [string, string];
  // A directory (or a file with imports or library modules) is compared as its merged policy in one text.
  const policies = [oldPath, newPath].map((file) => {
    const compiled = compilePolicyArgument(io, file);
    return { file, source: compiled.policy === null ? "" : policyAsOneText(compiled).source, compiled };
  });
  let broken = false;
  for (const p of policies) {
    if (p.compiled.policy !== null) continue;
    broken = true;
    io.stderr(renderPolicyDiagnostics({ ...io, stderrColor: io.color }, p.compiled));
  }
  if (broken) return EXIT_FAIL;
  const report = diffPolicies(
    { source: policies[0]!.source, file: oldPath },
    { source: policies[1]!.source, file: newPath },
    { runs, seed, examples, ...(exhaustive !== undefined ? { exhaustive } : {}), ...(timeout !== undefined ? { timeout } : {}) },
  );

  const files = new Map<string, string>();
  const tag = contentHash(`${resolve(io.cwd, oldPath)}\n${resolve(io.cwd, newPath)}`).slice(0, 8);
  report.groups.forEach((g, gi) =>
    g.examples.forEach((x, xi) => {
      const path = join(tmpdir(), `leash-diff-${basename(newPath, ".rules")}-${tag}-${report.seed}-${gi + 1}-${xi + 1}.jsonl`);
      io.writeFile(path, traceJsonl(x.trace, x.outcomes, [`a difference between ${oldPath} and ${newPath}: the expected effects are ${oldPath}'s`, `leash eval ${oldPath} ${path} --check   passes; with ${newPath} step ${x.firstDifference + 1} differs`]));
      files.set(`${gi}/${xi}`, path);
    }),
  );
  const verdict = verdictOf(report, strict);
  if (args.flags.json) io.stdout(jsonText({ ...jsonOf(report, files, oldPath, newPath), verdict: verdict.kind, ...(verdict.reasons.length > 0 ? { reasons: verdict.reasons } : {}) }, 2) + "\n");
  else io.stdout(textOf(report, files, escapeInvisible(oldPath), escapeInvisible(newPath), io.color, verdict));
  return verdict.kind === "same" ? EXIT_OK : EXIT_FAIL;
}

/** What the run concludes: the policies differ, no difference was found, or the search says too little to conclude. */
interface Verdict {
  readonly kind: "different" | "same" | "inconclusive";
  readonly reasons: readonly string[];
}

function verdictOf(r: DiffReport, strict: boolean): Verdict {
  if (r.groups.length > 0) return { kind: "different", reasons: [] };
  const reasons: string[] = [];
  if (!r.exercised) reasons.push("no rule of either policy decided any request of the search: it exercised nothing");
  if (r.exhaustive && !r.exhaustive.complete) reasons.push(exhaustiveShortfall(r.exhaustive));
  if (strict && r.undecided.length > 0) reasons.push(`--strict: ${r.undecided.length} rule${r.undecided.length === 1 ? "" : "s"} never decided: ${r.undecided.join(", ")}`);
  if (r.timedOut) reasons.push("the search stopped at the time limit");
  return { kind: reasons.length > 0 ? "inconclusive" : "same", reasons };
}

function decided(d: DiffSide, withFlags: boolean): string {
  const flags = withFlags ? (d.flags.length > 0 ? `, flagged by ${d.flags.join(", ")}` : ", no flag") : "";
  if (d.rules.length > 0) return `${d.effect} by ${d.rules.join(", ")}${flags}`;
  const why = d.reasons.find((r) => /^R3\d\d: /.test(r) && !r.startsWith("R313"));
  return `${why ? `${d.effect} (${escapeInvisible(why)})` : d.effect}${flags}`;
}

function searched(r: DiffReport): string {
  const parts = [`${r.directed.toLocaleString("en-US")} directed`];
  if (r.exhaustive) parts.push(`${r.exhaustive.traces.toLocaleString("en-US")} exhaustive`);
  parts.push(`${r.runs.toLocaleString("en-US")} random`);
  return `${parts.join(", ")} traces, seed ${r.seed}${r.timedOut ? ", stopped at the time limit" : ""}`;
}

function textOf(r: DiffReport, files: ReadonlyMap<string, string>, oldPath: string, newPath: string, color: boolean, verdict: Verdict): string {
  const lines: string[] = [];
  if (r.groups.length === 0) {
    const head = verdict.kind === "same" ? paint("no difference found", "green", color) : paint("no difference found, but the search is inconclusive", "yellow", color);
    lines.push(`${head} between ${oldPath} and ${newPath} (${searched(r)})`);
  } else lines.push(`${oldPath} -> ${newPath}: ${r.groups.length} difference${r.groups.length === 1 ? "" : "s"} (${searched(r)})`);
  if (r.changes.length > 0) {
    const shown = r.changes.filter((c) => c.witnessed).length;
    lines.push("", `changed: ${r.changes.length} (${shown} shown by an example below)`);
    const width = Math.max(...r.changes.map((c) => c.name.length));
    for (const c of r.changes) {
      const what = `${c.kind} ${c.change}${c.parts.length > 0 ? `: ${c.parts.join(", ")}` : ""}`;
      lines.push(`  ${c.name.padEnd(width)}  ${what.padEnd(30)}  ${c.witnessed ? paint("shown", "green", color) : paint("no example", "yellow", color)}`);
    }
  }
  lines.push("");
  r.groups.forEach((g, gi) => {
    const tone = g.direction === "more permissive" ? "red" : g.direction === "less permissive" ? "yellow" : "cyan";
    lines.push(`${paint(escapeInvisible(g.action), "bold", color)}: ${paint(g.direction, tone, color)} (${g.examples.length} example${g.examples.length === 1 ? "" : "s"})`);
    g.examples.forEach((x, xi) => {
      const flags = g.direction === "flags changed";
      lines.push(`  ${xi + 1}. old ${decided(x.old, flags)}, new ${decided(x.new, flags)}`);
      for (const l of traceLines(x.trace, new Map([[x.trace.length - 1, `old ${x.old.effect}, new ${x.new.effect}`]]))) lines.push(`     ${escapeInvisible(l)}`);
      const { test, pins } = examplePin(g.action, g.direction, x);
      if (test) {
        lines.push(pins ? `     as a test: it passes on ${oldPath} and fails on ${newPath} at step ${x.firstDifference + 1}` : `     as a test of ${oldPath} (no test step can say "not flagged", so it passes on both):`);
        for (const l of test.split("\n")) lines.push(paint(`       ${escapeInvisible(l)}`, "dim", color));
      }
      const path = files.get(`${gi}/${xi}`);
      if (path) lines.push(paint(`     replay: leash eval ${oldPath} ${escapeInvisible(path)} --check   /   leash eval ${newPath} ${escapeInvisible(path)}`, "dim", color));
    });
    lines.push("");
  });
  lines.push(`searched: ${oldPath}: ${coverageSummary(r.coverage.old)}; ${newPath}: ${coverageSummary(r.coverage.new)}`);
  if (r.undecided.length > 0) lines.push(paint(`  never decided: ${r.undecided.join(", ")}`, "yellow", color));
  if (r.exhaustive?.complete) lines.push(`  exhaustive: every trace of up to ${r.exhaustive.maxEvents} event${r.exhaustive.maxEvents === 1 ? "" : "s"} over ${r.exhaustive.letters} letters and ${r.exhaustive.gaps} gaps checked${r.groups.length === 0 ? ": no difference up to that bound" : ""}`);
  for (const reason of verdict.reasons) lines.push(paint(`  inconclusive: ${reason}`, "yellow", color));
  return lines.join("\n") + "\n";
}

/** The test block that pins the old behaviour of an example (each request step expects OLD's effect). */
export function exampleTest(action: string, direction: string, x: DiffExample): string | null {
  return examplePin(action, direction, x).test;
}

/** An example's test block and whether it fails on the new version (a flag the new one adds cannot be pinned). */
function examplePin(action: string, direction: string, x: DiffExample): { test: string | null; pins: boolean } {
  const expects = new Map<number, string>();
  x.outcomes.forEach((o, i) => {
    if (o.kind === "request" && o.effect !== undefined) expects.set(i, o.effect);
  });
  let note = `the new version: ${x.new.effect}`;
  let pins = true;
  if (direction === "flags changed") {
    // A step can say "flagged by F", not "not flagged": the block pins a flag the old version raised.
    const lost = x.old.flags.find((f) => !x.new.flags.includes(f));
    pins = lost !== undefined && x.firstDifference === x.trace.length - 1;
    if (pins) expects.set(x.firstDifference, `flag by ${lost}`);
    note = `the new version: ${x.new.flags.length > 0 ? `flagged by ${x.new.flags.join(", ")}` : "no flag"}`;
  }
  const what = direction === "more permissive" ? "was not let through" : direction === "less permissive" ? "was let through" : "kept its flags";
  return { test: traceAsTest(`before the change: ${action} ${what}`, x.trace, expects, new Map([[x.firstDifference, note]])), pins };
}

function jsonOf(r: DiffReport, files: ReadonlyMap<string, string>, oldPath: string, newPath: string): Record<string, unknown> {
  return {
    old: oldPath,
    new: newPath,
    different: r.groups.length > 0,
    runs: r.runs,
    directed: r.directed,
    exhaustive: r.exhaustive,
    seed: r.seed,
    timedOut: r.timedOut,
    changes: r.changes,
    groups: r.groups.map((g, gi) => ({ ...g, examples: g.examples.map((x, xi) => ({ ...x, test: exampleTest(g.action, g.direction, x), traceFile: files.get(`${gi}/${xi}`) })) })),
    coverage: r.coverage,
    undecided: r.undecided,
    exercised: r.exercised,
  };
}
