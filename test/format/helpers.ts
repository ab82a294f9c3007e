import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { PolicyFile } from "../../src/ast/nodes.js";
import { stripSpans } from "../../src/ast/strip.js";
import { parsePolicy } from "../../src/syntax/index.js";

export const ROOT = new URL("../../", import.meta.url).pathname;

/** Every `.rules` file under `dirs` (relative to the repository root), sorted. */
export function rulesFiles(...dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".rules")) out.push(relative(ROOT, path));
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out.sort();
}

/** Parse and fail loudly with the diagnostics and the text when there are any. */
export function parseClean(text: string, file = "<printed>"): PolicyFile {
  const { ast, diagnostics } = parsePolicy(text, { file });
  if (diagnostics.length > 0) {
    throw new Error(`unexpected diagnostics:\n${diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.column} ${d.message}`).join("\n")}\n--- text ---\n${text}`);
  }
  return ast;
}

/** The items of a file without spans or comments: what formatting must not change. */
export function meaning(ast: PolicyFile): unknown {
  return stripSpans(ast.items);
}

export function commentTexts(ast: PolicyFile): string[] {
  return ast.comments.map((c) => c.text.split("\n").map((l) => l.trimEnd()).join("\n"));
}
