/** docs/monitoring.md runs: each `// file:` block is written out and imported, and does what the page says. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { metrics, trace, type ProxyTracerProvider } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Guard } from "../../src/guard/index.js";
import type { DecisionLog, LogProblem } from "../../src/log/index.js";
import { docFiles, docModule, inScratchDir } from "./doc-blocks.js";

const PAGE = "docs/monitoring.md";
let scratch: ReturnType<typeof inScratchDir>;
beforeAll(() => void (scratch = inScratchDir()));
afterAll(() => scratch.restore());

const lines = (file: string) => readFileSync(join(scratch.dir, file), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
const ana = { kind: "human", id: "ana" };

describe("docs/monitoring.md", () => {
  it("has the blocks this test runs", () => {
    expect([...docFiles(PAGE).keys()]).toEqual(["monitoring.ts", "failing-sink.ts", "otel-setup.ts", "shadow.ts"]);
  });

  it("monitoring.ts: one line per event in the JSONL file and in the pino log, the card redacted in both", async () => {
    const m = (await import(docModule(PAGE, "monitoring.ts"))) as { guard: Guard; log: DecisionLog };
    for (let i = 0; i < 5; i++) await m.guard.observe({ signal: "login.fail", context: { ip: "203.0.113.9" } });
    const challenged = await m.guard.decide({ principal: ana, action: "login.attempt", context: { ip: "203.0.113.9" } });
    const refused = await m.guard.decide({ principal: ana, action: "payment.method.add", context: { ip: "198.51.100.4", card: "4242424242424242" } });
    expect([challenged.effect, refused.effect]).toEqual(["challenge", "deny"]);
    await m.log.close();
    const jsonl = lines("decisions.jsonl");
    expect(jsonl.map((l) => l.kind)).toEqual(["signal", "signal", "signal", "signal", "signal", "decision", "decision"]);
    expect(jsonl[6]).toMatchObject({ labels: { service: "shop", version: "1.4.2" }, effect: "deny", rules: ["test-cards"], input: { context: { card: "[redacted]" } }, redacted: ["context.card"] });
    const pinoLines = lines("app.log");
    expect(pinoLines).toHaveLength(7);
    expect(pinoLines[6]).toMatchObject({ level: 40, msg: "leash.decision", decision: { id: jsonl[6]!.id, effect: "deny" } });
    for (const f of ["decisions.jsonl", "app.log"]) expect(readFileSync(join(scratch.dir, f), "utf8")).not.toContain("4242424242424242");
    expect(m.log.stats().sinks.map((s) => [s.name, s.written, s.failed])).toEqual([
      ["jsonl(decisions.jsonl)", 7, 0],
      ["pino", 7, 0],
    ]);
  });

  it("failing-sink.ts: the decision stands, the failure is counted (R335) and reported", async () => {
    const m = (await import(docModule(PAGE, "failing-sink.ts"))) as { effect: string; stats: ReturnType<DecisionLog["stats"]>; problems: LogProblem[] };
    expect(m.effect).toBe("allow");
    expect(m.stats.sinks[0]).toMatchObject({ name: "full-disk", written: 0, failed: 1, dropped: 0, lastError: { code: "R335", message: "ENOSPC: no space left on device" } });
    expect(m.problems).toMatchObject([{ code: "R335", sink: "full-disk", failed: 1 }]);
  });

  it("shadow.ts: the candidate's flip is in the log, the enforced decision is what the caller got", async () => {
    const m = (await import(docModule(PAGE, "shadow.ts"))) as { guard: Guard; log: DecisionLog };
    for (let i = 0; i < 3; i++) await m.guard.observe({ signal: "login.fail", context: { ip: "203.0.113.9" } });
    const d = await m.guard.decide({ principal: ana, action: "login.attempt", context: { ip: "203.0.113.9" } });
    expect(d.effect).toBe("allow");
    await vi.waitFor(() => expect(m.log.stats().lines).toBe(5));
    await m.log.close();
    const shadow = lines("shadow.jsonl").filter((l) => l.kind === "shadow");
    expect(shadow).toMatchObject([{ flipped: true, effect: "allow", candidate: { effect: "challenge", rules: ["stuffing"] } }]);
  });

  it("otel-setup.ts: registers providers; telemetry() then records through them", async () => {
    const print = vi.spyOn(console, "dir").mockImplementation(() => undefined);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      expect(trace.getTracer("leash").startSpan("before").isRecording()).toBe(false);
      await import(docModule(PAGE, "otel-setup.ts"));
      expect(trace.getTracer("leash").startSpan("after").isRecording()).toBe(true);
      const provider = (trace.getTracerProvider() as ProxyTracerProvider).getDelegate() as unknown as { shutdown(): Promise<void> };
      await provider.shutdown();
      await (metrics.getMeterProvider() as unknown as { shutdown(): Promise<void> }).shutdown();
    } finally {
      print.mockRestore();
      log.mockRestore();
      trace.disable();
      metrics.disable();
    }
  });
});
