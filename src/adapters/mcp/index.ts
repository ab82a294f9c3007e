/**
 * `leash/mcp`: guard MCP tool calls. `guardServer` puts a policy in front of a server built with
 * `@modelcontextprotocol/sdk`; `connectMcpProxy` and `serveMcpProxyHttp` (behind
 * `leash mcp-proxy`) put it between any client and any server. A tool mapping says how a call
 * becomes a request; `checkMapping` checks it against the policy.
 *
 * ```ts
 * import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
 * import { createGuard } from "leash";
 * import { defineMapping, guardServer } from "leash/mcp";
 *
 * const server = new McpServer({ name: "notes", version: "1.0.0" });
 * guardServer(server, { guard: createGuard({ policy }), mapping: defineMapping({ server: "notes" }) });
 * server.registerTool("delete_note", { inputSchema: { id: z.string() } }, deleteNote);
 * ```
 * @packageDocumentation
 */
export * from "../tools/index.js";
export { loadMappingFile } from "./files.js";
export { guardServer } from "./server.js";
export type { GuardedServer, GuardServerOptions, HandlerExtra } from "./server.js";
export { connectMcpProxy } from "./proxy.js";
export type { McpProxyOptions, ProxyConnection } from "./proxy.js";
export { serveMcpProxyHttp } from "./proxy-http.js";
export type { McpProxyHttp, ServeMcpProxyOptions } from "./proxy-http.js";
export { APPROVE_FIELD, canElicit, elicitationAnswer, elicitationParams } from "./elicit.js";
