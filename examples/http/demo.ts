/**
 * `npm run example:http`: starts the shop (examples/http/app.ts) on a loopback port with its
 * decision log, plays a scenario against it — a customer, a login bot, an agent checking out — and
 * prints each request's outcome; then `leash replay` can re-decide the log with another policy.
 *
 *   npm run example:http                                 # the scenario; the log goes to a temp file
 *   npm run example:http -- --log shop.jsonl             # ... to shop.jsonl
 *   npm run example:http -- --serve [--port 3000]        # serve until Ctrl-C
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGuard } from "../../src/index.js";
import { decisionLog, jsonlSink } from "../../src/log/index.js";
import { createShop, shopPolicy } from "./app.js";

export interface ScenarioStep {
  readonly who: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The refusal's title and detail, or what the service answered. */
  readonly note: string;
}

/** Plays the scenario against a running shop at `base`; every request comes through a proxy on loopback (X-Forwarded-For). */
export async function playScenario(base: string, say: (step: ScenarioStep) => void = () => {}): Promise<ScenarioStep[]> {
  const steps: ScenarioStep[] = [];
  const cookies = new Map<string, string>();
  const send = async (who: string, ip: string, method: string, path: string, body?: unknown): Promise<Response> => {
    const cookie = cookies.get(who);
    const res = await fetch(base + path, {
      method,
      headers: { "x-forwarded-for": ip, ...(cookie ? { cookie } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const set = res.headers.get("set-cookie");
    if (set !== null) cookies.set(who, set.split(";")[0]!);
    const text = await res.text();
    const step = { who, method, path, status: res.status, note: noteOf(res, text) };
    steps.push(step);
    say(step);
    return res;
  };

  // A customer signs in, browses and pays.
  await send("ana", "198.51.100.4", "POST", "/login", { user: "ana", password: "correct horse battery staple" });
  await send("ana", "198.51.100.4", "GET", "/catalog");
  await send("ana", "198.51.100.4", "POST", "/cart", { sku: "tea-01" });
  await send("ana", "198.51.100.4", "POST", "/checkout", { amount: 12 });
  // A login bot tries password after password from one address.
  for (let i = 0; i < 22; i++) await send("bot", "203.0.113.77", "POST", "/login", { user: "ana", password: `guess-${i}` });
  // The shopping agent checks out for ana: a new address and card right before paying needs her approval.
  await send("agent", "192.0.2.10", "POST", "/login", { user: "shop-assistant", password: "agent-token-7f3a" });
  await send("agent", "192.0.2.10", "PUT", "/address", { street: "1 Main St" });
  await send("agent", "192.0.2.10", "POST", "/payment-methods", { card: "5555555555554444" });
  const challenged = await send("agent", "192.0.2.10", "POST", "/checkout", { amount: 21 });
  if (challenged.status === 401) {
    const agentSession = cookies.get("agent")!.slice("sid=".length);
    await send("ana", "198.51.100.4", "POST", "/approvals", { session: agentSession });
    await send("agent", "192.0.2.10", "POST", "/checkout", { amount: 21 });
  }
  // Then it tries card after card: a test card is refused, the fourth attempt ends its session.
  const session = cookies.get("agent")!;
  for (const card of ["4242424242424242", "4000056655665556", "4000000000000077"]) await send("agent", "192.0.2.10", "POST", "/payment-methods", { card });
  // The revoked session's cookie, sent again, stays refused.
  cookies.set("agent", session);
  await send("agent", "192.0.2.10", "GET", "/catalog");
  return steps;
}

function noteOf(res: Response, text: string): string {
  const type = res.headers.get("content-type") ?? "";
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (type.startsWith("application/problem+json")) {
      const extra = [res.headers.get("www-authenticate") ? "WWW-Authenticate" : "", res.headers.get("retry-after") ? "Retry-After" : "", res.headers.get("set-cookie") ? "session cookie cleared" : ""].filter(Boolean);
      return `${String(body.title)}: ${String(body.detail)}${extra.length > 0 ? ` (${extra.join(", ")})` : ""}`;
    }
    return typeof body.error === "string" ? body.error : Array.isArray(body) ? `${body.length} items` : Object.keys(body).join(", ");
  } catch {
    return text.slice(0, 60);
  }
}

/** Starts the shop with its Guard and decision log on 127.0.0.1:`port` (0: any free port). */
export async function startShop(logPath: string, port = 0): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const log = decisionLog({ sinks: [jsonlSink(logPath)], labels: { service: "shop" } });
  const guard = createGuard({ policy: shopPolicy(), onDecision: log.record });
  const { app } = createShop({ guard });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    await guard.close();
    await log.close();
  };
  return { url, server, close };
}

async function main(argv: readonly string[]): Promise<void> {
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const logPath = at("--log") ?? join(tmpdir(), `leash-shop-${process.pid}.jsonl`);
  if (argv.includes("--serve")) {
    const shop = await startShop(logPath, Number(at("--port") ?? 3000));
    console.log(`shop on ${shop.url}, decision log ${logPath} (Ctrl-C stops)`);
    process.once("SIGINT", () => void shop.close().then(() => process.exit(0)));
    return;
  }
  const shop = await startShop(logPath);
  console.log(`shop on ${shop.url}, guarded by examples/http.rules`);
  await playScenario(shop.url, (s) => console.log(`${s.who.padEnd(6)} ${s.method.padEnd(5)}${s.path.padEnd(17)} ${s.status}  ${s.note}`));
  await shop.close();
  console.log(`\ndecision log: ${logPath}`);
  console.log(`re-decide it with another policy: npx leash replay ${logPath} --policy examples/http/loosened.rules`);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main(process.argv.slice(2));
