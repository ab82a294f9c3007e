import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import type { CliIO } from "../src/cli/io.js";

const dir = join(__dirname, "..", "examples");
// NAME.rules, or NAME/ with a leash.policy.json (a policy of several files); each with NAME.jsonl.
const scenarios = readdirSync(dir)
  .filter((f) => f.endsWith(".rules") || existsSync(join(dir, f, "leash.policy.json")))
  .map((f) => f.replace(/\.rules$/, ""))
  .sort();
const policyOf = (s: string) => (existsSync(join(dir, `${s}.rules`)) ? join(dir, `${s}.rules`) : join(dir, s));

export function memoryIO(files: Record<string, string> = {}): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => (p in files ? files[p]! : readFileSync(p, "utf8")),
    writeFile: (p: string, t: string) => void (files[p] = t),
    cwd: join(__dirname, ".."),
    color: false,
    quiet: true,
  };
  return io;
}

describe("examples: every scenario's trace meets its expectations (leash eval --check)", () => {
  it("has the scenarios DESIGN.md lists", () => {
    for (const s of ["team", "ticket-agent", "one-secret", "deploy-bot", "mcp-tools", "checkout-agent", "customer-workflow", "credential-stuffing", "api-chaining", "exfiltration", "revocation", "agent-grant", "release-approval"]) {
      expect(scenarios).toContain(s);
    }
  });
  for (const s of scenarios) {
    it(s, async () => {
      const io = memoryIO();
      const code = await main(["eval", policyOf(s), join(dir, `${s}.jsonl`), "--check"], io);
      expect(io.err).toMatch(/expectations met/);
      expect(io.err).not.toMatch(/failed/);
      expect(code).toBe(0);
    });
  }
  it("a trace with a wrong expectation fails with the line number", async () => {
    const io = memoryIO({ "/x.jsonl": '{"principal":{"kind":"agent","id":"a"},"action":"ticket.read","time":0,"expect":"deny"}\n' });
    const code = await main(["eval", join(dir, "ticket-agent.rules"), "/x.jsonl", "--check"], io);
    expect(code).toBe(1);
    expect(io.err).toContain("/x.jsonl:1: effect: expected deny, got allow");
  });
  it("--json prints validUntil, watch and nextDeadline for each decision", async () => {
    const io = memoryIO();
    await main(["eval", join(dir, "release-approval.rules"), join(dir, "release-approval.jsonl"), "--json"], io);
    const lines = io.out.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; decision?: Record<string, unknown> });
    const third = lines[2]!.decision!;
    expect(third).toMatchObject({ effect: "allow", validUntil: 3660000, nextDeadline: 3660000 });
    expect(third.watch).toContain("session:s1");
  });
});

describe("examples are formatted by leash fmt and pass leash check --deny-warnings", () => {
  it("leash fmt --check examples", async () => {
    const io = memoryIO();
    const code = await main(["fmt", "--check", "examples", "examples/team"], io);
    expect(io.out, "these examples are not formatted (run leash fmt examples)").toBe("");
    expect(code).toBe(0);
  });
  it("leash check --deny-warnings examples examples/team (a warning kept on purpose has an allow comment)", async () => {
    const io = memoryIO();
    const code = await main(["check", "--deny-warnings", "examples", "examples/team"], io);
    expect(io.err).toBe("");
    expect(code).toBe(0);
  });
});
