/**
 * What the MCP end-to-end tests share: a workspace directory the test owns, the real filesystem
 * server, and the SDK's real Client connected over stdio — through `leash mcp-proxy`, or to the
 * server guarded in process.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";

export const root = join(__dirname, "..", "..");
export const FS_SERVER = join(root, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
export const CLI = join(root, "src", "cli", "bin.ts");
export const POLICY = "examples/mcp-tools.rules";
export const MAPPING = "examples/mcp-tools.map.json";

/** A fresh directory with notes.txt, docs/readme.md and secrets/api-key; removed by `dispose`. */
export function workspace(): { dir: string; files: () => Record<string, string>; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "leash-mcp-"));
  mkdirSync(join(dir, "secrets"));
  mkdirSync(join(dir, "docs"));
  writeFileSync(join(dir, "notes.txt"), "first line\n");
  writeFileSync(join(dir, "docs", "readme.md"), "# readme\n");
  writeFileSync(join(dir, "secrets", "api-key"), "sk-test-0000\n");
  const files = () => {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out[relative(dir, p)] = readFileSync(p, "utf8");
      }
    };
    walk(dir);
    return out;
  };
  return { dir, files, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Mode = "proxy" | "in-process";

export interface Connected {
  readonly client: Client;
  /** Elicitation requests the client received, in order. */
  readonly asked: { message: string; requestedSchema: unknown }[];
  /** The server side's stderr so far (the proxy's log lines). */
  readonly stderr: () => string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Declare elicitation support and answer each request with this (default: no elicitation). */
  readonly answer?: "accept" | "decline" | "cancel";
  readonly clientName?: string;
  /** Extra arguments for `leash mcp-proxy` (before `--`). */
  readonly proxyArgs?: readonly string[];
  readonly env?: Record<string, string>;
}

/** The environment for child processes: this one's, without vitest's worker variables. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("VITEST")) out[k] = v;
  return { ...out, ...extra };
}

/** The command line that serves `dir` guarded: the proxy in front of the server, or the server guarded in process. */
export function serverCommand(mode: Mode, dir: string, proxyArgs: readonly string[] = []): { command: string; args: string[] } {
  if (mode === "proxy") {
    return { command: process.execPath, args: ["--import", "tsx", CLI, "mcp-proxy", "--policy", POLICY, "--map", MAPPING, ...proxyArgs, "--", process.execPath, FS_SERVER, dir] };
  }
  return { command: process.execPath, args: ["--import", "tsx", join(root, "test", "e2e", "fixtures", "guarded-filesystem.ts"), dir] };
}

/**
 * The SDK's Client. It validates tool results against their output schemas; the default
 * validator (ajv) compiles code from strings, which the test processes forbid
 * (--disallow-code-generation-from-strings), so the tests use the SDK's interpreting one.
 */
export function newClient(name: string, elicitation: boolean): Client {
  return new Client({ name, version: "1.0.0" }, { capabilities: elicitation ? { elicitation: {} } : {}, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
}

export async function connect(mode: Mode, dir: string, options: ConnectOptions = {}): Promise<Connected> {
  const { command, args } = serverCommand(mode, dir, options.proxyArgs);
  const transport = new StdioClientTransport({ command, args, cwd: root, env: childEnv(options.env), stderr: "pipe" });
  let err = "";
  transport.stderr?.on("data", (c: Buffer) => (err += c.toString("utf8")));
  const client = newClient(options.clientName ?? "claude", options.answer !== undefined);
  const asked: Connected["asked"] = [];
  if (options.answer !== undefined) {
    const answer = options.answer;
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      const params = request.params as { message: string; requestedSchema: unknown };
      asked.push({ message: params.message, requestedSchema: params.requestedSchema });
      return answer === "accept" ? { action: "accept", content: { approve: true } } : { action: answer };
    });
  }
  await client.connect(transport);
  return { client, asked, stderr: () => err, close: () => client.close() };
}

/** Calls a tool and returns its result as the client sees it. */
export async function call(c: Connected, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await c.client.callTool({ name, arguments: args })) as CallToolResult;
}

export function text(r: CallToolResult): string {
  return r.content.map((c) => (c.type === "text" ? c.text : "")).join("");
}

/** The decision leash put under `_meta` of a refused call. */
export function decisionOf(r: CallToolResult): Record<string, unknown> | undefined {
  return (r._meta as Record<string, unknown> | undefined)?.["leash/decision"] as Record<string, unknown> | undefined;
}
