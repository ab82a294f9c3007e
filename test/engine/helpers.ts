import { compilePolicy, type CompileOptions, type Policy } from "../../src/index.js";

/** Compiles a policy or fails the test with its diagnostics. */
export function policyOf(src: string, options: CompileOptions = {}): Policy {
  const r = compilePolicy(src, { file: "t.rules", ...options });
  if (!r.policy) throw new Error(r.diagnostics.map((d) => `${d.span.line}:${d.span.column} ${d.code} ${d.message}`).join("\n"));
  return r.policy;
}

export const agent = (id: string) => ({ kind: "agent", id });
export const service = (id: string) => ({ kind: "service", id });
