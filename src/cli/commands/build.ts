import { resolve } from "node:path";
import { buildCompiled } from "../../compile/build.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { parseArgs } from "../args.js";
import { displayName, EXIT_FAIL, EXIT_OK, readText, STDIN, stderrColor, UsageError, type CliIO } from "../io.js";
import { jsonText } from "../style.js";

export const help = `leash build POLICY.rules|- [-o FILE]

Compiles a policy into its compiled form: one JSON file with the checked IR, the format and leash
versions, the policy hash, a manifest of the source and a SHA-256 digest. loadCompiled (leash/runtime)
builds the same Policy from it without the parser; a file from another leash version or changed
after it was built is refused.

  -o, --output FILE   write the compiled policy to FILE (default: stdout)
  --help              this text

POLICY.rules may be - to read the policy from standard input.

A summary line (rules, policy hash, digest) goes to stderr. Exit codes: 0 built, 1 the policy has
errors (nothing is written), 2 usage (unknown option, missing file).`;

/** `leash build POLICY.rules [-o FILE]` */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(
    argv.map((a) => (a === "-o" ? "--output" : a)),
    { command: "build", values: ["output"], help },
  );
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  if (args.positional.length !== 1) throw new UsageError("build takes one policy file (see leash build --help)");
  const path = args.positional[0]!;
  const source = readText(io, path);
  const file = path === STDIN ? displayName(path) : path;
  const built = buildCompiled(source, { file });
  const problems = built.diagnostics.length > 0 ? renderDiagnostics(built.diagnostics, () => source, { color: stderrColor(io) }) + "\n" : "";
  if (built.compiled === null) {
    io.stderr(problems);
    return EXIT_FAIL;
  }
  const text = jsonText(built.compiled) + "\n";
  const output = args.values.output;
  if (output === undefined) io.stdout(text);
  else io.writeFile(resolve(io.cwd, output), text);
  const rules = built.compiled.ir.rules.length;
  io.stderr(`${problems}${output === undefined ? "stdout" : displayName(output)}: ${rules} rule${rules === 1 ? "" : "s"}, policy ${built.compiled.hash}, ${built.compiled.digest}\n`);
  return EXIT_OK;
}
