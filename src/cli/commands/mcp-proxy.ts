import { appendFileSync } from "node:fs";
import { compilePolicy } from "../../compile/compile.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { hasErrors } from "../../diagnostics/diagnostic.js";
import { createGuard } from "../../guard/guard.js";
import { memoryStore } from "../../stores/memory.js";
import { checkMapping } from "../../adapters/tools/check.js";
import { createToolGate, type Verdict } from "../../adapters/tools/gate.js";
import { defineMapping, type ToolMapping } from "../../adapters/tools/mapping.js";
import { loadMapping } from "../../adapters/tools/mapping-file.js";
import { wireDecision } from "../../adapters/tools/wire.js";
import { connectMcpProxy, type McpProxyOptions } from "../../adapters/mcp/proxy.js";
import { serveMcpProxyHttp } from "../../adapters/mcp/proxy-http.js";
import type { Principal } from "../../runtime/types.js";
import { parseArgs } from "../args.js";
import { EXIT_FAIL, EXIT_OK, readText, UsageError, type CliIO } from "../io.js";

export const help = `Usage: leash mcp-proxy --policy POLICY.rules [--map MAPPING.json] [options] -- COMMAND [ARGS...]
       leash mcp-proxy --policy POLICY.rules [--map MAPPING.json] [options] --url URL

Runs between an MCP client and an MCP server and decides every tools/call with the policy before
the server sees it. The client talks to the proxy over stdio (or Streamable HTTP with --listen);
the proxy starts COMMAND as a stdio server (or connects to a Streamable HTTP server with --url).
A refused call is answered with isError and the decision under _meta["leash/decision"]; a
challenge is put to the user as an elicitation when the client supports it; a revoke ends the
session (every later call is denied). Logs go to stderr; stdout carries only the protocol.

Options:
  --policy FILE        the policy that decides the calls (required)
  --map FILE           the tool mapping (JSON); without it every tool is the action mcp.SERVER.TOOL
  --server NAME        SERVER in those default actions, without --map (default: server)
  --url URL            guard the Streamable HTTP server at URL instead of starting COMMAND
  --listen [HOST:]PORT serve clients over Streamable HTTP at http://HOST:PORT/mcp (HOST defaults
                       to 127.0.0.1) instead of stdio; each session gets its own server
  --principal KIND:ID  decide every call as this principal, not as the client's self-description
  --filter-tools       hide from tools/list the tools the principal could never be allowed
  --no-elicit          never ask the user: a challenge is refused, carrying its obligation
  --log FILE           append one JSON line per tool call (verdict, rules, flags); - for stderr
  -h, --help           print this help

Exit codes: 0 the client or server closed the connection, 1 the policy or the mapping has errors,
2 usage error (unknown option, missing file, no server to start).
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "mcp-proxy", flags: ["filter-tools", "no-elicit"], values: ["policy", "map", "server", "url", "listen", "principal", "log"] });
  if (args.help) {
    io.stdout(help);
    return EXIT_OK;
  }
  const policyPath = args.values.policy;
  if (policyPath === undefined) throw new UsageError("--policy is required (see leash mcp-proxy --help)");
  const dashes = argv.indexOf("--");
  const command = dashes < 0 ? [] : argv.slice(dashes + 1);
  const stray = args.positional.slice(0, args.positional.length - command.length);
  if (stray.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(stray[0])}: the server command goes after --`);
  const url = args.values.url;
  if (url === undefined && command.length === 0) throw new UsageError("no server: give -- COMMAND [ARGS...] or --url URL");
  if (url !== undefined && command.length > 0) throw new UsageError("give either -- COMMAND or --url, not both");
  const principal = args.values.principal === undefined ? undefined : principalArg(args.values.principal);
  const listen = args.values.listen === undefined ? undefined : listenArg(args.values.listen);
  if (url !== undefined && !/^https?:\/\//.test(url)) throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(url)}`);

  const source = readText(io, policyPath);
  const mapPath = args.values.map;
  const mapText = mapPath === undefined ? undefined : readText(io, mapPath);

  const compiled = compilePolicy(source, { file: policyPath });
  if (compiled.policy === null) {
    io.stderr(renderDiagnostics(compiled.diagnostics, () => source, { color: io.color }) + "\n");
    return EXIT_FAIL;
  }
  let mapping: ToolMapping;
  if (mapText !== undefined) {
    const loaded = loadMapping(mapText, mapPath);
    const diagnostics = loaded.mapping === null ? loaded.diagnostics : checkMapping(loaded.mapping, compiled.ast);
    if (hasErrors(diagnostics) || loaded.mapping === null) {
      io.stderr(renderDiagnostics(diagnostics, (f) => (f === mapPath ? mapText : undefined), { color: io.color }) + "\n");
      return EXIT_FAIL;
    }
    mapping = loaded.mapping;
  } else {
    const server = args.values.server ?? "server";
    try {
      mapping = defineMapping({ server });
    } catch {
      throw new UsageError(`--server ${JSON.stringify(server)} cannot be an action segment (letters, digits, '_' and '-')`);
    }
  }

  const log = logger(args.values.log, io);
  const guard = createGuard({ policy: compiled.policy, store: memoryStore() });
  const gate = createToolGate({
    guard,
    mapping,
    onToolCall: log,
    onSessionEnd: (end) => io.stderr(`leash mcp-proxy: session ${end.session} ended: ${end.reason}\n`),
  });
  const options: McpProxyOptions = {
    gate,
    filterTools: Boolean(args.flags["filter-tools"]),
    elicit: !args.flags["no-elicit"],
    ...(principal ? { principal } : {}),
    onError: (e, side) => io.stderr(`leash mcp-proxy: ${side} transport: ${e.message}\n`),
  };

  let sdk: Awaited<ReturnType<typeof loadSdk>>;
  try {
    sdk = await loadSdk();
  } catch {
    io.stderr("leash mcp-proxy: @modelcontextprotocol/sdk is not installed (npm install @modelcontextprotocol/sdk)\n");
    return EXIT_FAIL;
  }
  const downstream = () =>
    url !== undefined
      ? new sdk.StreamableHTTPClientTransport(new URL(url))
      : new sdk.StdioClientTransport({ command: command[0]!, args: command.slice(1), env: environment(), stderr: "inherit" });
  const target = url ?? command.join(" ");

  if (listen !== undefined) {
    const served = await serveMcpProxyHttp({ ...options, ...listen, downstream });
    io.stderr(`leash mcp-proxy: ${served.url} -> ${target}, policy ${policyPath}\n`);
    await untilSignal();
    await served.close();
    return EXIT_OK;
  }
  const connection = await connectMcpProxy(new sdk.StdioServerTransport(process.stdin, process.stdout), downstream(), options);
  io.stderr(`leash mcp-proxy: stdio -> ${target}, policy ${policyPath}\n`);
  // The client ending our stdin ends the session, as a signal does (the SDK's transport does not watch for it).
  const stop = () => void connection.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.stdin.once("end", stop);
  process.stdin.once("close", stop);
  await connection.closed;
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  process.stdin.off("end", stop);
  process.stdin.off("close", stop);
  process.stdin.pause();
  return EXIT_OK;
}

/**
 * The SDK's transports, loaded only when the proxy runs: the other commands never load the SDK,
 * and the CLI works where it is not installed (it is an optional peer dependency).
 */
async function loadSdk() {
  const [{ StdioServerTransport }, { StdioClientTransport }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("@modelcontextprotocol/sdk/client/stdio.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
  return { StdioServerTransport, StdioClientTransport, StreamableHTTPClientTransport };
}

function principalArg(text: string): Principal {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) throw new UsageError(`--principal is KIND:ID, e.g. agent:claude-desktop (got ${JSON.stringify(text)})`);
  return { kind: text.slice(0, colon), id: text.slice(colon + 1) };
}

function listenArg(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  const host = colon < 0 ? "127.0.0.1" : text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(colon < 0 ? text : text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535 || host === "") throw new UsageError(`--listen is [HOST:]PORT, e.g. 127.0.0.1:8931 (got ${JSON.stringify(text)})`);
  return { host, port };
}

/** The server inherits the proxy's environment, as it would if the client had started it. */
function environment(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v;
  return out;
}

function logger(target: string | undefined, io: CliIO): ((v: Verdict) => void) | undefined {
  if (target === undefined) return undefined;
  return (v) => {
    const line = JSON.stringify({ ...wireDecision(v), message: v.message }) + "\n";
    if (target === "-") io.stderr(line);
    else appendFileSync(target, line);
  };
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
