/** Tool mappings read from JSON files, with every problem placed at its `file:line:col`. */
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import { parseJsonWithSpans, plainValue, type JsonNode } from "./json-spans.js";
import { compileMapping, MappingError, type Locate, type ToolMapping } from "./mapping.js";
import type { Span } from "../../ast/span.js";

/** Reads a mapping file's text: the mapping, or `null` and the diagnostics (C260, C264). */
export function loadMapping(text: string, file = "<mapping>"): { mapping: ToolMapping | null; diagnostics: readonly Diagnostic[] } {
  const parsed = parseJsonWithSpans(text, file);
  if ("problem" in parsed) {
    return { mapping: null, diagnostics: [diagnostic("C260", parsed.problem.span, `the mapping is not valid JSON: ${parsed.problem.message}`, "a mapping file is one JSON object")] };
  }
  return compileMapping(plainValue(parsed.node), { file, locate: locator(parsed.node) });
}

/** `loadMapping`, throwing a `MappingError` when the file has problems. */
export function loadMappingOrThrow(text: string, file = "<mapping>"): ToolMapping {
  const r = loadMapping(text, file);
  if (r.mapping === null) throw new MappingError(r.diagnostics);
  return r.mapping;
}

/** Finds the span of a path in the tree: the deepest node on the path that exists. */
function locator(root: JsonNode): Locate {
  return (path, part = "value") => {
    let node = root;
    let keySpan: Span | null = null;
    for (const step of path) {
      let next: JsonNode | undefined;
      if (node.t === "object" && typeof step === "string") {
        const entry = node.entries.find((e) => e.key === step);
        if (entry !== undefined) {
          next = entry.value;
          keySpan = entry.keySpan;
        }
      } else if (node.t === "array" && typeof step === "number") next = node.items[step];
      if (next === undefined) return node.span;
      node = next;
    }
    return part === "key" && keySpan !== null ? keySpan : node.span;
  };
}
