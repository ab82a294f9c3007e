import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

const root = join(__dirname, "..", "..");

function memoryIO(files: Record<string, string> = {}): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => (p in files ? files[p]! : readFileSync(p, "utf8")),
    writeFile: () => {},
    cwd: root,
    color: false,
    quiet: true,
  };
  return io;
}

describe("leash check runs the checker and the lints", () => {
  it("prints a lint as a warning with its position, and exits 0", async () => {
    const io = memoryIO();
    expect(await main(["check", "test/fixtures/lints/W401/bad.rules"], io)).toBe(0);
    expect(io.err).toContain("test/fixtures/lints/W401/bad.rules:7:6: warning[W401]");
    expect(io.err).toContain("0 errors, 1 warning");
  });
  it("--deny-warnings makes a warning fail", async () => {
    const io = memoryIO();
    expect(await main(["check", "--deny-warnings", "test/fixtures/lints/W401/bad.rules"], io)).toBe(1);
    expect(await main(["check", "--deny-warnings", "test/fixtures/lints/W401/good.rules"], memoryIO())).toBe(0);
  });
  it("--json prints each warning as a JSON line", async () => {
    const io = memoryIO();
    expect(await main(["check", "--json", "test/fixtures/lints/W408/bad.rules"], io)).toBe(0);
    const lines = io.out.trim().split("\n").map((l) => JSON.parse(l) as { code: string; severity: string; span: { line: number } });
    expect(lines.map((d) => `${d.code} ${d.severity} ${d.span.line}`)).toEqual(["W408 warning 6", "W408 warning 8", "W408 warning 10"]);
  });
  it("reports check errors (C2xx) and does not lint a file that has them", async () => {
    const io = memoryIO({ "/p.rules": 'schema { context { risk: number } }\nrule r: deny x.y when context.rsk > 0.5\nrule s: deny * \nrule t: allow x.y' });
    expect(await main(["check", "/p.rules"], io)).toBe(1);
    expect(io.err).toContain("error[C201]");
    expect(io.err).not.toContain("W401");
  });
  it("every example passes --deny-warnings; a W409 kept on purpose is marked with an allow comment", async () => {
    const io = memoryIO();
    expect(await main(["check", "--deny-warnings", "examples"], io)).toBe(0);
    expect(io.err).toBe("");
    const source = [
      "actions {",
      "  mcp.read",
      "  // leash: allow W409 -- on purpose: only the wildcard of ops-bot reaches mcp.delete, which stays denied",
      "  mcp.delete [high]",
      "}",
      'rule ops: allow mcp.* for agent "ops-bot"',
      "",
    ].join("\n");
    const kept = memoryIO({ "/mcp.rules": source });
    expect(await main(["check", "--deny-warnings", "/mcp.rules"], kept)).toBe(0);
    const without = memoryIO({ "/mcp.rules": source.replace(/^.*leash: allow W409.*\n/m, "") });
    expect(await main(["check", "--deny-warnings", "/mcp.rules"], without)).toBe(1);
    expect(without.err).toContain("warning[W409]");
  });
});
