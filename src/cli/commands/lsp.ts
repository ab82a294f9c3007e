import { parseArgs } from "../args.js";
import { EXIT_OK, UsageError, type CliIO } from "../io.js";

export const LSP_HELP = `Usage: leash lsp [--stdio]

Run the leash language server on stdin and stdout (the Language Server Protocol): diagnostics as
you type (the same codes, spans and help as leash check), hover, completion, go to definition,
references, rename, formatting, quick fixes, semantic tokens and folding for .rules files.
An editor starts it; docs/editors.md shows how for VS Code, Neovim and other clients.

Options:
  --stdio      talk over stdin and stdout (the default and only transport)
  -h, --help   print this help

The server runs until the client sends exit or closes stdin.
`;

/** `leash lsp`: the server is loaded only here, so other commands never load it. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  // Clients add their own process id (--clientProcessId=N); the protocol library reads it. A usage
  // error is thrown to the CLI, which reports it as `leash lsp: ...` like every other command's.
  const args = parseArgs(withoutClientProcessId(argv), { command: "lsp", flags: ["stdio"] });
  if (args.help) {
    io.stdout(LSP_HELP);
    return EXIT_OK;
  }
  if (args.positional.length > 0) throw new UsageError(`takes no files (got ${JSON.stringify(args.positional[0])}); the client sends the documents`);
  const { startLanguageServer } = await import("../../lsp/index.js");
  startLanguageServer();
  // The protocol library ends the process on `exit` or when stdin closes.
  return new Promise<number>(() => undefined);
}

/** `argv` without `--clientProcessId=N` / `--clientProcessId N`, which language clients add. */
function withoutClientProcessId(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--clientProcessId") i++;
    else if (!argv[i]!.startsWith("--clientProcessId=")) out.push(argv[i]!);
  }
  return out;
}
