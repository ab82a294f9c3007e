import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../src/check/source.js";
import { compilePolicy } from "../../src/compile/compile.js";
import { LIBRARY_POLICY } from "../../playground/test/library-case.js";

/**
 * The playground as a user meets it: built with Vite into static files, served from a sub-path of
 * a small static server on loopback, and driven in Debian's Chromium by playwright-core
 * (playground/test/browser-driver.ts, in a child process: playwright evaluates code from strings,
 * which these tests forbid). The driver reports what the page showed at each step; the tests here
 * say what it must have shown. Without /usr/bin/chromium this cannot run and says so, except in CI
 * (CI=true), where it fails instead: .ci/run installs chromium (scripts/install-deps.sh).
 */
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/e2e/playground.test.ts: ${CHROMIUM} is absent, so the playground's browser test is skipped (apt-get install chromium; .ci/run installs it)`);

const ROOT = join(__dirname, "..", "..");
const EXAMPLES = join(ROOT, "examples");
const env = { ...process.env, NODE_OPTIONS: "" };

interface Row {
  readonly kind?: string;
  readonly effect?: string;
  readonly ok?: string;
  readonly text: string;
}
type Step = Record<string, any> & { error?: string };

describe.skipIf(!hasChromium && process.env.CI !== "true")("the playground in Chromium", () => {
  const work = mkdtempSync(join(tmpdir(), "leash-playground-"));
  const site = join(work, "site");
  let seen: Record<string, Step> = {};
  /** A step's observations; a step that failed in the browser fails its test with the driver's message. */
  const step = (name: string): Step => {
    const s = seen[name];
    expect(s, `the driver reported nothing for ${name}`).toBeDefined();
    expect(s!.error, `${name} failed in the browser`).toBeUndefined();
    return s!;
  };

  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, "node_modules", "vite", "bin", "vite.js"), "build", "--config", join(ROOT, "playground", "vite.config.ts"), "--outDir", site, "--logLevel", "warn"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const out = execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "playground", "test", "browser-driver.ts"), site, EXAMPLES], { cwd: ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 280_000 });
    seen = JSON.parse(out.trim().split("\n").pop()!) as Record<string, Step>;
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("is static files with relative asset paths, opened from a sub-path of a static server", () => {
    const html = readFileSync(join(site, "index.html"), "utf8");
    expect(html).toMatch(/src="\.\/assets\/[^"]+\.js"/);
    expect(html).not.toMatch(/(src|href)="\/(?!\/)/);
    expect(readdirSync(join(site, "assets")).some((f) => f.startsWith("worker"))).toBe(true);
    expect(step("open")).toEqual({ errors: [], status: "compiles: 4 rules" });
  });

  it("highlights the leash language", () => {
    const h = step("highlight");
    expect(h.keywords).toEqual(expect.arrayContaining(["schema", "actions", "rule", "allow", "deny", "for", "string"]));
    expect(h.comments).toBeGreaterThan(0);
    expect(h.meta).toContain("[high]");
    expect(h.strings).toContain('"support"');
  });

  it("shows the diagnostic of a policy typed with an error: its code, message and help, squiggled", () => {
    const s = step("typedError");
    // The same diagnostics as `leash check`: code, position, message and help.
    const expected = checkSource("rule readers: alow doc.read for agent *\nrule no-deletes: deny doc.delete\n", { file: "policy.rules" });
    expect(expected.map((d) => d.code)).toEqual(["P105"]);
    expect(s.diagnostics).toEqual(expected.map((d) => `${d.span.line}:${d.span.column} ${d.severity}[${d.code}]: ${d.message}help: ${d.help}`));
    expect(s.diagnostics[0]).toMatch(/^1:15 error\[P105\]: expected an effect .*found "alow"help: did you mean "allow"\? effects are allow, challenge, deny, revoke and flag$/);
    expect(s.squiggles).toEqual(["alow"]);
    expect(s.status).toBe("1 error");
    expect(s.trace).toBe("Fix the policy's errors to run the trace.");
  });

  it("compiles once the error is fixed", () => {
    expect(step("fixed")).toEqual({ status: "compiles: 2 rules", diagnostics: 0, squiggles: 0 });
  });

  it("runs a typed trace: each decision with its effect, reasons and expectation, and explain for one", () => {
    const t = step("trace");
    expect(t.summary).toBe("3 events · 3 of 3 expectations met");
    const rows = t.rows as Row[];
    expect(rows.map((r) => [r.effect, r.ok])).toEqual([["allow", "true"], ["deny", "true"], ["deny", "true"]]);
    expect(rows[0]!.text).toContain("readers: rule readers allows doc.read");
    expect(rows[1]!.text).toContain("no-deletes");
    expect(rows[2]!.text).toContain("R313: no allow rule matched doc.read");
    expect(t.explain).toMatch(/decision {2}deny by no-deletes/);
    expect(t.explain).toContain("candidates (rules whose targets match doc.delete)");
  });

  it("loads every example of examples/, and shows the decisions each trace expects", () => {
    const e = step("examples");
    const names = readdirSync(EXAMPLES).filter((f) => f.endsWith(".rules")).map((f) => f.slice(0, -".rules".length)).sort();
    expect(e.names).toEqual(names);
    for (const name of names) {
      const shown = e.seen[name] as { summary: string; rows: Row[]; errors: number };
      const events = readFileSync(join(EXAMPLES, `${name}.jsonl`), "utf8").split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("//")).map((l) => JSON.parse(l) as { action?: string; expect?: string | { effect?: string } });
      const expected = events.filter((x) => x.expect !== undefined).length;
      expect(shown.summary, name).toBe(`${events.length} event${events.length === 1 ? "" : "s"} · ${expected} of ${expected} expectations met`);
      expect(shown.errors, name).toBe(0);
      expect(shown.rows.filter((r) => r.ok === "false"), name).toEqual([]);
      events.forEach((x, i) => {
        const effect = typeof x.expect === "string" ? x.expect : x.expect?.effect;
        if (x.action !== undefined && effect !== undefined) expect(`${name}:${i + 1} ${shown.rows[i]!.effect}`).toBe(`${name}:${i + 1} ${effect}`);
      });
    }
  });

  it("runs the policy's tests and properties in a web worker, with a progress bar", () => {
    const t = step("tests");
    expect(t.summary).toMatch(/^tests: 1 of 1 passed · properties: 1 of 1 hold · seed \d+ · \d+ ms$/);
    expect(t.progress).toEqual([2, 2]);
    expect(t.seen).toEqual(expect.arrayContaining(['0 of 2 · test "the agent drafts but never approves"', "2 of 2"]));
    expect(t.results).toEqual(["test true", "property true"]);
  });

  it("shows a property's counterexample and loads it as the trace", () => {
    const c = step("counterexample");
    expect(c.summary).toMatch(/properties: 0 of 1 hold/);
    expect(c.message).toMatch(/^✗ property "no deletes": never allow doc\.delete \(\d+ traces?\)event \d+ \(doc\.delete\) was allow by agents; the claim says never allow/);
    expect((c.rows as Row[]).some((r) => r.effect === "allow" && r.text.includes("doc.delete"))).toBe(true);
  });

  it("shares the policy and trace in the URL; opening and reloading that URL shows them again", () => {
    const s = step("share");
    expect(s.url).toMatch(new RegExp(`^${s.origin.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}#s=z[A-Za-z0-9_-]+$`));
    expect(s.policy).toBe("rule readers: allow doc.read for agent *\nrule no-deletes: deny doc.delete\n");
    expect(s.shown).toEqual({ policy: s.policy, trace: s.trace, summary: "1 event · 1 of 1 expectations met", example: "" });
  });

  it("checks and runs a policy that uses a library module: the module's diagnostic names it, at the use", () => {
    const s = step("libraryModule");
    const clash = s.clash as { diagnostics: string[]; squiggles: string[] };
    const c275 = clash.diagnostics.find((d) => d.includes("[C275]"));
    expect(c275, JSON.stringify(clash.diagnostics)).toMatch(/^1:1 error\[C275\]: leash\/login\.rules:\d+:\d+: .*login-block-ip/);
    expect(clash.squiggles.join("")).toContain("use leash/login");
    const compiled = compilePolicy(LIBRARY_POLICY, { file: "policy.rules" }).policy!;
    expect(s.status).toBe(`compiles: ${compiled.ruleIds.length} rules`);
    expect(s.summary).toBe("4 events · 2 of 2 expectations met");
    expect((s.rows as Row[]).filter((r) => r.effect !== undefined).map((r) => [r.effect, r.ok])).toEqual([["challenge", "true"], ["allow", "true"]]);
  });

  it("had no error in the page", () => {
    expect(seen.pageErrors?.errors).toEqual([]);
  });
});
