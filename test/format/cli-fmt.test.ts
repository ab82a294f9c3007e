import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/fmt.js";
import { UsageError, type CliIO } from "../../src/cli/io.js";

function fakeIO(files: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const writes: string[] = [];
  const io: CliIO = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
      return files[p]!;
    },
    writeFile: (p, t) => {
      writes.push(p);
      files[p] = t;
    },
    cwd: "/w",
    color: false,
    quiet: true,
  };
  return { io, files, writes, stdout: () => out.join(""), stderr: () => err.join("") };
}

const MESSY = "rule   a :  allow x.y   when context.risk<0.5\n";
const CLEAN = "rule a: allow x.y when context.risk < 0.5\n";
const BROKEN = "rule a: alow x.y\n";

describe("leash fmt", () => {
  it("rewrites files in place, and only the ones that change", async () => {
    const t = fakeIO({ "/w/a.rules": MESSY, "/w/b.rules": CLEAN });
    expect(await run(["a.rules", "b.rules"], t.io)).toBe(0);
    expect(t.files["/w/a.rules"]).toBe(CLEAN);
    expect(t.writes).toEqual(["/w/a.rules"]);
    expect(t.stdout()).toBe("");
  });

  it("--check names the files that would change and exits 1", async () => {
    const t = fakeIO({ "/w/a.rules": MESSY, "/w/b.rules": CLEAN });
    expect(await run(["--check", "a.rules", "b.rules"], t.io)).toBe(1);
    expect(t.stdout()).toBe("a.rules\n");
    expect(t.writes).toEqual([]);
  });

  it("--check exits 0 when every file is formatted", async () => {
    const t = fakeIO({ "/w/b.rules": CLEAN });
    expect(await run(["--check", "b.rules"], t.io)).toBe(0);
    expect(t.stdout()).toBe("");
  });

  it("--stdout prints instead of writing", async () => {
    const t = fakeIO({ "/w/a.rules": MESSY });
    expect(await run(["--stdout", "a.rules"], t.io)).toBe(0);
    expect(t.stdout()).toBe(CLEAN);
    expect(t.writes).toEqual([]);
  });

  it("renders parse errors, leaves the file alone and exits 1", async () => {
    const t = fakeIO({ "/w/bad.rules": BROKEN, "/w/a.rules": MESSY });
    expect(await run(["bad.rules", "a.rules"], t.io)).toBe(1);
    expect(t.stderr()).toMatch(/^bad\.rules:1:\d+: error\[[LP]\d{3}\]: /);
    expect(t.stderr()).toContain("1 | rule a: alow x.y");
    expect(t.files["/w/bad.rules"]).toBe(BROKEN);
    expect(t.files["/w/a.rules"]).toBe(CLEAN);
  });

  it("rejects an unknown flag, a missing file and no file with a usage error", async () => {
    const t = fakeIO({ "/w/a.rules": MESSY });
    await expect(run(["--chek", "a.rules"], t.io)).rejects.toThrow(UsageError);
    await expect(run(["--chek", "a.rules"], t.io)).rejects.toThrow(/unknown option --chek/);
    await expect(run(["a.rules", "nope.rules"], t.io)).rejects.toThrow(/no such file: nope\.rules/);
    await expect(run([], t.io)).rejects.toThrow(UsageError);
    await expect(run(["--check", "--stdout", "a.rules"], t.io)).rejects.toThrow(UsageError);
    expect(t.writes).toEqual([]);
  });

  it("--help describes every flag", async () => {
    const t = fakeIO({});
    expect(await run(["--help"], t.io)).toBe(0);
    for (const flag of ["--check", "--stdout", "--help"]) expect(t.stdout()).toContain(flag);
  });
});
