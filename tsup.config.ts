import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", testing: "src/testing/index.ts", redis: "src/stores/redis/index.ts", log: "src/log/index.ts", otel: "src/log/otel.ts", http: "src/adapters/http/index.ts", cli: "src/cli/bin.ts" },
  format: ["esm", "cjs"],
  dts: { entry: { index: "src/index.ts", testing: "src/testing/index.ts", redis: "src/stores/redis/index.ts", log: "src/log/index.ts", otel: "src/log/otel.ts", http: "src/adapters/http/index.ts" } },
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: false,
  external: ["ioredis", "@opentelemetry/api"],
});
