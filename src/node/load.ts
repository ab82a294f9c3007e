import { readFileSync } from "node:fs";
import { syntheticSpan } from "../ast/span.js";
import { compilePolicy, type CompileOptions, type CompileResult } from "../compile/compile.js";
import { diagnostic } from "../diagnostics/diagnostic.js";

/** A compiled file, with the text that was read (empty when the file could not be read). */
export type LoadPolicyResult = CompileResult & { readonly source: string };

/** Reads and compiles a `.rules` file; a file that cannot be read is a C298 diagnostic, not an exception. */
export function loadPolicy(path: string, options: Omit<CompileOptions, "file"> = {}): LoadPolicyResult {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch (e) {
    const span = syntheticSpan(path);
    return {
      policy: null,
      diagnostics: [diagnostic("C298", span, `cannot read ${path}: ${errorCode(e)}`, "check the path")],
      ast: { kind: "PolicyFile", span, items: [], comments: [] },
      source: "",
    };
  }
  return { ...compilePolicy(source, { ...options, file: path }), source };
}

export function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? "EIO";
}
