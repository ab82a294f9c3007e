import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../src/cli/commands/explain.js";
import { explainRequest, type Explanation } from "../src/explain/explain.js";
import type { CliIO } from "../src/cli/io.js";
import { UsageError } from "../src/cli/io.js";
import { compilePolicy } from "../src/compile/compile.js";
import { parseJsonLines, replayTrace } from "../src/runtime/trace.js";

const root = join(__dirname, "..");
const examples = join(root, "examples");

function memoryIO(files: Record<string, string> = {}): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => (p in files ? files[p]! : readFileSync(p, "utf8")),
    writeFile: (p: string, t: string) => void (files[p] = t),
    cwd: root,
    color: false,
    quiet: true,
  };
  return io;
}

/** Lines 1..n-1 of an example trace as the state, line n as the event. */
function split(name: string, n: number): Record<string, string> {
  const lines = readFileSync(join(examples, `${name}.jsonl`), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("//"));
  return { "/state.jsonl": lines.slice(0, n - 1).join("\n"), "/event.json": lines[n - 1]! };
}

async function explain(name: string, n: number, json = true): Promise<{ code: number; out: string; x: Explanation | null }> {
  const io = memoryIO(split(name, n));
  const code = await run([join(examples, `${name}.rules`), "/event.json", "--state", "/state.jsonl", ...(json ? ["--json"] : [])], io);
  return { code, out: io.out, x: json && code === 0 ? (JSON.parse(io.out) as Explanation) : null };
}

const rule = (x: Explanation, id: string) => x.candidates.find((r) => r.rule === id)!;

describe("leash explain", () => {
  it("shows the deciding rule, a [high] exclusion and the rules that are not candidates", async () => {
    const { code, out } = await explain("ticket-agent", 3, false);
    expect(code).toBe(0);
    expect(out).toContain("decision  deny by agents-never-decide");
    expect(out).toMatch(/humans-read .* excluded/);
    expect(out).toContain("ticket.approve is [high]: humans-read reaches it only through ticket.*");
    expect(out).toContain("not candidates: agents-draft-only");
    expect(out).toContain('principal.kind = "agent"');
    expect(out).not.toMatch(/\x1b\[/);
  });

  it("gives each clause's value, the count it read and the key's value", async () => {
    const { x } = await explain("credential-stuffing", 11);
    expect(x!.decision.effect).toBe("challenge");
    const stuffing = rule(x!, "credential-stuffing");
    expect(stuffing.status).toBe("matched");
    expect(stuffing.deciding).toBe(true);
    expect(stuffing.clauses[0]).toMatchObject({ kind: "when", value: true, holds: true, count: { value: 5, atLeast: false }, reads: [{ path: "context.ip", value: "203.0.113.66" }] });
    expect(rule(x!, "block-address").clauses[0]).toMatchObject({ value: false, count: { value: 5 } });
    expect(rule(x!, "robotic-timing").clauses[0]).toMatchObject({ value: true, elapsedMs: 200 });
    expect(x!.why.join("\n")).toContain("challenge outranks allow");
    expect(x!.why.join("\n")).toContain("ask for captcha");
  });

  it("explains an unless clause: it holds when its expression is false", async () => {
    const io = memoryIO({ "/event.json": JSON.stringify({ principal: { kind: "human", id: "carol" }, action: "release.push", resource: { path: "repo/app" }, session: "s1", time: 0 }) });
    expect(await run([join(examples, "release-approval.rules"), "/event.json", "--json"], io)).toBe(0);
    const x = JSON.parse(io.out) as Explanation;
    expect(rule(x, "release-approval").clauses[0]).toMatchObject({ kind: "unless", value: false, holds: true });
    expect(x.why.join("\n")).toContain("satisfied by signal approval.granted");
  });

  it("explains a used-up limit and the default deny", async () => {
    const { x } = await explain("one-secret", 2);
    expect(x!.decision.effect).toBe("deny");
    expect(rule(x!, "one-secret").status).toBe("scope used up");
    expect(x!.why.at(-2)).toContain("default is deny (R313)");
  });

  it("explains a revoked session and still shows how the rules evaluate", async () => {
    const { x } = await explain("revocation", 6);
    expect(x!.decision.reasons[0]!.code).toBe("R307");
    expect(x!.why[1]).toContain("no rule was considered");
    expect(rule(x!, "agents-work").status).toBe("matched");
    expect(x!.candidates.every((r) => !r.deciding)).toBe(true);
  });

  it("a rule that cannot be evaluated is shown as an error, counted as the engine counts it", async () => {
    const files = {
      "/p.rules": "rule agents: allow doc.read for agent *\nrule risky: deny doc.read when context.risk > 0.5\n",
      "/event.json": JSON.stringify({ principal: { kind: "agent", id: "a" }, action: "doc.read", time: 0 }),
    };
    const io = memoryIO(files);
    expect(await run(["/p.rules", "/event.json", "--json"], io)).toBe(0);
    const x = JSON.parse(io.out) as Explanation;
    expect(rule(x, "risky")).toMatchObject({ status: "error", deciding: true, clauses: [{ value: { error: "R301" } }] });
    expect(x.decision.rules).toEqual(["risky"]);
  });

  it("usage: two files, known options, readable files", async () => {
    await expect(run([join(examples, "ticket-agent.rules")], memoryIO())).rejects.toBeInstanceOf(UsageError);
    await expect(run([join(examples, "ticket-agent.rules"), "/nope.json"], memoryIO())).rejects.toThrow(/no such file/);
    await expect(run([join(examples, "ticket-agent.rules"), "/e.json", "--verbose"], memoryIO({ "/e.json": "{}" }))).rejects.toThrow(/unknown option --verbose/);
    const io = memoryIO({ "/e.json": "not json" });
    expect(await run([join(examples, "ticket-agent.rules"), "/e.json"], io)).toBe(1);
    expect(io.err.trim().split("\n")).toHaveLength(1);
  });

  it("--help lists every option", async () => {
    const io = memoryIO();
    expect(await run(["--help"], io)).toBe(0);
    for (const flag of ["--state", "--json", "--help"]) expect(io.out).toContain(flag);
  });
});

describe("explain agrees with the engine on every request of every example trace", () => {
  const names = ["agent-grant", "api-chaining", "checkout-agent", "credential-stuffing", "customer-workflow", "deploy-bot", "exfiltration", "mcp-tools", "one-secret", "release-approval", "revocation", "ticket-agent"];
  for (const name of names) {
    it(name, () => {
      const source = readFileSync(join(examples, `${name}.rules`), "utf8");
      const compiled = compilePolicy(source, { file: `${name}.rules` });
      const policy = compiled.policy!;
      const { events } = parseJsonLines(readFileSync(join(examples, `${name}.jsonl`), "utf8"));
      events.forEach((event, i) => {
        if (typeof event.action !== "string") return;
        const { state } = replayTrace(policy, events.slice(0, i));
        const { expect: _e, ...request } = event;
        const x = explainRequest(policy, compiled.ast, source, state, request);
        if (x.decision.reasons.some((r) => r.code === "R307")) return;
        const rank = { allow: 1, challenge: 2, deny: 3, revoke: 4 } as Record<string, number>;
        const counted = x.candidates.filter((r) => r.effect !== "flag" && (r.status === "matched" || (r.status === "error" && r.effect !== "allow")));
        const top = Math.max(0, ...counted.map((r) => rank[r.effect]!));
        const winners = counted.filter((r) => rank[r.effect] === top).map((r) => r.rule).sort();
        const anyAllow = counted.some((r) => r.effect === "allow");
        const expected = top === 2 && !anyAllow ? [] : winners;
        expect(`${i + 1}: ${[...x.decision.rules].sort().join(",")}`).toBe(`${i + 1}: ${expected.join(",")}`);
        const flags = x.candidates.filter((r) => r.effect === "flag" && r.status !== "not matched").map((r) => r.rule).sort();
        expect(`${i + 1}: ${flags.join(",")}`).toBe(`${i + 1}: ${[...x.decision.flags].sort().join(",")}`);
      });
    });
  }
});
