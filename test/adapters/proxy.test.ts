/**
 * connectMcpProxy between the SDK's real Client and McpServer over in-memory transports: only
 * tools/call is decided; everything else passes through both ways.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ElicitRequestSchema, LoggingMessageNotificationSchema, ToolListChangedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { compilePolicyOrThrow, createGuard } from "../../src/index.js";
import { connectMcpProxy, createToolGate, defineMapping, type ToolGate } from "../../src/adapters/mcp/index.js";

const policy = compilePolicyOrThrow(`
rule reads: allow mcp.notes.read for agent *
rule writes: allow mcp.notes.write for agent *
rule approve-writes: challenge mcp.notes.write unless after(signal approval.granted by session within 1m until allowed mcp.notes.write)
  require human-approval satisfied by approval.granted
`);

async function setup(options: { gate?: ToolGate; elicit?: "accept" } = {}) {
  const ran: string[] = [];
  const server = new McpServer({ name: "notes", version: "1.0.0" }, { capabilities: { logging: {} } });
  server.registerTool("read", { inputSchema: { id: z.string() } }, async ({ id }, extra) => {
    ran.push(`read ${id}`);
    await server.server.sendLoggingMessage({ level: "info", data: `reading ${id}` }, extra.sessionId);
    return { content: [{ type: "text", text: `note ${id}` }] };
  });
  server.registerTool("write", { inputSchema: { id: z.string() } }, async ({ id }) => (ran.push(`write ${id}`), { content: [{ type: "text", text: "saved" }] }));
  server.registerResource("readme", "notes://readme", {}, async () => ({ contents: [{ uri: "notes://readme", text: "hello" }] }));
  const [serverSide, proxyDown] = InMemoryTransport.createLinkedPair();
  const [proxyUp, clientSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const gate = options.gate ?? createToolGate({ guard: createGuard({ policy }), mapping: defineMapping({ server: "notes" }) });
  const connection = await connectMcpProxy(proxyUp, proxyDown, { gate });
  const client = new Client({ name: "agent-1", version: "1" }, { capabilities: options.elicit ? { elicitation: {} } : {}, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
  if (options.elicit) client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { approve: true } }));
  const logs: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
  const changes: unknown[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes.push(1));
  await client.connect(clientSide);
  return { client, server, ran, logs, changes, connection };
}

describe("connectMcpProxy", () => {
  it("passes initialisation, resources and the server's notifications through; decides tools/call", async () => {
    const { client, ran, logs, changes, server } = await setup();
    expect(client.getServerVersion()).toMatchObject({ name: "notes" });
    expect((await client.readResource({ uri: "notes://readme" })).contents).toEqual([{ uri: "notes://readme", text: "hello" }]);
    expect(((await client.callTool({ name: "read", arguments: { id: "n1" } })) as CallToolResult).content).toEqual([{ type: "text", text: "note n1" }]);
    const w = (await client.callTool({ name: "write", arguments: { id: "n1" } })) as CallToolResult;
    expect(w).toMatchObject({ isError: true, _meta: { "leash/decision": { effect: "challenge", answer: "unsupported" } } });
    expect(ran).toEqual(["read n1"]);
    expect(logs).toEqual(["reading n1"]);
    server.registerTool("later", {}, async () => ({ content: [] }));
    await new Promise((r) => setTimeout(r, 20));
    expect(changes.length).toBeGreaterThan(0);
  });

  it("asks the client when it supports elicitation, and runs the call once approved", async () => {
    const { client, ran } = await setup({ elicit: "accept" });
    expect(((await client.callTool({ name: "write", arguments: { id: "n2" } })) as CallToolResult).isError).toBeFalsy();
    expect(ran).toEqual(["write n2"]);
  });

  it("a gate that throws refuses the call with an error; the call never runs and the client is not left waiting", async () => {
    const broken = { ...createToolGate({ guard: createGuard({ policy }), mapping: defineMapping({ server: "notes" }) }), decide: async () => { throw new Error("broken"); } } as ToolGate;
    const { client, ran } = await setup({ gate: broken });
    await expect(client.callTool({ name: "read", arguments: { id: "n3" } })).rejects.toThrow(/could not decide the call: broken/);
    expect(ran).toEqual([]);
  });

  it("closing one side closes the other", async () => {
    const { client, connection } = await setup();
    await client.close();
    await connection.closed;
  });
});
