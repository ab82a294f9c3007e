import { SymbolKind, type DocumentSymbol } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Item } from "../ast/nodes.js";
import type { Analysis } from "./analysis.js";
import { rangeOf } from "./text.js";

/** The outline: items, with the schema's entities and attributes and the declared actions below them. */
export function documentSymbols(doc: TextDocument, a: Analysis): DocumentSymbol[] {
  return a.ast.items.map((item) => itemSymbol(doc, item));
}

function itemSymbol(doc: TextDocument, item: Item): DocumentSymbol {
  const range = rangeOf(doc, item.span);
  const sym = (name: string, kind: SymbolKind, selection: { offset: number; endOffset: number }, detail?: string, children?: DocumentSymbol[]): DocumentSymbol => ({
    name,
    kind,
    range,
    selectionRange: rangeOf(doc, selection),
    ...(detail ? { detail } : {}),
    ...(children ? { children } : {}),
  });
  switch (item.kind) {
    case "RuleDecl":
      return sym(item.name.value, SymbolKind.Function, item.name.span, `${item.effect} ${item.targets.map((t) => (t.kind === "SignalTarget" ? "signal " : "") + t.pattern.segments.join(".")).join(", ")}`);
    case "WorkflowDecl":
      return sym(item.name.value, SymbolKind.Class, item.name.span, "workflow");
    case "TestDecl":
      return sym(item.name.value || "(test)", SymbolKind.Method, item.name.span, "test");
    case "PropertyDecl":
      return sym(item.name.value || "(property)", SymbolKind.Interface, item.name.span, "property");
    case "ActionsBlock":
      return sym("actions", SymbolKind.Enum, item.span, undefined, item.groups.flatMap((g) =>
        g.actions.map((x) => ({ name: x.segments.join("."), kind: SymbolKind.Event, range: rangeOf(doc, x.span), selectionRange: rangeOf(doc, x.span), ...(g.tags.length ? { detail: g.tags.map((t) => `[${t.value}]`).join(" ") } : {}) })),
      ));
    case "SignalsBlock":
      return sym("signals", SymbolKind.Enum, item.span, undefined, item.groups.flatMap((g) =>
        g.signals.map((x) => ({ name: x.segments.join("."), kind: SymbolKind.Event, range: rangeOf(doc, x.span), selectionRange: rangeOf(doc, x.span) })),
      ));
    case "SchemaBlock":
      return sym("schema", SymbolKind.Struct, item.span, undefined, item.entities.map((e) => ({
        name: e.entity,
        kind: SymbolKind.Struct,
        range: rangeOf(doc, e.span),
        selectionRange: rangeOf(doc, e.span),
        children: e.fields.map((f) => ({ name: f.name.value, kind: SymbolKind.Field, range: rangeOf(doc, f.span), selectionRange: rangeOf(doc, f.name.span) })),
      })));
  }
}
