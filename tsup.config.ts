import { defineConfig } from "tsup";

/**
 * The library entries share one copy of the engine: both formats are split into chunks, so
 * `leash/testing` and `leash/runtime` import the same `Policy` and `PolicyCompileError` as `leash`.
 * The CLI is ESM only (bin/leash.mjs imports it) and reuses the ESM chunks. The two builds run at
 * once, so neither cleans dist/: `npm run build` empties it first, and writes the CommonJS type
 * declarations (`.d.cts`) after, as copies of the ESM ones (scripts/cts-types.ts).
 */
const entry = {
  index: "src/index.ts",
  runtime: "src/runtime/index.ts",
  node: "src/node/index.ts",
  testing: "src/testing/index.ts",
  redis: "src/stores/redis/index.ts",
  mcp: "src/adapters/mcp/index.ts",
  "ai-sdk": "src/adapters/ai-sdk/index.ts",
  langchain: "src/adapters/langchain/index.ts",
  http: "src/adapters/http/index.ts",
  log: "src/log/index.ts",
  otel: "src/log/otel.ts",
};

export default defineConfig([
  {
    entry: { ...entry, cli: "src/cli/bin.ts" },
    format: ["esm"],
    dts: { entry },
    sourcemap: true,
    target: "node20",
    splitting: true,
    external: ["ioredis", "@opentelemetry/api"],
  },
  {
    entry,
    format: ["cjs"],
    sourcemap: true,
    target: "node20",
    splitting: true,
    // Rollup writes the CommonJS chunks (tsup's own CommonJS splitting would down-level `?.` and `??`).
    treeshake: true,
    external: ["ioredis", "@opentelemetry/api"],
  },
]);
