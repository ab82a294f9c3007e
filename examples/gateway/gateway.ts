/**
 * A small tool-call gateway built on a Guard: an HTTP server that decides every call before it
 * runs it. `POST /call` with `{ agent, session, tool, context? }` answers 200 with the tool's result
 * when the Guard allows the call and 403 with the decision's reasons when it does not.
 *
 *   npx tsx examples/gateway/gateway.ts          # starts the gateway, makes a few calls, prints them
 *
 * The Guard holds the policy's state (here in the memory store; give it `redisStore(...)` from
 * leash/redis to share it across instances), fills each request's time from its clock, and never
 * throws: a store failure is a deny.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { compilePolicyOrThrow, createGuard, memoryStore, type Guard } from "../../src/index.js";

/** The tools behind the gateway: what each call does once it is allowed. */
const TOOLS: Record<string, (args: Record<string, unknown>) => unknown> = {
  "ticket.read": () => ({ id: "T-1", title: "Printer on fire" }),
  "ticket.draft": () => ({ drafted: true }),
  "secret.read": () => ({ secret: "s3cr3t" }),
  "email.send": () => ({ sent: true }),
};

export function createGateway(guard: Guard): Server {
  return createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST" || req.url !== "/call") return reply(404, { error: "POST /call" });
    let call: { agent?: unknown; session?: unknown; tool?: unknown; context?: unknown };
    try {
      call = JSON.parse(await body(req));
    } catch {
      return reply(400, { error: "the body is JSON" });
    }
    // The Guard checks the shape of everything: a malformed call is a deny with R304, not a crash.
    const decision = await guard.decide({
      principal: { kind: "agent", id: String(call.agent) },
      action: String(call.tool),
      session: typeof call.session === "string" ? call.session : undefined,
      context: call.context as Record<string, unknown> | undefined,
    });
    if (decision.effect !== "allow") {
      return reply(403, { effect: decision.effect, reasons: decision.reasons.map((r) => `${r.code ?? r.rule}: ${r.message}`) });
    }
    const tool = TOOLS[decision.action];
    return reply(200, { effect: "allow", result: tool ? tool({}) : null, validUntil: decision.validUntil });
  });
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 65_536) req.destroy(new Error("too large"));
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

/** Starts the gateway on a loopback port, makes the calls of a short agent session, prints each. */
export async function demo(log: (line: string) => void = console.log): Promise<void> {
  const policy = compilePolicyOrThrow(readFileSync(new URL("gateway.rules", import.meta.url), "utf8"), { file: "gateway.rules" });
  const guard = createGuard({ policy, store: memoryStore() });
  const server = createGateway(guard);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const call = async (tool: string, session: string, context?: object) => {
    const res = await fetch(`http://127.0.0.1:${port}/call`, { method: "POST", body: JSON.stringify({ agent: "helper", session, tool, context }) });
    const answer = (await res.json()) as { effect: string; reasons?: string[] };
    log(`${session} ${tool.padEnd(13)} ${res.status} ${answer.effect}${answer.reasons ? ` ${answer.reasons[0]}` : ""}`);
  };
  try {
    await call("ticket.read", "s1");
    await call("secret.read", "s1");
    await call("secret.read", "s1");
    await call("email.send", "s1");
    await call("email.send", "s2");
    await call("ticket.approve", "s2");
    await call("ticket.read", "s3", { risk: 0.95 });
    await call("ticket.read", "s3", { risk: 0.1 });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await guard.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await demo();
