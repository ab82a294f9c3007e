import { describe, expect, it } from "vitest";
import type { Expr, RuleDecl } from "../../src/ast/nodes.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { only, parseOk, text } from "./helpers.js";

/** The condition of `rule r: deny x when EXPR`. */
function cond(expr: string): Expr {
  const rule = only(`rule r: deny x when ${expr}`, "RuleDecl");
  const clause = rule.clauses[0]!;
  if (clause.kind !== "WhenClause") throw new Error(clause.kind);
  return clause.condition;
}

/** An expression as a compact string, to assert shapes briefly. */
function show(e: Expr): string {
  switch (e.kind) {
    case "StringLit":
      return JSON.stringify(e.value);
    case "NumberLit":
    case "BoolLit":
      return String(e.value);
    case "DurationLit":
      return `${e.ms}ms`;
    case "Path":
      return [e.root, ...e.segments].join(".");
    case "SetLit":
      return `[${e.elements.map(show).join(",")}]`;
    case "BinaryExpr":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "NotExpr":
      return `not ${show(e.operand)}`;
    case "CompareExpr":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "InExpr":
      return `(${show(e.element)} in ${show(e.collection)})`;
    case "LikeExpr":
      return `(${show(e.subject)} like ${JSON.stringify(e.pattern.value)})`;
    case "HasExpr":
      return `(${e.subject.kind === "RootRef" ? e.subject.root : show(e.subject)} has ${e.attribute.value})`;
    case "SessionHasExpr":
      return `(session has ${e.label.value})`;
    default:
      return e.kind;
  }
}

describe("files", () => {
  it("an empty file is a valid empty policy", () => {
    for (const source of ["", "   \n\t\r\n", "// only a comment\n/* and another */"]) {
      const { ast, diagnostics } = parsePolicy(source);
      expect(diagnostics).toEqual([]);
      expect(ast.kind).toBe("PolicyFile");
      expect(ast.items).toEqual([]);
    }
  });

  it("keeps comments in source order with their spans and delimiters", () => {
    const source = "// head\nrule r: allow x /* inline */ // tail\n";
    const ast = parseOk(source);
    expect(ast.comments.map((c) => c.text)).toEqual(["// head", "/* inline */", "// tail"]);
    expect(ast.comments.map((c) => text(source, c.span))).toEqual(["// head", "/* inline */", "// tail"]);
    expect(ast.comments[1]!.span).toMatchObject({ line: 2, column: 17, endLine: 2, endColumn: 29 });
  });

  it("gives the file span and the file name to every node", () => {
    const source = "rule r: allow x\n";
    const { ast } = parsePolicy(source, { file: "policy.rules" });
    expect(ast.span).toEqual({ file: "policy.rules", offset: 0, endOffset: 16, line: 1, column: 1, endLine: 2, endColumn: 1 });
    expect(ast.items[0]!.span.file).toBe("policy.rules");
  });
});

describe("schema", () => {
  it("entities, fields, optional fields, every type, trailing commas", () => {
    const source = `schema {
  principal { kind: "human" | "agent", id: string, team?: string, }
  resource { tags: set<string>, nested: set<set<number>> }
  context { risk: number, mfa: bool, ttl: duration }
}`;
    const schema = only(source, "SchemaBlock");
    expect(text(source, schema.span)).toBe(source);
    expect(schema.entities.map((e) => e.entity)).toEqual(["principal", "resource", "context"]);
    const [kind, id, team] = schema.entities[0]!.fields;
    expect(kind!.name.value).toBe("kind");
    expect(kind!.type).toMatchObject({ kind: "EnumType", values: [{ value: "human" }, { value: "agent" }] });
    expect(text(source, kind!.type.span)).toBe('"human" | "agent"');
    expect(id).toMatchObject({ optional: false, type: { kind: "PrimType", name: "string" } });
    expect(team).toMatchObject({ optional: true, name: { value: "team" } });
    expect(text(source, team!.span)).toBe("team?: string");
    const [tags, nested] = schema.entities[1]!.fields;
    expect(tags!.type).toMatchObject({ kind: "SetType", element: { kind: "PrimType", name: "string" } });
    expect(nested!.type).toMatchObject({ kind: "SetType", element: { kind: "SetType", element: { name: "number" } } });
    expect(text(source, nested!.type.span)).toBe("set<set<number>>");
    expect(schema.entities[2]!.fields.map((f) => f.type.kind === "PrimType" && f.type.name)).toEqual(["number", "bool", "duration"]);
  });

  it("attribute tags after the type: [secret], several, on optional and set-typed fields", () => {
    const source = `schema { context { ip: string, card?: string [secret], codes: set<string> [secret, x] } }`;
    const [ip, card, codes] = only(source, "SchemaBlock").entities[0]!.fields;
    expect(ip!.tags).toEqual([]);
    expect(card).toMatchObject({ optional: true, tags: [{ value: "secret" }] });
    expect(text(source, card!.span)).toBe("card?: string [secret]");
    expect(text(source, card!.tags[0]!.span)).toBe("secret");
    expect(codes!.tags.map((t) => t.value)).toEqual(["secret", "x"]);
    expect(text(source, codes!.span)).toBe("codes: set<string> [secret, x]");
  });

  it("an empty tag list is a parse error", () => {
    expect(parsePolicy("schema { context { a: string [] } }").diagnostics.map((d) => d.code)).toContain("P101");
  });

  it("an entity with no fields", () => {
    expect(only("schema { context {} }", "SchemaBlock").entities[0]!.fields).toEqual([]);
  });
});

describe("actions", () => {
  it("groups separated by tags, wildcards, keywords as segments", () => {
    const source = `actions {
  build.validate, ticket.draft
  release.push, secret.rotate [high]
  session.revoked, ticket.* [high, audited]
  count
}`;
    const block = only(source, "ActionsBlock");
    // A group is a comma-separated run: `ticket.draft` and `release.push` are not joined by a comma.
    expect(block.groups.map((g) => [g.actions.map((a) => a.segments.join(".")), g.tags.map((t) => t.value)])).toEqual([
      [["build.validate", "ticket.draft"], []],
      [["release.push", "secret.rotate"], ["high"]],
      [["session.revoked", "ticket.*"], ["high", "audited"]],
      [["count"], []],
    ]);
    expect(text(source, block.groups[2]!.span)).toBe("session.revoked, ticket.* [high, audited]");
  });
});

describe("rules", () => {
  it("name, effect, targets, principals, resources", () => {
    const source = 'rule validate-builds: allow build.validate for agent "deploy-bot" on repo/*';
    const rule = only(source, "RuleDecl");
    expect(text(source, rule.span)).toBe(source);
    expect(rule.name).toMatchObject({ kind: "Name", value: "validate-builds" });
    expect(text(source, rule.name.span)).toBe("validate-builds");
    expect(rule.effect).toBe("allow");
    expect(text(source, rule.effectSpan)).toBe("allow");
    expect(rule.targets).toMatchObject([{ kind: "ActionTarget", pattern: { kind: "ActionPattern", segments: ["build", "validate"] } }]);
    expect(rule.principals).toMatchObject([{ kind: "PrincipalSelector", principalKind: { value: "agent" }, id: { value: "deploy-bot" }, attributes: [] }]);
    expect(text(source, rule.principals[0]!.span)).toBe('agent "deploy-bot"');
    expect(rule.resources).toMatchObject([{ kind: "ResourceSelector", glob: "repo/*" }]);
    expect(rule.clauses).toEqual([]);
  });

  it("every effect", () => {
    for (const effect of ["allow", "challenge", "deny", "revoke", "flag"]) {
      expect(only(`rule r: ${effect} x`, "RuleDecl").effect).toBe(effect);
    }
  });

  it("targets: several, wildcards, signals; keywords as rule names and segments", () => {
    const rule = only("rule count: revoke signal session.revoked, ticket.*, *, *.read, signal", "RuleDecl");
    expect(rule.name.value).toBe("count");
    expect(rule.targets.map((t) => [t.kind, t.pattern.segments.join(".")])).toEqual([
      ["SignalTarget", "session.revoked"],
      ["ActionTarget", "ticket.*"],
      ["ActionTarget", "*"],
      ["ActionTarget", "*.read"],
      ["ActionTarget", "signal"],
    ]);
  });

  it("principal selectors: *, a kind, kind *, kind with id, attributes", () => {
    const source = 'rule r: allow x for *, agent, service *, agent "deploy-*", human * { team: "sre", level: 3, }';
    const p = only(source, "RuleDecl").principals;
    expect(p.map((s) => [s.principalKind?.value ?? null, s.id?.value ?? null, s.attributes.length])).toEqual([
      [null, null, 0],
      ["agent", null, 0],
      ["service", null, 0],
      ["agent", "deploy-*", 0],
      ["human", null, 2],
    ]);
    expect(p[4]!.attributes).toMatchObject([
      { kind: "AttributeMatch", name: { value: "team" }, value: { kind: "StringLit", value: "sre" } },
      { name: { value: "level" }, value: { kind: "NumberLit", value: 3 } },
    ]);
    expect(text(source, p[4]!.span)).toBe('human * { team: "sre", level: 3, }');
    expect(text(source, p[2]!.span)).toBe("service *");
  });

  it("resources: unquoted paths and strings (unescaped)", () => {
    const rule = only('rule r: allow x on secret/billing/*, repo/app.v2/**, "with space/\\u{2a}"', "RuleDecl");
    expect(rule.resources.map((r) => r.glob)).toEqual(["secret/billing/*", "repo/app.v2/**", "with space/*"]);
  });

  it("every clause", () => {
    const source = `rule r: challenge x
  when context.mfa == false
  unless principal.team == "sre"
  reason "needs \\"mfa\\"\\n"
  limit 1 per session
  limit 5 per context.ip within 1h
  valid for 15m
  valid for 2d per principal
  label session += secret
  label session += pii for 10m
  require mfa
  require approval satisfied by approval.granted
  target principal`;
    const clauses = only(source, "RuleDecl").clauses;
    expect(clauses.map((c) => text(source, c.span))).toEqual(source.split("\n").slice(1).map((l) => l.trim()));
    expect(clauses).toMatchObject([
      { kind: "WhenClause", negated: false, condition: { kind: "CompareExpr" } },
      { kind: "WhenClause", negated: true },
      { kind: "ReasonClause", text: { kind: "StringLit", value: 'needs "mfa"\n' } },
      { kind: "LimitClause", count: { value: 1 }, key: { kind: "SessionKey" }, window: null },
      { kind: "LimitClause", count: { value: 5 }, key: { kind: "PathKey", path: { root: "context", segments: ["ip"] } }, window: { ms: 3_600_000, text: "1h" } },
      { kind: "ValidForClause", duration: { ms: 900_000 }, key: null },
      { kind: "ValidForClause", duration: { ms: 172_800_000 }, key: { kind: "PrincipalKey" } },
      { kind: "LabelClause", label: { value: "secret" }, duration: null },
      { kind: "LabelClause", label: { value: "pii" }, duration: { ms: 600_000 } },
      { kind: "RequireClause", obligation: { value: "mfa" }, satisfiedBy: null },
      { kind: "RequireClause", obligation: { value: "approval" }, satisfiedBy: { segments: ["approval", "granted"] } },
      { kind: "TargetKeyClause", key: { kind: "PrincipalKey" } },
    ]);
  });

  it("a rule may span lines and is followed by the next item", () => {
    const source = "rule a: deny x\n  when context.risk > 0.5\n  reason \"r\"\nrule b: allow y";
    const ast = parseOk(source);
    expect(ast.items.map((i) => text(source, i.span))).toEqual(['rule a: deny x\n  when context.risk > 0.5\n  reason "r"', "rule b: allow y"]);
    const a = ast.items[0] as RuleDecl;
    expect(a.span).toMatchObject({ line: 1, column: 1, endLine: 3, endColumn: 13 });
  });
});

describe("expressions", () => {
  it("or binds looser than and, both left-associative; not binds tightest", () => {
    expect(show(cond("context.a == 1 or context.b == 2 and context.c == 3"))).toBe("((context.a == 1) or ((context.b == 2) and (context.c == 3)))");
    expect(show(cond("context.a or context.b or context.c"))).toBe("((context.a or context.b) or context.c)");
    expect(show(cond("context.a and context.b and context.c"))).toBe("((context.a and context.b) and context.c)");
    expect(show(cond("not context.a == 1 and not not context.b"))).toBe("(not (context.a == 1) and not not context.b)");
    expect(show(cond("(context.a or context.b) and context.c"))).toBe("((context.a or context.b) and context.c)");
  });

  it("comparison operators", () => {
    for (const op of ["==", "!=", "<", "<=", ">", ">="]) {
      expect(show(cond(`context.risk ${op} 0.5`))).toBe(`(context.risk ${op} 0.5)`);
    }
  });

  it("literals: strings with escapes, numbers, durations in ms, booleans, sets", () => {
    expect(show(cond('context.a == "a\\"b\\\\c\\t\\u{1F600}"'))).toBe(`(context.a == ${JSON.stringify('a"b\\c\t\u{1F600}')})`);
    expect(show(cond("context.a == -12.25"))).toBe("(context.a == -12.25)");
    expect(show(cond("context.a in [300ms, 10s, 10m, 1h, 7d]"))).toBe("(context.a in [300ms,10000ms,600000ms,3600000ms,604800000ms])");
    expect(show(cond("context.a == true or context.b != false"))).toBe("((context.a == true) or (context.b != false))");
    expect(show(cond('context.a in ["x", "y",]'))).toBe('(context.a in ["x","y"])');
    expect(show(cond("context.a in []"))).toBe("(context.a in [])");
    const d = cond("context.t < 300ms");
    expect(d).toMatchObject({ right: { kind: "DurationLit", ms: 300, text: "300ms" } });
  });

  it("in, like, has (on a path and on a root), session has, bare roots, keywords as path segments", () => {
    expect(show(cond("principal.team in principal.groups"))).toBe("(principal.team in principal.groups)");
    expect(show(cond('resource.path like "secret/*"'))).toBe('(resource.path like "secret/*")');
    expect(show(cond("principal has team"))).toBe("(principal has team)");
    expect(cond("principal has team")).toMatchObject({ kind: "HasExpr", subject: { kind: "RootRef", root: "principal" } });
    expect(show(cond("context.device has id"))).toBe("(context.device has id)");
    expect(show(cond("session has secret"))).toBe("(session has secret)");
    expect(show(cond('action in ["a.b"]'))).toBe('(action in ["a.b"])');
    expect(cond("action == 1")).toMatchObject({ left: { kind: "Path", root: "action", segments: [] } });
    expect(show(cond("context.count.for == 1"))).toBe("(context.count.for == 1)");
  });

  it("spans of expressions cover their text", () => {
    const source = "rule r: deny x when not (context.a == 1 or session has s) and resource.p like \"x\"";
    const rule = only(source, "RuleDecl");
    const e = (rule.clauses[0] as { condition: Expr }).condition;
    expect(text(source, e.span)).toBe('not (context.a == 1 or session has s) and resource.p like "x"');
    if (e.kind !== "BinaryExpr" || e.left.kind !== "NotExpr") throw new Error("shape");
    expect(text(source, e.left.span)).toBe("not (context.a == 1 or session has s)");
    expect(text(source, e.left.operand.span)).toBe("(context.a == 1 or session has s)");
    expect(text(source, e.right.span)).toBe('resource.p like "x"');
  });
});

describe("sequence operators", () => {
  it("after, with window and until, and every event filter", () => {
    expect(cond("after(approval.granted by session within 1h until approval.revoked)")).toMatchObject({
      kind: "AfterCall",
      events: { kind: "EventSelector", filter: "happened", explicitFilter: false, patterns: [{ segments: ["approval", "granted"] }] },
      key: { kind: "SessionKey" },
      window: { ms: 3_600_000 },
      until: { patterns: [{ segments: ["approval", "revoked"] }] },
    });
    expect(cond("after(x by principal)")).toMatchObject({ window: null, until: null, key: { kind: "PrincipalKey" } });
    for (const filter of ["allowed", "attempted", "denied", "signal"]) {
      expect(cond(`after(${filter} a.b | c.* by session)`)).toMatchObject({
        events: { filter, explicitFilter: true, patterns: [{ segments: ["a", "b"] }, { segments: ["c", "*"] }] },
      });
    }
    expect(cond("after(signal.x by session)")).toMatchObject({ events: { filter: "happened", patterns: [{ segments: ["signal", "x"] }] } });
  });

  it("since, gap, count", () => {
    expect(cond("since(signal risk.changed by principal) > 5m")).toMatchObject({
      kind: "CompareExpr",
      left: { kind: "SinceCall", events: { filter: "signal" }, key: { kind: "PrincipalKey" } },
    });
    expect(cond("gap(login.attempt by context.ip) < 300ms")).toMatchObject({
      left: { kind: "GapCall", key: { kind: "PathKey", path: { root: "context", segments: ["ip"] } } },
      right: { ms: 300 },
    });
    expect(cond("count(login.fail by context.ip within 1m) >= 5")).toMatchObject({ left: { kind: "CountCall", window: { ms: 60_000 } } });
    expect(cond("count(login.fail by session) >= 5")).toMatchObject({ left: { kind: "CountCall", window: null } });
  });

  it("distinct with and without of-events", () => {
    expect(cond("distinct(action.domain by principal within 5m) > 3")).toMatchObject({
      left: { kind: "DistinctCall", attribute: { root: "action", segments: ["domain"] }, events: null, key: { kind: "PrincipalKey" }, window: { ms: 300_000 } },
    });
    expect(cond("distinct(resource.owner of allowed x.read by session) > 3")).toMatchObject({
      left: { kind: "DistinctCall", events: { filter: "allowed" }, window: null },
    });
  });

  it("rate, regularity, sequence, deviates", () => {
    expect(cond("rate(login.attempt by context.ip, 5 per 1m)")).toMatchObject({ kind: "RateCall", limit: { value: 5 }, per: { ms: 60_000 } });
    expect(cond("regularity(login.attempt by session over 10) < 0.1")).toMatchObject({ left: { kind: "RegularityCall", samples: { value: 10 } } });
    expect(cond("sequence(account.create, cart.add | cart.update, payment.submit by session within 30s until cart.clear)")).toMatchObject({
      kind: "SequenceCall",
      stages: [{ patterns: [{ segments: ["account", "create"] }] }, { patterns: [{}, {}] }, { patterns: [{ segments: ["payment", "submit"] }] }],
      window: { ms: 30_000 },
      until: { patterns: [{ segments: ["cart", "clear"] }] },
    });
    expect(cond("sequence(a, b by session within 1m)")).toMatchObject({ until: null });
    expect(cond("deviates(billing-export)")).toMatchObject({ kind: "DeviatesCall", workflow: { value: "billing-export" } });
  });

  it("operator spans run from the keyword to the closing parenthesis", () => {
    const source = "rule r: deny x when count(a by session within 1m) >= 3";
    const e = (only(source, "RuleDecl").clauses[0] as { condition: Expr }).condition;
    if (e.kind !== "CompareExpr") throw new Error(e.kind);
    expect(text(source, e.left.span)).toBe("count(a by session within 1m)");
  });
});

describe("workflows", () => {
  it("steps, alternatives, repetition marks, on deviation", () => {
    const source = `workflow billing-export by context.account:
  customer.lookup -> invoice.read* -> (invoice.export | invoice.mail)+ -> audit.log? -> x.*
  on deviation flag reason "left the workflow"`;
    const w = only(source, "WorkflowDecl");
    expect(text(source, w.span)).toBe(source);
    expect(w.name.value).toBe("billing-export");
    expect(w.key).toMatchObject({ kind: "PathKey", path: { root: "context", segments: ["account"] } });
    expect(w.steps.map((s) => [s.actions.map((a) => a.segments.join(".")), s.repeat])).toEqual([
      [["customer.lookup"], "one"],
      [["invoice.read"], "many"],
      [["invoice.export", "invoice.mail"], "some"],
      [["audit.log"], "optional"],
      [["x.*"], "one"],
    ]);
    expect(text(source, w.steps[2]!.span)).toBe("(invoice.export | invoice.mail)+");
    expect(w.onDeviation).toMatchObject({ effect: "flag", reason: { value: "left the workflow" } });
    expect(text(source, w.onDeviation!.span)).toBe('on deviation flag reason "left the workflow"');
  });

  it("without on deviation; arrows without spaces", () => {
    const w = only("workflow w by session: a->b->c", "WorkflowDecl");
    expect(w.onDeviation).toBeNull();
    expect(w.steps.map((s) => s.actions[0]!.segments[0])).toEqual(["a", "b", "c"]);
  });
});

describe("tests and properties", () => {
  it("test requests and signals with every part", () => {
    const source = `test "deploy bot" {
  agent "deploy-bot" build.validate repo/app => allow
  at 5s agent "deploy-bot" release.push "repo/app" session "s1" context { risk: 0.2, mfa: true } principal { groups: ["a", "b"] } resource {} => deny by release-approval
  signal login.fail
  at 1m signal risk.changed by agent "x" session "s1" context { risk: 0.9, }
}`;
    const t = only(source, "TestDecl");
    expect(t.name.value).toBe("deploy bot");
    expect(text(source, t.span)).toBe(source);
    const [a, b, c, d] = t.steps;
    expect(a).toMatchObject({
      kind: "TestRequest",
      at: null,
      principalKind: { value: "agent" },
      principalId: { value: "deploy-bot" },
      action: { segments: ["build", "validate"] },
      resource: { glob: "repo/app" },
      with: [],
      expect: { effect: "allow", rule: null },
    });
    expect(b).toMatchObject({
      kind: "TestRequest",
      at: { ms: 5000 },
      resource: { glob: "repo/app" },
      with: [
        { kind: "WithSession", session: { value: "s1" } },
        { kind: "WithAttributes", entity: "context", fields: [{ name: { value: "risk" }, value: { value: 0.2 } }, { name: { value: "mfa" }, value: { value: true } }] },
        { kind: "WithAttributes", entity: "principal", fields: [{ name: { value: "groups" }, value: { kind: "SetLit" } }] },
        { kind: "WithAttributes", entity: "resource", fields: [] },
      ],
      expect: { effect: "deny", rule: { value: "release-approval" } },
    });
    expect(text(source, b!.span)).toMatch(/^at 5s agent .* => deny by release-approval$/);
    expect(c).toMatchObject({ kind: "TestSignal", at: null, signal: { segments: ["login", "fail"] }, principal: null, with: [] });
    expect(text(source, c!.span)).toBe("signal login.fail");
    expect(d).toMatchObject({
      kind: "TestSignal",
      at: { ms: 60_000 },
      principal: { kind: { value: "agent" }, id: { value: "x" } },
      with: [{ kind: "WithSession" }, { kind: "WithAttributes", entity: "context" }],
    });
  });

  it("a principal kind named signal is a request", () => {
    const t = only('test "t" { signal "x" a.b => allow }', "TestDecl");
    expect(t.steps[0]).toMatchObject({ kind: "TestRequest", principalKind: { value: "signal" } });
  });

  it("properties with never/always claims, principals, resources and conditions", () => {
    const source = `property "no release without approval" {
  never allow release.push unless after(approval.granted by session within 1h)
  always deny secret.rotate for agent * on secret/* when context.risk > 0.5 unless context.mfa == true
}`;
    const p = only(source, "PropertyDecl");
    expect(p.name.value).toBe("no release without approval");
    expect(p.claims).toMatchObject([
      { kind: "PropertyClaim", quantifier: "never", effect: "allow", targets: [{ pattern: { segments: ["release", "push"] } }], principals: [], resources: [], conditions: [{ negated: true, condition: { kind: "AfterCall" } }] },
      { quantifier: "always", effect: "deny", principals: [{ principalKind: { value: "agent" } }], resources: [{ glob: "secret/*" }], conditions: [{ negated: false }, { negated: true }] },
    ]);
    expect(text(source, p.claims[1]!.span)).toBe("always deny secret.rotate for agent * on secret/* when context.risk > 0.5 unless context.mfa == true");
  });

  it("empty test and property blocks", () => {
    expect(only('test "t" {}', "TestDecl").steps).toEqual([]);
    expect(only('property "p" {}', "PropertyDecl").claims).toEqual([]);
  });
});
