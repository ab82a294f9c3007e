import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CliIO } from "../src/cli/io.js";
import { HELP, main } from "../src/cli/main.js";

const root = join(__dirname, "..");

function memoryIO(): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => readFileSync(p, "utf8"),
    writeFile: () => {
      throw new Error("no command may write a file in these tests");
    },
    cwd: root,
    color: false,
    quiet: true,
  };
  return io;
}

/** The registered commands, as `leash --help` lists them. */
const commands = HELP.slice(HELP.indexOf("Commands:"))
  .split("\n")
  .slice(1)
  .map((l) => /^ {2}(\S+) /.exec(l)?.[1])
  .filter((c): c is string => c !== undefined);

/**
 * The options a command accepts, read from its source: the `flags` and `values` of its parseArgs
 * spec, and any `"--name"` it compares arguments with (commands that parse by hand).
 */
function acceptedOptions(command: string): string[] {
  const source = readFileSync(join(root, "src", "cli", "commands", `${command}.ts`), "utf8");
  const out = new Set<string>();
  for (const m of source.matchAll(/\b(?:flags|values):\s*\[([^\]]*)\]/g)) for (const s of m[1]!.matchAll(/"([a-z][a-z-]*)"/g)) out.add(`--${s[1]}`);
  for (const m of source.matchAll(/===\s*"(--[a-z][a-z-]*)"/g)) out.add(m[1]!);
  out.add("--help");
  return [...out].sort();
}

/** Arguments naming files that do not exist, as many as the command takes. */
const MISSING: Readonly<Record<string, readonly string[]>> = {
  eval: ["/no/such/policy.rules", "/no/such/trace.jsonl"],
  explain: ["/no/such/policy.rules", "/no/such/event.json"],
  diff: ["/no/such/old.rules", "/no/such/new.rules"],
  demo: ["/no/such/examples-dir"],
  "mcp-proxy": ["--policy", "/no/such/policy.rules", "--", "node", "server.js"],
  replay: ["/no/such/log.jsonl", "--policy", "/no/such/new.rules"],
};

/** Commands that read no files of their own (the language server gets its documents from the client). */
const TAKES_NO_FILES: ReadonlySet<string> = new Set(["lsp"]);

const cliDoc = readFileSync(join(root, "docs", "cli.md"), "utf8");

/** The section of docs/cli.md about one command. */
function docSection(command: string): string {
  const start = cliDoc.indexOf(`## leash ${command}`);
  if (start < 0) return "";
  const next = cliDoc.indexOf("\n## ", start + 1);
  return cliDoc.slice(start, next < 0 ? undefined : next);
}

describe("leash --help", () => {
  it("lists the commands and the exit codes", async () => {
    const io = memoryIO();
    expect(await main(["--help"], io)).toBe(0);
    expect(commands.length).toBeGreaterThanOrEqual(7);
    for (const c of ["check", "fmt", "eval", "explain", "test", "diff", "demo"]) expect(commands).toContain(c);
    for (const c of commands) expect(io.out).toContain(c);
    expect(io.out).toMatch(/0 success, 1 .*2 usage/s);
  });
  it("with no command prints the help and exits 2", async () => {
    const io = memoryIO();
    expect(await main([], io)).toBe(2);
    expect(io.out).toContain("Commands:");
  });
  it("an unknown command is one line on stderr and exit 2", async () => {
    const io = memoryIO();
    expect(await main(["frobnicate"], io)).toBe(2);
    expect(io.err.trim().split("\n")).toHaveLength(1);
  });
});

describe.each(commands)("leash %s", (command) => {
  it("has a source file", () => expect(existsSync(join(root, "src", "cli", "commands", `${command}.ts`))).toBe(true));

  it("--help mentions every option it accepts, and exits 0", async () => {
    const io = memoryIO();
    expect(await main([command, "--help"], io)).toBe(0);
    const options = acceptedOptions(command);
    expect(options.length).toBeGreaterThan(0);
    for (const o of options) expect(io.out, `leash ${command} --help should mention ${o}`).toContain(o);
  });

  it("every option in --help is accepted (none is unknown)", async () => {
    const io = memoryIO();
    await main([command, "--help"], io);
    const mentioned = new Set([...io.out.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]));
    expect([...mentioned].filter((o) => !acceptedOptions(command).includes(o))).toEqual([]);
  });

  it("docs/cli.md documents the command and every option it accepts", () => {
    const section = docSection(command);
    expect(section, `docs/cli.md has no "## leash ${command}" section`).not.toBe("");
    for (const o of acceptedOptions(command)) expect(section, `docs/cli.md should mention ${o} under leash ${command}`).toContain(o);
  });

  it("an unknown option is one line on stderr and exit 2", async () => {
    const io = memoryIO();
    expect(await main([command, "--no-such-option", ...(MISSING[command] ?? ["/no/such/file.rules"])], io)).toBe(2);
    expect(io.err.trim().split("\n")).toHaveLength(1);
    expect(io.err).toContain("--no-such-option");
    expect(io.err.startsWith(`leash ${command}: `), io.err).toBe(true);
    expect(io.out).toBe("");
  });

  it(TAKES_NO_FILES.has(command) ? "a file argument is one line on stderr and exit 2" : "a missing file is one line on stderr and exit 2", async () => {
    const io = memoryIO();
    expect(await main([command, ...(MISSING[command] ?? ["/no/such/file.rules"])], io)).toBe(2);
    expect(io.err.trim().split("\n")).toHaveLength(1);
    expect(io.err).toMatch(TAKES_NO_FILES.has(command) ? /takes no files/ : /no such (file|directory)/);
    expect(io.err.startsWith(`leash ${command}: `), io.err).toBe(true);
  });
});
