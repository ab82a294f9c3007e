import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./harness.js";

/**
 * Where the language server sits: it uses the core (syntax, check, format, diagnostics, ast) and
 * nothing above it; nothing the `leash` entry, the runtime or another CLI command loads reaches
 * it or its protocol libraries (the CLI loads it only when `leash lsp` runs).
 */

const STATIC_IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|(?:^|\n)\s*import\s+"([^"]+)"/g;

/** Static imports of a source file: relative ones resolved to files, packages by name. */
function imports(file: string): { files: string[]; packages: string[] } {
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
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
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

const LSP_PACKAGES = ["vscode-languageserver", "vscode-languageserver/node", "vscode-languageserver-textdocument", "vscode-jsonrpc", "immer"];
const lspDir = join(ROOT, "src", "lsp");

describe("the language server's place", () => {
  for (const entry of ["src/index.ts", "src/runtime/engine.ts", "src/cli/main.ts"]) {
    it(`${entry} does not load it`, () => {
      const r = reachable(join(ROOT, entry));
      expect(r.files.size).toBeGreaterThan(5);
      expect([...r.files].filter((f) => f.startsWith(lspDir)).map((f) => relative(ROOT, f))).toEqual([]);
      expect([...r.packages].filter((p) => LSP_PACKAGES.includes(p))).toEqual([]);
    });
  }

  it("src/lsp imports only the core below it", () => {
    const allowed = ["ast", "syntax", "check", "format", "diagnostics", "lsp"].map((d) => join(ROOT, "src", d));
    const outside: string[] = [];
    for (const f of readdirSync(lspDir)) {
      for (const target of imports(join(lspDir, f)).files) {
        const ok = allowed.some((d) => target.startsWith(d + "/")) || target === join(ROOT, "src", "runtime", "glob.ts");
        if (!ok) outside.push(`${f} -> ${relative(ROOT, target)}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("leash lsp loads the server only when it runs", () => {
    const command = readFileSync(join(ROOT, "src", "cli", "commands", "lsp.ts"), "utf8");
    expect(imports(join(ROOT, "src", "cli", "commands", "lsp.ts")).files.filter((f) => f.startsWith(lspDir))).toEqual([]);
    expect(command).toContain('await import("../../lsp/index.js")');
  });
});
