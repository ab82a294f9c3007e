import type { Keyword } from "../syntax/index.js";

/**
 * What each keyword and operator of `.rules` means, in a sentence or two and an example: the text
 * of hovers and completion items. The table is typed over every keyword, so a new keyword needs
 * its entry. The full reference is docs/language.md; semantics are in docs/semantics.md.
 */
export interface KeywordDoc {
  /** One line: what it is. */
  readonly summary: string;
  /** A short example in `.rules`. */
  readonly example?: string;
}

const HISTORY = "Reads the past of one key only; the current request is recorded after its decision (docs/sequences.md).";

export const KEYWORD_DOCS: { readonly [K in Keyword]: KeywordDoc } = {
  schema: { summary: "Declares the attributes of principals, resources and contexts; conditions may read only declared attributes (C201) and are type-checked (C202).", example: 'schema {\n  context { risk: number, mfa: bool, ip: string }\n}' },
  principal: { summary: "Who acts: `principal.kind` and `principal.id` always exist; other attributes come from the schema. As a key (`by principal`, `per principal`) it is the principal's kind and id.", example: "rule owners: allow doc.edit when resource.owner == principal.id" },
  resource: { summary: "What is acted on: `resource.type`, `resource.id` and `resource.path` always exist; other attributes come from the schema.", example: 'rule docs: allow doc.read when resource.type == "doc"' },
  context: { summary: "Facts about the request (risk score, address, MFA): only the attributes the schema declares, when it declares `context`.", example: "rule risky: deny secret.* when context.risk >= 0.9" },
  string: { summary: "Schema type: a string. Compared with `==`, `!=`, `like` and `in`." },
  number: { summary: "Schema type: a finite number. Compared with `==`, `!=`, `<`, `<=`, `>`, `>=`." },
  bool: { summary: "Schema type: `true` or `false`." },
  duration: { summary: "Schema type: a duration in milliseconds, compared with duration literals such as `10m`." },
  set: { summary: "Schema type `set<T>`: a set of values, read with `in`.", example: 'schema { context { groups: set<string> } }\nrule editors: allow wiki.edit when "editors" in context.groups' },
  actions: { summary: "Declares the actions the policy knows, in comma-separated groups; a group may end with tags. With an actions block, a rule targeting an undeclared action is an error (C203).", example: "actions {\n  ticket.draft, ticket.read\n  ticket.approve [high]\n}" },
  rule: { summary: "`rule NAME: EFFECT targets [for principals] [on resources] clauses...` — one rule. Its name identifies it in decisions.", example: "rule no-exfil: deny email.send when after(secret.read by session within 10m)" },
  allow: { summary: "Effect: grants the action. No matching allow means deny; a `[high]` action is allowed only by a rule that names it." },
  challenge: { summary: "Effect: step-up — the caller must ask for something (`require mfa`) before the action proceeds. A challenge only steps up what an allow rule grants; it outranks allow." },
  deny: { summary: "Effect: refuses the action. Outranks challenge and allow; only revoke outranks it." },
  revoke: { summary: "Effect: ends the session (or the `target`: principal, an attribute value); every later request of that key is denied (R307) until reinstated. Highest precedence." },
  flag: { summary: "Monitor-only effect: never changes the decision; matching flag rules are reported in `decision.flags`." },
  signal: { summary: "An observed event, recorded with `observe` and never decided. `revoke signal X` / `flag signal X` rules run when X is observed; in a history, `signal X` counts only signals.", example: "rule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= 5" },
  for: { summary: "After the targets: the principals the rule applies to (`for agent \"deploy-bot\"`, `for service *`, `for *`). In `valid for D` and `label ... for D`: a duration." },
  on: { summary: "The resources the rule applies to: globs over `resource.path` (or `resource.id`), `*` matching any run of characters. In a workflow: `on deviation EFFECT`.", example: "rule builds: allow build.validate on repo/*" },
  when: { summary: "A condition that must hold for the rule to match. Several `when`/`unless` clauses must all hold; a condition that cannot be evaluated fails closed (deny-like rules match, allow rules do not)." },
  unless: { summary: "`unless e` is `when not e`.", example: "rule release: challenge release.push unless after(signal approval.granted by session within 1h)" },
  reason: { summary: "The message a decision reports when this rule decides.", example: 'rule r: deny secret.rotate reason "rotating needs a human"' },
  limit: { summary: "`limit N per KEY [within D]` (allow rules): a quantity scope — at most N allowed uses per key, in the sliding window when given.", example: "rule one-secret: allow secret.read limit 1 per session" },
  per: { summary: "The key a `limit` or `valid for` is counted by (`session`, `principal`, an attribute); in `rate(..., N per D)`, the period." },
  within: { summary: "A sliding, half-open window: an event at time t is within D of now when now - t < D. Counting is exact." },
  valid: { summary: "`valid for D [per KEY]` (allow rules): the grant ends D after its first allowed use by the key (the session by default).", example: "rule grants: allow ticket.* for agent * valid for 15m" },
  label: { summary: "`label session += L [for D]`: when the action happens, the session gains label L (for D). `session has L` reads it.", example: "rule taint: flag secret.read label session += secret for 1h" },
  session: { summary: "The request's session. As a key (`by session`, `per session`) histories are kept per session; `session has L` tests a session label." },
  require: { summary: "`require KIND [satisfied by SIGNAL]` (challenge rules): what the caller must ask for (mfa, human-approval, ...) and the signal that satisfies it.", example: "rule r: challenge release.push require human-approval satisfied by approval.granted" },
  satisfied: { summary: "`satisfied by SIGNAL`: the observed signal that satisfies a challenge's obligation." },
  by: { summary: "The key a history is kept for (`by session`, `by principal`, `by context.ip`); in a test, the rule expected to decide (`=> deny by no-exfil`); in `satisfied by`, the signal." },
  target: { summary: "`target KEY` (revoke rules): what to revoke — `session` (the default), `principal` or an attribute such as `context.ip`." },
  or: { summary: "Boolean or. Three-valued: `true or ERROR` is true." },
  and: { summary: "Boolean and. Three-valued: `false and ERROR` is false." },
  not: { summary: "Boolean negation; `not ERROR` is an error (and fails closed)." },
  in: { summary: "Membership in a set literal or a set attribute.", example: 'rule r: allow report.read when principal.team in ["finance", "audit"]' },
  like: { summary: "Glob match on a string: `*` matches any run of characters; linear time.", example: 'rule office: allow door.open unless context.ip like "10.*"' },
  has: { summary: "`ENTITY has ATTR`: the attribute is present (use it before reading an optional attribute). `session has L`: the session carries label L.", example: "rule r: deny payout.* when context has risk and context.risk > 0.5" },
  true: { summary: "The boolean constant true." },
  false: { summary: "The boolean constant false." },
  action: { summary: "The requested action: `action.name` (`ticket.read`) and `action.domain` (its first segment, `ticket`).", example: "rule chaining: deny * when distinct(action.domain by principal within 5m) > 3" },
  after: { summary: `\`after(X by K [within D] [until Z])\`: true when an X of key K happened (within D) and no Z came after it. ${HISTORY}`, example: "rule no-exfil: deny email.send when after(secret.read by session within 10m)" },
  until: { summary: "`until Z` in `after(...)` or `sequence(...)`: a Z after the match cancels it." },
  since: { summary: `\`since(X by K)\`: the time since the latest X of K (infinite if none); compare it with a duration. ${HISTORY}`, example: "rule cooldown: deny payout.request when since(signal password.changed by principal) < 1d" },
  gap: { summary: `\`gap(X by K)\`: the interval between the two latest X of K, the current request included when it is an X; compare it with a duration. ${HISTORY}`, example: "rule timing: flag login.attempt when gap(attempted login.attempt by context.ip) < 300ms" },
  count: { summary: `\`count(X by K within D)\`: the number of X of K in the window; compare it with a whole number. ${HISTORY}`, example: "rule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= 5" },
  distinct: { summary: `\`distinct(ATTR [of X] by K within D)\`: the number of distinct values of ATTR among the events of K in the window. ${HISTORY}`, example: "rule chaining: deny * when distinct(action.domain by principal within 5m) > 3" },
  of: { summary: "`distinct(ATTR of X ...)`: which events' attribute is counted." },
  rate: { summary: `\`rate(X by K, N per D)\`: true when one more X now would exceed N per D (GCRA: a burst of N, then one per D/N). ${HISTORY}`, example: "rule api-rate: deny api.call when rate(api.call by principal, 100 per 1m)" },
  regularity: { summary: `\`regularity(X by K over N)\`: the coefficient of variation of the last N gaps between X of K — near 0 is robotic. ${HISTORY}`, example: "rule rhythm: flag login.attempt when regularity(attempted login.attempt by context.ip over 5) < 0.1" },
  over: { summary: "`over N` in `regularity(...)`: how many gaps are compared (2 to 64)." },
  sequence: { summary: `\`sequence(A, B, C by K within D [until Z])\`: the stages happened in this order for K, the first within D of now. ${HISTORY}`, example: "rule checkout: flag payment.submit when sequence(account.create, cart.add by session within 30s)" },
  deviates: { summary: "`deviates(W)`: the current request is in workflow W's alphabet but not an allowed next step." },
  allowed: { summary: "Event filter: only requests that were allowed." },
  attempted: { summary: "Event filter: every decided request, whatever its effect." },
  denied: { summary: "Event filter: requests whose effect was deny, challenge or revoke." },
  workflow: { summary: "`workflow NAME by KEY: a -> b* -> c [on deviation EFFECT]`: the allowed order of actions for a key; `*` repeats or skips, `+` repeats, `?` skips, `(a | b)` chooses.", example: "workflow billing-export by session:\n  customer.lookup -> invoice.read* -> invoice.export\n  on deviation flag" },
  deviation: { summary: "`on deviation EFFECT [reason \"...\"]`: adds a rule named after the workflow with that effect for requests that deviate." },
  test: { summary: '`test "name" { steps }`: requests and signals with expected decisions, run by `leash test`.', example: 'test "bot validates" {\n  agent "deploy-bot" build.validate repo/app => allow\n}' },
  at: { summary: "`at TIME` in a test step: when it happens (steps without `at` follow the previous one by one second)." },
  property: { summary: '`property "name" { never|always EFFECT ... }`: a claim `leash test` searches random traces for a counterexample to.', example: 'property "agents never release" {\n  never allow release.push for agent *\n}' },
  never: { summary: "Property claim: no request matching the claim may get this effect." },
  always: { summary: "Property claim: every request matching the claim gets this effect." },
  import: { summary: "`import \"path.rules\"` (first in a file): another file of the same policy, relative to this one and inside the policy's root. Its declarations and rules join the policy (docs/policies.md).", example: 'import "../shared/schema.rules"' },
  use: { summary: "`use leash/MODULE { NAME: VALUE }` (first in a file): a module of leash's library — its schema, actions and ready rules — with values for its parameters; the others keep their defaults (docs/guides/library.md).", example: "use leash/login { failures-per-ip: 10, window: 5m }" },
  param: { summary: "`param NAME = DEFAULT` (first in a file): a value the file's rules write as `$NAME`; a `use` of the file as a module may set it to another value of the same type.", example: "param failures = 5\nrule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= $failures" },
  signals: { summary: "Declares the signals the policy observes, in comma-separated groups. With a signals block, a signal name that is not declared — in a rule, `satisfied by`, a test or a trace — is an error (C240) with a did-you-mean.", example: "signals {\n  approval.granted, login.fail\n}" },
  including: { summary: "`including this` at the end of `count(...)` or `distinct(...)`: the request being decided counts too, as if it were allowed.", example: "rule spread: deny * when distinct(action.domain by principal within 5m including this) > 3" },
  this: { summary: "`including this`: count the request being decided as well." },
  given: { summary: '`given [KIND "ID"] [session "..."] [principal|resource|context {...}]` first in a test: what every step has unless it says otherwise.', example: 'test "refunds" {\n  given human "alice" session "s1"\n  order.lookup => allow\n}' },
};

/** Operators and punctuation with a meaning of their own. */
export const OPERATOR_DOCS: Readonly<Record<string, KeywordDoc>> = {
  "==": { summary: "Equal. Strings, numbers, durations and bools; comparing different types is C202." },
  "!=": { summary: "Not equal." },
  "<": { summary: "Less than (numbers and durations)." },
  "<=": { summary: "Less than or equal (numbers and durations)." },
  ">": { summary: "Greater than (numbers and durations)." },
  ">=": { summary: "Greater than or equal (numbers and durations)." },
  "->": { summary: "Workflow step order: the next allowed step." },
  "=>": { summary: "Test step: the expected effect (and `by RULE`, the deciding rule)." },
  "+=": { summary: "`label session += L`: add a label to the session." },
  "|": { summary: "In a schema, an enumeration of strings; in a workflow step, a choice `(a | b)`." },
  "?": { summary: "After an attribute name: optional. After a workflow step: the step may be skipped." },
};

/** Durations offered where one is expected. */
export const COMMON_DURATIONS: readonly string[] = ["300ms", "1s", "10s", "30s", "1m", "5m", "10m", "15m", "1h", "24h", "1d", "7d"];

/** Obligation kinds offered after `require` (others may be written too). */
export const COMMON_OBLIGATIONS: readonly string[] = ["mfa", "human-approval", "captcha", "reauthenticate"];

/** Markdown for a hover. */
export function docMarkdown(title: string, doc: KeywordDoc): string {
  return `**${title}** — ${doc.summary}${doc.example ? `\n\n\`\`\`rules\n${doc.example}\n\`\`\`` : ""}`;
}
