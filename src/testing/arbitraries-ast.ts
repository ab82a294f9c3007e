import fc from "fast-check";
import type {
  ActionGroup,
  ActionPattern,
  ActionsBlock,
  AttributeMatch,
  Clause,
  DurationLit,
  Effect,
  EntitySchema,
  EventSelector,
  Expr,
  FieldDecl,
  Item,
  KeyRef,
  Literal,
  Name,
  NumberLit,
  Path,
  PathRoot,
  PolicyFile,
  PrincipalSelector,
  PropertyClaim,
  PropertyDecl,
  ResourceSelector,
  RuleDecl,
  SchemaBlock,
  SetLit,
  SignalGroup,
  SignalsBlock,
  SimpleKeyRef,
  StringLit,
  Target,
  TemporalCall,
  TestDecl,
  TestGiven,
  TestStep,
  TestWith,
  TypeExpr,
  WhenClause,
  WorkflowDecl,
  WorkflowStep,
} from "../ast/nodes.js";
import { EFFECTS } from "../ast/nodes.js";
import { syntheticSpan, type Span } from "../ast/span.js";
import { FORBIDDEN_CHARS, KEYWORDS } from "../syntax/tokens.js";

/**
 * fast-check arbitraries for random, grammatically valid ASTs (grammar/rules.ebnf) with synthetic
 * spans. Every tree they produce can be printed and parsed back to itself (modulo spans): names
 * are valid identifiers of one script, strings carry escapes and non-ASCII text but no raw control
 * or BIDI characters, numbers are finite and never `-0`, and every node has the shape the parser
 * builds (e.g. a `HasExpr` subject is a path or a root; `explicitFilter` is set exactly when a
 * filter is written). Depth and size are bounded so a run stays fast.
 */

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

const SPAN: Span = syntheticSpan();

/* ---- names and literals ----------------------------------------------------------------- */

const SCRIPTS: readonly string[] = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüßñ",
  "αβγδεζηθικλμνξπρστυφχψω",
  "абвгдежзийклмнопрстуфхцчшщ",
];

/** An identifier (`letter { letter | digit | "_" | "-" }`) in one script, never a keyword. */
export function arbIdentifier(): fc.Arbitrary<string> {
  const latin = SCRIPTS[0]!;
  const script = fc.oneof({ weight: 8, arbitrary: fc.constant(latin) }, { weight: 1, arbitrary: fc.constantFrom(...SCRIPTS.slice(1)) });
  return script
    .chain((letters) =>
      fc.tuple(
        fc.constantFrom(...letters),
        fc.array(fc.constantFrom(...letters, ..."0123456789_-"), { maxLength: 8 }),
      ),
    )
    .map(([first, rest]) => first + rest.join(""))
    .filter((s) => !KEYWORD_SET.has(s));
}

/** Where the grammar takes a `name`, a keyword is a name too (`rule count: ...`, `context.count`). */
export function arbNameText(keywords = true): fc.Arbitrary<string> {
  return keywords
    ? fc.oneof({ weight: 9, arbitrary: arbIdentifier() }, { weight: 1, arbitrary: fc.constantFrom(...KEYWORDS) })
    : arbIdentifier();
}

export function arbName(keywords = true): fc.Arbitrary<Name> {
  return arbNameText(keywords).map((value) => ({ kind: "Name", span: SPAN, value }));
}

const STRING_PIECES = ['"', "\\", "\n", "\t", "\r", " ", "\\n", "é", "日本語", "😀", "Ω", "👩‍💻", "\u00a0", "*", "/", "{", "}"];

// Values avoid the lexer's forbidden characters (controls, BIDI): the laws are about text people
// write, and `formatString` escaping those characters has unit tests of its own.
const FORBIDDEN = FORBIDDEN_CHARS;

export function arbStringValue(): fc.Arbitrary<string> {
  return fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 6 }) },
        { weight: 2, arbitrary: fc.constantFrom(...STRING_PIECES) },
        { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 3 }) },
      ),
      { maxLength: 4 },
    )
    .map((parts) => parts.join(""))
    .filter((s) => !FORBIDDEN.test(s));
}

export function arbStringLit(): fc.Arbitrary<StringLit> {
  return arbStringValue().map((value) => ({ kind: "StringLit", span: SPAN, value }));
}

/** Finite numbers, never `-0`: integers, short decimals and arbitrary doubles. */
export function arbNumber(): fc.Arbitrary<number> {
  return fc
    .oneof(
      { weight: 4, arbitrary: fc.integer({ min: -1000, max: 1_000_000 }) },
      { weight: 3, arbitrary: fc.tuple(fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: 1, max: 4 })).map(([n, k]) => n / 10 ** k) },
      { weight: 1, arbitrary: fc.double({ min: -1e12, max: 1e12, noNaN: true, noDefaultInfinity: true }) },
    )
    .map((n) => n + 0);
}

export function arbNumberLit(): fc.Arbitrary<NumberLit> {
  return arbNumber().map((value) => ({ kind: "NumberLit", span: SPAN, value }));
}

function arbCount(): fc.Arbitrary<NumberLit> {
  return fc.nat(1000).map((value) => ({ kind: "NumberLit", span: SPAN, value }));
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function arbDurationLit(): fc.Arbitrary<DurationLit> {
  return fc
    .tuple(fc.nat(10_000), fc.constantFrom(...(Object.keys(UNIT_MS) as (keyof typeof UNIT_MS)[])))
    .map(([n, unit]) => ({ kind: "DurationLit", span: SPAN, ms: n * UNIT_MS[unit], text: `${n}${unit}` }));
}

export function arbLiteral(): fc.Arbitrary<Literal> {
  return fc.oneof(
    arbStringLit(),
    arbNumberLit(),
    fc.boolean().map((value) => ({ kind: "BoolLit" as const, span: SPAN, value })),
    arbDurationLit(),
  );
}

export function arbSetLit(): fc.Arbitrary<SetLit> {
  return fc.array(arbLiteral(), { maxLength: 3 }).map((elements) => ({ kind: "SetLit", span: SPAN, elements }));
}

const option = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { nil: null, freq });
const arbEffect = (): fc.Arbitrary<Effect> => fc.constantFrom(...EFFECTS);

/* ---- actions, paths, keys --------------------------------------------------------------- */

/**
 * Keywords that begin an action name ambiguously: `signal`, `allowed`, `attempted` and `denied`
 * followed by a name read as a prefix (`allow signal for ...`), so a pattern never starts with them.
 */
const PREFIX_WORDS: ReadonlySet<string> = new Set(["signal", "allowed", "attempted", "denied"]);

/** `a.b`, `ticket.*`, `*`, `session.revoked`, `x.count`. */
export function arbActionPattern(): fc.Arbitrary<ActionPattern> {
  const segment = fc.oneof({ weight: 6, arbitrary: arbNameText() }, { weight: 1, arbitrary: fc.constant("*") });
  const first = fc.oneof(
    { weight: 6, arbitrary: arbNameText().filter((s) => !PREFIX_WORDS.has(s)) },
    { weight: 1, arbitrary: fc.constant("*") },
  );
  return fc
    .tuple(first, fc.array(segment, { maxLength: 2 }))
    .map(([head, rest]) => ({ kind: "ActionPattern", span: SPAN, segments: [head, ...rest] }));
}

export function arbPath(): fc.Arbitrary<Path> {
  return fc
    .tuple(fc.constantFrom<PathRoot>("principal", "resource", "context", "action"), fc.array(arbNameText(), { minLength: 1, maxLength: 3 }))
    .map(([root, segments]) => ({ kind: "Path", span: SPAN, root, segments }));
}

export function arbKeyPart(): fc.Arbitrary<SimpleKeyRef> {
  return fc.oneof(
    fc.constant<SimpleKeyRef>({ kind: "SessionKey", span: SPAN }),
    fc.constant<SimpleKeyRef>({ kind: "PrincipalKey", span: SPAN }),
    arbPath().map((path): SimpleKeyRef => ({ kind: "PathKey", span: SPAN, path })),
  );
}

/** A key of one part, or (less often) a compound key of two to four parts. */
export function arbKey(): fc.Arbitrary<KeyRef> {
  return fc.oneof(
    { weight: 4, arbitrary: arbKeyPart() },
    { weight: 1, arbitrary: fc.array(arbKeyPart(), { minLength: 2, maxLength: 4 }).map((parts): KeyRef => ({ kind: "CompoundKey", span: SPAN, parts })) },
  );
}

export function arbEvents(): fc.Arbitrary<EventSelector> {
  return fc
    .tuple(fc.constantFrom("happened", "allowed", "attempted", "denied", "signal" as const), fc.array(arbActionPattern(), { minLength: 1, maxLength: 3 }))
    .map(([filter, patterns]) => ({ kind: "EventSelector", span: SPAN, filter, explicitFilter: filter !== "happened", patterns }));
}

/* ---- expressions ------------------------------------------------------------------------ */

export function arbTemporal(): fc.Arbitrary<TemporalCall> {
  const window = option(arbDurationLit());
  const until = option(arbEvents(), 3);
  return fc.oneof(
    fc.record({ events: arbEvents(), key: arbKey(), window, until }).map((r): TemporalCall => ({ kind: "AfterCall", span: SPAN, ...r })),
    fc.record({ events: arbEvents(), key: arbKey() }).map((r): TemporalCall => ({ kind: "SinceCall", span: SPAN, ...r })),
    fc.record({ events: arbEvents(), key: arbKey() }).map((r): TemporalCall => ({ kind: "GapCall", span: SPAN, ...r })),
    fc.record({ events: arbEvents(), key: arbKey(), window, current: fc.boolean() }).map((r): TemporalCall => ({ kind: "CountCall", span: SPAN, ...r })),
    fc
      .record({ attribute: arbPath(), events: option(arbEvents()), key: arbKey(), window, current: fc.boolean() })
      .map((r): TemporalCall => ({ kind: "DistinctCall", span: SPAN, ...r })),
    fc
      .record({ events: arbEvents(), key: arbKey(), limit: arbCount(), per: arbDurationLit() })
      .map((r): TemporalCall => ({ kind: "RateCall", span: SPAN, ...r })),
    fc.record({ events: arbEvents(), key: arbKey(), samples: arbCount() }).map((r): TemporalCall => ({ kind: "RegularityCall", span: SPAN, ...r })),
    fc
      .record({ stages: fc.array(arbEvents(), { minLength: 1, maxLength: 3 }), key: arbKey(), window: arbDurationLit(), until })
      .map((r): TemporalCall => ({ kind: "SequenceCall", span: SPAN, ...r })),
    arbName().map((workflow): TemporalCall => ({ kind: "DeviatesCall", span: SPAN, workflow })),
  );
}

function arbOperand(): fc.Arbitrary<Expr> {
  return fc.oneof(
    { weight: 3, arbitrary: arbLiteral() },
    { weight: 1, arbitrary: arbSetLit() },
    { weight: 3, arbitrary: arbPath() },
    // A bare root (`action in [...]`) is a path without segments.
    { weight: 1, arbitrary: fc.constantFrom<PathRoot>("principal", "resource", "context", "action").map((root): Expr => ({ kind: "Path", span: SPAN, root, segments: [] })) },
    { weight: 2, arbitrary: arbTemporal() },
    { weight: 1, arbitrary: arbName().map((label): Expr => ({ kind: "SessionHasExpr", span: SPAN, label })) },
  );
}

/** A condition of at most `maxDepth` nested operators. */
export function arbExpr(maxDepth = 3): fc.Arbitrary<Expr> {
  const hasSubject = fc.oneof(
    arbPath(),
    fc.constantFrom<PathRoot>("principal", "resource", "context", "action").map((root) => ({ kind: "RootRef" as const, span: SPAN, root })),
  );
  const expr = fc.memo((n): fc.Arbitrary<Expr> => {
    if (n <= 1) return arbOperand();
    const sub = expr(n - 1);
    return fc.oneof(
      { weight: 2, arbitrary: arbOperand() },
      { weight: 3, arbitrary: fc.record({ op: fc.constantFrom("and" as const, "or" as const), left: sub, right: sub }).map((r): Expr => ({ kind: "BinaryExpr", span: SPAN, ...r })) },
      { weight: 1, arbitrary: sub.map((operand): Expr => ({ kind: "NotExpr", span: SPAN, operand })) },
      {
        weight: 3,
        arbitrary: fc
          .record({ op: fc.constantFrom("==" as const, "!=" as const, "<" as const, "<=" as const, ">" as const, ">=" as const), left: sub, right: sub })
          .map((r): Expr => ({ kind: "CompareExpr", span: SPAN, ...r })),
      },
      { weight: 1, arbitrary: fc.record({ element: sub, collection: sub }).map((r): Expr => ({ kind: "InExpr", span: SPAN, ...r })) },
      { weight: 1, arbitrary: fc.record({ subject: sub, pattern: arbStringLit() }).map((r): Expr => ({ kind: "LikeExpr", span: SPAN, ...r })) },
      { weight: 1, arbitrary: fc.record({ subject: hasSubject, attribute: arbName() }).map((r): Expr => ({ kind: "HasExpr", span: SPAN, ...r })) },
    );
  });
  return expr(maxDepth);
}

/* ---- rules ------------------------------------------------------------------------------ */

export function arbTarget(): fc.Arbitrary<Target> {
  return fc
    .tuple(fc.boolean(), arbActionPattern())
    .map(([signal, pattern]) => ({ kind: signal ? "SignalTarget" : "ActionTarget", span: SPAN, pattern }));
}

function arbAttributeMatch(): fc.Arbitrary<AttributeMatch> {
  return fc.record({ name: arbName(), value: arbLiteral() }).map((r) => ({ kind: "AttributeMatch", span: SPAN, ...r }));
}

export function arbPrincipalSelector(): fc.Arbitrary<PrincipalSelector> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<PrincipalSelector>({ kind: "PrincipalSelector", span: SPAN, principalKind: null, id: null, attributes: [] }) },
    {
      weight: 4,
      arbitrary: fc
        .record({ principalKind: arbName(), id: option(arbStringLit()), attributes: fc.array(arbAttributeMatch(), { maxLength: 2 }) })
        .map((r): PrincipalSelector => ({ kind: "PrincipalSelector", span: SPAN, ...r })),
    },
  );
}

/** Resource globs: bare paths (`repo/*`) and quoted strings of any text. */
export function arbResourceSelector(): fc.Arbitrary<ResourceSelector> {
  const bare = fc
    .tuple(arbIdentifier(), fc.array(fc.oneof(arbIdentifier(), fc.constant("*"), fc.constant("")), { minLength: 1, maxLength: 3 }))
    .map(([head, rest]) => [head, ...rest].join("/"));
  return fc.oneof(bare, arbStringValue()).map((glob) => ({ kind: "ResourceSelector", span: SPAN, glob }));
}

function arbWhen(): fc.Arbitrary<WhenClause> {
  return fc.record({ negated: fc.boolean(), condition: arbExpr() }).map((r) => ({ kind: "WhenClause", span: SPAN, ...r }));
}

export function arbClause(): fc.Arbitrary<Clause> {
  return fc.oneof(
    { weight: 4, arbitrary: arbWhen() },
    { weight: 1, arbitrary: arbStringLit().map((text): Clause => ({ kind: "ReasonClause", span: SPAN, text })) },
    { weight: 1, arbitrary: fc.record({ count: arbCount(), distinct: option(arbDistinctScope()), key: arbKey(), window: option(arbDurationLit()) }).map((r): Clause => ({ kind: "LimitClause", span: SPAN, ...r })) },
    { weight: 1, arbitrary: fc.record({ duration: arbDurationLit(), key: option(arbKey()) }).map((r): Clause => ({ kind: "ValidForClause", span: SPAN, ...r })) },
    { weight: 1, arbitrary: fc.record({ label: arbName(), duration: option(arbDurationLit()) }).map((r): Clause => ({ kind: "LabelClause", span: SPAN, ...r })) },
    { weight: 1, arbitrary: fc.record({ obligation: arbName(), satisfiedBy: option(arbActionPattern()) }).map((r): Clause => ({ kind: "RequireClause", span: SPAN, ...r })) },
    { weight: 1, arbitrary: arbKey().map((key): Clause => ({ kind: "TargetKeyClause", span: SPAN, key })) },
  );
}

/** What `limit N distinct ... per` counts: `resource` (a resource path without segments) or an attribute path. */
function arbDistinctScope(): fc.Arbitrary<Path> {
  return fc.oneof(fc.constant<Path>({ kind: "Path", span: SPAN, root: "resource", segments: [] }), arbPath());
}

export function arbRule(): fc.Arbitrary<RuleDecl> {
  return fc
    .record({
      name: arbName(),
      effect: arbEffect(),
      targets: fc.array(arbTarget(), { minLength: 1, maxLength: 3 }),
      principals: fc.array(arbPrincipalSelector(), { maxLength: 2 }),
      resources: fc.array(arbResourceSelector(), { maxLength: 2 }),
      clauses: fc.array(arbClause(), { maxLength: 4 }),
    })
    .map((r) => ({ kind: "RuleDecl", span: SPAN, effectSpan: SPAN, ...r }));
}

/* ---- schema and actions ----------------------------------------------------------------- */

export function arbType(maxDepth = 2): fc.Arbitrary<TypeExpr> {
  const type = fc.memo((n): fc.Arbitrary<TypeExpr> => {
    const prim = fc.constantFrom("string", "number", "bool", "duration" as const).map((name): TypeExpr => ({ kind: "PrimType", span: SPAN, name }));
    const en = fc.array(arbStringLit(), { minLength: 1, maxLength: 3 }).map((values): TypeExpr => ({ kind: "EnumType", span: SPAN, values }));
    if (n <= 1) return fc.oneof(prim, en);
    return fc.oneof(prim, en, type(n - 1).map((element): TypeExpr => ({ kind: "SetType", span: SPAN, element })));
  });
  return type(maxDepth);
}

export function arbSchema(): fc.Arbitrary<SchemaBlock> {
  const tag = fc.oneof(fc.constant("secret"), arbNameText()).map((value): Name => ({ kind: "Name", span: SPAN, value }));
  const fieldDecl = fc
    .record({ name: arbName(), type: arbType(), optional: fc.boolean(), tags: fc.array(tag, { maxLength: 2 }) })
    .map((r): FieldDecl => ({ kind: "FieldDecl", span: SPAN, ...r }));
  const entity = fc
    .record({ entity: fc.constantFrom("principal", "resource", "context" as const), fields: fc.array(fieldDecl, { maxLength: 4 }) })
    .map((r): EntitySchema => ({ kind: "EntitySchema", span: SPAN, ...r }));
  return fc.array(entity, { maxLength: 3 }).map((entities) => ({ kind: "SchemaBlock", span: SPAN, entities }));
}

export function arbActions(): fc.Arbitrary<ActionsBlock> {
  const tag = fc.oneof(fc.constant("high"), arbNameText()).map((value): Name => ({ kind: "Name", span: SPAN, value }));
  const group = fc
    .record({ actions: fc.array(arbActionPattern(), { minLength: 1, maxLength: 4 }), tags: fc.array(tag, { maxLength: 2 }) })
    .map((r): ActionGroup => ({ kind: "ActionGroup", span: SPAN, ...r }));
  return fc.array(group, { maxLength: 4 }).map((groups) => ({ kind: "ActionsBlock", span: SPAN, groups }));
}

export function arbSignals(): fc.Arbitrary<SignalsBlock> {
  const group = fc.array(arbActionPattern(), { minLength: 1, maxLength: 4 }).map((signals): SignalGroup => ({ kind: "SignalGroup", span: SPAN, signals }));
  return fc.array(group, { maxLength: 4 }).map((groups) => ({ kind: "SignalsBlock", span: SPAN, groups }));
}

/* ---- workflows, tests, properties ------------------------------------------------------- */

export function arbWorkflow(): fc.Arbitrary<WorkflowDecl> {
  const step = fc
    .record({ actions: fc.array(arbActionPattern(), { minLength: 1, maxLength: 3 }), repeat: fc.constantFrom("one", "optional", "many", "some" as const) })
    .map((r): WorkflowStep => ({ kind: "WorkflowStep", span: SPAN, ...r }));
  const onDeviation = option(fc.record({ effect: arbEffect(), reason: option(arbStringLit()) }).map((r) => ({ span: SPAN, ...r })));
  return fc
    .record({ name: arbName(), key: arbKey(), scope: fc.array(arbActionPattern(), { maxLength: 3 }), steps: fc.array(step, { minLength: 1, maxLength: 5 }), onDeviation })
    .map((r) => ({ kind: "WorkflowDecl", span: SPAN, ...r }));
}

function arbTestWith(): fc.Arbitrary<TestWith> {
  const field = fc.record({ name: arbName(), value: fc.oneof(arbLiteral(), arbSetLit()) });
  return fc.oneof(
    arbStringLit().map((session): TestWith => ({ kind: "WithSession", span: SPAN, session })),
    fc
      .record({ entity: fc.constantFrom("principal", "resource", "context" as const), fields: fc.array(field, { maxLength: 3 }) })
      .map((r): TestWith => ({ kind: "WithAttributes", span: SPAN, ...r })),
  );
}

/**
 * Request kinds that read as the end of the step before: `by` (its `=> allow by RULE`), and after a
 * signal step `session "x"` (a `session` clause) and `principal`/`resource`/`context` (the parser
 * takes them for a `principal { ... }` clause with one token of lookahead).
 */
const AMBIGUOUS_TEST_KINDS: ReadonlySet<string> = new Set(["by", "session", "principal", "resource", "context"]);

/**
 * First words a request without a principal cannot start with: they read as the `by RULE` of the
 * step before, an `at`, a signal step or a `session`/attribute clause.
 */
const AMBIGUOUS_STEP_STARTS: ReadonlySet<string> = new Set([...AMBIGUOUS_TEST_KINDS, "at", "signal", "given"]);

export function arbTestStep(): fc.Arbitrary<TestStep> {
  const at = option(arbDurationLit());
  const withs = fc.array(arbTestWith(), { maxLength: 3 });
  const principal = fc.oneof(
    { weight: 3, arbitrary: fc.record({ principalKind: arbName().filter((n) => !AMBIGUOUS_TEST_KINDS.has(n.value)), principalId: arbStringLit(), action: arbActionPattern() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        principalKind: fc.constant(null),
        principalId: fc.constant(null),
        action: arbActionPattern().filter((a) => !AMBIGUOUS_STEP_STARTS.has(a.segments[0]!)),
      }),
    },
  );
  const request = fc
    .record({
      at,
      who: principal,
      resource: option(arbResourceSelector()),
      with: withs,
      expect: fc.record({ effect: arbEffect(), rule: option(arbName()) }).map((r) => ({ span: SPAN, ...r })),
    })
    .map(({ who, ...r }): TestStep => ({ kind: "TestRequest", span: SPAN, ...who, ...r }));
  const signal = fc
    .record({ at, signal: arbActionPattern(), principal: option(fc.record({ kind: arbName(), id: arbStringLit() })), with: withs })
    .map((r): TestStep => ({ kind: "TestSignal", span: SPAN, ...r }));
  return fc.oneof({ weight: 3, arbitrary: request }, { weight: 1, arbitrary: signal });
}

export function arbTest(): fc.Arbitrary<TestDecl> {
  return fc
    .record({ name: arbStringLit(), given: option(arbGiven()), steps: fc.array(arbTestStep(), { maxLength: 4 }) })
    .map((r) => ({ kind: "TestDecl", span: SPAN, ...r }));
}

/** `given [KIND "ID"] WITH*`: a principal, some clauses, or both (never neither). */
export function arbGiven(): fc.Arbitrary<TestGiven> {
  const principal = option(fc.record({ kind: arbName().filter((n) => !AMBIGUOUS_TEST_KINDS.has(n.value)), id: arbStringLit() }));
  return fc
    .record({ principal, with: fc.array(arbTestWith(), { maxLength: 3 }) })
    .filter((g) => g.principal !== null || g.with.length > 0)
    .map((r) => ({ kind: "TestGiven", span: SPAN, ...r }));
}

export function arbPropertyClaim(): fc.Arbitrary<PropertyClaim> {
  return fc
    .record({
      quantifier: fc.constantFrom("never", "always" as const),
      effect: arbEffect(),
      targets: fc.array(arbTarget(), { minLength: 1, maxLength: 2 }),
      principals: fc.array(arbPrincipalSelector(), { maxLength: 2 }),
      resources: fc.array(arbResourceSelector(), { maxLength: 2 }),
      conditions: fc.array(arbWhen(), { maxLength: 2 }),
    })
    .map((r) => ({ kind: "PropertyClaim", span: SPAN, ...r }));
}

export function arbProperty(): fc.Arbitrary<PropertyDecl> {
  return fc
    .record({ name: arbStringLit(), claims: fc.array(arbPropertyClaim(), { maxLength: 3 }) })
    .map((r) => ({ kind: "PropertyDecl", span: SPAN, ...r }));
}

/* ---- files ------------------------------------------------------------------------------ */

export function arbItem(): fc.Arbitrary<Item> {
  return fc.oneof(
    { weight: 1, arbitrary: arbSchema() },
    { weight: 1, arbitrary: arbActions() },
    { weight: 1, arbitrary: arbSignals() },
    { weight: 5, arbitrary: arbRule() },
    { weight: 2, arbitrary: arbWorkflow() },
    { weight: 1, arbitrary: arbTest() },
    { weight: 1, arbitrary: arbProperty() },
  );
}

/** A whole file of up to `maxItems` items, without comments. */
export function arbPolicyAst(maxItems = 6): fc.Arbitrary<PolicyFile> {
  return fc.array(arbItem(), { maxLength: maxItems }).map((items) => ({ kind: "PolicyFile", span: SPAN, items, comments: [] }));
}
