/**
 * The VS Code extension: registers the `leash` language (grammar, comments, brackets) and starts
 * the leash language server bundled next to this file (dist/server.js), or the command set in
 * `leash.server.command`, for every `.rules` file.
 */
import * as vscode from "vscode";
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("leash", { log: true });
  context.subscriptions.push(output);
  client = new LanguageClient("leash", "leash", serverOptions(context), clientOptions(output));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration("leash.server.command") || client === undefined) return;
      await client.stop();
      client = new LanguageClient("leash", "leash", serverOptions(context), clientOptions(output));
      await client.start();
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

/** The bundled server, run by VS Code's own Node, unless a command is configured. */
function serverOptions(context: vscode.ExtensionContext): ServerOptions {
  const command = vscode.workspace.getConfiguration("leash").get<string[]>("server.command", []);
  if (Array.isArray(command) && command.length > 0 && command.every((c) => typeof c === "string")) {
    return { command: command[0]!, args: command.slice(1), options: { shell: process.platform === "win32" } };
  }
  const module = context.asAbsolutePath("dist/server.js");
  return { run: { module, transport: TransportKind.stdio }, debug: { module, transport: TransportKind.stdio } };
}

function clientOptions(output: vscode.LogOutputChannel): LanguageClientOptions {
  return {
    documentSelector: [
      { scheme: "file", language: "leash" },
      { scheme: "untitled", language: "leash" },
    ],
    outputChannel: output,
  };
}
