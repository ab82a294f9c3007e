/**
 * The syntax phase of leash: `.rules` source -> typed AST (src/ast/nodes.ts) + diagnostics.
 * grammar/rules.ebnf is the normative grammar; `parser` implements it rule for rule.
 */
export { parsePolicy, type ParseResult } from "./parse.js";
export { tokenize, type TokenizeResult } from "./lexer.js";
export { DEFAULT_OPTIONS, type ParseOptions } from "./options.js";
export { leashParser, LeashParser } from "./parser.js";
export { KEYWORDS, type Keyword } from "./tokens.js";
