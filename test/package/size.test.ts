import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RUNTIME_BUDGET, type SizeRow } from "../../scripts/size.js";

/**
 * `npm run size` in a child process (tsup reads its configuration with eval, which the tests
 * forbid): every entry but leash/node bundles for the browser, leash/runtime within its budget,
 * and importing one small function does not bring the parser along.
 */
const ROOT = join(__dirname, "..", "..");
const env = { ...process.env, NODE_OPTIONS: "" };

describe("bundle sizes for the browser (scripts/size.ts)", () => {
  let rows: SizeRow[] = [];
  const row = (name: string) => rows.find((r) => r.app === name)!;

  it("every application bundles for the browser: no Node built-in is reachable from leash, leash/runtime or leash/testing", () => {
    const out = execFileSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "scripts", "size.ts"), "--json"], { cwd: ROOT, env, encoding: "utf8" });
    rows = JSON.parse(out) as SizeRow[];
    expect(rows.map((r) => r.app)).toEqual(expect.arrayContaining(["leash/runtime (everything it exports)", "leash (everything it exports)", "leash/testing (everything it exports)"]));
  }, 180_000);

  it(`leash/runtime is at most ${RUNTIME_BUDGET / 1024} KB gzipped`, () => {
    expect(row("leash/runtime (everything it exports)").gzip).toBeLessThanOrEqual(RUNTIME_BUDGET);
  });

  it("the operations beside decide are free functions of leash: importing them adds them alone, not the parser", () => {
    const runtime = row("leash/runtime (everything it exports)");
    const withOps = row("leash/runtime + observe, recheck, revoke from leash");
    expect(withOps.minified).toBeGreaterThan(runtime.minified);
    expect(withOps.gzip).toBeLessThan(runtime.gzip + 6 * 1024);
    expect(withOps.minified * 2).toBeLessThan(row("leash: compilePolicy").minified);
  });

  it("importing toMillis from leash takes neither the parser nor the engine (sideEffects and lazy construction)", () => {
    expect(row("leash: toMillis").minified).toBeLessThan(2048);
    expect(row("leash: compilePolicy").minified).toBeGreaterThan(row("leash/runtime (everything it exports)").minified * 2);
  });

  it("leash/node is the one entry that does not bundle for the browser (it reads files)", async () => {
    const esbuild = await import("esbuild");
    const dir = join(ROOT, "node_modules", ".cache", "leash-size", "app-node");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "leash-size-node-app", private: true, type: "module" }));
    writeFileSync(join(dir, "main.js"), `import { loadPolicy } from "leash/node"; globalThis.load = loadPolicy;`);
    const build = esbuild.build({ entryPoints: [join(dir, "main.js")], absWorkingDir: dir, bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent" });
    await expect(build).rejects.toThrow(/Could not resolve "fs"/);
  });
});
