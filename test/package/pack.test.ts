import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The package as users install it: `npm pack` (which builds it), the tarball unpacked into a
 * consumer's node_modules, and the consumer's ESM, CommonJS and TypeScript (every module
 * resolution) code run against it; publint on the unpacked package.
 */
const ROOT = join(__dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "leash-pack-"));
const consumer = join(work, "consumer");
const installed = join(consumer, "node_modules", "leash");
let files: string[] = [];

beforeAll(() => {
  // The build runs without the test's --disallow-code-generation-from-strings: tsup needs eval to
  // read its configuration (without it, it misses package.json and writes CommonJS over the ESM).
  const env = { ...process.env, NODE_OPTIONS: "" };
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  // npm prints the build's output before its JSON, which starts on a line of its own.
  const json = out.search(/^\[\s*$/m);
  if (json < 0) throw new Error(`npm pack printed no JSON:\n${out}`);
  const [info] = JSON.parse(out.slice(json)) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path).sort();
  mkdirSync(join(consumer, "node_modules"), { recursive: true });
  execFileSync("tar", ["-xzf", join(work, info!.filename), "-C", join(consumer, "node_modules")]);
  renameSync(join(consumer, "node_modules", "package"), installed);
  // leash's dependencies (and the optional peer of leash/redis), as npm would install them next to it.
  for (const dep of ["chevrotain", "fast-check", "ioredis"]) symlinkSync(join(ROOT, "node_modules", dep), join(consumer, "node_modules", dep));
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: consumer, encoding: "utf8" });

const POLICY = 'rule readers: allow doc.read for agent *\n';

describe("npm pack", () => {
  it("ships the entries, types, CLI, grammar, docs and LICENSE, and nothing unused", () => {
    for (const entry of ["index", "runtime", "node", "testing", "redis"]) {
      for (const ext of ["js", "cjs", "d.ts", "d.cts"]) expect(files).toContain(`dist/${entry}.${ext}`);
    }
    for (const f of ["LICENSE", "README.md", "package.json", "bin/leash.mjs", "dist/cli.js", "grammar/rules.ebnf", "grammar/rules.tmLanguage.json", "docs/index.md", "docs/runtime.md"]) expect(files).toContain(f);
    expect(files).not.toContain("dist/cli.cjs");
    expect(files).not.toContain("grammar/railroad.ts");
    expect(files.filter((f) => /^(src|test|bench|scripts|playground|examples)\//.test(f) || f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(readFileSync(join(installed, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0/);
  });

  it("publint finds nothing, in strict mode", async () => {
    const { publint } = await import("publint");
    const { messages } = await publint({ pkgDir: installed, strict: true, pack: false });
    expect(messages).toEqual([]);
  });
});

describe("one engine behind every entry", () => {
  const script = (kind: "esm" | "cjs") => {
    const load = kind === "esm" ? (m: string) => `await import(${JSON.stringify(m)})` : (m: string) => `require(${JSON.stringify(m)})`;
    return `
      const leash = ${load("leash")};
      const testing = ${load("leash/testing")};
      const runtime = ${load("leash/runtime")};
      const nodeEntry = ${load("leash/node")};
      const out = {};
      try { testing.expectPolicy("rule r: alow x.y\\n").never("allow", "x.y"); } catch (e) {
        out.compileError = e instanceof leash.PolicyCompileError;
        out.name = e.constructor.name;
      }
      const built = leash.buildCompiled(${JSON.stringify(POLICY)}).compiled;
      const loaded = runtime.loadCompiledOrThrow(JSON.stringify(built));
      out.policy = loaded instanceof leash.Policy && runtime.Policy === leash.Policy;
      out.effect = loaded.decide(loaded.initialState(), { principal: { kind: "agent", id: "a" }, action: "doc.read", time: 0 }).decision.effect;
      try { runtime.loadCompiledOrThrow({ ...built, leash: "0.0.0" }); } catch (e) { out.loadError = e instanceof leash.PolicyLoadError && e.diagnostics[0].code; }
      out.missing = nodeEntry.loadPolicy("no-such.rules").diagnostics[0].code;
      out.version = runtime.VERSION === leash.VERSION && leash.VERSION;
      console.log(JSON.stringify(out));`;
  };
  const expected = { compileError: true, name: "PolicyCompileError", policy: true, effect: "allow", loadError: "R322", missing: "C298", version: JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version };

  it("ESM: an error thrown by leash/testing is a leash PolicyCompileError; leash/runtime's Policy is leash's", () => {
    writeFileSync(join(consumer, "esm.mjs"), script("esm"));
    expect(JSON.parse(node(["esm.mjs"]))).toEqual(expected);
  });

  it("CommonJS: the same", () => {
    writeFileSync(join(consumer, "cjs.cjs"), `(async () => {${script("cjs")}})();`);
    expect(JSON.parse(node(["cjs.cjs"]))).toEqual(expected);
  });

  it("the CLI runs from the package (ESM only)", () => {
    writeFileSync(join(consumer, "p.rules"), POLICY);
    node([join(installed, "bin", "leash.mjs"), "build", "p.rules", "-o", "p.json"]);
    expect(JSON.parse(readFileSync(join(consumer, "p.json"), "utf8"))).toMatchObject({ kind: "leash-compiled-policy", format: 1 });
  });
});

describe("types resolve under every moduleResolution", () => {
  const code = `
    import { compilePolicyOrThrow, Policy, PolicyCompileError, type Decision } from "leash";
    import { loadCompiled, type CompiledPolicy, type LoadCompiledResult } from "leash/runtime";
    import { expectPolicy, arbTrace } from "leash/testing";
    import { loadPolicy } from "leash/node";
    import type { RedisStoreOptions } from "leash/redis";
    const policy: Policy = compilePolicyOrThrow("rule r: allow a.b\\n");
    const loaded: LoadCompiledResult = loadCompiled({} as CompiledPolicy);
    const same: Policy | null = loaded.policy;
    const d: Decision = policy.decide(policy.initialState(), {}).decision;
    const e: PolicyCompileError | null = null;
    const redis: RedisStoreOptions | null = null;
    export const all = [same, d.effect, e, expectPolicy, arbTrace, loadPolicy("x.rules").diagnostics, redis];
  `;
  for (const [resolution, module] of [["node10", "commonjs"], ["node16", "node16"], ["nodenext", "nodenext"], ["bundler", "esnext"]] as const) {
    it(`moduleResolution ${resolution}`, () => {
      const dir = join(consumer, `types-${resolution}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "main.ts"), code);
      const config = { compilerOptions: { strict: true, noEmit: true, module, moduleResolution: resolution, target: "es2022", types: [], skipLibCheck: true }, files: ["main.ts"] };
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(config));
      let output = "";
      try {
        execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { encoding: "utf8" });
      } catch (e) {
        output = String((e as { stdout?: string }).stdout ?? e);
      }
      expect(output).toBe("");
    });
  }
});
