import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatSource } from "../../src/format/print.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { ROOT, commentTexts, meaning, parseClean, rulesFiles } from "./helpers.js";

/**
 * Every `.rules` file in the repository (examples, test corpora, fixtures): formatting keeps its
 * meaning and its comments, and formatting twice changes nothing. Files with syntax errors (the
 * parser's error fixtures) are left alone, as `leash fmt` leaves them.
 */
const files = rulesFiles("examples", "test");

describe("fmt on the repository's .rules files", () => {
  it("finds some", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)("%s", (file) => {
    const source = readFileSync(join(ROOT, file), "utf8");
    const original = parsePolicy(source, { file });
    const once = formatSource(source, file).output;
    if (once === null) {
      expect(original.diagnostics.some((d) => d.severity === "error")).toBe(true);
      return;
    }
    const reparsed = parseClean(once, file);
    expect(meaning(reparsed)).toEqual(meaning(original.ast));
    expect(commentTexts(reparsed)).toEqual(commentTexts(original.ast));
    expect(formatSource(once, file).output).toBe(once);
  });
});
