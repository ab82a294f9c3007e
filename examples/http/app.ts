/**
 * A login and checkout service guarded by leash: express 5, the leash/http middleware, a Guard
 * and a decision log. The policy is examples/http.rules: the library modules leash/login and
 * leash/checkout, and the service's own rules.
 *
 *   npm run example:http                 # starts it on a loopback port, plays the scenario, stops
 *   npm run example:http -- --serve      # keeps serving on http://127.0.0.1:3000
 *
 * `createShop({ guard: null })` is the same service without leash (the benchmarks' baseline).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import express, { type Express, type Request, type Response } from "express";
import { expressGuard, type HttpRequestView } from "../../src/adapters/http/index.js";
import { compilePolicyOrThrow, type Guard, type Policy, type Principal } from "../../src/index.js";

/** The policy of the service, compiled from examples/http.rules. */
export function shopPolicy(file = new URL("../http.rules", import.meta.url)): Policy {
  return compilePolicyOrThrow(readFileSync(file, "utf8"), { file: "examples/http.rules" });
}

/** Accounts of the service: a person and the shopping agent that acts for her. */
const ACCOUNTS: Readonly<Record<string, { readonly password: string; readonly principal: Principal }>> = {
  ana: { password: "correct horse battery staple", principal: { kind: "human", id: "ana" } },
  "shop-assistant": { password: "agent-token-7f3a", principal: { kind: "agent", id: "shop-assistant" } },
};

const ANONYMOUS: Principal = { kind: "anonymous", id: "anonymous" };
const CATALOG = [
  { sku: "tea-01", name: "Green tea", price: 12 },
  { sku: "mug-02", name: "Mug", price: 9 },
];

export interface ShopOptions {
  /** The Guard in front of every route; null serves the routes unguarded. */
  readonly guard: Guard | null;
}

export interface Shop {
  readonly app: Express;
  /** Sessions by id: who signed in with that cookie. */
  readonly sessions: Map<string, Principal>;
}

/**
 * The service. Every route is decided by the Guard before it runs: the route table names each
 * route's action, the principal is whoever the session cookie signed in, the context carries the
 * client address (from X-Forwarded-For when the request comes through a proxy on loopback) and,
 * for new cards, the card number — a `[secret]` attribute the decision log redacts.
 */
export function createShop(options: ShopOptions): Shop {
  const sessions = new Map<string, Principal>();
  const app = express();
  app.set("trust proxy", "loopback");
  app.use(express.json());
  const guard = options.guard;
  if (guard !== null) {
    app.use(
      expressGuard({
        guard,
        routes: {
          "POST /login": "login.attempt",
          "POST /accounts": "account.create",
          "GET /catalog": "catalog.search",
          "POST /cart": "cart.add",
          "PUT /address": "address.update",
          "POST /payment-methods": "payment.method.add",
          "POST /checkout": "payment.submit",
          "POST /approvals": "approval.grant",
        },
        principal: (req: HttpRequestView) => sessions.get(req.cookie("sid") ?? "") ?? ANONYMOUS,
        context: (req: HttpRequestView) => ({ card: req.path === "/payment-methods" ? cardOf(req.body) : undefined }),
        acrValues: { "human-approval": "urn:example:acr:human-approval" },
        onRevoke: (ctx) => void (ctx.request.session !== undefined && sessions.delete(ctx.request.session)),
      }),
    );
  }

  app.post("/login", async (req: Request, res: Response) => {
    const { user, password } = (req.body ?? {}) as { user?: unknown; password?: unknown };
    const account = typeof user === "string" ? ACCOUNTS[user] : undefined;
    if (account === undefined || account.password !== password) {
      // The policy counts failures per address: the service reports each one as a signal.
      await guard?.observe({ signal: "login.fail", context: { ip: req.ip ?? "" } });
      res.status(401).json({ error: "wrong user or password" });
      return;
    }
    const sid = randomUUID();
    sessions.set(sid, account.principal);
    res.cookie("sid", sid, { httpOnly: true, sameSite: "lax" }).json({ user, kind: account.principal.kind });
  });

  app.post("/accounts", (req: Request, res: Response) => {
    const sid = randomUUID();
    sessions.set(sid, { kind: "human", id: String((req.body as { user?: unknown })?.user ?? "new") });
    res.status(201).cookie("sid", sid, { httpOnly: true, sameSite: "lax" }).json({ created: true });
  });

  app.get("/catalog", (_req: Request, res: Response) => void res.json(CATALOG));
  app.post("/cart", (req: Request, res: Response) => void res.json({ added: (req.body as { sku?: unknown })?.sku ?? null }));
  app.put("/address", (_req: Request, res: Response) => void res.json({ updated: true }));
  app.post("/payment-methods", (_req: Request, res: Response) => void res.status(201).json({ added: true }));
  app.post("/checkout", (_req: Request, res: Response) => void res.json({ paid: true, order: randomUUID() }));

  app.post("/approvals", async (req: Request, res: Response) => {
    // A person approves what an agent asked for in another session: the signal satisfies the challenge.
    const session = (req.body as { session?: unknown })?.session;
    if (typeof session !== "string") {
      res.status(400).json({ error: "which session? {\"session\": \"...\"}" });
      return;
    }
    await guard?.observe({ signal: "approval.granted", session });
    res.json({ approved: session });
  });

  return { app, sessions };
}

function cardOf(body: unknown): string | undefined {
  const card = (body as { card?: unknown } | undefined)?.card;
  return typeof card === "string" ? card : undefined;
}
