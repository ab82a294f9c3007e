import type { ActionsBlock, EntitySchema, FieldDecl, Item, PolicyFile, SchemaBlock, TypeExpr } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { buildSchema } from "../check/schema.js";
import { CODES } from "../diagnostics/codes.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";

/**
 * The merge stage of a policy of several files: one `PolicyFile` from the files' ASTs, in the order
 * given, that the checker and the compiler take as if it were one file. What two files may both
 * declare merges; what they may not is reported here at both places:
 *
 * - rule, workflow, test and property names are unique across the policy (C275); the later
 *   declaration is left out, so the checker does not report it again;
 * - schema attributes merge per entity: one declared in two files must have the same type and
 *   optionality in both (C276), and is kept once;
 * - actions merge: one declared in two files must have the same tags in both (C277), and is kept once;
 * - signals merge: one declared in two files is kept once.
 *
 * Within one file the checker's rules stand unchanged (a duplicate there is C204 or C210), so a
 * policy of one file merges to itself. Items of other kinds pass through in order.
 */
export function mergeFiles(files: readonly PolicyFile[], out: Diagnostic[]): PolicyFile {
  const names = new Map<string, Span>();
  const entities = new Map<EntitySchema["entity"], { span: Span; fields: Map<string, FieldDecl> }>();
  const actions = new Map<string, { span: Span; tags: string }>();
  const signals = new Map<string, string>();
  const items: Item[] = [];
  let schemaAt = -1;
  let schemaSpan: Span | null = null;
  for (const file of files) {
    // In-file duplicates of entities and attributes are the checker's C210; report them per file.
    const fileSchema = file.items.some((i) => i.kind === "SchemaBlock");
    if (fileSchema && files.length > 1) buildSchema(file, out);
    const declared = new Set<string>();
    for (const item of file.items) {
      switch (item.kind) {
        case "SchemaBlock":
          if (schemaAt < 0) {
            schemaAt = items.length;
            schemaSpan = item.span;
            items.push(item);
          }
          mergeSchema(item, entities, out);
          break;
        case "ActionsBlock": {
          const kept = mergeActions(item, actions, declared, out);
          if (kept !== null) items.push(kept);
          break;
        }
        case "SignalsBlock": {
          // A signal declared in two files is declared once (a signal has no tags to disagree on).
          const groups = item.groups
            .map((g) => {
              const kept = g.signals.filter((sig) => {
                const name = sig.segments.join(".");
                const prev = signals.get(name);
                if (prev === undefined) signals.set(name, sig.span.file);
                return prev === undefined || prev === sig.span.file;
              });
              return kept.length === g.signals.length ? g : { ...g, signals: kept };
            })
            .filter((g) => g.signals.length > 0);
          if (groups.length > 0) items.push(groups.length === item.groups.length && groups.every((g, i) => g === item.groups[i]) ? item : { ...item, groups });
          break;
        }
        case "RuleDecl":
        case "WorkflowDecl":
        case "TestDecl":
        case "PropertyDecl": {
          const kind = item.kind === "TestDecl" ? "test" : item.kind === "PropertyDecl" ? "property" : "rule";
          const key = `${kind}:${item.name.value}`;
          const prev = names.get(key);
          if (prev !== undefined && prev.file !== item.name.span.file) {
            const what = item.kind === "RuleDecl" ? "rule" : item.kind === "WorkflowDecl" ? "workflow" : kind;
            out.push({
              ...diagnostic("C275", item.name.span, `${what} name \`${item.name.value}\` is also defined in ${prev.file}`, CODES.C275.help),
              related: [{ message: `first defined in ${prev.file}`, span: prev }],
            });
            break;
          }
          if (prev === undefined) names.set(key, item.name.span);
          items.push(item);
          break;
        }
        default:
          items.push(item);
      }
    }
  }
  if (schemaAt >= 0 && schemaSpan !== null) items[schemaAt] = mergedSchema(schemaSpan, entities);
  const first = files[0];
  const span = first?.span ?? { file: "<policy>", offset: 0, endOffset: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
  return { kind: "PolicyFile", span, items, comments: files.flatMap((f) => f.comments) };
}

function mergeSchema(block: SchemaBlock, entities: Map<EntitySchema["entity"], { span: Span; fields: Map<string, FieldDecl> }>, out: Diagnostic[]): void {
  for (const ent of block.entities) {
    let merged = entities.get(ent.entity);
    if (merged === undefined) {
      merged = { span: ent.span, fields: new Map() };
      entities.set(ent.entity, merged);
    }
    for (const f of ent.fields) {
      const prev = merged.fields.get(f.name.value);
      if (prev === undefined) {
        merged.fields.set(f.name.value, f);
        continue;
      }
      if (prev.span.file === f.span.file) continue; // the file's own C210
      const a = fieldText(prev);
      const b = fieldText(f);
      if (a !== b) {
        out.push({
          ...diagnostic("C276", f.span, `\`${ent.entity}.${f.name.value}\` is \`${b}\` here and \`${a}\` in ${prev.span.file}`, CODES.C276.help),
          related: [{ message: `declared \`${a}\` in ${prev.span.file}`, span: prev.span }],
        });
      }
    }
  }
}

/** One schema block with every entity's attributes, each from the file that declared it first. */
function mergedSchema(span: Span, entities: ReadonlyMap<EntitySchema["entity"], { span: Span; fields: ReadonlyMap<string, FieldDecl> }>): SchemaBlock {
  const list: EntitySchema[] = [...entities].map(([entity, e]) => ({ kind: "EntitySchema", span: e.span, entity, fields: [...e.fields.values()] }));
  return { kind: "SchemaBlock", span, entities: list };
}

/**
 * The block with the actions an earlier file declared left out (after checking their tags agree);
 * null when nothing is left. Duplicates within the file stay, for the checker's C204.
 */
function mergeActions(block: ActionsBlock, actions: Map<string, { span: Span; tags: string }>, declaredHere: Set<string>, out: Diagnostic[]): ActionsBlock | null {
  const groups: ActionsBlock["groups"][number][] = [];
  for (const g of block.groups) {
    const tags = g.tags.map((t) => t.value).sort().join(",");
    const kept = g.actions.filter((a) => {
      const name = a.segments.join(".");
      const prev = actions.get(name);
      if (prev === undefined || declaredHere.has(name)) {
        if (prev === undefined) actions.set(name, { span: a.span, tags });
        declaredHere.add(name);
        return true;
      }
      if (prev.tags !== tags) {
        const shown = (t: string) => (t === "" ? "no tags" : `[${t}]`);
        out.push({
          ...diagnostic("C277", a.span, `action \`${name}\` has ${shown(tags)} here and ${shown(prev.tags)} in ${prev.span.file}`, CODES.C277.help),
          related: [{ message: `declared with ${shown(prev.tags)} in ${prev.span.file}`, span: prev.span }],
        });
      }
      return false;
    });
    if (kept.length > 0) groups.push(kept.length === g.actions.length ? g : { ...g, actions: kept });
  }
  if (groups.length === 0) return null;
  return groups.length === block.groups.length && groups.every((g, i) => g === block.groups[i]) ? block : { ...block, groups };
}

function fieldText(f: FieldDecl): string {
  return `${f.optional ? "optional " : ""}${typeText(f.type)}`;
}

function typeText(t: TypeExpr): string {
  switch (t.kind) {
    case "PrimType":
      return t.name;
    case "SetType":
      return `set<${typeText(t.element)}>`;
    case "EnumType":
      return t.values.map((v) => JSON.stringify(v.value)).sort().join(" | ");
  }
}
