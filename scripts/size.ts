/**
 * `npm run size`: what leash adds to a browser application. Builds the package's JavaScript as
 * `npm run build` does (tsup.config.ts, without the type declarations) into
 * node_modules/.cache/leash-size/node_modules/leash, then bundles small applications that import it
 * with esbuild for the browser (minified, ESM, tree-shaken) and prints each one's size, minified and
 * gzipped. Bundling for the browser fails on any Node built-in, so a figure for an entry is also the
 * proof that the entry has none. Exits 1 when `leash/runtime` is over its budget (`RUNTIME_BUDGET`).
 *
 * `--json` prints the rows as one JSON array. `--modules` prints where the bytes of `leash/runtime`
 * are instead (see `moduleSizes`).
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CACHE = `${ROOT}node_modules/.cache/leash-size/`;
const PACKAGE = `${CACHE}node_modules/leash/`;

/**
 * The budget of an application importing only `leash/runtime`, gzipped. It measured 34.8 KB while
 * `Policy` had observe, recheck, revoke, reinstate, inspection, the Guard's step protocol and state
 * migration as methods; as free functions of `leash` (operations.ts, inspect.ts, steps.ts,
 * migrate.ts) they left the runtime, which measured 30.9 KB, and 30.7 KB once the help of the load
 * codes and one walk over conditions replaced their copies. The goal is 20 KB; `--modules` shows
 * why no text or fast path stands in the way: `Policy` alone (engine, indexes, state, request
 * validation, operators) is 19.4 KB of it (docs/runtime.md).
 */
export const RUNTIME_BUDGET = 31 * 1024;

/** An application: the module text esbuild bundles. */
export const APPS: readonly { readonly name: string; readonly code: string }[] = [
  { name: "leash/runtime (everything it exports)", code: `import * as leash from "leash/runtime"; globalThis.leash = leash;` },
  { name: "leash/runtime: loadCompiled + decide", code: `import { loadCompiledOrThrow } from "leash/runtime"; globalThis.policy = (json) => loadCompiledOrThrow(json);` },
  {
    name: "leash/runtime + observe, recheck, revoke from leash",
    code: `import { loadCompiledOrThrow } from "leash/runtime"; import { observe, recheck, revoke, reinstate } from "leash"; globalThis.leash = { loadCompiledOrThrow, observe, recheck, revoke, reinstate };`,
  },
  { name: "leash (everything it exports)", code: `import * as leash from "leash"; globalThis.leash = leash;` },
  { name: "leash: compilePolicy", code: `import { compilePolicy } from "leash"; globalThis.compile = compilePolicy;` },
  { name: "leash: toMillis", code: `import { toMillis } from "leash"; globalThis.toMillis = toMillis;` },
  { name: "leash/testing (everything it exports)", code: `import * as t from "leash/testing"; globalThis.t = t;` },
];

export interface SizeRow {
  readonly app: string;
  readonly minified: number;
  readonly gzip: number;
}

/** Builds the package into the cache (JavaScript only) and returns the directory it is in. */
export async function buildPackage(): Promise<string> {
  const { build } = await import("tsup");
  const configs = (await import("../tsup.config.js")).default as unknown as Record<string, unknown>[];
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(PACKAGE, { recursive: true });
  cpSync(`${ROOT}package.json`, `${PACKAGE}package.json`);
  for (const config of configs) await build({ ...config, outDir: `${PACKAGE}dist`, dts: false, sourcemap: false, silent: true, config: false, clean: false });
  return PACKAGE;
}

/** How every application is bundled: for the browser, minified, ESM, tree-shaken, with the metafile. */
const BROWSER_BUNDLE = { bundle: true, minify: true, platform: "browser", format: "esm", target: "es2022", write: false, logLevel: "silent", metafile: true } as const;

/** The size of each application in `APPS`, bundled for the browser against the built package. */
export async function measureSizes(): Promise<SizeRow[]> {
  const esbuild = await import("esbuild");
  await buildPackage();
  const rows: SizeRow[] = [];
  const dir = `${CACHE}app/`;
  mkdirSync(dir, { recursive: true });
  // A package of its own, so that "leash" is not resolved as a self-reference of the repository.
  writeFileSync(`${dir}package.json`, JSON.stringify({ name: "leash-size-app", private: true, type: "module" }));
  for (const app of APPS) {
    writeFileSync(`${dir}main.js`, app.code);
    const out = await esbuild.build({ ...BROWSER_BUNDLE, entryPoints: [`${dir}main.js`], absWorkingDir: dir });
    const inputs = Object.keys(out.metafile.inputs);
    if (!inputs.some((f) => f.includes("node_modules/leash/dist/"))) throw new Error(`${app.name}: leash was not resolved to the build (${inputs.join(", ")})`);
    const code = out.outputFiles[0]!.contents;
    rows.push({ app: app.name, minified: code.length, gzip: gzipSync(code, { level: 9 }).length });
  }
  return rows;
}

/** One source module of the `leash/runtime` bundle: its minified bytes, and the gzipped bytes the bundle loses without it. */
export interface ModuleRow {
  readonly module: string;
  readonly minified: number;
  /** The bundle's gzipped size less its size with this module's exports stubbed out (so without what only it reaches). */
  readonly gzipWithout: number;
}

/** The runtime in layers, each an application of the one before and what it adds. */
const LAYERS: readonly (readonly [string, string])[] = [
  ["Policy: the engine, action and rule index, state, request validation, operators", `import { Policy } from "./src/runtime/engine.ts"; globalThis.x = Policy;`],
  ["+ policyFromIR: the evaluators generated from the IR", `import { policyFromIR } from "./src/compile/from-ir.ts"; globalThis.x = policyFromIR;`],
];

/**
 * Where the bytes of an application importing all of `leash/runtime` are: the runtime entry bundled
 * from source (the package build splits it into chunks, which hide the modules), minified as
 * `measureSizes` does. Per module, the bytes esbuild's metafile says it puts into the bundle, and
 * what the gzipped bundle loses when the module is replaced by a stub exporting the same names (so
 * also the modules only it reaches). The total is within a few hundred bytes of the built package's.
 */
export async function moduleSizes(): Promise<{ readonly minified: number; readonly gzip: number; readonly modules: readonly ModuleRow[]; readonly layers: readonly SizeRow[] }> {
  const esbuild = await import("esbuild");
  const bundle = async (stub: { readonly path: string; readonly names: readonly string[] } | null, entry = `import * as leash from "./src/runtime/index.ts"; globalThis.leash = leash;`) => {
    const plugins = stub === null ? [] : [{ name: "stub", setup: (b: import("esbuild").PluginBuild) => b.onLoad({ filter: /\.ts$/ }, (args) => (args.path === stub.path ? { contents: stub.names.length === 0 ? "" : `export const ${stub.names.map((n) => `${n} = void 0`).join(", ")};`, loader: "js" } : undefined)) }];
    const out = await esbuild.build({ ...BROWSER_BUNDLE, stdin: { contents: entry, resolveDir: ROOT, loader: "js" }, absWorkingDir: ROOT, plugins });
    const code = out.outputFiles[0]!.contents;
    return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length, inputs: Object.values(out.metafile.outputs)[0]!.inputs };
  };
  const full = await bundle(null);
  const modules: ModuleRow[] = [];
  for (const [file, { bytesInOutput }] of Object.entries(full.inputs)) {
    if (file === "<stdin>") continue;
    const own = await esbuild.build({ entryPoints: [`${ROOT}${file}`], bundle: false, write: false, metafile: true, format: "esm", outdir: `${CACHE}modules`, logLevel: "silent" });
    const names = Object.values(own.metafile.outputs)[0]!.exports.filter((n) => n !== "default");
    const without = await bundle({ path: `${ROOT}${file}`, names });
    modules.push({ module: file, minified: bytesInOutput, gzipWithout: full.gzip - without.gzip });
  }
  modules.sort((a, b) => b.minified - a.minified);
  const layers: SizeRow[] = [];
  for (const [app, entry] of LAYERS) {
    const b = await bundle(null, entry);
    layers.push({ app, minified: b.minified, gzip: b.gzip });
  }
  layers.push({ app: "+ loadCompiled: the compiled-form check (IR check, SHA-256, canonical JSON): all of leash/runtime", minified: full.minified, gzip: full.gzip });
  return { minified: full.minified, gzip: full.gzip, modules, layers };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  if (process.argv.includes("--modules")) {
    const { minified, gzip, modules, layers } = await moduleSizes();
    console.log(`leash/runtime from source: ${kb(minified)} minified, ${kb(gzip)} gzipped\n`);
    console.log("| module | minified in the bundle | gzip -9 saved without it |\n|---|---:|---:|");
    for (const m of modules) console.log(`| \`${m.module}\` | ${m.minified} B | ${m.gzipWithout} B |`);
    console.log("\n| layer | minified | gzip -9 |\n|---|---:|---:|");
    for (const l of layers) console.log(`| ${l.app} | ${kb(l.minified)} | ${kb(l.gzip)} |`);
    return;
  }
  const rows = await measureSizes();
  if (process.argv.includes("--json")) console.log(JSON.stringify(rows));
  else {
    const head = "application (esbuild --bundle --minify --platform=browser)";
    const width = Math.max(head.length, ...rows.map((r) => r.app.length));
    console.log(`${head.padEnd(width)}  ${"minified".padStart(9)}  ${"gzip -9".padStart(8)}`);
    for (const r of rows) console.log(`${r.app.padEnd(width)}  ${kb(r.minified).padStart(9)}  ${kb(r.gzip).padStart(8)}`);
  }
  const runtime = rows[0]!;
  if (runtime.gzip > RUNTIME_BUDGET) {
    console.error(`leash/runtime is ${kb(runtime.gzip)} gzipped, over its budget of ${kb(RUNTIME_BUDGET)}`);
    process.exitCode = 1;
  } else console.error(`leash/runtime: ${kb(runtime.gzip)} gzipped, within its budget of ${kb(RUNTIME_BUDGET)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
