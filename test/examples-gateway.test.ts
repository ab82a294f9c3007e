import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** The example gateway (examples/gateway/) runs as its README says, and answers as it shows. */
describe("examples/gateway", () => {
  it("starts, decides a short agent session through the Guard over HTTP, and stops", () => {
    const root = join(__dirname, "..");
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/gateway/gateway.ts"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    const readme = readFileSync(join(root, "examples/gateway/README.md"), "utf8");
    const shown = /```\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(out).toBe(shown);
    expect(out.split("\n").filter((l) => / 403 /.test(l))).toHaveLength(5);
  }, 90_000);
});
