import { version } from "../../package.json";
import { escapeInvisible } from "../syntax/strings.js";
import { EXIT_OK, EXIT_USAGE, nodeIO, UsageError, type CliIO } from "./io.js";
import * as check from "./commands/check.js";
import * as fmt from "./commands/fmt.js";
import * as evalCommand from "./commands/eval.js";
import * as demo from "./commands/demo.js";
import * as explain from "./commands/explain.js";
import * as testCommand from "./commands/test.js";
import * as diff from "./commands/diff.js";
import * as build from "./commands/build.js";
import * as lsp from "./commands/lsp.js";
import * as mcpProxy from "./commands/mcp-proxy.js";
import * as replay from "./commands/replay.js";

interface Command {
  readonly run: (argv: string[], io: CliIO) => Promise<number>;
  readonly summary: string;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  check: { run: check.run, summary: "parse and check .rules files; diagnostics on stderr" },
  fmt: { run: fmt.run, summary: "format .rules files in place (--check to verify)" },
  eval: { run: evalCommand.run, summary: "replay a JSONL trace through a policy, one decision per line" },
  explain: { run: explain.run, summary: "decide one request and show which rules matched, each clause's value and why" },
  demo: { run: demo.run, summary: "run every example scenario and check its expectations" },
  test: { run: testCommand.run, summary: "run test blocks and check properties of .rules files (--coverage)" },
  diff: { run: diff.run, summary: "find requests two versions of a policy decide differently" },
  build: { run: build.run, summary: "compile a policy to JSON that leash/runtime loads without the parser" },
  lsp: { run: lsp.run, summary: "run the language server for editors (stdio)" },
  "mcp-proxy": { run: mcpProxy.run, summary: "guard an MCP server: decide every tools/call before it runs" },
  replay: { run: replay.run, summary: "re-decide a decision log with another policy and report what would change" },
};

export const HELP = `leash — policy-as-code for the action layer

Usage: leash <command> [options] [files]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${`${name} `.padEnd(9)}${c.summary}`)
  .join("\n")}

Run \`leash <command> --help\` for a command's options.
Exit codes: 0 success, 1 policy errors or failed checks, 2 usage errors (unknown option, missing file).
A file argument - reads standard input (check, fmt, eval).
Colours: each of stdout and stderr is coloured when it is a terminal; FORCE_COLOR=1 forces colours,
FORCE_COLOR=0 or NO_COLOR turns them off.`;

/** The version of this package, from its package.json. */
export const VERSION: string = version;

/** Runs the CLI in-process; returns the exit code. */
export async function main(argv: string[], io: CliIO = nodeIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(HELP + "\n");
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "--version" || name === "-v") {
    io.stdout(`leash ${VERSION}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`leash: unknown command ${escapeInvisible(JSON.stringify(name))} (see leash --help)\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`leash ${name}: ${escapeInvisible(e.message)}\n`);
      return EXIT_USAGE;
    }
    const text = e instanceof Error ? e.stack ?? e.message : typeof e === "string" ? e : "a non-error value was thrown";
    io.stderr(`leash ${name}: internal error: ${text.split("\n").map(escapeInvisible).join("\n")}\n`);
    return 70;
  }
}
