import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { compilePolicy } from "../../compile/compile.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { diffPolicies, type DiffReport } from "../../testing/diff.js";
import { randomSeed } from "../../testing/properties.js";
import { traceJsonl, traceLines } from "../../testing/render.js";
import { intOption, parseArgs, RANGES } from "../args.js";
import { EXIT_FAIL, EXIT_OK, readText, UsageError, type CliIO } from "../io.js";
import { paint } from "../style.js";

export const help = `leash diff OLD.rules NEW.rules [--runs N] [--seed S] [--examples K] [--json]

Searches random requests and traces, drawn from the words of both policies, for requests the two
versions decide differently. Differences are grouped by action: "more permissive" when NEW lets
through what OLD denied or challenged (allow > challenge > deny > revoke), "less permissive" the
other way round; each group shows up to K shrunk traces.

  --runs N       random traces per search round (default 300, at most 1,000,000)
  --seed S       seed of the search, 0 to 2,147,483,647; printed so a run can be repeated
  --examples K   shrunk examples per group (default 3, at most 100)
  --json         one JSON object on stdout
  --help         this text

Exit codes: 0 no difference found, 1 a difference found (or a policy does not compile), 2 usage.`;

/** `leash diff OLD.rules NEW.rules` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "diff", flags: ["json"], values: ["runs", "seed", "examples"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  if (args.positional.length !== 2) throw new UsageError("diff takes two policy files, OLD.rules NEW.rules (see leash diff --help)");
  const runs = intOption(args.values.runs, "--runs", RANGES.runs) ?? 300;
  const seed = intOption(args.values.seed, "--seed", RANGES.seed) ?? randomSeed();
  const examples = intOption(args.values.examples, "--examples", RANGES.examples) ?? 3;
  const [oldPath, newPath] = args.positional as [string, string];
  const policies = [oldPath, newPath].map((file) => {
    const source = readText(io, file);
    return { file, source, compiled: compilePolicy(source, { file }) };
  });
  let broken = false;
  for (const p of policies) {
    if (p.compiled.policy !== null) continue;
    broken = true;
    io.stderr(renderDiagnostics(p.compiled.diagnostics, () => p.source, { color: io.color }) + "\n");
  }
  if (broken) return EXIT_FAIL;
  const report = diffPolicies(policies[0]!.compiled.policy!, policies[1]!.compiled.policy!, { runs, seed, examples });

  const files = new Map<string, string>();
  report.groups.forEach((g, gi) =>
    g.examples.forEach((x, xi) => {
      const path = join(tmpdir(), `leash-diff-${basename(newPath, ".rules")}-${report.seed}-${gi + 1}-${xi + 1}.jsonl`);
      io.writeFile(path, traceJsonl(x.trace));
      files.set(`${gi}/${xi}`, path);
    }),
  );
  if (args.flags.json) io.stdout(JSON.stringify(jsonOf(report, files, oldPath, newPath), null, 2) + "\n");
  else io.stdout(textOf(report, files, oldPath, newPath, io.color));
  return report.groups.length > 0 ? EXIT_FAIL : EXIT_OK;
}

function decided(d: { effect: string; rules: readonly string[] }): string {
  return `${d.effect}${d.rules.length > 0 ? ` by ${d.rules.join(", ")}` : ""}`;
}

function textOf(r: DiffReport, files: ReadonlyMap<string, string>, oldPath: string, newPath: string, color: boolean): string {
  const searched = `${r.runs} traces, seed ${r.seed}${r.timedOut ? ", stopped at the time limit" : ""}`;
  if (r.groups.length === 0) return `${paint("no difference found", "green", color)} between ${oldPath} and ${newPath} (${searched})\n`;
  const lines: string[] = [`${oldPath} -> ${newPath}: ${r.groups.length} difference${r.groups.length === 1 ? "" : "s"} (${searched})`, ""];
  r.groups.forEach((g, gi) => {
    const tone = g.direction === "more permissive" ? "red" : "yellow";
    lines.push(`${paint(g.action, "bold", color)}: ${paint(g.direction, tone, color)} (${g.examples.length} example${g.examples.length === 1 ? "" : "s"})`);
    g.examples.forEach((x, xi) => {
      lines.push(`  ${xi + 1}. old ${decided(x.old)}, new ${decided(x.new)}`);
      for (const l of traceLines(x.trace, new Map([[x.trace.length - 1, `old ${x.old.effect}, new ${x.new.effect}`]]))) lines.push(`     ${l}`);
      const path = files.get(`${gi}/${xi}`);
      if (path) lines.push(paint(`     replay: leash eval ${oldPath} ${path}   /   leash eval ${newPath} ${path}`, "dim", color));
    });
    lines.push("");
  });
  return lines.join("\n");
}

function jsonOf(r: DiffReport, files: ReadonlyMap<string, string>, oldPath: string, newPath: string): unknown {
  return {
    old: oldPath,
    new: newPath,
    different: r.groups.length > 0,
    runs: r.runs,
    seed: r.seed,
    timedOut: r.timedOut,
    groups: r.groups.map((g, gi) => ({ ...g, examples: g.examples.map((x, xi) => ({ ...x, traceFile: files.get(`${gi}/${xi}`) })) })),
  };
}
