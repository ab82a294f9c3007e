import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { buildCompiled } from "../../src/compile/build.js";
import { compilePolicy } from "../../src/compile/compile.js";
import { compiledDigest, loadCompiled, loadCompiledOrThrow, PolicyLoadError, type CompiledPolicy } from "../../src/runtime/compiled.js";
import { parseJsonLines, replayTrace } from "../../src/runtime/trace.js";
import { VERSION } from "../../src/version.js";
import type { CliIO } from "../../src/cli/io.js";

const root = join(__dirname, "..", "..");
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".rules"))
  .map((f) => f.replace(/\.rules$/, ""))
  .sort();

function memoryIO(files: Record<string, string>): CliIO & { err: string } {
  const io = {
    err: "",
    stdout: () => undefined,
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => readFileSync(p, "utf8"),
    writeFile: (p: string, t: string) => void (files[p] = t),
    cwd: root,
    color: false,
    quiet: true,
  };
  return io;
}

/** `leash build examples/NAME.rules -o OUT`, run in-process; the text it wrote. */
async function buildOutput(name: string): Promise<string> {
  const files: Record<string, string> = {};
  const io = memoryIO(files);
  const code = await main(["build", `examples/${name}.rules`, "-o", "policy.json"], io);
  expect(io.err).toMatch(/policy\.json: \d+ rules?, policy [0-9a-f]{16}, sha256:[0-9a-f]{64}/);
  expect(code).toBe(0);
  return files[join(root, "policy.json")]!;
}

const source = (name: string) => readFileSync(join(root, "examples", `${name}.rules`), "utf8");
const compiledOf = (name: string): CompiledPolicy => buildCompiled(source(name), { file: `examples/${name}.rules` }).compiled!;
/** A deep copy with one change, and the digest recomputed (so only the IR check can refuse it). */
function resigned(c: CompiledPolicy, change: (c: Record<string, any>) => void): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(c)) as Record<string, any>;
  change(copy);
  return { ...copy, digest: compiledDigest(copy) };
}
const codes = (r: { diagnostics: readonly { code: string }[] }) => r.diagnostics.map((d) => d.code);

describe("loadCompiled(JSON.parse(leash build output)) decides as compilePolicy does", () => {
  it("the version compiled policies record is package.json's", () => {
    expect(VERSION).toBe((JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version);
  });
  it("covers every example", () => expect(examples.length).toBeGreaterThanOrEqual(12));
  for (const name of examples) {
    it(name, async () => {
      const file = `examples/${name}.rules`;
      const compiled = compilePolicy(source(name), { file }).policy!;
      const loaded = loadCompiled(JSON.parse(await buildOutput(name)));
      expect(loaded.diagnostics).toEqual([]);
      const policy = loaded.policy!;
      expect(policy.hash).toBe(compiled.hash);
      expect(policy.ruleIds).toEqual(compiled.ruleIds);

      const { events, errors } = parseJsonLines(readFileSync(join(root, "examples", `${name}.jsonl`), "utf8"));
      expect(errors).toEqual([]);
      const a = replayTrace(compiled, events);
      const b = replayTrace(policy, events);
      expect(b.steps.length).toBe(events.length);
      // Every decision (effect, rules, reasons with spans, obligations, flags, validUntil, watch, ...).
      expect(b.steps).toEqual(a.steps);
      expect(b.steps.flatMap((s) => s.mismatches)).toEqual([]);
      // The states are interchangeable: same layout, same JSON.
      expect(JSON.stringify(b.state)).toBe(JSON.stringify(a.state));
      expect(compiled.decide(b.state, events.find((e) => typeof e.action === "string")!).decision.errors).toEqual([]);
    });
  }
});

describe("a compiled policy that is not what leash build wrote is refused", () => {
  const c = compiledOf("ticket-agent");
  const text = JSON.stringify(c);

  it("loads from the JSON text as well as from the parsed value, in any layout and key order", () => {
    expect(loadCompiled(text).policy).not.toBeNull();
    expect(loadCompiled(JSON.stringify(c, null, 2)).policy).not.toBeNull();
    const reordered = Object.fromEntries(Object.entries(JSON.parse(text) as Record<string, unknown>).reverse());
    expect(loadCompiled(reordered).policy).not.toBeNull();
  });

  it("a modified file (R323): one rule's effect changed in the text", () => {
    const tampered = text.replace('"effect":"deny"', '"effect":"allow"');
    expect(tampered).not.toBe(text);
    const r = loadCompiled(tampered, { file: "policy.json" });
    expect(r.policy).toBeNull();
    expect(r.diagnostics).toMatchObject([{ code: "R323", severity: "error", span: { file: "policy.json", line: 1, column: 1 } }]);
    expect(r.diagnostics[0]!.message).toContain("modified after it was built");
    expect(r.diagnostics[0]!.help).toMatch(/leash build/);
  });

  it("a modified file (R323): a number, a name, an added field, a removed digest", () => {
    for (const change of [
      (x: Record<string, any>) => (x.ir.keyGroups[0] ? (x.ir.keyGroups[0].ttl += 1) : (x.ir.rules[0].span.line += 1)),
      (x: Record<string, any>) => (x.ir.rules[0].id = "renamed"),
      (x: Record<string, any>) => (x.extra = true),
      (x: Record<string, any>) => delete x.digest,
    ]) {
      const copy = JSON.parse(text) as Record<string, any>;
      change(copy);
      expect(codes(loadCompiled(copy))).toEqual(["R323"]);
    }
  });

  it("another leash version (R322) and another format (R321)", () => {
    expect(codes(loadCompiled({ ...c, leash: "0.0.9" }))).toEqual(["R322"]);
    expect(loadCompiled({ ...c, leash: "0.0.9" }).diagnostics[0]!.message).toBe(`the policy was compiled by leash "0.0.9", this is leash ${VERSION}`);
    expect(codes(loadCompiled({ ...c, format: 2 }))).toEqual(["R321"]);
  });

  it("something else than a compiled policy (R320)", () => {
    for (const v of ["{not json", "[]", "null", '{"rules":[]}', 42, null, undefined, [], { kind: "leash-compiled-policy-x" }]) {
      const r = loadCompiled(v);
      expect(r.policy).toBeNull();
      expect(codes(r)).toEqual(["R320"]);
    }
  });

  it("a value that is not plain JSON data is refused, and the policy keeps its own copy", () => {
    const cyclic: Record<string, unknown> = { ...c };
    cyclic.self = cyclic;
    const throwing = Object.defineProperty({ ...c }, "ir", { enumerable: true, get: () => { throw new Error("no"); } });
    for (const v of [cyclic, throwing]) {
      const r = loadCompiled(v);
      expect(codes(r)).toEqual(["R320"]);
      expect(r.diagnostics[0]!.message).toMatch(/^not a compiled policy: the value is not plain JSON data/);
    }
    const mine = JSON.parse(text) as Record<string, any>;
    const policy = loadCompiled(mine).policy!;
    const request = { principal: { kind: "agent", id: "ticket-bot" }, action: "ticket.approve", time: 0 };
    const before = policy.decide(policy.initialState(), request).decision;
    for (const r of mine.ir.rules) r.effect = "allow";
    mine.ir.rules.length = 0;
    expect(policy.decide(policy.initialState(), request).decision).toEqual(before);
  });

  it("a digest other than the pinned one (R324)", () => {
    expect(loadCompiled(c, { digest: c.digest }).policy).not.toBeNull();
    const other = compiledOf("deploy-bot");
    expect(codes(loadCompiled(other, { digest: c.digest }))).toEqual(["R324"]);
  });

  it("an IR the evaluators cannot run, even with a matching digest (R325), names the place", () => {
    const cases: [(x: Record<string, any>) => void, RegExp][] = [
      [(x) => (x.ir.rules[0].effect = "permit"), /at ir\.rules\[0\]\.effect: expected one of "allow"/],
      [(x) => (x.ir.rules[0].condition = { t: "op", op: 999, current: false, span: x.ir.rules[0].span }), /ir\.rules\[0\]\.condition: expected operator indices/],
      [(x) => (x.ir.rules[0].extra = 1), /at ir\.rules\[0\]\.extra: no such field/],
      [(x) => delete x.ir.ops, /at ir\.ops: missing field/],
      [(x) => (x.hash = "not a hash"), /at hash: expected 16 hex digits/],
      [(x) => (x.manifest = []), /at manifest/],
    ];
    for (const [change, message] of cases) {
      const r = loadCompiled(resigned(c, change));
      expect(codes(r)).toEqual(["R325"]);
      expect(r.diagnostics[0]!.message).toMatch(message);
    }
    // An own "__proto__" key, as JSON.parse makes it, is a field like any other: not one of the IR's.
    const polluted = JSON.parse(text.replace('"rules":[{', '"rules":[{"__proto__":{"effect":"allow"},')) as Record<string, unknown>;
    const r = loadCompiled({ ...polluted, digest: compiledDigest(polluted) });
    expect(r.diagnostics.map((d) => d.message)).toEqual(["invalid compiled policy: at ir.rules[0].__proto__: no such field"]);
  });

  it("register sizes beyond the checker's bounds are refused (R325), so no file allocates without bound", () => {
    const counting = buildCompiled("rule r: deny a.b when count(a.b by session within 1m) >= 3\n").compiled!;
    const huge = resigned(counting, (x) => {
      x.ir.ops[0].capacity = 1e9;
      x.ir.keyGroups[0].slots = 1e9;
    });
    expect(loadCompiled(huge).diagnostics[0]!.message).toMatch(/at ir\.ops\[0\]\.capacity: expected a whole number from 1 to 1001/);
    const wrongLayout = resigned(counting, (x) => (x.ir.keyGroups[0].slots += 1));
    expect(loadCompiled(wrongLayout).diagnostics[0]!.message).toMatch(/at ir\.keyGroups\[0\]\.slots: expected 5 slots/);
  });

  it("loadCompiledOrThrow throws a PolicyLoadError with the diagnostics", () => {
    expect(loadCompiledOrThrow(c).hash).toBe(c.hash);
    let error: unknown;
    try {
      loadCompiledOrThrow({ ...c, format: 9 }, { file: "p.json" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyLoadError);
    expect((error as PolicyLoadError).diagnostics.map((d) => d.code)).toEqual(["R321"]);
    expect((error as Error).message).toMatch(/^p\.json: error\[R321\]/);
  });

  it("never throws, and a policy it loads never throws either, for any change to any value (digest recomputed)", () => {
    const compiled = compiledOf("credential-stuffing");
    const request = { principal: { kind: "human", id: "u" }, action: "login.attempt", time: 0, context: { ip: "1.2.3.4" } };
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, p: (string | number)[]) => {
      paths.push(p);
      if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...p, Array.isArray(v) ? Number(k) : k]);
    };
    walk(compiled.ir, ["ir"]);
    const replacement = fc.oneof(fc.constant(null), fc.integer({ min: -3, max: 2000 }), fc.double(), fc.string({ maxLength: 4 }), fc.boolean(), fc.constant([]), fc.constant({}));
    fc.assert(
      fc.property(fc.constantFrom(...paths), replacement, (path, value) => {
        const copy = resigned(compiled, (x) => {
          let cur = x;
          for (const k of path.slice(0, -1)) cur = cur[k];
          if (path.length > 0) cur[path[path.length - 1]!] = value;
        });
        const r = loadCompiled(copy);
        if (r.policy === null) expect(codes(r)).toEqual(["R325"]);
        else {
          const d = r.policy.decide(r.policy.initialState(), request);
          expect(["allow", "deny", "challenge", "revoke"]).toContain(d.decision.effect);
        }
      }),
      { numRuns: 300 },
    );
  });
});
