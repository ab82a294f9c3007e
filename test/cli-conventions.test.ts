import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { intOption, RANGES } from "../src/cli/args.js";
import { findRulesFiles } from "../src/cli/files.js";
import { streamColor, type CliIO } from "../src/cli/io.js";
import { main } from "../src/cli/main.js";
import { jsonText } from "../src/cli/style.js";

const root = join(__dirname, "..");

function memoryIO(options: { files?: Record<string, string>; stdin?: string; color?: boolean; stderrColor?: boolean; cwd?: string } = {}) {
  const files = options.files ?? {};
  const io = {
    out: "",
    err: "",
    written: {} as Record<string, string>,
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => {
      if (p in files) return files[p]!;
      return readFileSync(p, "utf8");
    },
    writeFile: (p: string, t: string) => void (io.written[p] = t),
    ...(options.stdin !== undefined ? { readStdin: () => options.stdin! } : {}),
    cwd: options.cwd ?? root,
    color: options.color ?? false,
    stderrColor: options.stderrColor ?? false,
    quiet: true,
  } satisfies CliIO & Record<string, unknown>;
  return io;
}

describe("leash --version", () => {
  it("prints the version in package.json", async () => {
    const io = memoryIO();
    expect(await main(["--version"], io)).toBe(0);
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    expect(io.out).toBe(`leash ${version}\n`);
  });
});

describe("colours", () => {
  it("are decided per stream: FORCE_COLOR, then NO_COLOR and TERM=dumb, then whether the stream is a terminal", () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(streamColor(tty, {})).toBe(true);
    expect(streamColor(pipe, {})).toBe(false);
    expect(streamColor({}, {})).toBe(false);
    expect(streamColor(tty, { NO_COLOR: "1" })).toBe(false);
    expect(streamColor(tty, { NO_COLOR: "" })).toBe(true);
    expect(streamColor(tty, { TERM: "dumb" })).toBe(false);
    for (const on of ["1", "2", "3", "true", ""]) expect(streamColor(pipe, { FORCE_COLOR: on, NO_COLOR: "1" }), `FORCE_COLOR=${on}`).toBe(true);
    for (const off of ["0", "false", "FALSE"]) expect(streamColor(tty, { FORCE_COLOR: off }), `FORCE_COLOR=${off}`).toBe(false);
  });

  it("diagnostics on stderr follow stderr's setting, decisions on stdout follow stdout's", async () => {
    const policy = "rule r: allow x.y for agent *\nrule s: alow x.y\n";
    const errOnly = memoryIO({ files: { "/p.rules": policy }, color: false, stderrColor: true });
    expect(await main(["check", "/p.rules"], errOnly)).toBe(1);
    expect(errOnly.err).toContain("\x1b[31;1merror[P105]\x1b[0m");
    const outOnly = memoryIO({ files: { "/p.rules": policy }, color: true, stderrColor: false });
    expect(await main(["check", "/p.rules"], outOnly)).toBe(1);
    expect(outOnly.err).not.toContain("\x1b[");

    const trace = '{"principal":{"kind":"agent","id":"a"},"action":"x.y","time":0}\n';
    const evalOut = memoryIO({ files: { "/p.rules": "rule r: allow x.y for agent *\n", "/t.jsonl": trace }, color: true, stderrColor: false });
    expect(await main(["eval", "/p.rules", "/t.jsonl"], evalOut)).toBe(0);
    expect(evalOut.out).toContain("\x1b[32mallow");
    const evalPlain = memoryIO({ files: { "/p.rules": "rule r: allow x.y for agent *\n", "/t.jsonl": trace }, color: false, stderrColor: true });
    await main(["eval", "/p.rules", "/t.jsonl"], evalPlain);
    expect(evalPlain.out).not.toContain("\x1b[");
  });
});

describe("standard input", () => {
  it("check -, fmt - and eval with - read it", async () => {
    const check = memoryIO({ stdin: "rule r: allow x.y for agent *\n" });
    expect(await main(["check", "-"], check)).toBe(0);
    const fmt = memoryIO({ stdin: "rule r: allow x.y\n   for agent *" });
    expect(await main(["fmt", "-"], fmt)).toBe(0);
    expect(fmt.out).toBe("rule r: allow x.y for agent *\n");
    expect(fmt.written).toEqual({});
    const evalPolicy = memoryIO({ stdin: "rule r: allow x.y for agent *\n", files: { "/t.jsonl": '{"principal":{"kind":"agent","id":"a"},"action":"x.y","time":0,"expect":"allow"}\n' } });
    expect(await main(["eval", "--check", "-", "/t.jsonl"], evalPolicy)).toBe(0);
    expect(evalPolicy.err).toBe("1 of 1 expectations met\n");
  });

  it("usage errors: no stdin, - twice, --write with -", async () => {
    const none = memoryIO();
    expect(await main(["check", "-"], none)).toBe(2);
    expect(none.err).toBe("leash check: standard input is not available\n");
    for (const argv of [["eval", "-", "-"], ["check", "-", "-"], ["fmt", "--write", "-"]]) {
      const io = memoryIO({ stdin: "rule r: allow x.y\n" });
      expect(await main(argv, io), argv.join(" ")).toBe(2);
      expect(io.err.trim().split("\n"), argv.join(" ")).toHaveLength(1);
    }
  });
});

describe("leash fmt options", () => {
  it("--stdout cannot be combined with --check or --write", async () => {
    for (const other of ["--check", "--write"]) {
      const io = memoryIO({ files: { "/a.rules": "rule r: allow x.y\n" } });
      expect(await main(["fmt", "--stdout", other, "/a.rules"], io)).toBe(2);
      expect(io.err).toBe(`leash fmt: --stdout cannot be used with ${other}\n`);
    }
  });
  it("--write rewrites only what is not formatted and prints nothing", async () => {
    const io = memoryIO({ files: { "/a.rules": "rule r: allow x.y\n   for agent *", "/b.rules": "rule r: allow x.y for agent *\n" } });
    expect(await main(["fmt", "--write", "/a.rules", "/b.rules"], io)).toBe(0);
    expect(io.written).toEqual({ "/a.rules": "rule r: allow x.y for agent *\n" });
    expect(io.out + io.err).toBe("");
  });
});

describe("numeric options", () => {
  it("take whole numbers within their range, nothing else", () => {
    expect(intOption(undefined, "--runs", RANGES.runs)).toBeUndefined();
    expect(intOption("1", "--runs", RANGES.runs)).toBe(1);
    expect(intOption("1000000", "--runs", RANGES.runs)).toBe(1_000_000);
    expect(intOption("2147483647", "--seed", RANGES.seed)).toBe(2147483647);
    expect(intOption("0", "--seed", RANGES.seed)).toBe(0);
    for (const bad of ["0", "1000001", "99999999999999999999", "1e3", "2.5", "-1", "+5", "0x10", "", " ", "Infinity", "NaN", "1_000"]) {
      expect(() => intOption(bad, "--runs", RANGES.runs), JSON.stringify(bad)).toThrow(`--runs takes a whole number from 1 to 1,000,000, got ${JSON.stringify(bad)}`);
    }
    expect(() => intOption("2147483648", "--seed", RANGES.seed)).toThrow("--seed takes a whole number from 0 to 2,147,483,647");
  });
});

describe("directory walks", () => {
  const dir = mkdtempSync(join(tmpdir(), "leash-walk-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "p", "sub", "deeper"), { recursive: true });
  mkdirSync(join(dir, "p", "node_modules"));
  mkdirSync(join(dir, "p", ".hidden"));
  for (const f of ["p/b.rules", "p/a.rules", "p/sub/c.rules", "p/sub/deeper/d.rules", "p/node_modules/x.rules", "p/.hidden/y.rules", "p/notes.txt"]) writeFileSync(join(dir, f), "rule r: allow x.y\n");
  symlinkSync("..", join(dir, "p", "sub", "up"));
  symlinkSync(join(dir, "p"), join(dir, "p", "sub", "deeper", "root"));
  symlinkSync("a.rules", join(dir, "p", "z-link.rules"));
  symlinkSync("missing.rules", join(dir, "p", "dangling.rules"));
  const io = memoryIO({ cwd: dir });

  it("a directory is its *.rules files, sorted, without subdirectories unless recursive", () => {
    expect(findRulesFiles(["p"], io, false)).toEqual(["p/a.rules", "p/b.rules"]);
  });
  it("recursive walks visit every real directory and file once, through loops and duplicate links", () => {
    expect(findRulesFiles(["p"], io, true)).toEqual(["p/a.rules", "p/b.rules", "p/sub/c.rules", "p/sub/deeper/d.rules"]);
    expect(findRulesFiles(["p", "p/sub", "p/a.rules", "p/z-link.rules"], io, true)).toEqual(["p/a.rules", "p/b.rules", "p/sub/c.rules", "p/sub/deeper/d.rules"]);
  });
  it("keeps - and paths that do not exist, for the command to read and report", () => {
    expect(findRulesFiles(["-", "nope.rules"], io, false)).toEqual(["-", "nope.rules"]);
  });
  it("leash test --recursive tests each file once", async () => {
    const t = memoryIO({ cwd: dir });
    expect(await main(["test", "--recursive", "p", "--seed", "1"], t)).toBe(0);
    expect(t.out).toContain("ok: 4 files;");
  });
});

describe("JSON output", () => {
  it("writes every invisible character as \\uXXXX and keeps the value", () => {
    const value = { s: "a\u202eb\u2028c\u007fd\u0085e\u200bf\u001bg\u{E0001}h", n: [1, 2] };
    const text = jsonText(value, 2);
    expect(text).not.toMatch(/[\u007f-\u009f\u200b\u2028\u202e]/u);
    expect(text).toContain("\\u202e");
    expect(text).toContain("\\udb40\\udc01");
    expect(text.split("\n").length).toBeGreaterThan(3);
    expect(JSON.parse(text)).toEqual(value);
  });
});
