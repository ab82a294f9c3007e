import type { Span } from "./span.js";

/**
 * The typed AST of a `.rules` file. Every node carries its `span`; every node is a plain,
 * JSON-serialisable object discriminated by `kind`. The normative grammar is `grammar/rules.ebnf`.
 */

export type Effect = "allow" | "challenge" | "deny" | "revoke" | "flag";
export const EFFECTS: readonly Effect[] = ["allow", "challenge", "deny", "revoke", "flag"];

/** A `.rules` file. `comments` are kept for the formatter, in source order. */
export interface PolicyFile {
  readonly kind: "PolicyFile";
  readonly span: Span;
  /**
   * The `import`, `use` and `param` lines that open the file, in source order (absent or empty
   * when it has none). They say where the rest of the policy comes from and name the file's
   * parameters; they are not items of the policy.
   */
  readonly header?: readonly HeaderItem[];
  readonly items: readonly Item[];
  readonly comments: readonly Comment[];
}

/* ----------------------------------------------------------------------------------------------
 * import "path.rules", use leash/login { ... }, param name: type = value
 * -------------------------------------------------------------------------------------------- */

export type HeaderItem = ImportDecl | UseDecl | ParamDecl;

/** `import "../schema.rules"`: another file of the same policy, relative to this one. */
export interface ImportDecl {
  readonly kind: "ImportDecl";
  readonly span: Span;
  readonly path: StringLit;
}

/** `use leash/login { failures: 10, window: 5m }`: a library module, with values for its parameters. */
export interface UseDecl {
  readonly kind: "UseDecl";
  readonly span: Span;
  /** The module's name as written, e.g. `leash/login`. */
  readonly module: { readonly value: string; readonly span: Span };
  readonly params: readonly ParamValue[];
}

/** `failures: 10` in a `use`: the value a parameter of the module takes. */
export interface ParamValue {
  readonly kind: "ParamValue";
  readonly span: Span;
  readonly name: Name;
  readonly value: Literal;
}

/** What a parameter holds: its default's type. */
export type ParamType = "number" | "duration" | "string" | "bool";

/**
 * `param failures = 5`: a value the file's rules refer to as `$failures`. A file that `use`s the
 * module may set it to another value of the same type; otherwise it has its default.
 */
export interface ParamDecl {
  readonly kind: "ParamDecl";
  readonly span: Span;
  readonly name: Name;
  readonly default: Literal;
}

export interface Comment {
  readonly kind: "Comment";
  readonly span: Span;
  /** The comment text including its delimiters (`// x` or `/* x *\/`). */
  readonly text: string;
}

export type Item = SchemaBlock | ActionsBlock | SignalsBlock | RuleDecl | WorkflowDecl | TestDecl | PropertyDecl;

/* ----------------------------------------------------------------------------------------------
 * Names
 * -------------------------------------------------------------------------------------------- */

/** An identifier such as a rule name (`no-exfil`), a kind (`agent`) or a label (`secret`). */
export interface Name {
  readonly kind: "Name";
  readonly span: Span;
  readonly value: string;
}

/**
 * A dotted action or signal name, possibly with `*` segments: `secret.read`, `ticket.*`, `*`.
 * `segments` never contains an empty string; `*` is a whole segment.
 */
export interface ActionPattern {
  readonly kind: "ActionPattern";
  readonly span: Span;
  readonly segments: readonly string[];
}

/**
 * An attribute path rooted at `principal`, `resource`, `context` or `action`. A bare root used as a
 * value (`action in [...]`) is a Path with no segments.
 */
export interface Path {
  readonly kind: "Path";
  readonly span: Span;
  readonly root: PathRoot;
  /** Segments after the root, e.g. `["risk"]` for `context.risk`. */
  readonly segments: readonly string[];
}
export type PathRoot = "principal" | "resource" | "context" | "action";

/* ----------------------------------------------------------------------------------------------
 * schema { principal { ... } resource { ... } context { ... } }
 * -------------------------------------------------------------------------------------------- */

export interface SchemaBlock {
  readonly kind: "SchemaBlock";
  readonly span: Span;
  readonly entities: readonly EntitySchema[];
}

export interface EntitySchema {
  readonly kind: "EntitySchema";
  readonly span: Span;
  readonly entity: "principal" | "resource" | "context";
  readonly fields: readonly FieldDecl[];
}

export interface FieldDecl {
  readonly kind: "FieldDecl";
  readonly span: Span;
  readonly name: Name;
  readonly type: TypeExpr;
  /** `name?: type` marks an optional attribute. */
  readonly optional: boolean;
  /** Tags after the type: `password: string [secret]` (decision logs redact the value). */
  readonly tags: readonly Name[];
}

export type TypeExpr =
  | { readonly kind: "PrimType"; readonly span: Span; readonly name: "string" | "number" | "bool" | "duration" }
  | { readonly kind: "SetType"; readonly span: Span; readonly element: TypeExpr }
  /** `"human" | "service"`: a string restricted to the listed values. */
  | { readonly kind: "EnumType"; readonly span: Span; readonly values: readonly StringLit[] };

/* ----------------------------------------------------------------------------------------------
 * actions { a.b, c.d  e.f [high] }
 * -------------------------------------------------------------------------------------------- */

export interface ActionsBlock {
  readonly kind: "ActionsBlock";
  readonly span: Span;
  readonly groups: readonly ActionGroup[];
}

/** A comma-separated run of action names with optional tags: `release.push, secret.rotate [high]`. */
export interface ActionGroup {
  readonly kind: "ActionGroup";
  readonly span: Span;
  readonly actions: readonly ActionPattern[];
  readonly tags: readonly Name[];
}

/* ----------------------------------------------------------------------------------------------
 * signals { login.fail, approval.granted  session.revoked }
 * -------------------------------------------------------------------------------------------- */

/**
 * The signals a policy observes. With this block, a signal name that is not declared (in a rule,
 * `satisfied by`, a test or a trace) is an error.
 */
export interface SignalsBlock {
  readonly kind: "SignalsBlock";
  readonly span: Span;
  readonly groups: readonly SignalGroup[];
}

/** A comma-separated run of signal names: `login.fail, login.ok`. */
export interface SignalGroup {
  readonly kind: "SignalGroup";
  readonly span: Span;
  readonly signals: readonly ActionPattern[];
}

/* ----------------------------------------------------------------------------------------------
 * rule NAME: EFFECT targets [for ...] [on ...] clauses*
 * -------------------------------------------------------------------------------------------- */

export interface RuleDecl {
  readonly kind: "RuleDecl";
  readonly span: Span;
  readonly name: Name;
  readonly effect: Effect;
  readonly effectSpan: Span;
  /** What the rule applies to: action patterns and/or `signal X` patterns. */
  readonly targets: readonly Target[];
  /** `for agent "deploy-bot", service *`; empty means any principal. */
  readonly principals: readonly PrincipalSelector[];
  /** `on repo/*, "secret/billing/*"`; empty means any (or no) resource. */
  readonly resources: readonly ResourceSelector[];
  readonly clauses: readonly Clause[];
}

export type Target =
  | { readonly kind: "ActionTarget"; readonly span: Span; readonly pattern: ActionPattern }
  /** `signal session.revoked`: the rule runs when the signal is observed. */
  | { readonly kind: "SignalTarget"; readonly span: Span; readonly pattern: ActionPattern };

/**
 * `*` (anyone), `agent` (any agent), `agent *`, `agent "deploy-bot"`, `agent "deploy-*"`
 * (glob on the id), optionally with attribute equalities `service * { team: "billing" }`.
 */
export interface PrincipalSelector {
  readonly kind: "PrincipalSelector";
  readonly span: Span;
  /** `null` for the bare `*` (any kind). */
  readonly principalKind: Name | null;
  /** `null` for any id. A string containing `*` is a glob. */
  readonly id: StringLit | null;
  readonly attributes: readonly AttributeMatch[];
}

export interface AttributeMatch {
  readonly kind: "AttributeMatch";
  readonly span: Span;
  readonly name: Name;
  readonly value: Literal;
}

/** `repo/*` or `"secret/billing/*"`: a glob over `resource.path` (falls back to `resource.id`). */
export interface ResourceSelector {
  readonly kind: "ResourceSelector";
  readonly span: Span;
  readonly glob: string;
}

export type Clause =
  | WhenClause
  | ReasonClause
  | LimitClause
  | ValidForClause
  | LabelClause
  | RequireClause
  | TargetKeyClause;

/** `when EXPR` or `unless EXPR` (`unless e` is `when not e`). */
export interface WhenClause {
  readonly kind: "WhenClause";
  readonly span: Span;
  readonly negated: boolean;
  readonly condition: Expr;
}

export interface ReasonClause {
  readonly kind: "ReasonClause";
  readonly span: Span;
  readonly text: StringLit;
}

/**
 * `limit 1 per session [within 1h]`: a quantity scope on an allow rule. With `distinct ATTR`
 * (`limit 1 distinct resource per session`) it counts the distinct values of ATTR among the uses:
 * a use of a value already used is always within the limit.
 */
export interface LimitClause {
  readonly kind: "LimitClause";
  readonly span: Span;
  readonly count: NumberLit;
  /** `distinct resource` (a Path of root `resource` with no segments: the resource's path, else its id) or `distinct PATH`. */
  readonly distinct: Path | null;
  readonly key: KeyRef;
  readonly window: DurationLit | null;
}

/** `valid for 15m [per session]`: the grant ends this long after its first use by the key. */
export interface ValidForClause {
  readonly kind: "ValidForClause";
  readonly span: Span;
  readonly duration: DurationLit;
  readonly key: KeyRef | null;
}

/** `label session += secret [for 10m]`: when the action happens, the session gains a label. */
export interface LabelClause {
  readonly kind: "LabelClause";
  readonly span: Span;
  readonly label: Name;
  readonly duration: DurationLit | null;
}

/** `require mfa [satisfied by approval.granted]`: the step-up a challenge asks for. */
export interface RequireClause {
  readonly kind: "RequireClause";
  readonly span: Span;
  readonly obligation: Name;
  readonly satisfiedBy: ActionPattern | null;
}

/** `target principal`: which key a `revoke` rule revokes (default `session`). */
export interface TargetKeyClause {
  readonly kind: "TargetKeyClause";
  readonly span: Span;
  readonly key: KeyRef;
}

/** `by session`, `by principal`, `by context.ip`: a key of one part. */
export type SimpleKeyRef =
  | { readonly kind: "SessionKey"; readonly span: Span }
  | { readonly kind: "PrincipalKey"; readonly span: Span }
  | { readonly kind: "PathKey"; readonly span: Span; readonly path: Path };

/** `by (session, resource.path)`: one partition per combination of the parts' values. */
export interface CompoundKey {
  readonly kind: "CompoundKey";
  readonly span: Span;
  /** Two or more parts, as written. */
  readonly parts: readonly SimpleKeyRef[];
}

/** The key a history or a count is partitioned by: one part, or several in parentheses. */
export type KeyRef = SimpleKeyRef | CompoundKey;

/* ----------------------------------------------------------------------------------------------
 * Expressions
 * -------------------------------------------------------------------------------------------- */

export type Expr =
  | Literal
  | Path
  | SetLit
  | BinaryExpr
  | NotExpr
  | CompareExpr
  | InExpr
  | LikeExpr
  | HasExpr
  | SessionHasExpr
  | TemporalCall;

export type Literal = StringLit | NumberLit | BoolLit | DurationLit;

export interface StringLit {
  readonly kind: "StringLit";
  readonly span: Span;
  /** Set when the value was written as a parameter, `$name`: the parameter's name (the value is its value). */
  readonly param?: string;
  /** The unescaped value. */
  readonly value: string;
}
export interface NumberLit {
  readonly kind: "NumberLit";
  readonly span: Span;
  /** Set when the value was written as a parameter, `$name`: the parameter's name (the value is its value). */
  readonly param?: string;
  readonly value: number;
}
export interface BoolLit {
  readonly kind: "BoolLit";
  readonly span: Span;
  /** Set when the value was written as a parameter, `$name`: the parameter's name (the value is its value). */
  readonly param?: string;
  readonly value: boolean;
}
/** `300ms`, `10s`, `10m`, `1h`, `7d`. `ms` is the value in milliseconds; `text` is as written. */
export interface DurationLit {
  readonly kind: "DurationLit";
  readonly span: Span;
  /** Set when the value was written as a parameter, `$name`: the parameter's name (the value is its value). */
  readonly param?: string;
  readonly ms: number;
  readonly text: string;
}
/** `["a", "b"]` */
export interface SetLit {
  readonly kind: "SetLit";
  readonly span: Span;
  readonly elements: readonly Literal[];
}

export interface BinaryExpr {
  readonly kind: "BinaryExpr";
  readonly span: Span;
  readonly op: "and" | "or";
  readonly left: Expr;
  readonly right: Expr;
}
export interface NotExpr {
  readonly kind: "NotExpr";
  readonly span: Span;
  readonly operand: Expr;
}

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";
export interface CompareExpr {
  readonly kind: "CompareExpr";
  readonly span: Span;
  readonly op: CompareOp;
  readonly left: Expr;
  readonly right: Expr;
}
/** `x in ["a","b"]` or `x in principal.groups` */
export interface InExpr {
  readonly kind: "InExpr";
  readonly span: Span;
  readonly element: Expr;
  readonly collection: Expr;
}
/** `resource.path like "secret/*"`: glob match, `*` any run of characters, linear time. */
export interface LikeExpr {
  readonly kind: "LikeExpr";
  readonly span: Span;
  readonly subject: Expr;
  readonly pattern: StringLit;
}
/** `principal has team`: the attribute is present. */
export interface HasExpr {
  readonly kind: "HasExpr";
  readonly span: Span;
  readonly subject: Path | { readonly kind: "RootRef"; readonly span: Span; readonly root: PathRoot };
  readonly attribute: Name;
}
/** `session has secret`: the session carries the label (see `label session += secret`). */
export interface SessionHasExpr {
  readonly kind: "SessionHasExpr";
  readonly span: Span;
  readonly label: Name;
}

/* ----------------------------------------------------------------------------------------------
 * Sequence (temporal) operators, all past-time
 * -------------------------------------------------------------------------------------------- */

/**
 * Which events an operator sees. `happened` (the default, written nothing) = allowed actions and
 * observed signals; `allowed` = allowed actions only; `attempted` = every decided request whatever
 * its effect; `denied` = requests whose effect was deny, challenge or revoke; `signal` = signals only.
 */
export type EventFilter = "happened" | "allowed" | "attempted" | "denied" | "signal";

/** `[allowed|attempted|denied|signal] a.b, c.*`: the events an operator counts. */
export interface EventSelector {
  readonly kind: "EventSelector";
  readonly span: Span;
  readonly filter: EventFilter;
  /** Whether the filter was written (`attempted login.attempt`) or defaulted. */
  readonly explicitFilter: boolean;
  readonly patterns: readonly ActionPattern[];
}

export type TemporalCall =
  | AfterCall
  | SinceCall
  | GapCall
  | CountCall
  | DistinctCall
  | RateCall
  | RegularityCall
  | SequenceCall
  | DeviatesCall;

/** `after(X by K [within D] [until Z])`: X happened for key K (within D), with no Z since. */
export interface AfterCall {
  readonly kind: "AfterCall";
  readonly span: Span;
  readonly events: EventSelector;
  readonly key: KeyRef;
  readonly window: DurationLit | null;
  readonly until: EventSelector | null;
}
/** `since(X by K)`: the duration since the latest X of key K (infinite if none). */
export interface SinceCall {
  readonly kind: "SinceCall";
  readonly span: Span;
  readonly events: EventSelector;
  readonly key: KeyRef;
}
/** `gap(X by K)`: the interval between the two latest X of K, the current request included when it is an X. */
export interface GapCall {
  readonly kind: "GapCall";
  readonly span: Span;
  readonly events: EventSelector;
  readonly key: KeyRef;
}
/**
 * `count(X by K within D [including this])`: X events of K in the sliding window (now - D, now];
 * compared with a number. `including this` counts the event being decided too, when it is an X.
 */
export interface CountCall {
  readonly kind: "CountCall";
  readonly span: Span;
  readonly events: EventSelector;
  readonly key: KeyRef;
  readonly window: DurationLit | null;
  /** `including this`: the event being decided or observed counts when the selector would count it. */
  readonly current: boolean;
}
/** `distinct(ATTR of X by K within D)`: the number of distinct ATTR values among X events of K. */
export interface DistinctCall {
  readonly kind: "DistinctCall";
  readonly span: Span;
  readonly attribute: Path;
  /** `null` means every event of the key. */
  readonly events: EventSelector | null;
  readonly key: KeyRef;
  readonly window: DurationLit | null;
  /** `including this`: the event being decided or observed counts when the selector would count it. */
  readonly current: boolean;
}
/** `rate(X by K, N per D)`: true when X events of K exceed N per D (GCRA, burst N). */
export interface RateCall {
  readonly kind: "RateCall";
  readonly span: Span;
  readonly events: EventSelector;
  readonly key: KeyRef;
  readonly limit: NumberLit;
  readonly per: DurationLit;
}
/** `regularity(X by K over N)`: coefficient of variation of the last N gaps between X events. */
export interface RegularityCall {
  readonly kind: "RegularityCall";
  readonly span: Span;
  readonly events: EventSelector;
  readonly key: KeyRef;
  readonly samples: NumberLit;
}
/** `sequence(A, B, C by K within D [until Z])`: the stages happened in order within D of now. */
export interface SequenceCall {
  readonly kind: "SequenceCall";
  readonly span: Span;
  readonly stages: readonly EventSelector[];
  readonly key: KeyRef;
  readonly window: DurationLit;
  readonly until: EventSelector | null;
}
/** `deviates(billing-export)`: the current request leaves the workflow's allowed transitions. */
export interface DeviatesCall {
  readonly kind: "DeviatesCall";
  readonly span: Span;
  readonly workflow: Name;
}

/* ----------------------------------------------------------------------------------------------
 * workflow NAME by KEY [over SCOPE]: step -> step* -> step [on deviation EFFECT [reason "..."]]
 * -------------------------------------------------------------------------------------------- */

export interface WorkflowDecl {
  readonly kind: "WorkflowDecl";
  readonly span: Span;
  readonly name: Name;
  readonly key: KeyRef;
  /**
   * `over customer.*, invoice.*`: the actions the workflow governs. Any of them that is not an
   * allowed next step deviates. Empty: the workflow governs the actions its steps name.
   */
  readonly scope: readonly ActionPattern[];
  readonly steps: readonly WorkflowStep[];
  /** `on deviation flag`: an implicit rule with this effect for requests that deviate. */
  readonly onDeviation: { readonly effect: Effect; readonly span: Span; readonly reason: StringLit | null } | null;
}

/** A step: one or more alternative actions (`a | b`) with a repetition mark. */
export interface WorkflowStep {
  readonly kind: "WorkflowStep";
  readonly span: Span;
  readonly actions: readonly ActionPattern[];
  readonly repeat: "one" | "optional" | "many" | "some"; // "", "?", "*", "+"
}

/* ----------------------------------------------------------------------------------------------
 * test "name" { steps } and property "name" { ... }
 * -------------------------------------------------------------------------------------------- */

export interface TestDecl {
  readonly kind: "TestDecl";
  readonly span: Span;
  readonly name: StringLit;
  /** `given human "alice" session "s1" context {...}`: what every step has unless it says otherwise. */
  readonly given: TestGiven | null;
  readonly steps: readonly TestStep[];
}

/**
 * `given [KIND "ID"] [session "..."] [principal {...}] [resource {...}] [context {...}]`: the
 * defaults of a test's steps. A step's own principal, session and attributes replace them, field
 * by field for the attribute blocks.
 */
export interface TestGiven {
  readonly kind: "TestGiven";
  readonly span: Span;
  readonly principal: { readonly kind: Name; readonly id: StringLit } | null;
  readonly with: readonly TestWith[];
}

export type TestStep = TestRequest | TestSignal;

/**
 * `[at 5s] [agent "deploy-bot"] build.validate [repo/app] [session "s1"] [context {...}]
 *  [principal {...}] [resource {...}] => allow [by rule-name]`; without `KIND "ID"` the step is
 *  the principal its test's `given` names.
 */
export interface TestRequest {
  readonly kind: "TestRequest";
  readonly span: Span;
  readonly at: DurationLit | null;
  /** Both null when the step leaves the principal to its test's `given`. */
  readonly principalKind: Name | null;
  readonly principalId: StringLit | null;
  readonly action: ActionPattern;
  readonly resource: ResourceSelector | null;
  readonly with: readonly TestWith[];
  readonly expect: { readonly effect: Effect; readonly span: Span; readonly rule: Name | null } | null;
}

/** `[at 5s] signal login.fail [by agent "x"] [session "s1"] [context {...}]` */
export interface TestSignal {
  readonly kind: "TestSignal";
  readonly span: Span;
  readonly at: DurationLit | null;
  readonly signal: ActionPattern;
  readonly principal: { readonly kind: Name; readonly id: StringLit } | null;
  readonly with: readonly TestWith[];
}

export type TestWith =
  | { readonly kind: "WithSession"; readonly span: Span; readonly session: StringLit }
  | {
      readonly kind: "WithAttributes";
      readonly span: Span;
      readonly entity: "principal" | "resource" | "context";
      readonly fields: readonly { readonly name: Name; readonly value: Literal | SetLit }[];
    };

/** `never allow X [for ...] [on ...] [when|unless ...]` / `always deny X ...` */
export interface PropertyDecl {
  readonly kind: "PropertyDecl";
  readonly span: Span;
  readonly name: StringLit;
  readonly claims: readonly PropertyClaim[];
}

export interface PropertyClaim {
  readonly kind: "PropertyClaim";
  readonly span: Span;
  readonly quantifier: "never" | "always";
  readonly effect: Effect;
  readonly targets: readonly Target[];
  readonly principals: readonly PrincipalSelector[];
  readonly resources: readonly ResourceSelector[];
  readonly conditions: readonly WhenClause[];
}
