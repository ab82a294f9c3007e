import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { decisionLog, pinoSink, type LogSink } from "../../src/log/index.js";
import { keySpecOf, replayLog } from "../../src/log/replay.js";

const before = compilePolicyOrThrow(`schema { context { card?: string [secret] } }
rule all: allow *
rule no-export: deny data.export
rule limit: deny data.read when count(attempted data.read by session within 1m) >= 2
rule cards: deny card.add when context has card and context.card like "4242*"
rule idp: revoke signal session.revoked`);
const after = compilePolicyOrThrow(`schema { context { card?: string [secret] } }
rule all: allow *
rule limit: deny data.read when count(attempted data.read by session within 1m) >= 3
rule cards: deny card.add when context has card and context.card like "4242*"
rule idp: revoke signal session.revoked`);

/** A log of the given steps, as text, written by the Guard with `before`. */
async function logOf(steps: (g: ReturnType<typeof createGuard>) => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const sink: LogSink = { name: "memory", write: (l) => void lines.push(l) };
  const guard = createGuard({ policy: before, now: () => 1_000, onDecision: decisionLog({ sinks: [sink] }).record });
  await steps(guard);
  return lines.join("\n") + "\n";
}

const ana = { kind: "human", id: "ana" };

describe("replayLog", () => {
  it("rebuilds the state from decisions, signals and revocations and compares each effect", async () => {
    const text = await logOf(async (g) => {
      await g.decide({ principal: ana, action: "data.export", session: "s" });
      for (let i = 0; i < 3; i++) await g.decide({ principal: ana, action: "data.read", session: "s" });
      await g.observe({ signal: "session.revoked", session: "t" });
      await g.decide({ principal: ana, action: "data.read", session: "t" });
      await g.revoke({ session: "u" }, "operator");
      await g.decide({ principal: ana, action: "data.read", session: "u" });
      await g.reinstate({ session: "u" });
      await g.decide({ principal: ana, action: "data.read", session: "u" });
    });
    const same = replayLog(before, text, "x.jsonl");
    expect(same).toMatchObject({ events: 10, decisions: 7, signals: 1, keyOperations: 2, flips: [], problems: [] });
    const r = replayLog(after, text, "x.jsonl");
    expect(r.flips.map((f) => [f.line, f.action, f.before.effect, f.after.effect])).toEqual([
      [1, "data.export", "deny", "allow"],
      [4, "data.read", "deny", "allow"],
    ]);
    expect(r.groups.map((g) => [g.action, g.from, g.to, g.rulesBefore, g.rulesAfter, g.count])).toEqual([
      ["data.export", "deny", "allow", ["no-export"], ["all"], 1],
      ["data.read", "deny", "allow", ["limit"], ["all"], 1],
    ]);
    expect(r.policies).toEqual({ [before.hash]: 7 });
  });

  it("a flip that depends on a redacted [secret] value is not verifiable, not a flip (R338)", async () => {
    const text = await logOf(async (g) => void (await g.decide({ principal: ana, action: "card.add", session: "s", context: { card: "4242424242424242" } })));
    expect(text).not.toContain("4242424242424242");
    const r = replayLog(before, text);
    expect(r).toMatchObject({ redacted: 1, flips: [], unverifiable: [{ line: 1, before: { effect: "deny" }, after: { effect: "allow" } }] });
  });

  it("reads pino lines, skips shadow lines, reports lines that are not log events (R339)", async () => {
    const chunks: string[] = [];
    const logger = { info: (o: object, msg?: string) => void chunks.push(JSON.stringify({ level: 30, time: 1, msg, ...o })), warn: (o: object, msg?: string) => void chunks.push(JSON.stringify({ level: 40, time: 1, msg, ...o })) };
    const guard = createGuard({ policy: before, shadow: after, onDecision: decisionLog({ sinks: [pinoSink(logger)] }).record });
    await guard.decide({ principal: ana, action: "data.export" });
    await new Promise((r) => setTimeout(r, 0));
    const text = [...chunks, "not json", '{"kind":"decision"}', '{"hello":1}', '{"kind":"revoke","key":"nonsense"}', '{"kind":"revoke","key":"context.card:[redacted]"}', ""].join("\n");
    const r = replayLog(before, text, "app.log");
    expect(r).toMatchObject({ decisions: 1, shadow: 1, flips: [] });
    expect(r.problems).toEqual([
      expect.stringMatching(/^app\.log:3: R339 invalid JSON/),
      "app.log:4: R339 a decision line has an input and an effect",
      "app.log:5: R339 not a decision log line: it has no `kind`",
      'app.log:6: R339 a revoke line has a key such as "session:s1"',
      "app.log:7: R338 the revoke of a [secret] key cannot be replayed: its value is not in the log",
    ]);
  });

  it("keySpecOf reads the keys a log writes", () => {
    expect(keySpecOf("session:s-1")).toEqual({ session: "s-1" });
    expect(keySpecOf("principal:agent/bot/2")).toEqual({ principal: { kind: "agent", id: "bot/2" } });
    expect(keySpecOf("context.ip:10.0.0.1")).toEqual({ attribute: "context.ip", value: "10.0.0.1" });
    expect(keySpecOf("session:")).toBeNull();
    expect(keySpecOf("nonsense")).toBeNull();
  });
});
