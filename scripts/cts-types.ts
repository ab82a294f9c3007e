/**
 * After `tsup` (part of `npm run build`): the CommonJS type declarations, as copies of the ESM ones.
 * Each `dist/X.d.ts` becomes `dist/X.d.cts` with its relative imports pointing at the `.cjs`
 * siblings, which is what a CommonJS consumer's TypeScript resolves (`require` condition,
 * moduleResolution node16). The two sets would be the same declarations; generating them once halves
 * the build's longest step.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));

export function writeCtsTypes(dir = DIST): string[] {
  const written: string[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".d.ts"))) {
    const text = readFileSync(`${dir}${name}`, "utf8").replace(/(from\s+|import\s*\(\s*)(["'])(\.{1,2}\/[^"']+)\.js\2/g, "$1$2$3.cjs$2");
    const target = name.replace(/\.d\.ts$/, ".d.cts");
    writeFileSync(`${dir}${target}`, text);
    written.push(target);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const written = writeCtsTypes();
  if (written.length === 0) {
    console.error("cts-types: no .d.ts files in dist/ (run tsup first)");
    process.exitCode = 1;
  } else console.error(`cts-types: ${written.length} .d.cts files`);
}
