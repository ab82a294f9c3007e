import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    testing: "src/testing/index.ts",
    cli: "src/cli/bin.ts",
    mcp: "src/adapters/mcp/index.ts",
    "ai-sdk": "src/adapters/ai-sdk/index.ts",
    langchain: "src/adapters/langchain/index.ts",
  },
  format: ["esm", "cjs"],
  dts: {
    entry: {
      index: "src/index.ts",
      testing: "src/testing/index.ts",
      mcp: "src/adapters/mcp/index.ts",
      "ai-sdk": "src/adapters/ai-sdk/index.ts",
      langchain: "src/adapters/langchain/index.ts",
    },
  },
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: false,
});
