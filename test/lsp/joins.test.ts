import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LspClient, SERVER_COMMAND } from "./harness.js";

/**
 * Diagnostics of a file that joins others over the protocol: library modules (`use leash/login`,
 * bundled with leash) and relative imports, read from the editor's open documents or the disk.
 * A diagnostic about another file names it; one located in another file is shown at the `use` or
 * `import` that brings the file in.
 */
const SCHEMA = `schema {
  context { ip: string, country: string }
}
`;
const LOGINS = `import "../shared/schema.rules"
use leash/login { failures-per-ip: 3, window: 2m }

rule logins-base: allow login.attempt for human *
rule foreign: flag login.attempt when context.country == "zz"
`;

describe("the language server checks a file with what it uses and imports", () => {
  let dir: string;
  let client: LspClient;
  const uri = (path: string) => pathToFileURL(join(dir, path)).href;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "leash-lsp-joins-"));
    mkdirSync(join(dir, "shared"));
    mkdirSync(join(dir, "logins"));
    writeFileSync(join(dir, "shared", "schema.rules"), SCHEMA);
    client = await LspClient.start(undefined, SERVER_COMMAND, pathToFileURL(dir).href);
  }, 60_000);

  afterAll(async () => {
    await client?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a file that uses a library module and imports a schema from the disk has no diagnostics", async () => {
    writeFileSync(join(dir, "logins", "ok.rules"), LOGINS);
    await client.open(uri("logins/ok.rules"), LOGINS);
    const d = await client.diagnostics(uri("logins/ok.rules"), 1);
    expect(d.diagnostics).toEqual([]);
  }, 60_000);

  it("a rule named as one of the module's is C275, shown at the use and naming leash/login.rules", async () => {
    const text = `${LOGINS}rule login-block-ip: deny login.attempt when context.ip == "x"\n`;
    await client.open(uri("logins/dup.rules"), text);
    const d = (await client.diagnostics(uri("logins/dup.rules"), 1)).diagnostics.find((x) => x.code === "C275");
    expect(d).toBeDefined();
    const both = [d!.message, ...(d!.relatedInformation ?? []).map((r) => r.message)].join("\n");
    expect(both).toContain("leash/login.rules");
    expect(both).toContain("login-block-ip");
  }, 60_000);

  it("an attribute the imported schema declares with another type is C276, related to the other file's URI", async () => {
    const text = `import "../shared/schema.rules"\n\nschema {\n  context { country: number }\n}\n\nrule base: allow *\n`;
    await client.open(uri("logins/conflict.rules"), text);
    const d = (await client.diagnostics(uri("logins/conflict.rules"), 1)).diagnostics.find((x) => x.code === "C276");
    expect(d).toBeDefined();
    const other = (d!.relatedInformation ?? []).find((r) => r.location.uri === uri("shared/schema.rules"));
    expect(other, JSON.stringify(d)).toBeDefined();
    expect(other!.location.range.start.line).toBe(1);
  }, 60_000);

  it("an open document is read from the editor, not the disk; a missing import is C270 at the import", async () => {
    await client.open(uri("shared/open.rules"), "schema {\n  context { tier: string }\n}\n");
    const text = `import "../shared/open.rules"\nimport "../shared/missing.rules"\n\nrule tiers: allow * when context.tier == "gold"\n`;
    await client.open(uri("logins/open.rules"), text);
    const ds = (await client.diagnostics(uri("logins/open.rules"), 1)).diagnostics;
    expect(ds.map((x) => x.code)).toEqual(["C270"]);
    expect(ds[0]!.range.start).toEqual({ line: 1, character: 7 });
    expect(ds[0]!.message).toContain("missing.rules");
  }, 60_000);

  it("an import that climbs above the workspace folder is C271", async () => {
    const text = `import "../../outside.rules"\n\nrule base: allow *\n`;
    await client.open(uri("logins/escape.rules"), text);
    const ds = (await client.diagnostics(uri("logins/escape.rules"), 1)).diagnostics;
    expect(ds.map((x) => x.code)).toEqual(["C271"]);
  }, 60_000);
});
