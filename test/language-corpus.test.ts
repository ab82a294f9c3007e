import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { CliIO } from "../src/cli/io.js";
import { main } from "../src/cli/main.js";
import { compilePolicy } from "../src/compile/compile.js";
import { formatSource } from "../src/format/print.js";
import { parseJsonLines, replayTrace } from "../src/runtime/trace.js";
import { runTests } from "../src/testing/runner.js";

/**
 * The language corpus (test/corpus/language/, described in test/corpus/README.md): one folder per
 * construct, a `policy.rules` that uses it and a `trace.jsonl` whose every line has an `expect`.
 * Each policy is clean under `leash check --deny-warnings`, formatted as `leash fmt` prints it, its
 * test blocks pass, and `leash eval --check` meets every expectation of its trace.
 */
const root = join(import.meta.dirname, "corpus", "language");
const cases = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

async function cli(dir: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIO = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readFile: (p) => readFileSync(resolve(dir, p), "utf8"),
    writeFile: () => {
      throw new Error("the language corpus writes nothing");
    },
    readStdin: () => "",
    cwd: dir,
    color: false,
    stderrColor: false,
    quiet: true,
  };
  return { code: await main(argv, io), out, err };
}

describe("language corpus", () => {
  it("has a case per construct", () => expect(cases).toEqual(["checked-tests", "compound-keys", "declared-signals", "distinct-limit", "including-this", "scoped-workflow"]));
  for (const name of cases) {
    describe(name, () => {
      const dir = join(root, name);
      const source = readFileSync(join(dir, "policy.rules"), "utf8");
      it("is clean under leash check --deny-warnings", async () => {
        const r = await cli(dir, ["check", "--deny-warnings", "policy.rules"]);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
      });
      it("is formatted as leash fmt prints it", () => expect(formatSource(source).output).toBe(source));
      it("passes its test blocks", () => {
        const compiled = compilePolicy(source, { file: "policy.rules" });
        const results = runTests(compiled.policy!, compiled.ast);
        expect(results.length).toBeGreaterThan(0);
        expect(results.flatMap((t) => t.steps.filter((s) => !s.ok).map((s) => `${t.name} step ${s.index}: ${s.message}`))).toEqual([]);
      });
      it("meets every expectation of its trace under leash eval --check", async () => {
        const trace = readFileSync(join(dir, "trace.jsonl"), "utf8");
        const { events } = parseJsonLines(trace);
        const requests = events.filter((e) => typeof e.action === "string");
        expect(requests.every((e) => e.expect !== undefined)).toBe(true);
        const r = await cli(dir, ["eval", "--check", "policy.rules", "trace.jsonl"]);
        expect(r.err.trim()).toBe(`${requests.length} of ${requests.length} expectations met`);
        expect(r.code).toBe(0);
        // The library's replay agrees.
        const { steps } = replayTrace(compilePolicy(source).policy!, events);
        expect(steps.flatMap((s) => s.mismatches)).toEqual([]);
      });
    });
  }
});
