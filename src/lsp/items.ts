import type { Comment, Item, PolicyFile } from "../ast/nodes.js";
import { printPolicy } from "../format/index.js";

/** `rule \`no-exfil\``, `test "..."`: an item as hovers and messages name it. */
export function describeItem(item: Item): string {
  switch (item.kind) {
    case "RuleDecl":
      return `rule \`${item.name.value}\``;
    case "WorkflowDecl":
      return `workflow \`${item.name.value}\``;
    case "TestDecl":
      return `test ${JSON.stringify(item.name.value)}`;
    case "PropertyDecl":
      return `property ${JSON.stringify(item.name.value)}`;
    case "SchemaBlock":
      return "the schema";
    case "ActionsBlock":
      return "the actions block";
    case "SignalsBlock":
      return "the signals block";
  }
}

/** One item in the canonical layout, with the comments written inside it; no final newline. */
export function printItem(item: Item, comments: readonly Comment[] = []): string {
  const inside = comments.filter((c) => c.span.offset >= item.span.offset && c.span.endOffset <= item.span.endOffset);
  const file: PolicyFile = { kind: "PolicyFile", span: item.span, items: [item], comments: inside };
  return printPolicy(file).replace(/\n$/, "");
}

/** The item whose span holds `offset`, if any (items are in source order). */
export function itemAt(ast: PolicyFile, offset: number): Item | undefined {
  let lo = 0;
  let hi = ast.items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const item = ast.items[mid]!;
    if (item.span.endOffset < offset) lo = mid + 1;
    else if (item.span.offset > offset) hi = mid - 1;
    else return item;
  }
  return undefined;
}

/** A list for a hover: the first `max` entries and how many more there are. */
export function listText(entries: readonly string[], max = 8): string {
  if (entries.length <= max) return entries.join(", ");
  return `${entries.slice(0, max).join(", ")} and ${entries.length - max} more`;
}
