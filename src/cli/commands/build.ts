import { resolve } from "node:path";
import { compiledFrom } from "../../compile/build.js";
import { parseArgs } from "../args.js";
import { displayName, EXIT_FAIL, EXIT_OK, UsageError, type CliIO } from "../io.js";
import { compilePolicyArgument, renderPolicyDiagnostics } from "../policy.js";
import { jsonText } from "../style.js";

export const help = `leash build POLICY|- [-o FILE]

Compiles a policy into its compiled form (a bundle): one JSON file with the checked IR, the format
and leash versions, the policy hash, a manifest (every source file and library module with the
SHA-256 of its text, and the build time) and a SHA-256 digest. loadCompiled (leash/runtime)
builds the same Policy from it without the parser; a file from another leash version or changed
after it was built is refused.

  -o, --output FILE   write the compiled policy to FILE (default: stdout)
  --help              this text

POLICY is a .rules file (with the files it imports), a directory of them (one policy), or - to
read the policy from standard input.

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
  const built = compiledFrom(compilePolicyArgument(io, path), { builtAt: new Date().toISOString() });
  const problems = renderPolicyDiagnostics(io, built);
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
