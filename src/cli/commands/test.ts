import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { contentHash } from "../../compile/hash.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { formatString } from "../../format/lexical.js";
import { escapeInvisible } from "../../syntax/strings.js";
import type { ClaimResult } from "../../testing/properties.js";
import { randomSeed } from "../../testing/properties.js";
import { counterexampleTest, traceJsonl, traceLines } from "../../testing/render.js";
import { testPolicySource, type SuiteReport } from "../../testing/suite.js";
import { coverageSummary, type CoverageReport } from "../../testing/coverage.js";
import { intOption, parseArgs, RANGES } from "../args.js";
import { isPolicyDirectoryArgument, rulesFileArguments } from "../files.js";
import { compilePolicyArgument, policyAsOneText, renderPolicyDiagnostics } from "../policy.js";
import type { Diagnostic } from "../../diagnostics/diagnostic.js";
import { displayName, EXIT_FAIL, EXIT_OK, readText, type CliIO } from "../io.js";
import { jsonText, paint } from "../style.js";

export const help = `leash test [FILES|DIRS...] [--runs N] [--seed S] [--timeout MS] [--exhaustive N] [--strict] [--json] [--coverage] [--recursive]

Runs the \`test\` blocks of each policy and searches for counterexamples to its \`property\`
claims: first traces aimed at every threshold, window, limit, label and rule of the policy (each
reached and straddled), then with --exhaustive every trace of up to N events, then random traces.
A directory (default: the current one) means the *.rules files in it; with --recursive, also
those in its subdirectories. Each file reports how deep the search went: which rules decided and
which when/unless clauses were seen both true and false.

  --runs N        random traces per property claim after the directed ones (default 200, at
                  most 1,000,000)
  --seed S        seed of the random traces, 0 to 2,147,483,647; a failure prints the seed that
                  reproduces it
  --timeout MS    time limit per property claim, at most 3,600,000 (an hour); a search cut
                  short fails (default none)
  --exhaustive N  also check every trace of up to N events, 1 to 6: a claim that holds is then
                  proved up to N events (for small policies; a search that cannot finish fails)
  --strict        fail a file when some rule never decided in its test steps and searches
  --json          one JSON object on stdout: every file, test step, claim and counterexample
  --coverage      list every rule with its decisions and each when/unless clause with how often
                  it was true and false
  --recursive     search directories recursively (skipping node_modules and dot directories)
  --help          this text

A counterexample is shrunk to a short trace and printed as a test block that parses and fails at
the step that breaks the claim, and written as JSONL (with each event's effect as its "expect")
to a temporary file; the printed \`leash eval\` command replays it and checks every line. A claim
no generated request was about fails as vacuous. Exit codes: 0 everything passed, 1 a test, property or policy failed, 2 usage.`;

/** `leash test [FILES|DIRS...]` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "test", flags: ["json", "coverage", "recursive", "strict"], values: ["runs", "seed", "timeout", "exhaustive"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  const runs = intOption(args.values.runs, "--runs", RANGES.runs) ?? 200;
  const seed = intOption(args.values.seed, "--seed", RANGES.seed) ?? randomSeed();
  const timeout = intOption(args.values.timeout, "--timeout", RANGES.timeout);
  const exhaustive = intOption(args.values.exhaustive, "--exhaustive", RANGES.exhaustive);
  const strict = args.flags.strict === true;
  const files = rulesFileArguments(args.positional.length > 0 ? args.positional : ["."], io, args.flags.recursive === true);

  const progress = io.quiet || args.flags.json ? null : new Progress(io, files.length);
  const reports: { report: SuiteReport; source: string }[] = [];
  const started = Date.now();
  for (const file of files) {
    progress?.update(reports.length, file);
    const whole = policyText(io, file);
    if (typeof whole !== "string") reports.push({ report: { file, ok: false, diagnostics: whole.errors, tests: [], properties: [], seed, ms: 0 }, source: "" });
    else reports.push({ report: testPolicySource(whole, { file, runs, seed, timeout, exhaustive, strict }), source: whole });
    // Let the terminal draw the progress bar between files.
    await new Promise((r) => setImmediate(r));
  }
  progress?.done();
  const ms = Date.now() - started;

  const repro = new Map<ClaimResult, string>();
  for (const { report } of reports)
    report.properties.forEach((p, i) => {
      if (!p.counterexample) return;
      const tag = contentHash(resolve(io.cwd, report.file)).slice(0, 8);
      const path = join(tmpdir(), `leash-${basename(report.file, ".rules")}-${tag}-${p.seed}-${i + 1}.jsonl`);
      io.writeFile(path, traceJsonl(p.counterexample.trace, p.counterexample.outcomes, [`counterexample to ${p.claim.replace(/\s+/g, " ")} (${report.file})`, `leash eval ${report.file} ${path} --check   replays it: every line gets the effect it expects`]));
      repro.set(p, path);
    });

  if (args.flags.json) io.stdout(jsonText(jsonReport(reports.map((r) => r.report), repro, seed, ms), 2) + "\n");
  else for (const { report, source } of reports) io.stdout(textReport(report, source, repro, io.color, args.flags.coverage === true, runs));
  const failed = reports.filter((r) => !r.report.ok).length;
  if (!args.flags.json) io.stdout(summary(reports.map((r) => r.report), ms, seed, io.color) + "\n");
  return failed > 0 ? EXIT_FAIL : EXIT_OK;
}

/**
 * The text `leash test` runs for a file argument: the file's, or for a policy directory the merged
 * policy as one text (its files' declarations, rules, tests and properties, library modules'
 * parameters bound). A directory whose files do not compile gives its errors, printed on stderr
 * with each file's source.
 */
function policyText(io: CliIO, file: string): string | { readonly errors: readonly Diagnostic[] } {
  if (!isPolicyDirectoryArgument(file)) return readText(io, file);
  const compiled = compilePolicyArgument(io, file);
  if (compiled.policy === null) {
    io.stderr(renderPolicyDiagnostics(io, compiled));
    return { errors: compiled.diagnostics.filter((d) => d.severity === "error") };
  }
  return policyAsOneText(compiled).source;
}

/** A one-line progress bar on stderr, redrawn in place; only on a terminal outside CI. */
class Progress {
  private readonly width = 24;
  constructor(
    private readonly io: CliIO,
    private readonly total: number,
  ) {}
  update(done: number, file: string): void {
    const filled = Math.round((done / this.total) * this.width);
    this.io.stderr(`\r[${"#".repeat(filled)}${".".repeat(this.width - filled)}] ${done}/${this.total} ${displayName(file).slice(-40).padEnd(40)}`);
  }
  done(): void {
    this.io.stderr(`\r${" ".repeat(this.width + 50)}\r`);
  }
}

const OK = "✓";
const FAIL = "✗";

function textReport(r: SuiteReport, source: string, repro: ReadonlyMap<ClaimResult, string>, color: boolean, coverage: boolean, runs: number): string {
  const e = escapeInvisible;
  const lines: string[] = [paint(e(r.file), "bold", color)];
  if (r.diagnostics.length > 0) {
    lines.push(indent(renderDiagnostics(r.diagnostics, () => source, { color }), 2));
  }
  for (const t of r.tests) {
    const requests = t.steps.length;
    lines.push(`  ${t.ok ? paint(OK, "green", color) : paint(FAIL, "red", color)} test ${formatString(t.name)} (${requests} step${requests === 1 ? "" : "s"})`);
    for (const s of t.steps) {
      if (s.ok) continue;
      lines.push(`      step ${s.index} at ${e(s.span.file)}:${s.span.line}:${s.span.column}: ${e(s.message ?? "")}`);
      lines.push(paint(`        ${e(source.slice(s.span.offset, s.span.endOffset).replace(/\s+/g, " "))}`, "dim", color));
    }
  }
  for (const p of r.properties) {
    const head = `property ${formatString(p.property)}: ${e(p.claim.replace(/\s+/g, " "))}`;
    if (p.ok) {
      lines.push(`  ${paint(OK, "green", color)} ${head} ${paint(`(${searchedText(p)}, applied to ${p.applied} requests)`, "dim", color)}`);
      if (p.exhaustive?.complete) lines.push(paint(`      proved for every trace of up to ${p.exhaustive.maxEvents} event${p.exhaustive.maxEvents === 1 ? "" : "s"} over ${p.exhaustive.letters} letters and ${p.exhaustive.gaps} gaps (${p.exhaustive.traces.toLocaleString("en-US")} traces)`, "dim", color));
      continue;
    }
    lines.push(`  ${paint(FAIL, "red", color)} ${head}`);
    lines.push(`      at ${e(p.span.file)}:${p.span.line}:${p.span.column}`);
    if (p.error) lines.push(`      ${e(p.error)}${p.vacuous ? ` (${searchedText(p)})` : ""}`);
    const c = p.counterexample;
    if (!c) continue;
    lines.push(`      ${e(c.message)}`);
    const after = c.phase === "directed" ? `${p.directed} directed trace${p.directed === 1 ? "" : "s"}` : c.phase === "exhaustive" ? `an exhaustive search (traces of up to ${p.exhaustive?.maxEvents ?? "?"} events)` : `${p.directed} directed and ${p.runs} random trace${p.runs === 1 ? "" : "s"}`;
    lines.push(`      counterexample: ${c.trace.length} event${c.trace.length === 1 ? "" : "s"} (found after ${after}, shrunk, seed ${p.seed})`);
    const mark = `${c.decision.effect}${c.decision.rules.length > 0 ? ` by ${c.decision.rules.join(", ")}` : ""}: breaks the claim`;
    for (const l of traceLines(c.trace, new Map([[c.index, mark]]))) lines.push(`      ${e(l)}`);
    const asTest = counterexampleTest(`counterexample: ${p.property}`, c, p.claim.replace(/\s+/g, " "));
    if (asTest) {
      lines.push(c.claimed !== null ? `      as a test block (it fails at step ${c.index + 1} until the policy keeps the claim):` : `      as a test block (it replays the trace; no test step can say "not flagged"):`);
      for (const l of asTest.split("\n")) lines.push(paint(`        ${e(l)}`, "dim", color));
    }
    const path = repro.get(p);
    if (path) lines.push(`      replay: leash eval ${e(quote(r.file))} ${e(quote(path))} --check`);
    lines.push(`      rerun:  leash test ${e(quote(r.file))} --seed ${p.seed}${runs !== 200 ? ` --runs ${runs}` : ""}`);
  }
  if (r.tests.length === 0 && r.properties.length === 0 && r.diagnostics.length === 0) lines.push(paint("  no tests or properties", "dim", color));
  if (r.coverage) {
    if (coverage) lines.push(...coverageText(r.coverage, color));
    else if (r.tests.length > 0 || r.properties.length > 0) {
      // How deep the search went (or, without properties, how much the tests reached).
      lines.push(paint(`  ${r.properties.length > 0 ? "searched" : "tests reached"}: ${coverageSummary(r.coverage)}`, "dim", color));
      if (r.coverage.notExercised.length > 0) lines.push(paint(`    never decided: ${r.coverage.notExercised.join(", ")}`, "yellow", color));
    }
  }
  if (r.undecided && r.undecided.length > 0) lines.push(paint(`  --strict: ${r.undecided.length} rule${r.undecided.length === 1 ? "" : "s"} never decided: ${r.undecided.join(", ")}`, "red", color));
  return lines.join("\n") + "\n";
}

/** `412 directed + 200 random traces` (and the exhaustive part, when there was one). */
function searchedText(p: ClaimResult): string {
  const ex = p.exhaustive ? ` + ${p.exhaustive.traces.toLocaleString("en-US")} exhaustive` : "";
  return `${p.directed} directed${ex} + ${p.runs} random traces`;
}

function coverageText(c: CoverageReport, color: boolean): string[] {
  const lines = [`  coverage: ${coverageSummary(c)}`];
  const width = Math.max(8, ...c.rules.map((r) => r.rule.length));
  for (const r of c.rules) {
    const status = r.decided > 0 ? paint(`decided ${r.decided}`, "green", color) : paint("never decided", "red", color);
    lines.push(`    ${r.rule.padEnd(width)}  ${status}`);
    for (const cl of r.clauses) {
      const missing = [cl.true === 0 ? "never true" : "", cl.false === 0 ? "never false" : ""].filter(Boolean).join(", ");
      const counts = `true ${cl.true}, false ${cl.false}${cl.error > 0 ? `, error ${cl.error}` : ""}`;
      lines.push(`      ${cl.text.replace(/\s+/g, " ")}  ${paint(counts, missing ? "yellow" : "dim", color)}${missing ? paint(`  (${missing})`, "yellow", color) : ""}`);
    }
  }
  if (c.notExercised.length > 0) lines.push(paint(`    not exercised: ${c.notExercised.join(", ")}`, "yellow", color));
  return lines;
}

function summary(reports: readonly SuiteReport[], ms: number, seed: number, color: boolean): string {
  const tests = reports.flatMap((r) => r.tests);
  const props = reports.flatMap((r) => r.properties);
  const broken = reports.filter((r) => r.diagnostics.length > 0).length;
  const tf = tests.filter((t) => !t.ok).length;
  const pf = props.filter((p) => !p.ok).length;
  const parts = [
    `${reports.length} file${reports.length === 1 ? "" : "s"}`,
    `tests ${tests.length - tf} passed${tf > 0 ? `, ${tf} failed` : ""}`,
    `properties ${props.length - pf} held${pf > 0 ? `, ${pf} failed` : ""}`,
    ...(broken > 0 ? [`${broken} file${broken === 1 ? "" : "s"} with errors`] : []),
  ];
  const ok = tf === 0 && pf === 0 && broken === 0;
  return `\n${paint(ok ? "ok" : "FAILED", ok ? "green" : "red", color)}: ${parts.join("; ")} (seed ${seed}, ${(ms / 1000).toFixed(1)} s)`;
}

function jsonReport(reports: readonly SuiteReport[], repro: ReadonlyMap<ClaimResult, string>, seed: number, ms: number): unknown {
  return {
    ok: reports.every((r) => r.ok),
    seed,
    ms,
    files: reports.map((r) => ({
      file: r.file,
      ok: r.ok,
      ms: r.ms,
      diagnostics: r.diagnostics.map((d) => ({ code: d.code, severity: d.severity, message: d.message, line: d.span.line, column: d.span.column, help: d.help })),
      tests: r.tests.map((t) => ({
        name: t.name,
        ok: t.ok,
        line: t.span.line,
        steps: t.steps.map((s) => ({ step: s.index, line: s.span.line, column: s.span.column, ok: s.ok, kind: s.kind, event: s.event, expected: s.expected, got: s.got, message: s.message })),
      })),
      properties: r.properties.map((p) => ({
        property: p.property,
        claim: p.claim,
        line: p.span.line,
        column: p.span.column,
        ok: p.ok,
        directed: p.directed,
        runs: p.runs,
        exhaustive: p.exhaustive,
        applied: p.applied,
        vacuous: p.vacuous,
        seed: p.seed,
        shrinks: p.shrinks,
        timedOut: p.timedOut,
        error: p.error,
        counterexample: p.counterexample
          ? {
              ...p.counterexample,
              test: counterexampleTest(`counterexample: ${p.property}`, p.counterexample, p.claim.replace(/\s+/g, " ")),
              traceFile: repro.get(p),
              replay: repro.has(p) ? `leash eval ${quote(r.file)} ${quote(repro.get(p)!)} --check` : undefined,
            }
          : undefined,
      })),
      coverage: r.coverage,
      undecided: r.undecided,
    })),
  };
}

function indent(text: string, n: number): string {
  return text
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");
}

function quote(p: string): string {
  return /^[\w./@%+=:,-]+$/.test(p) ? p : `'${p.replaceAll("'", "'\\''")}'`;
}
