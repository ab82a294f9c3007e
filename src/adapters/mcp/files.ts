/** Reading a mapping file from disk (Node). */
import { readFileSync } from "node:fs";
import { syntheticSpan } from "../../ast/span.js";
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { ToolMapping } from "../tools/mapping.js";
import { loadMapping } from "../tools/mapping-file.js";

/** Reads and compiles the mapping at `path`; an unreadable file is C269. */
export function loadMappingFile(path: string): { mapping: ToolMapping | null; diagnostics: readonly Diagnostic[] } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return { mapping: null, diagnostics: [diagnostic("C269", syntheticSpan(path), `cannot read the mapping file ${path}: ${code}`)] };
  }
  return loadMapping(text, path);
}
