import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatSource } from "../../src/format/print.js";
import { ROOT, rulesFiles } from "./helpers.js";

/**
 * Golden files: `test/fixtures/format/<case>.rules` formats to `<case>.formatted.rules`.
 * `LEASH_UPDATE_GOLDEN=1` rewrites the expected files (review the diff before committing).
 */
const cases = rulesFiles("test/fixtures/format").filter((f) => !f.endsWith(".formatted.rules"));

describe("golden formatting", () => {
  it.each(cases)("%s", (file) => {
    const source = readFileSync(join(ROOT, file), "utf8");
    const { output, diagnostics } = formatSource(source, file);
    expect(diagnostics).toEqual([]);
    const expectedPath = join(ROOT, file.replace(/\.rules$/, ".formatted.rules"));
    if (process.env.LEASH_UPDATE_GOLDEN) writeFileSync(expectedPath, output!);
    expect(existsSync(expectedPath), `${expectedPath} is missing; run with LEASH_UPDATE_GOLDEN=1`).toBe(true);
    expect(output).toBe(readFileSync(expectedPath, "utf8"));
    expect(formatSource(output!, file).output).toBe(output);
  });
});
