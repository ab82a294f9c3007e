import { parseArgs } from "../args.js";
import { resolve } from "node:path";
import { renderDiagnostic } from "../../diagnostics/render.js";
import { formatSource } from "../../format/print.js";
import { eachRulesFile } from "../files.js";
import { EXIT_FAIL, EXIT_OK, STDIN, UsageError, displayName, readText, stderrColor, type CliIO } from "../io.js";

export const FMT_HELP = `Usage: leash fmt [--check] [--write | --stdout] [--recursive] FILE|DIR|-...

Rewrite .rules files in the canonical layout (the same for every author, comments kept).
A file with syntax errors is never rewritten: its errors are printed and the exit code is 1.
A directory means the *.rules files in it; - reads a policy from standard input and prints it
formatted on stdout.

Options:
  --check      write nothing; print the name of each file that is not formatted and exit 1 if any
  --write      rewrite the files that are not formatted (the default without --check); with
               --check, rewrite them and still print their names and exit 1
  --stdout     print the formatted text instead of rewriting the files
  --recursive  also format the *.rules files in subdirectories (skipping node_modules and dot
               directories)
  -h, --help   print this help

Exit codes: 0 ok, 1 a file has errors (or is not formatted, with --check), 2 usage error.
`;

interface FmtOptions {
  readonly check: boolean;
  readonly write: boolean;
  readonly stdout: boolean;
  readonly recursive: boolean;
  readonly help: boolean;
  readonly files: readonly string[];
}

function parseFmtArgs(argv: readonly string[]): FmtOptions {
  const args = parseArgs(argv, { command: "fmt", flags: ["check", "write", "stdout", "recursive"] });
  const check = Boolean(args.flags.check);
  const stdout = Boolean(args.flags.stdout);
  const options = { check, stdout, write: Boolean(args.flags.write), recursive: Boolean(args.flags.recursive), help: args.help, files: args.positional };
  if (args.help) return options;
  if (stdout && (check || options.write)) throw new UsageError(`--stdout cannot be used with ${check ? "--check" : "--write"}`);
  if (options.files.length === 0) throw new UsageError("no files given (usage: leash fmt [--check] [--write | --stdout] FILE|DIR|-...)");
  if (options.write && options.files.includes(STDIN)) throw new UsageError("--write cannot rewrite standard input; without --write, fmt - prints the formatted text");
  return options;
}

/** `leash fmt [--check] [--write | --stdout] FILE|DIR|-...` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const options = parseFmtArgs(argv);
  if (options.help) {
    io.stdout(FMT_HELP);
    return EXIT_OK;
  }
  // Read every file before writing any, so a missing file changes nothing.
  // Paths are relative to io.cwd; messages name them as the user wrote them.
  const files = eachRulesFile(options.files, io, options.recursive);
  const sources = files.map((file) => ({ file, source: readText(io, file) }));
  const write = options.write || (!options.check && !options.stdout);
  let failed = false;
  for (const { file, source } of sources) {
    const { output, diagnostics } = formatSource(source, displayName(file));
    if (output === null) {
      failed = true;
      const errors = diagnostics.filter((d) => d.severity === "error");
      io.stderr(errors.map((d) => renderDiagnostic(d, source, { color: stderrColor(io) })).join("\n\n") + "\n");
      continue;
    }
    const unformatted = output !== source;
    if (file === STDIN && !options.check) io.stdout(output);
    else if (options.stdout) io.stdout(output);
    else if (unformatted) {
      if (options.check) {
        failed = true;
        io.stdout(displayName(file) + "\n");
      }
      if (write && file !== STDIN) io.writeFile(resolve(io.cwd, file), output);
    }
  }
  return failed ? EXIT_FAIL : EXIT_OK;
}
