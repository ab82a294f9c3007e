import { describe, expect, it } from "vitest";
import { run } from "../src/cli/commands/check.js";
import type { CliIO } from "../src/cli/io.js";
import { THREE_ERRORS } from "./syntax/fixtures.js";

/** A CliIO over in-memory files that records what the command prints. */
function fakeIO(files: Record<string, string>) {
  const out = { stdout: "", stderr: "" };
  const io: CliIO = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    readFile: (path) => {
      const name = path.replace(/^\/work\//, "");
      if (!(name in files)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return files[name]!;
    },
    writeFile: () => {
      throw new Error("check never writes");
    },
    cwd: "/work",
    color: false,
    quiet: true,
  };
  return { io, out };
}

describe("leash check", () => {
  it("exits 0 and prints nothing for valid files", async () => {
    const { io, out } = fakeIO({ "ok.rules": "rule r: allow x.y for agent *\n", "empty.rules": "" });
    expect(await run(["ok.rules", "empty.rules"], io)).toBe(0);
    expect(out).toEqual({ stdout: "", stderr: "" });
  });

  it("exits 1 and prints every error as file:line:col with a caret frame", async () => {
    const { io, out } = fakeIO({ "bad.rules": THREE_ERRORS });
    expect(await run(["bad.rules"], io)).toBe(1);
    expect(out.stdout).toBe("");
    const lines = out.stderr.split("\n");
    expect(lines.filter((l) => l.startsWith("bad.rules:"))).toEqual([
      'bad.rules:2:12: error[P105]: expected an effect (allow, challenge, deny, revoke, flag), found "alow"',
      'bad.rules:3:6: error[P102]: missing rule name: expected a rule name, found ":"',
      'bad.rules:4:38: error[P107]: expected a key (session, principal, an attribute path such as context.ip, or several in parentheses), found "ip"',
    ]);
    expect(out.stderr).toContain(["2 | rule typo: alow ticket.draft", "  |            ^^^^"].join("\n"));
    expect(out.stderr).toContain(["3 | rule : deny secret.rotate", "  |      ^"].join("\n"));
    expect(out.stderr).toContain(["4 | rule bad-key: deny x when count(x by ip within 1m) > 3", "  |                                      ^^"].join("\n"));
    expect(lines.filter((l) => l.includes("= help:"))).toHaveLength(3);
    expect(out.stderr.trimEnd().split("\n").pop()).toBe("3 errors, 0 warnings in 1 of 1 file");
  });

  it("--json prints one diagnostic per line on stdout", async () => {
    const { io, out } = fakeIO({ "bad.rules": THREE_ERRORS, "ok.rules": "rule r: allow x" });
    expect(await run(["--json", "ok.rules", "bad.rules"], io)).toBe(1);
    expect(out.stderr).toBe("");
    const ds = out.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(ds.map((d) => `${d.span.file}:${d.span.line}:${d.span.column} ${d.code} ${d.severity}`)).toEqual([
      "bad.rules:2:12 P105 error",
      "bad.rules:3:6 P102 error",
      "bad.rules:4:38 P107 error",
    ]);
    expect(ds[0].span).toMatchObject({ offset: 52, endOffset: 56, endLine: 2, endColumn: 16 });
  });

  it("reports the files in the order given", async () => {
    const { io, out } = fakeIO({ "a.rules": "rule : allow x", "b.rules": "rule r: alow x" });
    expect(await run(["b.rules", "a.rules"], io)).toBe(1);
    expect(out.stderr.split("\n").filter((l) => /^\w\.rules:/.test(l)).map((l) => l.split(" ")[0])).toEqual(["b.rules:1:9:", "a.rules:1:6:"]);
  });

  it("usage errors exit 2 with one line: missing file, unknown option, no files", async () => {
    for (const [argv, message] of [
      [["ok.rules", "nope.rules"], "leash check: no such file: nope.rules\n"],
      [["--strict", "ok.rules"], "leash check: unknown option --strict (see leash check --help)\n"],
      [[], "leash check: no files given (usage: leash check [--json] FILE|DIR|-...)\n"],
    ] as const) {
      const { io, out } = fakeIO({ "ok.rules": "rule r: allow x" });
      expect(await run([...argv], io)).toBe(2);
      expect(out).toEqual({ stdout: "", stderr: message });
    }
  });

  it("--help prints the usage and exits 0", async () => {
    const { io, out } = fakeIO({});
    expect(await run(["--help"], io)).toBe(0);
    expect(out.stdout).toMatch(/^Usage: leash check \[--json\] \[--deny-warnings\] \[--recursive\] FILE\|DIR\|-\.\.\./);
  });

  it("a file named like an option after --", async () => {
    const { io } = fakeIO({ "--json": "rule r: allow x" });
    expect(await run(["--", "--json"], io)).toBe(0);
  });
});
