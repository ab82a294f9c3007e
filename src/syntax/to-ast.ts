import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as A from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { joinSpans } from "../ast/span.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { CODES } from "../diagnostics/codes.js";
import { durationMs } from "./lexer.js";
import { tokenSpan, tokensSpan } from "./position.js";
import { decodeString } from "./strings.js";
import { ParamRef, ResourcePath } from "./tokens.js";

/**
 * A `$name` the builder met where a value stands: a literal node made before the file's parameters
 * are known, filled in by `bindParams` (src/syntax/params.ts) once the whole file is built. `expect`
 * is what the place takes: a number, a duration, or any literal (a value in a condition).
 */
export interface ParamSite {
  readonly node: A.Literal;
  readonly name: string;
  readonly expect: "number" | "duration" | "any";
}

/**
 * CST -> AST: a hand-written walk over chevrotain's CST (faster than a visitor and typed at the
 * boundary). Only items that parsed without error are built; the others are dropped by the caller.
 * Every node gets the span of its first to last token.
 */

/** An item cannot be built; its diagnostic is already recorded. */
class ItemError extends Error {}
/** More nodes than `maxNodes`. */
export class TooManyNodes extends Error {
  constructor(readonly span: Span) {
    super("too many nodes");
  }
}

export class AstBuilder {
  /** AST nodes built so far (every object with a `kind`). */
  nodes = 0;
  readonly diagnostics: Diagnostic[] = [];
  /** The `$name` references built so far, in source order. */
  readonly paramSites: ParamSite[] = [];
  private readonly texts = new Map<string, string>();
  /** Depth of the expression last built (leaves are 1); see `maxExprDepth`. */
  private exprDepth = 0;

  constructor(
    readonly file: string,
    readonly maxNodes: number,
    /** Bound on the depth of an expression tree (long and/or chains nest to the left). */
    readonly maxExprDepth: number,
  ) {}

  /* ---- plumbing ---------------------------------------------------------------------------------- */

  private count<T extends { readonly span: Span }>(node: T): T {
    if (++this.nodes > this.maxNodes) throw new TooManyNodes(node.span);
    return node;
  }

  private fail(code: "P107" | "P103" | "C281", span: Span, message: string): never {
    this.diagnostics.push(diagnostic(code, span, message, CODES[code].help));
    throw new ItemError(message);
  }

  /**
   * One string object for each distinct name, segment and string of the file: every token's image
   * is a string of its own, and a large policy repeats its kinds, effects, action segments and ids.
   */
  private text(s: string): string {
    const seen = this.texts.get(s);
    if (seen !== undefined) return seen;
    this.texts.set(s, s);
    return s;
  }

  private tokSpan(t: IToken): Span {
    return tokenSpan(this.file, t);
  }

  /** From the start of `first` to the end of `last`. */
  private span(first: IToken, last: IToken | Span): Span {
    return "tokenType" in last ? tokensSpan(this.file, first, last) : joinSpans(this.tokSpan(first), last);
  }

  /* ---- items ------------------------------------------------------------------------------------- */

  item(cst: CstNode): A.Item | A.HeaderItem {
    const c = cst.children;
    if (c.rule) return this.rule(node(c.rule));
    if (c.importDecl) return this.importDecl(node(c.importDecl));
    if (c.useDecl) return this.useDecl(node(c.useDecl));
    if (c.paramDecl) return this.paramDecl(node(c.paramDecl));
    if (c.schema) return this.schema(node(c.schema));
    if (c.actions) return this.actions(node(c.actions));
    if (c.signals) return this.signals(node(c.signals));
    if (c.workflow) return this.workflow(node(c.workflow));
    if (c.test) return this.test(node(c.test));
    if (c.property) return this.property(node(c.property));
    throw new Error("item without content");
  }

  comment(t: IToken): A.Comment {
    return this.count({ kind: "Comment", span: this.tokSpan(t), text: t.image });
  }

  /* ---- header ------------------------------------------------------------------------------------ */

  private importDecl(cst: CstNode): A.ImportDecl {
    const c = cst.children;
    const path = this.string(tok(c.path));
    return this.count({ kind: "ImportDecl", span: joinSpans(this.tokSpan(tok(c.Import)), path.span), path });
  }

  private useDecl(cst: CstNode): A.UseDecl {
    const c = cst.children;
    const m = tok(c.module);
    const params = nodes(c.paramValue).map((v) => this.paramValue(v));
    const module = { value: m.image, span: this.tokSpan(m) };
    return this.count({ kind: "UseDecl", span: this.span(tok(c.Use), c.RCurly ? tok(c.RCurly) : m), module, params });
  }

  private paramValue(cst: CstNode): A.ParamValue {
    const c = cst.children;
    const name = this.name(tok(c.NameTok));
    const value = this.plainLiteral(node(c.literal), "a module's parameter is set to a literal value");
    return this.count({ kind: "ParamValue", span: joinSpans(name.span, value.span), name, value });
  }

  private paramDecl(cst: CstNode): A.ParamDecl {
    const c = cst.children;
    const name = this.name(tok(c.NameTok));
    const value = this.plainLiteral(node(c.literal), "a parameter's default is a literal value");
    return this.count({ kind: "ParamDecl", span: joinSpans(this.tokSpan(tok(c.Param)), value.span), name, default: value });
  }

  /** A literal where a `$name` may not stand. */
  private plainLiteral(cst: CstNode, why: string): A.Literal {
    const t = cst.children.StringLiteral?.[0] as IToken | undefined;
    if (t?.tokenType === ParamRef) this.fail("C281", this.tokSpan(t), `a parameter cannot stand here: ${why}`);
    return this.literal(cst);
  }

  /** The placeholder literal of a `$name` (see `ParamSite`). */
  private paramRef<T extends A.Literal>(t: IToken, expect: ParamSite["expect"], node: T): T {
    const built = this.count(node);
    this.paramSites.push({ node: built, name: t.image.slice(1), expect });
    return built;
  }

  /* ---- schema ------------------------------------------------------------------------------------ */

  private schema(cst: CstNode): A.SchemaBlock {
    const c = cst.children;
    const entities = nodes(c.entitySchema).map((e) => this.entitySchema(e));
    return this.count({ kind: "SchemaBlock", span: this.span(tok(c.Schema), tok(c.RCurly)), entities });
  }

  private entitySchema(cst: CstNode): A.EntitySchema {
    const c = cst.children;
    const entity = tok(c.entity);
    const fields = nodes(c.field).map((f) => this.field(f));
    return this.count({
      kind: "EntitySchema",
      span: this.span(entity, tok(c.RCurly)),
      entity: entity.image as A.EntitySchema["entity"],
      fields,
    });
  }

  private field(cst: CstNode): A.FieldDecl {
    const c = cst.children;
    const name = this.name(tok(c.NameTok));
    const type = this.type(node(c.type));
    const tags = toks(c.tag).map((t) => this.name(t));
    const end = c.RBracket ? this.tokSpan(tok(c.RBracket)) : type.span;
    return this.count({ kind: "FieldDecl", span: joinSpans(name.span, end), name, type, optional: c.Question !== undefined, tags });
  }

  private type(cst: CstNode): A.TypeExpr {
    const c = cst.children;
    if (c.prim) {
      const t = tok(c.prim);
      return this.count({ kind: "PrimType", span: this.tokSpan(t), name: t.image as "string" });
    }
    if (c.Set) {
      const element = this.type(node(c.type));
      return this.count({ kind: "SetType", span: this.span(tok(c.Set), tok(c.Gt)), element });
    }
    const values = toks(c.StringLiteral).map((t) => this.string(t));
    return this.count({ kind: "EnumType", span: joinSpans(values[0]!.span, values[values.length - 1]!.span), values });
  }

  /* ---- actions ----------------------------------------------------------------------------------- */

  private actions(cst: CstNode): A.ActionsBlock {
    const c = cst.children;
    const groups = nodes(c.actionGroup).map((g) => this.actionGroup(g));
    return this.count({ kind: "ActionsBlock", span: this.span(tok(c.Actions), tok(c.RCurly)), groups });
  }

  private actionGroup(cst: CstNode): A.ActionGroup {
    const c = cst.children;
    const actions = nodes(c.actionName).map((a) => this.actionName(a));
    const tags = toks(c.tag).map((t) => this.name(t));
    const end = c.RBracket ? this.tokSpan(tok(c.RBracket)) : actions[actions.length - 1]!.span;
    return this.count({ kind: "ActionGroup", span: joinSpans(actions[0]!.span, end), actions, tags });
  }

  /* ---- signals ----------------------------------------------------------------------------------- */

  private signals(cst: CstNode): A.SignalsBlock {
    const c = cst.children;
    const groups = nodes(c.signalGroup).map((g) => {
      const signals = nodes(g.children.actionName).map((a) => this.actionName(a));
      return this.count({ kind: "SignalGroup" as const, span: joinSpans(signals[0]!.span, signals[signals.length - 1]!.span), signals });
    });
    return this.count({ kind: "SignalsBlock", span: this.span(tok(c.Signals), tok(c.RCurly)), groups });
  }

  /* ---- rules ------------------------------------------------------------------------------------- */

  private rule(cst: CstNode): A.RuleDecl {
    const c = cst.children;
    const name = this.name(tok(c.name));
    const [effect, effectSpan] = this.effect(node(c.effect));
    const targets = this.targets(node(c.targets));
    const principals = c.principals ? this.principals(node(c.principals)) : [];
    const resources = c.resources ? this.resources(node(c.resources)) : [];
    const clauses = nodes(c.clause).map((cl) => this.clause(cl));
    const last = clauses[clauses.length - 1] ?? resources[resources.length - 1] ?? principals[principals.length - 1] ?? targets[targets.length - 1]!;
    return this.count({
      kind: "RuleDecl",
      span: this.span(tok(c.Rule), last.span),
      name,
      effect,
      effectSpan,
      targets,
      principals,
      resources,
      clauses,
    });
  }

  private effect(cst: CstNode): [A.Effect, Span] {
    const t = tok(cst.children.effect);
    return [this.text(t.image) as A.Effect, this.tokSpan(t)];
  }

  private targets(cst: CstNode): A.Target[] {
    return nodes(cst.children.target).map((t) => {
      const c = t.children;
      const pattern = this.actionName(node(c.actionName));
      if (c.Signal) return this.count({ kind: "SignalTarget" as const, span: joinSpans(this.tokSpan(tok(c.Signal)), pattern.span), pattern });
      return this.count({ kind: "ActionTarget" as const, span: pattern.span, pattern });
    });
  }

  private principals(cst: CstNode): A.PrincipalSelector[] {
    return nodes(cst.children.principalSel).map((p) => this.principalSel(p));
  }

  private principalSel(cst: CstNode): A.PrincipalSelector {
    const c = cst.children;
    if (c.any) return this.count({ kind: "PrincipalSelector", span: this.tokSpan(tok(c.any)), principalKind: null, id: null, attributes: [] });
    const kind = this.name(tok(c.kind));
    const id = c.id ? this.string(tok(c.id)) : null;
    const attributes = nodes(c.attrMatch).map((m) => {
      const mc = m.children;
      const name = this.name(tok(mc.NameTok));
      const value = this.literal(node(mc.literal));
      return this.count({ kind: "AttributeMatch" as const, span: joinSpans(name.span, value.span), name, value });
    });
    const end = c.RCurly ? this.tokSpan(tok(c.RCurly)) : c.anyId ? this.tokSpan(tok(c.anyId)) : (id?.span ?? kind.span);
    return this.count({ kind: "PrincipalSelector", span: joinSpans(kind.span, end), principalKind: kind, id, attributes });
  }

  private resources(cst: CstNode): A.ResourceSelector[] {
    return nodes(cst.children.resourceGlob).map((g) => this.resourceGlob(g));
  }

  private resourceGlob(cst: CstNode): A.ResourceSelector {
    const c = cst.children;
    const t = tok(c.ResourcePath ?? c.StringLiteral);
    if (t.tokenType === ParamRef) this.fail("C281", this.tokSpan(t), "a parameter cannot stand for a resource glob");
    const glob = t.tokenType === ResourcePath ? t.image : decodeString(t.image);
    return this.count({ kind: "ResourceSelector", span: this.tokSpan(t), glob });
  }

  private clause(cst: CstNode): A.Clause {
    const c = cst.children;
    if (c.cond) return this.whenClause(tok(c.cond), node(c.expr));
    if (c.Reason) {
      const text = this.string(tok(c.StringLiteral));
      return this.count({ kind: "ReasonClause", span: joinSpans(this.tokSpan(tok(c.Reason)), text.span), text });
    }
    if (c.Limit) {
      const count = this.number(tok(c.NumberLiteral));
      // `distinct resource` is the resource itself: a path of root resource with no segments.
      const distinct = c.path
        ? this.path(node(c.path))
        : c.distinctResource
          ? this.count({ kind: "Path" as const, span: this.tokSpan(tok(c.distinctResource)), root: "resource" as const, segments: [] })
          : null;
      const key = this.key(node(c.key));
      const window = c.window ? this.duration(tok(c.window)) : null;
      return this.count({ kind: "LimitClause", span: joinSpans(this.tokSpan(tok(c.Limit)), (window ?? key).span), count, distinct, key, window });
    }
    if (c.Valid) {
      const duration = this.duration(tok(c.DurationLiteral));
      const key = c.key ? this.key(node(c.key)) : null;
      return this.count({ kind: "ValidForClause", span: joinSpans(this.tokSpan(tok(c.Valid)), (key ?? duration).span), duration, key });
    }
    if (c.Label) {
      const label = this.name(tok(c.NameTok));
      const duration = c.DurationLiteral ? this.duration(tok(c.DurationLiteral)) : null;
      return this.count({ kind: "LabelClause", span: joinSpans(this.tokSpan(tok(c.Label)), (duration ?? label).span), label, duration });
    }
    if (c.Require) {
      const obligation = this.name(tok(c.NameTok));
      const satisfiedBy = c.actionName ? this.actionName(node(c.actionName)) : null;
      return this.count({
        kind: "RequireClause",
        span: joinSpans(this.tokSpan(tok(c.Require)), (satisfiedBy ?? obligation).span),
        obligation,
        satisfiedBy,
      });
    }
    const key = this.key(node(c.key));
    return this.count({ kind: "TargetKeyClause", span: joinSpans(this.tokSpan(tok(c.Target)), key.span), key });
  }

  private whenClause(cond: IToken, exprCst: CstNode): A.WhenClause {
    const condition = this.expr(exprCst);
    return this.count({ kind: "WhenClause", span: joinSpans(this.tokSpan(cond), condition.span), negated: cond.image === "unless", condition });
  }

  private key(cst: CstNode): A.KeyRef {
    const c = cst.children;
    const parts = nodes(c.keyPart).map((p) => this.keyPart(p));
    if (!c.LParen) return parts[0]!;
    return this.count({ kind: "CompoundKey" as const, span: this.span(tok(c.LParen), tok(c.RParen)), parts });
  }

  private keyPart(cst: CstNode): A.SimpleKeyRef {
    const c = cst.children;
    if (c.Session) return this.count({ kind: "SessionKey" as const, span: this.tokSpan(tok(c.Session)) });
    if (c.Principal) return this.count({ kind: "PrincipalKey" as const, span: this.tokSpan(tok(c.Principal)) });
    const path = this.path(node(c.path));
    return this.count({ kind: "PathKey" as const, span: path.span, path });
  }

  /* ---- expressions ------------------------------------------------------------------------------- */

  private expr(cst: CstNode): A.Expr {
    return this.chain(nodes(cst.children.andExpr), "or", (n) => this.andExpr(n));
  }

  private andExpr(cst: CstNode): A.Expr {
    return this.chain(nodes(cst.children.unary), "and", (n) => this.unary(n));
  }

  /** `a op b op c` as `((a op b) op c)`, tracking the depth of the tree it makes. */
  private chain(operands: CstNode[], op: "and" | "or", build: (n: CstNode) => A.Expr): A.Expr {
    let left = build(operands[0]!);
    let depth = this.exprDepth;
    for (let i = 1; i < operands.length; i++) {
      const right = build(operands[i]!);
      depth = Math.max(depth, this.exprDepth) + 1;
      left = this.count({ kind: "BinaryExpr", span: joinSpans(left.span, right.span), op, left, right });
      if (depth > this.maxExprDepth) {
        this.fail("P103", left.span, `condition too deep: more than ${this.maxExprDepth} nested operators`);
      }
    }
    this.exprDepth = depth;
    return left;
  }

  private unary(cst: CstNode): A.Expr {
    const c = cst.children;
    if (c.Not) {
      const operand = this.unary(node(c.unary));
      this.exprDepth++;
      return this.count({ kind: "NotExpr", span: joinSpans(this.tokSpan(tok(c.Not)), operand.span), operand });
    }
    return this.comparison(node(c.comparison));
  }

  private comparison(cst: CstNode): A.Expr {
    const c = cst.children;
    const leftCst = node(c.left);
    if (c.Has) {
      const subject = this.hasSubject(leftCst);
      const attribute = this.name(tok(c.NameTok));
      this.exprDepth = 2;
      return this.count({ kind: "HasExpr", span: joinSpans(subject.span, attribute.span), subject, attribute });
    }
    const left = this.operand(leftCst);
    if (c.Like) {
      const pattern = this.string(tok(c.StringLiteral));
      this.exprDepth++;
      return this.count({ kind: "LikeExpr", span: joinSpans(left.span, pattern.span), subject: left, pattern });
    }
    if (!c.right) return left;
    const leftDepth = this.exprDepth;
    const right = this.operand(node(c.right));
    this.exprDepth = Math.max(leftDepth, this.exprDepth) + 1;
    const span = joinSpans(left.span, right.span);
    if (c.In) return this.count({ kind: "InExpr", span, element: left, collection: right });
    const op = tok(node(c.compareOp).children.op).image as A.CompareOp;
    return this.count({ kind: "CompareExpr", span, op, left, right });
  }

  /** The left of `has`: an attribute path or a bare root. */
  private hasSubject(cst: CstNode): A.HasExpr["subject"] {
    const c = cst.children;
    if (c.path) return this.path(node(c.path));
    if (c.root) {
      const t = tok(node(c.root).children.root);
      return this.count({ kind: "RootRef" as const, span: this.tokSpan(t), root: t.image as A.PathRoot });
    }
    const e = this.operand(cst);
    this.fail("P107", e.span, "has needs an attribute path or principal, resource, context or action on its left");
  }

  private operand(cst: CstNode): A.Expr {
    const c = cst.children;
    this.exprDepth = 1;
    if (c.literal) return this.literal(node(c.literal));
    if (c.path) return this.path(node(c.path));
    if (c.temporal) return this.temporal(node(c.temporal));
    if (c.expr) {
      // A condition in parentheses keeps its node; its span takes in the parentheses.
      const inner = this.expr(node(c.expr));
      return { ...inner, span: this.span(tok(c.LParen), tok(c.RParen)) };
    }
    if (c.set) return this.set(node(c.set));
    if (c.root) {
      // A bare root (`action in [...]`) is the path with no segments.
      const t = tok(node(c.root).children.root);
      return this.count({ kind: "Path", span: this.tokSpan(t), root: t.image as A.PathRoot, segments: [] });
    }
    const label = this.name(tok(c.NameTok));
    return this.count({ kind: "SessionHasExpr", span: joinSpans(this.tokSpan(tok(c.Session)), label.span), label });
  }

  private literal(cst: CstNode): A.Literal {
    const c = cst.children;
    if (c.StringLiteral) {
      const t = tok(c.StringLiteral);
      if (t.tokenType === ParamRef) return this.paramRef(t, "any", { kind: "StringLit", span: this.tokSpan(t), param: t.image.slice(1), value: "" });
      return this.string(t);
    }
    if (c.NumberLiteral) return this.number(tok(c.NumberLiteral));
    if (c.DurationLiteral) return this.duration(tok(c.DurationLiteral));
    const t = tok(c.True ?? c.False);
    return this.count({ kind: "BoolLit", span: this.tokSpan(t), value: t.image === "true" });
  }

  private set(cst: CstNode): A.SetLit {
    const c = cst.children;
    const elements = nodes(c.literal).map((l) => this.literal(l));
    return this.count({ kind: "SetLit", span: this.span(tok(c.LBracket), tok(c.RBracket)), elements });
  }

  private path(cst: CstNode): A.Path {
    const c = cst.children;
    const root = tok(node(c.root).children.root);
    const segments = toks(c.segment);
    return this.count({
      kind: "Path",
      span: this.span(root, segments[segments.length - 1]!),
      root: this.text(root.image) as A.PathRoot,
      segments: segments.map((s) => this.text(s.image)),
    });
  }

  /* ---- sequence operators ------------------------------------------------------------------------ */

  private temporal(cst: CstNode): A.TemporalCall {
    const c = cst.children;
    this.exprDepth = 1;
    const keyword = tok(c.After ?? c.Since ?? c.Gap ?? c.Count ?? c.Distinct ?? c.Rate ?? c.Regularity ?? c.Sequence ?? c.Deviates);
    const span = this.span(keyword, tok(c.RParen));
    if (c.Deviates) return this.count({ kind: "DeviatesCall", span, workflow: this.name(tok(c.NameTok)) });
    const key = this.key(node(c.key));
    const window = c.window ? this.duration(tok(c.window)) : null;
    const events = c.events ? this.events(node(c.events)) : null;
    const until = c.until ? this.events(node(c.until)) : null;
    switch (keyword.image) {
      case "after":
        return this.count({ kind: "AfterCall", span, events: events!, key, window, until });
      case "since":
        return this.count({ kind: "SinceCall", span, events: events!, key });
      case "gap":
        return this.count({ kind: "GapCall", span, events: events!, key });
      case "count":
        return this.count({ kind: "CountCall", span, events: events!, key, window, current: c.Including !== undefined });
      case "distinct":
        return this.count({ kind: "DistinctCall", span, attribute: this.path(node(c.path)), events, key, window, current: c.Including !== undefined });
      case "rate":
        return this.count({ kind: "RateCall", span, events: events!, key, limit: this.number(tok(c.limit)), per: this.duration(tok(c.per)) });
      case "regularity":
        return this.count({ kind: "RegularityCall", span, events: events!, key, samples: this.number(tok(c.samples)) });
      default: {
        const stages = nodes(c.stages).map((s) => this.events(s));
        return this.count({ kind: "SequenceCall", span, stages, key, window: window!, until });
      }
    }
  }

  private events(cst: CstNode): A.EventSelector {
    const c = cst.children;
    const patterns = nodes(c.actionName).map((a) => this.actionName(a));
    const filter = c.filter ? tok(c.filter) : undefined;
    const last = patterns[patterns.length - 1]!.span;
    return this.count({
      kind: "EventSelector",
      span: filter ? joinSpans(this.tokSpan(filter), last) : joinSpans(patterns[0]!.span, last),
      filter: (filter?.image ?? "happened") as A.EventFilter,
      explicitFilter: filter !== undefined,
      patterns,
    });
  }

  /* ---- workflows --------------------------------------------------------------------------------- */

  private workflow(cst: CstNode): A.WorkflowDecl {
    const c = cst.children;
    const name = this.name(tok(c.name));
    const key = this.key(node(c.key));
    const scope = nodes(c.scope).map((a) => this.actionName(a));
    const steps = nodes(c.step).map((s) => this.step(s));
    let onDeviation: A.WorkflowDecl["onDeviation"] = null;
    if (c.On) {
      const [effect, effectSpan] = this.effect(node(c.effect));
      const reason = c.StringLiteral ? this.string(tok(c.StringLiteral)) : null;
      onDeviation = { effect, span: joinSpans(this.tokSpan(tok(c.On)), (reason?.span ?? effectSpan)), reason };
    }
    const end = onDeviation?.span ?? steps[steps.length - 1]!.span;
    return this.count({ kind: "WorkflowDecl", span: joinSpans(this.tokSpan(tok(c.Workflow)), end), name, key, scope, steps, onDeviation });
  }

  private step(cst: CstNode): A.WorkflowStep {
    const c = cst.children;
    const actions = nodes(c.actionName).map((a) => this.actionName(a));
    const repeatTok = c.repeat ? tok(c.repeat) : undefined;
    const repeat = repeatTok === undefined ? "one" : repeatTok.image === "*" ? "many" : repeatTok.image === "+" ? "some" : "optional";
    const start = c.LParen ? this.tokSpan(tok(c.LParen)) : actions[0]!.span;
    const end = repeatTok ? this.tokSpan(repeatTok) : c.RParen ? this.tokSpan(tok(c.RParen)) : actions[actions.length - 1]!.span;
    return this.count({ kind: "WorkflowStep", span: joinSpans(start, end), actions, repeat });
  }

  /* ---- tests and properties ---------------------------------------------------------------------- */

  private test(cst: CstNode): A.TestDecl {
    const c = cst.children;
    const name = this.string(tok(c.StringLiteral));
    const given = c.given ? this.given(node(c.given)) : null;
    const steps = nodes(c.testStep).map((s) => this.testStep(s));
    return this.count({ kind: "TestDecl", span: this.span(tok(c.Test), tok(c.RCurly)), name, given, steps });
  }

  private given(cst: CstNode): A.TestGiven {
    const c = cst.children;
    const principal = c.kind ? { kind: this.name(tok(c.kind)), id: this.string(tok(c.id)) } : null;
    const withs = nodes(c.testWith).map((w) => this.testWith(w));
    const end = withs[withs.length - 1]?.span ?? principal!.id.span;
    return this.count({ kind: "TestGiven", span: joinSpans(this.tokSpan(tok(c.Given)), end), principal, with: withs });
  }

  private testStep(cst: CstNode): A.TestStep {
    const c = cst.children;
    const at = c.DurationLiteral ? this.duration(tok(c.DurationLiteral)) : null;
    return c.testSignal ? this.testSignal(node(c.testSignal), at, c.At) : this.testRequest(node(c.testRequest), at, c.At);
  }

  private testRequest(cst: CstNode, at: A.DurationLit | null, atTok: CstElement[] | undefined): A.TestRequest {
    const c = cst.children;
    const principalKind = c.kind ? this.name(tok(c.kind)) : null;
    const principalId = c.id ? this.string(tok(c.id)) : null;
    const action = this.actionName(node(c.actionName));
    const resource = c.resourceGlob ? this.resourceGlob(node(c.resourceGlob)) : null;
    const withs = nodes(c.testWith).map((w) => this.testWith(w));
    const [effect, effectSpan] = this.effect(node(c.effect));
    const rule = c.rule ? this.name(tok(c.rule)) : null;
    const expect = { effect, span: joinSpans(this.tokSpan(tok(c.FatArrow)), rule?.span ?? effectSpan), rule };
    const start = atTok ? this.tokSpan(tok(atTok)) : (principalKind?.span ?? action.span);
    return this.count({
      kind: "TestRequest",
      span: joinSpans(start, expect.span),
      at,
      principalKind,
      principalId,
      action,
      resource,
      with: withs,
      expect,
    });
  }

  private testSignal(cst: CstNode, at: A.DurationLit | null, atTok: CstElement[] | undefined): A.TestSignal {
    const c = cst.children;
    const signal = this.actionName(node(c.actionName));
    const principal = c.kind ? { kind: this.name(tok(c.kind)), id: this.string(tok(c.id)) } : null;
    const withs = nodes(c.testWith).map((w) => this.testWith(w));
    const start = atTok ? tok(atTok) : tok(c.Signal);
    const end = withs[withs.length - 1]?.span ?? principal?.id.span ?? signal.span;
    return this.count({ kind: "TestSignal", span: this.span(start, end), at, signal, principal, with: withs });
  }

  private testWith(cst: CstNode): A.TestWith {
    const c = cst.children;
    if (c.Session) {
      const session = this.string(tok(c.StringLiteral));
      return this.count({ kind: "WithSession" as const, span: joinSpans(this.tokSpan(tok(c.Session)), session.span), session });
    }
    const entity = tok(c.entity);
    const fields = nodes(c.testField).map((f) => {
      const fc = f.children;
      return { name: this.name(tok(fc.NameTok)), value: fc.set ? this.set(node(fc.set)) : this.literal(node(fc.literal)) };
    });
    return this.count({
      kind: "WithAttributes" as const,
      span: this.span(entity, tok(c.RCurly)),
      entity: entity.image as "principal" | "resource" | "context",
      fields,
    });
  }

  private property(cst: CstNode): A.PropertyDecl {
    const c = cst.children;
    const name = this.string(tok(c.StringLiteral));
    const claims = nodes(c.claim).map((cl) => this.claim(cl));
    return this.count({ kind: "PropertyDecl", span: this.span(tok(c.Property), tok(c.RCurly)), name, claims });
  }

  private claim(cst: CstNode): A.PropertyClaim {
    const c = cst.children;
    const quantifier = tok(c.quantifier);
    const [effect] = this.effect(node(c.effect));
    const targets = this.targets(node(c.targets));
    const principals = c.principals ? this.principals(node(c.principals)) : [];
    const resources = c.resources ? this.resources(node(c.resources)) : [];
    const conds = toks(c.cond);
    const exprs = nodes(c.expr);
    const conditions = conds.map((cond, i) => this.whenClause(cond, exprs[i]!));
    const last = conditions[conditions.length - 1] ?? resources[resources.length - 1] ?? principals[principals.length - 1] ?? targets[targets.length - 1]!;
    return this.count({
      kind: "PropertyClaim",
      span: joinSpans(this.tokSpan(quantifier), last.span),
      quantifier: quantifier.image as "never" | "always",
      effect,
      targets,
      principals,
      resources,
      conditions,
    });
  }

  /* ---- names and literals ------------------------------------------------------------------------ */

  private name(t: IToken): A.Name {
    return this.count({ kind: "Name", span: this.tokSpan(t), value: this.text(t.image) });
  }

  private actionName(cst: CstNode): A.ActionPattern {
    const segments = toks(cst.children.segment);
    return this.count({
      kind: "ActionPattern",
      span: this.span(segments[0]!, segments[segments.length - 1]!),
      segments: segments.map((s) => this.text(s.image)),
    });
  }

  private string(t: IToken): A.StringLit {
    if (t.tokenType === ParamRef) this.fail("C281", this.tokSpan(t), "a parameter cannot stand here: it stands for a number, a duration or a value in a condition");
    return this.count({ kind: "StringLit", span: this.tokSpan(t), value: this.text(decodeString(t.image)) });
  }

  private number(t: IToken): A.NumberLit {
    if (t.tokenType === ParamRef) return this.paramRef(t, "number", { kind: "NumberLit", span: this.tokSpan(t), param: t.image.slice(1), value: Number.NaN });
    return this.count({ kind: "NumberLit", span: this.tokSpan(t), value: Number(t.image) });
  }

  private duration(t: IToken): A.DurationLit {
    if (t.tokenType === ParamRef) return this.paramRef(t, "duration", { kind: "DurationLit", span: this.tokSpan(t), param: t.image.slice(1), ms: Number.NaN, text: t.image });
    return this.count({ kind: "DurationLit", span: this.tokSpan(t), ms: durationMs(t.image), text: t.image });
  }
}

export { ItemError };

/* ---- CST access -------------------------------------------------------------------------------------- */

/** A missing CST child in an item that parsed without error: a bug, reported as P109. */
function missing(): never {
  throw new Error("unexpected CST shape");
}
function tok(elements: CstElement[] | undefined): IToken {
  const e = elements?.[0];
  return e !== undefined && !("children" in e) ? e : missing();
}
function toks(elements: CstElement[] | undefined): IToken[] {
  return (elements ?? []) as IToken[];
}
function node(elements: CstElement[] | undefined): CstNode {
  const e = elements?.[0];
  return e !== undefined && "children" in e ? e : missing();
}
function nodes(elements: CstElement[] | undefined): CstNode[] {
  return (elements ?? []) as CstNode[];
}
