import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { imports, reachable } from "../import-graph.js";
import { ROOT } from "./harness.js";

/**
 * Where the language server sits: it uses the core (syntax, check, format, diagnostics, ast) and
 * nothing above it; nothing the `leash` entry, the runtime or another CLI command loads reaches
 * it or its protocol libraries (the CLI loads it only when `leash lsp` runs).
 */

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
