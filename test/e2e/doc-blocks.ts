/**
 * The TypeScript blocks of a documentation page that start with `// file: NAME.ts`, written out
 * under .tmp/docs/<page>/ with their `leash` imports pointing at src/, to be imported and run by
 * the tests. Relative paths in the blocks (policies, log files) resolve against the working
 * directory: `inScratchDir` gives the tests one with a copy of examples/.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const root = join(__dirname, "..", "..");

const ENTRIES: Readonly<Record<string, string>> = {
  "": "src/index.ts",
  "/http": "src/adapters/http/index.ts",
  "/node": "src/node/index.ts",
  "/log": "src/log/index.ts",
  "/otel": "src/log/otel.ts",
  "/redis": "src/stores/redis/index.ts",
};

/** The `// file:` blocks of a page, by file name, as written. */
export function docFiles(page: string): Map<string, string> {
  const lines = readFileSync(join(root, page), "utf8").split("\n");
  const out = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i]!)) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const name = /^\/\/ file: ([\w.-]+\.ts)$/.exec(body[0] ?? "")?.[1];
    if (name !== undefined) out.set(name, body.join("\n") + "\n");
  }
  return out;
}

/** Writes a page's block `name` out (imports rewritten) and returns its URL for `import()`. */
export function docModule(page: string, name: string): string {
  const text = docFiles(page).get(name);
  if (text === undefined) throw new Error(`${page} has no block "// file: ${name}"`);
  const source = text.replace(/from "leash((?:\/[\w-]+)?)"/g, (_, sub: string) => {
    const entry = ENTRIES[sub];
    if (entry === undefined) throw new Error(`${page}: no entry leash${sub}`);
    return `from ${JSON.stringify(join(root, entry))}`;
  });
  const dir = join(root, ".tmp", "docs", page.replace(/[\\/]/g, "_"));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, source);
  return pathToFileURL(path).href;
}

/** Makes a scratch directory with a copy of examples/ the working directory; returns it and a function that restores the old one. */
export function inScratchDir(): { dir: string; restore(): void } {
  const dir = mkdtempSync(join(tmpdir(), "leash-docs-"));
  cpSync(join(root, "examples"), join(dir, "examples"), { recursive: true });
  const previous = process.cwd();
  process.chdir(dir);
  return {
    dir,
    restore() {
      process.chdir(previous);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
