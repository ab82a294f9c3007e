import { parseArgs } from "../args.js";
import { isPolicyDirectoryArgument, rulesFileArguments } from "../files.js";
import { checkPolicyArgument } from "../policy.js";
import { renderDiagnostic } from "../../diagnostics/render.js";
import { checkSource } from "../../check/source.js";
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, STDIN, UsageError, displayName, readText, stderrColor, type CliIO } from "../io.js";
import { jsonLine } from "../style.js";
import { hasErrors } from "../../diagnostics/diagnostic.js";
import { parsePolicy } from "../../syntax/index.js";
import { checkMapping } from "../../adapters/tools/check.js";
import { loadMapping } from "../../adapters/tools/mapping-file.js";

/** What `leash check` reports for one file (the library's `checkSource`). */
export { checkSource };

export const CHECK_HELP = `Usage: leash check [--json] [--deny-warnings] [--recursive] FILE|DIR|-...

Parse and check .rules files. Each problem is printed on stderr as
  FILE:LINE:COLUMN: error[CODE]: message
with the source line and a caret under the problem (codes are listed in docs/errors.md).
A directory means the *.rules files in it, each a policy; a directory with a leash.policy.json is
one policy of several files, checked as a whole (so is a file that imports others or uses a
library module). - reads a policy from standard input.

Options:
  --json           print the diagnostics as JSON lines on stdout instead
  --deny-warnings  fail (exit 1) on warnings too (the lints W4xx); a warning kept on purpose is
                   marked in the file with a comment // leash: allow CODE -- why
  --recursive      also check the *.rules files in subdirectories (skipping node_modules and dot
                   directories)
  --map FILE       also check a tool mapping (leash/mcp) against each policy: its actions are
                   declared, its attributes are in the schema and have their types (C260-C269)
  -h, --help       print this help

Exit codes: 0 no errors, 1 errors found (or warnings, with --deny-warnings), 2 usage error (unknown option, missing file).
`;

interface CheckOptions {
  readonly json: boolean;
  readonly map: string | undefined;
  readonly denyWarnings: boolean;
  readonly recursive: boolean;
  readonly help: boolean;
  readonly files: readonly string[];
}

function parseCheckArgs(argv: readonly string[]): CheckOptions {
  const args = parseArgs(argv, { command: "check", flags: ["json", "deny-warnings", "recursive"], values: ["map"] });
  const files = args.positional;
  if (!args.help && files.length === 0) throw new UsageError("no files given (usage: leash check [--json] FILE|DIR|-...)");
  return { json: Boolean(args.flags.json), map: args.values.map, denyWarnings: Boolean(args.flags["deny-warnings"]), recursive: Boolean(args.flags.recursive), help: args.help, files };
}

/** `leash check [--json] FILE...` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  let options: CheckOptions;
  let sources: { file: string; source: string }[];
  let mapping: { file: string; source: string } | undefined;
  try {
    options = parseCheckArgs(argv);
    if (options.help) {
      io.stdout(CHECK_HELP);
      return EXIT_OK;
    }
    // Read every file first: a missing one is a usage error before any output.
    const files = rulesFileArguments(options.files, io, options.recursive);
    sources = files.map((file) => ({ file: file === STDIN ? displayName(file) : file, source: isPolicyDirectoryArgument(file) ? "" : readText(io, file) }));
    if (options.map !== undefined) mapping = { file: options.map, source: readText(io, options.map) };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`leash check: ${e.message}\n`);
    return EXIT_USAGE;
  }

  let errors = 0;
  let warnings = 0;
  let filesWithProblems = 0;
  const loaded = mapping === undefined ? undefined : loadMapping(mapping.source, mapping.file);
  for (const { file, source } of sources) {
    // A policy directory, or a file that imports or uses modules, is checked as the whole policy.
    const whole = isPolicyDirectoryArgument(file) || (file !== displayName(STDIN) && (parsePolicy(source, { file }).ast.header?.length ?? 0) > 0) ? checkPolicyArgument(io, file) : null;
    const diagnostics = whole === null ? [...checkSource(source, { file })] : [...whole.diagnostics];
    const textOf = (f: string) => (whole === null ? source : (whole.sources.get(f) ?? ""));
    if (loaded !== undefined && !hasErrors(diagnostics)) {
      // The mapping's own problems are reported with the first policy; its fit with each policy's names with each.
      diagnostics.push(...(loaded.mapping === null ? (file === sources[0]!.file ? loaded.diagnostics : []) : checkMapping(loaded.mapping, whole?.ast ?? parsePolicy(source, { file }).ast)));
    }
    if (diagnostics.length > 0) filesWithProblems++;
    for (const d of diagnostics) {
      if (d.severity === "error") errors++;
      else if (d.severity === "warning") warnings++;
      if (options.json) io.stdout(jsonLine(d));
      else io.stderr(renderDiagnostic(d, mapping !== undefined && d.span.file === mapping.file ? mapping.source : textOf(d.span.file), { color: stderrColor(io) }) + "\n\n");
    }
  }
  if (!options.json && errors + warnings > 0) {
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    io.stderr(`${count(errors, "error")}, ${count(warnings, "warning")} in ${filesWithProblems} of ${count(sources.length, "file")}\n`);
  }
  return errors > 0 || (options.denyWarnings && warnings > 0) ? EXIT_FAIL : EXIT_OK;
}
