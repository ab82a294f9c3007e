import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { isoTime } from "../../src/log/line.js";
import { decisionLog, fanOut, jsonlSink, LogDropped, pinoSink, type LogEvent, type LogProblem, type LogSink } from "../../src/log/index.js";

const dir = mkdtempSync(join(tmpdir(), "leash-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sink that keeps the lines it is given. */
function memorySink(): LogSink & { lines: string[]; events: LogEvent[] } {
  const lines: string[] = [];
  const events: LogEvent[] = [];
  return { name: "memory", lines, events, write: (line, event) => void (lines.push(line), events.push(event)) };
}

const shop = compilePolicyOrThrow(`schema {
  principal { kind: "human" | "agent", id: string }
  context { ip: string, email?: string [secret], card?: string [secret] }
}
rule shoppers: allow login.attempt, payment.submit
rule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= 2 require captcha
rule per-email: deny login.attempt when context has email and count(attempted login.attempt by context.email within 1m) >= 3
  reason "too many attempts for one account"
rule fraud: revoke payment.submit when context has card and context.card like "4000*" target context.card
rule no-session-revoke: revoke signal account.locked target context.email
rule robotic: flag login.attempt when gap(attempted login.attempt by context.ip) < 300ms`, { file: "shop.rules" });

const ana = { kind: "human", id: "ana" };

describe("decisionLog: one line per event, with the schema of docs/monitoring.md", () => {
  it("decisions, signals, revocations and reinstatements each write one line", async () => {
    const sink = memorySink();
    const log = decisionLog({ sinks: [sink], labels: { service: "shop" } });
    let t = Date.UTC(2026, 11, 1);
    const guard = createGuard({ policy: shop, now: () => t, onDecision: log.record });
    await guard.decide({ principal: ana, action: "login.attempt", context: { ip: "203.0.113.9" }, session: "s1" }, { id: "req-1" });
    t += 1_000;
    await guard.observe({ signal: "login.fail", context: { ip: "203.0.113.9" } });
    await guard.revoke({ session: "s1" }, "operator");
    await guard.reinstate({ session: "s1" });
    expect(sink.lines).toHaveLength(4);
    const [decision, signal, revoke, reinstate] = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(decision).toEqual({
      kind: "decision",
      id: "req-1",
      time: "2026-12-01T00:00:00.000Z",
      policyHash: shop.hash,
      store: "memory",
      labels: { service: "shop" },
      input: { principal: ana, action: "login.attempt", context: { ip: "203.0.113.9" }, session: "s1", time: Date.UTC(2026, 11, 1) },
      effect: "allow",
      rules: ["shoppers"],
      reasons: [{ rule: "shoppers", effect: "allow", message: "rule shoppers allows login.attempt, payment.submit", at: "shop.rules:5:1" }],
      obligations: [],
      flags: [],
      errors: [],
      warnings: [],
      validUntil: null,
      nextDeadline: null,
      watch: expect.arrayContaining(["context.ip", "context.ip:203.0.113.9"]),
      latencyMs: expect.any(Number),
    });
    expect(signal).toMatchObject({ kind: "signal", time: "2026-12-01T00:00:01.000Z", policyHash: shop.hash, input: { signal: "login.fail", context: { ip: "203.0.113.9" } }, revoked: [], flags: [], errors: [] });
    expect(revoke).toMatchObject({ kind: "revoke", key: "session:s1", reason: "operator", policyHash: shop.hash });
    expect(reinstate).toMatchObject({ kind: "reinstate", key: "session:s1" });
    expect(new Set(sink.lines.map((l) => (JSON.parse(l) as { id: string }).id)).size).toBe(4);
    expect(log.stats()).toMatchObject({ events: 4, lines: 4, sinks: [{ name: "memory", written: 4, failed: 0, dropped: 0 }] });
  });

  it("the line carries challenge obligations, flags, validUntil and the deciding rules", async () => {
    const sink = memorySink();
    const guard = createGuard({ policy: shop, now: () => 0, onDecision: decisionLog({ sinks: [sink] }).record });
    for (let i = 0; i < 2; i++) await guard.observe({ signal: "login.fail", context: { ip: "198.51.100.7" } });
    await guard.decide({ principal: ana, action: "login.attempt", context: { ip: "198.51.100.7" } });
    await guard.decide({ principal: ana, action: "login.attempt", context: { ip: "198.51.100.7" } });
    const last = sink.events.at(-1)!;
    expect(last).toMatchObject({ kind: "decision", effect: "challenge", rules: ["stuffing"], flags: ["robotic"], obligations: [{ kind: "challenge", rule: "stuffing", challenge: "captcha", satisfiedBy: [] }], validUntil: 60_000 });
  });
});

describe("[secret] attributes never reach a line", () => {
  it("the input keeps the attribute's name, not its value, and says which were redacted", async () => {
    const sink = memorySink();
    const guard = createGuard({ policy: shop, now: () => 0, onDecision: decisionLog({ sinks: [sink] }).record });
    const request = { principal: ana, action: "login.attempt", context: { ip: "203.0.113.9", email: "ana@example.com" } };
    await guard.decide(request);
    expect(sink.lines[0]).not.toContain("ana@example.com");
    expect(sink.events[0]).toMatchObject({ input: { context: { ip: "203.0.113.9", email: "[redacted]" } }, redacted: ["context.email"] });
    expect(request.context.email).toBe("ana@example.com");
    expect((sink.events[0] as unknown as { watch: string[] }).watch).toContain("context.email:[redacted]");
  });

  it("keys, messages and obligations that would spell a secret are redacted too", async () => {
    const sink = memorySink();
    const guard = createGuard({ policy: shop, now: () => 0, onDecision: decisionLog({ sinks: [sink] }).record });
    const card = "4000123412341234";
    await guard.decide({ principal: ana, action: "payment.submit", context: { ip: "a", card } });
    await guard.decide({ principal: ana, action: "payment.submit", context: { ip: "a", card } });
    await guard.observe({ signal: "account.locked", context: { ip: "a", email: "ana@example.com" } });
    await guard.revoke({ attribute: "context.card", value: card }, "fraud desk");
    for (const line of sink.lines) {
      expect(line).not.toContain(card);
      expect(line).not.toContain("ana@example.com");
    }
    expect(sink.events[0]).toMatchObject({ effect: "revoke", obligations: [{ kind: "revoke", rule: "fraud", key: "context.card:[redacted]" }] });
    expect(sink.events[1]).toMatchObject({ effect: "deny", reasons: [{ code: "R307", message: expect.stringContaining("context.card:[redacted] was revoked") }] });
    expect(sink.events[2]).toMatchObject({ kind: "signal", revoked: [{ key: "context.email:[redacted]", rule: "no-session-revoke" }], redacted: ["context.email"] });
    expect(sink.events[3]).toMatchObject({ kind: "revoke", key: "context.card:[redacted]" });
  });

  it("the language reference's example: the card number decides, and the log does not keep it", async () => {
    const doc = readFileSync(join(__dirname, "..", "..", "docs", "language.md"), "utf8");
    const section = doc.slice(doc.indexOf("### Secret attributes"));
    const source = /```rules\n([\s\S]*?)```/.exec(section)![1]!;
    const policy = compilePolicyOrThrow(source);
    const sink = memorySink();
    const guard = createGuard({ policy, onDecision: decisionLog({ sinks: [sink] }).record });
    const d = await guard.decide({ principal: ana, action: "payment.submit", context: { ip: "203.0.113.9", "card-number": "4111111111111111" } });
    expect(d.effect).toBe("deny");
    expect(sink.lines[0]).not.toContain("4111111111111111");
    expect(sink.events[0]).toMatchObject({ effect: "deny", rules: ["test-cards"], input: { context: { "card-number": "[redacted]" } }, redacted: ["context.card-number"] });
  });
});

describe("writing a log never blocks or fails a decision", () => {
  const policy = compilePolicyOrThrow("rule all: allow *");
  const req = { principal: ana, action: "a.b" };

  it("a sink that throws, one that rejects and one that drops are counted and reported; the others still get every line", async () => {
    const problems: LogProblem[] = [];
    const good = memorySink();
    const throwing: LogSink = { name: "throwing", write: () => { throw new Error("disk full"); } };
    const rejecting: LogSink = { name: "rejecting", write: () => Promise.reject(new Error("connection reset")) };
    const dropping: LogSink = { name: "dropping", write: () => { throw new LogDropped("buffer full"); } };
    const log = decisionLog({ sinks: [throwing, rejecting, dropping, good], onProblem: (p) => problems.push(p) });
    const guard = createGuard({ policy, onDecision: log.record });
    const effects = [];
    for (let i = 0; i < 5; i++) effects.push((await guard.decide(req)).effect);
    await log.flush();
    expect(effects).toEqual(["allow", "allow", "allow", "allow", "allow"]);
    expect(good.lines).toHaveLength(5);
    const stats = Object.fromEntries(log.stats().sinks.map((s) => [s.name, s]));
    expect(stats.throwing).toMatchObject({ written: 0, failed: 5, dropped: 0, lastError: { code: "R335", message: "disk full" } });
    expect(stats.rejecting).toMatchObject({ written: 0, failed: 5, lastError: { code: "R335", message: "connection reset" } });
    expect(stats.dropping).toMatchObject({ written: 0, failed: 0, dropped: 5, lastError: { code: "R336" } });
    expect(stats.memory).toMatchObject({ written: 5, failed: 0 });
    // Reported once per sink within the interval, with the count at that moment.
    expect(problems.map((p) => [p.sink, p.code, p.failed + p.dropped])).toEqual([
      ["throwing", "R335", 1],
      ["dropping", "R336", 1],
      ["rejecting", "R335", 1],
    ]);
  });

  it("an onDecision that throws and an onProblem that throws change nothing", async () => {
    const log = decisionLog({ sinks: [{ name: "bad", write: () => { throw new Error("x"); } }], onProblem: () => { throw new Error("y"); } });
    const guard = createGuard({ policy, onDecision: fanOut(() => { throw new Error("z"); }, log) });
    expect((await guard.decide(req)).effect).toBe("allow");
    expect(log.stats().sinks[0]!.failed).toBe(1);
  });

  it("an input that JSON cannot hold (a cycle, a bigint) is written printable; one too long is cut down", async () => {
    const sink = memorySink();
    const log = decisionLog({ sinks: [sink], maxLineLength: 2_000 });
    const guard = createGuard({ policy, onDecision: log.record });
    const cyclic: Record<string, unknown> = { n: 10n };
    cyclic.self = cyclic;
    await guard.decide({ ...req, context: { cyclic } });
    await guard.decide({ ...req, session: "s", context: { blob: "x".repeat(10_000) } });
    expect(sink.events[0]).toMatchObject({ input: { context: { cyclic: { n: "10", self: "[cycle]" } } } });
    expect(sink.lines[1]!.length).toBeLessThan(2_000);
    expect(sink.events[1]).toMatchObject({ truncated: true, input: { principal: ana, action: "a.b", session: "s" } });
    expect(log.stats().truncated).toBe(1);
  });
});

describe("shadow mode in the log", () => {
  it("writes the decisions the candidate would flip, not those it agrees with", async () => {
    const enforced = compilePolicyOrThrow("rule all: allow *\nrule no-export: deny data.export");
    const candidate = compilePolicyOrThrow("rule all: allow *");
    const sink = memorySink();
    const log = decisionLog({ sinks: [sink] });
    const guard = createGuard({ policy: enforced, shadow: candidate, onDecision: log.record });
    await guard.decide({ principal: ana, action: "data.read" }, { id: "r1" });
    await guard.decide({ principal: ana, action: "data.export" }, { id: "r2" });
    await new Promise((r) => setTimeout(r, 0));
    expect(sink.events.map((e) => [e.kind, e.id])).toEqual([
      ["decision", "r1"],
      ["decision", "r2"],
      ["shadow", "r2"],
    ]);
    expect(sink.events[2]).toMatchObject({ flipped: true, effect: "deny", rules: ["no-export"], policyHash: candidate.hash, enforcedPolicyHash: enforced.hash, candidate: { effect: "allow", rules: ["all"] } });
  });
});

describe("decision lines written without the event object", () => {
  it("a line-only log writes the same text as the event path, for every kind of decision", async () => {
    const textOnly: string[] = [];
    const lineSink: LogSink = { name: "text", lineOnly: true, write: (line) => void textOnly.push(line) };
    const eventSink = memorySink();
    const fast = decisionLog({ sinks: [lineSink], labels: { service: "shop", "region\n": "eu \"1\"" } });
    const slow = decisionLog({ sinks: [eventSink], labels: { service: "shop", "region\n": "eu \"1\"" } });
    let t = Date.UTC(2026, 11, 1);
    const guard = createGuard({ policy: shop, now: () => t, onDecision: fanOut(fast, slow) });
    const requests: unknown[] = [
      { principal: ana, action: "login.attempt", context: { ip: "203.0.113.9" }, session: "s1" },
      { principal: ana, action: "login.attempt", context: { ip: "203.0.113.9", email: "ana@example.com" } },
      { principal: ana, action: "payment.submit", context: { ip: "203.0.113.9", card: "4000 1234" }, session: "s2" },
      { principal: { kind: "agent", id: "bot \u2028 \"x\"" }, action: "refund.issue", context: { ip: "::1", note: "line\nbreak" } },
      { principal: ana, action: "login.attempt", context: { ip: 7 } },
      { principal: ana, action: "login.attempt", context: { ip: "203.0.113.9" }, time: t + 5 },
      { principal: ana, action: "login.attempt", context: { ip: "203.0.113.9" }, time: new Date(t).toISOString() },
      { principal: ana, action: "login.attempt", context: { ip: "198.51.100.1" }, toJSON: () => ({ replaced: true }) },
      Object.assign(Object.create({ inherited: 1 }), { principal: ana, action: "login.attempt" }),
      { principal: ana, action: "login.attempt", context: { ip: "198.51.100.2", big: 10n } },
      {},
    ];
    for (let round = 0; round < 3; round++) {
      for (const r of requests) {
        await guard.decide(r as never);
        t += 100;
      }
      await guard.observe({ signal: "login.fail", context: { ip: "203.0.113.9" } });
    }
    expect(textOnly.length).toBe(requests.length * 3 + 3);
    expect(textOnly).toEqual(eventSink.lines);
    const effects = new Set(textOnly.map((l) => (JSON.parse(l) as { effect?: string }).effect));
    expect([...effects].sort()).toEqual(expect.arrayContaining(["allow", "challenge", "deny", "revoke"]));
    expect(textOnly.some((l) => l.includes('"redacted":["context.card"]'))).toBe(true);
  });
});

describe("line times", () => {
  it("isoTime gives Date's ISO text for every millisecond, across seconds, before 1970 and at the ends of the range", () => {
    const times = [0, 999, 1000, -1, -1000, -1001, 1796173435999, 1796173436000, 1796173435474.5, 253402300799999, 253402300800000, 8.64e15, -8.64e15, NaN, Infinity];
    for (let i = 0; i < 3000; i++) times.push(1796173430000 + i * 7, -3000 + i * 3);
    for (const ms of [...times, ...times.reverse()]) {
      const d = new Date(ms);
      expect(isoTime(ms)).toBe(Number.isFinite(d.getTime()) ? d.toISOString() : new Date(0).toISOString());
    }
  });
});

describe("jsonlSink", () => {
  it("appends one line per event; flush waits for the disk", async () => {
    const path = join(dir, "decisions.jsonl");
    const log = decisionLog({ sinks: [jsonlSink(path)] });
    const guard = createGuard({ policy: shop, onDecision: log.record });
    await Promise.all(Array.from({ length: 500 }, (_, i) => guard.decide({ principal: ana, action: "payment.submit", context: { ip: `10.0.0.${i % 7}` } })));
    await log.flush();
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(500);
    expect(lines.every((l) => (JSON.parse(l) as { kind: string }).kind === "decision")).toBe(true);
    expect(log.stats().sinks[0]).toMatchObject({ written: 500, failed: 0, dropped: 0 });
    await log.close();
  });

  it("lines wait for the interval or a full batch; flush and close write the rest", async () => {
    const path = join(dir, "batched.jsonl");
    const count = () => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l) => l !== "").length : 0);
    const log = decisionLog({ sinks: [jsonlSink(path, { flushIntervalMs: 60_000, maxBatch: 4_000 })] });
    const guard = createGuard({ policy: shop, onDecision: log.record });
    await guard.decide({ principal: ana, action: "payment.submit" });
    await new Promise((r) => setTimeout(r, 20));
    expect(count()).toBe(0);
    await log.flush();
    expect(count()).toBe(1);
    // 40 lines of ~600 characters fill several batches: they are written without a flush.
    for (let i = 0; i < 40; i++) await guard.decide({ principal: ana, action: "payment.submit", context: { ip: `10.0.0.${i}` } });
    for (let i = 0; i < 200 && count() < 36; i++) await new Promise((r) => setTimeout(r, 10));
    expect(count()).toBeGreaterThanOrEqual(36);
    await log.close();
    expect(count()).toBe(41);
    expect(log.stats().sinks[0]).toMatchObject({ written: 41, failed: 0, dropped: 0 });
  });

  it("writes every line byte for byte: text that is not ASCII, lines longer than a batch buffer, lines taken while a batch is being written", async () => {
    const path = join(dir, "bytes.jsonl");
    const sink = jsonlSink(path, { flushIntervalMs: 0, maxBatch: 1_000 });
    const lines: string[] = [];
    const pieces = ["plain", "café ünïcødé", "日本語のテキスト", "emoji 🛒🔑", "lone \ud800 surrogate", "x".repeat(40_000), "é".repeat(30_000), "🛒".repeat(12_000)];
    const take = (round: number, i: number, text: string) => {
      const line = JSON.stringify({ round, i, text });
      lines.push(line);
      void sink.write(line);
    };
    for (let round = 0; round < 6; round++) {
      // Even rounds fit one buffer (which is reused once written), odd ones need several.
      pieces.forEach((text, i) => take(round, i, round % 2 === 0 ? text.slice(0, 300) : text));
      // flush hands the batch to the file at once: the lines after it are taken while it is in flight.
      void sink.flush();
      pieces.forEach((text, i) => take(round, 100 + i, text.slice(0, 200)));
      await new Promise((r) => setTimeout(r, 5));
    }
    await sink.close();
    // Buffer.from is the reference encoder (a lone surrogate becomes U+FFFD in both).
    expect(readFileSync(path).equals(Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8"))).toBe(true);
  });

  it.each(["exit", "throw", "drain"])("no buffered line is lost when the process ends (%s) without a flush", (how) => {
    const path = join(dir, `exit-${how}.jsonl`);
    const child = spawnSync(process.execPath, ["--import", "tsx", "test/log/fixtures/exit-writer.ts", how, path, "25"], { cwd: join(import.meta.dirname, "../.."), encoding: "utf8", timeout: 60_000 });
    expect(child.status).toBe(how === "throw" ? 1 : 0);
    const lines = readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
    expect(lines.map((l) => (JSON.parse(l) as { input: { principal: { id: string } } }).input.principal.id)).toEqual(Array.from({ length: 25 }, (_, i) => `u${i}`));
  });

  it("a file that cannot be opened is a failing sink: counted (R335), the decisions stand", async () => {
    const problems: LogProblem[] = [];
    const log = decisionLog({ sinks: [jsonlSink(join(dir, "no", "such", "dir", "x.jsonl"))], onProblem: (p) => problems.push(p) });
    const guard = createGuard({ policy: shop, onDecision: log.record });
    for (let i = 0; i < 3; i++) expect((await guard.decide({ principal: ana, action: "payment.submit" })).effect).toBe("allow");
    await log.flush();
    for (let i = 0; i < 2; i++) await guard.decide({ principal: ana, action: "payment.submit" });
    await log.flush();
    expect(log.stats().sinks[0]).toMatchObject({ written: 0, failed: 5 });
    expect(problems[0]).toMatchObject({ code: "R335", message: expect.stringContaining("ENOENT") });
  });

  it("lines beyond maxBuffered are dropped (R336) until the disk catches up", async () => {
    const path = join(dir, "small.jsonl");
    const log = decisionLog({ sinks: [jsonlSink(path, { maxBuffered: 4_000 })], onProblem: () => {} });
    const guard = createGuard({ policy: shop, onDecision: log.record });
    await Promise.all(Array.from({ length: 100 }, () => guard.decide({ principal: ana, action: "payment.submit" })));
    await log.flush();
    const s = log.stats().sinks[0]!;
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.written + s.dropped).toBe(100);
    expect(readFileSync(path, "utf8").trimEnd().split("\n")).toHaveLength(s.written);
    await guard.decide({ principal: ana, action: "payment.submit" });
    await log.flush();
    expect(log.stats().sinks[0]!.written).toBe(s.written + 1);
    await log.close();
  });
});

describe("pinoSink", () => {
  it("logs each event through a real pino logger under `decision`, denials at warn", async () => {
    const chunks: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => void (chunks.push(String(chunk)), done()) });
    const logger = pino({ base: null }, stream);
    const log = decisionLog({ sinks: [pinoSink(logger)] });
    const policy = compilePolicyOrThrow("rule all: allow *\nrule no-export: deny data.export");
    const guard = createGuard({ policy, onDecision: log.record });
    await guard.decide({ principal: ana, action: "data.read" }, { id: "p1" });
    await guard.decide({ principal: ana, action: "data.export" }, { id: "p2" });
    const lines = chunks.join("").trimEnd().split("\n").map((l) => JSON.parse(l) as { level: number; msg: string; time: number; decision: LogEvent });
    expect(lines.map((l) => [l.level, l.msg, l.decision.id, (l.decision as { effect: string }).effect])).toEqual([
      [30, "leash.decision", "p1", "allow"],
      [40, "leash.decision", "p2", "deny"],
    ]);
    expect(typeof lines[0]!.time).toBe("number");
  });
});
