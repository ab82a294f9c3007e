import { CstParser, EOF, MismatchedTokenException, tokenMatcher, type CstNode, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import { describeFound, errorMessages } from "./parse-errors.js";
import {
  ALL_TOKENS,
  Arrow,
  Colon,
  Comma,
  Dot,
  DurationLiteral,
  Eq,
  EqEq,
  FatArrow,
  Gt,
  GtEq,
  Identifier,
  Kw,
  LBracket,
  LCurly,
  LParen,
  Lt,
  LtEq,
  NameTok,
  NotEq,
  NumberLiteral,
  Pipe,
  Plus,
  PlusEq,
  Question,
  RBracket,
  RCurly,
  ResourcePath,
  RParen,
  Star,
  StringLiteral,
} from "./tokens.js";

/** Raised from `SAVE_ERROR` once the error limit is reached: the parse stops there. */
export class TooManyParseErrors extends Error {}

/** A saved chevrotain error, tagged with the item (index in `policy`) being parsed when it happened. */
export type ParseError = IRecognitionException & { itemIndex: number };

export interface DepthError {
  /** The `(`, `not` or `set` that went one level too deep. */
  readonly token: IToken;
  readonly itemIndex: number;
}

const EFFECT = "an effect (allow, challenge, deny, revoke, flag)";

/** How far ahead error recovery looks for a token to resume at. */
const RESYNC_SCAN = 20_000;

const nameOrStar = (t: IToken) => tokenMatcher(t, NameTok) || tokenMatcher(t, Star);

/** Tokens that end a `not` operand (at its own parenthesis level) when skipping an over-deep one. */
const UNARY_END: ReadonlySet<TokenType> = new Set([
  Kw.and, Kw.or, RParen, RBracket, RCurly, Comma, EOF,
  Kw.when, Kw.unless, Kw.reason, Kw.limit, Kw.valid, Kw.label, Kw.require, Kw.target,
  Kw.schema, Kw.actions, Kw.signals, Kw.rule, Kw.workflow, Kw.test, Kw.property, Kw.import, Kw.use, Kw.param,
]);

/** Keywords that open a test step's `session "..."`, `principal {...}`, `resource {...}` or `context {...}`. */
const WITH_START: ReadonlySet<TokenType> = new Set([Kw.session, Kw.principal, Kw.resource, Kw.context]);

/**
 * The `.rules` parser: one chevrotain CstParser whose rules follow grammar/rules.ebnf one to one (the
 * EBNF of each rule is the comment above it). Built once and reused: set `input`, call `policy()`.
 *
 * Beyond the grammar it carries: a nesting guard (`nest`) so that deep `(`, `not` and `set<` never
 * recurse past `maxDepth`; the start offset of each item, to tie errors to items; and an error
 * production for a misspelt effect (consumed and reported as P105, so the item still parses and
 * reports nothing else).
 */
export class LeashParser extends CstParser {
  maxDepth = 64;
  /** Errors saved before the parse stops (TooManyParseErrors). */
  errorLimit = Infinity;
  /** Start offset of each item's first token, in order. */
  itemStarts: number[] = [];
  depthErrors: DepthError[] = [];
  /**
   * Called with each item's CST as soon as the item is parsed (`clean`: no error so far); the CST is
   * dropped right after, so that it dies young instead of being copied around by the GC.
   */
  onItem: ((cst: CstNode, index: number, clean: boolean) => void) | null = null;
  private erroredItems = new Set<number>();
  private depth = 0;
  private savedErrors = 0;
  /**
   * The argument objects of OR/OPTION calls, built on first use and reused (chevrotain's performance
   * guide: no allocation of alternatives per call; closures only capture `this`).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly memo: any[] = [];

  constructor() {
    super(ALL_TOKENS, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: errorMessages });
    this.performSelfAnalysis();
  }

  override reset(): void {
    super.reset();
    this.itemStarts = [];
    this.depthErrors = [];
    this.erroredItems = new Set();
    this.depth = 0;
    this.savedErrors = 0;
  }

  /** chevrotain's hook for every recognition error (not in its typings): tag it, enforce the limit. */
  SAVE_ERROR(error: IRecognitionException): IRecognitionException {
    if (this.savedErrors >= this.errorLimit) throw new TooManyParseErrors();
    this.savedErrors++;
    (error as ParseError).itemIndex = this.itemStarts.length - 1;
    this.erroredItems.add(this.itemStarts.length - 1);
    return (CstParser.prototype as unknown as { SAVE_ERROR(e: IRecognitionException): IRecognitionException }).SAVE_ERROR.call(this, error);
  }

  /**
   * chevrotain's search for the token to resynchronise on after an error (not in its typings), as a
   * plain loop: the first token ahead that may follow a rule on the stack. When only the end of input
   * may follow (between items) the answer is EOF without scanning to it, so a file of errors does not
   * cost a scan of the rest of the file per error; other scans stop after RESYNC_SCAN tokens.
   */
  findReSyncTokenType(): TokenType {
    const follows = (this as unknown as { flattenFollowSet(): TokenType[] }).flattenFollowSet();
    if (follows.every((f) => f === EOF)) return EOF;
    for (let k = 1; k <= RESYNC_SCAN; k++) {
      const t = this.LA(k);
      if (t.tokenType === EOF) return EOF;
      for (const f of follows) if (tokenMatcher(t, f)) return f;
    }
    return EOF;
  }

  /**
   * Parse one nesting level deeper, or, at `maxDepth`, report P103 at the token just consumed and skip
   * the nested part without recursing (linear in its length, whatever its depth).
   */
  private nest(parse: () => void, skip: () => void): void {
    // ACTION returns undefined while chevrotain records the grammar, so `parse` is recorded then.
    if (this.ACTION(() => this.depth >= this.maxDepth) === true) {
      this.ACTION(() => {
        this.depthErrors.push({ token: this.LA(0), itemIndex: this.itemStarts.length - 1 });
        this.erroredItems.add(this.itemStarts.length - 1);
        skip();
      });
      return;
    }
    this.ACTION(() => this.depth++);
    try {
      parse();
    } finally {
      this.ACTION(() => this.depth--);
    }
  }

  /** Skip to the token that closes the group just opened (left for the caller to consume). */
  private skipGroup(open: TokenType, close: TokenType): void {
    let level = 0;
    for (let t = this.LA(1); t.tokenType !== EOF; t = this.SKIP_TOKEN()) {
      if (t.tokenType === open) level++;
      else if (t.tokenType === close && level-- === 0) return;
    }
  }

  /** Skip the operand of a `not`: up to `and`, `or`, a clause or the end of the enclosing group. */
  private skipUnary(): void {
    let level = 0;
    for (let t = this.LA(1); t.tokenType !== EOF; t = this.SKIP_TOKEN()) {
      if (t.tokenType === LParen || t.tokenType === LBracket) level++;
      else if (level > 0 && (t.tokenType === RParen || t.tokenType === RBracket)) level--;
      else if (level === 0 && UNARY_END.has(t.tokenType)) return;
    }
  }

  /**
   * Error production: a name where a keyword is expected (`alow`) is consumed so the rest of the item
   * still parses, and reported as an ordinary recognition error. (Only where the name cannot leak into
   * a follow set chevrotain resynchronises on: before `effect` come only tokens, never a subrule.)
   */
  private consumeMisspelt(label: string, expected: string): void {
    const t = this.CONSUME(Identifier, { LABEL: label });
    this.ACTION(() => {
      this.SAVE_ERROR(new MismatchedTokenException(`expected ${expected}, found ${describeFound(t)}`, t, this.LA(-1)));
    });
  }

  // policy = { item } ;
  policy = this.RULE("policy", () => {
    this.MANY(() => {
      const item = this.SUBRULE(this.item);
      this.ACTION(() => this.itemDone(item));
    });
  });

  private itemDone(item: CstNode): void {
    const index = this.itemStarts.length - 1;
    this.onItem?.(item, index, !this.erroredItems.has(index));
    (item as { children: CstNode["children"] }).children = {};
  }

  // item = importDecl | useDecl | paramDecl
  //      | schema | actions | signals | rule | workflow | test | property ;
  // (import, use and param come first: the parse reports one after another item, C283.)
  item = this.RULE("item", () => {
    this.ACTION(() => this.itemStarts.push(this.LA(1).startOffset));
    this.OR((this.memo[0] ??= [
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.useDecl) },
      { ALT: () => this.SUBRULE(this.paramDecl) },
      { ALT: () => this.SUBRULE(this.schema) },
      { ALT: () => this.SUBRULE(this.actions) },
      { ALT: () => this.SUBRULE(this.signals) },
      { ALT: () => this.SUBRULE(this.rule) },
      { ALT: () => this.SUBRULE(this.workflow) },
      { ALT: () => this.SUBRULE(this.test) },
      { ALT: () => this.SUBRULE(this.property) },
    ]));
  });

  /* ---- header: import, use, param ---------------------------------------------------------------- */

  // importDecl = "import" string ;
  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(Kw.import);
    this.CONSUME(StringLiteral, { LABEL: "path" });
  });

  // useDecl = "use" resourcePath [ "{" [ paramValue { "," paramValue } [ "," ] ] "}" ] ;
  useDecl = this.RULE("useDecl", () => {
    this.CONSUME(Kw.use);
    this.CONSUME(ResourcePath, { LABEL: "module" });
    this.OPTION(() => {
      this.CONSUME(LCurly);
      this.OPTION2(() => {
        this.SUBRULE(this.paramValue);
        this.MANY(() => {
          this.CONSUME(Comma);
          this.SUBRULE2(this.paramValue);
        });
        this.OPTION3(() => this.CONSUME2(Comma));
      });
      this.CONSUME(RCurly);
    });
  });

  // paramValue = name ":" literal ;
  paramValue = this.RULE("paramValue", () => {
    this.CONSUME(NameTok);
    this.CONSUME(Colon);
    this.SUBRULE(this.literal);
  });

  // paramDecl = "param" name "=" literal ;
  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(Kw.param);
    this.CONSUME(NameTok);
    this.CONSUME(Eq);
    this.SUBRULE(this.literal);
  });

  /* ---- schema ------------------------------------------------------------------------------------ */

  // schema = "schema" "{" { entitySchema } "}" ;
  schema = this.RULE("schema", () => {
    this.CONSUME(Kw.schema);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.entitySchema));
    this.CONSUME(RCurly);
  });

  // entitySchema = ( "principal" | "resource" | "context" ) "{" [ field { "," field } [ "," ] ] "}" ;
  entitySchema = this.RULE("entitySchema", () => {
    this.OR((this.memo[1] ??= {
      DEF: [
        { ALT: () => this.CONSUME(Kw.principal, { LABEL: "entity" }) },
        { ALT: () => this.CONSUME(Kw.resource, { LABEL: "entity" }) },
        { ALT: () => this.CONSUME(Kw.context, { LABEL: "entity" }) },
      ],
      ERR_MSG: "principal, resource or context",
    }));
    this.CONSUME(LCurly);
    this.OPTION(() => {
      this.SUBRULE(this.field);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.field);
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RCurly);
  });

  // field = name [ "?" ] ":" type [ "[" name { "," name } "]" ] ;
  field = this.RULE("field", () => {
    this.CONSUME(NameTok);
    this.OPTION(() => this.CONSUME(Question));
    this.CONSUME(Colon);
    this.SUBRULE(this.type);
    this.OPTION2(() => {
      this.CONSUME(LBracket);
      this.CONSUME2(NameTok, { LABEL: "tag" });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.CONSUME3(NameTok, { LABEL: "tag" });
      });
      this.CONSUME(RBracket);
    });
  });

  // type = "string" | "number" | "bool" | "duration" | "set" "<" type ">" | string { "|" string } ;
  type = this.RULE("type", () => {
    this.OR((this.memo[2] ??= {
      DEF: [
        { ALT: () => this.CONSUME(Kw.string, { LABEL: "prim" }) },
        { ALT: () => this.CONSUME(Kw.number, { LABEL: "prim" }) },
        { ALT: () => this.CONSUME(Kw.bool, { LABEL: "prim" }) },
        { ALT: () => this.CONSUME(Kw.duration, { LABEL: "prim" }) },
        {
          ALT: () => {
            this.CONSUME(Kw.set);
            this.CONSUME(Lt);
            this.nest(
              () => this.SUBRULE(this.type),
              () => this.skipGroup(Lt, Gt),
            );
            this.CONSUME(Gt);
          },
        },
        {
          ALT: () => {
            this.CONSUME(StringLiteral);
            this.MANY(() => {
              this.CONSUME(Pipe);
              this.CONSUME2(StringLiteral);
            });
          },
        },
      ],
      ERR_MSG: 'a type (string, number, bool, duration, set<...> or string values "a" | "b")',
    }));
  });

  /* ---- actions ----------------------------------------------------------------------------------- */

  // actions = "actions" "{" { actionGroup } "}" ;
  actions = this.RULE("actions", () => {
    this.CONSUME(Kw.actions);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.actionGroup));
    this.CONSUME(RCurly);
  });

  // actionGroup = actionName { "," actionName } [ "[" name { "," name } "]" ] ;
  actionGroup = this.RULE("actionGroup", () => {
    this.SUBRULE(this.actionName);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.actionName);
    });
    this.OPTION(() => {
      this.CONSUME(LBracket);
      this.CONSUME(NameTok, { LABEL: "tag" });
      this.MANY2(() => {
        this.CONSUME2(Comma);
        this.CONSUME2(NameTok, { LABEL: "tag" });
      });
      this.CONSUME(RBracket);
    });
  });

  /* ---- signals ----------------------------------------------------------------------------------- */

  // signals = "signals" "{" { signalGroup } "}" ;
  signals = this.RULE("signals", () => {
    this.CONSUME(Kw.signals);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.signalGroup));
    this.CONSUME(RCurly);
  });

  // signalGroup = actionName { "," actionName } ;
  signalGroup = this.RULE("signalGroup", () => {
    this.SUBRULE(this.actionName);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.actionName);
    });
  });

  /* ---- rules ------------------------------------------------------------------------------------- */

  // rule = "rule" name ":" effect targets [ principals ] [ resources ] { clause } ;
  rule = this.RULE("rule", () => {
    this.CONSUME(Kw.rule);
    this.CONSUME(NameTok, { LABEL: "name" });
    this.CONSUME(Colon);
    this.SUBRULE(this.effect);
    this.SUBRULE(this.targets);
    this.OPTION(() => this.SUBRULE(this.principals));
    this.OPTION2(() => this.SUBRULE(this.resources));
    this.MANY(() => this.SUBRULE(this.clause));
  });

  // effect = "allow" | "challenge" | "deny" | "revoke" | "flag" ;
  effect = this.RULE("effect", () => {
    this.OR((this.memo[3] ??= {
      DEF: [
        { ALT: () => this.CONSUME(Kw.allow, { LABEL: "effect" }) },
        { ALT: () => this.CONSUME(Kw.challenge, { LABEL: "effect" }) },
        { ALT: () => this.CONSUME(Kw.deny, { LABEL: "effect" }) },
        { ALT: () => this.CONSUME(Kw.revoke, { LABEL: "effect" }) },
        { ALT: () => this.CONSUME(Kw.flag, { LABEL: "effect" }) },
        // `alow x.y`: a misspelt effect (P105); `x.y` with no effect is left to the targets.
        { GATE: () => this.LA(2).tokenType !== Dot, ALT: () => this.consumeMisspelt("unknownEffect", EFFECT) },
      ],
      ERR_MSG: EFFECT,
    }));
  });

  // targets = target { "," target } ;
  targets = this.RULE("targets", () => {
    this.SUBRULE(this.target);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.target);
    });
  });

  // target = [ "signal" ] actionName ;
  target = this.RULE("target", () => {
    // `signal` followed by a name is the prefix; otherwise it is an action called `signal`.
    this.OPTION((this.memo[4] ??= { GATE: () => nameOrStar(this.LA(2)), DEF: () => this.CONSUME(Kw.signal) }));
    this.SUBRULE(this.actionName);
  });

  // principals = "for" principalSel { "," principalSel } ;
  principals = this.RULE("principals", () => {
    this.CONSUME(Kw.for);
    this.SUBRULE(this.principalSel);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.principalSel);
    });
  });

  // principalSel = "*" | name [ string | "*" ] [ "{" attrMatch { "," attrMatch } [ "," ] "}" ] ;
  principalSel = this.RULE("principalSel", () => {
    this.OR((this.memo[5] ??= {
      DEF: [
        { ALT: () => this.CONSUME(Star, { LABEL: "any" }) },
        {
          ALT: () => {
            this.CONSUME(NameTok, { LABEL: "kind" });
            this.OPTION(() =>
              this.OR2((this.memo[26] ??= [
                { ALT: () => this.CONSUME(StringLiteral, { LABEL: "id" }) },
                { ALT: () => this.CONSUME2(Star, { LABEL: "anyId" }) },
              ])),
            );
            this.OPTION2(() => {
              this.CONSUME(LCurly);
              this.SUBRULE(this.attrMatch);
              this.MANY(() => {
                this.CONSUME(Comma);
                this.SUBRULE2(this.attrMatch);
              });
              this.OPTION3(() => this.CONSUME2(Comma));
              this.CONSUME(RCurly);
            });
          },
        },
      ],
      ERR_MSG: "a principal (* or a kind such as agent)",
    }));
  });

  // attrMatch = name ":" literal ;
  attrMatch = this.RULE("attrMatch", () => {
    this.CONSUME(NameTok);
    this.CONSUME(Colon);
    this.SUBRULE(this.literal);
  });

  // resources = "on" resourceGlob { "," resourceGlob } ;
  resources = this.RULE("resources", () => {
    this.CONSUME(Kw.on);
    this.SUBRULE(this.resourceGlob);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.resourceGlob);
    });
  });

  // resourceGlob = resourcePath | string ;
  resourceGlob = this.RULE("resourceGlob", () => {
    this.OR((this.memo[6] ??= {
      DEF: [{ ALT: () => this.CONSUME(ResourcePath) }, { ALT: () => this.CONSUME(StringLiteral) }],
      ERR_MSG: 'a resource path such as repo/* or a string such as "repo/*"',
    }));
  });

  // clause = ( "when" | "unless" ) expr
  //        | "reason" string
  //        | "limit" number [ "distinct" ( path | "resource" ) ] "per" key [ "within" duration ]
  //        | "valid" "for" duration [ "per" key ]
  //        | "label" "session" "+=" name [ "for" duration ]
  //        | "require" name [ "satisfied" "by" actionName ]
  //        | "target" key ;
  clause = this.RULE("clause", () => {
    this.OR((this.memo[7] ??= [
      {
        ALT: () => {
          this.OR2((this.memo[27] ??= [
            { ALT: () => this.CONSUME(Kw.when, { LABEL: "cond" }) },
            { ALT: () => this.CONSUME(Kw.unless, { LABEL: "cond" }) },
          ]));
          this.SUBRULE(this.expr);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.reason);
          this.CONSUME(StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.limit);
          this.CONSUME(NumberLiteral);
          this.OPTION5(() => {
            this.CONSUME(Kw.distinct);
            this.OR3((this.memo[30] ??= {
              DEF: [
                // `resource.owner` is a path, `resource` alone the resource itself: the path is tried first.
                { ALT: () => this.SUBRULE(this.path) },
                { ALT: () => this.CONSUME(Kw.resource, { LABEL: "distinctResource" }) },
              ],
              ERR_MSG: "resource or an attribute path such as resource.owner",
            }));
          });
          this.CONSUME(Kw.per);
          this.SUBRULE(this.key);
          this.OPTION(() => {
            this.CONSUME(Kw.within);
            this.CONSUME(DurationLiteral, { LABEL: "window" });
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.valid);
          this.CONSUME(Kw.for);
          this.CONSUME2(DurationLiteral);
          this.OPTION2(() => {
            this.CONSUME2(Kw.per);
            this.SUBRULE2(this.key);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.label);
          this.CONSUME(Kw.session);
          this.CONSUME(PlusEq);
          this.CONSUME(NameTok);
          this.OPTION3(() => {
            this.CONSUME2(Kw.for);
            this.CONSUME3(DurationLiteral);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.require);
          this.CONSUME2(NameTok);
          this.OPTION4(() => {
            this.CONSUME(Kw.satisfied);
            this.CONSUME(Kw.by);
            this.SUBRULE(this.actionName);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.target);
          this.SUBRULE3(this.key);
        },
      },
    ]));
  });

  // key = keyPart | "(" keyPart "," keyPart { "," keyPart } ")" ;
  key = this.RULE("key", () => {
    this.OR((this.memo[8] ??= {
      DEF: [
        { ALT: () => this.SUBRULE(this.keyPart) },
        {
          ALT: () => {
            this.CONSUME(LParen);
            this.SUBRULE2(this.keyPart);
            this.CONSUME(Comma);
            this.SUBRULE3(this.keyPart);
            this.MANY(() => {
              this.CONSUME2(Comma);
              this.SUBRULE4(this.keyPart);
            });
            this.CONSUME(RParen);
          },
        },
      ],
      ERR_MSG: "a key (session, principal, an attribute path such as context.ip, or several in parentheses)",
    }));
  });

  // keyPart = "session" | "principal" | path ;
  keyPart = this.RULE("keyPart", () => {
    this.OR((this.memo[31] ??= {
      DEF: [
        // `principal.x` is a path, `principal` alone the key: the path is tried first.
        { ALT: () => this.SUBRULE(this.path) },
        { ALT: () => this.CONSUME(Kw.session) },
        { ALT: () => this.CONSUME(Kw.principal) },
      ],
      ERR_MSG: "a key (session, principal or an attribute path such as context.ip)",
    }));
  });

  /* ---- expressions ------------------------------------------------------------------------------- */

  // expr = andExpr { "or" andExpr } ;
  expr = this.RULE("expr", () => {
    this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(Kw.or);
      this.SUBRULE2(this.andExpr);
    });
  });

  // andExpr = unary { "and" unary } ;
  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.CONSUME(Kw.and);
      this.SUBRULE2(this.unary);
    });
  });

  // unary = "not" unary | comparison ;
  unary = this.RULE("unary", () => {
    this.OR((this.memo[9] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(Kw.not);
            this.nest(
              () => this.SUBRULE(this.unary),
              () => this.skipUnary(),
            );
          },
        },
        { ALT: () => this.SUBRULE(this.comparison) },
      ],
      ERR_MSG: "a condition (a comparison, a history operator such as count(...), or not ...)",
    }));
  });

  // comparison = operand [ compareOp operand | "in" operand | "like" string | "has" name ] ;
  comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.operand, { LABEL: "left" });
    this.OPTION(() =>
      this.OR((this.memo[10] ??= [
        {
          ALT: () => {
            this.SUBRULE(this.compareOp);
            this.SUBRULE2(this.operand, { LABEL: "right" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(Kw.in);
            this.SUBRULE3(this.operand, { LABEL: "right" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(Kw.like);
            this.CONSUME(StringLiteral);
          },
        },
        {
          ALT: () => {
            this.CONSUME(Kw.has);
            this.CONSUME(NameTok);
          },
        },
      ])),
    );
  });

  // compareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" ;
  compareOp = this.RULE("compareOp", () => {
    this.OR((this.memo[11] ??= [
      { ALT: () => this.CONSUME(EqEq, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(NotEq, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(Lt, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(LtEq, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(Gt, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(GtEq, { LABEL: "op" }) },
    ]));
  });

  // operand = literal | set | path | root | "(" expr ")" | temporal | "session" "has" name ;
  operand = this.RULE("operand", () => {
    this.OR((this.memo[12] ??= {
      DEF: [
        { ALT: () => this.SUBRULE(this.literal) },
        { ALT: () => this.SUBRULE(this.set) },
        { ALT: () => this.SUBRULE(this.path) },
        { ALT: () => this.SUBRULE(this.root) },
        {
          ALT: () => {
            this.CONSUME(LParen);
            this.nest(
              () => this.SUBRULE(this.expr),
              () => this.skipGroup(LParen, RParen),
            );
            this.CONSUME(RParen);
          },
        },
        { ALT: () => this.SUBRULE(this.temporal) },
        {
          ALT: () => {
            this.CONSUME(Kw.session);
            this.CONSUME(Kw.has);
            this.CONSUME(NameTok);
          },
        },
      ],
      ERR_MSG: "a value (a literal, a [set], an attribute path, a history operator or a condition in parentheses)",
    }));
  });

  // literal = string | number | duration | "true" | "false" ;
  literal = this.RULE("literal", () => {
    this.OR((this.memo[13] ??= {
      DEF: [
        { ALT: () => this.CONSUME(StringLiteral) },
        { ALT: () => this.CONSUME(NumberLiteral) },
        { ALT: () => this.CONSUME(DurationLiteral) },
        { ALT: () => this.CONSUME(Kw.true) },
        { ALT: () => this.CONSUME(Kw.false) },
      ],
      ERR_MSG: "a literal (a string, a number, a duration, true or false)",
    }));
  });

  // set = "[" [ literal { "," literal } [ "," ] ] "]" ;
  set = this.RULE("set", () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.literal);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.literal);
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RBracket);
  });

  // root = "principal" | "resource" | "context" | "action" ;
  root = this.RULE("root", () => {
    this.OR((this.memo[14] ??= {
      DEF: [
        { ALT: () => this.CONSUME(Kw.principal, { LABEL: "root" }) },
        { ALT: () => this.CONSUME(Kw.resource, { LABEL: "root" }) },
        { ALT: () => this.CONSUME(Kw.context, { LABEL: "root" }) },
        { ALT: () => this.CONSUME(Kw.action, { LABEL: "root" }) },
      ],
      ERR_MSG: "principal, resource, context or action",
    }));
  });

  // path = root "." name { "." name } ;
  path = this.RULE("path", () => {
    this.SUBRULE(this.root);
    this.CONSUME(Dot);
    this.CONSUME(NameTok, { LABEL: "segment" });
    this.MANY(() => {
      this.CONSUME2(Dot);
      this.CONSUME2(NameTok, { LABEL: "segment" });
    });
  });

  /* ---- sequence operators ------------------------------------------------------------------------ */

  // temporal = "after" "(" events "by" key [ "within" duration ] [ "until" events ] ")"
  //          | "since" "(" events "by" key ")"
  //          | "gap" "(" events "by" key ")"
  //          | "count" "(" events "by" key [ "within" duration ] [ "including" "this" ] ")"
  //          | "distinct" "(" path [ "of" events ] "by" key [ "within" duration ] [ "including" "this" ] ")"
  //          | "rate" "(" events "by" key "," number "per" duration ")"
  //          | "regularity" "(" events "by" key "over" number ")"
  //          | "sequence" "(" events { "," events } "by" key "within" duration [ "until" events ] ")"
  //          | "deviates" "(" name ")" ;
  temporal = this.RULE("temporal", () => {
    // One rule, as in the grammar; numbered DSL calls (consume(i, ...)) keep occurrences distinct.
    this.OR((this.memo[15] ??= [
      {
        ALT: () => {
          this.CONSUME(Kw.after);
          this.consume(1, LParen);
          this.tEvents(1);
          this.tByKey(1);
          this.tWithin(1);
          this.tUntil(1, 2, 2);
          this.consume(1, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.since);
          this.consume(2, LParen);
          this.tEvents(3);
          this.tByKey(2);
          this.consume(2, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.gap);
          this.consume(3, LParen);
          this.tEvents(4);
          this.tByKey(3);
          this.consume(3, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.count);
          this.consume(4, LParen);
          this.tEvents(5);
          this.tByKey(4);
          this.tWithin(3);
          this.tIncluding(7);
          this.consume(4, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.distinct);
          this.consume(5, LParen);
          this.SUBRULE(this.path);
          this.option(4, () => {
            this.CONSUME(Kw.of);
            this.tEvents(6);
          });
          this.tByKey(5);
          this.tWithin(5);
          this.tIncluding(8);
          this.consume(5, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.rate);
          this.consume(6, LParen);
          this.tEvents(7);
          this.tByKey(6);
          this.consume(1, Comma);
          this.consume(1, NumberLiteral, { LABEL: "limit" });
          this.CONSUME(Kw.per);
          this.consume(6, DurationLiteral, { LABEL: "per" });
          this.consume(6, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.regularity);
          this.consume(7, LParen);
          this.tEvents(8);
          this.tByKey(7);
          this.CONSUME(Kw.over);
          this.consume(2, NumberLiteral, { LABEL: "samples" });
          this.consume(7, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.sequence);
          this.consume(8, LParen);
          this.tEvents(9, "stages");
          this.many(1, () => {
            this.consume(2, Comma);
            this.tEvents(10, "stages");
          });
          this.tByKey(8);
          this.consume(8, Kw.within);
          this.consume(8, DurationLiteral, { LABEL: "window" });
          this.tUntil(2, 6, 11);
          this.consume(8, RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.deviates);
          this.consume(9, LParen);
          this.CONSUME(NameTok);
          this.consume(9, RParen);
        },
      },
    ]));
  });

  /* Pieces of `temporal`, each with the occurrence index its call site needs. */
  private tEvents(i: number, label = "events"): void {
    this.subrule(i, this.events, { LABEL: label });
  }
  private tByKey(i: number): void {
    this.consume(i, Kw.by);
    this.subrule(i, this.key);
  }
  private tWithin(i: number): void {
    this.option(i, () => {
      this.consume(i, Kw.within);
      this.consume(i, DurationLiteral, { LABEL: "window" });
    });
  }
  private tIncluding(i: number): void {
    this.option(i, () => {
      this.consume(i, Kw.including);
      this.consume(i, Kw.this);
    });
  }
  private tUntil(i: number, optionIdx: number, eventsIdx: number): void {
    this.option(optionIdx, () => {
      this.consume(i, Kw.until);
      this.subrule(eventsIdx, this.events, { LABEL: "until" });
    });
  }

  // events = [ "allowed" | "attempted" | "denied" | "signal" ] actionName { "|" actionName } ;
  events = this.RULE("events", () => {
    // A filter keyword followed by a name is the filter; otherwise it starts the action name.
    this.OPTION((this.memo[16] ??= {
      GATE: () => nameOrStar(this.LA(2)),
      DEF: () =>
        this.OR((this.memo[28] ??= [
          { ALT: () => this.CONSUME(Kw.allowed, { LABEL: "filter" }) },
          { ALT: () => this.CONSUME(Kw.attempted, { LABEL: "filter" }) },
          { ALT: () => this.CONSUME(Kw.denied, { LABEL: "filter" }) },
          { ALT: () => this.CONSUME(Kw.signal, { LABEL: "filter" }) },
        ])),
    }));
    this.SUBRULE(this.actionName);
    this.MANY(() => {
      this.CONSUME(Pipe);
      this.SUBRULE2(this.actionName);
    });
  });

  /* ---- workflows --------------------------------------------------------------------------------- */

  // workflow = "workflow" name "by" key [ "over" actionName { "," actionName } ] ":" step { "->" step }
  //            [ "on" "deviation" effect [ "reason" string ] ] ;
  workflow = this.RULE("workflow", () => {
    this.CONSUME(Kw.workflow);
    this.CONSUME(NameTok, { LABEL: "name" });
    this.CONSUME(Kw.by);
    this.SUBRULE(this.key);
    this.OPTION3(() => {
      this.CONSUME(Kw.over);
      this.SUBRULE(this.actionName, { LABEL: "scope" });
      this.MANY2(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.actionName, { LABEL: "scope" });
      });
    });
    this.CONSUME(Colon);
    this.SUBRULE(this.step);
    this.MANY(() => {
      this.CONSUME(Arrow);
      this.SUBRULE2(this.step);
    });
    this.OPTION(() => {
      this.CONSUME(Kw.on);
      this.CONSUME(Kw.deviation);
      this.SUBRULE(this.effect);
      this.OPTION2(() => {
        this.CONSUME(Kw.reason);
        this.CONSUME(StringLiteral);
      });
    });
  });

  // step = ( actionName | "(" actionName { "|" actionName } ")" ) [ "*" | "+" | "?" ] ;
  step = this.RULE("step", () => {
    this.OR((this.memo[17] ??= {
      DEF: [
        { ALT: () => this.SUBRULE(this.actionName) },
        {
          ALT: () => {
            this.CONSUME(LParen);
            this.SUBRULE2(this.actionName);
            this.MANY(() => {
              this.CONSUME(Pipe);
              this.SUBRULE3(this.actionName);
            });
            this.CONSUME(RParen);
          },
        },
      ],
      ERR_MSG: "a workflow step (an action name, or alternatives in parentheses such as (a.b | c.d))",
    }));
    this.OPTION(() =>
      this.OR2((this.memo[18] ??= [
        { ALT: () => this.CONSUME(Star, { LABEL: "repeat" }) },
        { ALT: () => this.CONSUME(Plus, { LABEL: "repeat" }) },
        { ALT: () => this.CONSUME(Question, { LABEL: "repeat" }) },
      ])),
    );
  });

  /* ---- tests and properties ---------------------------------------------------------------------- */

  // test = "test" string "{" [ given ] { testStep } "}" ;
  test = this.RULE("test", () => {
    this.CONSUME(Kw.test);
    this.CONSUME(StringLiteral);
    this.CONSUME(LCurly);
    this.OPTION(() => this.SUBRULE(this.given));
    this.MANY(() => this.SUBRULE(this.testStep));
    this.CONSUME(RCurly);
  });

  // given = "given" ( name string { testWith } | testWith { testWith } ) ;
  given = this.RULE("given", () => {
    this.CONSUME(Kw.given);
    this.OR((this.memo[32] ??= {
      DEF: [
        {
          // `session "s1"` and `context {` start a testWith; any other name and string is a principal.
          GATE: () => !this.withAhead(),
          ALT: () => {
            this.CONSUME(NameTok, { LABEL: "kind" });
            this.CONSUME(StringLiteral, { LABEL: "id" });
            this.MANY(() => this.SUBRULE(this.testWith));
          },
        },
        { ALT: () => this.AT_LEAST_ONE(() => this.SUBRULE2(this.testWith)) },
      ],
      ERR_MSG: 'what the steps share (a principal such as human "alice", session "s1", or principal, resource or context {...})',
      IGNORE_AMBIGUITIES: true,
    }));
  });

  /** Whether the next tokens start a testWith (`session "x"`, `principal {`, `resource {`, `context {`). */
  private withAhead(k = 1): boolean {
    const t = this.LA(k).tokenType;
    if (!WITH_START.has(t)) return false;
    const next = this.LA(k + 1).tokenType;
    return t === Kw.session ? tokenMatcher(this.LA(k + 1), StringLiteral) : next === LCurly;
  }

  // testStep = [ "at" duration ] ( testRequest | testSignal ) ;
  testStep = this.RULE("testStep", () => {
    this.OPTION(() => {
      this.CONSUME(Kw.at);
      this.CONSUME(DurationLiteral);
    });
    this.OR((this.memo[19] ??= {
      DEF: [
        // `signal` followed by a name is a signal step; `signal "x" ...` a request by kind `signal`.
        { GATE: () => nameOrStar(this.LA(2)), ALT: () => this.SUBRULE(this.testSignal) },
        { ALT: () => this.SUBRULE(this.testRequest) },
      ],
      ERR_MSG: 'a test step (a request such as agent "bot" a.b => allow, or signal a.b)',
    }));
  });

  // testRequest = [ name string ] actionName [ resourceGlob ] { testWith } "=>" effect [ "by" name ] ;
  testRequest = this.RULE("testRequest", () => {
    // `agent "bot" a.b ...` names the principal; `a "glob" session "s1" ...` is an action and a quoted
    // resource: a name and a string are the principal only when an action name follows them.
    this.OPTION3((this.memo[33] ??= {
      GATE: () => tokenMatcher(this.LA(2), StringLiteral) && nameOrStar(this.LA(3)) && !this.withAhead(3),
      DEF: () => {
        this.CONSUME(NameTok, { LABEL: "kind" });
        this.CONSUME(StringLiteral, { LABEL: "id" });
      },
    }));
    this.SUBRULE(this.actionName);
    this.OPTION(() => this.SUBRULE(this.resourceGlob));
    this.MANY(() => this.SUBRULE(this.testWith));
    this.CONSUME(FatArrow);
    this.SUBRULE(this.effect);
    this.OPTION2(() => {
      this.CONSUME(Kw.by);
      this.CONSUME2(NameTok, { LABEL: "rule" });
    });
  });

  // testSignal = "signal" actionName [ "by" name string ] { testWith } ;
  testSignal = this.RULE("testSignal", () => {
    this.CONSUME(Kw.signal);
    this.SUBRULE(this.actionName);
    this.OPTION(() => {
      this.CONSUME(Kw.by);
      this.CONSUME(NameTok, { LABEL: "kind" });
      this.CONSUME(StringLiteral, { LABEL: "id" });
    });
    this.MANY(() => this.SUBRULE(this.testWith));
  });

  // testWith = "session" string | ( "principal" | "resource" | "context" ) "{" [ testField { "," testField } [ "," ] ] "}" ;
  testWith = this.RULE("testWith", () => {
    this.OR((this.memo[20] ??= [
      {
        ALT: () => {
          this.CONSUME(Kw.session);
          this.CONSUME(StringLiteral);
        },
      },
      {
        ALT: () => {
          this.OR2((this.memo[29] ??= [
            { ALT: () => this.CONSUME(Kw.principal, { LABEL: "entity" }) },
            { ALT: () => this.CONSUME(Kw.resource, { LABEL: "entity" }) },
            { ALT: () => this.CONSUME(Kw.context, { LABEL: "entity" }) },
          ]));
          this.CONSUME(LCurly);
          this.OPTION(() => {
            this.SUBRULE(this.testField);
            this.MANY(() => {
              this.CONSUME(Comma);
              this.SUBRULE2(this.testField);
            });
            this.OPTION2(() => this.CONSUME2(Comma));
          });
          this.CONSUME(RCurly);
        },
      },
    ]));
  });

  // testField = name ":" ( literal | set ) ;
  testField = this.RULE("testField", () => {
    this.CONSUME(NameTok);
    this.CONSUME(Colon);
    this.OR((this.memo[21] ??= {
      DEF: [{ ALT: () => this.SUBRULE(this.literal) }, { ALT: () => this.SUBRULE(this.set) }],
      ERR_MSG: "a literal or a [set]",
    }));
  });

  // property = "property" string "{" { claim } "}" ;
  property = this.RULE("property", () => {
    this.CONSUME(Kw.property);
    this.CONSUME(StringLiteral);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.claim));
    this.CONSUME(RCurly);
  });

  // claim = ( "never" | "always" ) effect targets [ principals ] [ resources ] { ( "when" | "unless" ) expr } ;
  claim = this.RULE("claim", () => {
    this.OR((this.memo[22] ??= [
      { ALT: () => this.CONSUME(Kw.never, { LABEL: "quantifier" }) },
      { ALT: () => this.CONSUME(Kw.always, { LABEL: "quantifier" }) },
    ]));
    this.SUBRULE(this.effect);
    this.SUBRULE(this.targets);
    this.OPTION(() => this.SUBRULE(this.principals));
    this.OPTION2(() => this.SUBRULE(this.resources));
    this.MANY(() => {
      this.OR2((this.memo[23] ??= [
        { ALT: () => this.CONSUME(Kw.when, { LABEL: "cond" }) },
        { ALT: () => this.CONSUME(Kw.unless, { LABEL: "cond" }) },
      ]));
      this.SUBRULE(this.expr);
    });
  });

  // actionName = "*" | segment { "." segment } ;   segment = name | "*" ;
  actionName = this.RULE("actionName", () => {
    // `"*"` alone is a segment, so the first alternative is folded into the second.
    this.OR((this.memo[24] ??= {
      DEF: [
        { ALT: () => this.CONSUME(NameTok, { LABEL: "segment" }) },
        { ALT: () => this.CONSUME(Star, { LABEL: "segment" }) },
      ],
      ERR_MSG: "an action name (such as secret.read, ticket.* or *)",
    }));
    this.MANY(() => {
      this.CONSUME(Dot);
      this.OR2((this.memo[25] ??= {
        DEF: [
          { ALT: () => this.CONSUME2(NameTok, { LABEL: "segment" }) },
          { ALT: () => this.CONSUME2(Star, { LABEL: "segment" }) },
        ],
        ERR_MSG: 'a name or * after "."',
      }));
    });
  });
}

/**
 * The one parser instance (chevrotain's advice: build once, reuse by setting `input`), built on first
 * use: its self-analysis of the grammar is the costliest part of loading the syntax phase.
 */
export function leashParser(): LeashParser {
  return (parser ??= new LeashParser());
}
let parser: LeashParser | null = null;

export type { CstNode };
