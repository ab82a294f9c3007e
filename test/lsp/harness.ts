import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import type { InitializeResult, PublishDiagnosticsParams, TextDocumentContentChangeEvent, TextEdit } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";

/**
 * A real Language Server Protocol client for the tests: `leash lsp --stdio` in a child process,
 * spoken to over its stdin and stdout with vscode-jsonrpc (Content-Length framing, JSON-RPC 2.0),
 * as an editor does.
 */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `leash lsp --stdio`, run from the sources as `npm run leash -- lsp` does. */
export const SERVER_COMMAND: readonly string[] = [process.execPath, "--import", "tsx", join(ROOT, "src", "cli", "bin.ts"), "lsp", "--stdio"];

export class LspClient {
  /** Every publishDiagnostics notification, by document. */
  readonly published = new Map<string, PublishDiagnosticsParams[]>();
  private readonly waiters: { uri: string; version: number | undefined; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;

  private constructor(
    readonly process: ChildProcess,
    readonly connection: MessageConnection,
    readonly initialized: InitializeResult,
  ) {
    this.exited = new Promise((resolve) => process.once("exit", (code) => resolve(code)));
  }

  /** Starts `command` (default `leash lsp --stdio`) and initializes it with `capabilities` (and a workspace folder's URI). */
  static async start(
    capabilities: object = { textDocument: { completion: { completionItem: { snippetSupport: true } } } },
    command: readonly string[] = SERVER_COMMAND,
    workspace: string | null = null,
  ): Promise<LspClient> {
    const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const pending: PublishDiagnosticsParams[] = [];
    let client: LspClient | null = null;
    connection.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      if (client) client.record(p);
      else pending.push(p);
    });
    connection.listen();
    const initialized = await connection.sendRequest<InitializeResult>("initialize", { processId: process.pid, rootUri: workspace, capabilities, workspaceFolders: workspace === null ? null : [{ uri: workspace, name: "workspace" }] });
    await connection.sendNotification("initialized", {});
    client = new LspClient(child, connection, initialized);
    client.stderr = stderr;
    child.stderr!.on("data", (d: Buffer) => (client!.stderr += d.toString()));
    for (const p of pending) client.record(p);
    return client;
  }

  private record(p: PublishDiagnosticsParams): void {
    const list = this.published.get(p.uri) ?? [];
    list.push(p);
    this.published.set(p.uri, list);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.uri === p.uri && (w.version === undefined || p.version === w.version)) {
        this.waiters.splice(i, 1);
        w.resolve(p);
      }
    }
  }

  /** The diagnostics published for `uri` at `version` (waits for them). */
  diagnostics(uri: string, version?: number): Promise<PublishDiagnosticsParams> {
    const got = this.published.get(uri)?.find((p) => version === undefined || p.version === version);
    if (got) return Promise.resolve(got);
    return new Promise((resolve) => this.waiters.push({ uri, version, resolve }));
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "leash", version, text } });
  }

  change(uri: string, version: number, changes: TextDocumentContentChangeEvent[]): Promise<void> {
    return this.connection.sendNotification("textDocument/didChange", { textDocument: { uri, version }, contentChanges: changes });
  }

  close(uri: string): Promise<void> {
    return this.connection.sendNotification("textDocument/didClose", { textDocument: { uri } });
  }

  request<T>(method: string, params: object): Promise<T> {
    return this.connection.sendRequest<T>(method, params);
  }

  /** shutdown, then exit; resolves with the server's exit code. */
  async stop(): Promise<number | null> {
    await this.connection.sendRequest("shutdown");
    await this.connection.sendNotification("exit");
    const code = await this.exited;
    this.connection.dispose();
    return code;
  }

  kill(): void {
    if (this.process.exitCode === null) this.process.kill();
    this.connection.dispose();
  }
}

/** `text` with the edits applied (as a client applies a WorkspaceEdit to one document). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  return TextDocument.applyEdits(TextDocument.create("file:///x", "leash", 0, text), [...edits]);
}

/** The LSP position of the `n`th occurrence of `needle` in `text` (plus `delta` characters). */
export function positionOf(text: string, needle: string, delta = 0, n = 0): { line: number; character: number } {
  let at = -1;
  for (let i = 0; i <= n; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`${JSON.stringify(needle)} occurs fewer than ${n + 1} times`);
  }
  const doc = TextDocument.create("file:///x", "leash", 0, text);
  return doc.positionAt(at + delta);
}
