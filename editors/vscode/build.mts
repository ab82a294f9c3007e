/**
 * `npm run vsix [-- --out FILE]`: builds the VS Code extension into a self-contained .vsix.
 *
 * 1. esbuild bundles the client (src/extension.ts with vscode-languageclient; `vscode` is the
 *    editor's own) into dist/extension.js and the language server (src/lsp/stdio.ts with the
 *    parser, checker, lints and printer it uses) into dist/server.js, both CommonJS for the Node
 *    that VS Code runs;
 * 2. the TextMate grammar is copied from grammar/rules.tmLanguage.json into syntaxes/;
 * 3. @vscode/vsce packages the folder (nothing is published), without npm dependencies since both
 *    bundles carry theirs.
 *
 * Prints the .vsix's path and size and the bundled server's size.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");

/** Bundles the language server (`leash lsp` without the CLI around it) into one CommonJS file. */
export async function bundleServer(outfile: string): Promise<void> {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(ROOT, "src", "lsp", "stdio.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
  });
}

async function bundleClient(outfile: string): Promise<void> {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(HERE, "src", "extension.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
  });
}

export interface VsixBuild {
  readonly file: string;
  readonly bytes: number;
  readonly serverBytes: number;
  readonly clientBytes: number;
}

/** Builds the .vsix at `out` (default editors/vscode/NAME-VERSION.vsix). */
export async function buildVsix(out?: string): Promise<VsixBuild> {
  const manifest = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8")) as { name: string; version: string };
  const file = resolve(out ?? join(HERE, `${manifest.name}-${manifest.version}.vsix`));
  mkdirSync(join(HERE, "dist"), { recursive: true });
  mkdirSync(join(HERE, "syntaxes"), { recursive: true });
  mkdirSync(dirname(file), { recursive: true });
  await Promise.all([bundleServer(join(HERE, "dist", "server.js")), bundleClient(join(HERE, "dist", "extension.js"))]);
  copyFileSync(join(ROOT, "grammar", "rules.tmLanguage.json"), join(HERE, "syntaxes", "rules.tmLanguage.json"));
  const { createVSIX } = await import("@vscode/vsce");
  await createVSIX({
    cwd: HERE,
    packagePath: file,
    dependencies: false,
    allowMissingRepository: true,
    skipLicense: true,
    rewriteRelativeLinks: false,
  });
  return {
    file,
    bytes: statSync(file).size,
    serverBytes: statSync(join(HERE, "dist", "server.js")).size,
    clientBytes: statSync(join(HERE, "dist", "extension.js")).size,
  };
}

export function describeBuild(b: VsixBuild): string {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const shown = relative(process.cwd(), b.file);
  return `${shown.startsWith("..") ? b.file : shown}: ${kb(b.bytes)} (bundled server dist/server.js ${kb(b.serverBytes)}, client dist/extension.js ${kb(b.clientBytes)}, uncompressed)`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const at = process.argv.indexOf("--out");
  const out = at >= 0 ? process.argv[at + 1] : undefined;
  if (at >= 0 && out === undefined) {
    process.stderr.write("usage: npm run vsix [-- --out FILE.vsix]\n");
    process.exit(2);
  }
  const b = await buildVsix(out);
  console.log(describeBuild(b));
}
