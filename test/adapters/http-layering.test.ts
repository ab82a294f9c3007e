import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { reachable } from "../import-graph.js";

/**
 * Where leash/http, leash/log and leash/otel sit: the HTTP adapter loads no framework (express,
 * fastify and hono are met through their request objects); the decision log loads no telemetry and
 * no framework; only leash/otel loads @opentelemetry/api; nothing the `leash` entry or the runtime
 * loads reaches any of them.
 */
const ROOT = join(__dirname, "..", "..");
const packagesOf = (entry: string) => [...reachable(join(ROOT, entry)).packages].sort();
const filesOf = (entry: string) => [...reachable(join(ROOT, entry)).files].map((f) => relative(ROOT, f));

describe("leash/http, leash/log and leash/otel", () => {
  it("leash/http loads no framework and no telemetry", () => {
    expect(packagesOf("src/adapters/http/index.ts").filter((p) => !p.startsWith("node:"))).toEqual([]);
  });

  it("leash/log loads Node's fs (the JSONL sink) and nothing else outside leash", () => {
    expect(packagesOf("src/log/index.ts")).toEqual(["node:fs"]);
  });

  it("leash/otel loads @opentelemetry/api only", () => {
    expect(packagesOf("src/log/otel.ts")).toEqual(["@opentelemetry/api"]);
  });

  it("the leash entry and the engine reach neither the log nor the HTTP adapter", () => {
    for (const entry of ["src/index.ts", "src/runtime/engine.ts", "src/guard/index.ts"]) {
      expect(filesOf(entry).filter((f) => f.startsWith(join("src", "log")) || f.startsWith(join("src", "adapters")))).toEqual([]);
    }
  });
});
