import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LspClient, ROOT } from "./harness.js";
import { readZip, type ZipEntry } from "./zip.js";

/**
 * The VS Code extension package: `npm run vsix` builds it, it holds the manifest, the grammar, the
 * client and the bundled server, and the server in it — extracted and run with plain node —
 * answers over stdio with no node_modules next to it.
 *
 * The build runs in a process of its own without `--disallow-code-generation-from-strings`: that
 * flag guards leash's code, and the packager (@vscode/vsce and its secret scanner) compiles
 * validators at run time.
 */
const dir = mkdtempSync(join(tmpdir(), "leash-vsix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vsix = join(dir, "leash-rules.vsix");
let entries: ZipEntry[];

describe("the .vsix", () => {
  it("builds with npm run vsix, and its size is printed", () => {
    const env = { ...process.env, NODE_OPTIONS: (process.env.NODE_OPTIONS ?? "").replace("--disallow-code-generation-from-strings", "") };
    const out = execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "editors", "vscode", "build.mts"), "--out", vsix], { cwd: ROOT, env, encoding: "utf8" });
    const line = out.trim().split("\n").pop()!;
    console.log(line);
    const kib = Number(/leash-rules\.vsix: ([\d.]+) KiB \(bundled server dist\/server\.js [\d.]+ KiB/.exec(line)?.[1]);
    expect(kib).toBeCloseTo(statSync(vsix).size / 1024, 1);
    entries = readZip(readFileSync(vsix));
  });

  it("contains the manifest, the grammar, the language configuration, the client and the server", () => {
    const names = entries.map((e) => e.name).sort();
    expect(names).toEqual(expect.arrayContaining([
      "extension.vsixmanifest",
      "extension/package.json",
      "extension/language-configuration.json",
      "extension/syntaxes/rules.tmLanguage.json",
      "extension/dist/extension.js",
      "extension/dist/server.js",
    ]));
    expect(names.some((n) => n.includes("node_modules"))).toBe(false);
    const manifest = JSON.parse(entries.find((e) => e.name === "extension/package.json")!.read().toString()) as { main: string; contributes: { languages: { extensions: string[] }[] } };
    expect(manifest.main).toBe("./dist/extension.js");
    expect(manifest.contributes.languages[0]!.extensions).toEqual([".rules"]);
    const grammar = entries.find((e) => e.name === "extension/syntaxes/rules.tmLanguage.json")!.read().toString();
    expect(grammar).toBe(readFileSync(join(ROOT, "grammar", "rules.tmLanguage.json"), "utf8"));
    const client = entries.find((e) => e.name === "extension/dist/extension.js")!.read().toString();
    expect(client).toContain('require("vscode")');
    expect(client).toContain("dist/server.js");
  });

  it("carries a server that runs on its own and answers over stdio", async () => {
    const server = join(dir, "server.js");
    writeFileSync(server, entries.find((e) => e.name === "extension/dist/server.js")!.read());
    const client = await LspClient.start({}, [process.execPath, server, "--stdio"]);
    try {
      expect(client.initialized.serverInfo?.name).toBe("leash");
      await client.open("file:///p.rules", "rule r: alow x.y\n");
      const d = await client.diagnostics("file:///p.rules", 1);
      expect(d.diagnostics.map((x) => x.code)).toEqual(["P105"]);
    } finally {
      expect(await client.stop()).toBe(0);
    }
  });
});
