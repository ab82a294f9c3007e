/**
 * A held MCP session cut off mid-chain: the real @modelcontextprotocol/server-filesystem over
 * stdio behind connectMcpProxy, the SDK's real Client on the other side, guarded by
 * examples/mcp-tools.rules plus a rule that revokes on the risk engine's signal. The signal
 * arrives while a tool call runs: the session's hold turns, the running call's result is
 * withheld with the reason, every later call is refused with it, and the host's log is told why.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it, onTestFinished } from "vitest";
import { compilePolicyOrThrow, createGuard } from "../../src/index.js";
import { connectMcpProxy, createToolGate, loadMappingOrThrow, type SessionEnd, type Verdict } from "../../src/adapters/mcp/index.js";
import { childEnv, decisionOf, FS_SERVER, MAPPING, newClient, POLICY, root, text, workspace } from "./mcp-helpers.js";

/** Declared in the example's signals block, and revoking on it. */
const RISK_RULE = `
rule risk-signal: revoke signal risk.high
  reason "the risk engine reported high risk"
`;

describe("an MCP session under a hold", () => {
  it("is cut off mid-chain when a risk signal arrives, and the client sees the reason", async () => {
    const ws = workspace();
    const guard = createGuard({ policy: compilePolicyOrThrow(readFileSync(join(root, POLICY), "utf8").replace("signals {\n", "signals {\n  risk.high\n") + RISK_RULE) });
    const ends: SessionEnd[] = [];
    const log: string[] = [];
    let signalDuring: string | null = null;
    const gate = createToolGate({
      guard,
      mapping: loadMappingOrThrow(readFileSync(join(root, MAPPING), "utf8"), MAPPING),
      onToolCall: (v: Verdict) => {
        log.push(`${v.tool}: ${v.allowed ? "allowed" : "refused"}`);
        // The risk engine reports while this call runs on the server.
        if (v.allowed && v.tool === signalDuring) void guard.observe({ signal: "risk.high", session: v.session });
      },
      onSessionEnd: (end) => void ends.push(end),
    });
    const [proxyUp, clientSide] = InMemoryTransport.createLinkedPair();
    const server = new StdioClientTransport({ command: process.execPath, args: [FS_SERVER, ws.dir], cwd: root, env: childEnv(), stderr: "pipe" });
    const connection = await connectMcpProxy(proxyUp, server, { gate });
    const client = newClient("claude", false);
    await client.connect(clientSide);
    onTestFinished(async () => {
      await client.close();
      await connection.close();
      await guard.close();
      ws.dispose();
    });
    const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;

    const listing = await call("list_directory", { path: ws.dir });
    expect(listing.isError).toBeFalsy();
    expect(text(listing)).toContain("notes.txt");
    const notes = await call("read_text_file", { path: join(ws.dir, "notes.txt") });
    expect(text(notes)).toBe("first line\n");

    signalDuring = "read_text_file";
    const cut = await call("read_text_file", { path: join(ws.dir, "docs", "readme.md") });
    expect(cut.isError).toBe(true);
    expect(text(cut)).not.toContain("# readme");
    const session = connection.session;
    const reason = `session:${session} was revoked by rule risk-signal: the risk engine reported high risk`;
    expect(text(cut)).toBe(`leash cut off read_text_file: the session ended while it ran (${reason}); its result is withheld`);
    expect(decisionOf(cut)).toMatchObject({ effect: "deny", allowed: false, reasons: [expect.objectContaining({ code: "R307", message: reason })] });

    const after = await call("list_directory", { path: ws.dir });
    expect(after.isError).toBe(true);
    expect(text(after)).toBe(`leash denied list_directory: the session ended (${reason})`);

    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ session, cause: "hold", reason });
    console.log(["the client saw:", `  ${text(listing).split("\n")[0]} ...`, `  ${text(notes).trim()}`, `  ${text(cut)}`, `  ${text(after)}`, `the host's log: session end (cause ${ends[0]!.cause}): ${ends[0]!.reason}`, ...log.map((l) => `  ${l}`)].join("\n"));
  }, 120_000);
});
