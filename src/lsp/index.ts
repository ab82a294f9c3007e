/**
 * The leash language server (`leash lsp`): diagnostics, hover, completion, navigation, rename,
 * formatting, quick fixes, semantic tokens and folding for `.rules` files over the Language Server
 * Protocol. A layer of its own: it uses the parser, the checker, the lints and the printer, and
 * nothing below it knows it exists. docs/editors.md says how to use it from VS Code, Neovim and
 * any other client.
 */
import { createConnection, ProposedFeatures, type Connection } from "vscode-languageserver/node";
import { readFileSync } from "node:fs";
import { listen, type ServerOptions } from "./server.js";

export { listen, SERVER_NAME, SERVER_VERSION, type ServerOptions } from "./server.js";

/**
 * Serves the protocol on `input` and `output` (the process's stdin and stdout by default). With
 * stdio, anything written with `console` goes to the client's log instead of stdout, where it
 * would break the protocol.
 */
export function startLanguageServer(
  options: ServerOptions & { readonly input?: NodeJS.ReadableStream; readonly output?: NodeJS.WritableStream } = {},
): Connection {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const connection = createConnection(ProposedFeatures.all, input, output);
  if (output === process.stdout) {
    const log = (...args: unknown[]) => connection.console.log(args.map(String).join(" "));
    console.log = console.info = console.debug = log;
    console.warn = console.error = (...args: unknown[]) => connection.console.error(args.map(String).join(" "));
  }
  listen(connection, { readFile: readFromDisk, ...options });
  return connection;
}

/** A file an open document imports, read from the disk: its text, or `undefined` when it cannot be read. */
function readFromDisk(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
