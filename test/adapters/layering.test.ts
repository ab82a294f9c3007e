import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { imports, reachable } from "../import-graph.js";

/**
 * Where the adapters sit: they use the core and the Guard; nothing the `leash` entry, the runtime
 * or the CLI loads reaches a framework (the proxy loads the MCP SDK only when it runs); the shared
 * tool layer (mapping, gate) loads no framework and no Node built-in, so every adapter can use it
 * wherever it runs; each framework adapter loads only its own framework.
 */
const ROOT = join(__dirname, "..", "..");
const FRAMEWORKS = /^(@modelcontextprotocol\/|ai$|ai\/|langchain$|langchain\/|@langchain\/)/;
const frameworksOf = (entry: string) => [...reachable(join(ROOT, entry)).packages].filter((p) => FRAMEWORKS.test(p)).sort();

describe("the adapters' place", () => {
  for (const entry of ["src/index.ts", "src/runtime/engine.ts", "src/cli/main.ts"]) {
    it(`${entry} loads no framework`, () => expect(frameworksOf(entry)).toEqual([]));
  }

  it("each adapter loads its own framework only", () => {
    expect(frameworksOf("src/adapters/mcp/index.ts")).toEqual(["@modelcontextprotocol/sdk/types.js"]);
    expect(frameworksOf("src/adapters/ai-sdk/index.ts")).toEqual([]);
    expect(frameworksOf("src/adapters/langchain/index.ts")).toEqual(["langchain"]);
  });

  it("the tool layer loads no framework and no Node built-in", () => {
    const dir = join(ROOT, "src", "adapters", "tools");
    const r = reachable(join(dir, "index.ts"));
    expect([...r.packages].filter((p) => p.startsWith("node:") || FRAMEWORKS.test(p))).toEqual([]);
    expect([...r.files].filter((f) => f.includes(`${join("src", "adapters")}`) && !f.startsWith(dir)).map((f) => relative(ROOT, f))).toEqual([]);
  });

  it("the core never imports an adapter", () => {
    const adapters = join(ROOT, "src", "adapters");
    const out: string[] = [];
    for (const layer of ["runtime", "compile", "syntax", "check", "guard", "stores", "diagnostics", "ast"]) {
      const dir = join(ROOT, "src", layer);
      for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
        for (const target of imports(join(dir, f)).files) if (target.startsWith(adapters)) out.push(`${layer}/${f} -> ${relative(ROOT, target)}`);
      }
    }
    expect(out).toEqual([]);
  });
});
