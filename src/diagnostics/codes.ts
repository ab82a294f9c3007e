import { LOAD_CODES } from "./load-codes.js";

/**
 * The catalog of diagnostic codes. Every code has an entry in `docs/errors.md` (a test checks both
 * directions). Codes are stable: a code is never reused for a different problem.
 */
export interface CodeInfo {
  readonly title: string;
  /** Default help text; a diagnostic may give a more specific one. */
  readonly help: string;
}

export const CODES = {
  // Lexing
  L001: { title: "unterminated string", help: "close the string with a double quote on the same line" },
  L002: { title: "unterminated block comment", help: "close the comment with */" },
  L003: { title: "unexpected character", help: "remove the character; names use letters, digits, '_' and '-'" },
  L004: { title: "invalid string escape", help: 'the escapes are \\" \\\\ \\n \\t \\r and \\u{HEX}' },
  L005: { title: "forbidden control character", help: "NUL, BIDI overrides and other invisible control characters are not allowed in policy source (Trojan Source, CVE-2021-42574)" },
  L006: { title: "mixed-script identifier", help: "an identifier mixes letters of several scripts (a homoglyph attack); write it in one script" },
  L007: { title: "invalid duration", help: "durations are a whole number followed by ms, s, m, h or d, e.g. 300ms, 10m, 7d" },
  L008: { title: "source too large", help: "split the policy into several files" },
  L009: { title: "invalid number", help: "numbers are decimal, e.g. 3, 0.9, -1" },
  // Parsing
  P101: { title: "unexpected token", help: "see grammar/rules.ebnf for what may stand here" },
  P102: { title: "missing rule name", help: "write `rule NAME: EFFECT ...`; a name is letters, digits, '_' and '-'" },
  P103: { title: "nesting too deep", help: "conditions may nest at most 64 levels; split the condition" },
  P104: { title: "policy too large", help: "a policy holds at most 1,000,000 syntax nodes; split it" },
  P105: { title: "unknown effect", help: "effects are allow, challenge, deny, revoke and flag" },
  P106: { title: "unexpected end of file", help: "a block or a rule is not finished" },
  P107: { title: "invalid attribute path", help: "paths start at principal, resource, context or action, e.g. context.ip" },
  P108: { title: "too many errors", help: "fix the errors above and run again; at most 100 are reported per file" },
  P109: { title: "internal parser error", help: "this is a bug in leash: please report it with the policy that triggers it" },
  // Checking
  C201: { title: "unknown attribute", help: "the attribute is not declared in the schema block" },
  C202: { title: "type mismatch", help: "compare values of the same type" },
  C203: { title: "undeclared action", help: "declare the action in the actions block, or fix the spelling" },
  C204: { title: "duplicate name", help: "rule, workflow, test and property names are unique in a policy" },
  C205: { title: "unknown workflow", help: "deviates(NAME) names a workflow declared in the policy" },
  C206: { title: "unbounded state", help: "every history operator needs a window and a threshold small enough for fixed-size state" },
  C207: { title: "operator needs a comparison", help: "count, distinct, since, gap and regularity give a value: compare it, e.g. count(x by session within 1m) >= 3" },
  C208: { title: "clause not allowed here", help: "limit and valid for apply to allow rules; target to revoke rules; require to challenge rules" },
  C209: { title: "value out of range", help: "the number is outside the range the construct accepts" },
  C210: { title: "duplicate schema entry", help: "declare each entity and attribute once" },
  C211: { title: "unknown tag", help: "the only action tag is [high]; the only attribute tag is [secret]" },
  C212: { title: "unknown label", help: "session has LABEL needs a rule with label session += LABEL" },
  C213: { title: "invalid glob", help: "a glob uses * for any run of characters; at most 16 stars" },
  C240: { title: "undeclared signal", help: "with a signals block, every signal a rule, test or trace names is declared there; declare it, or fix the spelling" },
  C241: { title: "declared as an action and a signal", help: "a name is either an action (a decided request) or a signal (an observed event); rename one of them" },
  C242: { title: "invalid compound key", help: "a compound key is two to four different parts in parentheses: (session, resource.path)" },
  C243: { title: "step outside the workflow's scope", help: "every step of a scoped workflow (over ...) is an action of its scope; widen the scope or remove the step" },
  C244: { title: "unknown rule in a test", help: "=> EFFECT by RULE and a trace's expect.rules name rules of the policy (or workflows with on deviation)" },
  C245: { title: "test step without a principal", help: "a request in a test names its principal (human \"alice\" a.b => allow) or takes the test's given principal" },
  C246: { title: "including this with denied or signal events", help: "including this counts the request being decided as allowed: use it with events a request can be (attempted, allowed or no filter)" },
  // Policies of several files: imports, library modules, parameters, merging (C270-C289)
  C270: { title: "imported file not found", help: "fix the path: an import is relative to the importing file and names a .rules file of the policy" },
  C271: { title: "import outside the policy root", help: "an import may not leave the policy's root directory; move the file into it, or make a directory above both the policy (with a leash.policy.json)" },
  C272: { title: "import cycle", help: "files may not import each other in a circle; move what both need into a third file that both import" },
  C273: { title: "unknown library module", help: "the library modules are leash/login, leash/signup, leash/checkout, leash/token and leash/api (see docs/guides/library.md)" },
  C274: { title: "invalid import path", help: "an import names a relative path to a .rules file, with / between its parts: no URL, no absolute path, no backslash" },
  C275: { title: "name defined in two files", help: "rule, workflow, test and property names are unique across the files of a policy; rename one of them" },
  C276: { title: "conflicting schema attribute", help: "files that declare the same attribute must give it the same type (and both optional or both not); change one, or declare it in one shared file" },
  C277: { title: "conflicting action declaration", help: "files that declare the same action must agree on its tags ([high] in both or in neither)" },
  C278: { title: "library module used with different parameters", help: "a module joins a policy once: give every use of it the same parameters, or use it in one file only" },
  C279: { title: "unknown parameter", help: "refer to a parameter the file declares (param NAME = DEFAULT), or set one the module declares" },
  C280: { title: "parameter of the wrong type", help: "give the parameter a value of its default's type; a number and a duration are different types" },
  C281: { title: "parameter not allowed here", help: "a parameter ($name) stands for a number, a duration, or a value in a condition; write a literal here" },
  C282: { title: "parameter declared or set twice", help: "declare each parameter once, and set it once in a use" },
  C283: { title: "header after an item", help: "import, use and param lines come first in a file, before schema, actions, rules and tests" },
  C284: { title: "invalid policy manifest", help: "leash.policy.json is a JSON object with an optional \"files\": a list of .rules files and directories relative to it" },
  C285: { title: "import without a file reader", help: "a policy given as one text cannot read the files it imports: compile it with compileSources and a reader (leash/node reads from disk), or inline the imported file" },
  // Tool mappings (leash/mcp, leash check --map): C260-C264 and C269 when checked, C265-C266 as the code of a refused call
  C260: { title: "invalid tool mapping", help: "a mapping is one JSON object with server, tools, principal, session, resource and context (see docs/guides/mcp.md)" },
  C261: { title: "mapped action not declared", help: "declare the action in the policy's actions block, or map the tool to a declared one" },
  C262: { title: "mapped attribute not in the schema", help: "declare the attribute in the policy's schema, or remove it from the mapping" },
  C263: { title: "mapped value of the wrong type", help: "give a value of the type the schema declares for the attribute" },
  C264: { title: "invalid reference", help: "references are $args.NAME, $client.name, $client.version, $auth.clientId, $auth.scopes, $session, $tool, $server and $item, with an optional ? and | path" },
  C265: { title: "tool not in the mapping", help: "list the tool in the mapping's tools, or set unknownTools to \"default\" to give unlisted tools their default action" },
  C266: { title: "tool call cannot be mapped", help: "the call lacks an argument the mapping reads, or gives one a policy cannot read; mark optional references with ?" },
  C269: { title: "cannot read mapping file", help: "check the path and the file's permissions" },
  C298: { title: "cannot read policy file", help: "check the path and the file's permissions" },
  C299: { title: "internal compiler error", help: "a bug in leash: please report it with the policy that caused it" },
  // Lints (warnings: the policy is valid but probably not what was meant)
  W401: { title: "shadowed rule", help: "a broader rule of higher precedence without conditions always overrides this one; remove it or narrow the other rule" },
  W402: { title: "allow rule never allows", help: "the rule reaches only [high] actions through a wildcard; name the actions or remove the rule" },
  W403: { title: "constant condition", help: "the condition has the same value for every request the schema allows; write the comparison you meant" },
  W404: { title: "unused action", help: "no rule, workflow or operator mentions the declared action; add a rule or remove the declaration" },
  W405: { title: "unused attribute", help: "no condition, selector or key reads the schema attribute; use it or remove it" },
  W406: { title: "undeclared action in a history", help: "an operator or workflow names an action the actions block does not declare; declare it, or mark a signal with `signal`" },
  W407: { title: "duplicate rule", help: "two rules have the same body; a duplicate never changes a decision, so remove one" },
  W408: { title: "duration outlives its state", help: "the duration is longer than the key's state lives (24h after its last event by default); shorten it or raise keyTtlMs" },
  W409: { title: "[high] action only reached by a wildcard", help: "a [high] action is allowed only by a rule that names it; name it in an allow rule, or deny it explicitly" },
  W418: { title: "state that lasts while its key is active", help: "a limit without `within`, or a `valid for` grant per a principal or attribute, is remembered until its key has been idle for keyTtlMs (24h), then starts over; give it a window, or allow the warning" },
  W420: { title: "signals not declared", help: "the policy observes signals but has no signals block, so a misspelt signal name passes unnoticed; declare them: signals { a.b, c.d }" },
  W490: { title: "invalid or unused allow comment", help: "an allow comment is `// leash: allow W4xx -- why`, after the code it is about or on the line before it, and allows a warning reported there" },
  // Runtime (decision reasons and errors)
  R301: { title: "missing attribute", help: "the request lacks an attribute a condition reads; the rule fails closed" },
  R302: { title: "wrong attribute type", help: "the request has a value of another type than the condition needs; the rule fails closed" },
  R303: { title: "state_corrupt", help: "the state passed to decide is not one leash produced; start from policy.initialState()" },
  R304: { title: "malformed request", help: "a request is an object with principal {kind, id}, action and a finite time" },
  R305: { title: "missing key attribute", help: "the attribute a history is keyed by is absent; the rule fails closed" },
  R306: { title: "time went backwards", help: "the event time is earlier than the key's latest; it was clamped to the latest time" },
  R307: { title: "revoked", help: "the key was revoked; reinstate(policy, state, key) lifts it" },
  R308: { title: "policy mismatch", help: "the decision was made by another version of the policy (see decision.policyHash)" },
  R309: { title: "unknown key", help: "the key is not revoked or not known to the state" },
  R310: { title: "limit reached", help: "the rule's quantity scope is used up for this key" },
  R311: { title: "grant expired", help: "the rule's valid for period ended for this key" },
  R312: { title: "high-risk action", help: "a [high] action is allowed only by a rule that names it" },
  R313: { title: "no matching allow", help: "no allow rule matched; the default is deny" },
  R314: { title: "store unavailable", help: "the store holding the state failed or is closed; the guard denies (fail closed) until it answers again" },
  R315: { title: "store timeout", help: "the store did not answer within the guard's timeoutMs; the guard denies (fail closed)" },
  R316: { title: "undeclared action", help: "the policy's actions block does not declare the action, so no rule applies (a closed world); declare it, or send a declared name" },
  R317: { title: "not a decision", help: "recheck was given an object that is not a decision this policy made; decide the request afresh" },
  R318: { title: "decision for another request", help: "recheck was given a decision made for another action, principal, session or resource; decide this request afresh" },
  R319: { title: "decided without the store", help: "the store is down and the guard's whenStoreDown option let it decide: the named rules' history read as empty, others failed closed" },
  // Loading a compiled policy (loadCompiled, leash/runtime): in their own module, so that the
  // runtime entry carries these entries and not the whole catalog.
  ...LOAD_CODES,
  R326: { title: "state full", help: "every partition the state may hold is a revoked key, so a new key cannot be recorded; raise maxKeys or reinstate keys" },
  R330: { title: "store contention", help: "other holders kept changing the partitions of this request; the Redis store gave up after maxAttempts runs and denies (fail closed)" },
  R331: { title: "unreadable store reply", help: "a Redis script answered in a shape the store does not know (another program on its keys, a proxy); the guard denies (fail closed)" },
  R335: { title: "log sink failed", help: "a decision log sink threw or could not write (a disk error, a closed file); the line is lost for that sink, the decision stands; see log.stats()" },
  R336: { title: "log line dropped", help: "a decision log sink's buffer was full (the disk does not keep up), so it refused the line; raise maxBuffered or use a faster sink" },
  R337: { title: "HTTP mapping failed", help: "the HTTP adapter's mapping (principal, context, session, skip) or one of its hooks threw; the request was refused with 403" },
  R338: { title: "replayed with redacted input", help: "the logged input of a decision had [secret] values redacted or was cut down, so its replay may differ for that reason alone" },
  R339: { title: "not a decision log line", help: "leash replay reads the JSON lines a decision log writes (kind decision, signal, revoke, reinstate or shadow)" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;
