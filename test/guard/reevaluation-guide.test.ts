/**
 * docs/reevaluation.md's hold example runs: its `// file: hold.ts` block is written out (with its
 * `leash` import pointing at src/), run, and prints the `text` block that follows it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(__dirname, "../..");

describe("docs/reevaluation.md", () => {
  it("the hold example prints what the page says", () => {
    const page = readFileSync(join(root, "docs/reevaluation.md"), "utf8");
    const m = /```ts\n(\/\/ file: hold\.ts\n[\s\S]*?)```\n\nprints\n\n```text\n([\s\S]*?)```/.exec(page);
    expect(m, "docs/reevaluation.md has a `// file: hold.ts` block followed by its output").not.toBeNull();
    const source = m![1]!.replace(/from "leash"/g, `from ${JSON.stringify(join(root, "src/index.ts"))}`);
    const dir = join(root, ".tmp", "guide-reevaluation");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "hold.ts"), source);
    const out = spawnSync(process.execPath, ["--import", "tsx", join(dir, "hold.ts")], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(out.stderr).toBe("");
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(m![2]);
  });
});
