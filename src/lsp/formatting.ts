import type { TextEdit } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { printPolicy } from "../format/index.js";
import type { Analysis } from "./analysis.js";
import { minimalEdit, rangeOf } from "./text.js";

/**
 * Document formatting: `leash fmt`'s canonical layout (the printer over the parsed file, comments
 * included), as one edit covering only what changes. A file with parse errors is never rewritten:
 * there is no edit, as `leash fmt` leaves such a file alone.
 */
export function formatDocument(doc: TextDocument, a: Analysis): TextEdit[] {
  if (!a.parsed) return [];
  const edit = minimalEdit(a.text, printPolicy(a.ast));
  return edit === null ? [] : [{ range: rangeOf(doc, edit), newText: edit.newText }];
}
