import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * What the parse-equivalence properties (the language server's incremental parse, the chunked parse
 * of large files) start from and how they edit it: the examples' policies, the formatter's fixtures,
 * and edits that remove a few characters somewhere and insert one of a test's snippets.
 */

const ROOT = join(import.meta.dirname, "..", "..");

/** The text of every `.rules` file in examples/. */
export const EXAMPLE_TEXTS: readonly string[] = readdirSync(join(ROOT, "examples"))
  .filter((f) => f.endsWith(".rules"))
  .map((f) => readFileSync(join(ROOT, "examples", f), "utf8"));

/** The formatter's fixtures (test/fixtures/format): comments, long rules, nesting, tests, workflows. */
export const FORMAT_FIXTURES: readonly string[] = ["comments", "long-rules", "nested-conditions", "strawman", "tests", "workflows"].map((f) => readFileSync(join(ROOT, "test", "fixtures", "format", `${f}.rules`), "utf8"));

/** One edit: at a fraction of the text's length, remove up to 12 characters and insert a snippet. */
export interface TextEdit {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
}

/** Edits whose inserted text is one of `snippets`. */
export function arbTextEdit(snippets: readonly string[]): fc.Arbitrary<TextEdit> {
  return fc.record({
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    remove: fc.nat({ max: 12 }),
    insert: fc.constantFrom(...snippets),
  });
}

/** `text` after the edit `e`. */
export function applyTextEdit(text: string, e: TextEdit): string {
  const at = Math.floor(e.at * text.length);
  return text.slice(0, at) + e.insert + text.slice(Math.min(text.length, at + e.remove));
}
