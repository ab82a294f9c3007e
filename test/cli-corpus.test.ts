import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliIO } from "../src/cli/io.js";
import { main } from "../src/cli/main.js";
import { compilePolicy } from "../src/compile/compile.js";
import { loadPolicy } from "../src/node/load.js";
import { renderDiagnostics } from "../src/diagnostics/render.js";
import { formatSource } from "../src/format/print.js";
import { parseJsonLines, replayTrace } from "../src/runtime/trace.js";
import { INVISIBLE_CHARS } from "../src/syntax/strings.js";

/**
 * The CLI corpus (test/corpus/cli/, described in test/corpus/README.md): each case is a folder of
 * input files and an `expected.json` saying what to run and what must come out. A case runs in a
 * temporary copy of its folder, so commands that write (fmt) or follow links (walks) touch nothing
 * here.
 */
interface Case {
  readonly about: string;
  /** `leash ARGS...`, run in-process in the copy. */
  readonly run?: readonly string[];
  /** A file of the case whose text is standard input. */
  readonly stdin?: string;
  /** Made in the copy before the run: symbolic links (path -> target) and copies under other names. */
  readonly make?: { readonly links?: Readonly<Record<string, string>>; readonly copies?: Readonly<Record<string, string>> };
  readonly exit?: number;
  /** Lines that must appear in this order (other lines may come between). */
  readonly stdout?: readonly string[];
  readonly stderr?: readonly string[];
  /** Text that must appear somewhere in stdout or stderr, and text that must not. */
  readonly contains?: readonly string[];
  readonly absent?: readonly string[];
  /**
   * The counterexample test block `leash test` printed, pasted at the end of this policy file,
   * must compile without a diagnostic.
   */
  readonly pasteTestBlock?: string;
  /** After the run, file -> the case file it must equal. */
  readonly files?: Readonly<Record<string, string>>;
  /** Instead of `run`: the library's replayTrace on `policy` and `trace`, and what each step must be. */
  readonly replayTrace?: { readonly policy: string; readonly trace: string };
  readonly steps?: readonly { readonly kind: string; readonly mismatches?: readonly string[]; readonly effect?: string }[];
  /**
   * Instead of `run`: formatSource on this text (for sources no UTF-8 file can hold), its output
   * (null when it refuses) and its diagnostics as `CODE LINE:COLUMN`.
   */
  readonly formatSource?: string;
  readonly output?: string | null;
  readonly diagnostics?: readonly string[];
  /** Instead of `run`: loadPolicy(path) rendered with renderDiagnostics and its source. */
  readonly loadPolicy?: string;
  readonly rendered?: string;
}

const root = join(__dirname, "corpus", "cli");
const cases = readdirSync(root).filter((d) => existsSync(join(root, d, "expected.json"))).sort();
const scratch = mkdtempSync(join(tmpdir(), "leash-corpus-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copyCase(name: string, c: Case): string {
  const dir = join(scratch, name);
  cpSync(join(root, name), dir, { recursive: true });
  for (const [path, target] of Object.entries(c.make?.links ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    symlinkSync(target, join(dir, path));
  }
  for (const [path, from] of Object.entries(c.make?.copies ?? {})) writeFileSync(join(dir, path), readFileSync(join(dir, from)));
  return dir;
}

async function runCli(dir: string, c: Case): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIO = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readFile: (p) => readFileSync(resolve(dir, p), "utf8"),
    writeFile: (p, t) => writeFileSync(resolve(dir, p), t),
    readStdin: () => (c.stdin !== undefined ? readFileSync(join(dir, c.stdin), "utf8") : ""),
    cwd: dir,
    color: false,
    stderrColor: false,
    quiet: true,
  };
  const code = await main([...c.run!], io);
  return { code, out, err };
}

/** `expected` lines appear in `text`, in order. */
function expectLines(text: string, expected: readonly string[] | undefined, stream: string): void {
  if (expected === undefined) return;
  const lines = text.split("\n");
  let at = 0;
  for (const want of expected) {
    const found = lines.indexOf(want, at);
    expect(found, `${stream} should have the line ${JSON.stringify(want)} (after line ${at}) in:\n${text}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

/** No raw control, BIDI or invisible character other than the newline reaches the output. */
function expectNothingInvisible(text: string, stream: string): void {
  const raw = [...text].filter((ch) => ch !== "\n" && INVISIBLE_CHARS.test(ch));
  expect(raw.map((ch) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase()}`), `${stream} has raw invisible characters`).toEqual([]);
}

/** The lines of the first "as a test block" in `leash test` output, unindented. */
function printedTestBlock(out: string): string {
  const lines = out.split("\n");
  const start = lines.findIndex((l) => l.includes("as a test block")) + 1;
  if (start === 0) return "";
  const end = lines.findIndex((l, i) => i >= start && l === "        }");
  return lines.slice(start, end + 1).map((l) => l.slice(8)).join("\n");
}

describe("CLI corpus (test/corpus/cli)", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(10));

  for (const name of cases) {
    const c = JSON.parse(readFileSync(join(root, name, "expected.json"), "utf8")) as Case;
    it(`${name}: ${c.about}`, async () => {
      const dir = copyCase(name, c);
      if (c.replayTrace) {
        const compiled = compilePolicy(readFileSync(join(dir, c.replayTrace.policy), "utf8"));
        expect(compiled.policy).not.toBeNull();
        const { events } = parseJsonLines(readFileSync(join(dir, c.replayTrace.trace), "utf8"));
        const { steps } = replayTrace(compiled.policy!, events);
        expect(steps.map((s) => ({ kind: s.kind, ...(s.mismatches.length ? { mismatches: s.mismatches } : {}), ...(s.decision ? { effect: s.decision.effect } : {}) }))).toEqual(c.steps);
        return;
      }
      if (c.formatSource !== undefined) {
        const r = formatSource(c.formatSource, "policy.rules");
        expect(r.output).toBe(c.output);
        expect(r.diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.column}`)).toEqual(c.diagnostics);
        return;
      }
      if (c.loadPolicy !== undefined) {
        const r = loadPolicy(join(dir, c.loadPolicy));
        expect(renderDiagnostics(r.diagnostics, () => r.source).replaceAll(dir + "/", "")).toBe(c.rendered);
        return;
      }
      const { code, out, err } = await runCli(dir, c);
      expect(err).not.toContain("internal error");
      expect(code, `exit code; stderr:\n${err}`).toBe(c.exit ?? 0);
      expectLines(out, c.stdout, "stdout");
      expectLines(err, c.stderr, "stderr");
      for (const a of c.contains ?? []) expect(out + err).toContain(a);
      for (const a of c.absent ?? []) expect(out + err).not.toContain(a);
      expectNothingInvisible(out, "stdout");
      expectNothingInvisible(err, "stderr");
      if (c.pasteTestBlock !== undefined) {
        const block = printedTestBlock(out);
        expect(block, `no test block in:\n${out}`).not.toBe("");
        const pasted = compilePolicy(`${readFileSync(join(dir, c.pasteTestBlock), "utf8")}\n${block}\n`);
        expect(pasted.diagnostics).toEqual([]);
      }
      for (const [file, want] of Object.entries(c.files ?? {})) expect(readFileSync(join(dir, file), "utf8")).toBe(readFileSync(join(root, name, want), "utf8"));
    });
  }
});
