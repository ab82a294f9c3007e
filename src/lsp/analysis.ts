import type { PolicyFile } from "../ast/nodes.js";
import { parsePolicy } from "../syntax/index.js";
import { buildSchema, type SchemaEnv } from "../check/schema.js";
import { placeInFile, checkWithHeader, STAGES } from "../check/source.js";
import { CODES } from "../diagnostics/codes.js";
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { IncrementalParser } from "./incremental.js";
import { lexWithComments, type Tok } from "./lexing.js";
import { SymbolIndex } from "./symbols.js";

/**
 * What the server knows about one version of a document: its AST, its diagnostics — exactly those
 * of `leash check` (`checkSource`): parse errors; without them the stages of src/check/source.ts
 * (checks, then lints) — and, computed when first asked for, its symbols and declared attributes.
 */
export class Analysis {
  private symbolIndex: SymbolIndex | null = null;
  private schemaEnv: SchemaEnv | null = null;
  private lexedText: { tokens: Tok[]; comments: Tok[] } | null = null;

  constructor(
    readonly version: number,
    readonly text: string,
    readonly ast: PolicyFile,
    readonly diagnostics: readonly Diagnostic[],
    /** Whether unchanged items were reused from the previous version. */
    readonly incremental: boolean,
    /** Whether the text parsed without errors (formatting needs that; checks may still fail). */
    readonly parsed: boolean,
  ) {}

  get symbols(): SymbolIndex {
    this.symbolIndex ??= new SymbolIndex(this.ast, this.text);
    return this.symbolIndex;
  }

  /**
   * The whole text's tokens and comments (semantic tokens, folding); none for a text over
   * `LEX_LIMIT`, whose millions of tokens would cost more memory than highlighting is worth.
   */
  get lexed(): { tokens: Tok[]; comments: Tok[] } {
    this.lexedText ??= this.text.length > LEX_LIMIT ? { tokens: [], comments: [] } : lexWithComments(this.text, 0, this.text.length);
    return this.lexedText;
  }

  /** The attributes the schema blocks declare (those that parsed, when others did not). */
  get attributes(): SchemaEnv {
    this.schemaEnv ??= buildSchema(this.ast, []);
    return this.schemaEnv;
  }
}

/** A line that starts with `use` or `import`: the text may have a header. */
const HEADER = /^[ \t]*(use|import)\b/m;

/** Longest text lexed whole for semantic tokens and folding (a 2,000-rule policy is about 250 kB). */
export const LEX_LIMIT = 4 * 1024 * 1024;

/** How a document reaches the files it joins: what `checkSource` takes (see `CheckSourceOptions`). */
export interface JoinOptions {
  /** Reads a file a relative `import` names, by its path; without it an import is C285. */
  readonly readFile?: (file: string) => string | undefined;
  /** The directory imports may not climb above (the workspace folder), asked for each analysis. */
  readonly root?: () => string | undefined;
}

/** Analyses successive versions of one document, reusing what did not change. */
export class DocumentAnalyser {
  private readonly parser: IncrementalParser;

  constructor(
    private readonly file: string,
    private readonly joins: JoinOptions = {},
  ) {
    this.parser = new IncrementalParser(file);
  }

  /** Never throws: a failure inside leash is a diagnostic on the first line. */
  analyse(text: string, version: number): Analysis {
    return finish(this.stages(text, version));
  }

  /**
   * The analysis in stages — the parse, then each stage of `leash check` — with a pause between
   * them, so a server can answer requests in the pauses (see `listen`). Never throws.
   */
  *stages(text: string, version: number): Generator<void, Analysis, void> {
    try {
      const parsed = this.parser.parse(text);
      const all: Diagnostic[] = [...parsed.diagnostics];
      // A file that uses modules or imports files is checked with them, as `leash check` does. The
      // chunked parse keeps no header, so a text that may have one is parsed whole to find it.
      const header = !hasErrors(all) && HEADER.test(text) ? (parsePolicy(text, { file: this.file }).ast.header ?? []) : [];
      if (header.length > 0) {
        yield;
        const root = this.joins.root?.();
        const joined = checkWithHeader(text, this.file, { readFile: this.joins.readFile, ...(root === undefined ? {} : { root }) });
        const own = joined.map((d) => (d.span.file === this.file ? d : placeInFile(d, header, this.file)));
        return new Analysis(version, text, parsed.ast, sortDiagnostics(own), parsed.incremental, true);
      }
      for (const stage of STAGES) {
        if (hasErrors(all)) break;
        yield;
        all.push(...stage(parsed.ast, text));
      }
      return new Analysis(version, text, parsed.ast, sortDiagnostics(all), parsed.incremental, !hasErrors(parsed.diagnostics));
    } catch (e) {
      const span = { file: this.file, offset: 0, endOffset: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
      const d = diagnostic("C299", span, `internal compiler error: ${e instanceof Error ? e.message : String(e)}`, CODES.C299.help);
      return new Analysis(version, text, { kind: "PolicyFile", span, items: [], comments: [] }, [d], false, false);
    }
  }
}

/** Runs the remaining stages of an analysis at once. */
export function finish(stages: Generator<void, Analysis, void>): Analysis {
  for (;;) {
    const r = stages.next();
    if (r.done) return r.value;
  }
}
