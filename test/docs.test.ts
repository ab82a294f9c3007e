import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPolicy } from "../src/check/check.js";
import { lintPolicy } from "../src/check/lints.js";
import { compilePolicy } from "../src/compile/compile.js";
import { CODES } from "../src/diagnostics/codes.js";
import { runTests } from "../src/testing/runner.js";

/**
 * The documentation is executable: every ```rules block in docs/ and README.md compiles and its
 * `test` blocks pass; every ```rules-error block in docs/errors.md produces the code of its
 * section; the error catalog and src/diagnostics/codes.ts list the same codes; every relative link
 * in docs/ points at a file (and, for a markdown file, at a heading that exists).
 */
const root = resolve(__dirname, "..");

function markdownFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? markdownFiles(path) : name.endsWith(".md") ? [path] : [];
    })
    .sort();
}

const docs = markdownFiles(join(root, "docs"));
const files = [...docs, join(root, "README.md")];

interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly text: string;
  /** The nearest `## ` heading above the block. */
  readonly section: string;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: Block[] = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("## ")) section = line.slice(3).trim();
    const open = /^(\s*)```([\w-]*)\s*$/.exec(line);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    out.push({ file, line: i + 1, lang: open[2]!, text: body.join("\n") + "\n", section });
    i = j;
  }
  return out;
}

const where = (b: Block) => `${relative(root, b.file)}:${b.line}`;
const sectionCode = (b: Block) => /^([LPCWR]\d{3})\b/.exec(b.section)?.[1];

describe("rules blocks in the documentation compile and their tests pass", () => {
  const blocks = files.flatMap(blocksOf).filter((b) => b.lang === "rules");
  it("there are rules blocks to check", () => expect(blocks.length).toBeGreaterThan(50));
  for (const b of blocks) {
    it(where(b), () => {
      const compiled = compilePolicy(b.text, { file: where(b) });
      const errors = compiled.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.span.line}:${d.span.column} ${d.message}`);
      expect(errors).toEqual([]);
      const failures = runTests(compiled.policy!, compiled.ast)
        .flatMap((t) => t.steps.filter((s) => !s.ok).map((s) => `test "${t.name}" step ${s.index}: ${s.message ?? "failed"}`));
      expect(failures).toEqual([]);
      const code = sectionCode(b);
      if (code?.startsWith("W")) {
        const warnings = lintPolicy(compiled.ast, checkPolicy(compiled.ast).schema).filter((d) => d.code === code);
        expect(warnings.map((d) => d.message)).toEqual([]);
      }
    });
  }
});

describe("rules-error examples in the error catalog produce their code", () => {
  const blocks = blocksOf(join(root, "docs", "errors.md")).filter((b) => b.lang === "rules-error");
  for (const b of blocks) {
    const code = sectionCode(b);
    it(`${where(b)} (${code})`, () => {
      expect(code).toBeDefined();
      const compiled = compilePolicy(b.text, { file: where(b) });
      if (code!.startsWith("W")) {
        expect(compiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
        const warnings = lintPolicy(compiled.ast, checkPolicy(compiled.ast).schema);
        expect(warnings.map((d) => d.code)).toContain(code);
      } else {
        expect(compiled.diagnostics.map((d) => d.code)).toContain(code);
      }
    });
  }
});

describe("the error catalog", () => {
  const text = readFileSync(join(root, "docs", "errors.md"), "utf8");
  const headings = [...text.matchAll(/^## ([A-Z]\d{3}) — (.+)$/gm)].map((m) => ({ code: m[1]!, title: m[2]!.trim() }));
  it("has an entry for every code in src/diagnostics/codes.ts, with its title", () => {
    const documented = new Map(headings.map((h) => [h.code, h.title]));
    for (const [code, info] of Object.entries(CODES)) expect(`${code} — ${documented.get(code) ?? "(missing)"}`).toBe(`${code} — ${info.title}`);
  });
  it("documents no code that the catalog does not have, and each once", () => {
    const codes = headings.map((h) => h.code);
    expect(codes.filter((c) => !(c in CODES))).toEqual([]);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  // typedoc-plugin-markdown and hand-written HTML anchors
  for (const m of text.matchAll(/<a (?:name|id)="([^"]+)"/g)) out.add(m[1]!);
  return out;
}

describe("relative links in docs/ resolve", () => {
  for (const file of docs) {
    it(relative(root, file), () => {
      const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
      const broken: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const [path, anchor] = target.split("#") as [string, string | undefined];
        const full = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(full)) {
          if (!KNOWN_MISSING.has(relative(root, full))) broken.push(`${target}: no such file`);
          continue;
        }
        if (anchor && full.endsWith(".md") && !anchorsOf(full).has(anchor)) broken.push(`${target}: no heading #${anchor}`);
      }
      expect(broken).toEqual([]);
    });
  }
});

/**
 * Files docs link to that are not in the repository yet, each with what will make it. A listed file
 * is checked like any other once it exists; remove its entry then.
 */
const KNOWN_MISSING: ReadonlyMap<string, string> = new Map([
  ["docs/railroad.html", "railroad diagrams of grammar/rules.ebnf (npm run railroad; grammar/railroad.ts is not written yet)"],
]);

/**
 * The example a guide explains: examples/NAME.rules for docs/guides/NAME.md, or, for a guide with no
 * example of its own name (an integration guide), the first example it links to.
 */
function exampleOf(guide: string): string {
  const own = join(root, "examples", guide.split(/[\\/]/).pop()!.replace(/\.md$/, ".rules"));
  if (existsSync(own)) return own;
  const text = readFileSync(guide, "utf8");
  const linked = /\]\(\.\.\/\.\.\/examples\/([\w-]+\.rules)\)/.exec(text);
  // The library's guides quote the module's tests (test/library/NAME.rules).
  const library = /\]\(\.\.\/\.\.\/test\/library\/([\w-]+\.rules)\)/.exec(text);
  return linked ? join(root, "examples", linked[1]!) : library ? join(root, "test", "library", library[1]!) : own;
}

describe("guides quote their example as it is", () => {
  for (const file of docs.filter((f) => f.includes(`${join("docs", "guides")}`))) {
    const example = exampleOf(file);
    it(relative(root, file), () => {
      expect(existsSync(example), `${relative(root, example)} exists`).toBe(true);
      const source = readFileSync(example, "utf8").split("\n");
      const headers = new Map(source.filter((l) => /^(rule|workflow) [\w-]+/.test(l)).map((l) => [/^(?:rule|workflow) ([\w-]+)/.exec(l)![1]!, l.trimEnd()]));
      const drift: string[] = [];
      for (const b of blocksOf(file)) {
        for (const line of b.text.split("\n")) {
          const m = /^(?:rule|workflow) ([\w-]+)/.exec(line);
          const original = m ? headers.get(m[1]!) : undefined;
          if (original !== undefined && original !== line.trimEnd()) drift.push(`${where(b)}: "${line.trimEnd()}" is "${original}" in the example`);
        }
      }
      expect(drift).toEqual([]);
    });
  }
});
