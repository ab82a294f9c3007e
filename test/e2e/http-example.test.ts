/**
 * The example service (examples/http/) on a real express server on loopback: the scenario's
 * outcomes, exactly one decision log line per request, one span per decision in the real
 * OpenTelemetry SDK's in-memory exporter, and `leash replay` of its log.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createShop, shopPolicy } from "../../examples/http/app.js";
import { playScenario, type ScenarioStep } from "../../examples/http/demo.js";
import type { CliIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { createGuard } from "../../src/guard/index.js";
import { decisionLog, fanOut, jsonlSink } from "../../src/log/index.js";
import { telemetry } from "../../src/log/otel.js";
import { closeServer } from "./loopback.js";

const root = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "leash-shop-"));
const logPath = join(dir, "shop.jsonl");
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider();
let steps: ScenarioStep[] = [];

beforeAll(async () => {
  const log = decisionLog({ sinks: [jsonlSink(logPath)], labels: { service: "shop" } });
  const guard = createGuard({ policy: shopPolicy(), onDecision: fanOut(log, telemetry({ tracer: tracerProvider.getTracer("leash"), meter: meterProvider.getMeter("leash"), log })) });
  const { app } = createShop({ guard });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  try {
    steps = await playScenario(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await closeServer(server);
    await guard.close();
    await log.close();
  }
});

afterAll(async () => {
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
  rmSync(dir, { recursive: true, force: true });
});

const logLines = () => readFileSync(logPath, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

function cli(args: string[]): { code: Promise<number>; io: CliIO & { out: string; err: string } } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => readFileSync(p, "utf8"),
    writeFile: () => {
      throw new Error("replay writes no file");
    },
    cwd: root,
    color: false,
    quiet: true,
  };
  return { code: main(args, io), io };
}

describe("the example service under its scenario", () => {
  it("answers each step as the policy says", () => {
    const statuses = steps.map((s) => `${s.who} ${s.method} ${s.path} ${s.status}`);
    expect(statuses).toEqual([
      "ana POST /login 200",
      "ana GET /catalog 200",
      "ana POST /cart 200",
      "ana POST /checkout 200",
      ...Array(5).fill("bot POST /login 401"),
      ...Array(15).fill("bot POST /login 401"),
      "bot POST /login 429",
      "bot POST /login 429",
      "agent POST /login 200",
      "agent PUT /address 200",
      "agent POST /payment-methods 201",
      "agent POST /checkout 401",
      "ana POST /approvals 200",
      "agent POST /checkout 200",
      "agent POST /payment-methods 403",
      "agent POST /payment-methods 201",
      "agent POST /payment-methods 401",
      "agent GET /catalog 403",
    ]);
    expect(steps[4]!.note).toBe("wrong user or password");
    expect(steps[9]!.note).toBe("Unauthorized: many failed logins from this address (WWW-Authenticate)");
    expect(steps[29]!.note).toBe("Unauthorized: new address and new card just before paying (WWW-Authenticate)");
    expect(steps[24]!.note).toBe("Too Many Requests: too many login attempts from this address (Retry-After)");
    expect(steps.at(-2)!.note).toBe("Unauthorized: an agent trying card after card (WWW-Authenticate, session cookie cleared)");
    expect(steps.at(-1)!.note).toMatch(/^Forbidden: session:.* was revoked by rule card-probing/);
  });

  it("writes exactly one decision line per request, plus one per signal the service reported", () => {
    const lines = logLines();
    const decisions = lines.filter((l) => l.kind === "decision");
    expect(decisions).toHaveLength(steps.length);
    expect(new Set(decisions.map((l) => l.id)).size).toBe(steps.length);
    // Five failed logins and one approval were reported as signals.
    expect(lines.filter((l) => l.kind === "signal").map((l) => (l.input as { signal: string }).signal)).toEqual([...Array(5).fill("login.fail"), "approval.granted"]);
    expect(lines).toHaveLength(steps.length + 6);
    const paths = decisions.map((l) => (l.input as { context: { path: string } }).context.path);
    expect(paths).toEqual(steps.map((s) => s.path));
  });

  it("never writes a card number", () => {
    const text = readFileSync(logPath, "utf8");
    for (const card of ["5555555555554444", "4242424242424242", "4000056655665556", "4000000000000077"]) expect(text).not.toContain(card);
    const cards = logLines().filter((l) => (l.input as { action?: string }).action === "payment.method.add");
    expect(cards).toHaveLength(4);
    for (const l of cards) expect(l).toMatchObject({ input: { context: { card: "[redacted]" } }, redacted: ["context.card"] });
  });

  it("the real OpenTelemetry SDK's in-memory exporter received one span per decision", () => {
    const decide = spans.getFinishedSpans().filter((s) => s.name.startsWith("leash.decide "));
    expect(decide).toHaveLength(steps.length);
    const ids = new Set(logLines().filter((l) => l.kind === "decision").map((l) => l.id));
    expect(new Set(decide.map((s) => s.attributes["leash.decision.id"]))).toEqual(ids);
    expect(decide.filter((s) => s.attributes["leash.decision.effect"] === "deny").length).toBe(4);
    expect(spans.getFinishedSpans().filter((s) => s.name.startsWith("leash.observe "))).toHaveLength(6);
  });
});

describe("leash replay on the example service's log", () => {
  it("against the loosened policy reports the flips, grouped by action and rule, and exits 1", async () => {
    const { code, io } = cli(["replay", logPath, "--policy", "examples/http/loosened.rules"]);
    expect(await code).toBe(1);
    expect(io.out).toContain("18 decisions would change, in 3 groups:");
    expect(io.out).toMatch(/login\.attempt +challenge -> allow {2}x15\n {4}rules login-stuffing-by-ip -> storefront/);
    expect(io.out).toMatch(/login\.attempt +deny -> allow {2}x2\n {4}rules login-flood -> storefront/);
    expect(io.out).toMatch(/payment\.submit +challenge -> allow {2}x1\n {4}rules checkout-takeover-pattern -> shoppers/);
    expect(io.out).toContain("1 decision came out differently but cannot be verified");
  });

  it("against the same policy reports none and exits 0", async () => {
    const { code, io } = cli(["replay", logPath, "--policy", "examples/http.rules"]);
    expect(io.err).toBe("");
    expect(await code).toBe(0);
    expect(io.out).toContain("no decision would change");
  });

  it("--json has the counts, the groups and every flip", async () => {
    const { code, io } = cli(["replay", logPath, "--policy", "examples/http/loosened.rules", "--json"]);
    expect(await code).toBe(1);
    const report = JSON.parse(io.out) as { decisions: number; signals: number; flips: unknown[]; groups: { action: string; count: number }[]; unverifiable: { line: number }[] };
    expect(report.decisions).toBe(steps.length);
    expect(report.signals).toBe(6);
    expect(report.flips).toHaveLength(18);
    expect(report.groups.map((g) => [g.action, g.count])).toEqual([
      ["login.attempt", 15],
      ["login.attempt", 2],
      ["payment.submit", 1],
    ]);
    expect(report.unverifiable).toHaveLength(1);
  });
});

describe("npm run example:http", () => {
  it("runs the scenario and says how to replay its log", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/http/demo.ts", "--log", join(dir, "demo.jsonl")], { cwd: root, encoding: "utf8", timeout: 120_000 });
    expect(out).toMatch(/^shop on http:\/\/127\.0\.0\.1:\d+, guarded by examples\/http\.rules\n/);
    expect(out.split("\n").filter((l) => / 429 {2}Too Many Requests/.test(l))).toHaveLength(2);
    expect(out).toContain(`npx leash replay ${join(dir, "demo.jsonl")} --policy examples/http/loosened.rules`);
  }, 150_000);
});
