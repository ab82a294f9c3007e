/** The static import graph of the sources, for tests of what loads what. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const STATIC_IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|(?:^|\n)\s*import\s+"([^"]+)"/g;

/** Static imports of a source file: relative ones resolved to files, packages by name. */
export function imports(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(file, "utf8");
  const files: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(STATIC_IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    if (m[0].includes("import type") || m[0].includes("export type")) continue;
    if (spec.startsWith(".")) files.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    else packages.push(spec);
  }
  return { files, packages };
}

/** Every file and package reachable from `entry` by static (non-type) imports. */
export function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (files.has(f) || !existsSync(f)) continue;
    files.add(f);
    const i = imports(f);
    for (const p of i.packages) packages.add(p);
    todo.push(...i.files);
  }
  return { files, packages };
}
