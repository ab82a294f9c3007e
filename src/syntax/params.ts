import type { Literal, ParamDecl, ParamType, ParamValue } from "../ast/nodes.js";
import { CODES } from "../diagnostics/codes.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { suggestionHelp } from "../diagnostics/suggest.js";
import type { ParamSite } from "./to-ast.js";

/**
 * The last phase of parsing a file: give every `$name` its value. A parameter's value is the one a
 * `use` of the file sets (`values`), else its default; a `$name` takes it where the grammar takes a
 * number (`limit $n per session`), a duration (`within $window`), or any literal (a value in a
 * condition). Reports, at the place they are about: a parameter declared twice or set twice (C282),
 * a value of another type than the default's (C280), a `$name` no parameter declares or a value for
 * one the file does not declare (C279), and a parameter of the wrong type for its place (C280).
 *
 * The placeholders are the builder's own fresh nodes, filled in place before the AST is handed out.
 */
export function bindParams(decls: readonly ParamDecl[], sites: readonly ParamSite[], values: readonly ParamValue[], out: Diagnostic[]): void {
  const value = new Map<string, Literal>();
  const declared = new Map<string, ParamDecl>();
  for (const d of decls) {
    const prev = declared.get(d.name.value);
    if (prev) {
      out.push({ ...diagnostic("C282", d.name.span, `parameter \`${d.name.value}\` is declared twice`, CODES.C282.help), related: [{ message: "first declared here", span: prev.name.span }] });
      continue;
    }
    declared.set(d.name.value, d);
    value.set(d.name.value, d.default);
  }
  const set = new Map<string, ParamValue>();
  for (const v of values) {
    const d = declared.get(v.name.value);
    if (d === undefined) {
      out.push(diagnostic("C279", v.name.span, `the module has no parameter \`${v.name.value}\``, suggestionHelp(v.name.value, declared.keys(), declared.size > 0 ? `its parameters are ${[...declared.keys()].join(", ")}` : "the module has no parameters")));
      continue;
    }
    const prev = set.get(v.name.value);
    if (prev) {
      out.push({ ...diagnostic("C282", v.name.span, `parameter \`${v.name.value}\` is set twice`, CODES.C282.help), related: [{ message: "first set here", span: prev.name.span }] });
      continue;
    }
    set.set(v.name.value, v);
    const want = literalType(d.default);
    if (literalType(v.value) !== want) {
      out.push({ ...diagnostic("C280", v.value.span, `\`${v.name.value}\` is ${typeName(want)}, this is ${typeName(literalType(v.value))}`, CODES.C280.help), related: [{ message: "the parameter is declared here", span: d.span }] });
    } else value.set(v.name.value, v.value);
  }
  for (const site of sites) {
    const d = declared.get(site.name);
    if (d === undefined) {
      out.push(diagnostic("C279", site.node.span, `no parameter named \`${site.name}\``, suggestionHelp(site.name, declared.keys(), "declare it at the top of the file: param NAME = DEFAULT")));
      continue;
    }
    const type = literalType(d.default);
    if (site.expect !== "any" && type !== site.expect) {
      out.push({ ...diagnostic("C280", site.node.span, `\`$${site.name}\` is ${typeName(type)}, this place takes ${typeName(site.expect)}`, CODES.C280.help), related: [{ message: "the parameter is declared here", span: d.span }] });
      continue;
    }
    fill(site.node, value.get(site.name)!);
  }
}

/** The parameter type a literal has. */
export function literalType(l: Literal): ParamType {
  switch (l.kind) {
    case "NumberLit":
      return "number";
    case "DurationLit":
      return "duration";
    case "StringLit":
      return "string";
    case "BoolLit":
      return "bool";
  }
}

function typeName(t: ParamType): string {
  return t === "duration" ? "a duration" : t === "bool" ? "a bool" : `a ${t}`;
}

/** Copies the value of `v` into the placeholder `node`, keeping the placeholder's span and parameter name. */
function fill(node: Literal, v: Literal): void {
  const target = node as unknown as Record<string, unknown>;
  for (const k of ["value", "ms", "text"]) delete target[k];
  const { span: _span, param: _param, ...rest } = v as Literal & { param?: string };
  Object.assign(target, rest);
}
