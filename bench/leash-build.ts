/**
 * The leash the benchmarks time is the one users get: src/ bundled by tsup (esbuild, target
 * node20, no `keepNames`), as `npm run build` does. Importing src/ through tsx instead would time
 * tsx's transform, which sets esbuild's `keepNames` and so adds a `__name(fn, "...")` call for
 * every closure leash creates per decision (1.0–2.5x slower on the scope suite).
 *
 * `buildLeash()` writes the bundle to node_modules/.cache/leash-bench/ (inside the repo, so that
 * `chevrotain` and other dependencies still resolve) and returns its file URL; pass that URL to
 * child processes in `LEASH_BENCH_BUNDLE`. `LEASH_BENCH_SOURCE=1` times src/ through tsx instead.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = new URL("../", import.meta.url);
const ENTRY = new URL("src/index.ts", ROOT);

export const BUNDLE_ENV = "LEASH_BENCH_BUNDLE";

/** Whether leash exists yet (src/index.ts). */
export function leashPresent(): boolean {
  return existsSync(fileURLToPath(ENTRY));
}

/** Bundles src/index.ts with tsup and returns the bundle's file URL. */
export async function buildLeash(): Promise<string> {
  const bundle = (await buildEntries({ index: "src/index.ts" }, "leash-bench")).index!;
  process.env[BUNDLE_ENV] = bundle;
  return bundle;
}

/**
 * Bundles entries (name -> path from the repository root) as `npm run build` does, into
 * node_modules/.cache/DIR/, sharing chunks; returns each entry's file URL. `external` names the
 * packages left to the importer (the frameworks and clients a suite runs as they are).
 */
export async function buildEntries(entries: Readonly<Record<string, string>>, dir: string, external: readonly string[] = []): Promise<Record<string, string>> {
  const { build } = await import("tsup");
  const outDir = fileURLToPath(new URL(`node_modules/.cache/${dir}/`, ROOT));
  const entry = Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, fileURLToPath(new URL(path, ROOT))]));
  await build({
    entry,
    format: ["esm"],
    outDir,
    target: "node20",
    platform: "node",
    splitting: Object.keys(entries).length > 1,
    sourcemap: false,
    dts: false,
    clean: true,
    silent: true,
    config: false,
    external: [...external],
  });
  return Object.fromEntries(Object.keys(entries).map((name) => [name, pathToFileURL(`${outDir}${name}.js`).href]));
}

/**
 * The module to import for leash: the bundle named in `LEASH_BENCH_BUNDLE` (set by `buildLeash`
 * in this or the parent process), else a fresh bundle, else (with `LEASH_BENCH_SOURCE=1`) src/.
 */
export async function leashModuleUrl(): Promise<string> {
  if (process.env.LEASH_BENCH_SOURCE === "1") return ENTRY.href;
  return process.env[BUNDLE_ENV] ?? (await buildLeash());
}
