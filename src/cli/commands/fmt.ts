import { parseArgs } from "../args.js";
import { resolve } from "node:path";
import { renderDiagnostic } from "../../diagnostics/render.js";
import { formatSource } from "../../format/print.js";
import { EXIT_FAIL, EXIT_OK, UsageError, readText, type CliIO } from "../io.js";

export const FMT_HELP = `Usage: leash fmt [--check | --stdout] FILE...

Rewrite .rules files in the canonical layout (the same for every author, comments kept).
A file with syntax errors is never rewritten: its errors are printed and the exit code is 1.

Options:
  --check    write nothing; print the name of each file that is not formatted and exit 1 if any
  --stdout   print the formatted text instead of rewriting the files
  -h, --help print this help

Exit codes: 0 ok, 1 a file has errors (or is not formatted, with --check), 2 usage error.
`;

interface FmtOptions {
  readonly check: boolean;
  readonly stdout: boolean;
  readonly help: boolean;
  readonly files: readonly string[];
}

function parseFmtArgs(argv: readonly string[]): FmtOptions {
  const args = parseArgs(argv, { command: "fmt", flags: ["check", "stdout"] });
  const check = Boolean(args.flags.check);
  const stdout = Boolean(args.flags.stdout);
  const files = args.positional;
  if (args.help) return { check, stdout, help: true, files };
  if (check && stdout) throw new UsageError("fmt: --check and --stdout cannot be used together");
  if (files.length === 0) throw new UsageError("fmt: no files given (usage: leash fmt [--check | --stdout] FILE...)");
  return { check, stdout, help: false, files };
}

/** `leash fmt [--check | --stdout] FILE...` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const options = parseFmtArgs(argv);
  if (options.help) {
    io.stdout(FMT_HELP);
    return EXIT_OK;
  }
  // Read every file before writing any, so a missing file changes nothing.
  // Paths are relative to io.cwd; messages name them as the user wrote them.
  const fromCwd: CliIO = { ...io, readFile: (path) => io.readFile(resolve(io.cwd, path)) };
  const sources = options.files.map((file) => ({ file, source: readText(fromCwd, file) }));
  let failed = false;
  for (const { file, source } of sources) {
    const { output, diagnostics } = formatSource(source, file);
    if (output === null) {
      failed = true;
      const errors = diagnostics.filter((d) => d.severity === "error");
      io.stderr(errors.map((d) => renderDiagnostic(d, source, { color: io.color })).join("\n\n") + "\n");
      continue;
    }
    if (options.check) {
      if (output !== source) {
        failed = true;
        io.stdout(file + "\n");
      }
    } else if (options.stdout) {
      io.stdout(output);
    } else if (output !== source) {
      io.writeFile(resolve(io.cwd, file), output);
    }
  }
  return failed ? EXIT_FAIL : EXIT_OK;
}
