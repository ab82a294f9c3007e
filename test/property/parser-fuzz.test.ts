import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Span } from "../../src/ast/span.js";
import { checkSource } from "../../src/cli/commands/check.js";
import { CODES } from "../../src/diagnostics/codes.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { renderDiagnostic } from "../../src/diagnostics/render.js";
import { formatSource } from "../../src/format/print.js";
import { DEPTH, TIMEOUT } from "./harness.js";

/**
 * The parser fuzz target: random bytes, random strings and mutations of the example policies go
 * through everything `leash check` and `leash fmt` run on a file — lexing, parsing, checking, lints
 * and allow comments, formatting — and the caret renderer. For every input: no exception, no
 * internal error (P109, C299), every diagnostic positioned inside the input with a line and column
 * that match its offset, every code in the catalog. The slowest input's time is reported (no
 * assertion on time: the machine is shared); the goal is under 2 s for any input.
 *
 * 200 inputs per generator in the suite (a smoke run), 10,000 under `npm run test:deep` (LEASH_DEEP=1).
 */
const RUNS = DEPTH === 1 ? 200 : 10_000;

const root = join(__dirname, "..", "..");
const seeds: { name: string; source: string }[] = [
  ...readdirSync(join(root, "examples"))
    .filter((f) => f.endsWith(".rules"))
    .map((f) => ({ name: `examples/${f}`, source: readFileSync(join(root, "examples", f), "utf8") })),
  ...readdirSync(join(root, "test", "fixtures", "format"))
    .filter((f) => f.endsWith(".rules") && !f.includes(".formatted."))
    .map((f) => ({ name: `test/fixtures/format/${f}`, source: readFileSync(join(root, "test", "fixtures", "format", f), "utf8") })),
];

/** Pieces a mutation inserts: tokens of the language, broken tokens, controls, BIDI, deep nesting. */
const PIECES = [
  "rule", "rule x:", "allow", "deny", "when", "unless", "and", "or", "not", "by", "within", "session", "schema {", "actions {", "test \"t\" {",
  "property \"p\" {", "workflow w by session:", "->", "=>", "{", "}", "(", ")", "[", "]", ",", ":", ".", "*", "|", "?", "<", ">", "==", "+=",
  "\"", "\"open", "\"\\u{202E}\"", "\"\\q\"", "\\", "/*", "*/", "//", "\n", "\r\n", "\t", " ", "0", "-1", "1e5", "10m", "99999999999999999999d",
  "_x", "été", "p\u0430y", "\u0000", "\u001b[31m", "\u202e", "\u2066", "\u200b", "\ufeff", "\ud800", "\ud83d\ude00", "@", "#", "§", "$",
  "// leash: allow W404 -- kept", "// leash: allow", "// leash: alow C201",
  "(".repeat(80), ")".repeat(80), "not ".repeat(80), "set<".repeat(70), " and context.a == 1".repeat(60),
];

type Mutation = readonly [kind: "insert" | "delete" | "duplicate" | "replace" | "truncate" | "swap", at: number, length: number, piece: string];

const arbMutation: fc.Arbitrary<Mutation> = fc.tuple(
  fc.constantFrom("insert", "delete", "duplicate", "replace", "truncate", "swap"),
  fc.nat(),
  fc.integer({ min: 0, max: 64 }),
  fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: "binary", maxLength: 4 })),
);

function mutate(source: string, [kind, at, length, piece]: Mutation): string {
  const i = at % (source.length + 1);
  const j = Math.min(source.length, i + length);
  switch (kind) {
    case "insert":
      return source.slice(0, i) + piece + source.slice(i);
    case "delete":
      return source.slice(0, i) + source.slice(j);
    case "duplicate":
      return source.slice(0, j) + source.slice(i, j) + source.slice(j);
    case "replace":
      return source.slice(0, i) + piece + source.slice(j);
    case "truncate":
      return source.slice(0, i);
    case "swap": {
      const k = (at * 7 + length) % (source.length + 1);
      const [a, b] = i <= k ? [i, k] : [k, i];
      const n = Math.min(length, b - a);
      return source.slice(0, a) + source.slice(b, b + n) + source.slice(a + n, b) + source.slice(a, a + n) + source.slice(b + n);
    }
  }
}

const arbMutant = fc
  .tuple(fc.constantFrom(...seeds), fc.array(arbMutation, { minLength: 1, maxLength: 8 }))
  .map(([seed, ops]) => ops.reduce(mutate, seed.source));

const utf8 = new TextDecoder("utf-8", { fatal: false });
const latin1 = new TextDecoder("latin1");
const arbBytes = fc.uint8Array({ maxLength: 2048 }).chain((bytes) => fc.constantFrom(utf8.decode(bytes), latin1.decode(bytes)));

/** The figures of the run, per generator. */
const figures = new Map<string, { cases: number; slowestMs: number; slowestLength: number; diagnostics: number }>();

/** Line and column of `offset`, counted as the lexer counts them (UTF-16 units, `\n` ends a line). */
function position(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = source.indexOf("\n"); nl !== -1 && nl < offset; nl = source.indexOf("\n", nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function expectPositioned(source: string, file: string, span: Span, what: string): void {
  expect(span.file, what).toBe(file);
  expect(span.offset, what).toBeGreaterThanOrEqual(0);
  expect(span.offset, what).toBeLessThanOrEqual(span.endOffset);
  expect(span.endOffset, what).toBeLessThanOrEqual(source.length);
  expect({ line: span.line, column: span.column }, what).toEqual(position(source, span.offset));
  expect(span.endLine, what).toBeGreaterThanOrEqual(span.line);
}

/** One input through check and fmt; returns how long it took. */
function fuzzOne(source: string): { ms: number; diagnostics: number } {
  const file = "fuzz.rules";
  const started = performance.now();
  const diagnostics: Diagnostic[] = checkSource(source, file);
  const formatted = formatSource(source, file);
  const rendered = diagnostics.map((d) => renderDiagnostic(d, source, { color: true }));
  const ms = performance.now() - started;
  expect(rendered.length).toBe(diagnostics.length);
  for (const d of [...diagnostics, ...formatted.diagnostics]) {
    const what = `${d.code} ${d.message}`;
    expect(Object.keys(CODES), what).toContain(d.code);
    expect(["P109", "C299"], what).not.toContain(d.code);
    expectPositioned(source, file, d.span, what);
    for (const r of d.related ?? []) expectPositioned(source, file, r.span, `${what} (related: ${r.message})`);
  }
  // A file that formats reads back without errors.
  if (formatted.output !== null) expect(formatSource(formatted.output, file).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return { ms, diagnostics: diagnostics.length };
}

function fuzz(name: string, arb: fc.Arbitrary<string>): void {
  it(`${name}: no exception, every diagnostic positioned`, () => {
    const f = { cases: 0, slowestMs: 0, slowestLength: 0, diagnostics: 0 };
    figures.set(name, f);
    fc.assert(
      fc.property(arb, (source) => {
        const { ms, diagnostics } = fuzzOne(source);
        f.cases++;
        f.diagnostics += diagnostics;
        if (ms > f.slowestMs) {
          f.slowestMs = ms;
          f.slowestLength = source.length;
        }
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);
}

describe("parser fuzz target (leash check and leash fmt on hostile input)", () => {
  // The first call builds the lexer's and parser's caches; it is not an input's own time.
  beforeAll(() => void fuzzOne(seeds[0]!.source));
  it("has seeds to mutate", () => expect(seeds.length).toBeGreaterThan(10));
  fuzz("random bytes (UTF-8 and Latin-1)", arbBytes);
  fuzz("random strings (any UTF-16)", fc.string({ unit: "binary", maxLength: 1000 }));
  fuzz("mutations of the examples", arbMutant);
  fuzz("mutations of mutations (deeper)", fc.tuple(arbMutant, fc.array(arbMutation, { maxLength: 16 })).map(([s, ops]) => ops.reduce(mutate, s)));

  afterAll(() => {
    const rows = [...figures].map(([name, f]) => `  ${name}: ${f.cases} inputs, ${f.diagnostics} diagnostics, slowest ${f.slowestMs.toFixed(1)} ms (${f.slowestLength} characters)`);
    const total = [...figures.values()].reduce((n, f) => n + f.cases, 0);
    const slowest = Math.max(0, ...[...figures.values()].map((f) => f.slowestMs));
    console.log(`parser fuzz target: ${total} inputs, slowest ${slowest.toFixed(1)} ms (goal: under 2000 ms)\n${rows.join("\n")}`);
  });
});
