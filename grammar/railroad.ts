/**
 * Generates docs/railroad.html: the syntax diagrams of the parser's grammar (one per rule of
 * grammar/rules.ebnf), drawn by chevrotain's diagram renderer. The page is self-contained: the
 * renderer's scripts and styles are inlined, so it opens offline. Run with `npm run railroad`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createSyntaxDiagramsCode, type ISerializedGast } from "chevrotain";
import { leashParser } from "../src/syntax/parser.js";

const DIAGRAMS = new URL("../node_modules/chevrotain/diagrams/", import.meta.url);
const OUTPUT = new URL("../docs/railroad.html", import.meta.url);

/** Labels of terminals that exist only to report errors (`alow`): not part of the language. */
const ERROR_PRODUCTIONS = new Set(["unknownEffect"]);

type Node = ISerializedGast & { definition?: Node[]; terminalLabel?: string };

/** The grammar without error productions. */
export function languageGrammar(): ISerializedGast[] {
  const isError = (n: Node): boolean => n.type === "Terminal" && ERROR_PRODUCTIONS.has(n.terminalLabel ?? "");
  const clean = (n: Node): Node | null => {
    if (isError(n)) return null;
    if (!n.definition) return n;
    const definition = n.definition.map(clean).filter((d): d is Node => d !== null);
    // An alternative left empty was an error production: drop it from its alternation.
    if (n.type === "Alternation") return { ...n, definition: definition.filter((alt) => (alt.definition ?? []).length > 0) };
    return { ...n, definition };
  };
  return leashParser().getSerializedGastProductions().map((r) => clean(r as Node)!);
}

/** The HTML page, with chevrotain's diagram scripts and stylesheet inlined. */
export function railroadHtml(): string {
  const inline = (path: string) => readFileSync(fileURLToPath(new URL(path, DIAGRAMS)), "utf8").replace(/<\/script/gi, "<\\/script");
  const html = createSyntaxDiagramsCode(languageGrammar())
    .replace(/<link rel='stylesheet' href='[^']*\/diagrams\/diagrams\.css'>/, () => `<style>\n${inline("diagrams.css")}\n</style>`)
    .replace(/<script src='[^']*\/diagrams\/([\w/.-]+\.js)'><\/script>/g, (_, file: string) => `<script>\n${inline(file)}\n</script>`);
  if (/unpkg\.com/.test(html)) throw new Error("railroad: a renderer resource was not inlined");
  return html.replace(
    "<!-- This is a generated file -->",
    "<!-- This is a generated file: npm run railroad (grammar/railroad.ts). The normative grammar is grammar/rules.ebnf. -->\n<title>leash .rules grammar</title>",
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  writeFileSync(OUTPUT, railroadHtml());
  console.log(`wrote ${fileURLToPath(OUTPUT)}`);
}
